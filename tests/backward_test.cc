// The backward passes (Pass::kBackwardData, kBackwardWeights) of every CPU
// algorithm that has them, against the double-precision references
// (src/reference/reference_backward.h, themselves checked by adjoint
// identities and finite differences in reference_backward_test.cc): random
// shapes, the paper's smaller layers and awkward ones, raw and packed
// weights, every filter layout, outputs poisoned with NaN, the workspace
// with a byte pattern. Also the API around them: the pass a plan serves,
// run functions of the wrong pass, set_weights() on a backward-weights
// plan, CUDA and algorithms without backward passes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "backward_truth.h"
#include "common/shape_string.h"
#include "conv_tester.h"
#include "random_desc.h"

namespace mec {
namespace testing {
namespace {

const Algorithm kBackwardAlgorithms[] = {Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMec,
                                         Algorithm::kMecA,   Algorithm::kMecB,   Algorithm::kAuto};

// max |out - ref| / max |ref| (NaN or infinity in out: infinity).
double rel_error(const std::vector<float>& out, const std::vector<double>& ref) {
  return reference::max_rel_error(out.data(), ref.data(), int64_t(ref.size()));
}

// Checks both backward passes of `a` on d with `threads`; packed: the
// backward-data plan gets set_weights().
void check_backward(const Conv2dDesc& d, Algorithm a, int threads, bool packed, uint32_t seed) {
  const BackwardTruth t = backward_truth(d, seed);
  const std::vector<float>&src = t.src, &w = t.weights, &ddst = t.ddst;
  const std::vector<double>&dsrc_ref = t.dsrc, &dw_ref = t.dweights, &db_ref = t.dbias;
  const double bound = tolerance(a);
  Context ctx = Context::cpu(threads);
  const float nan = std::numeric_limits<float>::quiet_NaN();

  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(d, Pass::kBackwardData, a, ctx, &plan), Status::kSuccess)
      << algorithm_name(a) << ": " << last_error() << " on " << describe(d);
  EXPECT_EQ(plan->pass(), Pass::kBackwardData);
  if (packed) {
    ASSERT_EQ(plan->set_weights(w.data()), Status::kSuccess) << last_error();
  }
  std::vector<unsigned char> ws(plan->workspace_bytes(), kWorkspaceByte);
  std::vector<float> dsrc(size_t(d.src_elems()), nan);
  ASSERT_EQ(plan->run_backward_data(ddst.data(), packed ? nullptr : w.data(), dsrc.data(),
                                    ws.data(), ws.size()),
            Status::kSuccess)
      << last_error();
  EXPECT_LE(rel_error(dsrc, dsrc_ref), bound)
      << "bwd_data " << plan->variant() << " on " << describe(d) << " threads " << threads;

