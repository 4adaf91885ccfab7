// The tile policy of MEC's GEMM kernel (mec_gemm.h): which tile shape a
// product runs on and into how many K splits, from a model of the launch.
// Host code only, compiled by the C++ compiler: what it needs from the
// kernel is its tile constants (mec_gemm_tile.h); how many blocks of a
// shape a multiprocessor holds comes with the device (CudaDeviceTraits).
// Also where the kernels' copies can follow the windows in src, and the
// shallow kernel's tile rows: what the path policy (mec_policy.cc) asks of
// the kernels' shapes.
#include <algorithm>
#include <cstdint>

#include "common/checked.h"
#include "cuda/mec_gemm_tile.h"
#include "cuda/mec_policy.h"

namespace mec {
namespace cuda {
namespace {

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
MecGemmConfig split_for(const Geometry& g, int block_m, int block_n, bool tf32,
                        const CudaDeviceTraits& device, const CudaMecTuning& tuning,
                        int force_splits) {
  MecGemmConfig c;
  c.block_m = block_m;
  c.block_n = block_n;
  c.tf32 = tf32;
  const int64_t depth = g.r * g.s * g.cg, steps = ceil_div(depth, int64_t(kBk));
  const int64_t tiles = ceil_div(g.n * g.p * g.q, block_m) * ceil_div(g.kg, block_n);
  const int resident = device.resident_blocks[tf32 ? 1 : 0][gemm_tile_index(block_m, block_n)];
  const int side =
      std::min(resident, int(ceil_div(tuning.saturating_accumulators, int64_t(block_m) * block_n)));
  const int64_t wave = int64_t(std::max(device.multiprocessors, 1)) * side;
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

}  // namespace

int gemm_tile_index(int block_m, int block_n) {
  if (block_m == 128) return block_n == 128 ? 0 : block_n == 96 ? 1 : block_n == 64 ? 2 : -1;
  if (block_n != 64) return -1;
  return block_m == 64 ? 3 : block_m == 32 ? 4 : -1;
}

MecGemmConfig mec_gemm_config(const Geometry& g, bool tf32, const CudaDeviceTraits& device,
                              const CudaMecTuning& tuning, int force_m, int force_n,
                              int force_splits) {
  // The tiles mec_gemm() launches; another forced shape is ignored.
  if (gemm_tile_index(force_m, force_n) >= 0) {
    return split_for(g, force_m, force_n, tf32, device, tuning, force_splits);
  }
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
  if (rows >= tuning.small_rows && g.kg > 64 && g.kg % 96 == 0 && g.kg % 128 != 0) {
    return split_for(g, 128, 96, tf32, device, tuning, 0);
  }
  if (rows >= tuning.small_rows && g.kg > 64)
    return split_for(g, 128, 128, tf32, device, tuning, 0);
  if (rows >= tuning.small_rows) {
    const MecGemmConfig wide = split_for(g, 128, 64, tf32, device, tuning, 0);
    if (windows_aligned(g) &&
        ceil_div(rows, int64_t(128)) * wide.splits >= device.multiprocessors) {
      return wide;
    }
  }
  return split_for(g, rows <= 32 ? 32 : 64, 64, tf32, device, tuning, 0);
}

// The GEMM kernel's copies follow a window in src as pixels of c channels
// when c is a multiple of its K step (a step then stays in one pixel, or
// in the padding; any dilation), or as kernel rows of s*c contiguous floats
// when dilation_w == 1 and s*c >= one K step (a step crosses at most one
// kernel row: the RGB layers). One group only.
bool from_src_fits(const Geometry& g) {
  return g.groups == 1 && (g.c % kBk == 0 || (g.dilation_w == 1 && g.s * g.c >= kBk));
}

bool from_src_by_runs(const Geometry& g) { return from_src_fits(g) && g.c % kBk != 0; }

// On an H100, 64-row tiles take 0.88x the time of 128-row ones on cv7 and
// VGG-16's conv1_1 at batch 1 (3136 rows 0.82x), 1.04-1.10x where 128 rows
// fill one round of blocks, 1.05-1.24x at batch 32; at k = 16 1.09x.
int shallow_tile_rows(const Geometry& g, int multiprocessors) {
  const int64_t tiles = ceil_div(g.n * g.p * g.q, int64_t(128));
  const int64_t blocks = int64_t(kShallowBlocksPerSm) * multiprocessors;
  const bool few = 4 * tiles <= multiprocessors,
             second_round = tiles > blocks && tiles <= 2 * blocks;
  return g.k >= 32 && (few || second_round) ? 64 : 128;
}

}  // namespace cuda
}  // namespace mec
