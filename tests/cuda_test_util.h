// Shared by the CUDA test binaries (cuda_algorithms_test.cc,
// cuda_mec_paths_test.cc, cuda_api_test.cc): the GPU check that skips
// without a device, device buffers, and the CUDA half of the one checker
// (CudaCheckDevice behind check_plan() of conv_tester.h): the device dst
// poisoned with NaN, the workspace with kWorkspaceByte plus guard bytes
// past workspace_bytes() that must stay untouched.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "common/shape_string.h"
#include "conv_tester.h"

namespace mec {
namespace testing {

inline bool have_gpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

#define SKIP_WITHOUT_GPU()            \
  if (!::mec::testing::have_gpu()) {  \
    GTEST_SKIP() << "no CUDA device"; \
  }

// A device allocation that frees itself.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes > 0) {
      EXPECT_EQ(cudaMalloc(&ptr_, bytes), cudaSuccess);
    }
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T = float>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  void upload(const void* host) {
    EXPECT_EQ(cudaMemcpy(ptr_, host, bytes_, cudaMemcpyHostToDevice), cudaSuccess);
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_;
};

// Bytes past workspace_bytes() that the plan must leave as kWorkspaceByte.
constexpr size_t kGuardBytes = 256;

struct CheckOptions {
  bool packed = false;
  bool tf32 = false;
  size_t misalign_floats = 0;  // offsets src and dst: exercises the scalar kernels
  int64_t mec_threshold = -1;  // -1: the context's default
  // The tuning overrides (automatic here, whatever the environment says).
  CudaTile tile = {};
  CudaFromSrc from_src = CudaFromSrc::kAuto;
  CudaGemm gemm = CudaGemm::kAuto;
};

// "MxN" or "MxNxS" ("auto" for the plan's choice), for messages.
inline std::string tile_name(CudaTile t) {
  if (t.m == 0) return "auto";
  std::string name = std::to_string(t.m) + "x" + std::to_string(t.n);
  return t.splits > 0 ? name + "x" + std::to_string(t.splits) : name;
}

inline bool transforms_weights(Algorithm a) {
  return a == Algorithm::kFft || a == Algorithm::kWinograd || a == Algorithm::kWinogradF2 ||
         a == Algorithm::kWinogradF4;
}

inline bool winograd_applies(const Conv2dDesc& d) {
  return d.r == 3 && d.s == 3 && d.stride_h == 1 && d.stride_w == 1 && d.dilation_h == 1 &&
         d.dilation_w == 1;
}

// The CUDA half of a check: inputs copied to device buffers (src and dst
// offset by opt.misalign_floats), the plan's context made from `opt`.
class CudaCheckDevice : public CheckDevice {
 public:
  CudaCheckDevice(cudaStream_t stream, const CheckOptions& opt) : stream_(stream), opt_(opt) {
    EXPECT_EQ(Context::cuda(&ctx_, stream, 0), Status::kSuccess) << last_error();
    ctx_.set_allow_tf32(opt.tf32);
    if (opt.mec_threshold >= 0) ctx_.set_mec_threshold(opt.mec_threshold);
    ctx_.set_cuda_tile(opt.tile);
    ctx_.set_cuda_from_src(opt.from_src);
    ctx_.set_cuda_gemm(opt.gemm);
  }
  const Context& context() const override { return ctx_; }

