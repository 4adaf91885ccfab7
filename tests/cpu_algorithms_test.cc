// Every CPU algorithm against the double-precision reference: hand-picked
// awkward shapes, a seeded sweep of random configurations, the paper's
// twelve layers at batch 1 and 2, and Solution A against Solution B.
#include <algorithm>
#include <random>

#include "common/shape_string.h"
#include "conv_tester.h"
#include "random_desc.h"

namespace mec {
namespace testing {
namespace {

TEST(CpuAlgorithms, AwkwardShapes) {
  const ConvTester cases[] = {
      ConvTester().input(27, 37).channels(23, 19).kernel(3, 3).pad(1).stride(2),
      ConvTester().batch(3).input(31, 17).channels(5, 7).kernel(5, 2).pad(2, 0, 1, 3),
      ConvTester().batch(2).input(13, 29).channels(6, 9).kernel(3, 3).dilation(2, 3).pad(2),
      ConvTester().input(15, 15).channels(8, 12).kernel(3, 3).groups(4).pad(1).bias(true),
      ConvTester().batch(2).input(16, 16).channels(32, 32).kernel(3, 3).groups(32).pad(1),
      ConvTester().input(1, 1).channels(3, 4).kernel(1, 1),
      ConvTester().batch(5).input(7, 9).channels(1, 1).kernel(7, 9),
      ConvTester().input(33, 63).channels(17, 65).kernel(1, 1).stride(2, 3),
      ConvTester().input(9, 9).channels(4, 6).kernel(3, 3).pad(4).stride(3).bias(true),
      ConvTester().input(20, 11).channels(3, 5).kernel(4, 3).stride(3, 1).dilation(3, 1),
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), true, 99);
      for (Algorithm a : cpu_algorithms()) problem.check(a);
    }
  }
}

TEST(CpuAlgorithms, RandomSweep) {
  std::mt19937 rng(20260601);
  constexpr int kConfigs = 300;
  double worst = 0.0;
  for (int i = 0; i < kConfigs; ++i) {
    Problem problem(random_desc(rng), i % 2 == 0, 1000 + i);
    for (Algorithm a : cpu_algorithms()) {
      worst = std::max(worst, problem.check(a, 1 + i % 2, /*packed=*/i % 3 == 0));
    }
  }
  RecordProperty("worst_rel_error", std::to_string(worst));
}

std::vector<NamedShape> paper_layers() {
  std::vector<NamedShape> shapes;
  std::string error;
  EXPECT_TRUE(read_shape_file(MEC_SOURCE_DIR "/bench/shapes/paper.txt", &shapes, &error)) << error;
  EXPECT_EQ(shapes.size(), 12u);
  return shapes;
}

void check_paper_layers(int64_t batch) {
  double worst = 0.0;
  for (NamedShape& shape : paper_layers()) {
    shape.desc.n = batch;
    SCOPED_TRACE(shape.name);
    Problem problem(shape.desc, true, 7);
    for (Algorithm a : cpu_algorithms()) worst = std::max(worst, problem.check(a));
  }
  ::testing::Test::RecordProperty("worst_rel_error", std::to_string(worst));
}

TEST(CpuAlgorithms, PaperLayersBatch1) { check_paper_layers(1); }
TEST(CpuAlgorithms, PaperLayersBatch2) { check_paper_layers(2); }

// The two MEC solutions compute the same GEMMs in another order: they must
// agree far more closely than either agrees with the reference... but only
// up to the GEMM engine's blocking, so compare at the reference tolerance.
TEST(CpuAlgorithms, SolutionsAAndBAgree) {
  for (const ConvTester& tester :
       {ConvTester().batch(4).input(19, 23).channels(7, 11).kernel(3, 5).pad(1, 2, 0, 1),
        ConvTester().batch(3).input(12, 12).channels(16, 8).kernel(3, 3).stride(2).groups(2),
        ConvTester().batch(2).input(40, 9).channels(3, 30).kernel(5, 3).dilation(2, 1)}) {
    const Problem problem = tester.problem();
    Context ctx = Context::cpu(2);
    std::vector<float> out[2];
    int idx = 0;
    for (Algorithm a : {Algorithm::kMecA, Algorithm::kMecB}) {
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(problem.desc, a, ctx, &plan), Status::kSuccess);
      EXPECT_EQ(plan->algorithm(), a);
      std::vector<unsigned char> ws(plan->workspace_bytes());
      out[idx].assign(problem.desc.dst_elems(), std::nanf(""));
      ASSERT_EQ(plan->run(problem.src.data(), problem.weights.data(), nullptr, out[idx].data(),
                          ws.data(), ws.size()),
                Status::kSuccess);
      ++idx;
    }
    std::vector<double> a_as_double(out[0].begin(), out[0].end());
    EXPECT_LE(reference::max_rel_error(out[1].data(), a_as_double.data(), out[1].size()),
              tolerance(Algorithm::kMec));
  }
}

