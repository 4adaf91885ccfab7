// See fft_tiling.h.
#include "cpu/fft_tiling.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/checked.h"

namespace mec {
namespace cpu {
namespace {

bool is_nice(int64_t n) {
  for (int64_t f : {2, 3, 5, 7}) {
    while (n % f == 0) n /= f;
  }
  return n == 1;
}

int64_t nice_ceil(int64_t n) {
  while (!is_nice(n)) ++n;
  return n;
}

// Candidate FFT sizes along one axis, from the kernel extent up to the cap.
std::vector<int64_t> candidates(int64_t extent, int64_t out) {
  // One tile for the whole axis, considered only for modest axes (the next
  // 7-smooth size of a huge one is far away).
  // (out near INT64_MAX is valid: huge padding; extent <= 1024.)
  const bool modest = out <= (int64_t(1) << 16) - (extent - 1);
  const int64_t cover = modest ? nice_ceil(out + (extent - 1)) : INT64_MAX;
  int64_t cap = nice_ceil(2 * extent);
  if (cap < 32) cap = 32;
  if (cap > cover) cap = cover;
  std::vector<int64_t> sizes;
  for (int64_t n = extent; n <= cap; ++n) {
    if (is_nice(n)) sizes.push_back(n);
  }
  if (sizes.empty()) sizes.push_back(nice_ceil(extent));
  return sizes;
}

}  // namespace

FftTiling choose_fft_tiling(int64_t extent_h, int64_t extent_w, int64_t out_h, int64_t out_w,
                            int64_t cg, int64_t kg) {
  FftTiling best{};
  double best_cost = HUGE_VAL;
  for (int64_t nh : candidates(extent_h, out_h)) {
    for (int64_t nw : candidates(extent_w, out_w)) {
      FftTiling t;
      t.nh = nh;
      t.nw = nw;
      t.th = nh - extent_h + 1;
      t.tw = nw - extent_w + 1;
      t.tiles_h = ceil_div(out_h, t.th);
      t.tiles_w = ceil_div(out_w, t.tw);
      t.freqs = nh * (nw / 2 + 1);
      const double points = double(nh * nw);
      const double per_tile = double(t.freqs) * double(cg) * double(kg) * 8.0 +
                              double(cg + kg) * 2.5 * points * std::log2(points > 1 ? points : 2);
      const double cost = double(t.tiles_h) * double(t.tiles_w) * per_tile;
      if (cost < best_cost) {
        best_cost = cost;
        best = t;
      }
    }
  }
  return best;
}

}  // namespace cpu
}  // namespace mec
