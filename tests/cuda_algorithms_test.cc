// Every CUDA algorithm against the CPU double-precision reference, on random
// data with the device dst poisoned with NaN and the workspace with a byte
// pattern plus guard bytes past workspace_bytes(): awkward shapes in every
// filter layout, a seeded random sweep, the paper's layers at batch 1 and 32
// (strict fp32 and TF32), packed weights, misaligned pointers (the scalar
// kernel paths), and bad input; FFT (cuFFT) and Winograd F(2x2)/F(4x4) on
// the same checks where they apply (Winograd: 3x3, stride 1, dilation 1,
// else kUnsupported); mec::conv2d() on a CUDA context, including a workspace
// the device cannot hold (kOutOfMemory). Every test skips when no GPU is
// present.
#include <cuda_runtime.h>

#include <algorithm>
#include <random>
#include <string>

#include "common/shape_string.h"
#include "conv_tester.h"

namespace mec {
namespace testing {
namespace {

bool have_gpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

#define SKIP_WITHOUT_GPU()            \
  if (!have_gpu()) {                  \
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

constexpr size_t kGuardBytes = 256;
constexpr unsigned char kWorkspaceByte = 0xA5;

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
std::string tile_name(CudaTile t) {
  if (t.m == 0) return "auto";
  std::string name = std::to_string(t.m) + "x" + std::to_string(t.n);
  return t.splits > 0 ? name + "x" + std::to_string(t.splits) : name;
}

bool transforms_weights(Algorithm a) {
  return a == Algorithm::kFft || a == Algorithm::kWinograd || a == Algorithm::kWinogradF2 ||
         a == Algorithm::kWinogradF4;
}

bool winograd_applies(const Conv2dDesc& d) {
  return d.r == 3 && d.s == 3 && d.stride_h == 1 && d.stride_w == 1 && d.dilation_h == 1 &&
         d.dilation_w == 1;
}

// Runs `algorithm` on the GPU and checks it against the reference; returns
// the measured error.
double check_cuda(const Problem& pr, Algorithm algorithm, cudaStream_t stream,
                  const CheckOptions& opt = {}) {
  const Conv2dDesc& d = pr.desc;
  Context ctx;
  EXPECT_EQ(Context::cuda(&ctx, stream, 0), Status::kSuccess) << last_error();
  ctx.set_allow_tf32(opt.tf32);
  if (opt.mec_threshold >= 0) ctx.set_mec_threshold(opt.mec_threshold);
  ctx.set_cuda_tile(opt.tile);
  ctx.set_cuda_from_src(opt.from_src);
  ctx.set_cuda_gemm(opt.gemm);
  std::unique_ptr<Conv2dPlan> plan;
  Status st = Conv2dPlan::create(d, algorithm, ctx, &plan);
  EXPECT_EQ(st, Status::kSuccess) << algorithm_name(algorithm) << ": " << last_error() << " on "
                                  << describe(d);
  if (st != Status::kSuccess) return HUGE_VAL;

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
    EXPECT_EQ(plan->set_weights(weights.get()), Status::kSuccess) << last_error();
    // Plain algorithms keep a copy of the weights; FFT and Winograd their
    // transforms (checked against the formulas in WorkspaceFormulas).
    if (!transforms_weights(plan->algorithm())) {
      EXPECT_EQ(plan->persistent_bytes(), size_t(d.weight_elems()) * 4);
    } else {
      EXPECT_GT(plan->persistent_bytes(), 0u);
    }
    // The plan must not read the caller's weights after set_weights().
    EXPECT_EQ(cudaMemset(weights.get(), 0xFF, d.weight_elems() * 4), cudaSuccess);
  }
  const size_t ws_bytes = plan->workspace_bytes();
  DeviceBuffer workspace(ws_bytes + kGuardBytes);
  EXPECT_EQ(cudaMemset(workspace.get<void>(), kWorkspaceByte, ws_bytes + kGuardBytes), cudaSuccess);
  EXPECT_EQ(cudaMemset(dst.get(), 0xFF, (d.dst_elems() + off) * 4), cudaSuccess);  // NaN
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);

