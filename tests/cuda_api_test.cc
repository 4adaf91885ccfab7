// The CUDA backend's API around plans: mec::conv2d() on a CUDA context
// (including a workspace the device cannot hold: kOutOfMemory), run()
// allocating no device memory, the workspace formulas of docs/cuda.md, and
// bad input (contexts, descriptors, run() arguments, CUDA errors as
// statuses). Split from cuda_algorithms_test.cc, which keeps the
// algorithm sweeps. Every test skips when no GPU is present.
#include <cstdint>
#include <string>
#include <vector>

#include "cuda_test_util.h"

namespace mec {
namespace testing {
namespace {

// mec::conv2d() on a CUDA context: the workspace is device memory that the
// call allocates and frees; a workspace the device cannot hold is
// kOutOfMemory (never an abort), and the context works afterwards.
TEST_F(CudaAlgorithms, Conv2dConvenience) {
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  Conv2dDesc huge;
  std::string e;
  ASSERT_TRUE(parse_shape("n262144h32w32c64k64r3s3p1", &huge, &e)) << e;
  size_t free_bytes = 0, total_bytes = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  for (Algorithm a : {Algorithm::kIm2col, Algorithm::kMecA, Algorithm::kMecB}) {
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(huge, a, ctx, &plan), Status::kSuccess) << last_error();
    // The tensors are never read: the workspace is allocated first, and it
    // exceeds the device (so the fake pointers below are never touched).
    ASSERT_GT(plan->workspace_bytes(), total_bytes) << algorithm_name(a);
    const float* fake = reinterpret_cast<const float*>(uintptr_t(4096));
    const Status st = conv2d(huge, a, ctx, fake, fake, nullptr, const_cast<float*>(fake));
    EXPECT_TRUE(st == Status::kOutOfMemory || st == Status::kInvalidArgument)
        << algorithm_name(a) << ": " << status_string(st) << " " << last_error();
    EXPECT_NE(std::string(last_error()).find("workspace"), std::string::npos) << last_error();
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);

