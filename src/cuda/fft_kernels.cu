// The FFT gather/scatter kernels (see fft_kernels.h): one thread per real
// element, channel fastest, 64-bit indices (the tile arithmetic is a small
// part of an FFT convolution's time).
#include <algorithm>

#include "cuda/fft_kernels.h"

namespace mec {
namespace cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t work) {
  return unsigned(std::min<int64_t>((work + kThreads - 1) / kThreads, int64_t(1) << 20));
}

#define MEC_GRID_LOOP(e, total)                                                 \
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < (total); \
       e += int64_t(gridDim.x) * blockDim.x)

__global__ void gather_inputs_kernel(Geometry g, FftBlock b, const float* __restrict__ src,
                                     float* __restrict__ real, int64_t work) {
  const int64_t per_image = b.tiles_h * b.tiles_w;
  MEC_GRID_LOOP(e, work) {
    const int64_t ch = e % g.c, rest = e / g.c, t = rest % b.batch, pos = rest / b.batch;
    const int64_t tile = b.t0 + t;
    float v = 0.0f;
    if (tile < b.total) {
      const int64_t img = tile / per_image, in_image = tile % per_image;
      const int64_t iy = in_image / b.tiles_w * b.th - g.pad_top + pos / b.nw;
      const int64_t ix = in_image % b.tiles_w * b.tw - g.pad_left + pos % b.nw;
      if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
        v = src[((img * g.h + iy) * g.w + ix) * g.c + ch];
      }
    }
    real[e] = v;
  }
}

__global__ void gather_kernels_kernel(Geometry g, KernelStrides ws, int64_t nw, float scale,
                                      const float* __restrict__ w, float* __restrict__ real,
                                      int64_t work) {
  MEC_GRID_LOOP(e, work) {
    const int64_t ci = e % g.cg, rest = e / g.cg, ko = rest % g.k, pos = rest / g.k;
    const int64_t y = pos / nw, x = pos % nw;
    float v = 0.0f;
    if (y % g.dilation_h == 0 && x % g.dilation_w == 0 && y / g.dilation_h < g.r &&
        x / g.dilation_w < g.s) {
      v = w[ko * ws.k + (y / g.dilation_h) * ws.r + (x / g.dilation_w) * ws.s + ci * ws.c] * scale;
    }
    real[e] = v;
  }
}

__global__ void scatter_outputs_kernel(Geometry g, FftBlock b, const float* __restrict__ real,
                                       const float* __restrict__ bias, float* __restrict__ dst,
                                       int64_t work) {
  const int64_t per_image = b.tiles_h * b.tiles_w;
  const int64_t out_h = (g.p - 1) * g.stride_h + 1, out_w = (g.q - 1) * g.stride_w + 1;
  MEC_GRID_LOOP(e, work) {
    // e over (y < th, x < tw, t < batch, ch < k).
    const int64_t ch = e % g.k, rest = e / g.k, t = rest % b.batch, pos = rest / b.batch;
    const int64_t y = pos / b.tw, x = pos % b.tw, tile = b.t0 + t;
    if (tile >= b.total) continue;
    const int64_t img = tile / per_image, in_image = tile % per_image;
    const int64_t oy = in_image / b.tiles_w * b.th + y, ox = in_image % b.tiles_w * b.tw + x;
    if (oy >= out_h || ox >= out_w || oy % g.stride_h != 0 || ox % g.stride_w != 0) continue;
    const float v = real[((y * b.nw + x) * b.batch + t) * g.k + ch];
    dst[((img * g.p + oy / g.stride_h) * g.q + ox / g.stride_w) * g.k + ch] =
        bias != nullptr ? v + bias[ch] : v;
  }
}

}  // namespace

cudaError_t fft_gather_inputs(const Geometry& g, const FftBlock& b, const float* src, float* real,
                              cudaStream_t stream) {
  const int64_t work = b.nh * b.nw * b.batch * g.c;
  gather_inputs_kernel<<<blocks_for(work), kThreads, 0, stream>>>(g, b, src, real, work);
  return cudaGetLastError();
}

cudaError_t fft_gather_kernels(const Geometry& g, const KernelStrides& ws, int64_t nh, int64_t nw,
                               float scale, const float* weights, float* real,
                               cudaStream_t stream) {
  const int64_t work = nh * nw * g.k * g.cg;
  gather_kernels_kernel<<<blocks_for(work), kThreads, 0, stream>>>(g, ws, nw, scale, weights, real,
                                                                   work);
  return cudaGetLastError();
}

cudaError_t fft_scatter_outputs(const Geometry& g, const FftBlock& b, const float* real,
                                const float* bias, float* dst, cudaStream_t stream) {
  const int64_t work = b.th * b.tw * b.batch * g.k;
  scatter_outputs_kernel<<<blocks_for(work), kThreads, 0, stream>>>(g, b, real, bias, dst, work);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace mec
