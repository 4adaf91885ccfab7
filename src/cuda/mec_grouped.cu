// MEC Solution B for many small groups as one kernel (see mec_grouped.h).
// Thread t: output channel oc = t % k (innermost, so a warp's loads from L
// and stores to dst are consecutive addresses), output column x, and a run
// of kRowsPerThread output rows of image n, accumulated side by side. Its
// window of output row y is rows y*stride_h + i*dilation_h of its column of
// L, of which it reads the cg channels of its group at every kernel column j.
#include "common/checked.h"
#include "cuda/grid_loop.cuh"
#include "cuda/mec_grouped.h"

namespace mec {
namespace cuda {
namespace {

constexpr int kRowsPerThread = 4;  // output rows y per thread (rows of L reused from L1)

struct GroupedArgs {
  const float* lowered;
  const float* weights;
  const float* bias;
  float* dst;
  int64_t n, p, q, k, r, s, c, cg, kg, hp, stride_h, dilation_h;
  int64_t w_tap;  // weight stride between consecutive (i, j, ci): k (HWIO) or 1 (OHWI)
  int64_t w_oc;   // weight stride between output channels: 1 (HWIO) or r*s*cg (OHWI)
  int64_t runs;   // runs of output rows per image
  int64_t total;  // threads' work items: n * runs * q * k
};

// kR x kS: the kernel size when known at compile time (the loads of all
// taps and rows of a thread then issue together; with run-time loops a
// thread waits on one load at a time, at 0.5 TB/s on an H100), 0: any.
template <int kR, int kS>
__global__ void mec_grouped_kernel(GroupedArgs a) {
  const int64_t r = kR > 0 ? kR : a.r, s = kS > 0 ? kS : a.s;
  MEC_GRID_LOOP(int64_t, t, a.total) {
    int64_t rest = t;
    const int64_t oc = rest % a.k;
    rest /= a.k;
    const int64_t x = rest % a.q;
    rest /= a.q;
    const int64_t run = rest % a.runs, img = rest / a.runs;
    const int64_t grp = oc / a.kg, y0 = run * kRowsPerThread;
    const float* column = a.lowered + (img * a.q + x) * a.hp * s * a.c + grp * a.cg;
    const float* w = a.weights + oc * a.w_oc;
    const float b = a.bias != nullptr ? __ldg(a.bias + oc) : 0.0f;
    // Rows past p repeat row p - 1 (in bounds) and are not stored.
    int64_t row0[kRowsPerThread];
    float acc[kRowsPerThread];
#pragma unroll
    for (int u = 0; u < kRowsPerThread; ++u) {
      row0[u] = min(y0 + u, a.p - 1) * a.stride_h;
      acc[u] = b;
    }
    for (int64_t ci = 0; ci < a.cg; ++ci) {
#pragma unroll
      for (int64_t i = 0; i < r; ++i) {
#pragma unroll
        for (int64_t j = 0; j < s; ++j) {
          const float wv = __ldg(w + ((i * s + j) * a.cg + ci) * a.w_tap);
          const float* tap = column + (i * a.dilation_h * s + j) * a.c + ci;
#pragma unroll
          for (int u = 0; u < kRowsPerThread; ++u) {
            acc[u] = fmaf(__ldg(tap + row0[u] * s * a.c), wv, acc[u]);
          }
        }
      }
    }
#pragma unroll
    for (int u = 0; u < kRowsPerThread; ++u) {
      if (y0 + u < a.p) a.dst[((img * a.p + y0 + u) * a.q + x) * a.k + oc] = acc[u];
    }
  }
}

}  // namespace

cudaError_t mec_grouped(const Geometry& g, const float* lowered, const float* weights,
                        bool weights_ohwi, const float* bias, float* dst, cudaStream_t stream) {
  GroupedArgs a;
  a.lowered = lowered;
  a.weights = weights;
  a.bias = bias;
  a.dst = dst;
  a.n = g.n, a.p = g.p, a.q = g.q, a.k = g.k, a.r = g.r, a.s = g.s, a.c = g.c;
  a.cg = g.cg, a.kg = g.kg, a.hp = g.hp, a.stride_h = g.stride_h, a.dilation_h = g.dilation_h;
  a.w_tap = weights_ohwi ? 1 : g.k;
  a.w_oc = weights_ohwi ? g.r * g.s * g.cg : 1;
  a.runs = ceil_div(g.p, kRowsPerThread);
  a.total = g.n * a.runs * g.q * g.k;
  const unsigned grid = grid_blocks(a.total);
  if (g.r == 3 && g.s == 3) {
    mec_grouped_kernel<3, 3><<<grid, kGridThreads, 0, stream>>>(a);
  } else if (g.r == 5 && g.s == 5) {
    mec_grouped_kernel<5, 5><<<grid, kGridThreads, 0, stream>>>(a);
  } else if (g.r == 7 && g.s == 7) {
    mec_grouped_kernel<7, 7><<<grid, kGridThreads, 0, stream>>>(a);
  } else {
    mec_grouped_kernel<0, 0><<<grid, kGridThreads, 0, stream>>>(a);
  }
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace mec
