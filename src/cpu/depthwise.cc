// Depthwise convolution (groups == c == k: one input and one output channel
// per group) on the CPU, the path create_direct() takes for it. Direct's
// general loop blocks output channels of one group, so depthwise would run
// one channel at a time, scalar; here the channels are the vector lanes.
//
// Work is cut into tasks (image, output row, block of up to kCb = 64
// channels), each swept in pairs of 16-channel vectors (NHWC: the channels
// are contiguous). For 3x3 and 5x5 kernels at dilation_w 1 and stride 1 or
// 2 (mobilenet's), blocks of kReuseXb = 8 output pixels (12 at stride 2,
// which reads more input per pixel) x 2 vectors (16 or 24 AVX-512
// accumulators) hold a kernel row's s weight vectors in registers
// and load each input vector of the row once, multiplying it into every
// pixel it reaches (reuse_block). Other kernels take blocks of kXb = 6
// pixels that load one weight vector per tap and each pixel's input per
// tap (vector_block). Columns in the padding are skipped; channels beyond
// the last full vector (c % 16) go through a scalar loop.
//
// The loop wants weights [r][s][c], which is exactly HWIO for depthwise.
// set_weights() packs any layout into that (plan memory, the size of the
// weights). OHWI and OIHW weights passed to run() ([c][r][s]) are gathered
// per task into a stack array for its channel block (zero workspace).
// A channel multiplier > 1 (k = m * c, groups = c) keeps direct's general
// loop. The loops are compiled for AVX-512, AVX2 and baseline x86-64 and
// picked at load time (multiversion.h). OpenMP over tasks.
#include <algorithm>

#include "common/weight_strides.h"
#include "cpu/cpu_plans.h"
#include "cpu/multiversion.h"

namespace mec {
namespace cpu {
namespace {

constexpr int kXb = 6;       // output pixels per register block (any kernel)
constexpr int kReuseXb = 8;  // output pixels per block reusing inputs (stride 1)
constexpr int kCb = 64;      // channels per task
// The stack array of gathered weights: kCb channels of kernels up to
// kMaxTaps taps; larger kernels with OHWI/OIHW weights in run() take the
// scalar loop.
constexpr int kMaxTaps = 128;

typedef float V16 __attribute__((vector_size(64)));
typedef float V16u __attribute__((vector_size(64), aligned(4)));  // unaligned access

// p and q are copied here: Conv2dDesc::p() and q() are calls, which would
// make the compiler spill the accumulators around the stores.
struct Args {
  const Conv2dDesc* d;
  const float* src;
  const float* bias;
  float* dst;
  int64_t p, q;
};

// Weights of a task: element (tap t = i * s + j, channel ch of the task) is
// at w[t * tap + ch * ch_step]; ch_step == 1 on the vector path.
struct TaskWeights {
  const float* w;
  int64_t tap, ch_step;
};

// A block's accumulators start at the bias of its channels (or zero)...
template <int XB, int NV>
MEC_INLINE void start_block(const Args& a, int64_t c0, V16 (&acc)[XB][NV]) {
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    V16 b = {};
    if (a.bias) b = *reinterpret_cast<const V16u*>(a.bias + c0 + 16 * v);
#pragma GCC unroll 16
    for (int x = 0; x < XB; ++x) acc[x][v] = b;
  }
}

// ... and end as output pixels [x0, x0 + XB) of row y of image n.
template <int XB, int NV>
MEC_INLINE void store_block(const Args& a, int64_t n, int64_t y, int64_t c0, int64_t x0,
                            const V16 (&acc)[XB][NV]) {
  const int64_t c = a.d->c;
#pragma GCC unroll 16
  for (int x = 0; x < XB; ++x) {
    float* out = a.dst + ((n * a.p + y) * a.q + x0 + x) * c + c0;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) *reinterpret_cast<V16u*>(out + 16 * v) = acc[x][v];
  }
}

// Output pixels [x0, x0 + XB) of row y of image n, channels [c0, c0 + 16 NV).
template <int XB, int NV>
MEC_INLINE void vector_block(const Args& a, const TaskWeights& tw, int64_t n, int64_t y, int64_t c0,
                             int64_t x0) {
  const Conv2dDesc& d = *a.d;
  const int64_t c = d.c;
  V16 acc[XB][NV];
  start_block<XB, NV>(a, c0, acc);
  const int64_t step = d.stride_w * c;
  for (int64_t i = 0; i < d.r; ++i) {
    const int64_t iy = y * d.stride_h + i * d.dilation_h - d.pad_top;
    if (iy < 0 || iy >= d.h) continue;
    const float* row = a.src + (n * d.h + iy) * d.w * c + c0;
    for (int64_t j = 0; j < d.s; ++j) {
      const float* wt = tw.w + (i * d.s + j) * tw.tap;
      V16 wv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) wv[v] = *reinterpret_cast<const V16u*>(wt + 16 * v);
      const int64_t ix0 = x0 * d.stride_w + j * d.dilation_w - d.pad_left;
      if (ix0 >= 0 && ix0 + (XB - 1) * d.stride_w < d.w) {
        const float* in = row + ix0 * c;
#pragma GCC unroll 16
        for (int x = 0; x < XB; ++x) {
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) {
            acc[x][v] += *reinterpret_cast<const V16u*>(in + x * step + 16 * v) * wv[v];
          }
        }
        continue;
      }
#pragma GCC unroll 16
      for (int x = 0; x < XB; ++x) {
        const int64_t ix = ix0 + x * d.stride_w;
        if (ix < 0 || ix >= d.w) continue;
        const float* in = row + ix * c;
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          acc[x][v] += *reinterpret_cast<const V16u*>(in + 16 * v) * wv[v];
        }
      }
    }
  }
  store_block<XB, NV>(a, n, y, c0, x0, acc);
}

