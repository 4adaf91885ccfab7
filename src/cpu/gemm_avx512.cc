// AVX-512 micro-kernels of the fast GEMM engine (see gemm_kernels.h). This
// file alone is compiled with -mavx512f -mfma; it is only called after
// __builtin_cpu_supports("avx512f") said yes. An 8 x 32 tile keeps 16
// accumulators plus 2 B vectors in zmm registers: 16 FMAs per 2 B loads and
// 8 broadcasts, which measured ~98% of peak in L1 (docs/cpu_engine.md).
// Smaller mr are instantiated for the M edge; masks handle the N edge.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace mec {
namespace cpu {
namespace {

template <int MR, int NV, bool kMasked>
void tile_kernel(const Tile& t) {
  __mmask16 mask[NV];
#pragma GCC unroll 4
  for (int j = 0; j < NV; ++j) {
    const int64_t cols = t.n - 16 * j;
    mask[j] = cols >= 16 ? __mmask16(0xFFFF) : cols <= 0 ? 0 : __mmask16((1u << cols) - 1u);
  }
  auto load = [&](const float* p, int j) {
    return kMasked ? _mm512_maskz_loadu_ps(mask[j], p) : _mm512_loadu_ps(p);
  };
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      acc[i][j] = t.accumulate ? load(t.c + i * t.ldc + 16 * j, j)
                  : t.bias     ? load(t.bias + 16 * j, j)
                               : _mm512_setzero_ps();
    }
  }
  const float* a[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) a[i] = t.a[i] + t.a_off;
  const float* b = t.b;
  for (int64_t k = 0; k < t.kc; ++k, b += t.ldb) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = load(b + 16 * j, j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_set1_ps(a[i][k]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      float* c = t.c + i * t.ldc + 16 * j;
      if (kMasked) {
        _mm512_mask_storeu_ps(c, mask[j], acc[i][j]);
      } else {
        _mm512_storeu_ps(c, acc[i][j]);
      }
    }
  }
}

template <int NV, bool kMasked>
void dispatch_rows(const Tile& t) {
  switch (t.mr) {
    case 1:
      return tile_kernel<1, NV, kMasked>(t);
    case 2:
      return tile_kernel<2, NV, kMasked>(t);
    case 3:
      return tile_kernel<3, NV, kMasked>(t);
    case 4:
      return tile_kernel<4, NV, kMasked>(t);
    case 5:
      return tile_kernel<5, NV, kMasked>(t);
    default:
      return tile_kernel<6, NV, kMasked>(t);
  }
}

template <int NV>
void dispatch_mask(const Tile& t) {
  if (t.n == 16 * NV) {
    dispatch_rows<NV, false>(t);
  } else {
    dispatch_rows<NV, true>(t);
  }
}

}  // namespace

void avx512_copy_rows(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                      int64_t count) {
  const __mmask16 tail = __mmask16((1u << (count % 16)) - 1u);
  for (int64_t r = 0; r < rows; ++r, in += in_ld, out += out_ld) {
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(out + i, _mm512_loadu_ps(in + i));
    if (tail) _mm512_mask_storeu_ps(out + i, tail, _mm512_maskz_loadu_ps(tail, in + i));
  }
}

void avx512_tile(const Tile& t) {
  switch ((t.n + 15) / 16) {
    case 1:
      return dispatch_mask<1>(t);
    case 2:
      return dispatch_mask<2>(t);
    case 3:
      return dispatch_mask<3>(t);
    default:
      return dispatch_mask<4>(t);
  }
}

}  // namespace cpu
}  // namespace mec
