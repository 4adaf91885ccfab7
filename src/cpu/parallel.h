// Internal: how the CPU algorithms spread independent GEMMs over threads.
// A batch of `count` equal GEMMs of `m` rows is cut into count * splits
// tasks, splitting rows only when there are fewer GEMMs than threads, so
// that one large GEMM (im2col) and many small ones (MEC) both keep every
// thread busy. The split depends on the thread count, so results can differ
// in the last bits between thread counts (never between runs).
#pragma once

#include <algorithm>
#include <cstdint>

namespace mec {
namespace cpu {

// Calls fn(gemm_index, row_begin, row_end) for every task, in parallel.
template <class Fn>
void parallel_gemm_rows(int64_t count, int64_t m, int threads, Fn fn) {
  constexpr int64_t kMinRowsPerTask = 8;
  int64_t splits = 1;
  if (count < threads) {
    splits =
        std::min<int64_t>((threads + count - 1) / count, std::max<int64_t>(1, m / kMinRowsPerTask));
  }
  const int64_t tasks = count * splits;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t index = t / splits, part = t % splits;
    fn(index, m * part / splits, m * (part + 1) / splits);
  }
}

// Adds bias[0..n) to each of `rows` rows of c (row stride ldc).
inline void add_bias(float* c, int64_t rows, int64_t n, int64_t ldc, const float* bias) {
  for (int64_t i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) row[j] += bias[j];
  }
}

}  // namespace cpu
}  // namespace mec