  // A normal call afterwards, against the reference.
  Problem pr(ConvTester().batch(2).input(13, 11).channels(8, 12).kernel(3, 3).pad(1).desc(), true,
             31);
  const Conv2dDesc& d = pr.desc;
  DeviceBuffer src(d.src_elems() * 4), w(d.weight_elems() * 4), bias(d.k * 4),
      dst(d.dst_elems() * 4);
  src.upload(pr.src.data());
  w.upload(pr.weights.data());
  bias.upload(pr.bias.data());
  for (Algorithm a : {Algorithm::kMec, Algorithm::kFft, Algorithm::kWinograd, Algorithm::kDirect}) {
    ASSERT_EQ(cudaMemset(dst.get(), 0xFF, d.dst_elems() * 4), cudaSuccess);
    ASSERT_EQ(conv2d(d, a, ctx, src.get(), w.get(), bias.get(), dst.get()), Status::kSuccess)
        << algorithm_name(a) << ": " << last_error();
    // conv2d() has waited for the stream before returning.
    std::vector<float> out(d.dst_elems());
    ASSERT_EQ(cudaMemcpy(out.data(), dst.get(), out.size() * 4, cudaMemcpyDeviceToHost),
              cudaSuccess);
    EXPECT_LE(reference::max_rel_error(out.data(), pr.expected.data(), d.dst_elems()), tolerance(a))
        << algorithm_name(a);
  }
}

// run() allocates no device memory: after a first run (which may load
// kernel modules lazily), further runs leave the device's free memory as it
// was. cuFFT's work area is in our workspace (cufftSetAutoAllocation(0)).
TEST_F(CudaAlgorithms, RunAllocatesNothing) {
  Problem pr(ConvTester().batch(3).input(30, 26).channels(16, 24).kernel(3, 3).pad(1).desc(), true,
             13);
  const Conv2dDesc& d = pr.desc;
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  DeviceBuffer src(d.src_elems() * 4), w(d.weight_elems() * 4), dst(d.dst_elems() * 4);
  src.upload(pr.src.data());
  w.upload(pr.weights.data());
  for (Algorithm a : {Algorithm::kFft, Algorithm::kWinogradF2, Algorithm::kWinogradF4,
                      Algorithm::kMecA, Algorithm::kMecB, Algorithm::kIm2col}) {
    for (bool packed : {false, true}) {
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(d, a, ctx, &plan), Status::kSuccess) << last_error();
      if (packed) {
        ASSERT_EQ(plan->set_weights(w.get()), Status::kSuccess) << last_error();
      }
      DeviceBuffer ws(plan->workspace_bytes());
      const float* weights = packed ? nullptr : w.get();
      auto run = [&] {
        EXPECT_EQ(plan->run(src.get(), weights, nullptr, dst.get(), ws.get<void>(),
                            plan->workspace_bytes()),
                  Status::kSuccess)
            << last_error();
        EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
      };
      run();
      size_t free_before = 0, free_after = 0, total = 0;
      ASSERT_EQ(cudaMemGetInfo(&free_before, &total), cudaSuccess);
      for (int i = 0; i < 3; ++i) run();
      ASSERT_EQ(cudaMemGetInfo(&free_after, &total), cudaSuccess);
      EXPECT_EQ(free_before, free_after) << algorithm_name(a) << (packed ? " packed" : "");
    }
  }
}

// Workspace sizes are the documented formulas (docs/cuda.md).
TEST_F(CudaAlgorithms, WorkspaceFormulas) {
  Conv2dDesc d;
  std::string e;
  ASSERT_TRUE(parse_shape("n3h20w18c8k16r3s3p1", &d, &e)) << e;
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  const size_t lowered = size_t(d.n * d.q() * (d.h + 2) * d.s * d.c) * 4;
  const size_t pointers = size_t(3 * d.n * d.p()) * sizeof(void*);
  auto bytes = [&](Algorithm a) {
    std::unique_ptr<Conv2dPlan> plan;
    EXPECT_EQ(Conv2dPlan::create(d, a, ctx, &plan), Status::kSuccess) << last_error();
    return plan ? plan->workspace_bytes() : size_t(0);
  };
  EXPECT_EQ(bytes(Algorithm::kDirect), 0u);
  EXPECT_EQ(bytes(Algorithm::kIm2col), size_t(d.n * d.p() * d.q() * 9 * d.c) * 4);
  EXPECT_EQ(bytes(Algorithm::kMecA), lowered);
  EXPECT_EQ(bytes(Algorithm::kMecB), (lowered + 255) / 256 * 256 + pointers);
  // 11x11 over RGB at stride 4 (cv1's kind): 27 padded rows, lowered as 28
  // so that every window starts on a 16-byte boundary (kernels.h).
  Conv2dDesc d4;
  ASSERT_TRUE(parse_shape("n2h27w27c3k8r11s11u4", &d4, &e)) << e;
  std::unique_ptr<Conv2dPlan> plan4;
  ASSERT_EQ(Conv2dPlan::create(d4, Algorithm::kMecA, ctx, &plan4), Status::kSuccess);
  EXPECT_EQ(plan4->workspace_bytes(), size_t(d4.n * d4.q() * 28 * d4.s * d4.c) * 4);
  // Winograd (docs/cuda.md): U + V + M for one block of all T tiles here.
  auto align = [](size_t b) { return (b + 255) / 256 * 256; };
  for (int m : {2, 4}) {
    const size_t a2 = size_t((m + 2) * (m + 2));
    const size_t tiles = size_t(d.n * ((d.p() + m - 1) / m) * ((d.q() + m - 1) / m));
    const size_t u = 4 * a2 * d.k * d.c, v = 4 * a2 * tiles * d.c, mm = 4 * a2 * tiles * d.k;
    const Algorithm alg = m == 2 ? Algorithm::kWinogradF2 : Algorithm::kWinogradF4;
    EXPECT_EQ(bytes(alg), align(u) + align(v) + mm);
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(d, alg, ctx, &plan), Status::kSuccess);
    DeviceBuffer w(d.weight_elems() * 4);
    ASSERT_EQ(cudaMemset(w.get(), 0, d.weight_elems() * 4), cudaSuccess);
    ASSERT_EQ(plan->set_weights(w.get()), Status::kSuccess) << last_error();
    EXPECT_EQ(plan->persistent_bytes(), u);
    EXPECT_EQ(plan->workspace_bytes(), align(v) + mm);
  }
  // FFT: the regions before cuFFT's work area (whose size cuFFT decides);
  // after set_weights() the kernel spectra (8*F*k*c) move to plan memory.
  std::unique_ptr<Conv2dPlan> fft;
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kFft, ctx, &fft), Status::kSuccess) << last_error();
  const size_t before = fft->workspace_bytes();
  DeviceBuffer w(d.weight_elems() * 4);
  ASSERT_EQ(cudaMemset(w.get(), 0, d.weight_elems() * 4), cudaSuccess);
  ASSERT_EQ(fft->set_weights(w.get()), Status::kSuccess) << last_error();
  EXPECT_GT(fft->persistent_bytes(), 0u);
  EXPECT_GE(before, fft->workspace_bytes() + fft->persistent_bytes());
}

