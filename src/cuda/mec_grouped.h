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

// Groups whose cg * kg (a group's input times output channels) is at most
// this go to the grouped kernel: on an H100 it is 4-16x faster than
// Solution B over cuBLAS on depthwise layers (1) and with a channel
// multiplier of 2 (2); slower at batch 32 from ResNeXt's 4 x 4 groups (16)
// on, where a group's product is a GEMM worth cuBLAS's time.
constexpr int64_t kGroupedMaxChannels = 4;

// The lowering layout this kernel reads: g as one group of all c channels.
Geometry ungrouped(const Geometry& g);

// dst = MEC Solution B over L lowered with ungrouped(g) (+ bias, may be
// null); weights HWIO, or OHWI when weights_ohwi.
cudaError_t mec_grouped(const Geometry& g, const float* lowered, const float* weights,
                        bool weights_ohwi, const float* bias, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
