// MEC Solution B's GEMM as one kernel (see mec_gemm.h). An FFMA SGEMM
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
// in another order). With TF32 allowed the same tiles multiply on tensor cores instead (Mma
// below); everything else is shared. mec_gemm_src's instances
// (kSrc) find each row's K-run in src instead of L.
#include <algorithm>
#include <type_traits>

#include "common/checked.h"
#include "cuda/dependent_launch.cuh"
#include "cuda/grid_loop.cuh"
#include "cuda/mec_gemm.h"

namespace mec {
namespace cuda {
namespace {

constexpr int kBk = 16;                        // K per pipeline step
constexpr int kStages = 3;                     // shared-memory buffers
constexpr int kApad = 4;                       // floats of padding per A row (16-byte aligned rows)
constexpr int kWarpRows = 4, kWarpCols = 8;    // lanes of a warp: 4 rows x 8 column runs
constexpr int kSaturatingAccumulators = 8192;  // per multiprocessor (split_for)

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

// Where A's copies find a row's window (the kernel's kSrc): in L; in src a
// step at a time, each step in one pixel (c % kBk == 0: SrcCursor); in src
// as kernel rows of s*c contiguous floats (dilation_w == 1, s*c >= kBk:
// RunCursor).
constexpr int kFromL = 0, kFromPixels = 1, kFromRuns = 2;

template <bool kGrouped, int kSrc>
using ArgsOf =
    std::conditional_t<kSrc != kFromL, SrcArgs, std::conditional_t<kGrouped, GroupedArgs, Args>>;

// Each thread's rows x columns for a block of bm x bn: 8 x 8 in the
// 128-row tiles (8 x 12 in 128 x 96: for k = 96, 192, ... that
// 128-column tiles would leave a quarter empty), 4 x 4 and 2 x 4 in the
// batch-1 tiles (256 threads).
constexpr int thread_rows(int bm) { return bm == 128 ? 8 : bm == 64 ? 4 : 2; }
constexpr int thread_cols(int bm, int bn) { return bm == 128 ? (bn == 96 ? 12 : 8) : 4; }
constexpr int tile_threads(int bm, int bn) {
  return (bm / thread_rows(bm)) * (bn / thread_cols(bm, bn));
}
// Blocks per multiprocessor the launch bounds ask for: two of 256 threads
// (128 registers each), three of 128 (168 registers: the 8 x 8 thread tile
// then keeps its next fragments in registers: on an H100, 4-7% faster on
// the 128 x 64 layers than four blocks at 128 registers, which spill).
constexpr int min_blocks(int bm, int bn) { return tile_threads(bm, bn) == 128 ? 3 : 2; }
// Floats per A copy where the windows are aligned for it: 4, or 2 where a
// thread copies only 2 per step (32-row tiles).
constexpr int a_copy_floats(int bm, int bn) { return bm * kBk / tile_threads(bm, bn) >= 4 ? 4 : 2; }
// TF32's B rows get kBpadTf32 floats of padding: the mma fragments read
// B[k][n] down columns (k = lane % 4, n = lane / 4), which a 128- or
// 64-float pitch would put in 4 lanes of one bank.
constexpr int kBpadTf32 = 8;

// A tile shape: block rows x columns and what follows from them, for
// FFMA (kTf32 false) or TF32 mma.
template <int kBm, int kBn, bool kTf32 = false>
struct Tile {
  static constexpr int kTm = thread_rows(kBm), kTn = thread_cols(kBm, kBn);
  static constexpr int kThreads = tile_threads(kBm, kBn);
  static constexpr int kWarpM = kWarpRows * kTm;      // rows per warp
  static constexpr int kWarpN = kWarpCols * kTn;      // columns per warp
  static constexpr int kAseg = kBm * kBk / kThreads;  // A floats copied per thread per step
  static constexpr int kBseg = kBn * kBk / kThreads;  // B floats copied per thread per step
  static constexpr int kAvec = a_copy_floats(kBm, kBn);
  static constexpr int kMinBlocks = min_blocks(kBm, kBn);
  static constexpr int kAw = kBk + kApad;                    // A row pitch in shared memory
  static constexpr int kBw = kBn + (kTf32 ? kBpadTf32 : 0);  // B row pitch
  static constexpr int kSmemBytes = 4 * kStages * (kBm * kAw + kBk * kBw);
  static_assert(kTn % 4 == 0 && kBm % kWarpM == 0 && kBn % kWarpN == 0, "tile");
  static_assert(kThreads % 32 == 0 && kBk % kAseg == 0 && kBn % kBseg == 0, "copies");
};

// cp.async of kBytes (4, 8 or 16) from global memory to the shared-memory
// address smem; only the first src_bytes are read, the rest of the kBytes
// is zero-filled.
template <int kBytes>
__device__ __forceinline__ void copy_async(unsigned smem, const float* gmem, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(smem), "l"(gmem),
               "n"(kBytes), "r"(src_bytes));
}
__device__ __forceinline__ void copy_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void copy_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// Writes kLen (4 or 2) values v to columns c0.. of one row of dst (out:
// the row), as one 16- or 8-byte store or atomic add where dst allows it
// (vec) and all kLen columns are below n, else column by column up to n.
template <int kLen>
__device__ __forceinline__ void store_run(float* out, int c0, int n, const float* v, bool vec,
                                          bool atomic) {
  if (vec && c0 + kLen - 1 < n) {
    if constexpr (kLen == 4) {
      const float4 w = make_float4(v[0], v[1], v[2], v[3]);
      if (atomic) {
#if __CUDA_ARCH__ >= 900
        atomicAdd(reinterpret_cast<float4*>(out + c0), w);  // sm_90: one 16-byte atomic
#else
        atomicAdd(out + c0, w.x), atomicAdd(out + c0 + 1, w.y);
        atomicAdd(out + c0 + 2, w.z), atomicAdd(out + c0 + 3, w.w);
#endif
      } else {
        *reinterpret_cast<float4*>(out + c0) = w;
      }
    } else {
      const float2 w = make_float2(v[0], v[1]);
      if (atomic) {
#if __CUDA_ARCH__ >= 900
        atomicAdd(reinterpret_cast<float2*>(out + c0), w);  // sm_90: one 8-byte atomic
#else
        atomicAdd(out + c0, w.x), atomicAdd(out + c0 + 1, w.y);
#endif
      } else {
        *reinterpret_cast<float2*>(out + c0) = w;
      }
    }
    return;
  }
#pragma unroll
  for (int j = 0; j < kLen; ++j) {
    if (c0 + j >= n) break;
    if (atomic) {
      atomicAdd(out + c0 + j, v[j]);
    } else {
      out[c0 + j] = v[j];
    }
  }
}

// TF32 tensor cores (Context::set_allow_tf32): warps 2 along M x
// the rest along N, each a kWm x kWn block of m16n8k8 mma tiles with fp32
// accumulators - the thread's kTm x kTn accumulators of the FFMA tile,
// numbered [i][j][e] here. A's fragments come from its [m][k] rows by
// ldmatrix (8 rows of 4 floats per matrix: the fragment layout of TF32's
// A), B's by 32-bit loads down its padded rows; each operand is rounded
// to TF32 (cvt.rna) first.
template <int kBm, int kBn>
struct Mma {
  using T = Tile<kBm, kBn, true>;
  static constexpr int kWarps = T::kThreads / 32;
  static constexpr int kWm = kBm / 2, kWn = kBn / (kWarps / 2);
  static constexpr int kMi = kWm / 16, kNi = kWn / 8;
  static_assert(kWm % 16 == 0 && kWn % 8 == 0 && kMi * kNi * 4 == T::kTm * T::kTn, "mma tiles");

