// Conv2dPlan::variant(), the string that names what a CPU plan runs: it
// starts with the concrete algorithm's name on every algorithm and shape,
// is made of lowercase '/'-separated tokens, is the same for the same
// choices and changes with each choice it names (MEC's solution, the GEMM
// engine, the micro-kernel ISA, row bands, the fast engine's schedule,
// Solution A's reordering, Winograd's F2/F4). Refactors of the library's
// choices are checked against recorded variants (scripts/variants.sh); this
// test keeps the strings honest.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "algorithm_list.h"
#include "common/shape_string.h"
#include "mec/mec.h"

namespace mec {
namespace testing {
namespace {

Conv2dDesc shape(const char* text) {
  Conv2dDesc d;
  std::string error;
  EXPECT_TRUE(parse_shape(text, &d, &error)) << text << ": " << error;
  return d;
}

// The plan's variant for (desc, algorithm, context); "" when it cannot be made.
std::string variant(const Conv2dDesc& d, Algorithm a, const Context& context,
                    Algorithm* concrete = nullptr) {
  std::unique_ptr<Conv2dPlan> plan;
  if (Conv2dPlan::create(d, a, context, &plan) != Status::kSuccess) return "";
  if (concrete != nullptr) *concrete = plan->algorithm();
  return plan->variant();
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Lowercase letters, digits, '_' and '-' in tokens joined by single '/'.
bool well_formed(const std::string& v) {
  if (v.empty() || v.front() == '/' || v.back() == '/') return false;
  for (size_t i = 0; i < v.size(); ++i) {
    const char ch = v[i];
    const bool token_char =
        (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    if (!token_char && !(ch == '/' && v[i - 1] != '/')) return false;
  }
  return true;
}

TEST(Variant, EveryAlgorithmStartsWithItsName) {
  const char* shapes[] = {"n1h12w12c8k16r3s3p1", "n4h9w9c6k12r3s3p1u2", "n2h8w8c8k8r3s3p1g8",
                          "n1h10w11c4k8r3s3d2", "n3h7w5c3k5r1s1"};
  for (const char* text : shapes) {
    const Conv2dDesc d = shape(text);
    for (int threads : {1, 2}) {
      for (GemmEngine engine : {GemmEngine::kFast, GemmEngine::kBlas}) {
        Context context = Context::cpu(threads);
        context.set_gemm_engine(engine);
        for (Algorithm a : supported_algorithms(d, context)) {
          std::unique_ptr<Conv2dPlan> plan;
          ASSERT_EQ(Conv2dPlan::create(d, a, context, &plan), Status::kSuccess);
          const std::string v = plan->variant();
          const std::string name = algorithm_name(plan->algorithm());
          EXPECT_TRUE(v == name || starts_with(v, name + "/"))
              << algorithm_name(a) << " on " << text << ": '" << v << "'";
          EXPECT_TRUE(well_formed(v)) << "'" << v << "'";
          // The same choices give the same string; set_weights() leaves it.
          EXPECT_EQ(variant(d, a, context), v);
          std::vector<float> weights(size_t(d.weight_elems()), 0.5f);
          const char* before = plan->variant();
          ASSERT_EQ(plan->set_weights(weights.data()), Status::kSuccess);
          EXPECT_EQ(plan->variant(), before);
          EXPECT_EQ(std::string(before), v);
        }
      }
    }
  }
}

TEST(Variant, MecNamesTheSolutionItPicked) {
  const Conv2dDesc d = shape("n2h12w12c8k8r3s3");  // q = 10, |O| <= |L|
  Context context = Context::cpu(1);
  for (int64_t threshold : {int64_t(0), int64_t(1000)}) {
    context.set_mec_threshold(threshold);
    Algorithm concrete;
    const std::string v = variant(d, Algorithm::kMec, context, &concrete);
    EXPECT_EQ(concrete, threshold > 0 ? Algorithm::kMecA : Algorithm::kMecB);
    EXPECT_TRUE(starts_with(v, threshold > 0 ? "mec_a/" : "mec_b/")) << v;
    EXPECT_EQ(v, variant(d, concrete, context));
    EXPECT_EQ(variant(d, Algorithm::kAuto, context), v);
  }
}

TEST(Variant, EngineIsaBandsAndScheduleChangeIt) {
  const Conv2dDesc d = shape("n1h20w20c8k16r3s3p1");  // p = 20
  Context context = Context::cpu(1);
  const std::string fast = variant(d, Algorithm::kMecB, context);
  context.set_gemm_engine(GemmEngine::kBlas);
  const std::string blas = variant(d, Algorithm::kMecB, context);
  EXPECT_TRUE(starts_with(fast, "mec_b/fast/")) << fast;
  EXPECT_TRUE(starts_with(blas, "mec_b/blas/")) << blas;
  context.set_gemm_engine(GemmEngine::kFast);
  context.set_mec_band_rows(4);
  const std::string bands = variant(d, Algorithm::kMecB, context);
  EXPECT_NE(bands, fast);
  EXPECT_NE(bands.find("/bands4"), std::string::npos) << bands;
  context.set_mec_band_rows(5);
  EXPECT_NE(variant(d, Algorithm::kMecB, context).find("/bands5"), std::string::npos);
  // Bands of p or more rows are whole images: the schedule without bands.
  context.set_mec_band_rows(20);
  EXPECT_EQ(variant(d, Algorithm::kMecB, context), fast);
  context.set_mec_band_rows(0);
  context.set_cpu_isa(CpuIsa::kGeneric);
  const std::string v = variant(d, Algorithm::kMecB, context);
  EXPECT_TRUE(starts_with(v, "mec_b/fast/generic/")) << v;
  if (!starts_with(fast, "mec_b/fast/generic/")) {
    EXPECT_NE(v, fast);
  }
  context.set_cpu_isa(CpuIsa::kAuto);
  EXPECT_EQ(variant(d, Algorithm::kMecB, context), fast);
}

TEST(Variant, FastEngineSchedules) {
  Context one = Context::cpu(1), two = Context::cpu(2);
  // At least as many images as threads: runs of whole images per task.
  EXPECT_TRUE(starts_with(variant(shape("n8h6w6c4k8r3s3"), Algorithm::kMecB, two), "mec_b/fast/"));
  EXPECT_NE(variant(shape("n8h6w6c4k8r3s3"), Algorithm::kMecB, two).find("/images"),
            std::string::npos);
  // Fewer images than threads: L whole, the GEMM split.
  EXPECT_NE(variant(shape("n1h12w12c4k8r3s3"), Algorithm::kMecB, two).find("/whole/split"),
            std::string::npos);
  // One image whose L exceeds 4 MiB: lowered 8 output rows at a time.
  const std::string big = variant(shape("n1h128w128c32k8r3s3p1"), Algorithm::kMecB, one);
  EXPECT_NE(big.find("/images1/rows8"), std::string::npos) << big;
  // An output of 8 MiB per image: non-temporal stores.
  const std::string wide = variant(shape("n1h256w256c4k32r1s1"), Algorithm::kMecB, one);
  EXPECT_TRUE(wide.size() > 3 && wide.compare(wide.size() - 3, 3, "/nt") == 0) << wide;
}

TEST(Variant, CblasSolutionAReorders) {
  Context context = Context::cpu(1);
  context.set_gemm_engine(GemmEngine::kBlas);
  // n = 1: A's result is already in dst's order.
  const std::string single = variant(shape("n1h12w12c8k8r3s3"), Algorithm::kMecA, context);
  EXPECT_EQ(single.find("reorder"), std::string::npos) << single;
  // |O| <= |L|: through L's memory; |O| > |L| (k = 64): a temporary.
  EXPECT_NE(variant(shape("n2h12w12c8k8r3s3"), Algorithm::kMecA, context).find("/reorder-l"),
            std::string::npos);
  EXPECT_NE(variant(shape("n2h12w12c8k64r3s3"), Algorithm::kMecA, context).find("/reorder-temp"),
            std::string::npos);
}

TEST(Variant, WinogradAndFft) {
  const Conv2dDesc d = shape("n1h56w56c16k16r3s3p1");
  Context context = Context::cpu(1);
  Algorithm concrete;
  const std::string v = variant(d, Algorithm::kWinograd, context, &concrete);
  EXPECT_TRUE(starts_with(v, std::string(algorithm_name(concrete)) + "/block")) << v;
  EXPECT_TRUE(starts_with(variant(d, Algorithm::kWinogradF2, context), "winograd_f2/block"));
  EXPECT_TRUE(starts_with(variant(d, Algorithm::kWinogradF4, context), "winograd_f4/block"));
  const std::string fft = variant(d, Algorithm::kFft, context);
  EXPECT_TRUE(starts_with(fft, "fft/")) << fft;
  EXPECT_NE(fft.find("x"), std::string::npos) << fft;
  EXPECT_EQ(variant(d, Algorithm::kIm2col, context), "im2col/blas");
  EXPECT_EQ(variant(d, Algorithm::kDirect, context), "direct");
}

}  // namespace
}  // namespace testing
}  // namespace mec