  st = plan->run(src.get() + off, opt.packed ? nullptr : weights.get(),
                 pr.bias.empty() ? nullptr : bias.get(), dst.get() + off,
                 ws_bytes > 0 ? workspace.get<void>() : nullptr, ws_bytes);
  EXPECT_EQ(st, Status::kSuccess) << last_error();
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);

  std::vector<float> out(d.dst_elems());
  EXPECT_EQ(cudaMemcpy(out.data(), dst.get() + off, out.size() * 4, cudaMemcpyDeviceToHost),
            cudaSuccess);
  std::vector<unsigned char> guard(kGuardBytes);
  EXPECT_EQ(cudaMemcpy(guard.data(), workspace.get<unsigned char>() + ws_bytes, kGuardBytes,
                       cudaMemcpyDeviceToHost),
            cudaSuccess);
  EXPECT_TRUE(
      std::all_of(guard.begin(), guard.end(), [](unsigned char b) { return b == kWorkspaceByte; }))
      << algorithm_name(algorithm) << " wrote past workspace_bytes() on " << describe(d);

  const double err = reference::max_rel_error(out.data(), pr.expected.data(), d.dst_elems());
  EXPECT_LE(err, tolerance(plan->algorithm(), opt.tf32))
      << algorithm_name(algorithm) << " (ran as " << algorithm_name(plan->algorithm())
      << (opt.tf32 ? ", tf32" : "") << (opt.packed ? ", packed" : "") << ") on " << describe(d);
  return err;
}

std::vector<Algorithm> cuda_algorithms() {
  return {Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMec,
          Algorithm::kMecA,   Algorithm::kMecB,   Algorithm::kFft};
}

std::vector<Algorithm> winograd_algorithms() {
  return {Algorithm::kWinograd, Algorithm::kWinogradF2, Algorithm::kWinogradF4};
}

// Winograd where it applies; elsewhere plan creation must say kUnsupported.
void check_winograd(const Problem& pr, cudaStream_t stream, const CheckOptions& opt = {}) {
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

// Every tile shape of our MEC GEMM kernel (forced with Context::set_cuda_tile),
// with the split of K the plan chooses and with forced
// odd splits (the last one shorter; more than the depth's K steps on the
// first case), vector (c % 4 == 0) and scalar A loads, K not a multiple
// of the tile's K step, bias, packed, groups; in strict fp32 (FFMA) and
// with TF32 allowed (mma.sync, run 15).
TEST_F(CudaAlgorithms, MecGemmTiles) {
  const ConvTester cases[] = {
      ConvTester().input(23, 19).channels(3, 70).kernel(5, 4).pad(1, 2, 0, 1).stride(2, 1),
      ConvTester().batch(2).input(9, 11).channels(36, 130).kernel(3, 3).pad(1),
      ConvTester().batch(4).input(40, 40).channels(4, 66).kernel(3, 3),  // no split
      ConvTester().input(5, 5).channels(520, 33).kernel(3, 3).pad(1),    // deep, few rows
      // RGB at stride 4: L gets a zero row so that its windows are 16-byte aligned (kernels.h)
      ConvTester().batch(3).input(30, 27).channels(3, 96).kernel(11, 11).pad(1, 0, 0, 2).stride(4),
      // groups of at least 64 output channels (a launch per group):
      // 70 per group (scalar B and dst), 64 with 8 input channels, 5 input
      // channels (scalar A) with stride and padding
      ConvTester().batch(2).input(9, 10).channels(24, 140).kernel(3, 3).groups(2).pad(1),
      ConvTester().input(12, 11).channels(24, 192).kernel(3, 2).groups(3).pad(0, 1, 1, 0),
      ConvTester().batch(2).input(13, 9).channels(10, 128).kernel(3, 3).groups(2).stride(2, 1),
  };
  const CudaTile tiles[] = {{128, 128},    {128, 96},    {128, 64},    {64, 64},     {32, 64},
                            {128, 128, 7}, {128, 96, 5}, {128, 64, 3}, {64, 64, 13}, {32, 64, 5}};
  for (const ConvTester& tester : cases) {
    Problem problem(tester.desc(), true, 17);
    for (const CudaTile& tile : tiles) {
      for (bool tf32 : {false, true}) {
        const double err = check_cuda(problem, Algorithm::kMecB, stream_,
                                      {.tf32 = tf32, .mec_threshold = 100000, .tile = tile});
        const double packed_err =
            check_cuda(problem, Algorithm::kMecB, stream_,
                       {.packed = true, .tf32 = tf32, .mec_threshold = 100000, .tile = tile});
        const double worst = std::max(err, packed_err);
        EXPECT_LE(worst, tolerance(Algorithm::kMecB, tf32))
            << tile_name(tile) << (tf32 ? " tf32" : "") << " on " << describe(problem.desc);
        // TF32's 10-bit operands leave errors far above fp32's: below them,
        // the tensor-core path did not run.
        if (tf32) {
          EXPECT_GT(worst, tolerance(Algorithm::kMecB, false)) << tile_name(tile);
        }
      }
    }
  }
}

// kMec on products whose windows the copies can follow - c a multiple of
// 16 (runs 16, 18), or dilation_w == 1 and s*c >= 16 (the RGB layers, runs
// 17-18) - the GEMM kernel does the lowering in its copies
// (mec_gemm_src) - no L, so the workspace is only the OIHW repack - through
// every tile and forced split, fp32 and TF32, with asymmetric padding,
// stride, dilation_w, a deep K, odd k (scalar B), every filter layout,
// misaligned src/dst (4-byte copies); shapes neither cursor follows keep L;
// CudaFromSrc::kNever gives L back. dst overlapping src is refused. (With
// OHWI weights and TF32 this also runs Solution B's batched cuBLAS GEMMs on
// a misaligned dst: fp32 ones there, since TF32 faulted.)
TEST_F(CudaAlgorithms, MecLoweringInCopies) {
  struct Case {
    ConvTester tester;
    bool from_src;  // by kMec's rule
  };
  const Case cases[] = {
      {ConvTester().input(9, 11).channels(16, 70).kernel(3, 3).pad(1, 2, 0, 1).stride(2, 1), true},
      {ConvTester().batch(2).input(12, 10).channels(32, 64).kernel(5, 3).pad(2).dilation(1, 2),
       true},
      {ConvTester().input(7, 7).channels(48, 130).kernel(3, 3).pad(1), true},  // K = 432: splits
      {ConvTester().batch(3).input(6, 9).channels(48, 33).kernel(1, 1).layout(FilterLayout::kOIHW),
       true},
      {ConvTester()
           .input(8, 8)
           .channels(16, 64)
           .kernel(2, 3)
           .pad(0, 1, 2, 0)
           .layout(FilterLayout::kOHWI),
       false},  // OHWI: L and cuBLAS
      // c % 16 != 0: kernel rows of s*c >= 16 contiguous floats (run 17) -
      // steps across kernel rows and into the padding on either side.
      {ConvTester().input(15, 13).channels(3, 40).kernel(7, 7).pad(3, 2, 1, 3).stride(2), true},
      // (cv1's shape: its windows of L are 16-byte aligned, so L by the fp32 rule)
      {ConvTester().batch(2).input(27, 25).channels(3, 96).kernel(11, 11).stride(4).pad(2), false},
      // 2116 rows, 96 columns: 128 x 96 tiles over L, 64 x 64 from src
      {ConvTester().input(92, 92).channels(3, 96).kernel(7, 7).stride(2).pad(3), true},
      {ConvTester().input(10, 9).channels(6, 17).kernel(3, 3).pad(0, 1, 2, 1).stride(1, 2), true},
      {ConvTester().batch(2).input(9, 9).channels(5, 64).kernel(4, 5).pad(1).layout(
           FilterLayout::kOIHW),
       true},
      {ConvTester().input(11, 12).channels(3, 24).kernel(5, 5).pad(2), false},  // s*c = 15
      {ConvTester().input(11, 12).channels(3, 24).kernel(3, 6).dilation(1, 2), false},
  };
  const CudaTile tiles[] = {{},       {128, 128},    {128, 96},   {128, 64},  {64, 64},
                            {32, 64}, {128, 128, 3}, {64, 64, 5}, {32, 64, 2}};
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  for (const Case& c : cases) {
    Problem problem(c.tester.desc(), true, 29);
    const Conv2dDesc& d = problem.desc;
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
    const size_t repack = d.filter_layout == FilterLayout::kOIHW ? d.weight_elems() * 4 : 0;
    EXPECT_EQ(plan->workspace_bytes() == repack, c.from_src) << describe(d);
    // Every tile reading src (kWhereverItFits: also the FFMA 128 x 128 and
    // 128 x 96 tiles, which kMec's rule keeps on L).
    const CudaFromSrc all = CudaFromSrc::kWhereverItFits;
    for (const CudaTile& tile : tiles) {
      for (bool tf32 : {false, true}) {
        for (bool packed : {false, true}) {
          check_cuda(problem, Algorithm::kMec, stream_,
                     {.packed = packed, .tf32 = tf32, .tile = tile, .from_src = all});
        }
        check_cuda(problem, Algorithm::kMec, stream_,
                   {.tf32 = tf32, .misalign_floats = 1, .tile = tile, .from_src = all});
      }
    }
    ctx.set_cuda_from_src(CudaFromSrc::kNever);
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
    ctx.set_cuda_from_src(CudaFromSrc::kAuto);
    EXPECT_GT(plan->workspace_bytes(), repack) << describe(d);
    check_cuda(problem, Algorithm::kMec, stream_);
  }
  // kMec's rule on products of 128 x 128 and 128 x 96 FFMA tiles at batch 1:
  // 64-wide tiles from src for k = 128, L for k = 96 and 256 (and with TF32,
  // src: no spills there).
  for (int64_t k : {96, 128, 256}) {
    const Conv2dDesc wide = ConvTester().input(48, 48).channels(16, k).kernel(3, 3).pad(1).desc();
    for (bool tf32 : {false, true}) {
      ctx.set_allow_tf32(tf32);
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(wide, Algorithm::kMec, ctx, &plan), Status::kSuccess);
      EXPECT_EQ(plan->workspace_bytes() == 0, k == 128 || tf32) << k << " " << tf32;
    }
    ctx.set_allow_tf32(false);
    check_cuda(Problem(wide, true, 31), Algorithm::kMec, stream_);
  }
  // Products of a batch (>= 65536 rows, run 18), here with outputs wider
  // than the kernel's q <= 64 over L: the kernel from src for k <= 128
  // (the 128 x 128 tile that spills; 128 x 64 for the RGB kernel rows), L
  // and cuBLAS for wider ones and with CudaFromSrc::kNever; with TF32 L and
  // cuBLAS, but the kernel from src for the RGB layers.
  const Conv2dDesc batch64 =
      ConvTester().batch(4).input(128, 128).channels(16, 128).kernel(3, 3).pad(1).desc();
  const Conv2dDesc batch_rgb =
      ConvTester().batch(8).input(184, 184).channels(3, 64).kernel(7, 7).pad(3).stride(2).desc();
  for (const Conv2dDesc& big : {batch64, batch_rgb}) {
    for (int64_t k : {big.k, int64_t(256)}) {
      Conv2dDesc wide = big;
      wide.k = k;
      for (bool tf32 : {false, true}) {
        ctx.set_allow_tf32(tf32);
        std::unique_ptr<Conv2dPlan> plan;
        ASSERT_EQ(Conv2dPlan::create(wide, Algorithm::kMec, ctx, &plan), Status::kSuccess);
        const bool rgb = wide.c == 3;  // with TF32 always from src (run 18)
        EXPECT_EQ(plan->workspace_bytes() == 0, tf32 ? rgb : k <= 128) << describe(wide) << tf32;
      }
      ctx.set_allow_tf32(false);
      ctx.set_cuda_from_src(CudaFromSrc::kNever);
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(wide, Algorithm::kMec, ctx, &plan), Status::kSuccess);
      ctx.set_cuda_from_src(CudaFromSrc::kAuto);
      EXPECT_GT(plan->workspace_bytes(), 0u) << describe(wide);
    }
  }
  check_cuda(Problem(batch64, true, 37), Algorithm::kMec, stream_);
  // In place: dst over src (here the same size) is refused, not computed wrong.
  Conv2dDesc d = ConvTester().input(6, 6).channels(16, 16).kernel(3, 3).pad(1).desc();
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
  ASSERT_EQ(plan->workspace_bytes(), 0u);
  DeviceBuffer buf(d.src_elems() * 4), w(d.weight_elems() * 4);
  EXPECT_EQ(plan->run(buf.get(), w.get(), nullptr, buf.get(), nullptr, 0),
            Status::kInvalidArgument);
  EXPECT_NE(std::string(last_error()).find("overlap"), std::string::npos) << last_error();
}

