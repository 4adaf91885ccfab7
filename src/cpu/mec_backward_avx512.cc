// AVX-512 versions of MEC's fast backward data movement
// (mec_backward_kernels.h). This file alone of those passes is compiled
// with -mavx512f; it is only called when the plan's kernel set is the
// AVX-512 one (select_kernels() checked the CPU). The transpose fills LT,
// whose cost next to the weight gradient's GEMM is that of a copy only
// when it moves 16 x 16 blocks through registers.
//
// GCC 12's unpack and shuffle intrinsics fill their unused merge operand
// from _mm512_undefined_ps(), which -Wall reports as uninitialized once
// inlined here; the operand is never read (all lanes are written).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>

#include "cpu/mec_backward_kernels.h"

namespace mec {
namespace cpu {
namespace {

__m512 pairs_lo(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}
__m512 pairs_hi(__m512 a, __m512 b) {
  return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}

// One block of up to 16 x 16: rows r < rows of in (cols < 16 read), out
// rows c < cols (rows floats written each).
void block(const float* in, int64_t in_ld, float* out, int64_t out_ld, int rows, int cols) {
  const __mmask16 col_mask = __mmask16((1u << cols) - 1u);
  const __mmask16 row_mask = __mmask16((1u << rows) - 1u);
  __m512 r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    r[i] = i < rows ? _mm512_maskz_loadu_ps(col_mask, in + i * in_ld) : _mm512_setzero_ps();
  }
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4g + e]: column 4L + e of rows 4g..4g+3 in 128-bit lane L.
#pragma GCC unroll 4
  for (int g = 0; g < 16; g += 4) {
    u[g] = pairs_lo(t[g], t[g + 2]);
    u[g + 1] = pairs_hi(t[g], t[g + 2]);
    u[g + 2] = pairs_lo(t[g + 1], t[g + 3]);
    u[g + 3] = pairs_hi(t[g + 1], t[g + 3]);
  }
  __m512 v[16];
#pragma GCC unroll 4
  for (int e = 0; e < 4; ++e) {
    v[e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x88);           // columns e, e + 8; rows 0-7
    v[4 + e] = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xdd);       // columns e + 4, e + 12
    v[8 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x88);  // rows 8-15
    v[12 + e] = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xdd);
  }
  __m512 o[16];
#pragma GCC unroll 4
  for (int e = 0; e < 4; ++e) {
    o[e] = _mm512_shuffle_f32x4(v[e], v[8 + e], 0x88);
    o[e + 8] = _mm512_shuffle_f32x4(v[e], v[8 + e], 0xdd);
    o[e + 4] = _mm512_shuffle_f32x4(v[4 + e], v[12 + e], 0x88);
    o[e + 12] = _mm512_shuffle_f32x4(v[4 + e], v[12 + e], 0xdd);
  }
#pragma GCC unroll 16
  for (int c = 0; c < 16; ++c) {
    if (c < cols) _mm512_mask_storeu_ps(out + c * out_ld, row_mask, o[c]);
  }
}

}  // namespace

void avx512_transpose(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                      int64_t cols) {
  for (int64_t r0 = 0; r0 < rows; r0 += 16) {
    const int nr = int(rows - r0 < 16 ? rows - r0 : 16);
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
      const int nc = int(cols - c0 < 16 ? cols - c0 : 16);
      block(in + r0 * in_ld + c0, in_ld, out + c0 * out_ld + r0, out_ld, nr, nc);
    }
  }
}

void avx512_add_rows(float* out, int64_t out_ld, const float* in, int64_t in_ld, int64_t rows,
                     int64_t count) {
  const __mmask16 tail = __mmask16((1u << (count % 16)) - 1u);
  for (int64_t r = 0; r < rows; ++r) {
    float* o = out + r * out_ld;
    const float* v = in + r * in_ld;
    int64_t e = 0;
    for (; e + 16 <= count; e += 16) {
      _mm512_storeu_ps(o + e, _mm512_add_ps(_mm512_loadu_ps(o + e), _mm512_loadu_ps(v + e)));
    }
    if (tail) {
      _mm512_mask_storeu_ps(
          o + e, tail,
          _mm512_add_ps(_mm512_maskz_loadu_ps(tail, o + e), _mm512_maskz_loadu_ps(tail, v + e)));
    }
  }
}

}  // namespace cpu
}  // namespace mec
