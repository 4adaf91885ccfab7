// Internal, CUDA sources only: the launch shape of the element-wise kernels
// (kernels.cu, winograd_kernels.cu, mec_grouped.cu): one-dimensional
// blocks of kGridThreads threads, at most 2^20 blocks, each thread walking
// the flattened index with a grid-stride loop.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mec {
namespace cuda {

constexpr int kGridThreads = 256;

// Blocks for `work` items (capped; MEC_GRID_LOOP covers the rest).
inline unsigned grid_blocks(int64_t work) {
  return unsigned(std::min<int64_t>((work + kGridThreads - 1) / kGridThreads, int64_t(1) << 20));
}

}  // namespace cuda
}  // namespace mec

// Grid-stride loop over [0, total) with index type I.
#define MEC_GRID_LOOP(I, e, total) \
  for (I e = I(blockIdx.x) * blockDim.x + threadIdx.x; e < (total); e += I(gridDim.x) * blockDim.x)
