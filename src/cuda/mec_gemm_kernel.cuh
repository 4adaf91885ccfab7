// Internal, included only by mec_gemm.cu, which instantiates and launches
// it: MEC Solution B's GEMM as one kernel (see mec_gemm.h), the kernel
// template itself. An FFMA SGEMM
// tile: a block computes a BM x BN block of dst (128 x 128, 128 x 64, 64 x
// 64 or 32 x 64), each thread a TM x TN sub-block held in registers, over K
// in steps of 16 through a three-stage cp.async pipeline (two steps' loads
// in flight while one is multiplied, one barrier per step). A is kept in
// shared memory as it lies in L - k innermost - so the copies need no
// transposition and work at any alignment (16-, 8- or 4-byte cp.async,
// zero-filled past the ends). The lanes of a warp are 4 rows x 8 column
// runs: a thread's rows are 4 apart and its columns runs of 4, 32 apart, so
// the multiply reads 2 consecutive k of a row (A, 8 bytes) and 4 columns
// (B, 16 bytes) per load, each one shared-memory wavefront: a third fewer
// wavefronts than lanes of 16 x 16, for about the same speed - the kernel
// is bound by issue, not by them. The only non-GEMM part is the
// A addressing: thread row m = (n, y, x) reads from L + (n*q + x)*ld + y*stride_h*s*c, its K-run
// contiguous. Small grids split K over blocks and add into a zeroed dst with atomicAdd (fp32 sums
// in another order). With TF32 allowed the same tiles multiply on tensor cores instead (Mma,
// mec_gemm_tf32.cuh); everything else is shared. mec_gemm_src's instances
// (kSrc) find each row's K-run in src instead of L (mec_gemm_cursors.cuh).
// The tile shapes: mec_gemm_tile.h. In an unnamed namespace: the kernel's
// instances belong to the one file that launches them.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "cuda/dependent_launch.cuh"
#include "cuda/mec_gemm.h"
#include "cuda/mec_gemm_cursors.cuh"
#include "cuda/mec_gemm_io.cuh"
#include "cuda/mec_gemm_tf32.cuh"
#include "cuda/mec_gemm_tile.h"

