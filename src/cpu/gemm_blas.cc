// The CBLAS engine: the paper's setting (OpenBLAS). We link OpenBLAS's
// OpenMP build where it exists, which runs single-threaded when called from
// inside an active OpenMP region, so the algorithms own all the parallelism.
// A plan with one thread runs in an inactive region (a team of one), where
// OpenBLAS would start omp_get_max_threads() threads of its own: every call
// therefore runs with the calling task's thread limit set to one.
#include <cblas.h>
#include <omp.h>

#include <climits>
#include <initializer_list>

#include "cpu/gemm.h"

namespace mec {
namespace cpu {
namespace {

// Runs call() so that OpenBLAS stays on the calling thread. Inside a region
// of our own the limit set here belongs to that region's implicit task and
// ends with it; at the top level a team of one gives it such a task, so the
// caller's OpenMP settings are never changed.
template <typename Call>
void on_this_thread(const Call& call) {
  if (omp_in_parallel() || omp_get_max_threads() == 1) {
    call();
    return;
  }
#pragma omp parallel num_threads(1)
  {
    omp_set_num_threads(1);
    call();
  }
}

}  // namespace

void sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const WeightOperand& b,
           float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  on_this_thread([&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, b.transposed ? CblasTrans : CblasNoTrans, int(m),
                int(n), int(k), 1.0f, a, int(lda), b.data, int(b.ld), beta, c, int(ldc));
  });
}

void sgemm_tn(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
              int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  on_this_thread([&] {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(m), int(n), int(k), 1.0f, a, int(lda),
                b, int(ldb), beta, c, int(ldc));
  });
}

void cgemm_conj_bt(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  const float one[2] = {1.0f, 0.0f}, zero[2] = {0.0f, 0.0f};
  on_this_thread([&] {
    cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasConjTrans, int(m), int(n), int(k), one, a,
                int(lda), b, int(ldb), zero, c, int(ldc));
  });
}

bool gemm_fits(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc) {
  for (int64_t v : {m, n, k, lda, ldb, ldc}) {
    if (v > INT_MAX) return false;
  }
  return true;
}

}  // namespace cpu
}  // namespace mec
