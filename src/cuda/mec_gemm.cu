// MEC Solution B's GEMM as one kernel (see mec_gemm.h). An FFMA SGEMM
// tile: 256 threads compute a BM x BN block of dst (BM = 128, 64 or 32;
// BN = 128 or 64), each a BM/16 x BN/16 sub-block held in registers, over
// K in steps of 16 through a three-stage cp.async pipeline (two steps'
// loads in flight while one is multiplied, one barrier per step). A is kept
// in shared memory as it lies in L - k innermost - so the copies need no
// transposition and work at any alignment (16-, 8- or 4-byte cp.async,
// zero-filled past the ends); the multiply reads 2 consecutive k of a row at
// once. The only non-GEMM part is the A addressing: thread row m = (n, y, x)
// reads from L + (n*q + x)*ld + y*stride_h*s*c, its K-run contiguous. Small
// grids split K over blocks and add into a zeroed dst with atomicAdd (fp32
// sums in another order; still fp32 arithmetic throughout).
#include <algorithm>

#include "common/checked.h"
#include "cuda/mec_gemm.h"

namespace mec {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kBk = 16;     // K per pipeline step
constexpr int kStages = 3;  // shared-memory buffers
constexpr int kApad = 4;    // floats of padding per A row (16-byte aligned rows)

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

// Row (or column) of the block computed by thread coordinate t's i-th value
// when each thread holds `per` of them: two runs of 4 at t*4 and 64+t*4
// (per = 8), one run of 4 (per = 4), or one run of 2 (per = 2).
template <int kPer>
__device__ __forceinline__ int sub(int t, int i) {
  return kPer >= 4 ? (i / 4) * 64 + t * 4 + i % 4 : t * kPer + i;
}

// cp.async of kBytes (4, 8 or 16) from global to shared memory; only the
// first src_bytes are read, the rest of the kBytes is zero-filled.
template <int kBytes>
__device__ __forceinline__ void copy_async(float* smem, const float* gmem, int src_bytes) {
  const unsigned dst = unsigned(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(dst), "l"(gmem), "n"(kBytes),
               "r"(src_bytes));
}
__device__ __forceinline__ void copy_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void copy_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// Floats per 16-byte-class A copy: each thread copies kBm*kBk/kThreads
// floats of A per step (8, 4, 2), in copies of 4 (2 for 32-row tiles).
constexpr int a_copy_floats(int block_m) { return block_m * kBk / kThreads >= 4 ? 4 : 2; }

template <int kBm, int kBn>
constexpr int smem_floats() {
  return kStages * (kBm * (kBk + kApad) + kBk * kBn);
}

// A kBm x kBn block of dst. kVa / kVb: floats per A / B copy (4 or 2 when
// the rows are aligned for it, else 1).
template <int kBm, int kBn, int kVa, int kVb>
__global__ void __launch_bounds__(kThreads, 2) mec_gemm_kernel(Args a) {
  constexpr int kTm = kBm / 16, kTn = kBn / 16;  // values per thread
  constexpr int kAw = kBk + kApad;               // A row pitch in shared memory
  constexpr int kAseg = kBm * kBk / kThreads;    // A floats copied per thread per step
  constexpr int kBseg = kBn * kBk / kThreads;    // B floats copied per thread per step
  extern __shared__ float4 smem_raw[];
  float* const as = reinterpret_cast<float*>(smem_raw);  // [kStages][kBm][kAw]
  float* const bs = as + kStages * kBm * kAw;            // [kStages][kBk][kBn]
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.x * kBm, n0 = blockIdx.y * kBn;
  const int kbeg = blockIdx.z * a.split_depth;
  const int kend = min(a.depth, kbeg + a.split_depth);
  const int steps = (kend - kbeg + kBk - 1) / kBk;

  // A copier: row ar of the tile, kAseg consecutive k from ak.
  const int ar = tid / (kBk / kAseg), ak = (tid % (kBk / kAseg)) * kAseg;
  const int am = m0 + ar;
  const float* arow = a.lowered;
  int arow_end = 0;  // k beyond which this row reads nothing (0: row out of range)
  if (am < a.m) {
    const int img = am / a.pq, rem = am - img * a.pq, y = rem / a.q, x = rem - y * a.q;
    arow += (int64_t(img) * a.q + x) * a.ld + int64_t(y) * a.ystep;
    arow_end = kend;
  }
  // B copier: row bk of the step, kBseg consecutive columns from bn.
  const int bk = tid / (kBn / kBseg), bn = (tid % (kBn / kBseg)) * kBseg;
  const int bcol = n0 + bn;

  auto load = [&](int step, int stage) {
    const int k0 = kbeg + step * kBk;
    float* ad = as + (stage * kBm + ar) * kAw + ak;
#pragma unroll
    for (int e = 0; e < kAseg; e += kVa) {
      const int k = k0 + ak + e;
      const int left = min(max(arow_end - k, 0), kVa);
      copy_async<kVa * 4>(ad + e, left > 0 ? arow + k : a.lowered, left * 4);
    }
    const int k = k0 + bk;
    const float* brow = a.weights + int64_t(k) * a.n;
    float* bd = bs + (stage * kBk + bk) * kBn + bn;
#pragma unroll
    for (int e = 0; e < kBseg; e += kVb) {
      const int left = k < kend ? min(max(a.n - (bcol + e), 0), kVb) : 0;
      copy_async<kVb * 4>(bd + e, left > 0 ? brow + bcol + e : a.weights, left * 4);
    }
  };

  float acc[kTm][kTn];
#pragma unroll
  for (int i = 0; i < kTm; ++i)
#pragma unroll
    for (int j = 0; j < kTn; ++j) acc[i][j] = 0.0f;

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < steps) load(s, s);
    copy_commit();
  }
  for (int step = 0; step < steps; ++step) {
    copy_wait<kStages - 2>();
    __syncthreads();  // this step's stage is in; the stage refilled below is free
    if (step + kStages - 1 < steps) load(step + kStages - 1, (step + kStages - 1) % kStages);
    copy_commit();
    const float* at = as + (step % kStages) * kBm * kAw;
    const float* bt = bs + (step % kStages) * kBk * kBn;
#pragma unroll
    for (int kq = 0; kq < kBk; kq += 2) {
      float2 av[kTm];
#pragma unroll
      for (int i = 0; i < kTm; ++i)
        av[i] = *reinterpret_cast<const float2*>(at + sub<kTm>(ty, i) * kAw + kq);
#pragma unroll
      for (int kk = 0; kk < 2; ++kk) {
        float bv[kTn];
#pragma unroll
        for (int h = 0; h < kTn / 4; ++h) {
          const float4 v = *reinterpret_cast<const float4*>(bt + (kq + kk) * kBn + h * 64 + tx * 4);
          bv[h * 4] = v.x, bv[h * 4 + 1] = v.y, bv[h * 4 + 2] = v.z, bv[h * 4 + 3] = v.w;
        }
#pragma unroll
        for (int i = 0; i < kTm; ++i) {
          const float ai = kk == 0 ? av[i].x : av[i].y;
#pragma unroll
          for (int j = 0; j < kTn; ++j) acc[i][j] = fmaf(ai, bv[j], acc[i][j]);
        }
      }
    }
  }

  // Epilogue: runs of 4 columns (sub() gives each thread runs of 4 when
  // kTn >= 4) as one 16-byte store or atomic add where dst allows it.
  const bool add_bias = a.bias != nullptr && blockIdx.z == 0;
  const bool vec_out = a.n % 4 == 0 && reinterpret_cast<uintptr_t>(a.dst) % 16 == 0;