// Solution B over cuBLAS's batched GEMMs (CudaGemm::kCublas) with TF32
// allowed: TF32 only where every pointer in the arrays and every leading
// dimension is 16-byte aligned (cuBLAS cannot check the pointers) - as on
// the RGB layers at stride 4, whose windows of L are aligned though s*c =
// 33 is not (run 18: cv1 runs on tensor cores) - fp32 where a window, a
// kernel row (dilation_h) in L or in OHWI weights, k or dst is not; each
// right, and memcheck sees no misaligned access. (Where TF32 is allowed,
// cuBLAS may still pick an fp32 kernel for a small product: kEither.)
TEST_F(CudaAlgorithms, MecBatchedCublasTf32) {
  enum class Math { kTensorCores, kFp32, kEither };
  struct Case {
    ConvTester tester;
    Math math;
  };
  const Case cases[] = {
      {ConvTester().input(227, 227).channels(3, 96).kernel(11, 11).stride(4), Math::kTensorCores},
      {ConvTester().batch(2).input(23, 23).channels(3, 64).kernel(7, 7).stride(2),
       Math::kFp32},  // windows 42 floats apart
      {ConvTester().input(64, 60).channels(8, 16).kernel(3, 3).pad(2).dilation(2, 1),
       Math::kEither},
      {ConvTester().input(13, 12).channels(3, 16).kernel(3, 3).pad(2).dilation(2, 1), Math::kFp32},
      {ConvTester().input(60, 60).channels(16, 32).kernel(3, 3).pad(1).layout(FilterLayout::kOHWI),
       Math::kEither},
      {ConvTester().input(10, 10).channels(8, 18).kernel(3, 3).pad(1), Math::kFp32},  // k = 18
      // aligned windows, but the dilated kernel rows are 66 floats apart
      {ConvTester().input(227, 227).channels(3, 96).kernel(11, 11).stride(4).dilation(2, 1),
       Math::kFp32},
      // OHWI: a dilated kernel row steps 6 floats through the weights
      {ConvTester().input(40, 40).channels(2, 16).kernel(2, 3).stride(2, 1).dilation(2, 1).layout(
           FilterLayout::kOHWI),
       Math::kFp32},
  };
  for (const Case& c : cases) {
    Problem problem(c.tester.desc(), true, 41);
    const double err =
        check_cuda(problem, Algorithm::kMecB, stream_, {.tf32 = true, .gemm = CudaGemm::kCublas});
    const bool fp32_error = err <= tolerance(Algorithm::kMecB, false);
    if (c.math != Math::kEither) {
      EXPECT_EQ(fp32_error, c.math == Math::kFp32) << describe(problem.desc);
    }
    const double misaligned =
        check_cuda(problem, Algorithm::kMecB, stream_,
                   {.tf32 = true, .misalign_floats = 1, .gemm = CudaGemm::kCublas});
    EXPECT_LE(misaligned, tolerance(Algorithm::kMecB, false)) << describe(problem.desc);
  }
}