// Pixels [x0, q) of row y: blocks of kXb, then one of the remainder.
template <int NV>
MEC_INLINE void vector_tail(const Args& a, const TaskWeights& tw, int64_t n, int64_t y, int64_t c0,
                            int64_t x0) {
  const int64_t q = a.q;
  for (; x0 + kXb <= q; x0 += kXb) vector_block<kXb, NV>(a, tw, n, y, c0, x0);
  switch (q - x0) {
    case 5:
      vector_block<5, NV>(a, tw, n, y, c0, x0);
      break;
    case 4:
      vector_block<4, NV>(a, tw, n, y, c0, x0);
      break;
    case 3:
      vector_block<3, NV>(a, tw, n, y, c0, x0);
      break;
    case 2:
      vector_block<2, NV>(a, tw, n, y, c0, x0);
      break;
    case 1:
      vector_block<1, NV>(a, tw, n, y, c0, x0);
      break;
    default:
      break;
  }
}

// Input column u of a reuse block (below) times the taps j = u - x * SW
// that reach its pixels x.
template <int XB, int NV, int S, int SW>
MEC_INLINE void reuse_column(int u, const V16* iv, const V16 (*wv)[NV], V16 (*acc)[NV]) {
#pragma GCC unroll 16
  for (int x = 0; x < XB; ++x) {
    const int j = u - x * SW;
    if (j < 0 || j >= S) continue;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[x][v] += iv[v] * wv[j][v];
  }
}

// The same block for dilation_w 1, kernel width S and stride SW known at
// compile time: each input vector of a
// kernel row is loaded once and multiplied with the S weight vectors of the
// taps that reach it (held in registers), instead of once per tap.
template <int XB, int NV, int S, int SW>
MEC_INLINE void reuse_block(const Args& a, const TaskWeights& tw, int64_t n, int64_t y, int64_t c0,
                            int64_t x0) {
  const Conv2dDesc& d = *a.d;
  const int64_t c = d.c;
  V16 acc[XB][NV];
  start_block<XB, NV>(a, c0, acc);
  constexpr int kCols = (XB - 1) * SW + S;  // input columns the block reads
  const int64_t ix_first = x0 * SW - d.pad_left;
  const bool inside = ix_first >= 0 && ix_first + kCols <= d.w;
  for (int64_t i = 0; i < d.r; ++i) {
    const int64_t iy = y * d.stride_h + i * d.dilation_h - d.pad_top;
    if (iy < 0 || iy >= d.h) continue;
    const float* in = a.src + ((n * d.h + iy) * d.w + ix_first) * c + c0;
    const float* wi = tw.w + i * S * tw.tap;
    V16 wv[S][NV];
#pragma GCC unroll 8
    for (int j = 0; j < S; ++j) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        wv[j][v] = *reinterpret_cast<const V16u*>(wi + j * tw.tap + 16 * v);
    }
    if (inside) {
#pragma GCC unroll 64
      for (int u = 0; u < kCols; ++u) {
        V16 iv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) iv[v] = *reinterpret_cast<const V16u*>(in + u * c + 16 * v);
        reuse_column<XB, NV, S, SW>(u, iv, wv, acc);
      }
      continue;
    }
