// AVX2/FMA micro-kernels of the fast GEMM engine (see gemm_kernels.h), for
// CPUs without AVX-512. This file alone is compiled with -mavx2 -mfma. A
// 6 x 16 tile keeps 12 accumulators plus 2 B vectors in the 16 ymm
// registers. Smaller mr serve the M edge, an 8-column tile a narrow last
// panel; the N edge uses
// maskload/maskstore so raw weights are never read past column n.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace mec {
namespace cpu {
namespace {

// One MR x (8 NV) register tile at A rows `rows` and C `c`.
template <int MR, int NV, bool kMasked>
void tile_kernel(const Tile& t, const float* const* rows, float* c) {
  __m256i mask[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    mask[j] = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(t.n - 8 * j)), lane);
  }
  auto load = [&](const float* p, int j) {
    return kMasked ? _mm256_maskload_ps(p, mask[j]) : _mm256_loadu_ps(p);
  };
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      acc[i][j] = t.accumulate ? load(c + i * t.ldc + 8 * j, j)
                  : t.bias     ? load(t.bias + 8 * j, j)
                               : _mm256_setzero_ps();
    }
  }
  const float* a[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) a[i] = rows[i] + t.a_off;
  const float* b = t.b;
  for (int64_t k = 0; k < t.kc; ++k, b += t.ldb) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = load(b + 8 * j, j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 av = _mm256_broadcast_ss(a[i] + k);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* out = c + i * t.ldc + 8 * j;
      if (kMasked) {
        _mm256_maskstore_ps(out, mask[j], acc[i][j]);
      } else {
        _mm256_storeu_ps(out, acc[i][j]);
      }
    }
  }
}

// All t.rows rows of one panel: full tiles, then one narrower tile.
template <int NV, bool kMasked>
void dispatch_rows(const Tile& t) {
  int64_t i = 0;
  for (; i + 6 <= t.rows; i += 6) {
    tile_kernel<6, NV, kMasked>(t, t.a + i, t.c + i * t.ldc);
  }
  switch (t.rows - i) {
    case 1:
      return tile_kernel<1, NV, kMasked>(t, t.a + i, t.c + i * t.ldc);
    case 2:
      return tile_kernel<2, NV, kMasked>(t, t.a + i, t.c + i * t.ldc);
    case 3:
      return tile_kernel<3, NV, kMasked>(t, t.a + i, t.c + i * t.ldc);
    case 4:
      return tile_kernel<4, NV, kMasked>(t, t.a + i, t.c + i * t.ldc);
    case 5:
      return tile_kernel<5, NV, kMasked>(t, t.a + i, t.c + i * t.ldc);
    default:
      return;
  }
}

template <int NV>
void dispatch_mask(const Tile& t) {
  if (t.n == 8 * NV) {
    dispatch_rows<NV, false>(t);
  } else {
    dispatch_rows<NV, true>(t);
  }
}

}  // namespace

void avx2_copy_rows(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                    int64_t count) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(count % 8)), lane);
  for (int64_t r = 0; r < rows; ++r) {
    const float* in_r = in + r * in_ld;
    float* out_r = out + r * out_ld;
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(out_r + i, _mm256_loadu_ps(in_r + i));
    if (count % 8) _mm256_maskstore_ps(out_r + i, tail, _mm256_maskload_ps(in_r + i, tail));
  }
}

void avx2_tile(const Tile& t) {
  if (t.n <= 8) {
    dispatch_mask<1>(t);
  } else {
    dispatch_mask<2>(t);
  }
}

}  // namespace cpu
}  // namespace mec