  Status run(const Problem& pr, Conv2dPlan& plan, std::vector<float>* out) override {
    const Conv2dDesc& d = pr.desc;
    const CheckOptions& opt = opt_;
    const size_t off = opt.misalign_floats;
    DeviceBuffer src((d.src_elems() + off) * 4), weights(d.weight_elems() * 4),
        bias(std::max<size_t>(pr.bias.size(), 1) * 4), dst((d.dst_elems() + off) * 4);
    EXPECT_EQ(cudaMemcpy(src.get() + off, pr.src.data(), d.src_elems() * 4, cudaMemcpyHostToDevice),
              cudaSuccess);
    weights.upload(pr.weights.data());
    if (!pr.bias.empty()) {
      EXPECT_EQ(cudaMemcpy(bias.get(), pr.bias.data(), pr.bias.size() * 4, cudaMemcpyHostToDevice),
                cudaSuccess);
    }
    if (opt.packed) {
      EXPECT_EQ(plan.set_weights(weights.get()), Status::kSuccess) << last_error();
      // Plain algorithms keep a copy of the weights; FFT and Winograd their
      // transforms (checked against the formulas in WorkspaceFormulas).
      if (!transforms_weights(plan.algorithm())) {
        EXPECT_EQ(plan.persistent_bytes(), size_t(d.weight_elems()) * 4);
      } else {
        EXPECT_GT(plan.persistent_bytes(), 0u);
      }
      // The plan must not read the caller's weights after set_weights().
      EXPECT_EQ(cudaMemset(weights.get(), 0xFF, d.weight_elems() * 4), cudaSuccess);
    }
    const size_t ws_bytes = plan.workspace_bytes();
    DeviceBuffer workspace(ws_bytes + kGuardBytes);
    EXPECT_EQ(cudaMemset(workspace.get<void>(), kWorkspaceByte, ws_bytes + kGuardBytes),
              cudaSuccess);
    EXPECT_EQ(cudaMemset(dst.get(), 0xFF, (d.dst_elems() + off) * 4), cudaSuccess);  // NaN
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    const Status st = plan.run(src.get() + off, opt.packed ? nullptr : weights.get(),
                               pr.bias.empty() ? nullptr : bias.get(), dst.get() + off,
                               ws_bytes > 0 ? workspace.get<void>() : nullptr, ws_bytes);
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);

    out->resize(d.dst_elems());
    EXPECT_EQ(cudaMemcpy(out->data(), dst.get() + off, out->size() * 4, cudaMemcpyDeviceToHost),
              cudaSuccess);
    std::vector<unsigned char> guard(kGuardBytes);
    EXPECT_EQ(cudaMemcpy(guard.data(), workspace.get<unsigned char>() + ws_bytes, kGuardBytes,
                         cudaMemcpyDeviceToHost),
              cudaSuccess);
    EXPECT_TRUE(std::all_of(guard.begin(), guard.end(),
                            [](unsigned char b) { return b == kWorkspaceByte; }))
        << algorithm_name(plan.algorithm()) << " wrote past workspace_bytes() on " << describe(d);
    return st;
  }

  // The bound of the algorithm that ran, with TF32 where allowed.
  double bound(Algorithm, Algorithm ran) const override { return tolerance(ran, opt_.tf32); }
  std::string label() const override {
    return std::string(opt_.tf32 ? ", tf32" : "") + (opt_.packed ? ", packed" : "");
  }

 private:
  cudaStream_t stream_;
  CheckOptions opt_;
  Context ctx_;
};

// Runs `algorithm` on the GPU and checks it against the reference; returns
// the measured error.
inline double check_cuda(const Problem& pr, Algorithm algorithm, cudaStream_t stream,
                         const CheckOptions& opt = {}) {
  CudaCheckDevice device(stream, opt);
  return check_plan(pr, algorithm, device);
}

inline std::vector<Algorithm> cuda_algorithms() {
  return {Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMec,
          Algorithm::kMecA,   Algorithm::kMecB,   Algorithm::kFft};
}

inline std::vector<Algorithm> winograd_algorithms() {
  return {Algorithm::kWinograd, Algorithm::kWinogradF2, Algorithm::kWinogradF4};
}

// Winograd where it applies; elsewhere plan creation must say kUnsupported.
inline void check_winograd(const Problem& pr, cudaStream_t stream, const CheckOptions& opt = {}) {
  for (Algorithm a : winograd_algorithms()) {
    if (winograd_applies(pr.desc)) {
      check_cuda(pr, a, stream, opt);
      continue;
    }
    Context ctx;
    ASSERT_EQ(Context::cuda(&ctx, stream, 0), Status::kSuccess) << last_error();
    std::unique_ptr<Conv2dPlan> plan;
    EXPECT_EQ(Conv2dPlan::create(pr.desc, a, ctx, &plan), Status::kUnsupported)
        << describe(pr.desc);
  }
}

class CudaAlgorithms : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_GPU();
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  void TearDown() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  cudaStream_t stream_ = nullptr;
};

inline std::vector<NamedShape> paper_layers() {
  std::vector<NamedShape> shapes;
  std::string error;
  EXPECT_TRUE(read_shape_file(MEC_SOURCE_DIR "/bench/shapes/paper.txt", &shapes, &error)) << error;
  EXPECT_EQ(shapes.size(), 12u);
  return shapes;
}

}  // namespace testing
}  // namespace mec
