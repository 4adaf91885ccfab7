// kAuto on the CPU (common/auto_select.h): the candidates, the cost model
// that ranks them, and the timer of the measured mode.
//
// The model predicts one run's seconds per algorithm from the descriptor:
// a GEMM of M x N x K runs at R * N/(N+n0) * K/(K+k0) multiply-adds per
// second (small products fill the micro-kernel's registers and caches
// poorly), plus each algorithm's memory traffic per float moved; threads
// divide the time by T^par. Its constants (CpuCostModel) are fitted by
// scripts/fit-cpu-cost-model.py (the same model in Python) to mecbench runs
// of the paper, resnet50, vgg16, alexnet, mobilenet_v1 and grouped suites
// at batch 1 on one thread and batch 8 on two on a Zen 5 core
// (bench/calibration/cpu-zen5.json; docs/auto.md: the fit and its error);
// direct's depthwise constants are measured apart (see kModel).
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "common/auto_select.h"
#include "cpu/cpu_plans.h"

namespace mec {
namespace cpu {
namespace {

// The fitted constants; seconds, multiply-adds and floats.
struct CpuCostModel {
  double gemm_rate;             // R: multiply-adds per second of the fast GEMM engine
  double gemm_n0, gemm_k0;      // its fall-off in N (columns, kg) and K (depth)
  double lowering;              // seconds per float of MEC's L written and read
  double lowering_per_column;   // and per float and 1/kg (narrow groups reuse L little)
  double blas_rate;             // im2col's CBLAS GEMM rate
  double im2col_column;         // seconds per float of im2col's columns
  double direct_rate;           // direct's multiply-adds per second
  double direct_n0, direct_k0;  // its fall-off in kg and in the window r*s*cg
  double direct_output;         // seconds per output float
  double depthwise_rate;        // direct's depthwise path (c == k == groups): its multiply-adds
  double depthwise_output;      // per second, and seconds per output float
  double winograd_gemm;         // Winograd's GEMM rate relative to R
  double winograd_m0;           // its fall-off in tiles (the GEMMs' rows)
  double winograd_transform_f2, winograd_transform_f4;  // seconds per tile point and channel
  double fft_rate;           // FFT's rate in the convolution's multiply-adds
  double fft_io;             // seconds per input and output float
  double parallel;           // T threads divide the time by T^parallel ...
  double winograd_parallel;  // ... Winograd's by T^winograd_parallel
};

constexpr CpuCostModel kModel = {
    /*gemm_rate=*/1.25e+11,
    /*gemm_n0=*/18.56,
    /*gemm_k0=*/26.43,
    /*lowering=*/4.19e-11,
    /*lowering_per_column=*/1.52e-09,
    /*blas_rate=*/5.751e+10,
    /*im2col_column=*/1.049e-09,
    /*direct_rate=*/3.717e+10,
    /*direct_n0=*/21.83,
    /*direct_k0=*/11.14,
    /*direct_output=*/1.629e-20,
    // Measured on the depthwise layers of mobilenet_v1 and grouped (batch 1,
    // 1 thread, AMD EPYC Zen 5), not part of the fit: the calibration data
    // predates the depthwise path. Its time is mostly per output float
    // (loads and stores of 16-channel vectors), the 5x5 layer adds little.
    /*depthwise_rate=*/1.6e+11,
    /*depthwise_output=*/2.5e-10,
    /*winograd_gemm=*/0.5015,
    /*winograd_m0=*/15.64,
    /*winograd_transform_f2=*/1.195e-20,
    /*winograd_transform_f4=*/6.29e-13,
    /*fft_rate=*/4.106e+10,
    /*fft_io=*/1.288e-08,
    /*parallel=*/0.9529,
    /*winograd_parallel=*/0.476,
};

// The model's single predictions are within about 4x of the measured
// times on its data (its picks within 1.02x of the fastest): the measured
// mode times no candidate predicted slower than this many times the
// cheapest that fits.
constexpr double kModelSpread = 4.0;

double fall_off(double v, double v0) { return v / (v + v0); }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// `forward`: the forward pass, where direct has its depthwise path; the
// backward passes' direct runs the general loop on depthwise layers too.
double predict_pass(const Conv2dDesc& d, const detail::AutoCandidate& candidate,
                    const Context& context, bool forward) {
  const CpuCostModel& m = kModel;
  const double n = double(d.n), p = double(d.p()), q = double(d.q()), c = double(d.c),
               k = double(d.k), r = double(d.r), s = double(d.s), groups = double(d.groups);
  const double cg = c / groups, kg = k / groups;
  const double macs = n * p * q * k * r * s * cg;
  const double hp = double(d.h + d.pad_top + d.pad_bottom);
  double seconds = std::numeric_limits<double>::infinity();
  switch (candidate.algorithm) {
    case Algorithm::kMec:
    case Algorithm::kMecA:
    case Algorithm::kMecB: {
      // Row bands lower the rows their windows need, band by band: the
      // overlap between bands is lowered twice. They are never predicted
      // faster than whole images (rows a stride skips are lowered whole but
      // cost less than a band's set-up): bands are for tight limits.
      double lowered = n * q * hp * s * c;
      if (candidate.band_rows > 0 && candidate.band_rows < d.p()) {
        const double b = double(candidate.band_rows);
        const double rows = (b - 1) * double(d.stride_h) + (r - 1) * double(d.dilation_h) + 1;
        lowered = std::max(lowered, n * q * std::ceil(p / b) * rows * s * c) * (1.0 + 1.0 / b);
      }
      const double rate = m.gemm_rate * fall_off(kg, m.gemm_n0) * fall_off(r * s * cg, m.gemm_k0);
      seconds = macs / rate + lowered * (m.lowering + m.lowering_per_column / kg);
      break;
    }
    case Algorithm::kIm2col: {
      const double rate = m.blas_rate * fall_off(kg, m.gemm_n0) * fall_off(r * s * cg, m.gemm_k0);
      seconds = macs / rate + n * p * q * r * s * c * m.im2col_column;
      break;
    }
    case Algorithm::kDirect: {
      if (forward && d.c == d.groups && d.k == d.groups) {  // depthwise.cc's path
        seconds = macs / m.depthwise_rate + n * p * q * k * m.depthwise_output;
        break;
      }
      const double rate =
          m.direct_rate * fall_off(kg, m.direct_n0) * fall_off(r * s * cg, m.direct_k0);
      seconds = macs / rate + n * p * q * k * m.direct_output;
      break;
    }
    case Algorithm::kWinogradF2:
    case Algorithm::kWinogradF4: {
      if (d.r != 3 || d.s != 3 || d.stride_h != 1 || d.stride_w != 1 || d.dilation_h != 1 ||
          d.dilation_w != 1) {
        break;
      }
      const int64_t tile = candidate.algorithm == Algorithm::kWinogradF4 ? 4 : 2;
      const double points = double((tile + 2) * (tile + 2));
      const double tiles = n * double(ceil_div(d.p(), tile)) * double(ceil_div(d.q(), tile));
      const double rate = m.gemm_rate * m.winograd_gemm * fall_off(tiles, m.winograd_m0) *
                          fall_off(kg, m.gemm_n0) * fall_off(cg, m.gemm_k0);
      const double transform = tile == 4 ? m.winograd_transform_f4 : m.winograd_transform_f2;
      seconds = groups * points * tiles * kg * cg / rate + tiles * points * (c + k) * transform;
      return seconds / std::pow(double(std::max(1, context.threads())), m.winograd_parallel);
    }
    case Algorithm::kFft:
      seconds = macs / m.fft_rate + double(d.src_elems() + d.dst_elems()) * m.fft_io;
      break;
    default:
      break;
  }
  return seconds / std::pow(double(std::max(1, context.threads())), m.parallel);
}

double predict(const Conv2dDesc& d, const detail::AutoCandidate& candidate,
               const Context& context) {
  return predict_pass(d, candidate, context, true);
}

double predict_backward(const Conv2dDesc& d, const detail::AutoCandidate& candidate,
                        const Context& context) {
  return predict_pass(d, candidate, context, false);
}

// One run's seconds: the fastest of up to three after a warm-up run,
// stopping after a run slower than give_up. The buffers are this
// function's own, filled with small values (timings do not depend on them).
Status measure(const detail::PlanImpl& plan, const Context&, double give_up, double* seconds) {
  const Conv2dDesc& d = plan.desc();
  std::vector<float> src, weights, dst;
  std::vector<unsigned char> workspace;
  try {
    src.assign(size_t(d.src_elems()), 0.5f);
    weights.assign(size_t(d.weight_elems()), 0.25f);
    dst.resize(size_t(d.dst_elems()));
    workspace.resize(plan.workspace_bytes());
  } catch (const std::bad_alloc&) {
    return fail(Status::kOutOfMemory, "auto: cannot allocate buffers to time %s",
                plan.variant().c_str());
  }
  const float* w = plan.has_packed_weights() ? nullptr : weights.data();
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 4; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const Status st = plan.run(src.data(), w, nullptr, dst.data(), workspace.data());
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (st != Status::kSuccess) return st;
    if (i > 0) best = std::min(best, t);  // run 0 warms caches and pages
    if (t > give_up) return (*seconds = t, Status::kSuccess);
  }
  *seconds = best;
  return Status::kSuccess;
}

}  // namespace

Status create_auto(const Conv2dDesc& desc, Algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl) {
  // MEC whole and in row bands (smaller workspaces, for tight limits; the
  // model charges them the overlap they lower twice), Winograd, im2col,
  // FFT and direct, which needs no workspace and plans every descriptor.
  static const detail::AutoDevice device = {
      "the CPU",
      {{Algorithm::kMec, 0},
       {Algorithm::kWinogradF4, 0},
       {Algorithm::kWinogradF2, 0},
       {Algorithm::kMec, 8},
       {Algorithm::kMec, 2},
       {Algorithm::kMec, 1},
       {Algorithm::kIm2col, 0},
       {Algorithm::kFft, 0},
       {Algorithm::kDirect, 0}},
      Pass::kForward,
      create_plan,
      predict,
      kModelSpread,
      measure,
  };
  return detail::create_auto(desc, context, device, impl);
}

Status create_auto_backward(const Conv2dDesc& desc, Pass pass, Algorithm, const Context& context,
                            std::unique_ptr<detail::PlanImpl>* impl) {
  // The backward passes do the forward pass's multiply-adds over the same
  // lowered matrices; they are ranked by the forward model until it is
  // fitted to backward timings. Direct needs no workspace.
  const std::vector<detail::AutoCandidate> candidates = {
      {Algorithm::kMec, 0}, {Algorithm::kIm2col, 0}, {Algorithm::kDirect, 0}};
  const detail::AutoDevice device = {"the CPU",        candidates,   pass,   create_plan,
                                     predict_backward, kModelSpread, measure};
  return detail::create_auto(desc, context, device, impl);
}

}  // namespace cpu
}  // namespace mec
