// See gemm_fast.h.
#include "cpu/gemm_fast.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace mec {
namespace cpu {
namespace {

// Depth of one pass (Kc) and rows of one A block (Mc, a multiple of every
// tile height: 4, 6, 8, 12). Kc exceeds every paper layer's depth: on Zen 5
// one pass beat every Kc from 96 to 1024 (docs/cpu_engine.md); it only
// bounds a panel's slice (Kc x 64 floats) for deeper layers.
constexpr int64_t kKc = 5120;
constexpr int64_t kMc = 192;

const KernelSet kAvx512{"avx512", 6, 64, avx512_tile, avx512_copy_rows};
const KernelSet kAvx2{"avx2", 6, 16, avx2_tile, avx2_copy_rows};
const KernelSet kGeneric{"generic", 4, 16, generic_tile, generic_copy_rows};

void store_fence() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_sfence();
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace

const KernelSet& select_kernels(CpuIsa cap) {
  const bool allow512 = cap == CpuIsa::kAuto || cap == CpuIsa::kAvx512;
  const bool allow2 = allow512 || cap == CpuIsa::kAvx2;
  if (allow512 && __builtin_cpu_supports("avx512f")) return kAvx512;
  if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kAvx2;
  return kGeneric;
}

void gemm_block(const KernelSet& ks, const ImplicitGemm& gm, int64_t g, int64_t m0, int64_t m1,
                int64_t j0, int64_t j1) {
  const RowMap& rm = gm.rows;
  const float* a_rows[kMc];
  for (int64_t mb = m0; mb < m1; mb += kMc) {
    const int64_t count = std::min(kMc, m1 - mb);
    // Row pointers of this block, walking (image, y, x) without divisions
    // per row.
    int64_t x = mb % rm.q, y = mb / rm.q % rm.p, image = mb / (rm.q * rm.p);
    for (int64_t i = 0; i < count; ++i) {
      a_rows[i] =
          rm.a + g * rm.group_stride + image * rm.image_stride + x * rm.x_stride + y * rm.y_stride;
      if (++x == rm.q) {
        x = 0;
        if (++y == rm.p) y = 0, ++image;
      }
    }
    float* c_block = gm.c + mb * gm.ldc + g * gm.n;
    const int64_t passes = (gm.segment_depth + kKc - 1) / kKc;
    for (int64_t seg = 0; seg < gm.segments; ++seg) {
      for (int64_t pass = 0; pass < passes; ++pass) {
        const int64_t k0 = gm.segment_depth * pass / passes;
        const int64_t k1 = gm.segment_depth * (pass + 1) / passes;
        const bool first = seg == 0 && pass == 0;
        const int64_t b_row = seg * gm.segment_depth + k0;
        for (int64_t j = j0; j < j1; ++j) {
          Tile t;
          t.kc = k1 - k0;
          t.a_off = seg * gm.segment_a_stride + k0;
          t.n = std::min<int64_t>(ks.nr, gm.n - j * ks.nr);
          t.ldb = t.n == ks.nr ? gm.b.ld : gm.b.tail_ld;
          t.b = gm.b.data + g * gm.b.group_stride + j * gm.b.panel_stride + b_row * t.ldb;
          t.ldc = gm.ldc;
          t.bias = first && gm.bias ? gm.bias + g * gm.n + j * ks.nr : nullptr;
          t.accumulate = !first;
          t.stream = gm.stream_c && seg + 1 == gm.segments && pass + 1 == passes;
          t.a = a_rows;
          t.rows = count;
          t.c = c_block + j * ks.nr;
          ks.kernel(t);
        }
      }
    }
  }
  // Non-temporal stores are weakly ordered: make them visible before
  // another thread (or the caller) reads C. sfence is what orders them (a
  // C++ fence need not); the OpenMP barrier after this block does the rest.
  if (gm.stream_c) store_fence();
}

int64_t packed_weight_floats(const Conv2dDesc& d, int) { return d.weight_elems(); }

void pack_weight_panels(const Conv2dDesc& d, const float* w, int nr, float* packed) {
  const int64_t kg = d.k / d.groups, cg = d.c / d.groups, depth = d.r * d.s * cg;
  for (int64_t g = 0; g < d.groups; ++g) {
    for (int64_t j0 = 0; j0 < kg; j0 += nr) {
      const int64_t width = std::min<int64_t>(nr, kg - j0);
      float* panel = packed + g * depth * kg + j0 * depth;
      for (int64_t kk = 0; kk < depth; ++kk) {
        const int64_t i = kk / (d.s * cg), jj = kk / cg % d.s, ci = kk % cg;
        for (int64_t col = 0; col < width; ++col) {
          const int64_t o = g * kg + j0 + col;  // output channel
          switch (d.filter_layout) {
            case FilterLayout::kHWIO:
              panel[kk * width + col] = w[kk * d.k + o];
              break;
            case FilterLayout::kOHWI:
              panel[kk * width + col] = w[o * depth + kk];
              break;
            case FilterLayout::kOIHW:
              panel[kk * width + col] = w[((o * cg + ci) * d.r + i) * d.s + jj];
              break;
          }
        }
      }
    }
  }
}

Panels packed_panels(const Conv2dDesc& d, int nr, const float* packed) {
  const int64_t kg = d.k / d.groups, depth = d.r * d.s * (d.c / d.groups);
  return {packed, depth * kg, depth * nr, nr, kg % nr == 0 ? nr : kg % nr};
}

Panels hwio_panels(const Conv2dDesc& d, int nr, const float* hwio) {
  return {hwio, d.k / d.groups, nr, d.k, d.k};
}

}  // namespace cpu
}  // namespace mec
