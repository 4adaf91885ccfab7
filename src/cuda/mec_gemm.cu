// MEC Solution B's GEMM as one kernel (see mec_gemm.h). A classic FFMA
// SGEMM tile: 256 threads compute a BM x BN block of dst (BM = 128, 64 or
// 32; BN = 128 or 64), each a BM/16 x BN/16 sub-block held in registers,
// over K in steps of 1024/BM (one 4-float A load per thread) staged through two
// shared-memory buffers (the next step's global loads are in registers
// while the current step is multiplied, one barrier per step). The only
// non-GEMM part is the A loader: thread row m = (n, y, x) reads from
// L + (n*q + x)*ld + y*stride_h*s*c, its K-run being contiguous (16-byte
// loads when every run is 16-byte aligned). Small grids split K over
// blocks and add into a zeroed dst with atomicAdd (fp32 sums in another
// order; still fp32 arithmetic throughout).
#include <algorithm>

#include "cuda/mec_gemm.h"

namespace mec {
namespace cuda {
namespace {

constexpr int kThreads = 256;

struct Args {
  const float* lowered;
  const float* weights;
  const float* bias;
  float* dst;
  int m, n, depth;  // rows n*p*q, columns k, K = r*s*c
  int pq, q;
  int64_t ld;       // floats per row of L
  int64_t ystep;    // stride_h*s*c
  int split_depth;  // multiple of the tile's K step
  bool atomic;
};

// Row (or column) of the block computed by thread coordinate t's i-th value
// when each thread holds `per` of them: two runs of 4 at t*4 and 64+t*4
// (per = 8), one run of 4 (per = 4), or one run of 2 (per = 2).
template <int kPer>
__device__ __forceinline__ int sub(int t, int i) {
  return kPer >= 4 ? (i / 4) * 64 + t * 4 + i % 4 : t * kPer + i;
}

// A kBm x kBn block of dst; K steps of kBk = 1024 / kBm so that every
// thread loads 4 consecutive floats of one A row per step.
template <int kBm, int kBn, bool kVecA>
__global__ void __launch_bounds__(kThreads) mec_gemm_kernel(Args a) {
  constexpr int kBk = 1024 / kBm;
  constexpr int kTm = kBm / 16, kTn = kBn / 16;  // values per thread
  constexpr int kBPer = kBn * kBk / kThreads;
  constexpr int kAq = kBk / 4;  // threads per A row
  __shared__ __align__(16) float as[2][kBk][kBm + 4];
  __shared__ __align__(16) float bs[2][kBk][kBn];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.x * kBm, n0 = blockIdx.y * kBn;
  const int kbeg = blockIdx.z * a.split_depth;
  const int kend = min(a.depth, kbeg + a.split_depth);

  // A loader: row ar of the tile, K offset ak (4 values).
  const int ar = tid / kAq, ak = (tid % kAq) * 4;
  const int am = m0 + ar;
  const bool arow_ok = am < a.m;
  const float* arow = a.lowered;
  if (arow_ok) {
    const int img = am / a.pq, rem = am - img * a.pq, y = rem / a.q, x = rem - y * a.q;
    arow += (int64_t(img) * a.q + x) * a.ld + int64_t(y) * a.ystep;
  }
  float ra[4], rb[kBPer];
  auto load = [&](int k0) {
    const int kk = k0 + ak;
    if (kVecA && arow_ok && kk + 3 < kend) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(arow + kk));
      ra[0] = v.x;
      ra[1] = v.y;
      ra[2] = v.z;
      ra[3] = v.w;
    } else {
#pragma unroll
      for (int i = 0; i < 4; ++i) ra[i] = arow_ok && kk + i < kend ? __ldg(arow + kk + i) : 0.0f;
    }
#pragma unroll
    for (int e = 0; e < kBPer; ++e) {
      const int idx = tid + e * kThreads, bk = idx / kBn, bn = idx % kBn;
      const int k = k0 + bk, col = n0 + bn;
      rb[e] = k < kend && col < a.n ? __ldg(a.weights + int64_t(k) * a.n + col) : 0.0f;
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < 4; ++i) as[buf][ak + i][ar] = ra[i];
#pragma unroll
    for (int e = 0; e < kBPer; ++e) {
      const int idx = tid + e * kThreads;
      bs[buf][idx / kBn][idx % kBn] = rb[e];
    }
  };

  float acc[kTm][kTn];
#pragma unroll
  for (int i = 0; i < kTm; ++i)
#pragma unroll
    for (int j = 0; j < kTn; ++j) acc[i][j] = 0.0f;

