// The generic CUDA sweeps: every CUDA algorithm against the CPU
// double-precision reference through check_cuda() (cuda_test_util.h) on
// awkward shapes in every filter layout, misaligned pointers, a seeded
// random sweep, Winograd's shapes, the paper's layers at batch 1 and 32
// (strict fp32 and TF32), FFT's large kernels and kWinograd's choice. MEC's
// own CUDA paths are in cuda_mec_paths_test.cc, the API around plans in
// cuda_api_test.cc. Every test skips when no GPU is present.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

#include "cuda_test_util.h"
#include "random_desc.h"

namespace mec {
namespace testing {
namespace {

TEST_F(CudaAlgorithms, AwkwardShapes) {
  const ConvTester cases[] = {
      ConvTester().input(27, 37).channels(23, 19).kernel(3, 3).pad(1).stride(2),
      ConvTester().batch(3).input(31, 17).channels(5, 7).kernel(5, 2).pad(2, 0, 1, 3),
      ConvTester().batch(2).input(13, 29).channels(6, 9).kernel(3, 3).dilation(2, 3).pad(2),
      ConvTester().input(15, 15).channels(8, 12).kernel(3, 3).groups(4).pad(1),
      ConvTester().batch(2).input(16, 16).channels(32, 32).kernel(3, 3).groups(32).pad(1),
      ConvTester().batch(3).input(10, 12).channels(16, 24).kernel(3, 3).groups(2).pad(1),
      ConvTester().input(1, 1).channels(3, 4).kernel(1, 1),
      ConvTester().batch(5).input(7, 9).channels(1, 1).kernel(7, 9),
      ConvTester().input(33, 63).channels(17, 65).kernel(1, 1).stride(2, 3),
      ConvTester().input(9, 9).channels(4, 6).kernel(3, 3).pad(4).stride(3),
      ConvTester().input(20, 11).channels(3, 5).kernel(4, 3).stride(3, 1).dilation(3, 1),
      ConvTester().batch(4).input(12, 12).channels(8, 500).kernel(3, 3),              // |O| > |L|
      ConvTester().batch(2).input(23, 23).channels(3, 10).kernel(7, 7).stride(4),     // L: 24 rows
      ConvTester().input(19, 21).channels(6, 8).kernel(3, 5).stride(4, 2).groups(2),  // L: 20 rows
      // im2col's row walk (kernels.cu: >= 2048 rows of >= 64 units): grouped
      // and dilated, 16-byte with padding and stride, RGB
      ConvTester().batch(2).input(40, 40).channels(6, 8).kernel(5, 5).groups(2).dilation(2, 2).pad(
          3),
      ConvTester().batch(3).input(36, 40).channels(32, 8).kernel(3, 3).pad(1, 2, 0, 1).stride(1, 2),
      ConvTester().batch(2).input(40, 40).channels(3, 16).kernel(5, 5).pad(2),
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), true, 99);
      for (Algorithm a : cuda_algorithms()) {
        check_cuda(problem, a, stream_);
        check_cuda(problem, a, stream_, {.packed = true});
      }
      check_winograd(problem, stream_);
      check_winograd(problem, stream_, {.packed = true});
    }
  }
}

// The scalar kernel paths: channels divisible by 4 but src/dst not 16-byte
// aligned.
TEST_F(CudaAlgorithms, MisalignedPointers) {
  Problem problem(ConvTester().batch(2).input(11, 13).channels(8, 12).kernel(3, 3).pad(1).desc(),
                  true, 5);
  for (Algorithm a : cuda_algorithms()) check_cuda(problem, a, stream_, {.misalign_floats = 1});
  check_winograd(problem, stream_, {.misalign_floats = 1});
}

TEST_F(CudaAlgorithms, RandomSweep) {
  std::mt19937 rng(20260602);
  constexpr int kConfigs = 150;
  double worst = 0.0;
  for (int i = 0; i < kConfigs; ++i) {
    Problem problem(random_desc(rng, cuda_random_desc_limits()), i % 2 == 0, 2000 + i);
    for (Algorithm a : cuda_algorithms()) {
      worst = std::max(worst, check_cuda(problem, a, stream_, {.packed = i % 3 == 0}));
    }
  }
  RecordProperty("worst_rel_error", std::to_string(worst));
  std::printf("RandomSweep worst error %.3g\n", worst);
}