  static __device__ __forceinline__ unsigned to_tf32(unsigned bits) {
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(__uint_as_float(bits)));
    return r;
  }

  // One step from a stage's A [kBm][kAw] and B [kBk][kBw] into acc.
  static __device__ __forceinline__ void multiply(float* acc, const float* as, const float* bs,
                                                  int warp, int lane) {
    const int wm0 = (warp % 2) * kWm, wn0 = (warp / 2) * kWn;
    // ldmatrix: lanes 0-15 give rows 0-15 at k, lanes 16-31 rows 0-15 at k + 4.
    const unsigned a_row =
        unsigned(__cvta_generic_to_shared(as + (wm0 + lane % 16) * T::kAw + (lane / 16) * 4));
    const float* bt = bs + (lane % 4) * T::kBw + wn0 + lane / 4;
#pragma unroll
    for (int kq = 0; kq < kBk; kq += 8) {
      unsigned af[kMi][4], bf[kNi][2];
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                     : "=r"(af[i][0]), "=r"(af[i][1]), "=r"(af[i][2]), "=r"(af[i][3])
                     : "r"(a_row + (i * 16 * T::kAw + kq) * 4));
#pragma unroll
        for (int e = 0; e < 4; ++e) af[i][e] = to_tf32(af[i][e]);
      }
#pragma unroll
      for (int j = 0; j < kNi; ++j) {
        bf[j][0] = to_tf32(__float_as_uint(bt[kq * T::kBw + j * 8]));
        bf[j][1] = to_tf32(__float_as_uint(bt[(kq + 4) * T::kBw + j * 8]));
      }
#pragma unroll
      for (int i = 0; i < kMi; ++i)
#pragma unroll
        for (int j = 0; j < kNi; ++j) {
          float* c = acc + (i * kNi + j) * 4;
          asm volatile(
              "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, "
              "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
              : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
              : "r"(af[i][0]), "r"(af[i][1]), "r"(af[i][2]), "r"(af[i][3]), "r"(bf[j][0]),
                "r"(bf[j][1]));
        }
    }
  }

  // A thread's accumulators: rows lane / 4 and + 8 of each 16, columns
  // 2 * (lane % 4) and + 1 of each 8, as pairs (store_run), the bias added
  // where add_bias.
  static __device__ __forceinline__ void store(const float* acc, float* dst, int rows, int m0,
                                               int n0, int n, int ld, const float* bias,
                                               bool add_bias, bool vec, bool atomic, int warp,
                                               int lane) {
    const int wm0 = (warp % 2) * kWm, wn0 = (warp / 2) * kWn;
#pragma unroll
    for (int i = 0; i < kMi; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int m = m0 + wm0 + i * 16 + half * 8 + lane / 4;
        if (m >= rows) continue;
        float* out = dst + int64_t(m) * ld;
#pragma unroll
        for (int j = 0; j < kNi; ++j) {
          const int c0 = n0 + wn0 + j * 8 + (lane % 4) * 2;
          float v[2];
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            v[e] = acc[(i * kNi + j) * 4 + half * 2 + e] +
                   (add_bias && c0 + e < n ? __ldg(bias + c0 + e) : 0.0f);
          }
          store_run<2>(out, c0, n, v, vec, atomic);
        }
      }
  }
};

