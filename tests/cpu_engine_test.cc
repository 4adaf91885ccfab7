// The fast GEMM engine under MEC, per ISA: every micro-kernel set this CPU
// runs (forced through Context::set_cpu_isa) against the double-precision
// reference on shapes that hit its edges - M and N remainders, k not a
// multiple of the vector width, padding, stride, dilation (dilation_h > 1
// splits the depth), groups incl. depthwise, all filter layouts, raw and
// packed weights, 1 and 2 threads - plus the CBLAS engine on the same
// shapes, and the workspace (exactly |L| for HWIO) and persistent sizes.
#include <algorithm>
#include <cstdlib>
#include <limits>
#include <ostream>
#include <random>
#include <string>

#include "conv_tester.h"
#include "cpu/gemm_fast.h"

namespace mec {
namespace testing {
namespace {

// The micro-kernel sets by the name the plans' variants give them.
struct Isa {
  CpuIsa cap;
  const char* name;
};

// For GoogleTest's messages and test listing.
void PrintTo(const Isa& isa, std::ostream* os) { *os << isa.name; }

bool cpu_has(CpuIsa isa) {
  if (isa == CpuIsa::kAvx512) return __builtin_cpu_supports("avx512f");
  if (isa == CpuIsa::kAvx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return true;
}

Context engine_context(int threads, GemmEngine engine, CpuIsa isa) {
  Context ctx = Context::cpu(threads);
  ctx.set_gemm_engine(engine);
  ctx.set_cpu_isa(isa);
  return ctx;
}

std::vector<ConvTester> edge_shapes() {
  return {
      // M edge (q*p not a multiple of any mr), k = 67: N remainder of 3.
      ConvTester().input(9, 10).channels(5, 67).kernel(3, 3),
      // k below one vector; k between vector widths; k = 96 (64 + 32 panels).
      ConvTester().batch(2).input(7, 7).channels(3, 5).kernel(2, 2),
      ConvTester().input(11, 8).channels(4, 23).kernel(3, 2).pad(1).bias(true),
      ConvTester().input(13, 13).channels(3, 96).kernel(5, 5).stride(2).pad(2),
      // k = 200: three full 64-wide panels and an 8-column one.
      ConvTester().input(6, 9).channels(7, 200).kernel(3, 3).pad(1, 0, 2, 1),
      // Strides, asymmetric padding, dilation in both directions.
      ConvTester().batch(3).input(17, 15).channels(6, 33).kernel(3, 3).stride(2, 3).pad(1),
      ConvTester().batch(2).input(16, 19).channels(5, 40).kernel(3, 3).dilation(2, 1).pad(2),
      ConvTester().input(21, 14).channels(4, 17).kernel(2, 3).dilation(3, 2).stride(2, 1),
      // Groups, incl. depthwise (kg = 1) and kg not a vector multiple.
      ConvTester().batch(2).input(10, 10).channels(12, 18).kernel(3, 3).groups(3).pad(1),
      ConvTester().input(9, 11).channels(16, 16).kernel(3, 3).groups(16).pad(1).bias(true),
      ConvTester().batch(3).input(8, 8).channels(8, 24).kernel(3, 3).groups(8).stride(2),
      // Tiny: one output pixel, 1x1 kernels, a single channel.
      ConvTester().input(1, 1).channels(3, 4).kernel(1, 1),
      ConvTester().input(3, 3).channels(1, 1).kernel(3, 3),
      ConvTester().batch(5).input(2, 7).channels(2, 70).kernel(2, 7),
      // Deep enough for several K passes with a short M.
      ConvTester().input(5, 5).channels(700, 20).kernel(3, 3),
  };
}

void check_engine_on_edges(GemmEngine engine, CpuIsa isa = CpuIsa::kAuto) {
  for (const ConvTester& tester : edge_shapes()) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      const Problem problem(ConvTester(tester).layout(layout).desc(), true, 5);
      SCOPED_TRACE(describe(problem.desc));
      for (Algorithm a : {Algorithm::kMec, Algorithm::kMecA, Algorithm::kMecB}) {
        for (int threads : {1, 2}) {
          problem.check(a, engine_context(threads, engine, isa), /*packed=*/false);
          problem.check(a, engine_context(threads, engine, isa), /*packed=*/true);
        }
      }
    }
  }
}

class FastEngineIsa : public ::testing::TestWithParam<Isa> {};

TEST_P(FastEngineIsa, EdgeShapesAgainstReference) {
  const Isa isa = GetParam();
  if (!cpu_has(isa.cap)) GTEST_SKIP() << "CPU lacks " << isa.name;
  ASSERT_STREQ(cpu::select_kernels(isa.cap).name, isa.name);
  // The context's cap reaches the plan: its variant names the set.
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(edge_shapes()[0].desc(), Algorithm::kMecB,
                               engine_context(1, GemmEngine::kFast, isa.cap), &plan),
            Status::kSuccess);
  EXPECT_EQ(std::string(plan->variant()).rfind(std::string("mec_b/fast/") + isa.name + "/", 0), 0u)
      << plan->variant();
  check_engine_on_edges(GemmEngine::kFast, isa.cap);
}

TEST_P(FastEngineIsa, RandomSweep) {
  const Isa isa = GetParam();
  if (!cpu_has(isa.cap)) GTEST_SKIP() << "CPU lacks " << isa.name;
  std::mt19937 rng(77);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 60; ++i) {
    Conv2dDesc d;
    do {
      d.n = pick(1, 3);
      d.h = pick(1, 20);
      d.w = pick(1, 20);
      d.groups = pick(0, 3) == 0 ? pick(2, 3) : 1;
      d.c = d.groups * pick(1, 12);
      d.k = d.groups * pick(1, 80);
      d.r = pick(1, 4);
      d.s = pick(1, 4);
      d.pad_top = pick(0, 2);
      d.pad_bottom = pick(0, 2);
      d.pad_left = pick(0, 2);
      d.pad_right = pick(0, 2);
      d.stride_h = pick(1, 2);
      d.stride_w = pick(1, 2);
      d.dilation_h = pick(1, 2);
      d.dilation_w = pick(1, 2);
      d.filter_layout = static_cast<FilterLayout>(pick(0, 2));
    } while (validate(d) != Status::kSuccess);
    Problem(d, i % 2 == 0, 300 + i)
        .check(Algorithm::kMec, engine_context(1 + i % 2, GemmEngine::kFast, isa.cap), i % 3 == 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, FastEngineIsa,
                         ::testing::Values(Isa{CpuIsa::kAvx512, "avx512"},
                                           Isa{CpuIsa::kAvx2, "avx2"},
                                           Isa{CpuIsa::kGeneric, "generic"}),
                         [](const auto& info) { return std::string(info.param.name); });

// The batch path's scheduling: runs of several small images per task
// (n >= 8 per thread), and large images (|L| > 4 MiB) lowered in bands of
// output rows, with stride, dilation and padding at the band edges.
TEST(FastEngine, ImageRunsAndBands) {
  const ConvTester cases[] = {
      ConvTester().batch(17).input(6, 7).channels(5, 19).kernel(3, 3).pad(1).bias(true),
      ConvTester().batch(2).input(80, 80).channels(64, 20).kernel(3, 3).pad(1),
      ConvTester().input(95, 60).channels(64, 9).kernel(3, 3).stride(2, 1).dilation(2, 1).pad(2),
  };
  for (const ConvTester& tester : cases) {
    const Problem problem = tester.problem();
    for (int threads : {1, 2}) {
      problem.check(Algorithm::kMecB, threads, /*packed=*/threads == 2);
    }
  }
}

// Outputs of at least 8 MiB per image go out with non-temporal stores where
// dst is 64-byte aligned (src/cpu/mec.cc): k = 32 and 48 (whole 16-wide
// vectors, so every tile takes that path), batch 1 and 2, 1 and 2 threads,
// dst aligned and one float off (the ordinary stores), NaN-poisoned.
TEST(FastEngine, StreamedOutput) {
  for (int64_t k : {32, 48}) {
    for (int64_t n : {1, 2}) {
      const Problem problem =
          ConvTester().batch(n).input(258, 258).channels(2, k).kernel(3, 3).bias(true).problem();
      const Conv2dDesc& d = problem.desc;
      ASSERT_GE(d.p() * d.q() * d.k * 4, int64_t(8) << 20);
      const size_t dst_floats = size_t(d.dst_elems());
      float* buffer = static_cast<float*>(std::aligned_alloc(64, (dst_floats + 16) * 4));
      ASSERT_NE(buffer, nullptr);
      for (int threads : {1, 2}) {
        std::unique_ptr<Conv2dPlan> plan;
        ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, Context::cpu(threads), &plan),
                  Status::kSuccess);
        std::vector<unsigned char> workspace(plan->workspace_bytes());
        for (size_t offset : {0, 1}) {
          float* dst = buffer + offset;
          std::fill(dst, dst + dst_floats, std::numeric_limits<float>::quiet_NaN());
          ASSERT_EQ(plan->run(problem.src.data(), problem.weights.data(), problem.bias.data(), dst,
                              workspace.data(), workspace.size()),
                    Status::kSuccess);
          EXPECT_LE(reference::max_rel_error(dst, problem.expected.data(), d.dst_elems()),
                    tolerance(Algorithm::kMec))
              << "k " << k << " n " << n << " threads " << threads << " offset " << offset;
        }
      }
      std::free(buffer);
    }
  }
}

