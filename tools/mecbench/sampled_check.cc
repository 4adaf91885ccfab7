// See sampled_check.h.
#include "sampled_check.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace mecbench {
namespace {

// The values 0..size-1, each at least once, repeated to `length` entries and
// shuffled (Fisher-Yates with our own index draw, so the sample is the same
// with every standard library).
std::vector<int64_t> stratified(int64_t size, int64_t length, std::mt19937_64* rng) {
  std::vector<int64_t> values(static_cast<size_t>(length), 0);
  for (int64_t i = 0; i < length; ++i) values[size_t(i)] = i % size;
  for (int64_t i = length - 1; i > 0; --i) {
    const int64_t j = int64_t((*rng)() % uint64_t(i + 1));
    std::swap(values[size_t(i)], values[size_t(j)]);
  }
  return values;
}

}  // namespace

std::vector<mec::reference::OutputPoint> sample_points(const mec::Conv2dDesc& d, int64_t target) {
  const int64_t p = d.p(), q = d.q();
  const int64_t block = std::max<int64_t>(1, (d.k + target - 1) / target);
  const int64_t blocks = (d.k + block - 1) / block;
  const int64_t count = std::max({target, d.n, p, q, blocks});
  std::mt19937_64 rng(20170306);
  const std::vector<int64_t> ns = stratified(d.n, count, &rng);
  const std::vector<int64_t> ys = stratified(p, count, &rng);
  const std::vector<int64_t> xs = stratified(q, count, &rng);
  const std::vector<int64_t> ks = stratified(blocks, count, &rng);
  std::vector<mec::reference::OutputPoint> points(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k0 = ks[size_t(i)] * block;
    const int64_t width = std::min(block, d.k - k0);
    points[size_t(i)] = {ns[size_t(i)], ys[size_t(i)], xs[size_t(i)],
                         k0 + int64_t(rng() % uint64_t(width))};
  }
  return points;
}

double sampled_rel_error(const mec::Conv2dDesc& d, const float* out,
                         const std::vector<mec::reference::OutputPoint>& points,
                         const std::vector<double>& truth) {
  const int64_t count = d.dst_elems();
  bool finite = true;
#pragma omp parallel for reduction(&& : finite) schedule(static)
  for (int64_t i = 0; i < count; ++i) finite = finite && std::isfinite(out[i]);
  if (!finite) return HUGE_VAL;
  const int64_t p = d.p(), q = d.q();
  double max_diff = 0.0, max_ref = 0.0;
  for (size_t i = 0; i < points.size(); ++i) {
    const mec::reference::OutputPoint& pt = points[i];
    const float v = out[((pt.n * p + pt.y) * q + pt.x) * d.k + pt.k];
    max_diff = std::max(max_diff, std::fabs(double(v) - truth[i]));
    max_ref = std::max(max_ref, std::fabs(truth[i]));
  }
  return max_ref > 0.0 ? max_diff / max_ref : max_diff;
}

}  // namespace mecbench
