// Internal: the three element-wise kernels of Winograd convolution on CUDA
// (src/cuda/winograd.cc): kernel transform U = G g G^T, input-tile
// transform V = B^T d B, output transform Y = A^T M A (+ bias). Behind plain
// C++ launchers like kernels.h; each only enqueues on `stream`.
//
// Layouts (xi = a*kA + b, the a*a transformed positions; T tiles in a block):
//   U[xi][g][ci][ko]  a*a*groups matrices of cg x kg
//   V[xi][g][t][ci]   a*a*groups matrices of T x cg
//   M[xi][g][t][ko]   a*a*groups matrices of T x kg  (M = V * U per xi, g)
// so that one strided-batched GEMM (batch a*a*groups) computes every M.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common/weight_strides.h"
#include "cuda/kernels.h"

namespace mec {
namespace cuda {

struct WinogradTiles {
  int m;                     // outputs per tile side: 2 or 4 (tile side a = m + 2)
  int64_t tiles_h, tiles_w;  // tiles per image
  int64_t t0, count;         // this block: tiles t0 .. t0 + count of all images
};

cudaError_t winograd_kernels(const Geometry& g, int m, const WeightStrides& ws,
                             const float* weights, float* u, cudaStream_t stream);
cudaError_t winograd_inputs(const Geometry& g, const WinogradTiles& t, const float* src, float* v,
                            cudaStream_t stream);
cudaError_t winograd_outputs(const Geometry& g, const WinogradTiles& t, const float* m,
                             const float* bias, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
