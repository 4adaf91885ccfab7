// Fluent builder that checks one algorithm on one shape against the
// double-precision reference:
//   ConvTester().input(27, 37).channels(23, 19).kernel(3, 3).pad(1).stride(2)
//       .test(Algorithm::kMec);
// Inputs are random (never constant); dst is poisoned with NaN and the
// workspace with a byte pattern before every run. Tolerances per algorithm
// live in tolerance() below and nowhere else. check_plan() is the checker
// of both devices; CheckDevice is its device-specific half (CpuCheckDevice
// here, CudaCheckDevice in cuda_test_util.h).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mec/mec.h"
#include "reference/reference_conv.h"

namespace mec {
namespace testing {

// max |out - ref| / max |ref| allowed. fp32 GEMM-based and direct methods
// sum up to r*s*c products in single precision; the bound holds with margin
// for depths up to ~5000 (cv12). FFT and Winograd were measured on the
// paper layers cv5-cv12 and the random sweeps (uniform [-1, 1] and [0, 1]
// data, batch 1 and 2, up to 2048 channels): worst FFT 9.7e-7, F(2x2)
// 8.8e-7, F(4x4) 1.45e-5, direct 7.1e-6 (depth 18432); each bound below is
// about 5x the worst measured. kWinograd may resolve to F(4x4). Details and
// the measuring commands: docs/algorithms.md.
inline double tolerance(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kFft:
      return 5e-6;
    case Algorithm::kWinogradF2:
      return 5e-6;
    case Algorithm::kWinograd:
    case Algorithm::kWinogradF4:
      return 6e-5;
    default:
      return 2e-5;
  }
}

// With TF32 tensor-core math (Context::set_allow_tf32) the GEMM operands keep
// 10 mantissa bits: errors near 1e-4..5e-4 of max |ref| on the paper layers
// (docs/cuda.md); direct kernels ignore the flag and keep fp32's bound.
// Winograd F(4x4) on CUDA in TF32 (only when asked for explicitly: kWinograd
// then resolves to F(2x2)) multiplies the operand rounding by its transforms:
// 9.2e-3 worst on cv6-cv12 at batch 1 and 32 (docs/cuda.md), bound ~3x that.
inline double tolerance(Algorithm algorithm, bool tf32) {
  if (!tf32 || algorithm == Algorithm::kDirect) return tolerance(algorithm);
  if (algorithm == Algorithm::kWinogradF4) return 3e-2;
  return 2e-3;
}

inline std::string describe(const Conv2dDesc& d) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "n%lld h%lld w%lld c%lld k%lld r%lld s%lld pad(%lld,%lld,%lld,%lld) "
                "stride(%lld,%lld) dil(%lld,%lld) g%lld layout%d",
                (long long)d.n, (long long)d.h, (long long)d.w, (long long)d.c, (long long)d.k,
                (long long)d.r, (long long)d.s, (long long)d.pad_top, (long long)d.pad_bottom,
                (long long)d.pad_left, (long long)d.pad_right, (long long)d.stride_h,
                (long long)d.stride_w, (long long)d.dilation_h, (long long)d.dilation_w,
                (long long)d.groups, int(d.filter_layout));
  return buf;
}

// Random problem data and its reference result, computed once and shared by
// every algorithm checked on the same shape.
struct Problem {
  Conv2dDesc desc;
  std::vector<float> src, weights, bias;
  std::vector<double> expected;