// MEC's grouped kernel (mec_grouped.h: groups with cg * kg <= 4) on the
// shapes it exists for - depthwise 3x3 with stride and asymmetric padding,
// 3x5 with dilation (the run-time kernel size), 5x5 and 7x7, a channel
// multiplier, 2 x 2 groups, a batch above 32 - in every weight layout,
// packed and not, and the same problems through cuBLAS (CudaGemm::kCublas),
// so both paths stay correct.
// The shallow-window kernel (r*s*c <= 32, mec_shallow.h) at every window
// depth it unrolls (1..8 quads of 4), tiles of 128 and 64 windows (run
// 18), odd and wide k, outputs narrower
// than a warp's 8 rows (the row walk wraps over y and images), padding,
// stride and dilation_w; packed (HWIO on the device: the kernel) and raw
// weights; kMec reading the windows from L and from src (run 17; no
// workspace then but the OIHW repack), by its rule and forced.
TEST_F(CudaAlgorithms, MecShallowKernel) {
  const ConvTester cases[] = {
      ConvTester().batch(3).input(23, 21).channels(3, 64).kernel(3, 3).pad(1),
      ConvTester().batch(2).input(17, 20).channels(3, 5).kernel(3, 3).pad(0, 1, 0, 1).stride(2),
      ConvTester().batch(2).input(15, 16).channels(1, 32).kernel(5, 5).pad(2).dilation(1, 2),
      ConvTester().input(12, 10).channels(2, 130).kernel(4, 4).pad(1, 2, 2, 1),
      ConvTester().batch(2).input(9, 8).channels(4, 512).kernel(2, 2).stride(1, 2),
      ConvTester().batch(33).input(5, 5).channels(1, 7).kernel(1, 1),
      ConvTester().batch(33).input(6, 6).channels(3, 96).kernel(3, 3).bias(false),
      ConvTester().batch(2).input(11, 9).channels(2, 24).kernel(2, 2),             // K = 8
      ConvTester().input(13, 14).channels(1, 40).kernel(3, 4).pad(1),              // 12
      ConvTester().batch(3).input(10, 10).channels(5, 66).kernel(2, 2).stride(2),  // 20
      ConvTester().input(16, 15).channels(3, 48).kernel(2, 4).pad(0, 1, 1, 2),     // 24
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), true, 23);
      // kAuto: kMec's rule, src at any batch.
      for (CudaFromSrc from_src :
           {CudaFromSrc::kAuto, CudaFromSrc::kNever, CudaFromSrc::kWhereverItFits}) {
        // Tiles of 128 and 64 windows (CudaTile's m), and the rule's.
        for (CudaTile tile : {CudaTile{}, CudaTile{128, 128}, CudaTile{64, 64}}) {
          for (Algorithm a : {Algorithm::kMec, Algorithm::kMecB}) {
            const double err =
                check_cuda(problem, a, stream_, {.tile = tile, .from_src = from_src});
            const double packed_err = check_cuda(
                problem, a, stream_, {.packed = true, .tile = tile, .from_src = from_src});
            EXPECT_LE(std::max(err, packed_err), tolerance(a, false))
                << tile_name(tile) << " " << describe(problem.desc);
          }
        }
        Context ctx;
        ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
        ctx.set_cuda_from_src(from_src);
        std::unique_ptr<Conv2dPlan> plan;
        const Conv2dDesc& d = problem.desc;
        ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
        const size_t repack = layout == FilterLayout::kOIHW ? d.weight_elems() * 4 : 0;
        EXPECT_EQ(plan->workspace_bytes() == repack, from_src != CudaFromSrc::kNever)
            << describe(d);
      }
    }
  }
}

