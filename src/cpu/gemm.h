// Internal: the GEMM interface that im2col and MEC are written against, so
// that the engine under them (CBLAS today) can change without touching them.
// All matrices are row-major fp32. Calls are single-threaded: the algorithms
// parallelise over independent GEMMs and row blocks themselves.
#pragma once

#include <cstdint>

namespace mec {
namespace cpu {

// The right-hand operand (the weights of one group): a k x n matrix stored
// either as rows of n (ld >= n) or, when transposed, as n rows of k (ld >= k).
struct WeightOperand {
  const float* data;
  int64_t ld;
  bool transposed;

  // The operand restricted to rows [row, ...) of the k dimension.
  WeightOperand from_row(int64_t row) const {
    return {transposed ? data + row : data + row * ld, ld, transposed};
  }
};

// c[m x n] = a[m x k] * b + beta * c. lda, ldc are row strides in floats.
void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const WeightOperand& b,
           float beta, float* c, int64_t ldc);

// c[m x n] = a^T * b + beta * c, where a is stored as k rows of m (lda >= m)
// and b as k rows of n (ldb >= n): the weight gradient's sums over pixels.
void sgemm_tn(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
              int64_t ldb, float beta, float* c, int64_t ldc);

// Complex GEMM on interleaved (re, im) float pairs, for FFT convolution:
// c[m x n] = a[m x k] * conj(b)^T where b is stored as n rows of k complex
// values (ldb >= k). Leading dimensions count complex elements.
void cgemm_conj_bt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float* c, int64_t ldc);

// True if every dimension and leading dimension fits the engine (CBLAS takes
// 32-bit ints).
bool gemm_fits(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc);

}  // namespace cpu
}  // namespace mec