  ASSERT_EQ(Conv2dPlan::create(d, Pass::kBackwardWeights, a, ctx, &plan), Status::kSuccess)
      << algorithm_name(a) << ": " << last_error() << " on " << describe(d);
  ws.assign(plan->workspace_bytes(), kWorkspaceByte);
  std::vector<float> dw(size_t(d.weight_elems()), nan), db(size_t(d.k), nan);
  ASSERT_EQ(plan->run_backward_weights(src.data(), ddst.data(), dw.data(), db.data(), ws.data(),
                                       ws.size()),
            Status::kSuccess)
      << last_error();
  EXPECT_LE(rel_error(dw, dw_ref), bound)
      << "bwd_weights " << plan->variant() << " on " << describe(d) << " threads " << threads;
  EXPECT_LE(rel_error(db, db_ref), bound) << "dbias on " << describe(d);
  // Deterministic at a fixed thread count: a second run is bit-identical.
  std::vector<float> again(dw.size(), nan);
  ASSERT_EQ(plan->run_backward_weights(src.data(), ddst.data(), again.data(), nullptr, ws.data(),
                                       ws.size()),
            Status::kSuccess);
  EXPECT_EQ(again, dw) << plan->variant() << " on " << describe(d);
}

TEST(Backward, RandomShapes) {
  std::mt19937 rng(23);
  for (int i = 0; i < 80; ++i) {
    const Conv2dDesc d = random_desc(rng);
    for (Algorithm a : kBackwardAlgorithms) check_backward(d, a, 1 + i % 3, i % 2 == 1, 500 + i);
  }
}

TEST(Backward, AwkwardShapes) {
  // name: stride > kernel, padding > kernel, dilation, depthwise, 1x1,
  // odd/prime sizes, rectangular kernels.
  const char* shapes[] = {"n2h9w7c3k4r2s2u3",
                          "n1h5w6c2k3r2s3p3",
                          "n2h11w13c4k5r3s3d2",
                          "n1h12w12c8k8r3s3p1g8",
                          "n2h7w5c6k12r3s3p1u2g6",
                          "n3h13w11c5k7r1s1",
                          "n1h17w19c3k2r5s3pt2pb0pl1pr3u2",
                          "n1h8w8c4k4r3s3p1uh1uw2dh2dw1"};
  for (const char* text : shapes) {
    Conv2dDesc d;
    std::string error;
    ASSERT_TRUE(parse_shape(text, &d, &error)) << error;
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      d.filter_layout = layout;
      for (Algorithm a : kBackwardAlgorithms)
        check_backward(d, a, 2, layout != FilterLayout::kHWIO, 7);
    }
  }
}

TEST(Backward, PaperLayersAtBatch1) {
  // cv6, cv10-cv12 (the layers small enough for the double reference here).
  for (const char* text :
       {"h12w12c256k512r3s3", "h28w28c128k128r3s3", "h14w14c256k256r3s3", "h7w7c512k512r3s3"}) {
    Conv2dDesc d;
    std::string error;
    ASSERT_TRUE(parse_shape(text, &d, &error)) << error;
    for (Algorithm a : {Algorithm::kIm2col, Algorithm::kMec}) check_backward(d, a, 2, true, 3);
  }
}

TEST(Backward, MecFastEngineForms) {
  // MEC's fast-engine forms (src/cpu/mec_backward_fast.h) on 1 to 3
  // threads: runs of images and bands of input rows (data; more threads
  // than images, blocks spanning images), images or taps outer (weights;
  // |W| small or large next to an image's L), pointwise layers with fewer
  // output than input channels (ddst transposed), grouped and strided.
  const char* shapes[] = {"n8h12w10c16k24r3s3p1", "n3h9w9c64k16r3s3u2", "n1h23w19c8k12r5s3pt2pb1u2",
                          "n5h6w6c96k80r3s3",     "n4h7w9c48k20r1s1",   "n1h8w8c40k24r1s1g2",
                          "n2h10w10c6k4r3s3p2d2", "n3h11w7c12k8r1s1u2", "n1h30w4c4k4r7s1p3",
                          "n1h9w11c40k12r1s1",    "n1h40w3c2k3r25s1p2"};
  for (const char* text : shapes) {
    Conv2dDesc d;
    std::string error;
    ASSERT_TRUE(parse_shape(text, &d, &error)) << error;
    for (int threads : {1, 2, 3}) check_backward(d, Algorithm::kMec, threads, threads != 2, 11);
  }
}

TEST(Backward, ApiErrors) {
  Conv2dDesc d;
  d.h = d.w = 6;
  d.c = 3;
  d.k = 4;
  d.r = d.s = 3;
  Context ctx = Context::cpu(1);
  std::vector<float> a(1000, 0.5f), b(1000, 0.5f), out(1000), bias(4);
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(d, Pass::kBackwardWeights, Algorithm::kMec, ctx, &plan),
            Status::kSuccess);
  std::vector<unsigned char> ws(plan->workspace_bytes());
  EXPECT_EQ(plan->run(a.data(), b.data(), nullptr, out.data(), ws.data(), ws.size()),
            Status::kInvalidArgument);
  EXPECT_NE(std::string(last_error()).find("bwd_weights"), std::string::npos) << last_error();
  EXPECT_EQ(plan->set_weights(b.data()), Status::kInvalidArgument);
  EXPECT_EQ(plan->run_backward_weights(a.data(), b.data(), a.data(), nullptr, ws.data(), ws.size()),
            Status::kInvalidArgument);  // dweights overlaps src
  EXPECT_EQ(plan->run_backward_weights(a.data(), b.data(), out.data(), out.data() + 1, ws.data(),
                                       ws.size()),
            Status::kInvalidArgument);  // dbias overlaps dweights
  ASSERT_EQ(Conv2dPlan::create(d, Pass::kBackwardData, Algorithm::kDirect, ctx, &plan),
            Status::kSuccess);
  EXPECT_EQ(plan->run_backward_weights(a.data(), b.data(), out.data(), nullptr, nullptr, 0),
            Status::kInvalidArgument);
  EXPECT_EQ(plan->run_backward_data(a.data(), nullptr, out.data(), nullptr, 0),
            Status::kInvalidArgument);  // no weights and no set_weights()
  for (Algorithm a : {Algorithm::kFft, Algorithm::kWinograd}) {
    EXPECT_EQ(Conv2dPlan::create(d, Pass::kBackwardData, a, ctx, &plan), Status::kUnsupported);
  }
  EXPECT_EQ(Conv2dPlan::create(d, static_cast<Pass>(7), Algorithm::kMec, ctx, &plan),
            Status::kInvalidArgument);
  Pass parsed;
  for (Pass p : {Pass::kForward, Pass::kBackwardData, Pass::kBackwardWeights}) {
    ASSERT_TRUE(parse_pass(pass_name(p), &parsed));
    EXPECT_EQ(parsed, p);
  }
  EXPECT_FALSE(parse_pass("backward", &parsed));
}

TEST(Backward, WorkspaceLimitAndAuto) {
  Conv2dDesc d;
  std::string error;
  ASSERT_TRUE(parse_shape("n2h20w20c8k16r3s3p1", &d, &error)) << error;
  for (Pass pass : {Pass::kBackwardData, Pass::kBackwardWeights}) {
    for (size_t limit : {size_t(0), size_t(1) << 12, SIZE_MAX}) {
      Context ctx = Context::cpu(2);
      ctx.set_workspace_limit(limit);
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(d, pass, Algorithm::kAuto, ctx, &plan), Status::kSuccess)
          << last_error();
      EXPECT_LE(plan->workspace_bytes(), limit);
      EXPECT_EQ(plan->pass(), pass);
    }
  }
}

}  // namespace
}  // namespace testing
}  // namespace mec