// Lowering all of L at once splits each image into bands of padded rows,
// one per thread: with 2 input rows and 3 rows of padding on each side,
// 3-4 threads give bands that lie entirely in the top or the bottom
// padding (a fuzzer find: such a band was zero-filled backwards).
TEST(FastEngine, LoweringBandsInPadding) {
  const Problem problem =
      ConvTester().input(2, 5).channels(3, 7).kernel(3, 3).pad(3, 3, 1, 2).problem();
  for (GemmEngine engine : {GemmEngine::kFast, GemmEngine::kBlas}) {
    for (int threads : {1, 2, 3, 4, 7}) {
      for (Algorithm a : {Algorithm::kMecA, Algorithm::kMecB}) {
        problem.check(a, threads, /*packed=*/false, engine);
      }
    }
  }
}

TEST(BlasEngine, EdgeShapesAgainstReference) { check_engine_on_edges(GemmEngine::kBlas); }

// MEC's workspace is |L| = n*q*(h+pad)*s*c floats for HWIO weights, raw or
// packed, in both engines; packed panels are plan memory, not workspace.
TEST(FastEngine, WorkspaceIsExactlyL) {
  for (GemmEngine engine : {GemmEngine::kFast, GemmEngine::kBlas}) {
    Conv2dDesc d = ConvTester().batch(2).input(12, 10).channels(6, 40).kernel(3, 3).pad(1).desc();
    Context ctx = Context::cpu(2);
    ctx.set_gemm_engine(engine);
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMecB, ctx, &plan), Status::kSuccess);
    const size_t l_bytes = size_t(d.n * d.q() * (d.h + 2) * d.s * d.c) * sizeof(float);
    EXPECT_EQ(plan->workspace_bytes(), l_bytes);
    EXPECT_EQ(plan->persistent_bytes(), 0u);
    std::vector<float> weights(d.weight_elems(), 0.5f);
    ASSERT_EQ(plan->set_weights(weights.data()), Status::kSuccess);
    EXPECT_EQ(plan->workspace_bytes(), l_bytes);
    EXPECT_GE(plan->persistent_bytes(), size_t(d.weight_elems()) * sizeof(float));
  }
}

}  // namespace
}  // namespace testing
}  // namespace mec
