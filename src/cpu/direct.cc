// Direct convolution: the honest zero-workspace baseline, register-blocked.
//
// Work is cut into tasks (filter chunk, image, output row); chunks are up to
// kKb = 32 output channels of one group, so a task's weights (r*s*cg*32
// floats) stay in cache while it sweeps the row. Within a row, blocks of
// kXb = 4 output pixels x 32 channels are accumulated in registers (8 AVX-512
// or 16 AVX2 vectors) over every tap: each step broadcasts one input value
// per pixel and multiplies it with a contiguous vector of weights (HWIO: the
// output channels are innermost). When groups == 1, dilation_w == 1 and the
// whole block lies inside the image, the s taps of one kernel row and the c
// channels are one contiguous run in both src (NHWC) and weights (HWIO), so
// the inner loop runs over s*c values at once. Blocks touching the left or
// right padding go tap by tap and pixel by pixel, skipping zero taps.
//
// HWIO weights take the vector path in place. set_weights() repacks any
// layout into contiguous per-chunk panels [r][s][cg][32] (plan memory, the
// size of the weights), which also helps big-channel layers (cv11, cv12).
// OHWI and OIHW weights passed to run() are read in place with strided
// loads (slower: there is no workspace to repack into).
// The loops are compiled for AVX-512, AVX2 and baseline x86-64 and picked at
// load time (multiversion.h). OpenMP over tasks. Depthwise descriptors
// (c == k == groups) take depthwise.cc's path instead, vectorised over the
// channels; a channel multiplier > 1 stays here.
#include <algorithm>

#include "common/status_detail.h"
#include "common/weight_strides.h"
#include "cpu/cpu_plans.h"
#include "cpu/multiversion.h"

namespace mec {
namespace cpu {
namespace {

constexpr int kXb = 6;
constexpr int kKb = 32;

struct Args {
  const Conv2dDesc* d;
  const float* src;
  const float* bias;
  float* dst;
};

// The weights of one task's channel chunk: element (i, j, ci, kk) is at
// w[i * ws.r + j * ws.s + ci * ws.c + kk * ws.k].
struct ChunkWeights {
  const float* w;
  WeightStrides ws;
};

// GCC vector types: one V16 is an AVX-512 register, two AVX2 or four SSE
// registers, so the same source makes every clone's register blocking.
typedef float V16 __attribute__((vector_size(64)));
typedef float V16u __attribute__((vector_size(64), aligned(4)));  // unaligned access

// accumulate() for unit-stride weights and KB = 16 * NV: the accumulators
// are vector values the compiler keeps in registers.
template <int XB, int NV>
MEC_INLINE void accumulate_vec(const float* in, int64_t in_step, const float* w, int64_t w_step,
                               int64_t depth, float* acc) {
  V16 a[XB][NV];
#pragma GCC unroll 16
  for (int x = 0; x < XB; ++x) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) a[x][j] = *reinterpret_cast<const V16u*>(acc + (x * NV + j) * 16);
  }
  for (int64_t e = 0; e < depth; ++e) {
    const float* we = w + e * w_step;
    V16 wv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) wv[j] = *reinterpret_cast<const V16u*>(we + 16 * j);
#pragma GCC unroll 16
    for (int x = 0; x < XB; ++x) {
      const float v = in[x * in_step + e];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) a[x][j] += wv[j] * v;
    }
  }
#pragma GCC unroll 16
  for (int x = 0; x < XB; ++x) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) *reinterpret_cast<V16u*>(acc + (x * NV + j) * 16) = a[x][j];
  }
}

// acc[XB][KB] += sum over e < depth of in[x * in_step + e] * w(e, kk), where
// w(e, kk) = w[e * w_step + kk * k_step] (k_step == 1 when UNIT_K).
template <int XB, int KB, bool UNIT_K>
MEC_INLINE void accumulate(const float* in, int64_t in_step, const float* w, int64_t w_step,
                           int64_t k_step, int64_t depth, float* acc) {
  if constexpr (UNIT_K && KB % 16 == 0) {
    accumulate_vec<XB, KB / 16>(in, in_step, w, w_step, depth, acc);
    return;
  }
  float a[XB][KB];
  for (int x = 0; x < XB; ++x) {
    for (int kk = 0; kk < KB; ++kk) a[x][kk] = acc[x * KB + kk];
  }
  for (int64_t e = 0; e < depth; ++e) {
    const float* we = w + e * w_step;
    float wv[KB];
    for (int kk = 0; kk < KB; ++kk) wv[kk] = UNIT_K ? we[kk] : we[kk * k_step];
    for (int x = 0; x < XB; ++x) {
      const float v = in[x * in_step + e];
      for (int kk = 0; kk < KB; ++kk) a[x][kk] += v * wv[kk];
    }
  }
  for (int x = 0; x < XB; ++x) {
    for (int kk = 0; kk < KB; ++kk) acc[x * KB + kk] = a[x][kk];
  }
}

