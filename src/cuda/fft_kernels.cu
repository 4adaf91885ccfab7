// The FFT gather/scatter kernels (see fft_kernels.h): a few lanes per row of
// channels (one pixel of one tile), so accesses are coalesced along NHWC's
// channel and the tile arithmetic is done once per row.
#include <algorithm>
#include <initializer_list>

#include "cuda/fft_kernels.h"

namespace mec {
namespace cuda {
namespace {

// A block is kLanes x (256 / kLanes) threads: the lanes of a row step
// through its channels (kLanes: the smallest power of two >= channels, at
// most 32, so c = 3 does not idle 29 lanes of 32), the rows are pixels of
// tiles. blockIdx.y is the pixel (pos) and the rows of a block are tiles,
// so the per-row arithmetic is a few 32-bit divisions (I = int32_t whenever
// every offset fits; 64-bit divisions per element cost most of the time of
// the first version: 0.53 ms of cv7's 1.3 ms per block at batch 32, ncu).
constexpr int kThreads = 256;

int lanes_for(int64_t channels) {
  int l = 1;
  while (l < 32 && l < channels) l *= 2;
  return l;
}

// Launches `launch(grid, block, pos0)` over all positions, at most 65535
// (gridDim.y's limit) at a time.
template <class Launch>
void launch_rows(int64_t rows, int lanes, int64_t positions, Launch launch) {
  const int64_t rows_per_block = kThreads / lanes;
  const dim3 block(lanes, unsigned(rows_per_block));
  for (int64_t pos0 = 0; pos0 < positions; pos0 += 65535) {
    const dim3 grid(unsigned((rows + rows_per_block - 1) / rows_per_block),
                    unsigned(std::min<int64_t>(65535, positions - pos0)));
    launch(grid, block, int(pos0));
  }
}

// rows: (pos = blockIdx.y < nh*nw, t < batch); channels ch' < ce.
template <typename I>
__global__ void gather_inputs_kernel(Geometry g, FftBlock b, const float* __restrict__ src,
                                     float* __restrict__ real, int pos0) {
  const I t = I(blockIdx.x) * blockDim.y + threadIdx.y, pos = I(blockIdx.y) + pos0;
  if (t >= I(b.batch)) return;
  const I ce = I(b.ce), cge = I(b.cge), cg = I(g.cg), uw = I(b.uw), tile = I(b.t0) + t;
  const I per_image = I(b.tiles_h * b.tiles_w), tiles_w = I(b.tiles_w), nw = I(b.nw);
  float* out = real + (I(pos) * I(b.batch) + t) * ce;
  const bool live = tile < I(b.total);
  const I img = tile / per_image, in_image = tile % per_image;
  const I y0 = (in_image / tiles_w * I(b.th) + pos / nw) * I(b.uh) - I(g.pad_top);
  const I x0 = (in_image % tiles_w * I(b.tw) + pos % nw) * uw - I(g.pad_left);
  const float* image = src + I(img) * I(g.h) * I(g.w) * I(g.c);
  for (I ch = threadIdx.x; ch < ce; ch += blockDim.x) {
    const I grp = ch / cge, in_group = ch % cge;
    const I phase = in_group / cg, ci = in_group % cg;
    const I iy = y0 + phase / uw, ix = x0 + phase % uw;
    float v = 0.0f;
    if (live && iy >= 0 && iy < I(g.h) && ix >= 0 && ix < I(g.w)) {
      v = image[(iy * I(g.w) + ix) * I(g.c) + grp * cg + ci];
    }
    out[ch] = v;
  }
}

// rows: (pos = blockIdx.y < nh*nw, ko < k); channels ci' < cge.
template <typename I>
__global__ void gather_kernels_kernel(Geometry g, FftBlock b, WeightStrides ws, float scale,
                                      const float* __restrict__ w, float* __restrict__ real,
                                      int pos0) {
  const I ko = I(blockIdx.x) * blockDim.y + threadIdx.y, pos = I(blockIdx.y) + pos0;
  if (ko >= I(g.k)) return;
  const I cge = I(b.cge), cg = I(g.cg), uw = I(b.uw), nw = I(b.nw);
  float* out = real + (I(pos) * I(g.k) + ko) * cge;
  for (I cip = threadIdx.x; cip < cge; cip += blockDim.x) {
    const I phase = cip / cg, ci = cip % cg;
    // Position in the dilated kernel's extent.
    const I y = pos / nw * I(b.uh) + phase / uw, x = pos % nw * uw + phase % uw;
    const I dh = I(g.dilation_h), dw = I(g.dilation_w);
    float v = 0.0f;
    if (y % dh == 0 && x % dw == 0 && y / dh < I(g.r) && x / dw < I(g.s)) {
      v = w[int64_t(ko) * ws.k + (y / dh) * ws.r + (x / dw) * ws.s + ci * ws.c] * scale;
    }
    out[cip] = v;
  }
}

// rows: (pos = blockIdx.y < th*tw, t < batch); channels ko < k.
template <typename I>
__global__ void scatter_outputs_kernel(Geometry g, FftBlock b, const float* __restrict__ real,
                                       const float* __restrict__ bias, float* __restrict__ dst,
                                       int pos0) {
  const I t = I(blockIdx.x) * blockDim.y + threadIdx.y, pos = I(blockIdx.y) + pos0;
  const I tile = I(b.t0) + t;
  if (t >= I(b.batch) || tile >= I(b.total)) return;
  const I per_image = I(b.tiles_h * b.tiles_w), tiles_w = I(b.tiles_w), tw = I(b.tw);
  const I vh = I(b.vh), vw = I(b.vw), k = I(g.k);
  const I y = pos / tw, x = pos % tw;
  const I img = tile / per_image, in_image = tile % per_image;
  const I oy = in_image / tiles_w * I(b.th) + y, ox = in_image % tiles_w * tw + x;
  if (oy > (I(g.p) - 1) * vh || ox > (I(g.q) - 1) * vw || oy % vh != 0 || ox % vw != 0) return;
  const float* in = real + ((y * I(b.nw) + x) * I(b.batch) + t) * k;
  float* out = dst + ((img * I(g.p) + oy / vh) * I(g.q) + ox / vw) * k;
  for (I ch = threadIdx.x; ch < k; ch += blockDim.x) {
    out[ch] = bias != nullptr ? in[ch] + bias[ch] : in[ch];
  }
}

bool fits32(std::initializer_list<int64_t> spans) {
  for (int64_t v : spans) {
    if (v >= (int64_t(1) << 31)) return false;
  }
  return true;
}

}  // namespace

cudaError_t fft_gather_inputs(const Geometry& g, const FftBlock& b, const float* src, float* real,
                              cudaStream_t stream) {
  const int lanes = lanes_for(b.ce);
  // Every offset the 32-bit variant forms: the tile buffer, src, and the
  // (padded, tile-rounded) coordinates times c.
  const int64_t padded = (g.h + 2 * g.pad_top + b.nh * b.uh) * (g.w + 2 * g.pad_left + b.nw * b.uw);
  const bool small = fits32({b.nh * b.nw * b.batch * b.ce, g.n * g.h * g.w * g.c,
                             (b.total + b.batch) * g.c, padded * g.c});
  launch_rows(b.batch, lanes, b.nh * b.nw, [&](dim3 grid, dim3 block, int pos0) {
    if (small) {
      gather_inputs_kernel<int32_t><<<grid, block, 0, stream>>>(g, b, src, real, pos0);
    } else {
      gather_inputs_kernel<int64_t><<<grid, block, 0, stream>>>(g, b, src, real, pos0);
    }
  });
  return cudaGetLastError();
}

cudaError_t fft_gather_kernels(const Geometry& g, const FftBlock& b, const WeightStrides& ws,
                               float scale, const float* weights, float* real,
                               cudaStream_t stream) {
  const int lanes = lanes_for(b.cge);
  launch_rows(g.k, lanes, b.nh * b.nw, [&](dim3 grid, dim3 block, int pos0) {
    if (fits32({b.nh * b.nw * g.k * b.cge, g.k * g.r * g.s * g.cg * 4})) {
      gather_kernels_kernel<int32_t>
          <<<grid, block, 0, stream>>>(g, b, ws, scale, weights, real, pos0);
    } else {
      gather_kernels_kernel<int64_t>
          <<<grid, block, 0, stream>>>(g, b, ws, scale, weights, real, pos0);
    }
  });
  return cudaGetLastError();
}

cudaError_t fft_scatter_outputs(const Geometry& g, const FftBlock& b, const float* real,
                                const float* bias, float* dst, cudaStream_t stream) {
  const int lanes = lanes_for(g.k);
  launch_rows(b.batch, lanes, b.th * b.tw, [&](dim3 grid, dim3 block, int pos0) {
    if (fits32({b.nh * b.nw * b.batch * g.k, g.n * g.p * g.q * g.k, (b.total + b.batch) * g.k,
                (g.p + b.th) * (g.q + b.tw) * b.vh * b.vw * g.k})) {
      scatter_outputs_kernel<int32_t><<<grid, block, 0, stream>>>(g, b, real, bias, dst, pos0);
    } else {
      scatter_outputs_kernel<int64_t><<<grid, block, 0, stream>>>(g, b, real, bias, dst, pos0);
    }
  });
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace mec
