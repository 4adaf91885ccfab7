// The register-blocked direct convolution on the shapes that reach each of
// its paths: full 32-channel blocks and every tail width (16, 8, 4, 2, 1),
// rows wider and narrower than the 6-pixel block (overlapping last block),
// blocks over the left/right padding, the merged s*c inner loop (groups 1,
// dilation_w 1) and the tap-by-tap one, strided (OHWI/OIHW) weights in
// place and the packed panels of set_weights(), on 1 and 2 threads.
#include "conv_tester.h"

namespace mec {
namespace testing {
namespace {

TEST(CpuDirect, EveryBlockPath) {
  const ConvTester cases[] = {
      ConvTester().input(13, 20).channels(40, 95).kernel(3, 3).pad(1),  // 32+32+16+8+4+2+1
      ConvTester().batch(2).input(9, 5).channels(7, 64).kernel(3, 3).pad(2, 0, 1, 3),  // q < 6
      ConvTester().input(17, 29).channels(12, 33).kernel(5, 4).stride(2, 3).pad(2),
      ConvTester().input(15, 23).channels(10, 40).kernel(3, 3).dilation(2, 3).pad(3),
      ConvTester().input(11, 19).channels(24, 70).kernel(3, 3).groups(2).pad(1).bias(true),
      ConvTester().input(8, 31).channels(3, 48).kernel(7, 7).stride(2).pad(3),  // cv3-like
      ConvTester().input(6, 6).channels(64, 64).kernel(1, 1),
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), true, 5);
      for (int threads : {1, 2}) {
        problem.check(Algorithm::kDirect, threads);
        problem.check(Algorithm::kDirect, threads, /*packed=*/true);
      }
    }
  }
}

// set_weights() keeps exactly one copy of the weights and no workspace.
TEST(CpuDirect, PackedWeightsAreOneCopy) {
  const Problem problem = ConvTester().input(9, 9).channels(6, 45).kernel(3, 2).problem();
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(problem.desc, Algorithm::kDirect, Context::cpu(1), &plan),
            Status::kSuccess);
  ASSERT_EQ(plan->set_weights(problem.weights.data()), Status::kSuccess);
  EXPECT_EQ(plan->persistent_bytes(), problem.weights.size() * sizeof(float));
  EXPECT_EQ(plan->workspace_bytes(), 0u);
}

}  // namespace
}  // namespace testing
}  // namespace mec