TEST_F(CudaAlgorithms, MecGroupedKernel) {
  // groups = channels unless given.
  auto dw = [](int64_t n, int64_t h, int64_t w, int64_t c, int64_t r, int64_t s) {
    return ConvTester().batch(n).input(h, w).channels(c, c).kernel(r, s).groups(c);
  };
  const ConvTester cases[] = {
      dw(3, 14, 15, 24, 3, 3).pad(0, 1, 0, 1).stride(2),
      dw(2, 17, 13, 8, 3, 5).pad(2).dilation(2, 3),
      dw(1, 9, 11, 6, 3, 3).channels(6, 12).pad(1),  // multiplier 2
      dw(2, 12, 10, 16, 3, 3).groups(8).pad(1).stride(1, 2),
      dw(1, 11, 9, 12, 5, 5).pad(2),
      dw(33, 7, 7, 20, 7, 7).pad(3),
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), layout != FilterLayout::kOHWI, 7);
      for (CudaGemm gemm : {CudaGemm::kAuto, CudaGemm::kCublas}) {
        for (Algorithm a : {Algorithm::kMec, Algorithm::kMecB}) {
          check_cuda(problem, a, stream_, {.gemm = gemm});
          check_cuda(problem, a, stream_, {.packed = true, .gemm = gemm});
        }
      }
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

