// Portable micro-kernel of the fast GEMM engine (see gemm_kernels.h) for
// CPUs with neither AVX-512 nor AVX2: plain C++ over a 4 x 16 tile that the
// compiler vectorises with the baseline ISA. Correct everywhere; fast only
// where the others run.
#include "cpu/gemm_kernels.h"

namespace mec {
namespace cpu {
namespace {

constexpr int kMr = 4, kNr = 16;

template <int MR>
void tile_kernel(const Tile& t, const float* const* rows, float* c) {
  float acc[MR][kNr] = {};
  const int64_t n = t.n;
  for (int i = 0; i < MR; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      acc[i][j] = t.accumulate ? c[i * t.ldc + j] : t.bias ? t.bias[j] : 0.0f;
    }
  }
  const float* b = t.b;
  for (int64_t k = 0; k < t.kc; ++k, b += t.ldb) {
    float bv[kNr] = {};
    for (int64_t j = 0; j < n; ++j) bv[j] = b[j];
    for (int i = 0; i < MR; ++i) {
      const float av = rows[i][t.a_off + k];
      for (int j = 0; j < kNr; ++j) acc[i][j] += av * bv[j];
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int64_t j = 0; j < n; ++j) c[i * t.ldc + j] = acc[i][j];
  }
}

}  // namespace

void generic_copy_rows(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                       int64_t count) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in_r = in + r * in_ld;
    float* out_r = out + r * out_ld;
    for (int64_t i = 0; i < count; ++i) out_r[i] = in_r[i];
  }
}

void generic_tile(const Tile& t) {
  int64_t i = 0;
  for (; i + kMr <= t.rows; i += kMr) tile_kernel<kMr>(t, t.a + i, t.c + i * t.ldc);
  switch (t.rows - i) {
    case 1:
      return tile_kernel<1>(t, t.a + i, t.c + i * t.ldc);
    case 2:
      return tile_kernel<2>(t, t.a + i, t.c + i * t.ldc);
    case 3:
      return tile_kernel<3>(t, t.a + i, t.c + i * t.ldc);
    default:
      return;
  }
}

}  // namespace cpu
}  // namespace mec