  Problem(const Conv2dDesc& d, bool with_bias, uint32_t seed) : desc(d) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    src.resize(d.src_elems());
    weights.resize(d.weight_elems());
    for (float& v : src) v = uniform(rng);
    for (float& v : weights) v = uniform(rng);
    if (with_bias) {
      bias.resize(d.k);
      for (float& v : bias) v = uniform(rng);
    }
    expected.resize(d.dst_elems());
    reference::conv2d(d, src.data(), weights.data(), with_bias ? bias.data() : nullptr,
                      expected.data());
  }

  // Runs `algorithm` on the CPU and checks it; returns the measured error.
  // With `packed`, the weights go through set_weights() and run() gets null.
  double check(Algorithm algorithm, int threads = 0, bool packed = false,
               GemmEngine engine = GemmEngine::kFast, int64_t mec_band_rows = 0) const {
    Context ctx = Context::cpu(threads);
    ctx.set_gemm_engine(engine);
    ctx.set_mec_band_rows(mec_band_rows);
    return check(algorithm, ctx, packed);
  }

  // The same on a context of the caller's (its tuning overrides included).
  double check(Algorithm algorithm, const Context& ctx, bool packed) const;
};

// The byte the workspace is filled with before every run.
constexpr unsigned char kWorkspaceByte = 0xA5;

// The device-specific half of a check (CPU here, CUDA in cuda_test_util.h):
// where the tensors live, how dst and the workspace are poisoned, and how
// the output comes back. check_plan() below is the other half - plan
// creation, the status checks and the comparison with the reference - and
// exists once for both devices.
class CheckDevice {
 public:
  virtual ~CheckDevice() = default;
  // The context plans are created on.
  virtual const Context& context() const = 0;
  // Runs `plan` on the problem's inputs with dst filled with NaN and the
  // workspace with kWorkspaceByte (weights through set_weights() when the
  // device's check is a packed one); returns run()'s status and sets *out
  // to dst, on the host. Checks what only this device can (guard bytes).
  virtual Status run(const Problem& pr, Conv2dPlan& plan, std::vector<float>* out) = 0;
  // The error bound for `requested`, which ran as `ran` (tolerance()).
  virtual double bound(Algorithm requested, Algorithm ran) const = 0;
  // Words added to a failure message after the algorithm ran, as ", tf32".
  virtual std::string label() const { return ""; }
};

// Creates a plan for `algorithm` on the device's context, runs it on `pr`
// and compares dst with the double reference; returns the measured error
// (infinite when no plan could be made).
inline double check_plan(const Problem& pr, Algorithm algorithm, CheckDevice& device) {
  const Conv2dDesc& d = pr.desc;
  std::unique_ptr<Conv2dPlan> plan;
  Status st = Conv2dPlan::create(d, algorithm, device.context(), &plan);
  EXPECT_EQ(st, Status::kSuccess) << algorithm_name(algorithm) << ": " << last_error() << " on "
                                  << describe(d);
  if (st != Status::kSuccess) return HUGE_VAL;
  std::vector<float> out;
  st = device.run(pr, *plan, &out);
  EXPECT_EQ(st, Status::kSuccess) << last_error();
  const double err = reference::max_rel_error(out.data(), pr.expected.data(), d.dst_elems());
  EXPECT_LE(err, device.bound(algorithm, plan->algorithm()))
      << algorithm_name(algorithm) << " (ran as " << algorithm_name(plan->algorithm())
      << device.label() << ") on " << describe(d);
  return err;
}

// Host memory: tensors in vectors, the workspace exactly workspace_bytes().
class CpuCheckDevice : public CheckDevice {
 public:
  CpuCheckDevice(const Context& ctx, bool packed) : ctx_(ctx), packed_(packed) {}
  const Context& context() const override { return ctx_; }
  Status run(const Problem& pr, Conv2dPlan& plan, std::vector<float>* out) override {
    if (packed_) {
      EXPECT_EQ(plan.set_weights(pr.weights.data()), Status::kSuccess) << last_error();
    }
    std::vector<unsigned char> workspace(plan.workspace_bytes(), kWorkspaceByte);
    out->assign(pr.desc.dst_elems(), std::numeric_limits<float>::quiet_NaN());
    return plan.run(pr.src.data(), packed_ ? nullptr : pr.weights.data(),
                    pr.bias.empty() ? nullptr : pr.bias.data(), out->data(), workspace.data(),
                    workspace.size());
  }
  // The requested algorithm's bound (kWinograd: F(4x4)'s, whichever ran);
  // kAuto's is that of the algorithm it picked.
  double bound(Algorithm requested, Algorithm ran) const override {
    return tolerance(requested == Algorithm::kAuto ? ran : requested);
  }