#pragma unroll
  for (int i = 0; i < kTm; ++i) {
    const int m = m0 + sub<kTm>(ty, i);
    if (m >= a.m) continue;
    float* out = a.dst + int64_t(m) * a.n;
#pragma unroll
    for (int j0 = 0; j0 < kTn; j0 += 4) {
      const int col0 = n0 + sub<kTn>(tx, j0);
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int col = col0 + j;
        v[j] = acc[i][j0 + j] + (add_bias && col < a.n ? __ldg(a.bias + col) : 0.0f);
      }
      if (vec_out && col0 + 3 < a.n) {
        const float4 w = make_float4(v[0], v[1], v[2], v[3]);
        if (a.atomic) {
#if __CUDA_ARCH__ >= 900
          atomicAdd(reinterpret_cast<float4*>(out + col0), w);  // sm_90: one 16-byte atomic
#else
          atomicAdd(out + col0, w.x), atomicAdd(out + col0 + 1, w.y);
          atomicAdd(out + col0 + 2, w.z), atomicAdd(out + col0 + 3, w.w);
#endif
        } else {
          *reinterpret_cast<float4*>(out + col0) = w;
        }
        continue;
      }
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (col0 + j >= a.n) break;
        if (a.atomic) {
          atomicAdd(out + col0 + j, v[j]);
        } else {
          out[col0 + j] = v[j];
        }
      }
    }
  }
}