// kMec resolves by the threshold T and |O| <= |L|.
TEST(CpuAlgorithms, MecChoosesByThreshold) {
  Conv2dDesc d;
  ASSERT_TRUE([&] {
    std::string e;
    return parse_shape("n2h20w20c8k4r3s3", &d, &e);
  }());
  // With k = 400: |O| = 2*18*18*400 > |L| = 2*18*20*3*8.
  expect_mec_threshold_rule(d, Context::cpu(1));
}

// Row-band MEC (Context::set_mec_band_rows) on random shapes, band sizes
// and thread counts, with its workspace formula computed here.
TEST(CpuAlgorithms, MecRowBands) {
  std::mt19937 rng(20261123);
  for (int i = 0; i < 120; ++i) {
    const Conv2dDesc d = random_desc(rng);
    const int threads = 1 + i % 3;
    const int64_t p = d.p(), rows = std::uniform_int_distribution<int64_t>(1, p + 2)(rng);
    Problem problem(d, i % 2 == 0, 3000 + i);
    problem.check(Algorithm::kMec, threads, /*packed=*/i % 3 == 0, GemmEngine::kFast, rows);

    // Bands of p rows hold whole images: then the fast engine's per-thread
    // runs of m images when n >= threads, else all of L.
    const int64_t b = std::min(rows, p), bands = (p + b - 1) / b;
    const int64_t band_input = (b - 1) * d.stride_h + (d.r - 1) * d.dilation_h + 1;
    const int64_t hp = d.h + d.pad_top + d.pad_bottom, image = d.q() * hp * d.s * d.c;
    const int64_t m =
        std::max<int64_t>(1, std::min((256 + p * d.q() - 1) / (p * d.q()), d.n / (4 * threads)));
    const int64_t lowered = b < p ? std::min<int64_t>(threads, d.n * bands) * d.groups * d.q() *
                                        band_input * d.s * (d.c / d.groups)
                            : d.n >= threads ? threads * m * image
                                             : d.n * image;
    const int64_t raw = d.filter_layout == FilterLayout::kHWIO ? 0 : d.weight_elems();
    Context ctx = Context::cpu(threads);
    ctx.set_mec_band_rows(rows);
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMecB, ctx, &plan), Status::kSuccess);
    EXPECT_EQ(plan->workspace_bytes(), size_t(lowered + raw) * sizeof(float))
        << describe(d) << " rows " << rows;
  }
}

// Bands keep MEC's workspace independent of the batch; bad settings fail.
TEST(CpuAlgorithms, MecRowBandsWorkspaceAndErrors) {
  Conv2dDesc d;
  std::string e;
  ASSERT_TRUE(parse_shape("n1h56w56c64k64r3s3", &d, &e)) << e;
  Context ctx = Context::cpu(2);
  ctx.set_mec_band_rows(8);
  std::unique_ptr<Conv2dPlan> one, many;
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &one), Status::kSuccess);
  d.n = 32;
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &many), Status::kSuccess);
  EXPECT_EQ(one->workspace_bytes(), many->workspace_bytes());
  EXPECT_EQ(many->workspace_bytes(), size_t(2 * 54 * 10 * 3 * 64 * 4));

  ctx.set_mec_band_rows(-1);
  EXPECT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &many), Status::kInvalidArgument);
  EXPECT_NE(std::string(last_error()).find("mec_band_rows"), std::string::npos);
  ctx.set_mec_band_rows(4);
  ctx.set_gemm_engine(GemmEngine::kBlas);
  EXPECT_EQ(Conv2dPlan::create(d, Algorithm::kMecA, ctx, &many), Status::kUnsupported);
  // kAuto keeps the context's bands for MEC, so it plans another algorithm.
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kAuto, ctx, &many), Status::kSuccess);
  EXPECT_NE(many->algorithm(), Algorithm::kMecA);
  EXPECT_NE(many->algorithm(), Algorithm::kMecB);
}

}  // namespace
}  // namespace testing
}  // namespace mec
