// The CBLAS engine: the paper's setting (OpenBLAS). We link OpenBLAS's
// OpenMP build where it exists, which runs single-threaded when called from
// inside our OpenMP regions, so the algorithms own all the parallelism.
#include <cblas.h>

#include <climits>
#include <initializer_list>

#include "cpu/gemm.h"

namespace mec {
namespace cpu {

void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const WeightOperand& b,
           float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans, int(m), int(n),
              int(k), 1.0f, a, int(lda), b.data, int(b.ld), beta, c, int(ldc));
}

void cgemm_conj_bt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  const float one[2] = {1.0f, 0.0f}, zero[2] = {0.0f, 0.0f};
  cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasConjTrans, int(m), int(n), int(k), one, a, int(lda),
              b, int(ldb), zero, c, int(ldc));
}

bool gemm_fits(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc) {
  for (int64_t v : {m, n, k, lda, ldb, ldc}) {
    if (v > INT_MAX) return false;
  }
  return true;
}

}  // namespace cpu
}  // namespace mec
