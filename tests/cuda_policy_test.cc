// The CUDA MEC policy (src/cuda/mec_policy.h) is plain C++, so it is tested
// here on any machine, GPU or not: on an H100's properties it must choose
// the paths an H100 took on every layer of five suites
// (tests/data/h100_mec_paths.txt), and its overrides and invariants hold on
// random descriptors. The kernels it names are tested on a GPU
// (cuda_mec_paths_test.cc).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "common/mec_lowering.h"
#include "common/shape_string.h"
#include "cuda/mec_policy.h"
#include "random_desc.h"

namespace mec {
namespace cuda {
namespace {

// The H100 SXM the paths were recorded on: 132 multiprocessors, and blocks
// per multiprocessor of the GEMM kernel's tiles (128x128, 128x96, 128x64,
// 64x64, 32x64; FFMA, TF32). The launch model caps them at 1, 1, 1, 2 and
// 4 (8192 accumulators), so only the 32 x 64 counts decide a split: 3 in
// FFMA and 4 in TF32 are the counts under which the policy gives the
// recorded splits of cv12 at batch 1 (48 and 58); the others as
// docs/cuda.md's tile table gives them.
CudaDeviceTraits h100() {
  CudaDeviceTraits t;
  t.multiprocessors = 132;
  const int blocks[2][kGemmTileShapes] = {{2, 2, 3, 3, 3}, {2, 2, 3, 3, 4}};
  for (int m = 0; m < 2; ++m) {
    for (int i = 0; i < kGemmTileShapes; ++i) t.resident_blocks[m][i] = blocks[m][i];
  }
  return t;
}

// A CUDA context's settings without a GPU: the CUDA default T (20), the
// given math, everything else automatic.
Context cuda_settings(bool tf32) {
  Context c;
  c.set_mec_threshold(20);
  c.set_allow_tf32(tf32);
  c.set_cuda_gemm(CudaGemm::kAuto);
  c.set_cuda_from_src(CudaFromSrc::kAuto);
  c.set_cuda_tile({});
  return c;
}

std::string variant_of(const Conv2dDesc& d, Algorithm a, const Context& c,
                       const CudaDeviceTraits& device = h100()) {
  int64_t lowered = 0;
  EXPECT_TRUE(detail::mec_lowered_floats(d, lowered_height(d), &lowered));
  return mec_path_variant(d, choose_mec_path(d, a, lowered, c, device));
}

MecPath path_of(const Conv2dDesc& d, Algorithm a, const Context& c) {
  int64_t lowered = 0;
  EXPECT_TRUE(detail::mec_lowered_floats(d, lowered_height(d), &lowered));
  return choose_mec_path(d, a, lowered, c, h100());
}

TEST(CudaPolicy, ChoosesThePathsAnH100Took) {
  const std::string root = MEC_SOURCE_DIR;
  std::ifstream in(root + "/tests/data/h100_mec_paths.txt");
  ASSERT_TRUE(in) << "tests/data/h100_mec_paths.txt";
  std::map<std::string, std::vector<NamedShape>> suites;
  const std::map<std::string, Algorithm> algorithms = {
      {"mec", Algorithm::kMec}, {"mec_a", Algorithm::kMecA}, {"mec_b", Algorithm::kMecB}};
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string suite, batch, math, layer, algo, expected;
    ASSERT_TRUE(fields >> suite >> batch >> math >> layer >> algo >> expected) << line;
    if (!suites.count(suite)) {
      std::string error;
      ASSERT_TRUE(read_shape_file(root + "/bench/shapes/" + suite + ".txt", &suites[suite], &error))
          << error;
    }
    const NamedShape* shape = nullptr;
    for (const NamedShape& s : suites[suite]) {
      if (s.name == layer) shape = &s;
    }
    ASSERT_NE(shape, nullptr) << line;
    Conv2dDesc d = shape->desc;
    d.n = std::stoll(batch.substr(1));
    EXPECT_EQ(variant_of(d, algorithms.at(algo), cuda_settings(math == "tf32")), expected)
        << suite << " " << batch << " " << math << " " << layer << " " << algo;
    ++checked;
  }
  EXPECT_EQ(checked, 876);
}

// Overrides and invariants on random descriptors (those a MEC plan takes).
TEST(CudaPolicy, OverridesAndInvariantsHold) {
  std::mt19937 rng(2024);
  for (int i = 0; i < 2000; ++i) {
    const Conv2dDesc d = testing::random_desc(rng, testing::cuda_random_desc_limits());
    const Geometry g = geometry(d);
    for (bool tf32 : {false, true}) {
      Context c = cuda_settings(tf32);
      for (Algorithm a : {Algorithm::kMec, Algorithm::kMecA, Algorithm::kMecB}) {
        const MecPath auto_path = path_of(d, a, c);
        const bool src =
            auto_path.kind == MecPathKind::kKernelSrc || auto_path.kind == MecPathKind::kShallowSrc;
        // Only kMec reads src, and then there is no L in the workspace.
        EXPECT_EQ(src, auto_path.lowered_floats == 0);
        if (a != Algorithm::kMec) {
          EXPECT_FALSE(src);
        }
        if (a == Algorithm::kMecA) {
          EXPECT_EQ(auto_path.kind, MecPathKind::kCublasA);
        }
        if (a == Algorithm::kMecB) {
          EXPECT_EQ(auto_path.solution, Algorithm::kMecB);
        }
        // Our kernels take HWIO weights and (but the grouped one) dilation_h == 1.
        const bool kernel = auto_path.kind != MecPathKind::kCublasA &&
                            auto_path.kind != MecPathKind::kCublasB &&
                            auto_path.kind != MecPathKind::kGrouped;
        if (kernel) {
          EXPECT_NE(d.filter_layout, FilterLayout::kOHWI);
          EXPECT_EQ(g.dilation_h, 1);
        }
        if (auto_path.kind == MecPathKind::kShallowL ||
            auto_path.kind == MecPathKind::kShallowSrc) {
          EXPECT_TRUE(shallow_fits(g));
        }

        c.set_cuda_gemm(CudaGemm::kCublas);
        const MecPathKind cublas = path_of(d, a, c).kind;
        EXPECT_TRUE(cublas == MecPathKind::kCublasA || cublas == MecPathKind::kCublasB);
        c.set_cuda_gemm(CudaGemm::kAuto);

        c.set_cuda_from_src(CudaFromSrc::kNever);
        const MecPath never = path_of(d, a, c);
        EXPECT_NE(never.kind, MecPathKind::kKernelSrc);
        EXPECT_NE(never.kind, MecPathKind::kShallowSrc);
        c.set_cuda_from_src(CudaFromSrc::kWhereverItFits);
        const MecPath everywhere = path_of(d, a, c);
        if (everywhere.kind == MecPathKind::kKernelL || everywhere.kind == MecPathKind::kShallowL) {
          EXPECT_FALSE(a == Algorithm::kMec && d.filter_layout != FilterLayout::kOHWI &&
                       (shallow_fits(g) || from_src_fits(g)))
              << "a kernel plan that could read src kept L";
        }
        c.set_cuda_from_src(CudaFromSrc::kAuto);

        c.set_cuda_tile({64, 64, 3});
        const MecPath forced = path_of(d, a, c);
        if (forced.kind == MecPathKind::kKernelL || forced.kind == MecPathKind::kKernelSrc) {
          EXPECT_EQ(forced.tile.block_m, 64);
          EXPECT_EQ(forced.tile.block_n, 64);
          EXPECT_LE(forced.tile.splits, 3);
        }
        if (forced.kind == MecPathKind::kShallowL || forced.kind == MecPathKind::kShallowSrc) {
          EXPECT_EQ(forced.shallow_rows, 64);
        }
        c.set_cuda_tile({});
      }
    }
  }
}

// The tuning struct is what the choice reads: moving a threshold moves it.
TEST(CudaPolicy, TuningMovesTheChoice) {
  Conv2dDesc d;  // VGG-16's conv4_2 at batch 32: 28 wide, 512 channels
  std::string error;
  ASSERT_TRUE(parse_shape("n32h28w28c512k512r3s3p1", &d, &error)) << error;
  int64_t lowered = 0;
  ASSERT_TRUE(detail::mec_lowered_floats(d, lowered_height(d), &lowered));
  const Context tf32 = cuda_settings(true);
  CudaMecTuning tuning;
  EXPECT_EQ(choose_mec_path(d, Algorithm::kMec, lowered, tf32, h100(), tuning).kind,
            MecPathKind::kCublasA);
  tuning.tf32_max_q_for_a = 14;  // 28-wide outputs no longer take A with TF32
  EXPECT_NE(choose_mec_path(d, Algorithm::kMec, lowered, tf32, h100(), tuning).solution,
            Algorithm::kMecA);
}

}  // namespace
}  // namespace cuda
}  // namespace mec
