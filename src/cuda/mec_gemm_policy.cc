// The tile policy of MEC's GEMM kernel (mec_gemm.h): which tile shape a
// product runs on and into how many K splits, from a model of the launch.
// Host code only, compiled by the C++ compiler: what it needs from the
// kernel is its tile constants (mec_gemm_tile.h) and how many blocks of a
// shape a multiprocessor holds (mec_gemm_resident_blocks(), mec_gemm.cu).
#include <algorithm>
#include <cstdint>

#include "common/checked.h"
#include "cuda/mec_gemm.h"
#include "cuda/mec_gemm_tile.h"

namespace mec {
namespace cuda {
namespace {

constexpr int kSaturatingAccumulators = 8192;  // per multiprocessor (split_for)

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
  const int side =
      std::min(mec_gemm_resident_blocks(block_m, block_n, tf32),
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

}  // namespace cuda
}  // namespace mec