// Launches one tile shape; kVa / kVb chosen from the alignment of A's rows
// and of B. Above 48 KiB of shared memory the kernel's dynamic limit is
// raised first (a per-device attribute, so on every launch).
template <int kBm, int kBn, int kVa, int kVb>
cudaError_t launch_one(const Args& a, dim3 grid, cudaStream_t stream) {
  constexpr int bytes = smem_floats<kBm, kBn>() * 4;
  if (bytes > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(mec_gemm_kernel<kBm, kBn, kVa, kVb>,
                                               cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    if (e != cudaSuccess) return e;
  }
  mec_gemm_kernel<kBm, kBn, kVa, kVb><<<grid, kThreads, bytes, stream>>>(a);
  return cudaGetLastError();
}

template <int kBm, int kBn>
cudaError_t launch(const Args& a, bool vec_a, bool vec_b, dim3 grid, cudaStream_t stream) {
  constexpr int va = a_copy_floats(kBm);
  if (vec_a) {
    return vec_b ? launch_one<kBm, kBn, va, 4>(a, grid, stream)
                 : launch_one<kBm, kBn, va, 1>(a, grid, stream);
  }
  return vec_b ? launch_one<kBm, kBn, 1, 4>(a, grid, stream)
               : launch_one<kBm, kBn, 1, 1>(a, grid, stream);
}

// The split of K for a tile shape: about two blocks per multiprocessor,
// each split at least 64 deep (run 1 with 256 left cv1 at batch 1 on 24
// blocks), depths a multiple of the K step kBk.
MecGemmConfig split_for(const Geometry& g, int block_m, int block_n, int sms) {
  MecGemmConfig c;
  c.block_m = block_m;
  c.block_n = block_n;
  const int64_t depth = g.r * g.s * g.c, step = kBk;
  const int64_t tiles = ceil_div(g.n * g.p * g.q, block_m) * ceil_div(g.k, block_n);
  const int64_t want = ceil_div(2 * int64_t(sms), tiles);
  const int64_t most = std::max<int64_t>(1, depth / 64);
  const int64_t splits = std::max<int64_t>(1, std::min(want, most));
  c.split_depth = ceil_div(ceil_div(depth, splits), step) * step;
  c.splits = int(ceil_div(depth, c.split_depth));
  return c;
}

}  // namespace

MecGemmConfig mec_gemm_config(const Geometry& g, int sms, int force_m, int force_n) {
  // The tiles mec_gemm() launches; another forced shape is ignored.
  const bool has_tile = (force_m == 128 && force_n == 128) ||
                        ((force_m == 32 || force_m == 64 || force_m == 128) && force_n == 64);
  if (has_tile) return split_for(g, force_m, force_n, sms);
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
  // A copies of 4 (2 for 32-row tiles) floats need every window start
  // aligned to that many floats; B copies of 4 need k % 4 == 0.
  const int va = a_copy_floats(c.block_m);
  const bool vec_a =
      a.ld % va == 0 && a.ystep % va == 0 && reinterpret_cast<uintptr_t>(lowered) % (4 * va) == 0;
  const bool vec_b = a.n % 4 == 0 && reinterpret_cast<uintptr_t>(weights) % 16 == 0;
  const dim3 grid(unsigned(ceil_div(a.m, c.block_m)), unsigned(ceil_div(a.n, c.block_n)),
                  unsigned(c.splits));
  switch (c.block_m * 1000 + c.block_n) {
    case 128128:
      return launch<128, 128>(a, vec_a, vec_b, grid, stream);
    case 128064:
      return launch<128, 64>(a, vec_a, vec_b, grid, stream);
    case 64064:
      return launch<64, 64>(a, vec_a, vec_b, grid, stream);
    case 32064:
      return launch<32, 64>(a, vec_a, vec_b, grid, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace cuda
}  // namespace mec
