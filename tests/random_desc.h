// One seeded random-descriptor generator for the test sweeps (CPU and CUDA
// algorithms, FFT and Winograd through algos_test_util.h), so that all of
// them draw their shapes the same way; the limits that differ between the
// sweeps are arguments. The fuzzer (fuzz/conv_fuzzer.cc) does not use it:
// it builds its descriptors from the fuzz input's bytes, not from a seed.
// The draws happen in a fixed order: a given seed and limits give the same
// sequence of shapes on every run.
#pragma once

#include <random>

#include "mec/mec.h"

namespace mec {
namespace testing {

struct RandomDescLimits {
  int max_n = 3;            // n in [1, max_n]
  int max_hw = 23;          // h and w in [1, max_hw]
  int max_c_per_group = 9;  // c / groups in [1, max_c_per_group]
  int max_k_per_group = 9;  // k / groups in [1, max_k_per_group]
  int max_rs = 5;           // r and s in [1, max_rs]
  int max_pad = 2;          // each pad in [0, max_pad]
  // Half of the shapes get c / groups a multiple of 4 (up to 16), the
  // vector loads of the CUDA kernels; the rest [1, max_c_per_group].
  bool vector_channels = false;
  // Winograd's shapes: 3x3, stride 1, dilation 1 (no draws for them).
  bool winograd = false;
};

// A seeded random configuration (padding, stride, dilation, groups,
// rectangular kernels, every filter layout); redrawn until it is valid.
inline Conv2dDesc random_desc(std::mt19937& rng, const RandomDescLimits& limits = {}) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    Conv2dDesc d;
    d.n = pick(1, limits.max_n);
    d.h = pick(1, limits.max_hw);
    d.w = pick(1, limits.max_hw);
    d.groups = pick(1, 3) == 1 ? pick(2, 4) : 1;
    d.c = d.groups *
          (limits.vector_channels && pick(0, 1) ? 4 * pick(1, 4) : pick(1, limits.max_c_per_group));
    d.k = d.groups * pick(1, limits.max_k_per_group);
    d.r = limits.winograd ? 3 : pick(1, limits.max_rs);
    d.s = limits.winograd ? 3 : pick(1, limits.max_rs);
    d.pad_top = pick(0, limits.max_pad);
    d.pad_bottom = pick(0, limits.max_pad);
    d.pad_left = pick(0, limits.max_pad);
    d.pad_right = pick(0, limits.max_pad);
    if (!limits.winograd) {
      d.stride_h = pick(1, 3);
      d.stride_w = pick(1, 3);
      d.dilation_h = pick(1, 4) == 1 ? pick(2, 3) : 1;
      d.dilation_w = pick(1, 4) == 1 ? pick(2, 3) : 1;
    }
    d.filter_layout = static_cast<FilterLayout>(pick(0, 2));
    if (validate(d) == Status::kSuccess) return d;
  }
}

// The CUDA sweep's limits: batches up to 4, up to 12 output channels per
// group, channel counts for the vector loads.
inline RandomDescLimits cuda_random_desc_limits() {
  RandomDescLimits limits;
  limits.max_n = 4;
  limits.max_k_per_group = 12;
  limits.vector_channels = true;
  return limits;
}

// The FFT and Winograd sweeps' limits (algos_test_util.h): sizes up to 29,
// up to 12 channels per group, kernels up to 7x7, pads up to 3; `winograd`
// restricts them to Winograd's shapes.
inline RandomDescLimits algos_random_desc_limits(bool winograd) {
  RandomDescLimits limits;
  limits.max_hw = 29;
  limits.max_c_per_group = 12;
  limits.max_k_per_group = 12;
  limits.max_rs = 7;
  limits.max_pad = 3;
  limits.winograd = winograd;
  return limits;
}

}  // namespace testing
}  // namespace mec
