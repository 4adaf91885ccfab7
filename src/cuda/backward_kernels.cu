// The element-wise kernels of the CUDA backward passes (backward_kernels.h):
// the gathers of the data gradient (direct, col2im, MEC's fold), the direct
// weight gradient, the bias gradient and the layout changes. One thread per
// output element, grid-stride loops, 64-bit indices; the GEMMs are cuBLAS's
// (gemm.h).
#include "cuda/backward_kernels.h"
#include "cuda/grid_loop.cuh"

namespace mec {
namespace cuda {
namespace {

// The output position whose tap `tap` reads input position `in` along one
// axis, or -1 (cpu/backward_common.h's output_reading()).
__device__ __forceinline__ int64_t reader(int64_t in, int64_t tap, int64_t pad, int64_t stride,
                                          int64_t dilation, int64_t outputs) {
  const int64_t t = in + pad - tap * dilation;
  return t < 0 || t % stride != 0 || t / stride >= outputs ? -1 : t / stride;
}

// The weight of tap (i, j), input channel ci of the group and output
// channel ko (of all k), HWIO or OHWI.
__device__ __forceinline__ float weight_at(const Geometry& g, const float* w, bool ohwi, int64_t i,
                                           int64_t j, int64_t ci, int64_t ko) {
  const int64_t tap = (i * g.s + j) * g.cg + ci;
  return ohwi ? w[ko * g.r * g.s * g.cg + tap] : w[tap * g.k + ko];
}

// Input pixel e of dsrc (NHWC): its image, row, column, group and channel
// within the group.
struct InputPixel {
  int64_t n, iy, ix, grp, ci;
  __device__ InputPixel(const Geometry& g, int64_t e) {
    const int64_t c = e % g.c;
    e /= g.c;
    ix = e % g.w;
    e /= g.w;
    iy = e % g.h;
    n = e / g.h;
    grp = c / g.cg;
    ci = c % g.cg;
  }
};

// Calls f(i, j, y, x) for every tap (i, j) and output pixel (y, x) whose
// window reads the input pixel, in the order of i, then j.
template <typename F>
__device__ __forceinline__ void for_each_reader(const Geometry& g, const InputPixel& px, F f) {
  for (int64_t i = 0; i < g.r; ++i) {
    const int64_t y = reader(px.iy, i, g.pad_top, g.stride_h, g.dilation_h, g.p);
    if (y < 0) continue;
    for (int64_t j = 0; j < g.s; ++j) {
      const int64_t x = reader(px.ix, j, g.pad_left, g.stride_w, g.dilation_w, g.q);
      if (x >= 0) f(i, j, y, x);
    }
  }
}

__global__ void direct_data_kernel(Geometry g, const float* __restrict__ ddst,
                                   const float* __restrict__ w, bool ohwi, float* __restrict__ dsrc,
                                   int64_t total) {
  MEC_GRID_LOOP(int64_t, e, total) {
    const InputPixel px(g, e);
    float sum = 0.0f;
    for_each_reader(g, px, [&](int64_t i, int64_t j, int64_t y, int64_t x) {
      const float* go = ddst + ((px.n * g.p + y) * g.q + x) * g.k + px.grp * g.kg;
      for (int64_t ko = 0; ko < g.kg; ++ko) {
        sum = fmaf(go[ko], weight_at(g, w, ohwi, i, j, px.ci, px.grp * g.kg + ko), sum);
      }
    });
    dsrc[e] = sum;
  }
}

__global__ void direct_weights_kernel(Geometry g, const float* __restrict__ src,
                                      const float* __restrict__ ddst, float* __restrict__ hwio,
                                      int64_t total) {
  MEC_GRID_LOOP(int64_t, e, total) {
    const int64_t ko = e % g.k, tap = e / g.k;
    const int64_t ci = tap % g.cg, j = tap / g.cg % g.s, i = tap / (g.cg * g.s);
    const int64_t c = ko / g.kg * g.cg + ci;
    float sum = 0.0f;
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t y = 0; y < g.p; ++y) {
        const int64_t iy = y * g.stride_h - g.pad_top + i * g.dilation_h;
        if (iy < 0 || iy >= g.h) continue;
        for (int64_t x = 0; x < g.q; ++x) {
          const int64_t ix = x * g.stride_w - g.pad_left + j * g.dilation_w;
          if (ix < 0 || ix >= g.w) continue;
          sum = fmaf(src[((n * g.h + iy) * g.w + ix) * g.c + c],
                     ddst[((n * g.p + y) * g.q + x) * g.k + ko], sum);
        }
      }
    }
    hwio[e] = sum;
  }
}

__global__ void col2im_kernel(Geometry g, const float* __restrict__ columns,
                              float* __restrict__ dsrc, int64_t total) {
  const int64_t depth = g.r * g.s * g.cg;
  MEC_GRID_LOOP(int64_t, e, total) {
    const InputPixel px(g, e);
    float sum = 0.0f;
    for_each_reader(g, px, [&](int64_t i, int64_t j, int64_t y, int64_t x) {
      const int64_t row = ((px.grp * g.n + px.n) * g.p + y) * g.q + x;
      sum += columns[row * depth + (i * g.s + j) * g.cg + px.ci];
    });
    dsrc[e] = sum;
  }
}

__global__ void mec_fold_kernel(Geometry g, const float* __restrict__ dl, float* __restrict__ dsrc,
                                int64_t total) {
  const int64_t row_depth = g.s * g.cg, ld = g.hp * row_depth;
  MEC_GRID_LOOP(int64_t, e, total) {
    const InputPixel px(g, e);
    const float* rows =
        dl + (px.grp * g.n + px.n) * g.q * ld + (px.iy + g.pad_top) * row_depth + px.ci;
    float sum = 0.0f;
    for (int64_t j = 0; j < g.s; ++j) {
      const int64_t x = reader(px.ix, j, g.pad_left, g.stride_w, g.dilation_w, g.q);
      if (x >= 0) sum += rows[x * ld + j * g.cg];
    }
    dsrc[e] = sum;
  }
}

__global__ void rows_outer_kernel(Geometry g, const float* __restrict__ ddst,
                                  float* __restrict__ out, int64_t total) {
  const int64_t row = g.q * g.k;  // one output row of one image
  MEC_GRID_LOOP(int64_t, e, total) {
    const int64_t within = e % row, y = e / row % g.p, n = e / (row * g.p);
    out[(y * g.n + n) * row + within] = ddst[e];
  }
}

constexpr int64_t kBiasChunk = 256;  // rows summed by one thread of the first stage, at least

__global__ void bias_partial_kernel(const float* __restrict__ ddst, int64_t rows, int64_t k,
                                    int64_t chunk_rows, float* __restrict__ partials,
                                    int64_t total) {
  MEC_GRID_LOOP(int64_t, e, total) {
    const int64_t ko = e % k, chunk = e / k;
    const int64_t r1 = min(rows, (chunk + 1) * chunk_rows);
    float sum = 0.0f;
    for (int64_t row = chunk * chunk_rows; row < r1; ++row) sum += ddst[row * k + ko];
    partials[e] = sum;
  }
}

__global__ void bias_sum_kernel(const float* __restrict__ partials, int64_t chunks, int64_t k,
                                float* __restrict__ dbias) {
  MEC_GRID_LOOP(int64_t, ko, k) {
    float sum = 0.0f;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) sum += partials[chunk * k + ko];
    dbias[ko] = sum;
  }
}

