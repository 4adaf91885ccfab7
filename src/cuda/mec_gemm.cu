// MEC Solution B's GEMM as one kernel (see mec_gemm.h). A classic FFMA
// SGEMM tile: 256 threads compute a 128 x BN block of dst, each an 8 x BN/16
// sub-block held in registers, over K in steps of 8 staged through two
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

constexpr int kBm = 128, kBk = 8, kThreads = 256;

struct Args {
  const float* lowered;
  const float* weights;
  const float* bias;
  float* dst;
  int m, n, depth;  // rows n*p*q, columns k, K = r*s*c
  int pq, q;
  int64_t ld;       // floats per row of L
  int64_t ystep;    // stride_h*s*c
  int split_depth;  // multiple of kBk
  bool atomic;
};

template <int kBn, bool kVecA>
__global__ void __launch_bounds__(kThreads) mec_gemm_kernel(Args a) {
  constexpr int kTn = kBn / 16;  // columns per thread: 8 or 4
  constexpr int kBPer = kBn * kBk / kThreads;
  __shared__ __align__(16) float as[2][kBk][kBm + 4];
  __shared__ __align__(16) float bs[2][kBk][kBn];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.x * kBm, n0 = blockIdx.y * kBn;
  const int kbeg = blockIdx.z * a.split_depth;
  const int kend = min(a.depth, kbeg + a.split_depth);

  // A loader: row ar of the tile, K offset ak (4 values).
  const int ar = tid / 2, ak = (tid % 2) * 4;
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

  float acc[8][kTn];
#pragma unroll
  for (int i = 0; i < 8; ++i)
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
      float av[8], bv[kTn];
      const float4 a0 = *reinterpret_cast<const float4*>(&as[buf][kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&as[buf][kk][64 + ty * 4]);
      av[0] = a0.x, av[1] = a0.y, av[2] = a0.z, av[3] = a0.w;
      av[4] = a1.x, av[5] = a1.y, av[6] = a1.z, av[7] = a1.w;
      const float4 b0 = *reinterpret_cast<const float4*>(&bs[buf][kk][tx * 4]);
      bv[0] = b0.x, bv[1] = b0.y, bv[2] = b0.z, bv[3] = b0.w;
      if (kTn == 8) {
        const float4 b1 = *reinterpret_cast<const float4*>(&bs[buf][kk][64 + tx * 4]);
        bv[kTn - 4] = b1.x, bv[kTn - 3] = b1.y, bv[kTn - 2] = b1.z, bv[kTn - 1] = b1.w;
      }
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < kTn; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (next) store(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }

  // Epilogue: rows ty*4+i and 64+ty*4+i, columns tx*4+j (and 64+tx*4+j).
  const bool add_bias = a.bias != nullptr && blockIdx.z == 0;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
    if (m >= a.m) continue;
    float* out = a.dst + int64_t(m) * a.n;
#pragma unroll
    for (int j = 0; j < kTn; ++j) {
      const int col = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
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

}  // namespace

MecGemmConfig mec_gemm_config(const Geometry& g, int sms) {
  MecGemmConfig c;
  c.block_n = g.k <= 64 ? 64 : 128;
  const int64_t depth = g.r * g.s * g.c;
  const int64_t tiles = (g.n * g.p * g.q + kBm - 1) / kBm * ((g.k + c.block_n - 1) / c.block_n);
  // About two blocks per multiprocessor, each split at least 64 deep (8
  // steps; run 1 with 256 left cv1 at batch 1 on 24 blocks).
  const int64_t want = (2 * int64_t(sms) + tiles - 1) / tiles;
  const int64_t most = std::max<int64_t>(1, depth / 64);
  const int64_t splits = std::max<int64_t>(1, std::min(want, most));
  c.split_depth = ((depth + splits - 1) / splits + kBk - 1) / kBk * kBk;
  c.splits = int((depth + c.split_depth - 1) / c.split_depth);
  return c;
}

cudaError_t mec_gemm(const Geometry& g, const MecGemmConfig& c, const float* lowered,
                     const float* weights, const float* bias, float* dst, cudaStream_t stream) {
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
  if (a.atomic) {
    const cudaError_t e = cudaMemsetAsync(dst, 0, size_t(a.m) * size_t(a.n) * 4, stream);
    if (e != cudaSuccess) return e;
  }
  const bool vec =
      a.ld % 4 == 0 && a.ystep % 4 == 0 && reinterpret_cast<uintptr_t>(lowered) % 16 == 0;
  const dim3 grid(unsigned((a.m + kBm - 1) / kBm), unsigned((a.n + c.block_n - 1) / c.block_n),
                  unsigned(c.splits));
  if (c.block_n == 64) {
    if (vec) {
      mec_gemm_kernel<64, true><<<grid, kThreads, 0, stream>>>(a);
    } else {
      mec_gemm_kernel<64, false><<<grid, kThreads, 0, stream>>>(a);
    }
  } else if (vec) {
    mec_gemm_kernel<128, true><<<grid, kThreads, 0, stream>>>(a);
  } else {
    mec_gemm_kernel<128, false><<<grid, kThreads, 0, stream>>>(a);
  }
  return cudaGetLastError();
}

}  // namespace cuda
}  // namespace mec
