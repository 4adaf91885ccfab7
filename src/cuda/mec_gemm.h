// Internal: MEC Solution B as ONE kernel of our own (mec_gemm.cu) instead of
// one cuBLAS GEMM per (image, output row). Every output pixel (n, y, x) is
// a row of one big product dst[n*p*q x k] = A * W whose row (n, y, x) is
// the window of output row y in row (n, x) of L - r*s*c contiguous floats
// at offset y*stride_h*s*c - so the kernel reads L in place, tiles across
// (n, y) boundaries (no small-M GEMMs), writes NHWC dst directly and adds
// the bias in its epilogue. Strict fp32 FFMA arithmetic.
// Used for groups == 1, dilation_h == 1 and HWIO weights.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/kernels.h"

namespace mec {
namespace cuda {

// How one shape is launched: chosen once per plan.
struct MecGemmConfig {
  int block_m = 128;        // rows per block (32, 64 or 128)
  int block_n = 128;        // columns of k per block (64 or 128)
  int splits = 1;           // K split over blocks (> 1: dst is zeroed and summed atomically)
  int64_t split_depth = 0;  // depth per split, a multiple of 8
};

// The tile shape (of 128x128, 128x64, 64x128, 64x64, 32x128, 32x64) with
// the least estimated time on `sms` multiprocessors, K split to fill them;
// force_m > 0 takes the force_m x force_n tile instead (a benchmarking
// switch: MEC_CUDA_TILE=MxN at plan creation).
MecGemmConfig mec_gemm_config(const Geometry& g, int sms, int force_m = 0, int force_n = 0);

// dst = windows of L times the HWIO weights (+ bias, may be null).
cudaError_t mec_gemm(const Geometry& g, const MecGemmConfig& config, const float* lowered,
                     const float* weights, const float* bias, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
