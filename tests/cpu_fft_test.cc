// FFT convolution against the double-precision reference: awkward shapes in
// every filter layout (stride, dilation, groups, padding, large kernels), a
// seeded sweep of random configurations, the paper's layers cv5-cv12 at
// batch 1 (cv1-cv4, strided 7x7/11x11, are in cpu_fft_slow_test), and
// packed weights leaving the workspace.
#include <algorithm>
#include <random>

#include "algos_test_util.h"

namespace mec {
namespace testing {
namespace {

TEST(CpuFft, AwkwardShapes) {
  const ConvTester cases[] = {
      ConvTester().input(27, 37).channels(23, 19).kernel(3, 3).pad(1).stride(2),
      ConvTester().batch(3).input(31, 17).channels(5, 7).kernel(5, 2).pad(2, 0, 1, 3),
      ConvTester().batch(2).input(13, 29).channels(6, 9).kernel(3, 3).dilation(2, 3).pad(2),
      ConvTester().input(15, 15).channels(8, 12).kernel(3, 3).groups(4).pad(1),
      ConvTester().batch(2).input(16, 16).channels(32, 32).kernel(3, 3).groups(32).pad(1),
      ConvTester().input(1, 1).channels(3, 4).kernel(1, 1),
      ConvTester().batch(5).input(7, 9).channels(1, 1).kernel(7, 9),
      ConvTester().input(33, 63).channels(17, 65).kernel(1, 1).stride(2, 3),
      ConvTester().input(9, 9).channels(4, 6).kernel(3, 3).pad(4).stride(3),
      ConvTester().input(20, 11).channels(3, 5).kernel(4, 3).stride(3, 1).dilation(3, 1),
      ConvTester().input(80, 75).channels(3, 4).kernel(11, 11).stride(4).pad(2),  // many tiles
      ConvTester().input(40, 40).channels(2, 3).kernel(13, 5).dilation(3, 1),     // extent 37
      ConvTester().batch(6).input(70, 50).channels(5, 6).kernel(3, 3).pad(1),     // several blocks
      // enough tiles for per-thread blocks at 2 threads
      ConvTester().batch(6).input(64, 64).channels(32, 32).kernel(3, 3).pad(1),
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), true, 99);
      problem.check(Algorithm::kFft, 2);
      problem.check(Algorithm::kFft, 1, /*packed=*/true);
    }
  }
}

TEST(CpuFft, RandomSweep) {
  std::mt19937 rng(777);
  constexpr int kConfigs = 150;
  double worst = 0.0;
  for (int i = 0; i < kConfigs; ++i) {
    Problem problem(random_config(rng, false), i % 2 == 0, 3000 + i);
    worst = std::max(worst, problem.check(Algorithm::kFft, 1 + i % 2, i % 3 == 0));
  }
  RecordProperty("worst_rel_error", sci(worst));
}

TEST(CpuFft, PaperLayersBatch1) {
  for (const NamedShape& shape : paper_layers(5, 12, 1)) {
    SCOPED_TRACE(shape.name);
    Problem problem(shape.desc, true, 7);
    RecordProperty(shape.name, sci(problem.check(Algorithm::kFft, 0, true)));
  }
}

TEST(CpuFft, PackedWeightsLeaveWorkspace) {
  const Problem problem = ConvTester().input(30, 30).channels(6, 10).kernel(5, 5).problem();
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(problem.desc, Algorithm::kFft, Context::cpu(1), &plan),
            Status::kSuccess);
  const size_t before = plan->workspace_bytes();
  ASSERT_EQ(plan->set_weights(problem.weights.data()), Status::kSuccess);
  EXPECT_GT(plan->persistent_bytes(), 0u);
  EXPECT_EQ(plan->workspace_bytes() + plan->persistent_bytes(), before);
}

}  // namespace
}  // namespace testing
}  // namespace mec
