// Internal: the cuBLAS calls of im2col and MEC, in the row-major terms the
// algorithms are written in. cuBLAS is column-major, so the row-major
//   c[rows x kg] = a[rows x depth] * w[depth x kg]
// is issued as the column-major c^T = w^T * a^T: m = kg, n = rows,
// k = depth, with the weights first (transposed for OHWI, whose group block
// is kg rows of depth values). Math: strict fp32 (CUBLAS_COMPUTE_32F) or,
// when the context allows it, TF32 tensor cores with fp32 accumulation.
#pragma once

#include <cublas_v2.h>

#include <cstdint>

#include "mec/status.h"

namespace mec {
namespace cuda {

struct GemmShape {
  int64_t rows, kg, depth;  // M, N, K of the row-major product
  int64_t ldw;              // weights' leading dimension (k for HWIO, r*s*cg for OHWI)
  bool w_transposed;        // OHWI
  int64_t lda, ldc;         // row strides of a and c
};

// True if every dimension fits cuBLAS's 32-bit ints.
bool gemm_fits(const GemmShape& shape, int64_t batch);

// `batch` products; a and c advance by stride_a and stride_c floats, the
// weights stay the same.
Status gemm_strided_batched(cublasHandle_t handle, bool tf32, const GemmShape& shape,
                            const float* w, const float* a, int64_t stride_a, float beta, float* c,
                            int64_t stride_c, int64_t batch);

// The same with weights that advance too, by stride_w floats per product
// (Winograd's a*a*groups products, each with its own transformed kernel).
Status gemm_strided_batched(cublasHandle_t handle, bool tf32, const GemmShape& shape,
                            const float* w, int64_t stride_w, const float* a, int64_t stride_a,
                            float beta, float* c, int64_t stride_c, int64_t batch);

// `batch` products through device arrays of pointers.
Status gemm_batched(cublasHandle_t handle, bool tf32, const GemmShape& shape, const float* const* w,
                    const float* const* a, float beta, float* const* c, int64_t batch);

// The general product, for the backward passes, in row-major terms:
// batch products c = op(a) * op(b) + beta * c, where op(x) is x or, for a
// transposed operand, its transpose (a is stored m x k, or k x m when
// transposed; b k x n, or n x k), each operand advancing by its stride per
// product. Issued as the column-major c^T = op(b)^T * op(a)^T.
struct GemmOperand {
  const float* data;
  int64_t ld, stride;
  bool transposed;
};
struct RowMajorGemm {
  int64_t m, n, k;
  GemmOperand a, b;
  float* c;
  int64_t ldc, stride_c;
  float beta;
  int64_t batch;
};
bool gemm_fits(const RowMajorGemm& gemm);
Status gemm_row_major(cublasHandle_t handle, bool tf32, const RowMajorGemm& gemm);

}  // namespace cuda
}  // namespace mec
