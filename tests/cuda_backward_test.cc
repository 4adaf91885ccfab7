// The CUDA backward passes (direct, im2col, MEC, auto) against the
// double-precision references, as backward_test.cc checks the CPU's: random
// shapes, awkward ones in every filter layout, the paper's smaller layers at
// batch 1 and 8, raw and packed weights, fp32 and TF32; outputs poisoned
// with NaN, the workspace with kWorkspaceByte and guard bytes past
// workspace_bytes() that must stay untouched; a second weight-gradient run
// must give the same bits. Skips without a GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "backward_truth.h"
#include "cuda_test_util.h"
#include "random_desc.h"

namespace mec {
namespace testing {
namespace {

const Algorithm kAlgorithms[] = {Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMec,
                                 Algorithm::kAuto};

DeviceBuffer* upload(const std::vector<float>& host) {
  DeviceBuffer* buffer = new DeviceBuffer(host.size() * 4);
  buffer->upload(host.data());
  return buffer;
}

// The first `count` floats of a device buffer.
std::vector<float> download(const DeviceBuffer& buffer, int64_t count) {
  std::vector<float> host(static_cast<size_t>(count));
  EXPECT_EQ(cudaMemcpy(host.data(), buffer.get(), host.size() * 4, cudaMemcpyDeviceToHost),
            cudaSuccess);
  return host;
}

class CudaBackward : public CudaAlgorithms {
 protected:
  // Both passes of `a` on d against the references.
  void check(const Conv2dDesc& d, Algorithm a, bool packed, bool tf32, uint32_t seed) {
    const BackwardTruth t = backward_truth(d, seed);
    const std::vector<float>&src = t.src, &w = t.weights, &ddst = t.ddst;
    const std::vector<double>&dsrc_ref = t.dsrc, &dw_ref = t.dweights, &db_ref = t.dbias;
    Context ctx;
    ASSERT_EQ(Context::cuda(&ctx, stream_, 0), Status::kSuccess) << last_error();
    ctx.set_allow_tf32(tf32);
    std::unique_ptr<DeviceBuffer> src_d(upload(src)), w_d(upload(w)), ddst_d(upload(ddst));
    DeviceBuffer dsrc_d(d.src_elems() * 4), dw_d(d.weight_elems() * 4), db_d(d.k * 4);
    const std::string where = std::string(algorithm_name(a)) + (tf32 ? " tf32" : "") +
                              (packed ? " packed" : "") + " on " + describe(d);

    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(d, Pass::kBackwardData, a, ctx, &plan), Status::kSuccess)
        << where << ": " << last_error();
    if (packed) {
      ASSERT_EQ(plan->set_weights(w_d->get()), Status::kSuccess) << last_error();
      EXPECT_EQ(cudaMemset(w_d->get(), 0xFF, w.size() * 4), cudaSuccess);  // never read again
    }
    std::unique_ptr<DeviceBuffer> ws(workspace(*plan));
    EXPECT_EQ(cudaMemset(dsrc_d.get(), 0xFF, d.src_elems() * 4), cudaSuccess);
    ASSERT_EQ(plan->run_backward_data(ddst_d->get(), packed ? nullptr : w_d->get(), dsrc_d.get(),
                                      ws->get<void>(), plan->workspace_bytes()),
              Status::kSuccess)
        << where << ": " << last_error();
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess) << where;
    expect_guard(*ws, plan->workspace_bytes(), where);
    const double bound = tolerance(a, tf32);
    const std::vector<float> dsrc = download(dsrc_d, d.src_elems());
    EXPECT_LE(reference::max_rel_error(dsrc.data(), dsrc_ref.data(), d.src_elems()), bound)
        << "bwd_data " << plan->variant() << " " << where;

    ASSERT_EQ(Conv2dPlan::create(d, Pass::kBackwardWeights, a, ctx, &plan), Status::kSuccess)
        << where << ": " << last_error();
    ws.reset(workspace(*plan));
    EXPECT_EQ(cudaMemset(dw_d.get(), 0xFF, d.weight_elems() * 4), cudaSuccess);
    EXPECT_EQ(cudaMemset(db_d.get(), 0xFF, d.k * 4), cudaSuccess);
    ASSERT_EQ(plan->run_backward_weights(src_d->get(), ddst_d->get(), dw_d.get(), db_d.get(),
                                         ws->get<void>(), plan->workspace_bytes()),
              Status::kSuccess)
        << where << ": " << last_error();
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess) << where;
    expect_guard(*ws, plan->workspace_bytes(), where);
    const std::vector<float> dw = download(dw_d, d.weight_elems()), db = download(db_d, d.k);
    EXPECT_LE(reference::max_rel_error(dw.data(), dw_ref.data(), d.weight_elems()), bound)
        << "bwd_weights " << plan->variant() << " " << where;
    EXPECT_LE(reference::max_rel_error(db.data(), db_ref.data(), d.k), bound) << "dbias " << where;
    // The same bits on a second run (no dbias this time).
    EXPECT_EQ(cudaMemset(dw_d.get(), 0xFF, d.weight_elems() * 4), cudaSuccess);
    ASSERT_EQ(plan->run_backward_weights(src_d->get(), ddst_d->get(), dw_d.get(), nullptr,
                                         ws->get<void>(), plan->workspace_bytes()),
              Status::kSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    EXPECT_EQ(download(dw_d, d.weight_elems()), dw) << plan->variant() << " " << where;
  }