// Output pixels [x0, x0 + XB) of row y of image n, channels [k0, k0 + KB)
// of group g (k0 relative to the group).
template <int XB, int KB, bool UNIT_K>
MEC_INLINE void pixel_block(const Args& a, const ChunkWeights& cw, int64_t n, int64_t y, int64_t g,
                            int64_t k0, int64_t x0) {
  const Conv2dDesc& d = *a.d;
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups, p = d.p(), q = d.q();
  alignas(64) float acc[XB * KB];
  for (int x = 0; x < XB; ++x) {
    for (int kk = 0; kk < KB; ++kk) acc[x * KB + kk] = a.bias ? a.bias[g * kg + k0 + kk] : 0.0f;
  }
  const WeightStrides& ws = cw.ws;
  const int64_t ix_first = x0 * d.stride_w - d.pad_left;  // tap j = 0 of pixel x0
  const int64_t ix_last = (x0 + XB - 1) * d.stride_w + (d.s - 1) * d.dilation_w - d.pad_left;
  const bool inside = ix_first >= 0 && ix_last < d.w;
  const bool merge = UNIT_K && inside && d.groups == 1 && d.dilation_w == 1 && ws.s == cg * ws.c;
  // Source step between the block's pixels, taken only where all XB of them
  // lie inside the row: then (XB - 1) * stride_w < w and it cannot overflow
  // (stride_w * c alone may: strides run up to the padded width).
  const int64_t in_step = XB > 1 && inside ? d.stride_w * d.c : 0;
  for (int64_t i = 0; i < d.r; ++i) {
    const int64_t iy = y * d.stride_h + i * d.dilation_h - d.pad_top;
    if (iy < 0 || iy >= d.h) continue;
    const float* row = a.src + (n * d.h + iy) * d.w * d.c + g * cg;
    const float* wi = cw.w + i * ws.r;
    if (merge) {  // taps j and channels form one contiguous run of s*c
      accumulate<XB, KB, UNIT_K>(row + ix_first * d.c, in_step, wi, ws.c, ws.k, d.s * cg, acc);
      continue;
    }
    for (int64_t j = 0; j < d.s; ++j) {
      const int64_t ix0 = x0 * d.stride_w + j * d.dilation_w - d.pad_left;
      const float* wj = wi + j * ws.s;
      if (ix0 >= 0 && ix0 + (XB - 1) * d.stride_w < d.w) {
        accumulate<XB, KB, UNIT_K>(row + ix0 * d.c, XB > 1 ? d.stride_w * d.c : 0, wj, ws.c, ws.k,
                                   cg, acc);
        continue;
      }
      for (int x = 0; x < XB; ++x) {
        const int64_t ix = ix0 + x * d.stride_w;
        if (ix < 0 || ix >= d.w) continue;
        accumulate<1, KB, UNIT_K>(row + ix * d.c, 0, wj, ws.c, ws.k, cg, acc + x * KB);
      }
    }
  }
  for (int x = 0; x < XB; ++x) {
    float* out = a.dst + ((n * p + y) * q + x0 + x) * d.k + g * kg + k0;
    for (int kk = 0; kk < KB; ++kk) out[kk] = acc[x * KB + kk];
  }
}

template <int KB, bool UNIT_K>
MEC_INLINE void row_chunk(const Args& a, const ChunkWeights& cw, int64_t n, int64_t y, int64_t g,
                          int64_t k0) {
  const int64_t q = a.d->q();
  if (q < kXb) {
    for (int64_t x0 = 0; x0 < q; ++x0) pixel_block<1, KB, UNIT_K>(a, cw, n, y, g, k0, x0);
    return;
  }
  // The last block overlaps the one before when q % kXb != 0: its pixels are
  // recomputed, bit for bit, rather than done one at a time.
  for (int64_t x0 = 0; x0 < q; x0 += kXb) {
    pixel_block<kXb, KB, UNIT_K>(a, cw, n, y, g, k0, std::min(x0, q - kXb));
  }
}

