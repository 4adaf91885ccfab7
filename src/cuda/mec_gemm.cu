// MEC's GEMM kernel (mec_gemm.h) launched: the one file that instantiates
// the kernel template (mec_gemm_kernel.cuh) - per tile shape, FFMA or
// TF32, copy widths, groups and where A comes from - and picks the
// instance for a launch from the plan's MecGemmConfig and the alignment of
// its pointers; mec_gemm() and mec_gemm_src() are its entry points. The
// tile shape and K split themselves are chosen by mec_gemm_policy.cc.
#include <cstdint>

#include "common/checked.h"
#include "cuda/dependent_launch.cuh"
#include "cuda/grid_loop.cuh"
#include "cuda/mec_gemm.h"
#include "cuda/mec_gemm_cursors.cuh"
#include "cuda/mec_gemm_kernel.cuh"
#include "cuda/mec_gemm_tile.h"

namespace mec {
namespace cuda {
namespace {

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

// Which cursor follows g's windows in src (kFromL: neither fits; the
// rule is the policy's, mec_gemm_policy.cc).
int src_kind(const Geometry& g) {
  if (!from_src_fits(g)) return kFromL;
  return from_src_by_runs(g) ? kFromRuns : kFromPixels;
}

}  // namespace

int mec_gemm_resident_blocks(int block_m, int block_n, bool tf32) {
  return tf32 ? resident_blocks<true>(block_m, block_n) : resident_blocks<false>(block_m, block_n);
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