 private:
  const Context& ctx_;
  bool packed_;
};

inline double Problem::check(Algorithm algorithm, const Context& ctx, bool packed) const {
  CpuCheckDevice device(ctx, packed);
  return check_plan(*this, algorithm, device);
}

class ConvTester {
 public:
  ConvTester& batch(int64_t n) {
    d_.n = n;
    return *this;
  }
  ConvTester& input(int64_t h, int64_t w) {
    d_.h = h;
    d_.w = w;
    return *this;
  }
  ConvTester& channels(int64_t c, int64_t k) {
    d_.c = c;
    d_.k = k;
    return *this;
  }
  ConvTester& kernel(int64_t r, int64_t s) {
    d_.r = r;
    d_.s = s;
    return *this;
  }
  ConvTester& pad(int64_t p) { return pad(p, p, p, p); }
  ConvTester& pad(int64_t top, int64_t bottom, int64_t left, int64_t right) {
    d_.pad_top = top;
    d_.pad_bottom = bottom;
    d_.pad_left = left;
    d_.pad_right = right;
    return *this;
  }
  ConvTester& stride(int64_t sh, int64_t sw) {
    d_.stride_h = sh;
    d_.stride_w = sw;
    return *this;
  }
  ConvTester& stride(int64_t st) { return stride(st, st); }
  ConvTester& dilation(int64_t dh, int64_t dw) {
    d_.dilation_h = dh;
    d_.dilation_w = dw;
    return *this;
  }
  ConvTester& groups(int64_t g) {
    d_.groups = g;
    return *this;
  }
  ConvTester& layout(FilterLayout l) {
    d_.filter_layout = l;
    return *this;
  }
  ConvTester& bias(bool b) {
    bias_ = b;
    return *this;
  }
  ConvTester& seed(uint32_t s) {
    seed_ = s;
    return *this;
  }

  const Conv2dDesc& desc() const { return d_; }
  Problem problem() const { return Problem(d_, bias_, seed_); }
  double test(Algorithm algorithm, int threads = 0) const {
    return problem().check(algorithm, threads);
  }

 private:
  Conv2dDesc d_;
  bool bias_ = false;
  uint32_t seed_ = 1234;
};

// kMec's rule where neither device has a special path: Solution A when
// q <= T (Context::mec_threshold) and |O| <= |L|, else B. `d` must have
// q > 1 and, with k = 400, |O| > |L|; `ctx` is the device's context.
inline void expect_mec_threshold_rule(Conv2dDesc d, Context ctx) {
  std::unique_ptr<Conv2dPlan> plan;
  ctx.set_mec_threshold(d.q());
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess) << last_error();
  EXPECT_EQ(plan->algorithm(), Algorithm::kMecA);
  ctx.set_mec_threshold(d.q() - 1);
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess) << last_error();
  EXPECT_EQ(plan->algorithm(), Algorithm::kMecB);
  d.k = 400;
  ctx.set_mec_threshold(1000);
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess) << last_error();
  EXPECT_EQ(plan->algorithm(), Algorithm::kMecB);
}

// The CPU algorithms every shape is checked with.
inline std::vector<Algorithm> cpu_algorithms() {
  return {Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMec, Algorithm::kMecA,
          Algorithm::kMecB};
}

// Every CPU algorithm, including those that support only some shapes
// (Winograd: 3x3 stride 1 dilation 1) and those with looser tolerances.
inline std::vector<Algorithm> all_cpu_algorithms() {
  std::vector<Algorithm> all = cpu_algorithms();
  for (Algorithm a :
       {Algorithm::kFft, Algorithm::kWinograd, Algorithm::kWinogradF2, Algorithm::kWinogradF4}) {
    all.push_back(a);
  }
  return all;
}

}  // namespace testing
}  // namespace mec
