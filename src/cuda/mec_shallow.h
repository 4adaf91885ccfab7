// Internal: MEC Solution B for shallow windows - r*s*c <= 32, the first
// layer of most networks (3x3 over RGB: K = 27) - as one kernel. There the
// product's depth is too small for a GEMM tile (mec_gemm_tile.h's K steps of 16
// run two steps between prologue and epilogue, cuBLAS's batched GEMMs of q
// rows run at 11 TFLOP/s on cv7) and the time goes to writing dst: k floats
// per output pixel from 27 multiply-adds each. Here each thread keeps the
// weights of two output channels in registers for the whole run, blocks
// stage 128 (or 64) windows of L at a time in shared memory (one warp load per
// window), and every window becomes k outputs written as consecutive
// 8-byte stores. Strict fp32 FFMA; groups == 1, dilation_h == 1, HWIO
// weights (the MEC GEMM kernel's conditions), any padding and stride.
// mec_shallow_src reads the windows from src instead of L (no
// lowering kernel, no L).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/kernels.h"
#include "cuda/mec_policy.h"

namespace mec {
namespace cuda {

// Which layers fit this kernel (shallow_fits()), its limits and its tile
// rows (shallow_tile_rows()) are the policy's: mec_policy.h.

// dst = windows of L times the HWIO weights (+ bias, may be null), in
// tiles of tile_rows (64 or 128) windows on at most two blocks per
// multiprocessor (sms of them).
cudaError_t mec_shallow(const Geometry& g, const float* lowered, const float* weights,
                        const float* bias, float* dst, int tile_rows, int sms, cudaStream_t stream);
// The same from src (NHWC), which dst must not overlap.
cudaError_t mec_shallow_src(const Geometry& g, const float* src, const float* weights,
                            const float* bias, float* dst, int tile_rows, int sms,
                            cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
