// Direct's depthwise path (src/cpu/depthwise.cc: c == k == groups) against
// the double reference: random descriptors over strides 1-3, dilations 1-2,
// asymmetric paddings, kernels 1-7 and 1..70 channels (every vector tail),
// the three filter layouts, raw and packed weights, bias or none, 1-3
// threads; the reuse blocks' rows (3x3 and 5x5, strides 1 and 2) of every
// remainder; kernels too large for the gathered weights; and the plan's
// variant, workspace and packed copy. A channel multiplier > 1 keeps the
// general direct loop.
#include <random>

#include "conv_tester.h"

namespace mec {
namespace testing {
namespace {

void check_all_ways(const ConvTester& tester, bool bias, uint32_t seed, int threads) {
  for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
    const Problem problem(ConvTester(tester).layout(layout).desc(), bias, seed);
    problem.check(Algorithm::kDirect, threads);
    problem.check(Algorithm::kDirect, threads, /*packed=*/true);
  }
}

TEST(CpuDepthwise, RandomDescriptors) {
  std::mt19937 rng(25);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int t = 0; t < 60; ++t) {
    const int c = t < 32 ? 1 + t * 70 / 32 : pick(1, 70);
    const int r = pick(1, 7), s = pick(1, 7), dh = pick(1, 2), dw = pick(1, 2);
    const int pt = pick(0, 3), pb = pick(0, 3), pl = pick(0, 3), pr = pick(0, 3);
    // The input is at least one dilated window (less the padding) wide.
    const int h = std::max(1, (r - 1) * dh + 1 - pt - pb) + pick(0, 12);
    const int w = std::max(1, (s - 1) * dw + 1 - pl - pr) + pick(0, 20);
    const ConvTester tester = ConvTester()
                                  .batch(pick(1, 2))
                                  .input(h, w)
                                  .channels(c, c)
                                  .groups(c)
                                  .kernel(r, s)
                                  .stride(pick(1, 3), pick(1, 3))
                                  .dilation(dh, dw)
                                  .pad(pt, pb, pl, pr);
    check_all_ways(tester, pick(0, 1) == 1, uint32_t(t), pick(1, 3));
  }
}

// The reuse blocks (3x3 and 5x5, stride 1 and 2, dilation_w 1) on rows of
// every remainder of the 8-pixel block, with and without padding, over one
// and two vectors of channels and a tail.
TEST(CpuDepthwise, ReuseBlocks) {
  for (int k : {3, 5}) {
    for (int stride : {1, 2}) {
      for (int w : {1, 5, 9, 14, 17, 23}) {
        for (int c : {16, 48, 67}) {
          const ConvTester tester = ConvTester()
                                        .input(k + 2, w + k / 2)
                                        .channels(c, c)
                                        .groups(c)
                                        .kernel(k, k)
                                        .stride(stride)
                                        .pad(k / 2, k / 2 - 1 + stride / 2, k / 2, 1);
          check_all_ways(tester, c == 48, uint32_t(w * c), 2);
        }
      }
    }
  }
}

// More than 128 taps: OHWI/OIHW weights in run() take the scalar loop.
TEST(CpuDepthwise, LargeKernel) {
  check_all_ways(ConvTester().input(14, 15).channels(40, 40).groups(40).kernel(12, 13).pad(2), true,
                 7, 2);
}

TEST(CpuDepthwise, PlanIsDepthwiseWithOneCopy) {
  const Problem problem = ConvTester()
                              .input(9, 9)
                              .channels(35, 35)
                              .groups(35)
                              .kernel(3, 3)
                              .layout(FilterLayout::kOIHW)
                              .problem();
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(problem.desc, Algorithm::kDirect, Context::cpu(1), &plan),
            Status::kSuccess);
  EXPECT_EQ(std::string(plan->variant()), "direct/depthwise");
  EXPECT_EQ(plan->workspace_bytes(), 0u);
  ASSERT_EQ(plan->set_weights(problem.weights.data()), Status::kSuccess);
  EXPECT_EQ(plan->persistent_bytes(), problem.weights.size() * sizeof(float));
}

// k = 2c, groups = c: the general direct loop, still correct.
TEST(CpuDepthwise, ChannelMultiplierKeepsDirect) {
  const ConvTester tester =
      ConvTester().input(10, 12).channels(20, 40).groups(20).kernel(3, 3).pad(1);
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(tester.desc(), Algorithm::kDirect, Context::cpu(1), &plan),
            Status::kSuccess);
  EXPECT_EQ(std::string(plan->variant()), "direct");
  check_all_ways(tester, true, 3, 2);
}

}  // namespace
}  // namespace testing
}  // namespace mec