TEST(CudaBadInput, Errors) {
  SKIP_WITHOUT_GPU();
  Context ctx;
  EXPECT_EQ(Context::cuda(nullptr), Status::kInvalidArgument);
  EXPECT_EQ(Context::cuda(&ctx, nullptr, -1), Status::kInvalidArgument);
  EXPECT_NE(std::string(last_error()).find("device"), std::string::npos) << last_error();
  EXPECT_EQ(Context::cuda(&ctx, nullptr, 1 << 20), Status::kInvalidArgument);
  ASSERT_EQ(Context::cuda(&ctx), Status::kSuccess) << last_error();
  EXPECT_EQ(ctx.device(), Device::kCuda);
  EXPECT_FALSE(ctx.allow_tf32());

  Conv2dDesc d;
  std::string e;
  ASSERT_TRUE(parse_shape("n2h9w9c4k8r3s3", &d, &e)) << e;
  std::unique_ptr<Conv2dPlan> plan;
  EXPECT_EQ(Conv2dPlan::create(d, Algorithm::kFft, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(Conv2dPlan::create(d, Algorithm::kWinograd, ctx, &plan), Status::kSuccess);
  // FFT declines what the CPU's declines: stride product above 64, kernel
  // extent above 1024 (here 1025 through dilation).
  for (const char* shape : {"n1h200w200c1k1r1s1u65", "n1h2000w9c1k1r2s1dh1024"}) {
    Conv2dDesc other;
    ASSERT_TRUE(parse_shape(shape, &other, &e)) << e;
    EXPECT_EQ(Conv2dPlan::create(other, Algorithm::kFft, ctx, &plan), Status::kUnsupported)
        << shape;
  }
  for (const char* shape :
       {"n2h9w9c4k8r5s5", "n2h9w9c4k8r3s3u2", "n2h9w9c4k8r3s3d2", "n1h9w9c4k8r3s1"}) {
    Conv2dDesc other;
    ASSERT_TRUE(parse_shape(shape, &other, &e)) << e;
    for (Algorithm a : winograd_algorithms()) {
      EXPECT_EQ(Conv2dPlan::create(other, a, ctx, &plan), Status::kUnsupported) << shape;
      EXPECT_NE(std::string(last_error()).find("3x3"), std::string::npos) << last_error();
    }
  }
  Conv2dDesc bad = d;
  bad.stride_h = 0;
  EXPECT_EQ(Conv2dPlan::create(bad, Algorithm::kMec, ctx, &plan), Status::kInvalidArgument);

  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMecB, ctx, &plan), Status::kSuccess);
  DeviceBuffer src(d.src_elems() * 4), w(d.weight_elems() * 4), dst(d.dst_elems() * 4),
      ws(plan->workspace_bytes());
  EXPECT_EQ(plan->run(src.get(), w.get(), nullptr, dst.get(), ws.get<void>(),
                      plan->workspace_bytes() - 1),
            Status::kInsufficientWorkspace);
  EXPECT_EQ(
      plan->run(nullptr, w.get(), nullptr, dst.get(), ws.get<void>(), plan->workspace_bytes()),
      Status::kInvalidArgument);
  EXPECT_EQ(
      plan->run(src.get(), nullptr, nullptr, dst.get(), ws.get<void>(), plan->workspace_bytes()),
      Status::kInvalidArgument);
  ASSERT_EQ(plan->set_weights(w.get()), Status::kSuccess) << last_error();
  EXPECT_EQ(
      plan->run(src.get(), w.get(), nullptr, dst.get(), ws.get<void>(), plan->workspace_bytes()),
      Status::kInvalidArgument);
  // A CUDA error is reported as a status with CUDA's message: a host
  // pointer as the weights makes the device copy in set_weights() fail.
  std::vector<float> host_weights(d.weight_elems(), 1.0f);
  std::unique_ptr<Conv2dPlan> plan2;
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMecA, ctx, &plan2), Status::kSuccess);
  const Status st = plan2->set_weights(reinterpret_cast<const float*>(0x10));
  EXPECT_EQ(st, Status::kBackendError);
  EXPECT_NE(std::string(last_error()).find("CUDA error"), std::string::npos) << last_error();
}

}  // namespace
}  // namespace testing
}  // namespace mec
