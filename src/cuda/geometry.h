// Internal: a descriptor's shape as the CUDA kernels and the MEC policy see
// it (derived sizes precomputed, L's padded height). Plain C++ without CUDA
// headers, so that the policy (mec_policy.h) builds and is tested on
// machines without the CUDA toolkit.
#pragma once

#include <cstdint>

#include "mec/conv.h"

namespace mec {
namespace cuda {

struct Geometry {
  int64_t n, h, w, c, k, r, s;
  int64_t pad_top, pad_left, stride_h, stride_w, dilation_h, dilation_w;
  int64_t groups, cg, kg, p, q, hp;  // hp: lowered_height(d)
};
Geometry geometry(const Conv2dDesc& d);

// Rows of the padded input that MEC lowers per output column, so that a
// row of L holds hp*s*cg floats: h + pad_top + pad_bottom, plus up to 3
// rows of zeros where that makes every window of L start on a 16-byte
// boundary - where stride_h*s*cg is a multiple of 4 but the row length is
// not (cv1: 11x11 over RGB at stride 4, 227 -> 228 rows, L 0.4% larger).
// The MEC GEMM kernel then copies A 16 bytes at a time (docs/cuda.md).
// The extra rows are never read by a window.
int64_t lowered_height(const Conv2dDesc& d);

// Whether every window of L starts on a 16-byte boundary (relative to L).
inline bool windows_aligned(const Geometry& g) {
  return (g.hp * g.s * g.cg) % 4 == 0 && (g.stride_h * g.s * g.cg) % 4 == 0;
}

// g as one group of all c channels: the lowering layout the grouped kernel
// reads (mec_grouped.h).
Geometry ungrouped(const Geometry& g);

}  // namespace cuda
}  // namespace mec
