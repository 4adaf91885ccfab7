// See gemm.h.
#include "cuda/gemm.h"

#include <climits>

#include "cuda/cuda_check.h"

namespace mec {
namespace cuda {
namespace {

cublasComputeType_t compute_type(bool tf32) {
  return tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

}  // namespace

bool gemm_fits(const GemmShape& s, int64_t batch) {
  for (int64_t v : {s.rows, s.kg, s.depth, s.ldw, s.lda, s.ldc, batch}) {
    if (v > INT_MAX) return false;
  }
  return true;
}

Status gemm_strided_batched(cublasHandle_t handle, bool tf32, const GemmShape& s, const float* w,
                            const float* a, int64_t stride_a, float beta, float* c,
                            int64_t stride_c, int64_t batch) {
  return gemm_strided_batched(handle, tf32, s, w, 0, a, stride_a, beta, c, stride_c, batch);
}

Status gemm_strided_batched(cublasHandle_t handle, bool tf32, const GemmShape& s, const float* w,
                            int64_t stride_w, const float* a, int64_t stride_a, float beta,
                            float* c, int64_t stride_c, int64_t batch) {
  const float alpha = 1.0f;
  return cublas_check(
      cublasGemmStridedBatchedEx(handle, s.w_transposed ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N,
                                 int(s.kg), int(s.rows), int(s.depth), &alpha, w, CUDA_R_32F,
                                 int(s.ldw), stride_w, a, CUDA_R_32F, int(s.lda), stride_a, &beta,
                                 c, CUDA_R_32F, int(s.ldc), stride_c, int(batch),
                                 compute_type(tf32), CUBLAS_GEMM_DEFAULT),
      "cublasGemmStridedBatchedEx");
}

Status gemm_batched(cublasHandle_t handle, bool tf32, const GemmShape& s, const float* const* w,
                    const float* const* a, float beta, float* const* c, int64_t batch) {
  const float alpha = 1.0f;
  return cublas_check(
      cublasGemmBatchedEx(handle, s.w_transposed ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N,
                          int(s.kg), int(s.rows), int(s.depth), &alpha,
                          reinterpret_cast<const void* const*>(w), CUDA_R_32F, int(s.ldw),
                          reinterpret_cast<const void* const*>(a), CUDA_R_32F, int(s.lda), &beta,
                          reinterpret_cast<void* const*>(c), CUDA_R_32F, int(s.ldc), int(batch),
                          compute_type(tf32), CUBLAS_GEMM_DEFAULT),
      "cublasGemmBatchedEx");
}

bool gemm_fits(const RowMajorGemm& g) {
  for (int64_t v : {g.m, g.n, g.k, g.a.ld, g.b.ld, g.ldc, g.batch}) {
    if (v > INT_MAX) return false;
  }
  return true;
}

Status gemm_row_major(cublasHandle_t handle, bool tf32, const RowMajorGemm& g) {
  const float alpha = 1.0f;
  return cublas_check(cublasGemmStridedBatchedEx(
                          handle, g.b.transposed ? CUBLAS_OP_T : CUBLAS_OP_N,
                          g.a.transposed ? CUBLAS_OP_T : CUBLAS_OP_N, int(g.n), int(g.m), int(g.k),
                          &alpha, g.b.data, CUDA_R_32F, int(g.b.ld), g.b.stride, g.a.data,
                          CUDA_R_32F, int(g.a.ld), g.a.stride, &g.beta, g.c, CUDA_R_32F, int(g.ldc),
                          g.stride_c, int(g.batch), compute_type(tf32), CUBLAS_GEMM_DEFAULT),
                      "cublasGemmStridedBatchedEx");
}

}  // namespace cuda
}  // namespace mec
