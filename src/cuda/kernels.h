// Internal: the CUDA kernels of the backend, behind plain C++ launchers so
// that the plans (compiled by the host compiler) need no CUDA C++. Each
// launcher only enqueues on `stream` and returns cudaGetLastError().
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/geometry.h"
#include "mec/conv.h"

namespace mec {
namespace cuda {

// MEC lowering: L[g][n][x][yy][j][ci] = padded src (see src/cpu/mec.cc).
// 16-byte loads and stores when cg % 4 == 0 and both pointers are aligned.
// Also zeroes zero[0, zero_floats) in the same launch (the target of the
// MEC GEMM kernel's split-K atomics: one launch fewer than a memset); zero
// must not overlap src or lowered.
cudaError_t mec_lower(const Geometry& g, const float* src, float* lowered, cudaStream_t stream,
                      float* zero = nullptr, int64_t zero_floats = 0);

// im2col lowering: per group, one row of r*s*cg values per output pixel.
cudaError_t im2col_lower(const Geometry& g, const float* src, float* lowered, cudaStream_t stream);

// OIHW [k][cg][r][s] -> HWIO [r][s][cg][k].
cudaError_t oihw_to_hwio(const Geometry& g, const float* weights, float* hwio, cudaStream_t stream);

// dst[i][c] += bias[c] for `rows` rows of k values.
cudaError_t add_bias(float* dst, const float* bias, int64_t rows, int64_t k, cudaStream_t stream);

// MEC Solution A's reordering: dst[n][y] (a block of `block` floats, k
// channels innermost) = out[y][n] (+ bias). out and dst must not overlap.
cudaError_t reorder_rows(const float* out, const float* bias, float* dst, int64_t n, int64_t p,
                         int64_t block, int64_t k, cudaStream_t stream);

// Pointer arrays of MEC Solution B's batched GEMM, one entry per (g, n, y)
// for kernel row `i` (dilation_h > 1 runs r of these; else i == 0 and the
// window is all r rows). a: into L, b: into the weights, c: into dst.
// weights_ohwi says how the weights are laid out (else HWIO).
cudaError_t mec_b_pointers(const Geometry& g, int64_t i, const float* lowered, const float* weights,
                           bool weights_ohwi, float* dst, const float** a, const float** b,
                           float** c, cudaStream_t stream);

// Direct convolution, one thread per output value; weights HWIO or OHWI.
cudaError_t direct_conv(const Geometry& g, const float* src, const float* weights,
                        bool weights_ohwi, const float* bias, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