 private:
  // The plan's workspace plus kGuardBytes, all kWorkspaceByte.
  static DeviceBuffer* workspace(const Conv2dPlan& plan) {
    DeviceBuffer* ws = new DeviceBuffer(plan.workspace_bytes() + kGuardBytes);
    EXPECT_EQ(cudaMemset(ws->get<void>(), kWorkspaceByte, plan.workspace_bytes() + kGuardBytes),
              cudaSuccess);
    return ws;
  }
  static void expect_guard(const DeviceBuffer& ws, size_t bytes, const std::string& where) {
    std::vector<unsigned char> guard(kGuardBytes);
    EXPECT_EQ(cudaMemcpy(guard.data(), ws.get<unsigned char>() + bytes, kGuardBytes,
                         cudaMemcpyDeviceToHost),
              cudaSuccess);
    for (unsigned char b : guard) {
      ASSERT_EQ(b, kWorkspaceByte) << "wrote past workspace_bytes(): " << where;
    }
  }
};

TEST_F(CudaBackward, RandomShapes) {
  std::mt19937 rng(41);
  for (int i = 0; i < 60; ++i) {
    const Conv2dDesc d = random_desc(rng);
    for (Algorithm a : kAlgorithms) check(d, a, i % 2 == 1, i % 5 == 4, 900 + i);
  }
}

TEST_F(CudaBackward, AwkwardShapes) {
  const char* shapes[] = {"n2h9w7c3k4r2s2u3",
                          "n1h5w6c2k3r2s3p3",
                          "n2h11w13c4k5r3s3d2",
                          "n1h12w12c8k8r3s3p1g8",
                          "n2h7w5c6k12r3s3p1u2g6",
                          "n3h13w11c5k7r1s1",
                          "n1h17w19c3k2r5s3pt2pb0pl1pr3u2",
                          "n1h8w8c4k4r3s3p1uh1uw2dh2dw1",
                          "n4h10w10c16k16r3s3p1g16",
                          "n2h9w9c6k4r3s3uh3uw1"};
  for (const char* text : shapes) {
    Conv2dDesc d;
    std::string error;
    ASSERT_TRUE(parse_shape(text, &d, &error)) << error;
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      d.filter_layout = layout;
      for (Algorithm a : kAlgorithms) check(d, a, layout == FilterLayout::kOIHW, false, 7);
    }
  }
}

TEST_F(CudaBackward, PaperLayers) {
  // cv6, cv10-cv12 at batch 1 and 8 (small enough for the double reference).
  for (const char* text :
       {"h12w12c256k512r3s3", "h28w28c128k128r3s3", "h14w14c256k256r3s3", "h7w7c512k512r3s3"}) {
    for (int n : {1, 8}) {
      Conv2dDesc d;
      std::string error;
      ASSERT_TRUE(parse_shape(text, &d, &error)) << error;
      d.n = n;
      for (Algorithm a : {Algorithm::kIm2col, Algorithm::kMec}) {
        for (bool tf32 : {false, true}) check(d, a, true, tf32, 3);
      }
    }
  }
}

TEST_F(CudaBackward, WorkspaceLimitAndUnsupported) {
  Conv2dDesc d;
  std::string error;
  ASSERT_TRUE(parse_shape("n2h20w20c8k16r3s3p1", &d, &error)) << error;
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_, 0), Status::kSuccess) << last_error();
  std::unique_ptr<Conv2dPlan> plan;
  for (Pass pass : {Pass::kBackwardData, Pass::kBackwardWeights}) {
    for (size_t limit : {size_t(0), size_t(1) << 14, SIZE_MAX}) {
      ctx.set_workspace_limit(limit);
      ASSERT_EQ(Conv2dPlan::create(d, pass, Algorithm::kAuto, ctx, &plan), Status::kSuccess)
          << last_error();
      EXPECT_LE(plan->workspace_bytes(), limit) << plan->variant();
    }
    ctx.set_workspace_limit(SIZE_MAX);
    for (Algorithm a : {Algorithm::kFft, Algorithm::kWinograd}) {
      EXPECT_EQ(Conv2dPlan::create(d, pass, a, ctx, &plan), Status::kUnsupported);
    }
  }
  ASSERT_EQ(Conv2dPlan::create(d, Pass::kBackwardWeights, Algorithm::kMec, ctx, &plan),
            Status::kSuccess);
  DeviceBuffer w(d.weight_elems() * 4);
  EXPECT_EQ(plan->set_weights(w.get()), Status::kInvalidArgument);
}

}  // namespace
}  // namespace testing
}  // namespace mec
