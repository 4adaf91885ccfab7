// Internal: the 1-D Winograd transforms of F(2,3) and F(4,3) (Lavin and Gray
// 2016), written out term by term rather than as matrix products so that no
// multiplication by 0 or 1 is executed (without -ffast-math the compiler may
// not drop them). Each function transforms `n` independent lanes at once:
// element i of the input lane block is in[i * is + lane], element j of the
// output is out[j * os + lane]; lanes are channels, so the loops vectorise.
// Applying a 1-D transform along columns then rows gives the 2-D one:
//   V = B^T d B (input), U = G g G^T (3x3 kernel), Y = A^T M A (output).
#pragma once

#include <cstdint>

#include "cpu/multiversion.h"

namespace mec {
namespace cpu {

struct WinogradF2 {
  static constexpr int kM = 2;  // outputs per tile side
  static constexpr int kA = 4;  // tile side (kM + 3 - 1)

  static MEC_INLINE void input(const float* in, int64_t is, float* out, int64_t os, int n) {
    for (int l = 0; l < n; ++l) {
      const float d0 = in[l], d1 = in[is + l], d2 = in[2 * is + l], d3 = in[3 * is + l];
      out[l] = d0 - d2;
      out[os + l] = d1 + d2;
      out[2 * os + l] = d2 - d1;
      out[3 * os + l] = d1 - d3;
    }
  }
  static MEC_INLINE void kernel(const float* in, int64_t is, float* out, int64_t os, int n) {
    for (int l = 0; l < n; ++l) {
      const float g0 = in[l], g1 = in[is + l], g2 = in[2 * is + l];
      out[l] = g0;
      out[os + l] = 0.5f * (g0 + g1 + g2);
      out[2 * os + l] = 0.5f * (g0 - g1 + g2);
      out[3 * os + l] = g2;
    }
  }
  static MEC_INLINE void output(const float* in, int64_t is, float* out, int64_t os, int n) {
    for (int l = 0; l < n; ++l) {
      const float m0 = in[l], m1 = in[is + l], m2 = in[2 * is + l], m3 = in[3 * is + l];
      out[l] = m0 + m1 + m2;
      out[os + l] = m1 - m2 - m3;
    }
  }
};

struct WinogradF4 {
  static constexpr int kM = 4;
  static constexpr int kA = 6;

  static MEC_INLINE void input(const float* in, int64_t is, float* out, int64_t os, int n) {
    for (int l = 0; l < n; ++l) {
      const float d0 = in[l], d1 = in[is + l], d2 = in[2 * is + l], d3 = in[3 * is + l],
                  d4 = in[4 * is + l], d5 = in[5 * is + l];
      const float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1;  // shared terms
      const float c = d4 - d2, e = 2.0f * (d3 - d1);
      out[l] = 4.0f * d0 - 5.0f * d2 + d4;
      out[os + l] = a + b;
      out[2 * os + l] = a - b;
      out[3 * os + l] = c + e;
      out[4 * os + l] = c - e;
      out[5 * os + l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
  }
  static MEC_INLINE void kernel(const float* in, int64_t is, float* out, int64_t os, int n) {
    for (int l = 0; l < n; ++l) {
      const float g0 = in[l], g1 = in[is + l], g2 = in[2 * is + l];
      out[l] = 0.25f * g0;
      out[os + l] = (-1.0f / 6.0f) * (g0 + g1 + g2);
      out[2 * os + l] = (-1.0f / 6.0f) * (g0 - g1 + g2);
      out[3 * os + l] = (1.0f / 24.0f) * g0 + (1.0f / 12.0f) * g1 + (1.0f / 6.0f) * g2;
      out[4 * os + l] = (1.0f / 24.0f) * g0 - (1.0f / 12.0f) * g1 + (1.0f / 6.0f) * g2;
      out[5 * os + l] = g2;
    }
  }
  static MEC_INLINE void output(const float* in, int64_t is, float* out, int64_t os, int n) {
    for (int l = 0; l < n; ++l) {
      const float m0 = in[l], m1 = in[is + l], m2 = in[2 * is + l], m3 = in[3 * is + l],
                  m4 = in[4 * is + l], m5 = in[5 * is + l];
      const float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
      out[l] = m0 + s12 + s34;
      out[os + l] = d12 + 2.0f * d34;
      out[2 * os + l] = s12 + 4.0f * s34;
      out[3 * os + l] = d12 + 8.0f * d34 + m5;
    }
  }
};

}  // namespace cpu
}  // namespace mec
