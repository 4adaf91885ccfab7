// The Winograd transform kernels (see winograd_kernels.h). One thread per
// (tile, channel) for the input and output transforms and per (channel in,
// channel out) for the kernels: the whole a x a patch lives in registers
// and the 1-D transforms (Lavin and Gray 2016, written term by term as in
// src/cpu/winograd_transforms.h so that the two backends round alike) are
// applied along columns, then rows. Consecutive threads take consecutive
// channels, so reads of NHWC src and writes of NHWC dst and of V/M/U are
// coalesced. Index arithmetic is 32-bit when everything fits.
#include <algorithm>

#include "cuda/grid_loop.cuh"
#include "cuda/winograd_kernels.h"

namespace mec {
namespace cuda {
namespace {

template <int M>
struct F;

template <>
struct F<2> {
  static constexpr int kA = 4;
  __device__ static void input(const float* d, int is, float* o, int os) {
    const float d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is];
    o[0] = d0 - d2;
    o[os] = d1 + d2;
    o[2 * os] = d2 - d1;
    o[3 * os] = d1 - d3;
  }
  __device__ static void kernel(const float* g, int is, float* o, int os) {
    const float g0 = g[0], g1 = g[is], g2 = g[2 * is];
    o[0] = g0;
    o[os] = 0.5f * (g0 + g1 + g2);
    o[2 * os] = 0.5f * (g0 - g1 + g2);
    o[3 * os] = g2;
  }
  __device__ static void output(const float* m, int is, float* o, int os) {
    const float m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is];
    o[0] = m0 + m1 + m2;
    o[os] = m1 - m2 - m3;
  }
};

template <>
struct F<4> {
  static constexpr int kA = 6;
  __device__ static void input(const float* d, int is, float* o, int os) {
    const float d0 = d[0], d1 = d[is], d2 = d[2 * is], d3 = d[3 * is], d4 = d[4 * is],
                d5 = d[5 * is];
    const float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1;
    const float c = d4 - d2, e = 2.0f * (d3 - d1);
    o[0] = 4.0f * d0 - 5.0f * d2 + d4;
    o[os] = a + b;
    o[2 * os] = a - b;
    o[3 * os] = c + e;
    o[4 * os] = c - e;
    o[5 * os] = 4.0f * d1 - 5.0f * d3 + d5;
  }
  __device__ static void kernel(const float* g, int is, float* o, int os) {
    const float g0 = g[0], g1 = g[is], g2 = g[2 * is];
    o[0] = 0.25f * g0;
    o[os] = (-1.0f / 6.0f) * (g0 + g1 + g2);
    o[2 * os] = (-1.0f / 6.0f) * (g0 - g1 + g2);
    o[3 * os] = (1.0f / 24.0f) * g0 + (1.0f / 12.0f) * g1 + (1.0f / 6.0f) * g2;
    o[4 * os] = (1.0f / 24.0f) * g0 - (1.0f / 12.0f) * g1 + (1.0f / 6.0f) * g2;
    o[5 * os] = g2;
  }
  __device__ static void output(const float* m, int is, float* o, int os) {
    const float m0 = m[0], m1 = m[is], m2 = m[2 * is], m3 = m[3 * is], m4 = m[4 * is],
                m5 = m[5 * is];
    const float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    o[0] = m0 + s12 + s34;
    o[os] = d12 + 2.0f * d34;
    o[2 * os] = s12 + 4.0f * s34;
    o[3 * os] = d12 + 8.0f * d34 + m5;
  }
};

// U[xi][g][ci][ko] for every (g, ci, ko); ko is the fastest index.
template <int M, typename I>
__global__ void kernels_kernel(Geometry geo, WeightStrides ws, const float* __restrict__ w,
                               float* __restrict__ u, I total) {
  constexpr int kA = F<M>::kA;
  const I kg = I(geo.kg), cg = I(geo.cg), k = I(geo.k);
  MEC_GRID_LOOP(I, e, total) {
    const I ko = e % kg, rest = e / kg, ci = rest % cg, grp = rest / cg;
    const float* wk = w + int64_t(grp * kg + ko) * ws.k + int64_t(ci) * ws.c;
    float taps[9], tmp[kA * 3], out[kA * kA];
#pragma unroll
    for (int t = 0; t < 9; ++t) taps[t] = wk[(t / 3) * ws.r + (t % 3) * ws.s];
#pragma unroll
    for (int j = 0; j < 3; ++j) F<M>::kernel(taps + j, 3, tmp + j, 3);
#pragma unroll
    for (int a = 0; a < kA; ++a) F<M>::kernel(tmp + a * 3, 1, out + a * kA, 1);
    const I plane = k * cg;  // one xi: groups * cg * kg = k * cg
    float* dst = u + (grp * cg + ci) * kg + ko;
#pragma unroll
    for (int xi = 0; xi < kA * kA; ++xi) dst[I(xi) * plane] = out[xi];
  }
}

// V[xi][g][t][ci] for the block's tiles; c (all groups) is the fastest index.
template <int M, typename I>
__global__ void inputs_kernel(Geometry geo, WinogradTiles tl, const float* __restrict__ src,
                              float* __restrict__ v, I total) {
  constexpr int kA = F<M>::kA;
  const I c = I(geo.c), cg = I(geo.cg), tw = I(tl.tiles_w), per_image = I(tl.tiles_h) * tw;
  const I count = I(tl.count), plane = count * c;  // one xi: groups * count * cg
  MEC_GRID_LOOP(I, e, total) {
    const I ch = e % c, t = e / c, tile = I(tl.t0) + t;
    const I img = tile / per_image, in_image = tile % per_image;
    const int64_t y0 = int64_t(in_image / tw) * M - geo.pad_top;
    const int64_t x0 = int64_t(in_image % tw) * M - geo.pad_left;
    const float* image = src + int64_t(img) * geo.h * geo.w * geo.c + ch;
    float d[kA * kA], tmp[kA * kA];
#pragma unroll
    for (int a = 0; a < kA; ++a) {
#pragma unroll
      for (int b = 0; b < kA; ++b) {
        const int64_t iy = y0 + a, ix = x0 + b;
        d[a * kA + b] = iy >= 0 && iy < geo.h && ix >= 0 && ix < geo.w
                            ? image[(iy * geo.w + ix) * geo.c]
                            : 0.0f;
      }
    }
#pragma unroll
    for (int b = 0; b < kA; ++b) F<M>::input(d + b, kA, tmp + b, kA);
#pragma unroll
    for (int a = 0; a < kA; ++a) F<M>::input(tmp + a * kA, 1, d + a * kA, 1);
    const I grp = ch / cg, ci = ch % cg;
    float* out = v + (grp * count + t) * cg + ci;
#pragma unroll
    for (int xi = 0; xi < kA * kA; ++xi) out[I(xi) * plane] = d[xi];
  }
}

// dst from M[xi][g][t][ko] (+ bias), cropped at the image edge.
template <int M, typename I>
__global__ void outputs_kernel(Geometry geo, WinogradTiles tl, const float* __restrict__ m,
                               const float* __restrict__ bias, float* __restrict__ dst, I total) {
  constexpr int kA = F<M>::kA;
  const I k = I(geo.k), kg = I(geo.kg), tw = I(tl.tiles_w), per_image = I(tl.tiles_h) * tw;
  const I count = I(tl.count), plane = count * k;
  MEC_GRID_LOOP(I, e, total) {
    const I ch = e % k, t = e / k, tile = I(tl.t0) + t;
    const I img = tile / per_image, in_image = tile % per_image;
    const I grp = ch / kg, ko = ch % kg;
    const float* in = m + (grp * count + t) * kg + ko;
    float mm[kA * kA], tmp[M * kA], out[M * M];
#pragma unroll
    for (int xi = 0; xi < kA * kA; ++xi) mm[xi] = in[I(xi) * plane];
#pragma unroll
    for (int b = 0; b < kA; ++b) F<M>::output(mm + b, kA, tmp + b, kA);
#pragma unroll
    for (int i = 0; i < M; ++i) F<M>::output(tmp + i * kA, 1, out + i * M, 1);
    const int64_t y0 = int64_t(in_image / tw) * M, x0 = int64_t(in_image % tw) * M;
    const float add = bias != nullptr ? bias[ch] : 0.0f;
    float* o = dst + int64_t(img) * geo.p * geo.q * geo.k + ch;
#pragma unroll
    for (int i = 0; i < M; ++i) {
#pragma unroll
      for (int j = 0; j < M; ++j) {
        if (y0 + i < geo.p && x0 + j < geo.q)
          o[((y0 + i) * geo.q + x0 + j) * geo.k] = out[i * M + j] + add;
      }
    }
  }
}

}  // namespace