#pragma GCC unroll 64
    for (int u = 0; u < kCols; ++u) {  // over the padding: skip columns outside
      if (ix_first + u < 0 || ix_first + u >= d.w) continue;
      V16 iv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) iv[v] = *reinterpret_cast<const V16u*>(in + u * c + 16 * v);
      reuse_column<XB, NV, S, SW>(u, iv, wv, acc);
    }
  }
  store_block<XB, NV>(a, n, y, c0, x0, acc);
}

// Row y of image n, channels [c0, c0 + 16 NV) in reuse blocks of XB pixels
// and blocks of at most kReuseXb for the remainder.
template <int XB, int NV, int S, int SW>
MEC_INLINE void reuse_row(const Args& a, const TaskWeights& tw, int64_t n, int64_t y, int64_t c0) {
  const int64_t q = a.q;
  int64_t x0 = 0;
  for (; x0 + XB <= q; x0 += XB) reuse_block<XB, NV, S, SW>(a, tw, n, y, c0, x0);
  for (; x0 + kReuseXb <= q; x0 += kReuseXb) {
    reuse_block<kReuseXb, NV, S, SW>(a, tw, n, y, c0, x0);
  }
  switch (q - x0) {
    case 7:
      return reuse_block<7, NV, S, SW>(a, tw, n, y, c0, x0);
    case 6:
      return reuse_block<6, NV, S, SW>(a, tw, n, y, c0, x0);
    case 5:
      return reuse_block<5, NV, S, SW>(a, tw, n, y, c0, x0);
    case 4:
      return reuse_block<4, NV, S, SW>(a, tw, n, y, c0, x0);
    case 3:
      return reuse_block<3, NV, S, SW>(a, tw, n, y, c0, x0);
    case 2:
      return reuse_block<2, NV, S, SW>(a, tw, n, y, c0, x0);
    case 1:
      return reuse_block<1, NV, S, SW>(a, tw, n, y, c0, x0);
    default:
      return;
  }
}

template <int NV>
MEC_INLINE void vector_row(const Args& a, const TaskWeights& tw, int64_t n, int64_t y, int64_t c0) {
  const Conv2dDesc& d = *a.d;
  if (d.dilation_w == 1 && d.s == 3 && d.stride_w == 1)
    return reuse_row<kReuseXb, NV, 3, 1>(a, tw, n, y, c0);
  if (d.dilation_w == 1 && d.s == 3 && d.stride_w == 2)
    return reuse_row<12, NV, 3, 2>(a, tw, n, y, c0);
  if (d.dilation_w == 1 && d.s == 5 && d.stride_w == 1)
    return reuse_row<kReuseXb, NV, 5, 1>(a, tw, n, y, c0);
  vector_tail<NV>(a, tw, n, y, c0, 0);
}

// Channels [c0, c0 + cn), cn <= 16, of row y of image n, one pixel at a
// time: channel tails and kernels too large for the gathered weights.
MEC_INLINE void scalar_row(const Args& a, const TaskWeights& tw, int64_t n, int64_t y, int64_t c0,
                           int64_t cn) {
  const Conv2dDesc& d = *a.d;
  for (int64_t x = 0; x < a.q; ++x) {
    float acc[16];
    for (int64_t ch = 0; ch < cn; ++ch) acc[ch] = a.bias ? a.bias[c0 + ch] : 0.0f;
    for (int64_t i = 0; i < d.r; ++i) {
      const int64_t iy = y * d.stride_h + i * d.dilation_h - d.pad_top;
      if (iy < 0 || iy >= d.h) continue;
      for (int64_t j = 0; j < d.s; ++j) {
        const int64_t ix = x * d.stride_w + j * d.dilation_w - d.pad_left;
        if (ix < 0 || ix >= d.w) continue;
        const float* in = a.src + ((n * d.h + iy) * d.w + ix) * d.c + c0;
        const float* wt = tw.w + (i * d.s + j) * tw.tap;
        for (int64_t ch = 0; ch < cn; ++ch) acc[ch] += in[ch] * wt[ch * tw.ch_step];
      }
    }
    float* out = a.dst + ((n * a.p + y) * a.q + x) * d.c + c0;
    for (int64_t ch = 0; ch < cn; ++ch) out[ch] = acc[ch];
  }
}