// One task: row y of image n, channels [k0, k0 + kb) of group g, kb <= kKb.
// kb is split into power-of-two register blocks.
template <bool UNIT_K>
MEC_MULTIVERSION void direct_task(const Args& a, ChunkWeights cw, int64_t n, int64_t y, int64_t g,
                                  int64_t k0, int64_t kb) {
  while (kb > 0) {
    const int64_t step = kb >= 32   ? 32
                         : kb >= 16 ? 16
                         : kb >= 8  ? 8
                         : kb >= 4  ? 4
                         : kb >= 2  ? 2
                                    : 1;
    switch (step) {
      case 32:
        row_chunk<32, UNIT_K>(a, cw, n, y, g, k0);
        break;
      case 16:
        row_chunk<16, UNIT_K>(a, cw, n, y, g, k0);
        break;
      case 8:
        row_chunk<8, UNIT_K>(a, cw, n, y, g, k0);
        break;
      case 4:
        row_chunk<4, UNIT_K>(a, cw, n, y, g, k0);
        break;
      case 2:
        row_chunk<2, UNIT_K>(a, cw, n, y, g, k0);
        break;
      default:
        row_chunk<1, UNIT_K>(a, cw, n, y, g, k0);
        break;
    }
    k0 += step;
    kb -= step;
    cw.w += step * cw.ws.k;
  }
}

class DirectPlan : public detail::PlanImpl {
 public:
  DirectPlan(const Conv2dDesc& desc, int threads)
      : PlanImpl(desc, Algorithm::kDirect), threads_(threads) {}

  size_t workspace_bytes() const override { return 0; }

  // Plan memory: each channel chunk's weights contiguous, [r][s][cg][kb],
  // whatever the layout given, so a task streams one compact panel.
  void pack_weights(const float* weights) override {
    const Conv2dDesc& d = desc();
    const WeightStrides ws = weight_strides(d);
    packed_.resize(size_t(d.weight_elems()));
    for_each_chunk([&](int64_t g, int64_t k0, int64_t kb) {
      const ChunkWeights cw = packed_chunk(g, k0, kb);
      float* out = packed_.data() + (cw.w - packed_weights());
      const float* in = weights + (g * (d.k / d.groups) + k0) * ws.k;
      for (int64_t i = 0; i < d.r; ++i) {
        for (int64_t j = 0; j < d.s; ++j) {
          for (int64_t ci = 0; ci < d.c / d.groups; ++ci) {
            float* o = out + i * cw.ws.r + j * cw.ws.s + ci * cw.ws.c;
            const float* w = in + i * ws.r + j * ws.s + ci * ws.c;
            for (int64_t kk = 0; kk < kb; ++kk) o[kk] = w[kk * ws.k];
          }
        }
      }
    });
  }

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void*) const override {
    const Conv2dDesc& d = desc();
    const Args a{&d, src, bias, dst};
    const WeightStrides ws = weight_strides(d);
    const int64_t kg = d.k / d.groups, chunks_per_group = (kg + kKb - 1) / kKb;
    const int64_t chunks = d.groups * chunks_per_group, p = d.p();
#pragma omp parallel for collapse(3) num_threads(threads_) schedule(static)
    for (int64_t ch = 0; ch < chunks; ++ch) {
      for (int64_t n = 0; n < d.n; ++n) {
        for (int64_t y = 0; y < p; ++y) {
          const int64_t g = ch / chunks_per_group, k0 = ch % chunks_per_group * kKb;
          const int64_t kb = std::min<int64_t>(kKb, kg - k0);
          const ChunkWeights cw =
              weights ? ChunkWeights{weights + (g * kg + k0) * ws.k, ws} : packed_chunk(g, k0, kb);
          if (cw.ws.k == 1) {
            direct_task<true>(a, cw, n, y, g, k0, kb);
          } else {
            direct_task<false>(a, cw, n, y, g, k0, kb);
          }
        }
      }
    }
    return Status::kSuccess;
  }

 private:
  // Chunk (g, k0, kb) of the packed weights: chunks are stored in order, so
  // the g*kg + k0 channels before it take r*s*cg floats each.
  ChunkWeights packed_chunk(int64_t g, int64_t k0, int64_t kb) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups;
    return {packed_weights() + (g * (d.k / d.groups) + k0) * d.r * d.s * cg,
            WeightStrides{1, d.s * cg * kb, cg * kb, kb}};
  }

  template <class Fn>
  void for_each_chunk(Fn fn) const {
    const int64_t kg = desc().k / desc().groups;
    for (int64_t g = 0; g < desc().groups; ++g) {
      for (int64_t k0 = 0; k0 < kg; k0 += kKb) fn(g, k0, std::min<int64_t>(kKb, kg - k0));
    }
  }

  const int threads_;
};

}  // namespace

Status create_direct(const Conv2dDesc& desc, Algorithm, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl) {
  if (is_depthwise(desc)) {  // one channel per group: depthwise.cc's vector path
    *impl = create_depthwise(desc, context.threads());
    return Status::kSuccess;
  }
  impl->reset(new DirectPlan(desc, context.threads()));
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