  int buf = 0;
  if (kbeg < kend) {
    load(kbeg);
    store(0);
  }
  __syncthreads();
  for (int k0 = kbeg; k0 < kend; k0 += kBk) {
    const bool next = k0 + kBk < kend;
    if (next) load(k0 + kBk);
#pragma unroll
    for (int kk = 0; kk < kBk; ++kk) {
      float av[kTm], bv[kTn];
      if (kTm == 2) {
        const float2 a0 = *reinterpret_cast<const float2*>(&as[buf][kk][ty * 2]);
        av[0] = a0.x, av[kTm - 1] = a0.y;
      } else {
#pragma unroll
        for (int h = 0; h < kTm / 4; ++h) {
          const float4 v = *reinterpret_cast<const float4*>(&as[buf][kk][h * 64 + ty * 4]);
          av[h * 4] = v.x, av[h * 4 + 1] = v.y, av[h * 4 + 2] = v.z, av[h * 4 + 3] = v.w;
        }
      }
#pragma unroll
      for (int h = 0; h < kTn / 4; ++h) {
        const float4 v = *reinterpret_cast<const float4*>(&bs[buf][kk][h * 64 + tx * 4]);
        bv[h * 4] = v.x, bv[h * 4 + 1] = v.y, bv[h * 4 + 2] = v.z, bv[h * 4 + 3] = v.w;
      }
#pragma unroll
      for (int i = 0; i < kTm; ++i)
#pragma unroll
        for (int j = 0; j < kTn; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (next) store(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }

  const bool add_bias = a.bias != nullptr && blockIdx.z == 0;
#pragma unroll
  for (int i = 0; i < kTm; ++i) {
    const int m = m0 + sub<kTm>(ty, i);
    if (m >= a.m) continue;
    float* out = a.dst + int64_t(m) * a.n;
#pragma unroll
    for (int j = 0; j < kTn; ++j) {
      const int col = n0 + sub<kTn>(tx, j);
      if (col >= a.n) continue;
      const float v = acc[i][j] + (add_bias ? __ldg(a.bias + col) : 0.0f);
      if (a.atomic) {
        atomicAdd(out + col, v);
      } else {
        out[col] = v;
      }
    }
  }
}

template <int kBm, int kBn>
void launch(const Args& a, bool vec, dim3 grid, cudaStream_t stream) {
  if (vec) {
    mec_gemm_kernel<kBm, kBn, true><<<grid, kThreads, 0, stream>>>(a);
  } else {
    mec_gemm_kernel<kBm, kBn, false><<<grid, kThreads, 0, stream>>>(a);
  }
}

}  // namespace

namespace {

// The split of K for a tile shape: about two blocks per multiprocessor,
// each split at least 64 deep (run 1 with 256 left cv1 at batch 1 on 24
// blocks), depths a multiple of the tile's K step.
MecGemmConfig split_for(const Geometry& g, int block_m, int block_n, int sms) {
  MecGemmConfig c;
  c.block_m = block_m;
  c.block_n = block_n;
  const int64_t depth = g.r * g.s * g.c, step = 1024 / block_m;
  const int64_t tiles = (g.n * g.p * g.q + block_m - 1) / block_m * ((g.k + block_n - 1) / block_n);
  const int64_t want = (2 * int64_t(sms) + tiles - 1) / tiles;
  const int64_t most = std::max<int64_t>(1, depth / 64);
  const int64_t splits = std::max<int64_t>(1, std::min(want, most));
  c.split_depth = ((depth + splits - 1) / splits + step - 1) / step * step;
  c.splits = int((depth + c.split_depth - 1) / c.split_depth);
  return c;
}

}  // namespace

MecGemmConfig mec_gemm_config(const Geometry& g, int sms, int force_m, int force_n) {
  if (force_m > 0) return split_for(g, force_m, force_n, sms);
  // Run 6 (docs/cuda.md): at batch 1 the 64 x 64 tile was the fastest or
  // within 10% of it on every paper layer, 32 x 64 where a 64-row tile is
  // mostly empty; the 128-row tiles stay where the product is large (run 4's
  // batch-32 numbers).
  const int64_t rows = g.n * g.p * g.q;
  if (rows >= kSmallRows) return split_for(g, 128, g.k <= 64 ? 64 : 128, sms);
  return split_for(g, rows <= 32 ? 32 : 64, 64, sms);
}

cudaError_t mec_gemm(const Geometry& g, const MecGemmConfig& c, const float* lowered,
                     const float* weights, const float* bias, float* dst, cudaStream_t stream,
                     bool dst_zeroed) {
  Args a;
  a.lowered = lowered;
  a.weights = weights;
  a.bias = bias;
  a.dst = dst;
  a.m = int(g.n * g.p * g.q);
  a.n = int(g.k);
  a.depth = int(g.r * g.s * g.c);
  a.pq = int(g.p * g.q);
  a.q = int(g.q);
  a.ld = g.hp * g.s * g.c;
  a.ystep = g.stride_h * g.s * g.c;
  a.split_depth = int(c.split_depth);
  a.atomic = c.splits > 1;
  if (a.atomic && !dst_zeroed) {
    const cudaError_t e = cudaMemsetAsync(dst, 0, size_t(a.m) * size_t(a.n) * 4, stream);
    if (e != cudaSuccess) return e;
  }
  const bool vec =
      a.ld % 4 == 0 && a.ystep % 4 == 0 && reinterpret_cast<uintptr_t>(lowered) % 16 == 0;
  const dim3 grid(unsigned((a.m + c.block_m - 1) / c.block_m),
                  unsigned((a.n + c.block_n - 1) / c.block_n), unsigned(c.splits));
  switch (c.block_m * 1000 + c.block_n) {
    case 128128:
      launch<128, 128>(a, vec, grid, stream);
      break;
    case 128064:
      launch<128, 64>(a, vec, grid, stream);
      break;
    case 64064:
      launch<64, 64>(a, vec, grid, stream);
      break;
    case 32064:
      launch<32, 64>(a, vec, grid, stream);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace mec
