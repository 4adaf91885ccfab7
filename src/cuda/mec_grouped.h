// Internal: MEC Solution B for convolutions of many small groups
// (depthwise layers: groups = c = k, or a channel multiplier of 2) as one
// kernel. cuBLAS's per-group GEMMs are tiny there (a depthwise group is a
// q x 1 x r*s product), so launches and empty tiles cost 20-400x cuDNN's
// time (MobileNet v1, docs/cuda.md). Here L is lowered as for one group,
// L[n][x][yy][j][c] (the same |L| floats), so that the channels of all
// groups lie side by side, and one thread computes one output channel of
// one output column (n, x) for a run of output rows y: consecutive threads
// read consecutive channels of L and write consecutive channels of dst.
// Strict fp32 FFMA; any stride, padding, dilation; HWIO or OHWI weights.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/kernels.h"

namespace mec {
namespace cuda {

// Which layers take it: CudaMecTuning::grouped_max_channels (mec_policy.h).

// dst = MEC Solution B over L lowered with ungrouped(g) (+ bias, may be
// null); weights HWIO, or OHWI when weights_ohwi.
cudaError_t mec_grouped(const Geometry& g, const float* lowered, const float* weights,
                        bool weights_ohwi, const float* bias, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