// Where a thread's next A floats lie in src (kFromPixels): pixel (yy, xx)
// of image img, channel ci, kernel column j of the window's row; off = the
// float's offset in src (meaningful only where the pixel is inside).
struct SrcCursor {
  int64_t off;
  int yy, xx, j, ci;
};

// The cursor at depth k of row (img, y, x)'s window: k = (i*s + j)*c + ci
// for kernel row i, column j, channel ci.
__device__ __forceinline__ void src_cursor_start(const SrcWindows& a, int img, int y, int x, int k,
                                                 SrcCursor* cur) {
  const int sc = a.s * a.c, i = k / sc, rem = k - i * sc;
  cur->j = rem / a.c;
  cur->ci = rem - cur->j * a.c;
  cur->yy = y * a.stride_h - a.pad_top + i * a.dilation_h;
  cur->xx = x * a.stride_w - a.pad_left + cur->j * a.dilation_w;
  cur->off = ((int64_t(img) * a.h + cur->yy) * a.w + cur->xx) * a.c + cur->ci;
}

// Moves the cursor kBk floats on: to the next pixel of the kernel row
// after c channels, to the next kernel row after s pixels.
__device__ __forceinline__ void src_cursor_step(const SrcWindows& a, SrcCursor* cur) {
  cur->ci += kBk;
  cur->off += kBk;
  if (cur->ci < a.c) return;
  cur->ci -= a.c;
  cur->xx += a.dilation_w;
  cur->off += int64_t(a.dilation_w - 1) * a.c;
  if (++cur->j < a.s) return;
  cur->j = 0;
  cur->xx -= a.s * a.dilation_w;
  cur->yy += a.dilation_h;
  cur->off += (int64_t(a.dilation_h) * a.w - a.s * a.dilation_w) * a.c;
}

