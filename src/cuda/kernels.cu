// The CUDA kernels of the backend (see kernels.h). All are memory-bound
// element-wise passes, most over a flattened index (the lowerings walk
// rows of the lowered matrix), written so that consecutive
// threads touch consecutive addresses (the innermost index is the channel),
// with 16-byte float4 accesses when the channel count and pointers allow.
// Index arithmetic is 32-bit whenever every offset fits, since 64-bit
// division costs several times more on the GPU.
#include <algorithm>
#include <type_traits>

#include "common/checked.h"
#include "cuda/dependent_launch.cuh"
#include "cuda/grid_loop.cuh"
#include "cuda/kernels.h"

namespace mec {
namespace cuda {

namespace {

constexpr int64_t kFits32 = int64_t(1) << 31;

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <int V>
struct Vec;
template <>
struct Vec<1> {
  using T = float;
  __device__ static T zero() { return 0.0f; }
};
template <>
struct Vec<4> {
  using T = float4;
  __device__ static T zero() { return make_float4(0.0f, 0.0f, 0.0f, 0.0f); }
};

// Whether an input row's s*c floats under a window are one run of it
// (RowSource's kContiguous).
inline bool contiguous_rows(const Geometry& g) { return g.groups == 1 && g.dilation_w == 1; }

// Where the units of one lowered row come from, in both lowerings: input
// row iy, unit jc = j*cg + ci of the s pixels from column ix0, zero in the
// padding. kContiguous (groups == 1, dilation_w == 1): the s*c floats of an
// input row are one run of it, clipped where the window hangs over the
// padding (units [lo, hi)).
template <typename I, int V, bool kContiguous>
struct RowSource {
  using S = std::make_signed_t<I>;
  using T = typename Vec<V>::T;
  const T* in;
  S image, ix0, lo, hi;  // image: nn*h
  I cgv, cv, grp;
  __device__ RowSource(const Geometry& g, const float* src, I nn, I grp_, I x)
      : in(reinterpret_cast<const T*>(src)),
        image(S(nn) * S(g.h)),
        ix0(S(x) * S(g.stride_w) - S(g.pad_left)),
        cgv(I(g.cg / V)),
        cv(I(g.c / V)),
        grp(grp_) {
    lo = max(-ix0, S(0)) * S(cv), hi = min(S(g.s), S(g.w) - ix0) * S(cv);
  }
  __device__ T at(const Geometry& g, S iy, I jc) const {
    if (iy < 0 || iy >= S(g.h)) return Vec<V>::zero();
    const S pixel = (image + iy) * S(g.w);
    if (kContiguous) {
      return S(jc) >= lo && S(jc) < hi ? in[(pixel + ix0) * S(cv) + S(jc)] : Vec<V>::zero();
    }
    const I j = jc / cgv, ci = jc - j * cgv;
    const S ix = ix0 + S(j) * S(g.dilation_w);
    return ix >= 0 && ix < S(g.w) ? in[(pixel + ix) * S(cv) + S(grp * cgv + ci)] : Vec<V>::zero();
  }
};

// MEC lowering, L[g][n][x][yy][j][ci] = padded src. A block fills a span
// of kLowerSpan units (of V floats) of one row (g, n, x) of L, each thread
// every kGridThreads-th unit, stepping (yy, jc) instead of dividing the
// flat index per unit: with c = 3 five divisions per float make a flat
// kernel instruction-bound, ~100 us on cv1 and cv7 at batch 32 on an H100
// against ~25 us of traffic; this kernel, its loads issued before its
// stores, takes 29.
constexpr int kLowerSteps = 8, kLowerSpan = kGridThreads * kLowerSteps;

template <typename I, int V, bool kContiguous>
__global__ void __launch_bounds__(kGridThreads)
    mec_lower_kernel(Geometry g, const float* __restrict__ src, float* __restrict__ lowered,
                     I spans, I chunks, float* __restrict__ zero, I zero_total) {
  using S = std::make_signed_t<I>;
  using T = typename Vec<V>::T;
  const I sc = I(g.s) * I(g.cg / V), rowv = I(g.hp) * sc;
  const I step_y = I(kGridThreads) / sc, step_j = I(kGridThreads) - step_y * sc;
  for (I b = blockIdx.x; b < spans; b += gridDim.x) {
    const I row = b / chunks, chunk = b - row * chunks;
    const I x = row % I(g.q), t = row / I(g.q);
    const RowSource<I, V, kContiguous> source(g, src, t % I(g.n), t / I(g.n), x);
    T* out = reinterpret_cast<T*>(lowered) + row * rowv;
    const I f0 = chunk * I(kLowerSpan) + threadIdx.x;
    I yy = f0 / sc, jc = f0 - yy * sc;
    // All loads first, then the stores: kLowerSteps loads in flight.
    T v[kLowerSteps];
#pragma unroll
    for (int u = 0; u < kLowerSteps; ++u) {
      v[u] = f0 + u * kGridThreads < rowv ? source.at(g, S(yy) - S(g.pad_top), jc) : Vec<V>::zero();
      yy += step_y, jc += step_j;
      if (jc >= sc) jc -= sc, ++yy;
    }
#pragma unroll
    for (int u = 0; u < kLowerSteps; ++u) {
      if (f0 + u * kGridThreads < rowv) out[f0 + u * kGridThreads] = v[u];
    }
  }
  MEC_GRID_LOOP(I, e, zero_total) { zero[e] = 0.0f; }
  allow_dependents();  // the GEMM kernel after it (dependent_launch.cuh)
}

// im2col lowering over the flattened index: rows too short or too few
// for the walk below to pay (1x1 layers, 3x3 over RGB, batch-1
// layers of a few hundred pixels).
template <typename I, int V>
__global__ void im2col_flat_kernel(Geometry g, const float* __restrict__ src,
                                   float* __restrict__ lowered, I total) {
  using S = std::make_signed_t<I>;
  using T = typename Vec<V>::T;
  const I cgv = I(g.cg / V);
  MEC_GRID_LOOP(I, e, total) {
    I t = e;
    const I ci = t % cgv;
    t /= cgv;
    const I j = t % I(g.s);
    t /= I(g.s);
    const I i = t % I(g.r);
    t /= I(g.r);
    const I x = t % I(g.q);
    t /= I(g.q);
    const I y = t % I(g.p);
    t /= I(g.p);
    const I nn = t % I(g.n), grp = t / I(g.n);
    const S iy = S(y) * S(g.stride_h) + S(i) * S(g.dilation_h) - S(g.pad_top);
    const S ix = S(x) * S(g.stride_w) + S(j) * S(g.dilation_w) - S(g.pad_left);
    T v = Vec<V>::zero();
    if (iy >= 0 && iy < S(g.h) && ix >= 0 && ix < S(g.w)) {
      v = reinterpret_cast<const T*>(src + ((I(nn) * I(g.h) + I(iy)) * I(g.w) + I(ix)) * I(g.c) +
                                     grp * I(g.cg))[ci];
    }
    reinterpret_cast<T*>(lowered)[e] = v;
  }
}

// im2col lowering: per group, one row of r*s*cg floats (i, j, ci) per
// output pixel (n, y, x). Its rows are short (147 floats on cv3), so a
// warp fills a row, each lane every 32nd unit, stepping (i, jc) as above,
// 4 loads before their stores (on the c = 3 layers the flat kernel's five
// divisions per float take most of im2col's time).
template <typename I, int V, bool kContiguous>
__global__ void __launch_bounds__(kGridThreads)
    im2col_walk_kernel(Geometry g, const float* __restrict__ src, float* __restrict__ lowered,
                       I rows) {
  using S = std::make_signed_t<I>;
  using T = typename Vec<V>::T;
  constexpr int kWarps = kGridThreads / 32, kLoads = 4;
  const I lane = threadIdx.x % 32, sc = I(g.s) * I(g.cg / V), rowv = I(g.r) * sc;
  const I step_i = I(32) / sc, step_j = I(32) - step_i * sc;
  for (I row = blockIdx.x * kWarps + threadIdx.x / 32; row < rows; row += gridDim.x * kWarps) {
    I t = row / I(g.q);
    const I x = row - t * I(g.q), y = t % I(g.p);
    t /= I(g.p);
    const RowSource<I, V, kContiguous> source(g, src, t % I(g.n), t / I(g.n), x);
    const S iy0 = S(y) * S(g.stride_h) - S(g.pad_top);
    T* out = reinterpret_cast<T*>(lowered) + row * rowv;
    I i = lane / sc, jc = lane - i * sc;
    for (I f0 = lane; f0 < rowv; f0 += kLoads * 32) {
      T v[kLoads];
#pragma unroll
      for (int u = 0; u < kLoads; ++u) {
        v[u] = f0 + u * 32 < rowv ? source.at(g, iy0 + S(i) * S(g.dilation_h), jc) : Vec<V>::zero();
        i += step_i, jc += step_j;
        if (jc >= sc) jc -= sc, ++i;
      }
#pragma unroll
      for (int u = 0; u < kLoads; ++u) {
        if (f0 + u * 32 < rowv) out[f0 + u * 32] = v[u];
      }
    }
  }
}

__global__ void oihw_to_hwio_kernel(Geometry g, const float* __restrict__ in,
                                    float* __restrict__ out, int64_t total) {
  MEC_GRID_LOOP(int64_t, e, total) {
    int64_t t = e;
    const int64_t ko = t % g.k;
    t /= g.k;
    const int64_t ci = t % g.cg;
    t /= g.cg;
    const int64_t j = t % g.s, i = t / g.s;
    out[e] = in[((ko * g.cg + ci) * g.r + i) * g.s + j];
  }
}

template <typename I, int V>
__global__ void add_bias_kernel(float* __restrict__ dst, const float* __restrict__ bias, I kv,
                                I total) {
  using T = typename Vec<V>::T;
  MEC_GRID_LOOP(I, e, total) {
    T v = reinterpret_cast<T*>(dst)[e];
    const T b = reinterpret_cast<const T*>(bias)[e % kv];
    if constexpr (V == 4) {
      v.x += b.x;
      v.y += b.y;
      v.z += b.z;
      v.w += b.w;
    } else {
      v += b;
    }
    reinterpret_cast<T*>(dst)[e] = v;
  }
}

template <typename I, int V>
__global__ void reorder_rows_kernel(const float* __restrict__ out, const float* __restrict__ bias,
                                    float* __restrict__ dst, I n, I p, I blockv, I kv, I total) {
  using T = typename Vec<V>::T;
  MEC_GRID_LOOP(I, e, total) {
    const I b = e % blockv, t = e / blockv;
    const I y = t % p, nn = t / p;
    T v = reinterpret_cast<const T*>(out)[(y * n + nn) * blockv + b];
    if (bias != nullptr) {
      const T bv = reinterpret_cast<const T*>(bias)[b % kv];
      if constexpr (V == 4) {
        v.x += bv.x;
        v.y += bv.y;
        v.z += bv.z;
        v.w += bv.w;
      } else {
        v += bv;
      }
    }
    reinterpret_cast<T*>(dst)[e] = v;
  }
}

__global__ void mec_b_pointers_kernel(Geometry g, int64_t i, const float* lowered,
                                      const float* weights, bool ohwi, float* dst, const float** a,
                                      const float** b, float** c, int64_t total) {
  MEC_GRID_LOOP(int64_t, t, total) {
    const int64_t y = t % g.p, nn = t / g.p % g.n, grp = t / (g.p * g.n);
    const int64_t ld = g.hp * g.s * g.cg, row_depth = g.s * g.cg;
    a[t] = lowered + (grp * g.n + nn) * g.q * ld + (y * g.stride_h + i * g.dilation_h) * row_depth;
    b[t] = ohwi ? weights + grp * g.kg * g.r * row_depth + i * row_depth
                : weights + grp * g.kg + i * row_depth * g.k;
    c[t] = dst + (nn * g.p + y) * g.q * g.k + grp * g.kg;
  }
}

__global__ void direct_kernel(Geometry g, const float* __restrict__ src,
                              const float* __restrict__ weights, bool ohwi,
                              const float* __restrict__ bias, float* __restrict__ dst,
                              int64_t total) {
  MEC_GRID_LOOP(int64_t, e, total) {
    int64_t t = e;
    const int64_t ko = t % g.k;
    t /= g.k;
    const int64_t x = t % g.q;
    t /= g.q;
    const int64_t y = t % g.p, nn = t / g.p;
    const int64_t grp = ko / g.kg;
    float acc = 0.0f;
    for (int64_t i = 0; i < g.r; ++i) {
      const int64_t iy = y * g.stride_h + i * g.dilation_h - g.pad_top;
      if (iy < 0 || iy >= g.h) continue;
      for (int64_t j = 0; j < g.s; ++j) {
        const int64_t ix = x * g.stride_w + j * g.dilation_w - g.pad_left;
        if (ix < 0 || ix >= g.w) continue;
        const float* in = src + ((nn * g.h + iy) * g.w + ix) * g.c + grp * g.cg;
        if (ohwi) {
          const float* wt = weights + ((ko * g.r + i) * g.s + j) * g.cg;
          for (int64_t ci = 0; ci < g.cg; ++ci) acc = fmaf(in[ci], wt[ci], acc);
        } else {
          const float* wt = weights + (i * g.s + j) * g.cg * g.k + ko;
          for (int64_t ci = 0; ci < g.cg; ++ci) acc = fmaf(in[ci], wt[ci * g.k], acc);
        }
      }
    }
    dst[e] = acc + (bias != nullptr ? bias[ko] : 0.0f);
  }
}

// Launches kernel<I, V> with 32-bit indices when `largest` (the largest
// element offset touched) fits, else 64-bit.
template <template <typename, int> class Launch, int V, typename... Args>
void launch_indexed(int64_t largest, Args... args) {
  if (largest < kFits32) {
    Launch<uint32_t, V>::go(args...);
  } else {
    Launch<uint64_t, V>::go(args...);
  }
}

template <typename I, int V>
struct MecLower {
  static void go(const Geometry& g, const float* src, float* lowered, int64_t rowv, float* zero,
                 int64_t zero_total, cudaStream_t stream) {
    const int64_t chunks = ceil_div(rowv, int64_t(kLowerSpan));
    const int64_t spans = g.groups * g.n * g.q * chunks;
    // A block per span and a thread per float to zero (each capped).
    const unsigned blocks = std::max(grid_blocks(spans * kGridThreads), grid_blocks(zero_total));
    if (contiguous_rows(g)) {
      mec_lower_kernel<I, V, true><<<blocks, kGridThreads, 0, stream>>>(
          g, src, lowered, I(spans), I(chunks), zero, I(zero_total));
    } else {
      mec_lower_kernel<I, V, false><<<blocks, kGridThreads, 0, stream>>>(
          g, src, lowered, I(spans), I(chunks), zero, I(zero_total));
    }
  }
};
// The walk where rows are at least kWalkUnits long and at least kWalkRows
// of them (on an H100 against the flat kernel: cv3 0.38 ms instead of 0.69,
// cv8 1.55 instead of 1.69 at batch 32; 5-48% slower on 1x1 layers, 3x3 over RGB and
// batch-1 layers of under ~1000 pixels).
constexpr int64_t kWalkUnits = 64, kWalkRows = 2048;

template <typename I, int V>
struct Im2colLower {
  static void go(const Geometry& g, const float* src, float* lowered, int64_t rows, int64_t rowv,
                 cudaStream_t stream) {
    if (rowv < kWalkUnits || rows < kWalkRows) {
      im2col_flat_kernel<I, V>
          <<<grid_blocks(rows * rowv), kGridThreads, 0, stream>>>(g, src, lowered, I(rows * rowv));
      return;
    }
    const unsigned blocks = grid_blocks(rows * 32);  // a warp per row
    if (contiguous_rows(g)) {
      im2col_walk_kernel<I, V, true><<<blocks, kGridThreads, 0, stream>>>(g, src, lowered, I(rows));
    } else {
      im2col_walk_kernel<I, V, false>
          <<<blocks, kGridThreads, 0, stream>>>(g, src, lowered, I(rows));
    }
  }
};
template <typename I, int V>
struct AddBias {
  static void go(float* dst, const float* bias, int64_t kv, int64_t total, cudaStream_t stream) {
    add_bias_kernel<I, V>
        <<<grid_blocks(total), kGridThreads, 0, stream>>>(dst, bias, I(kv), I(total));
  }
};
template <typename I, int V>
struct Reorder {
  static void go(const float* out, const float* bias, float* dst, int64_t n, int64_t p,
                 int64_t blockv, int64_t kv, int64_t total, cudaStream_t stream) {
    reorder_rows_kernel<I, V><<<grid_blocks(total), kGridThreads, 0, stream>>>(
        out, bias, dst, I(n), I(p), I(blockv), I(kv), I(total));
  }
};

}  // namespace

cudaError_t mec_lower(const Geometry& g, const float* src, float* lowered, cudaStream_t stream,
                      float* zero, int64_t zero_floats) {
  const int64_t row = g.hp * g.s * g.cg, elems = g.groups * g.n * g.q * row;
  // The largest offset touched: L, src, zero, or a last span's end past L.
  const int64_t largest = std::max({elems + kLowerSpan, g.n * g.h * g.w * g.c, zero_floats});
  if (g.cg % 4 == 0 && aligned16(src) && aligned16(lowered)) {
    launch_indexed<MecLower, 4>(largest, g, src, lowered, row / 4, zero, zero_floats, stream);
  } else {
    launch_indexed<MecLower, 1>(largest, g, src, lowered, row, zero, zero_floats, stream);
  }
  return cudaGetLastError();
}

cudaError_t im2col_lower(const Geometry& g, const float* src, float* lowered, cudaStream_t stream) {
  const int64_t rows = g.groups * g.n * g.p * g.q, row = g.r * g.s * g.cg, elems = rows * row;
  const int64_t largest = std::max(elems, g.n * g.h * g.w * g.c);
  if (g.cg % 4 == 0 && aligned16(src) && aligned16(lowered)) {
    launch_indexed<Im2colLower, 4>(largest, g, src, lowered, rows, row / 4, stream);
  } else {
    launch_indexed<Im2colLower, 1>(largest, g, src, lowered, rows, row, stream);
  }
  return cudaGetLastError();
}

cudaError_t oihw_to_hwio(const Geometry& g, const float* weights, float* hwio,
                         cudaStream_t stream) {
  const int64_t total = g.k * g.r * g.s * g.cg;
  oihw_to_hwio_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(g, weights, hwio, total);
  return cudaGetLastError();
}

cudaError_t add_bias(float* dst, const float* bias, int64_t rows, int64_t k, cudaStream_t stream) {
  const int64_t total = rows * k;
  if (k % 4 == 0 && aligned16(dst) && aligned16(bias)) {
    launch_indexed<AddBias, 4>(total, dst, bias, k / 4, total / 4, stream);
  } else {
    launch_indexed<AddBias, 1>(total, dst, bias, k, total, stream);
  }
  return cudaGetLastError();
}

cudaError_t reorder_rows(const float* out, const float* bias, float* dst, int64_t n, int64_t p,
                         int64_t block, int64_t k, cudaStream_t stream) {
  const int64_t total = n * p * block;
  const bool vec = block % 4 == 0 && (bias == nullptr || (k % 4 == 0 && aligned16(bias))) &&
                   aligned16(out) && aligned16(dst);
  if (vec) {
    launch_indexed<Reorder, 4>(total, out, bias, dst, n, p, block / 4, k / 4, total / 4, stream);
  } else {
    launch_indexed<Reorder, 1>(total, out, bias, dst, n, p, block, k, total, stream);
  }
  return cudaGetLastError();
}

cudaError_t mec_b_pointers(const Geometry& g, int64_t i, const float* lowered, const float* weights,
                           bool weights_ohwi, float* dst, const float** a, const float** b,
                           float** c, cudaStream_t stream) {
  const int64_t total = g.groups * g.n * g.p;
  mec_b_pointers_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(
      g, i, lowered, weights, weights_ohwi, dst, a, b, c, total);
  return cudaGetLastError();
}

cudaError_t direct_conv(const Geometry& g, const float* src, const float* weights,
                        bool weights_ohwi, const float* bias, float* dst, cudaStream_t stream) {
  const int64_t total = g.n * g.p * g.q * g.k;
  direct_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(g, src, weights, weights_ohwi,
                                                                 bias, dst, total);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace mec
