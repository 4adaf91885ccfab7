// Internal: MEC's lowered matrix L and its Solution A/B rule, written once
// for both devices (src/cpu/mec.cc and src/cuda/mec.cc lower into this
// layout and read its windows; docs/mec.md explains the algorithm).
//
// For every group g, image n and output column x, one row of L holds the
// vertical strip of the zero-padded input that column x reads:
//   L[g][n][x][yy][j][ci] = src_padded[n][yy][x*stride_w + j*dilation_w][g*cg + ci]
// for yy in [0, hp), j in [0, s). The window of output row y is the run of
// r*s*cg values at offset y*stride_h*s*cg of a row, so a GEMM reads it in
// place with a leading dimension of one row (ld). With dilation_h > 1 the r
// kernel rows of a window are dilation_h*s*cg apart: r GEMMs of depth s*cg.
//
// hp is h + pad_top + pad_bottom on the CPU; the CUDA backend may add up to
// three rows so that every window starts 16 bytes aligned
// (src/cuda/kernels.h, lowered_height()). Those rows are never read.
#pragma once

#include <cstdint>

#include "common/checked.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

struct MecLowering {
  int64_t hp;            // padded input rows a row of L holds
  int64_t row_depth;     // s*cg: floats of one padded input row in a row of L
  int64_t ld;            // hp*s*cg: floats per row of L
  int64_t window_depth;  // r*s*cg: the GEMM depth of one window
  int64_t group_rows;    // n*q: rows of L per group
  int64_t q, stride_h, dilation_h;

  // Offset in floats of the window of output pixel (y, x) of image n in
  // group g. y * stride_h (< hp) first: stride_h*s*cg alone may overflow
  // when p == 1.
  int64_t window(int64_t g, int64_t n, int64_t x, int64_t y) const {
    return (g * group_rows + n * q + x) * ld + (y * stride_h) * row_depth;
  }
  // Offset of kernel row i of a window from the window's start.
  int64_t kernel_row(int64_t i) const { return i * dilation_h * row_depth; }
};

inline MecLowering mec_lowering(const Conv2dDesc& d, int64_t hp) {
  const int64_t cg = d.c / d.groups, row_depth = d.s * cg;
  return {hp,          row_depth, hp * row_depth, d.r * row_depth,
          d.n * d.q(), d.q(),     d.stride_h,     d.dilation_h};
}

// |L| in floats, n*q*hp*s*c, or false when it overflows 64 bits.
inline bool mec_lowered_floats(const Conv2dDesc& d, int64_t hp, int64_t* floats) {
  return checked_product({d.n, d.q(), hp, d.s, d.c}, floats);
}

// The paper's rule for kMec: Solution A when the output is at most T wide
// (Context::mec_threshold()) and its result fits in the workspace that
// holds L (|O| <= lowered_floats: A reorders through L's memory), else B.
// Each device adds its own conditions around it (src/cuda/mec_policy.cc).
inline bool mec_threshold_picks_a(const Conv2dDesc& d, int64_t threshold, int64_t lowered_floats) {
  return d.q() <= threshold && d.dst_elems() <= lowered_floats;
}

}  // namespace detail
}  // namespace mec