__global__ void hwio_to_layout_kernel(Geometry g, bool oihw, const float* __restrict__ hwio,
                                      float* __restrict__ out, int64_t total) {
  MEC_GRID_LOOP(int64_t, e, total) {
    const int64_t ko = e % g.k, tap = e / g.k;
    const int64_t ci = tap % g.cg, j = tap / g.cg % g.s, i = tap / (g.cg * g.s);
    const int64_t to = oihw ? ((ko * g.cg + ci) * g.r + i) * g.s + j : ko * g.r * g.s * g.cg + tap;
    out[to] = hwio[e];
  }
}

}  // namespace

cudaError_t direct_backward_data(const Geometry& g, const float* ddst, const float* weights,
                                 bool weights_ohwi, float* dsrc, cudaStream_t stream) {
  const int64_t total = g.n * g.h * g.w * g.c;
  direct_data_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(g, ddst, weights,
                                                                      weights_ohwi, dsrc, total);
  return cudaGetLastError();
}

cudaError_t direct_backward_weights(const Geometry& g, const float* src, const float* ddst,
                                    float* hwio, cudaStream_t stream) {
  const int64_t total = g.r * g.s * g.cg * g.k;
  direct_weights_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(g, src, ddst, hwio, total);
  return cudaGetLastError();
}

cudaError_t col2im(const Geometry& g, const float* columns, float* dsrc, cudaStream_t stream) {
  const int64_t total = g.n * g.h * g.w * g.c;
  col2im_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(g, columns, dsrc, total);
  return cudaGetLastError();
}

cudaError_t mec_fold(const Geometry& g, const float* dl, float* dsrc, cudaStream_t stream) {
  const int64_t total = g.n * g.h * g.w * g.c;
  mec_fold_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(g, dl, dsrc, total);
  return cudaGetLastError();
}

cudaError_t rows_outer(const Geometry& g, const float* ddst, float* out, cudaStream_t stream) {
  const int64_t total = g.n * g.p * g.q * g.k;
  rows_outer_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(g, ddst, out, total);
  return cudaGetLastError();
}

cudaError_t bias_gradient(const float* ddst, int64_t rows, int64_t k, float* partials,
                          int64_t max_chunks, float* dbias, cudaStream_t stream) {
  const int64_t wanted = (rows + kBiasChunk - 1) / kBiasChunk;
  const int64_t chunks = max(int64_t(1), min(wanted, max_chunks));
  const int64_t chunk_rows = (rows + chunks - 1) / chunks, total = chunks * k;
  bias_partial_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(ddst, rows, k, chunk_rows,
                                                                       partials, total);
  bias_sum_kernel<<<grid_blocks(k), kGridThreads, 0, stream>>>(partials, chunks, k, dbias);
  return cudaGetLastError();
}

cudaError_t hwio_to_layout(const Geometry& g, FilterLayout layout, const float* hwio,
                           float* dweights, cudaStream_t stream) {
  const int64_t total = g.r * g.s * g.cg * g.k;
  hwio_to_layout_kernel<<<grid_blocks(total), kGridThreads, 0, stream>>>(
      g, layout == FilterLayout::kOIHW, hwio, dweights, total);
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace mec