// The 32-bit variants need every flattened index (and every V/M/U offset)
// below 2^31; `span` is the largest.
#define MEC_WINOGRAD_LAUNCH(kernel, work, span, ...)                                    \
  do {                                                                                  \
    const bool small = (span) < (int64_t(1) << 31);                                     \
    if (m == 2 && small) {                                                              \
      kernel<2, int32_t>                                                                \
          <<<grid_blocks(work), kGridThreads, 0, stream>>>(__VA_ARGS__, int32_t(work)); \
    } else if (m == 2) {                                                                \
      kernel<2, int64_t>                                                                \
          <<<grid_blocks(work), kGridThreads, 0, stream>>>(__VA_ARGS__, int64_t(work)); \
    } else if (small) {                                                                 \
      kernel<4, int32_t>                                                                \
          <<<grid_blocks(work), kGridThreads, 0, stream>>>(__VA_ARGS__, int32_t(work)); \
    } else {                                                                            \
      kernel<4, int64_t>                                                                \
          <<<grid_blocks(work), kGridThreads, 0, stream>>>(__VA_ARGS__, int64_t(work)); \
    }                                                                                   \
  } while (0)

cudaError_t winograd_kernels(const Geometry& g, int m, const WeightStrides& ws,
                             const float* weights, float* u, cudaStream_t stream) {
  const int64_t a = m + 2, work = g.k * g.cg;
  if (work == 0) return cudaSuccess;
  MEC_WINOGRAD_LAUNCH(kernels_kernel, work, a * a * work, g, ws, weights, u);
  return cudaGetLastError();
}

cudaError_t winograd_inputs(const Geometry& g, const WinogradTiles& t, const float* src, float* v,
                            cudaStream_t stream) {
  const int m = t.m;
  const int64_t a = m + 2, work = t.count * g.c;
  const int64_t tiles = (t.t0 + t.count) * g.c;  // tile index times c
  if (work == 0) return cudaSuccess;
  MEC_WINOGRAD_LAUNCH(inputs_kernel, work, std::max(a * a * work, tiles), g, t, src, v);
  return cudaGetLastError();
}

cudaError_t winograd_outputs(const Geometry& g, const WinogradTiles& t, const float* mm,
                             const float* bias, float* dst, cudaStream_t stream) {
  const int m = t.m;
  const int64_t a = m + 2, work = t.count * g.k;
  const int64_t tiles = (t.t0 + t.count) * g.k;
  if (work == 0) return cudaSuccess;
  MEC_WINOGRAD_LAUNCH(outputs_kernel, work, std::max(a * a * work, tiles), g, t, mm, bias, dst);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace mec