// Where a thread's next A floats lie in src (kFromRuns, dilation_w == 1):
// the window's current kernel row is the s*c floats of pixel row yy from
// offset `row` on (pixel column x*stride_w - pad_left, perhaps outside the
// image), of which those at [lo, hi) lie inside the image; the thread's
// next float is the one at `at`.
struct RunCursor {
  int64_t row;
  int yy, at, lo, hi;
};

__device__ __forceinline__ void src_cursor_start(const SrcWindows& a, int img, int y, int x, int k,
                                                 RunCursor* cur) {
  const int sc = a.s * a.c, i = k / sc, x0 = x * a.stride_w - a.pad_left;
  cur->at = k - i * sc;
  cur->yy = y * a.stride_h - a.pad_top + i * a.dilation_h;
  cur->row = ((int64_t(img) * a.h + cur->yy) * a.w + x0) * a.c;
  cur->lo = max(0, -x0) * a.c;
  cur->hi = min(a.s, a.w - x0) * a.c;
}

// The kernel row after the cursor's.
__device__ __forceinline__ void next_kernel_row(const SrcWindows& a, int* yy, int64_t* row) {
  *yy += a.dilation_h;
  *row += int64_t(a.dilation_h) * a.w * a.c;
}

// Moves the cursor kBk floats on (s*c >= kBk: into the next kernel row at
// most).
__device__ __forceinline__ void src_cursor_step(const SrcWindows& a, RunCursor* cur) {
  cur->at += kBk;
  if (cur->at < a.s * a.c) return;
  cur->at -= a.s * a.c;
  next_kernel_row(a, &cur->yy, &cur->row);
}

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

