// Internal: the fast GEMM engine's driver. It multiplies an "implicit" A,
// whose rows are found through a RowMap (for MEC: overlapping windows inside
// the rows of L, read in place), by weights in NR-column panels (packed
// once per plan, or HWIO used as it is with ld == k), one register tile at a
// time through the micro-kernels of gemm_kernels.h. Blocking: a panel's
// slice of B streams from L1/L2 while every tile of an Mc-row block of
// output pixels passes over it; the block's windows of A stay in L2 across
// all panels (one depth pass for every paper layer: see gemm_fast.cc).
#pragma once

#include <cstdint>

#include "cpu/gemm_kernels.h"
#include "mec/conv.h"

namespace mec {
namespace cpu {

struct KernelSet {
  const char* name;  // "avx512", "avx2" or "generic"
  int mr, nr;        // the main tile (narrower panels may use taller tiles)
  TileKernel kernel;
  CopyRows copy_rows;
};

// The best set this CPU runs, capped by `cap` (Context::cpu_isa(), read at
// plan creation; kAuto caps nothing).
const KernelSet& select_kernels(CpuIsa cap);

// Row m = (image * p + y) * q + x of A starts at
// a + image * image_stride + x * x_stride + y * y_stride (+ g * group_stride).
struct RowMap {
  const float* a;
  int64_t p, q, image_stride, x_stride, y_stride, group_stride;
};

// Row kk of panel j of group g: data + g * group_stride + j * panel_stride
// + kk * ld, where ld is tail_ld for the last, narrower panel (packed
// panels are exactly as wide as their columns: no padding).
struct Panels {
  const float* data;
  int64_t group_stride, panel_stride, ld, tail_ld;
};

// C[m][g * n + col] = bias + sum over the depth of A(m) * B(g). The depth is
// `segments` runs of `segment_depth`: run i reads A at offset
// i * segment_a_stride and B rows from i * segment_depth (for dilation_h > 1;
// else one run).
struct ImplicitGemm {
  RowMap rows;
  Panels b;
  int64_t n;  // columns per group
  int64_t segments, segment_depth, segment_a_stride;
  float* c;
  int64_t ldc;
  const float* bias;      // may be null
  bool stream_c = false;  // C's final values may bypass the caches (see gemm_block)
};

// Rows [m0, m1) x panels [j0, j1) of group g, on the calling thread.
void gemm_block(const KernelSet& kernels, const ImplicitGemm& gemm, int64_t g, int64_t m0,
                int64_t m1, int64_t j0, int64_t j1);

// Panels of weights for the GEMM view (r*s*cg) x kg of each group, from any
// filter layout: nr columns each, the last one kg % nr if that is not 0.
// Exactly weight_elems() floats.
int64_t packed_weight_floats(const Conv2dDesc& desc, int nr);
void pack_weight_panels(const Conv2dDesc& desc, const float* weights, int nr, float* packed);
Panels packed_panels(const Conv2dDesc& desc, int nr, const float* packed);
// HWIO weights (or OIHW/OHWI repacked to HWIO) read in place.
Panels hwio_panels(const Conv2dDesc& desc, int nr, const float* hwio);

}  // namespace cpu
}  // namespace mec
