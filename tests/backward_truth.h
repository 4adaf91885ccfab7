// Shared by the backward-pass tests of both devices (backward_test.cc,
// cuda_backward_test.cc): one layer's random inputs (uniform in [-1, 1]
// from a seed) and the double-precision references of both gradients.
#pragma once

#include <random>
#include <vector>

#include "mec/conv.h"
#include "reference/reference_backward.h"

namespace mec {
namespace testing {

struct BackwardTruth {
  std::vector<float> src, weights, ddst;
  std::vector<double> dsrc, dweights, dbias;
};

inline std::vector<float> uniform(int64_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = u(rng);
  return v;
}

inline BackwardTruth backward_truth(const Conv2dDesc& d, uint32_t seed) {
  std::mt19937 rng(seed);
  BackwardTruth t;
  t.src = uniform(d.src_elems(), rng);
  t.weights = uniform(d.weight_elems(), rng);
  t.ddst = uniform(d.dst_elems(), rng);
  t.dsrc.resize(size_t(d.src_elems()));
  t.dweights.resize(size_t(d.weight_elems()));
  t.dbias.resize(size_t(d.k));
  reference::conv2d_backward_data(d, t.ddst.data(), t.weights.data(), t.dsrc.data());
  reference::conv2d_backward_weights(d, t.src.data(), t.ddst.data(), t.dweights.data(),
                                     t.dbias.data());
  return t;
}

}  // namespace testing
}  // namespace mec