Conv2dDesc random_desc(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (;;) {
    Conv2dDesc d;
    d.n = pick(1, 4);
    d.h = pick(1, 23);
    d.w = pick(1, 23);
    d.groups = pick(1, 3) == 1 ? pick(2, 4) : 1;
    d.c = d.groups * (pick(0, 1) ? 4 * pick(1, 4) : pick(1, 9));
    d.k = d.groups * pick(1, 12);
    d.r = pick(1, 5);
    d.s = pick(1, 5);
    d.pad_top = pick(0, 2);
    d.pad_bottom = pick(0, 2);
    d.pad_left = pick(0, 2);
    d.pad_right = pick(0, 2);
    d.stride_h = pick(1, 3);
    d.stride_w = pick(1, 3);
    d.dilation_h = pick(1, 4) == 1 ? pick(2, 3) : 1;
    d.dilation_w = pick(1, 4) == 1 ? pick(2, 3) : 1;
    d.filter_layout = static_cast<FilterLayout>(pick(0, 2));
    if (validate(d) == Status::kSuccess) return d;
  }
}

TEST_F(CudaAlgorithms, RandomSweep) {
  std::mt19937 rng(20260602);
  constexpr int kConfigs = 150;
  double worst = 0.0;
  for (int i = 0; i < kConfigs; ++i) {
    Problem problem(random_desc(rng), i % 2 == 0, 2000 + i);
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

std::vector<NamedShape> paper_layers() {
  std::vector<NamedShape> shapes;
  std::string error;
  EXPECT_TRUE(read_shape_file(MEC_SOURCE_DIR "/bench/shapes/paper.txt", &shapes, &error)) << error;
  EXPECT_EQ(shapes.size(), 12u);
  return shapes;
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

// kMec: Solution B when our fused GEMM kernel applies (dilation_h == 1,
// one group or groups of >= 64 channels; strict fp32 or TF32) - but A with
// TF32 on a batch of narrow outputs; otherwise by the threshold T and
// |O| <= |L|, as on CPU (shown here with dilation 2).
TEST_F(CudaAlgorithms, MecChoosesByThreshold) {
  Conv2dDesc d;
  std::string e;
  ASSERT_TRUE(parse_shape("n2h20w20c8k4r3s3", &d, &e)) << e;
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  EXPECT_GT(ctx.mec_threshold(), 0);
  std::unique_ptr<Conv2dPlan> plan;
  for (bool tf32 : {false, true}) {
    ctx.set_allow_tf32(tf32);
    ctx.set_mec_threshold(d.q());
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
    EXPECT_EQ(plan->algorithm(), Algorithm::kMecB) << tf32;
  }
  // With TF32, a batch of narrow outputs (q <= 28, n*p*q >= 4096): A.
  Conv2dDesc batch = d;
  batch.n = 16;  // 16 * 18 * 18 rows
  ctx.set_mec_threshold(1);
  for (bool tf32 : {false, true}) {
    ctx.set_allow_tf32(tf32);
    ASSERT_EQ(Conv2dPlan::create(batch, Algorithm::kMec, ctx, &plan), Status::kSuccess);
    EXPECT_EQ(plan->algorithm(), tf32 ? Algorithm::kMecA : Algorithm::kMecB) << tf32;
  }
  ctx.set_allow_tf32(false);
  d.dilation_h = d.dilation_w = 2;  // q = 16; our kernel needs dilation_h == 1
  ctx.set_mec_threshold(d.q());
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kMecA);
  ctx.set_mec_threshold(d.q() - 1);
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kMecB);
  d.k = 400;
  ctx.set_mec_threshold(1000);
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kMecB);
  // Groups (here 2 of 4 x 2 channels, too big for the grouped kernel): B,
  // one batched cuBLAS call for all groups, whatever T says.
  d.k = 4;
  d.groups = 2;
  ctx.set_mec_threshold(1000);
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kMecB);
}

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