// Winograd's shapes: 3x3, stride 1, dilation 1, with random sizes, padding
// (up to 3, beyond the kernel), groups, layouts, bias and packed weights;
// FFT on the same problems.
TEST_F(CudaAlgorithms, WinogradSweep) {
  std::mt19937 rng(20261123);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  constexpr int kConfigs = 80;
  double worst[3] = {0, 0, 0};
  for (int i = 0; i < kConfigs; ++i) {
    Conv2dDesc d;
    d.n = pick(1, 4);
    d.h = pick(1, 30);
    d.w = pick(1, 30);
    d.groups = pick(1, 3) == 1 ? pick(2, 4) : 1;
    d.c = d.groups * pick(1, 12);
    d.k = d.groups * pick(1, 12);
    d.r = d.s = 3;
    d.pad_top = pick(0, 3);
    d.pad_bottom = pick(0, 3);
    d.pad_left = pick(0, 3);
    d.pad_right = pick(0, 3);
    d.filter_layout = static_cast<FilterLayout>(pick(0, 2));
    if (validate(d) != Status::kSuccess) continue;
    Problem problem(d, i % 2 == 0, 5000 + i);
    const CheckOptions opt{.packed = i % 3 == 0};
    int j = 0;
    for (Algorithm a : winograd_algorithms()) {
      worst[j] = std::max(worst[j], check_cuda(problem, a, stream_, opt));
      ++j;
    }
    check_cuda(problem, Algorithm::kFft, stream_, opt);
  }
  std::printf("WinogradSweep worst error: winograd %.3g, f2 %.3g, f4 %.3g\n", worst[0], worst[1],
              worst[2]);
}

// Strict fp32 and TF32 on the same problem (the reference at batch 32 is
// the expensive part).
void check_paper_layers(int64_t batch, cudaStream_t stream) {
  for (NamedShape& shape : paper_layers()) {
    shape.desc.n = batch;
    SCOPED_TRACE(shape.name);
    Problem problem(shape.desc, true, 7);
    for (bool tf32 : {false, true}) {
      std::printf("%-5s n%-3lld %-4s", shape.name.c_str(), (long long)batch,
                  tf32 ? "tf32" : "fp32");
      std::vector<Algorithm> algorithms = cuda_algorithms();
      if (winograd_applies(shape.desc)) {
        for (Algorithm a : winograd_algorithms()) algorithms.push_back(a);
      }
      for (Algorithm a : algorithms) {
        if (tf32 && a == Algorithm::kDirect) continue;
        const double err = check_cuda(problem, a, stream, {.tf32 = tf32});
        std::printf("  %s %.2e", algorithm_name(a), err);
      }
      if (!tf32) {
        // Solution B through our fused GEMM kernel on every layer (T above
        // every q), not only where the default T picks it: the 64-column
        // tiles and the scalar (c = 3) loads run here.
        const double err = check_cuda(problem, Algorithm::kMecB, stream, {.mec_threshold = 100000});
        std::printf("  mec_b(fused) %.2e", err);
      }
      std::printf("\n");
    }
  }
}

TEST_F(CudaAlgorithms, PaperLayersBatch1) { check_paper_layers(1, stream_); }
TEST_F(CudaAlgorithms, PaperLayersBatch32) { check_paper_layers(32, stream_); }

// FFT with a kernel so large that the FFT plane (270 x 270) has more
// positions than a grid's y dimension (65535): the gather/scatter launches
// are split. Strided and dilated variants too.
TEST_F(CudaAlgorithms, FftLargeKernel) {
  const ConvTester cases[] = {
      ConvTester().input(260, 260).channels(1, 2).kernel(130, 130),
      ConvTester().batch(2).input(61, 67).channels(3, 5).kernel(20, 17).stride(3, 2).pad(2),
      ConvTester().input(40, 40).channels(2, 3).kernel(5, 5).dilation(4, 3).stride(2, 3),
  };
  for (const ConvTester& tester : cases) {
    Problem problem(tester.desc(), true, 77);
    check_cuda(problem, Algorithm::kFft, stream_);
    check_cuda(problem, Algorithm::kFft, stream_, {.packed = true});
  }
}

// kWinograd: the CPU's rule in strict fp32 (F(4x4) for cv9 at batch 1,
// F(2x2) for cv12's 5x5 output), always F(2x2) with TF32 allowed.
TEST_F(CudaAlgorithms, WinogradChoice) {
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  Conv2dDesc cv9, cv12;
  std::string e;
  ASSERT_TRUE(parse_shape("n1h56w56c64k64r3s3", &cv9, &e)) << e;
  ASSERT_TRUE(parse_shape("n1h7w7c512k512r3s3", &cv12, &e)) << e;
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(cv9, Algorithm::kWinograd, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kWinogradF4);
  ASSERT_EQ(Conv2dPlan::create(cv12, Algorithm::kWinograd, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kWinogradF2);
  ctx.set_allow_tf32(true);
  ASSERT_EQ(Conv2dPlan::create(cv9, Algorithm::kWinograd, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kWinogradF2);
  ASSERT_EQ(Conv2dPlan::create(cv9, Algorithm::kWinogradF4, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kWinogradF4);
}

}  // namespace
}  // namespace testing
}  // namespace mec