// One task: row y of image n, channels [c0, c0 + cb), cb <= kCb. `tw`
// points at channel c0; with ch_step != 1 its full vectors are gathered
// into a stack array first.
MEC_MULTIVERSION void depthwise_task(const Args& a, TaskWeights tw, int64_t n, int64_t y,
                                     int64_t c0, int64_t cb) {
  const Conv2dDesc& d = *a.d;
  const int64_t taps = d.r * d.s, nv = cb / 16, full = nv * 16;
  alignas(64) float gathered[kMaxTaps * kCb];
  TaskWeights vw = tw;
  if (nv > 0 && tw.ch_step != 1) {
    if (taps > kMaxTaps) {
      for (int64_t c = 0; c < cb; c += 16) {
        const TaskWeights cw{tw.w + c * tw.ch_step, tw.tap, tw.ch_step};
        scalar_row(a, cw, n, y, c0 + c, std::min<int64_t>(16, cb - c));
      }
      return;
    }
    for (int64_t t = 0; t < taps; ++t) {
      for (int64_t ch = 0; ch < full; ++ch) {
        gathered[t * full + ch] = tw.w[t * tw.tap + ch * tw.ch_step];
      }
    }
    vw = TaskWeights{gathered, full, 1};
  }
  int64_t v0 = 0;
  for (; v0 + 2 <= nv; v0 += 2) {
    vector_row<2>(a, TaskWeights{vw.w + 16 * v0, vw.tap, 1}, n, y, c0 + 16 * v0);
  }
  if (v0 < nv) vector_row<1>(a, TaskWeights{vw.w + 16 * v0, vw.tap, 1}, n, y, c0 + 16 * v0);
  if (full < cb) {
    const TaskWeights tail{tw.w + full * tw.ch_step, tw.tap, tw.ch_step};
    scalar_row(a, tail, n, y, c0 + full, cb - full);
  }
}

class DepthwisePlan : public detail::PlanImpl {
 public:
  DepthwisePlan(const Conv2dDesc& desc, int threads)
      : PlanImpl(desc, Algorithm::kDirect), threads_(threads) {
    set_variant("direct/depthwise");
  }

  size_t workspace_bytes() const override { return 0; }

  // Plan memory: [r][s][c] (HWIO), whatever the layout given.
  void pack_weights(const float* weights) override {
    const Conv2dDesc& d = desc();
    const WeightStrides ws = weight_strides(d);
    packed_.resize(size_t(d.weight_elems()));
    for (int64_t i = 0; i < d.r; ++i) {
      for (int64_t j = 0; j < d.s; ++j) {
        for (int64_t ch = 0; ch < d.c; ++ch) {
          packed_[size_t((i * d.s + j) * d.c + ch)] = weights[i * ws.r + j * ws.s + ch * ws.k];
        }
      }
    }
  }

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void*) const override {
    const Conv2dDesc& d = desc();
    const Args a{&d, src, bias, dst, d.p(), d.q()};
    const WeightStrides ws = weight_strides(d);
    // Packed and HWIO weights: taps s = c apart, channels adjacent; OHWI and
    // OIHW: taps adjacent (ws.s == 1 since cg == 1), channels r*s apart.
    const TaskWeights all =
        weights ? TaskWeights{weights, ws.s, ws.k} : TaskWeights{packed_weights(), d.c, 1};
    const int64_t blocks = (d.c + kCb - 1) / kCb, p = a.p;
#pragma omp parallel for collapse(3) num_threads(threads_) schedule(static)
    for (int64_t n = 0; n < d.n; ++n) {
      for (int64_t y = 0; y < p; ++y) {
        for (int64_t b = 0; b < blocks; ++b) {
          const int64_t c0 = b * kCb;
          const TaskWeights tw{all.w + c0 * all.ch_step, all.tap, all.ch_step};
          depthwise_task(a, tw, n, y, c0, std::min<int64_t>(kCb, d.c - c0));
        }
      }
    }
    return Status::kSuccess;
  }

 private:
  const int threads_;
};

}  // namespace

bool is_depthwise(const Conv2dDesc& desc) { return desc.c == desc.groups && desc.k == desc.groups; }

std::unique_ptr<detail::PlanImpl> create_depthwise(const Conv2dDesc& desc, int threads) {
  return std::unique_ptr<detail::PlanImpl>(new DepthwisePlan(desc, threads));
}

}  // namespace cpu
}  // namespace mec