// Conv2dPlan::variant() names the path a CUDA plan runs: every algorithm's
// string starts with its concrete name and ends with its GEMMs' math; MEC's
// paths - the shallow kernel over L and from src, the grouped kernel, our
// GEMM kernel with a forced tile and split, cuBLAS's batched B for OHWI
// weights, cuBLAS's A with its reordering - each by name.
TEST_F(CudaAlgorithms, Variants) {
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  auto variant = [&](const Conv2dDesc& d, Algorithm a) {
    std::unique_ptr<Conv2dPlan> plan;
    EXPECT_EQ(Conv2dPlan::create(d, a, ctx, &plan), Status::kSuccess) << last_error();
    return plan ? std::string(plan->variant()) : std::string();
  };
  auto starts = [](const std::string& v, const std::string& prefix) {
    return v.compare(0, prefix.size(), prefix) == 0;
  };
  const Conv2dDesc basic = ConvTester().batch(2).input(12, 12).channels(8, 16).kernel(3, 3).desc();
  for (bool tf32 : {false, true}) {
    ctx.set_allow_tf32(tf32);
    for (Algorithm a : {Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMec, Algorithm::kMecA,
                        Algorithm::kMecB, Algorithm::kFft, Algorithm::kWinograd}) {
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(basic, a, ctx, &plan), Status::kSuccess) << last_error();
      const std::string v = plan->variant(), name = algorithm_name(plan->algorithm());
      EXPECT_TRUE(starts(v, name + "/")) << v;
      const bool fp32_end = v.size() > 5 && v.compare(v.size() - 5, 5, "/fp32") == 0;
      const bool tf32_end = v.size() > 5 && v.compare(v.size() - 5, 5, "/tf32") == 0;
      EXPECT_TRUE(fp32_end || (tf32 && tf32_end)) << v;
    }
  }
  ctx.set_allow_tf32(false);
  const Conv2dDesc rgb = ConvTester().input(23, 21).channels(3, 64).kernel(3, 3).pad(1).desc();
  EXPECT_TRUE(starts(variant(rgb, Algorithm::kMec), "mec_b/shallow-src/rows"))
      << variant(rgb, Algorithm::kMec);
  EXPECT_TRUE(starts(variant(rgb, Algorithm::kMecB), "mec_b/shallow-l/rows"));
  const Conv2dDesc dw =
      ConvTester().batch(2).input(14, 15).channels(24, 24).kernel(3, 3).groups(24).desc();
  EXPECT_EQ(variant(dw, Algorithm::kMecB), "mec_b/grouped/fp32");
  const ConvTester deep = ConvTester().input(9, 11).channels(36, 130).kernel(3, 3).pad(1);
  ctx.set_cuda_tile({64, 64, 3});
  EXPECT_EQ(variant(deep.desc(), Algorithm::kMecB), "mec_b/kernel-l/64x64/split3/fp32");
  ctx.set_cuda_tile({});
  EXPECT_EQ(variant(ConvTester(deep).layout(FilterLayout::kOHWI).desc(), Algorithm::kMecB),
            "mec_b/cublas-b/fp32");
  EXPECT_EQ(variant(basic, Algorithm::kMecA), "mec_a/cublas-a/reorder-l/fp32");
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