namespace mec {
namespace cuda {
namespace {

struct Args {
  Windows win;  // A: the windows of L
  const float* weights;
  const float* bias;
  float* dst;
  int n;            // columns: k / groups
  int split_depth;  // multiple of kBk
  bool atomic;
};
// With groups the weights' and dst's rows are longer than a group's n.
struct GroupedArgs : Args {
  int ld;          // floats per row of the weights and of dst: k
  int64_t b_step;  // floats of the weights per K step: kBk * ld
};
// With the lowering in the copies (mec_gemm_src): A's windows come from
// src. One group.
struct SrcArgs : Args {
  SrcWindows in;
};

// The argument of an instance: by where A comes from (kSrc) and groups.
template <bool kGrouped, int kSrc>
using ArgsOf =
    std::conditional_t<kSrc != kFromL, SrcArgs, std::conditional_t<kGrouped, GroupedArgs, Args>>;

// A kBm x kBn block of dst. kVa / kVb: floats per A / B copy (Tile::kAvec
// or 4 when the rows are aligned for it, else 1). kGrouped: the weights'
// and dst's rows are a.ld floats long, not a.n (one group's columns) -
// instances of their own, so that the one-group instances do not read
// their strides from a.ld (on an H100 that makes cv8 at batch 1 20% slower
// and the 128 x 128 layers 3%). kTf32: the multiply and the epilogue are
// Mma's, the rest is shared (the TF32 parts only in `if constexpr`, so
// that the FFMA instances' code does not change with them).
// kSrc: where A's copies find each window of L (kFromL, or in src:
// kFromPixels or kFromRuns).
template <int kBm, int kBn, int kVa, int kVb, bool kGrouped, bool kTf32, int kSrc>
__global__ void __launch_bounds__(Tile<kBm, kBn>::kThreads, Tile<kBm, kBn>::kMinBlocks)
    mec_gemm_kernel(ArgsOf<kGrouped, kSrc> a) {
  constexpr bool kFromSrc = kSrc != kFromL;
  using T = Tile<kBm, kBn, kTf32>;
  constexpr int kTm = T::kTm, kTn = T::kTn;
  constexpr int kAw = T::kAw, kBw = T::kBw;  // row pitches in shared memory
  extern __shared__ float4 smem_raw[];
  float* const as = reinterpret_cast<float*>(smem_raw);  // [kStages][kBm][kAw]
  float* const bs = as + kStages * kBm * kAw;            // [kStages][kBk][kBw]
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  // This thread's rows: row0 + 4*i; columns: col0 + 32*h + (0..3).
  const int row0 = (warp % (kBm / T::kWarpM)) * T::kWarpM + lane / kWarpCols;
  const int col0 = (warp / (kBm / T::kWarpM)) * T::kWarpN + (lane % kWarpCols) * 4;
  const int m0 = blockIdx.x * kBm, n0 = blockIdx.y * kBn;
  const int kbeg = blockIdx.z * a.split_depth;
  const int kend = min(a.win.depth, kbeg + a.split_depth);
  const int steps = (kend - kbeg + kBk - 1) / kBk;

  // The copiers keep where their next step's floats come from and how
  // many are left, stepping them by kBk per step (recomputing them from
  // the step index costs a tenth of the kernel's instructions, and
  // spills, at 128 registers).
  // A: row ar of the tile, kAseg consecutive k from ak.
  const int ar = tid / (kBk / T::kAseg), ak = (tid % (kBk / T::kAseg)) * T::kAseg;
  const int am = m0 + ar;
  const float* a_src = a.win.lowered;
  int a_left = 0;  // floats of this row's window from a_src on (<= 0: none)
  // kFromSrc: where in src the window's floats from a_left on are.
  std::conditional_t<kSrc == kFromRuns, RunCursor, SrcCursor> cur{};
  if (am < a.win.m) {
    const int img = am / a.win.pq, rem = am - img * a.win.pq, y = rem / a.win.q,
              x = rem - y * a.win.q;
    a_src += (int64_t(img) * a.win.q + x) * a.win.ld + int64_t(y) * a.win.ystep + kbeg + ak;
    a_left = kend - kbeg - ak;
    if constexpr (kFromSrc) src_cursor_start(a.in, img, y, x, kbeg + ak, &cur);
  }
  // B: row bk of the step, kBseg consecutive columns from bn.
  const int bk = tid / (kBn / T::kBseg), bn = (tid % (kBn / T::kBseg)) * T::kBseg;
  int ld = a.n;  // floats per row of the weights and of dst
  if constexpr (kGrouped) ld = a.ld;
  const float* b_src = a.weights + int64_t(kbeg + bk) * ld + n0 + bn;
  const int b_cols = a.n - n0 - bn;  // columns of B from b_src on
  int64_t b_step = int64_t(kBk) * a.n;
  if constexpr (kGrouped) b_step = a.b_step;
  int b_rows = kend - kbeg - bk;  // rows of B from b_src on
  const unsigned smem = unsigned(__cvta_generic_to_shared(smem_raw));
  const unsigned a_dst = smem + (ar * kAw + ak) * 4;
  const unsigned b_dst = smem + (kStages * kBm * kAw + bk * kBw + bn) * 4;

  // Copies the next step into `stage`.
  auto load = [&](int stage) {
    const unsigned ad = a_dst + stage * (kBm * kAw * 4);
    if constexpr (kSrc == kFromPixels) {
      // The step's floats of the row lie in one pixel, or in none (padding).
      const bool in =
          a_left > 0 && unsigned(cur.yy) < unsigned(a.in.h) && unsigned(cur.xx) < unsigned(a.in.w);
#pragma unroll
      for (int e = 0; e < T::kAseg; e += kVa) {
        copy_async<kVa * 4>(ad + e * 4, in ? a.in.src + cur.off + e : a.in.src, in ? kVa * 4 : 0);
      }
      src_cursor_step(a.in, &cur);
    } else if constexpr (kSrc == kFromRuns) {
      // Each float in this kernel row or the next, inside the image or not.
#pragma unroll
      for (int e = 0; e < T::kAseg; e += kVa) {
        int at = cur.at + e, yy = cur.yy;
        int64_t row = cur.row;
        if (at >= a.in.s * a.in.c) at -= a.in.s * a.in.c, next_kernel_row(a.in, &yy, &row);
        const bool in =
            e < a_left && unsigned(yy) < unsigned(a.in.h) && at >= cur.lo && at < cur.hi;
        copy_async<kVa * 4>(ad + e * 4, in ? a.in.src + row + at : a.in.src, in ? kVa * 4 : 0);
      }
      src_cursor_step(a.in, &cur);
    } else {
#pragma unroll
      for (int e = 0; e < T::kAseg; e += kVa) {
        const int left = min(max(a_left - e, 0), kVa);
        copy_async<kVa * 4>(ad + e * 4, left > 0 ? a_src + e : a.win.lowered, left * 4);
      }
      a_src += kBk;
    }
    a_left -= kBk;
    const unsigned bd = b_dst + stage * (kBk * kBw * 4);
#pragma unroll
    for (int e = 0; e < T::kBseg; e += kVb) {
      const int left = b_rows > 0 ? min(max(b_cols - e, 0), kVb) : 0;
      copy_async<kVb * 4>(bd + e * 4, left > 0 ? b_src + e : a.weights, left * 4);
    }
    b_src += b_step;
    b_rows -= kBk;
  };

  float acc[kTm][kTn];
#pragma unroll
  for (int i = 0; i < kTm; ++i)
#pragma unroll
    for (int j = 0; j < kTn; ++j) acc[i][j] = 0.0f;

  // The lowering kernel's L (dependent_launch.cuh); from src with a split
  // K, the zeroing of dst, which only the epilogue needs.
  if constexpr (kFromSrc) {
    if (!a.atomic) wait_for_prerequisites();
  } else {
    wait_for_prerequisites();
  }
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < steps) load(s);
    copy_commit();
  }
  int stage = 0;  // step % kStages
  for (int step = 0; step < steps; ++step) {
    copy_wait<kStages - 2>();
    __syncthreads();  // this step's stage is in; the stage refilled below is free
    if (step + kStages - 1 < steps) load(stage == 0 ? kStages - 1 : stage - 1);
    copy_commit();
    if constexpr (kTf32) {
      Mma<kBm, kBn>::multiply(&acc[0][0], as + stage * kBm * kAw, bs + stage * kBk * kBw, warp,
                              lane);
      stage = stage == kStages - 1 ? 0 : stage + 1;
      continue;
    }
    const float* at = as + (stage * kBm + row0) * kAw;
    const float* bt = bs + stage * kBk * kBn + col0;
    stage = stage == kStages - 1 ? 0 : stage + 1;
#pragma unroll
    for (int kq = 0; kq < kBk; kq += 2) {
      float2 av[kTm];
#pragma unroll
      for (int i = 0; i < kTm; ++i)
        av[i] = *reinterpret_cast<const float2*>(at + i * kWarpRows * kAw + kq);
#pragma unroll
      for (int kk = 0; kk < 2; ++kk) {
        float bv[kTn];
#pragma unroll
        for (int h = 0; h < kTn / 4; ++h) {
          const float4 v = *reinterpret_cast<const float4*>(bt + (kq + kk) * kBn + h * 32);
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

  if constexpr (kFromSrc) {
    if (a.atomic) wait_for_prerequisites();
  }
  // Epilogue: runs of 4 columns (TF32: pairs) through store_run; the bias
  // once (by the first split).
  const bool add_bias = a.bias != nullptr && blockIdx.z == 0;
  if constexpr (kTf32) {
    const bool vec = a.n % 2 == 0 && ld % 2 == 0 && reinterpret_cast<uintptr_t>(a.dst) % 8 == 0;
    Mma<kBm, kBn>::store(&acc[0][0], a.dst, a.win.m, m0, n0, a.n, ld, a.bias, add_bias, vec,
                         a.atomic, warp, lane);
    return;
  }
  const bool vec_out = a.n % 4 == 0 && ld % 4 == 0 && reinterpret_cast<uintptr_t>(a.dst) % 16 == 0;
#pragma unroll
  for (int i = 0; i < kTm; ++i) {
    const int m = m0 + row0 + i * kWarpRows;
    if (m >= a.win.m) continue;
    float* out = a.dst + int64_t(m) * ld;
#pragma unroll
    for (int h = 0; h < kTn / 4; ++h) {
      const int c0 = n0 + col0 + h * 32;
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int col = c0 + j;
        v[j] = acc[i][h * 4 + j] + (add_bias && col < a.n ? __ldg(a.bias + col) : 0.0f);
      }
      store_run<4>(out, c0, a.n, v, vec_out, a.atomic);
    }
  }
}

}  // namespace
}  // namespace cuda
}  // namespace mec