// Raises a kernel instance's dynamic shared-memory limit to what its
// tile needs where that is above the default 48 KiB (a per-device
// attribute, so before every launch); below it the attribute is left
// alone.
template <int kBm, int kBn, int kVa, int kVb, bool kGrouped, bool kTf32, int kSrc>
cudaError_t allow_shared_memory() {
  constexpr int bytes = Tile<kBm, kBn, kTf32>::kSmemBytes;
  if (bytes <= 48 * 1024) return cudaSuccess;
  return cudaFuncSetAttribute(mec_gemm_kernel<kBm, kBn, kVa, kVb, kGrouped, kTf32, kSrc>,
                              cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

// Launches one kernel instance.
template <int kBm, int kBn, int kVa, int kVb, bool kGrouped, bool kTf32, int kSrc>
cudaError_t launch_one(const ArgsOf<kGrouped, kSrc>& a, dim3 grid, cudaStream_t stream) {
  const cudaError_t e = allow_shared_memory<kBm, kBn, kVa, kVb, kGrouped, kTf32, kSrc>();
  if (e != cudaSuccess) return e;
  return launch_dependent(mec_gemm_kernel<kBm, kBn, kVa, kVb, kGrouped, kTf32, kSrc>, grid,
                          dim3(Tile<kBm, kBn>::kThreads), Tile<kBm, kBn, kTf32>::kSmemBytes, stream,
                          a);
}

// Launches one tile shape; kVa / kVb chosen from the alignment of A's rows
// and of B (kFromRuns: A 4 bytes a copy, vec_a ignored - the runs of the
// RGB layers it is for lie at any alignment).
template <int kBm, int kBn, bool kGrouped, bool kTf32, int kSrc>
cudaError_t launch(const ArgsOf<kGrouped, kSrc>& a, bool vec_a, bool vec_b, dim3 grid,
                   cudaStream_t stream) {
  constexpr int va = Tile<kBm, kBn>::kAvec;
  if constexpr (kSrc != kFromRuns) {
    if (vec_a) {
      return vec_b ? launch_one<kBm, kBn, va, 4, kGrouped, kTf32, kSrc>(a, grid, stream)
                   : launch_one<kBm, kBn, va, 1, kGrouped, kTf32, kSrc>(a, grid, stream);
    }
  }
  return vec_b ? launch_one<kBm, kBn, 1, 4, kGrouped, kTf32, kSrc>(a, grid, stream)
               : launch_one<kBm, kBn, 1, 1, kGrouped, kTf32, kSrc>(a, grid, stream);
}

// What one launch reads A from: L (with groups: a.ld > a.n) or src (src:
// kFromPixels or kFromRuns).
struct Launch {
  const GroupedArgs* lowered;  // or null
  const SrcArgs* from_src;     // or null
  bool grouped;
  int src;
};

template <int kBm, int kBn, bool kTf32>
cudaError_t launch(const Launch& l, bool vec_a, bool vec_b, dim3 grid, cudaStream_t stream) {
  if (l.from_src != nullptr) {
    return l.src == kFromRuns
               ? launch<kBm, kBn, false, kTf32, kFromRuns>(*l.from_src, vec_a, vec_b, grid, stream)
               : launch<kBm, kBn, false, kTf32, kFromPixels>(*l.from_src, vec_a, vec_b, grid,
                                                             stream);
  }
  return l.grouped ? launch<kBm, kBn, true, kTf32, kFromL>(*l.lowered, vec_a, vec_b, grid, stream)
                   : launch<kBm, kBn, false, kTf32, kFromL>(static_cast<const Args&>(*l.lowered),
                                                            vec_a, vec_b, grid, stream);
}

template <int kBm, int kBn>
cudaError_t launch(const Launch& l, bool tf32, bool vec_a, bool vec_b, dim3 grid,
                   cudaStream_t stream) {
  return tf32 ? launch<kBm, kBn, true>(l, vec_a, vec_b, grid, stream)
              : launch<kBm, kBn, false>(l, vec_a, vec_b, grid, stream);
}

// Blocks of a tile shape one multiprocessor holds at once (its registers,
// shared memory and threads), as the CUDA runtime computes it; 64 x 64
// and 32 x 64 hold three, more than their launch bounds ask for.
template <int kBm, int kBn, bool kTf32>
int resident_blocks() {
  constexpr int bytes = Tile<kBm, kBn, kTf32>::kSmemBytes, va = Tile<kBm, kBn>::kAvec;
  const auto kernel = mec_gemm_kernel<kBm, kBn, va, 4, false, kTf32, kFromL>;
  int blocks = 0;
  if (allow_shared_memory<kBm, kBn, va, 4, false, kTf32, kFromL>() != cudaSuccess ||
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, Tile<kBm, kBn>::kThreads,
                                                    bytes) != cudaSuccess ||
      blocks < 1) {
    cudaGetLastError();  // clear it: the launch bounds' count instead
    return min_blocks(kBm, kBn);
  }
  return blocks;
}

template <bool kTf32>
int resident_blocks(int block_m, int block_n) {
  switch (block_m * 1000 + block_n) {
    case 128128:
      return resident_blocks<128, 128, kTf32>();
    case 128096:
      return resident_blocks<128, 96, kTf32>();
    case 128064:
      return resident_blocks<128, 64, kTf32>();
    case 64064:
      return resident_blocks<64, 64, kTf32>();
    default:
      return resident_blocks<32, 64, kTf32>();
  }
}

// The split of K for a tile shape (force_splits > 0: that many, as far as
// the depth allows), from a model of the launch fitted to a sweep of splits
// on an H100 (within 1% of the best split at batch 32 and 3% at batch
// 1, geomeans over 17 layers): a multiprocessor runs `side` blocks side by
// side at full speed - those it holds, but no more than keep about 8192
// accumulators busy (a 128 x 128 block alone does: two side by side take
// as long as one after the other; and ResNet-50's 1x1 layers at batch 1
// run 10% slower with three 64 x 64 blocks per multiprocessor than with
// two) - so the blocks run in waves of sms * side, each as long as one
// split's K steps plus about one step of prologue and epilogue. A fixed
// rule - about two blocks per multiprocessor, rounded up - would leave a
// second, nearly empty wave on cv11, cv12 and ResNet-50's res4/res5 3x3 layers
// (20-30% slower). Each split is at least 64 deep; on a tie the fewer
// splits win (fewer atomic adds).
MecGemmConfig split_for(const Geometry& g, int block_m, int block_n, bool tf32, int sms,
                        int force_splits) {
  MecGemmConfig c;
  c.block_m = block_m;
  c.block_n = block_n;
  c.tf32 = tf32;
  const int64_t depth = g.r * g.s * g.cg, steps = ceil_div(depth, int64_t(kBk));
  const int64_t tiles = ceil_div(g.n * g.p * g.q, block_m) * ceil_div(g.kg, block_n);
  const int side = std::min(
      tf32 ? resident_blocks<true>(block_m, block_n) : resident_blocks<false>(block_m, block_n),
      int(ceil_div(int64_t(kSaturatingAccumulators), int64_t(block_m) * block_n)));
  const int64_t wave = int64_t(std::max(sms, 1)) * side;
  int64_t best_steps = steps;  // steps per split
  if (force_splits > 0) {
    best_steps = ceil_div(steps, int64_t(force_splits));
  } else {
    const int64_t most = std::min(std::max<int64_t>(1, depth / 64), ceil_div(4 * wave, tiles));
    int64_t best_cost = INT64_MAX;
    for (int64_t s = 1; s <= most; ++s) {
      const int64_t per_split = ceil_div(steps, s);
      const int64_t cost = ceil_div(tiles * ceil_div(steps, per_split), wave) * (per_split + 1);
      if (cost < best_cost) best_cost = cost, best_steps = per_split;
    }
  }
  c.split_depth = best_steps * kBk;
  c.splits = int(ceil_div(depth, c.split_depth));
  return c;
}

// The grid of c's tiles over a product of m rows and n columns.
dim3 tile_grid(int m, int n, const MecGemmConfig& c) {
  return dim3(unsigned(ceil_div(m, c.block_m)), unsigned(ceil_div(n, c.block_n)),
              unsigned(c.splits));
}

// Launches the tile shape of c.
cudaError_t launch_tile(const Launch& l, const MecGemmConfig& c, bool vec_a, bool vec_b, dim3 grid,
                        cudaStream_t stream) {
  const bool tf32 = c.tf32;
  switch (c.block_m * 1000 + c.block_n) {
    case 128128:
      return launch<128, 128>(l, tf32, vec_a, vec_b, grid, stream);
    case 128096:
      return launch<128, 96>(l, tf32, vec_a, vec_b, grid, stream);
    case 128064:
      return launch<128, 64>(l, tf32, vec_a, vec_b, grid, stream);
    case 64064:
      return launch<64, 64>(l, tf32, vec_a, vec_b, grid, stream);
    case 32064:
      return launch<32, 64>(l, tf32, vec_a, vec_b, grid, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

// Zeroes dst[0, floats) (16 bytes a store where dst is aligned) and lets
// the kernel after it, launched as a dependent, start at once: that one
// must wait (wait_for_prerequisites) before it touches dst.
__global__ void zero_for_dependent_kernel(float* dst, int64_t floats) {
  allow_dependents();
  const int64_t head =
      reinterpret_cast<uintptr_t>(dst) % 16 == 0 ? floats / 4 : 0;  // float4s from dst on
  MEC_GRID_LOOP(int64_t, e, head) { reinterpret_cast<float4*>(dst)[e] = make_float4(0, 0, 0, 0); }
  MEC_GRID_LOOP(int64_t, e, floats - head * 4) { dst[head * 4 + e] = 0.0f; }
}

cudaError_t zero_for_dependent(float* dst, int64_t floats, cudaStream_t stream) {
  zero_for_dependent_kernel<<<grid_blocks(ceil_div(floats, int64_t(4))), kGridThreads, 0, stream>>>(
      dst, floats);
  return cudaGetLastError();
}

// Which cursor follows g's windows in src (kFromL: neither fits).
int src_kind(const Geometry& g) {
  if (g.groups != 1) return kFromL;
  if (g.c % kBk == 0) return kFromPixels;
  return g.dilation_w == 1 && g.s * g.c >= kBk ? kFromRuns : kFromL;
}

}  // namespace

MecGemmConfig mec_gemm_config(const Geometry& g, bool tf32, int sms, int force_m, int force_n,
                              int force_splits) {
  // The tiles mec_gemm() launches; another forced shape is ignored.
  const bool has_tile = (force_m == 128 && (force_n == 128 || force_n == 96)) ||
                        ((force_m == 32 || force_m == 64 || force_m == 128) && force_n == 64);
  if (has_tile) return split_for(g, force_m, force_n, tf32, sms, force_splits);
  // On an H100 at batch 1 the 64 x 64 tile is the fastest or within 10% of
  // it on every paper layer, 32 x 64 where a 64-row tile is mostly empty;
  // the 128-row tiles stay where the product is large (batch 32).
  // The 128 x 64 tile (128 threads, 16 floats of A copied per
  // thread and step) also needs windows aligned for 16-byte copies and a
  // block per multiprocessor: at batch 1 cv3 (c = 3, 4-byte copies) is 30%
  // slower and res2a_1 (25 blocks) 20% slower on it than on 64 x 64 tiles.
  const int64_t rows = g.n * g.p * g.q;
  // 128 x 96 where that leaves no column of the tiles empty and
  // 128 x 128 would.
  // Groups: one group's columns (kg; each group is a launch of its own).
  if (rows >= kSmallRows && g.kg > 64 && g.kg % 96 == 0 && g.kg % 128 != 0) {
    return split_for(g, 128, 96, tf32, sms, 0);
  }
  if (rows >= kSmallRows && g.kg > 64) return split_for(g, 128, 128, tf32, sms, 0);
  if (rows >= kSmallRows) {
    const MecGemmConfig wide = split_for(g, 128, 64, tf32, sms, 0);
    if (windows_aligned(g) && ceil_div(rows, 128) * wide.splits >= sms) return wide;
  }
  return split_for(g, rows <= 32 ? 32 : 64, 64, tf32, sms, 0);
}

cudaError_t mec_gemm(const Geometry& g, const MecGemmConfig& c, const float* lowered,
                     const float* weights, const float* bias, float* dst, cudaStream_t stream,
                     bool dst_zeroed) {
  GroupedArgs a;
  a.win = windows(g, lowered);
  a.n = int(g.kg);
  a.ld = int(g.k);
  a.b_step = int64_t(kBk) * g.k;
  a.split_depth = int(c.split_depth);
  a.atomic = c.splits > 1;
  if (a.atomic && !dst_zeroed) {
    const cudaError_t e = cudaMemsetAsync(dst, 0, size_t(a.win.m) * size_t(a.ld) * 4, stream);
    if (e != cudaSuccess) return e;
  }
  // A copies of 4 (2 for 32-row tiles) floats need every window start
  // aligned to that many floats (L[g] starts n*q*ld floats after L[g-1]);
  // B copies of 4 need k and k / groups multiples of 4.
  const int va = a_copy_floats(c.block_m, c.block_n);
  const bool vec_a = a.win.ld % va == 0 && a.win.ystep % va == 0 &&
                     reinterpret_cast<uintptr_t>(lowered) % (4 * va) == 0;
  const bool vec_b =
      a.n % 4 == 0 && a.ld % 4 == 0 && reinterpret_cast<uintptr_t>(weights) % 16 == 0;
  const dim3 grid = tile_grid(a.win.m, a.n, c);
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    a.win.lowered = lowered + grp * g.n * g.q * a.win.ld;
    a.weights = weights + grp * g.kg;
    a.bias = bias != nullptr ? bias + grp * g.kg : nullptr;
    a.dst = dst + grp * g.kg;
    const cudaError_t e =
        launch_tile({&a, nullptr, g.groups > 1, kFromL}, c, vec_a, vec_b, grid, stream);
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

bool from_src_fits(const Geometry& g) { return src_kind(g) != kFromL; }

bool from_src_by_runs(const Geometry& g) { return src_kind(g) == kFromRuns; }

cudaError_t mec_gemm_src(const Geometry& g, const MecGemmConfig& c, const float* src,
                         const float* weights, const float* bias, float* dst, cudaStream_t stream) {
  const int kind = src_kind(g);
  if (kind == kFromL) return cudaErrorInvalidValue;
  SrcArgs a;
  a.win = windows(g, src);  // only m, depth, p, q, pq are used
  a.weights = weights;
  a.bias = bias;
  a.dst = dst;
  a.n = int(g.k);
  a.split_depth = int(c.split_depth);
  a.atomic = c.splits > 1;
  a.in = src_windows(g, src);
  // A split K adds into dst: zeroed by a kernel that lets this one start at
  // once, which waits for it only before its epilogue.
  if (a.atomic) {
    const cudaError_t e = zero_for_dependent(dst, int64_t(a.win.m) * g.k, stream);
    if (e != cudaSuccess) return e;
  }
  const int va = a_copy_floats(c.block_m, c.block_n);
  const bool vec_a = reinterpret_cast<uintptr_t>(src) % (4 * va) == 0;
  const bool vec_b = a.n % 4 == 0 && reinterpret_cast<uintptr_t>(weights) % 16 == 0;
  return launch_tile({nullptr, &a, false, kind}, c, vec_a, vec_b, tile_grid(a.win.m, a.n, c),
                     stream);
}

}  // namespace cuda
}  // namespace mec
