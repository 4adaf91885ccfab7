// Winograd F(2x2,3x3) and F(4x4,3x3) against the double-precision reference:
// awkward shapes in every filter layout, a seeded sweep of random 3x3
// stride-1 configurations, the paper's 3x3 layers (cv6-cv12) at batch 1,
// the variant choice of kWinograd, and the shapes it must refuse.
#include <algorithm>
#include <random>

#include "algos_test_util.h"

namespace mec {
namespace testing {
namespace {

const Algorithm kVariants[] = {Algorithm::kWinogradF2, Algorithm::kWinogradF4,
                               Algorithm::kWinograd};

TEST(CpuWinograd, AwkwardShapes) {
  const ConvTester cases[] = {
      ConvTester().input(27, 37).channels(23, 19).kernel(3, 3).pad(1),
      ConvTester().batch(3).input(3, 3).channels(5, 7).kernel(3, 3),
      ConvTester().batch(2).input(13, 29).channels(6, 9).kernel(3, 3).pad(2, 0, 1, 3),
      ConvTester().input(15, 15).channels(8, 12).kernel(3, 3).groups(4).pad(1),
      ConvTester().batch(2).input(16, 16).channels(32, 32).kernel(3, 3).groups(32).pad(1),
      ConvTester().input(1, 1).channels(3, 4).kernel(3, 3).pad(1),
      ConvTester().input(9, 70).channels(65, 130).kernel(3, 3).pad(1),  // > one lane block
      ConvTester().batch(7).input(17, 17).channels(3, 5).kernel(3, 3),  // several tile blocks
      // enough tiles for per-thread blocks at 2 threads
      ConvTester().batch(6).input(70, 50).channels(5, 6).kernel(3, 3).pad(1),
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), true, 99);
      for (Algorithm a : kVariants) {
        problem.check(a, 2);
        problem.check(a, 1, /*packed=*/true);
      }
    }
  }
}

TEST(CpuWinograd, RandomSweep) {
  std::mt19937 rng(4242);
  constexpr int kConfigs = 120;
  double worst[2] = {0.0, 0.0};
  for (int i = 0; i < kConfigs; ++i) {
    Problem problem(random_config(rng, true), i % 2 == 0, 2000 + i);
    for (int v = 0; v < 2; ++v) {
      worst[v] = std::max(worst[v], problem.check(kVariants[v], 1 + i % 2, i % 3 == 0));
    }
  }
  RecordProperty("worst_rel_error_f2", sci(worst[0]));
  RecordProperty("worst_rel_error_f4", sci(worst[1]));
}

TEST(CpuWinograd, PaperLayersBatch1) {
  for (const NamedShape& shape : paper_layers(6, 12, 1)) {
    SCOPED_TRACE(shape.name);
    Problem problem(shape.desc, true, 7);
    for (int v = 0; v < 2; ++v) {
      const double err = problem.check(kVariants[v], 0, v == 1);
      RecordProperty(shape.name + (v ? "_f4" : "_f2"), sci(err));
    }
  }
}

TEST(CpuWinograd, ChoosesVariant) {
  Conv2dDesc d;
  d.h = d.w = 58;  // 56 x 56 outputs: F(4x4) needs fewer products
  d.c = d.k = 8;
  d.r = d.s = 3;
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kWinograd, Context::cpu(1), &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kWinogradF4);
  d.h = d.w = 9;  // 7 x 7 outputs (cv12): 4 F(4x4) tiles, each GEMM bound by the kernel
  d.c = d.k = 512;
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kWinograd, Context::cpu(1), &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kWinogradF2);
  d.h = d.w = 4;  // 2 x 2 outputs: one F(2x2) tile
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kWinograd, Context::cpu(1), &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kWinogradF2);
}

TEST(CpuWinograd, PackedWeightsAreTransformed) {
  // After set_weights() the kernels are plan memory and leave the workspace.
  const Problem problem = ConvTester().input(10, 10).channels(6, 10).kernel(3, 3).problem();
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(problem.desc, Algorithm::kWinogradF4, Context::cpu(1), &plan),
            Status::kSuccess);
  const size_t before = plan->workspace_bytes();
  ASSERT_EQ(plan->set_weights(problem.weights.data()), Status::kSuccess);
  EXPECT_EQ(plan->persistent_bytes(), size_t(36 * 6 * 10 * sizeof(float)));
  EXPECT_EQ(plan->workspace_bytes() + plan->persistent_bytes(), before);
}

TEST(CpuWinograd, RefusesOtherShapes) {
  auto base = [] { return ConvTester().input(12, 12).channels(4, 4).kernel(3, 3); };
  for (Algorithm a : kVariants) {
    expect_unsupported(ConvTester().input(12, 12).channels(4, 4).kernel(5, 5).desc(), a);
    expect_unsupported(ConvTester().input(12, 12).channels(4, 4).kernel(1, 1).desc(), a);
    expect_unsupported(ConvTester().input(12, 12).channels(4, 4).kernel(3, 1).desc(), a);
    expect_unsupported(base().stride(2).desc(), a);
    expect_unsupported(base().stride(1, 2).desc(), a);
    expect_unsupported(base().dilation(2, 2).desc(), a);
    expect_unsupported(base().dilation(1, 2).desc(), a);
  }
}

}  // namespace
}  // namespace testing
}  // namespace mec
