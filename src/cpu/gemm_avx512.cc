// AVX-512 micro-kernels of the fast GEMM engine (see gemm_kernels.h). This
// file alone is compiled with -mavx512f -mfma; it is only called after
// __builtin_cpu_supports("avx512f") said yes. An 8 x 32 tile keeps 16
// accumulators plus 2 B vectors in zmm registers: 16 FMAs per 2 B loads and
// 8 broadcasts, which measured ~98% of peak in L1 (docs/cpu_engine.md).
// Smaller mr are instantiated for the M edge; masks handle the N edge.
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>

#include "cpu/gemm_kernels.h"

namespace mec {
namespace cpu {
namespace {

// One MR x (16 NV) register tile at A rows `rows` and C `c`.
template <int MR, int NV, bool kMasked>
void tile_kernel(const Tile& t, const float* const* rows, float* c) {
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
      acc[i][j] = t.accumulate ? load(c + i * t.ldc + 16 * j, j)
                  : t.bias     ? load(t.bias + 16 * j, j)
                               : _mm512_setzero_ps();
    }
  }
  const float* a[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) a[i] = rows[i] + t.a_off;
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
      float* out = c + i * t.ldc + 16 * j;
      if (kMasked) {
        _mm512_mask_storeu_ps(out, mask[j], acc[i][j]);
      } else if (t.stream && (reinterpret_cast<uintptr_t>(out) & 63) == 0) {
        _mm512_stream_ps(out, acc[i][j]);
      } else {
        _mm512_storeu_ps(out, acc[i][j]);
      }
    }
  }
}

// Rows per full tile: 24 accumulators where the width allows it.
template <int NV>
constexpr int kTileRows = NV >= 4   ? 6
                          : NV == 3 ? 8
                                    : 12;

// The last tile of a panel: `left` (< kTileRows) rows.
template <int NV, bool kMasked, int R>
void tail_rows(const Tile& t, int64_t i, int64_t left) {
  if constexpr (R > 0) {
    if (left == R) return tile_kernel<R, NV, kMasked>(t, t.a + i, t.c + i * t.ldc);
    tail_rows<NV, kMasked, R - 1>(t, i, left);
  }
}

// All t.rows rows of one panel: full tiles, then one shorter tile.
template <int NV, bool kMasked>
void dispatch_rows(const Tile& t) {
  constexpr int kRows = kTileRows<NV>;
  int64_t i = 0;
  for (; i + kRows <= t.rows; i += kRows) {
    tile_kernel<kRows, NV, kMasked>(t, t.a + i, t.c + i * t.ldc);
  }
  tail_rows<NV, kMasked, kRows - 1>(t, i, t.rows - i);
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
  for (int64_t r = 0; r < rows; ++r) {
    const float* in_r = in + r * in_ld;
    float* out_r = out + r * out_ld;
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(out_r + i, _mm512_loadu_ps(in_r + i));
    if (tail) _mm512_mask_storeu_ps(out_r + i, tail, _mm512_maskz_loadu_ps(tail, in_r + i));
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
