// libFuzzer target: arbitrary bytes -> a Conv2dDesc (every field, from
// typical small values to zero, negative, huge and overflowing ones, and
// FilterLayout/Algorithm values outside their enums), a thread count, a MEC
// threshold, MEC row bands and flags. For every algorithm of all_algorithms() (plus invalid
// Algorithm values) it creates a plan and queries its workspace, and for
// small valid shapes runs it on random tensors (with set_weights() when the
// input says so). It aborts, so libFuzzer reports the input, when:
//   - an invalid descriptor (by is_valid() below, written independently of
//     validate() in 128-bit arithmetic) is not rejected with kInvalidArgument,
//     or a valid one is;
//   - kDirect cannot plan a valid descriptor, or kAuto a small one (padded
//     sizes up to 2^20), or any algorithm answers such a shape with
//     anything but success or
//     kUnsupported;
//   - a run fails, leaves NaN in dst, differs from reference::conv2d beyond
//     tolerance() (relative to max(|ref|, conv(|src|, |w|) + |b|), and for
//     FFT and Winograd, whose tiles mix inputs, at least max|src| times the
//     largest filter's sum of |w| plus max|b|) (for reduction depths
//     r*s*c/groups up to 4608, the range tolerance() is made for), is not bitwise repeatable, or
//     accepts a short workspace;
//   - the convenience conv2d() does not fail cleanly on an impossible
//     workspace;
//   - a backward pass (of the algorithms that have them) fails, leaves NaN,
//     differs from the references of reference_backward.h beyond
//     tolerance() relative to the same gradients of |tensors| (for sums up
//     to 4608 deep), or is not bitwise repeatable.
// Built with ASan + UBSan (make fuzz), so out-of-bounds accesses, leaks and
// undefined behaviour are reported too. Reference runs are capped at 1e6
// multiply-adds; larger shapes still go through create and the workspace
// query.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "algorithm_list.h"
#include "conv_tester.h"
#include "mec/mec.h"
#include "reference/reference_backward.h"
#include "reference/reference_conv.h"

extern "C" const char* __asan_default_options() {
  // Refused allocations must come back as null for conv2d()'s kOutOfMemory.
  return "allocator_may_return_null=1:detect_leaks=1";
}

namespace {

using mec::Algorithm;
using mec::Conv2dDesc;
using mec::Status;
using i128 = __int128;

constexpr int64_t kMaxRunMacs = 1000000;
constexpr int64_t kMaxRunElems = int64_t(1) << 18;
constexpr size_t kMaxRunWorkspace = size_t(64) << 20;
constexpr int64_t kMaxCheckedDepth = 4608;
constexpr int64_t kMaxBackwardMacs = 200000;
constexpr size_t kBeyondAddressSpace = size_t(1) << 57;
// FFT computes every stride-1 output and keeps every stride-th one (up to
// 64x the outputs, src/cpu/fft.cc), tile by tile, so its work follows
// n * ((p-1)*stride_h+1) * ((q-1)*stride_w+1) * (c+k), which kMaxRunMacs
// does not bound: 2^16 rows of padding under stride 64 leave a 1025-row
// output (1e6 MACs) but 64M stride-1 outputs, over 30 s under ASan. FFT
// runs beyond this are skipped (create and the workspace query still run).
constexpr int64_t kMaxFftRunWork = int64_t(1) << 21;

[[noreturn]] void die(const char* what, const Conv2dDesc& d, Algorithm a) {
  std::fprintf(stderr, "conv_fuzzer: %s\n  algorithm %d (%s) on %s\n  last_error: %s\n", what,
               int(a), mec::algorithm_name(a), mec::testing::describe(d).c_str(),
               mec::last_error());
  std::abort();
}

// --- decoding -------------------------------------------------------------

constexpr int64_t kEdgeValues[] = {0,
                                   -1,
                                   1,
                                   2,
                                   -2,
                                   std::numeric_limits<int64_t>::max(),
                                   std::numeric_limits<int64_t>::min(),
                                   std::numeric_limits<int64_t>::max() - 1,
                                   std::numeric_limits<int64_t>::max() / 2,
                                   std::numeric_limits<int64_t>::max() / 4 + 1,
                                   std::numeric_limits<int32_t>::max(),
                                   int64_t(std::numeric_limits<int32_t>::max()) + 1,
                                   std::numeric_limits<int32_t>::min(),
                                   std::numeric_limits<uint32_t>::max(),
                                   int64_t(1) << 32,
                                   int64_t(1) << 40,
                                   int64_t(1) << 62,
                                   (int64_t(1) << 62) + 1,
                                   3037000499,  // floor(sqrt(2^63))
                                   3037000500,
                                   2097152,  // 2^21: cubes overflow
                                   65536,
                                   46341,  // squares pass 2^31
                                   1000000007};

// One int64 field: usually in [lo, hi] (typical shapes), else a small
// possibly negative value, an edge value or 8 raw bytes.
int64_t take_field(FuzzedDataProvider& in, int64_t lo, int64_t hi) {
  const uint8_t kind = in.ConsumeIntegral<uint8_t>();
  if (kind < 176) return in.ConsumeIntegralInRange<int64_t>(lo, hi);
  if (kind < 208) return in.ConsumeIntegralInRange<int64_t>(-4, 70);
  if (kind < 244) {
    return kEdgeValues[in.ConsumeIntegralInRange<size_t>(0, std::size(kEdgeValues) - 1)];
  }
  return in.ConsumeIntegral<int64_t>();
}

// value * factor when `multiply` (so that groups usually divide c and k),
// left alone where the product would overflow.
int64_t times_maybe(int64_t value, int64_t factor, bool multiply) {
  int64_t product;
  return multiply && !__builtin_mul_overflow(value, factor, &product) ? product : value;
}

// An enum value: usually one of the `count` valid ones, sometimes not.
int take_enum(FuzzedDataProvider& in, int count) {
  const uint8_t kind = in.ConsumeIntegral<uint8_t>();
  if (kind < 224) return in.ConsumeIntegralInRange<int>(0, count - 1);
  if (kind < 240) return in.ConsumeIntegralInRange<int>(-2, count + 2);
  return in.ConsumeIntegral<int>();
}

// --- the independent validity predicate -----------------------------------

constexpr i128 kSaturated = i128(1) << 100;
constexpr i128 kInt64Max = std::numeric_limits<int64_t>::max();

// Product of non-negative factors, saturating at 2^100.
i128 product(std::initializer_list<i128> factors) {
  i128 acc = 1;
  for (i128 f : factors) {
    if (f == 0) return 0;
    acc = acc > kSaturated / f ? kSaturated : std::min(acc * f, kSaturated);
  }
  return acc;
}

struct Axis {
  bool ok;
  i128 out;
};

Axis axis(int64_t in, int64_t pad0, int64_t pad1, int64_t k, int64_t stride, int64_t dilation) {
  const i128 padded = i128(in) + pad0 + pad1;
  const i128 extent = i128(k - 1) * dilation + 1;
  if (pad0 < 0 || pad1 < 0 || stride < 1 || dilation < 1) return {false, 0};
  if (padded > kInt64Max || extent > padded) return {false, 0};
  return {true, (padded - extent) / stride + 1};
}

// The descriptor contract of include/mec/conv.h: positive sizes, groups
// dividing c and k, a real FilterLayout, a dilated kernel that fits the
// padded input on both axes, and src, weights and dst each addressable in
// int64_t bytes.
bool is_valid(const Conv2dDesc& d, i128* out_p, i128* out_q) {
  for (int64_t v : {d.n, d.h, d.w, d.c, d.k, d.r, d.s, d.groups}) {
    if (v < 1) return false;
  }
  if (d.c % d.groups != 0 || d.k % d.groups != 0) return false;
  const int layout = static_cast<int>(d.filter_layout);
  if (layout < 0 || layout > 2) return false;
  const Axis y = axis(d.h, d.pad_top, d.pad_bottom, d.r, d.stride_h, d.dilation_h);
  const Axis x = axis(d.w, d.pad_left, d.pad_right, d.s, d.stride_w, d.dilation_w);
  if (!y.ok || !x.ok) return false;
  *out_p = y.out;
  *out_q = x.out;
  return product({d.n, d.h, d.w, d.c, 4}) <= kInt64Max &&
         product({d.k, d.r, d.s, d.c / d.groups, 4}) <= kInt64Max &&
         product({d.n, y.out, x.out, d.k, 4}) <= kInt64Max;
}

// --- running --------------------------------------------------------------

struct Tensors {
  std::vector<float> src, weights, bias;
  std::vector<double> expected, magnitude;  // conv(src, w) + b; conv(|src|, |w|) + |b|
  // max|src| * (the largest sum of |w| of one filter) + max|b|: the largest
  // conv(|src|, |w|) + |b| any output could have. FFT and Winograd transform
  // whole tiles, so their rounding carries inputs that a given output does
  // not read (all of them, for an output that sees only padding): their
  // error is measured against this scale.
  double transform_scale = 0.0;
};

struct Options {
  int threads;
  int64_t mec_threshold;
  bool set_threshold, packed, with_bias, repeat;
  uint8_t workspace_fill;
};

void check_run(const Conv2dDesc& d, Algorithm a, mec::Conv2dPlan& plan, const Tensors& t,
               const Options& o) {
  if (o.packed) {
    if (plan.set_weights(t.weights.data()) != Status::kSuccess) die("set_weights failed", d, a);
  }
  const size_t ws_bytes = plan.workspace_bytes();
  if (ws_bytes > kMaxRunWorkspace) return;
  if (plan.algorithm() == Algorithm::kFft &&
      product({d.n, i128(d.p() - 1) * d.stride_h + 1, i128(d.q() - 1) * d.stride_w + 1,
               i128(d.c) + d.k}) > kMaxFftRunWork) {
    return;
  }
  // Exactly-sized buffers, so ASan sees any access past their ends.
  std::unique_ptr<unsigned char[]> ws(ws_bytes ? new unsigned char[ws_bytes] : nullptr);
  std::vector<float> dst(t.expected.size());
  const float* weights = o.packed ? nullptr : t.weights.data();
  const float* bias = o.with_bias ? t.bias.data() : nullptr;
  auto run = [&](size_t given) {
    if (ws_bytes) std::memset(ws.get(), o.workspace_fill, ws_bytes);
    std::fill(dst.begin(), dst.end(), std::numeric_limits<float>::quiet_NaN());
    return plan.run(t.src.data(), weights, bias, dst.data(), ws.get(), given);
  };
  if (ws_bytes > 0) {
    if (run(ws_bytes - 1) != Status::kInsufficientWorkspace) die("short workspace accepted", d, a);
    for (float v : dst) {
      if (!std::isnan(v)) die("a refused run wrote dst", d, a);
    }
  }
  if (plan.run(t.src.data(), o.packed ? t.weights.data() : nullptr, bias, dst.data(), ws.get(),
               ws_bytes) != Status::kInvalidArgument) {
    die("weights given against set_weights() state accepted", d, a);
  }
  if (run(ws_bytes) != Status::kSuccess) die("run failed", d, a);
  // The error relative to the largest |ref|, as in the tests, except that a
  // few outputs that all nearly cancel (two terms, say) would make any fp32
  // rounding look huge: the scale is also at least the largest sum of
  // |products| (the same convolution of absolute values), which cannot cancel.
  double max_diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < dst.size(); ++i) {
    if (!std::isfinite(dst[i])) die("non-finite value in dst", d, a);
    max_diff = std::max(max_diff, std::fabs(double(dst[i]) - t.expected[i]));
    scale = std::max({scale, std::fabs(t.expected[i]), t.magnitude[i]});
  }
  const Algorithm ran = plan.algorithm();
  if (ran == Algorithm::kFft || ran == Algorithm::kWinogradF2 || ran == Algorithm::kWinogradF4) {
    scale = std::max(scale, t.transform_scale);
  }
  const double err = scale > 0.0 ? max_diff / scale : max_diff;
  // tolerance() holds for reduction depths up to the paper's (4608); deeper
  // fp32 sums may exceed it (depth 65280: 2.7e-5), so there only
  // finiteness is checked.
  if (d.r * d.s * (d.c / d.groups) <= kMaxCheckedDepth && !(err <= mec::testing::tolerance(a))) {
    std::fprintf(stderr, "relative error %g\n", err);
    die("result differs from the reference", d, a);
  }
  if (o.repeat) {
    const std::vector<float> first = dst;
    if (run(ws_bytes) != Status::kSuccess ||
        std::memcmp(first.data(), dst.data(), dst.size() * sizeof(float)) != 0) {
      die("second run is not bitwise identical", d, a);
    }
  }
}

// Both backward passes of the algorithms `ran` (those that have them) on
// t's src and weights and a ddst from `seed`, against the references; the
// error is relative to the same gradients of |tensors| (sums of
// |products|, which cannot cancel).
void check_backward(const Conv2dDesc& d, const std::vector<Algorithm>& ran,
                    const mec::Context& context, const Tensors& t, uint32_t seed) {
  std::mt19937 rng(seed ^ 0x9e3779b9u);
  std::vector<float> ddst(size_t(d.dst_elems())), abs_ddst, abs_src(t.src), abs_w(t.weights);
  for (float& x : ddst) x = float(rng() >> 8) * (2.0f / 16777216.0f) - 1.0f;
  abs_ddst = ddst;
  for (auto* v : {&abs_ddst, &abs_src, &abs_w}) {
    for (float& x : *v) x = std::fabs(x);
  }
  for (mec::Pass pass : {mec::Pass::kBackwardData, mec::Pass::kBackwardWeights}) {
    const bool data = pass == mec::Pass::kBackwardData;
    const size_t count = size_t(data ? d.src_elems() : d.weight_elems());
    std::vector<double> ref(count), magnitude(count), db(size_t(d.k)), db_magnitude(size_t(d.k));
    if (data) {
      mec::reference::conv2d_backward_data(d, ddst.data(), t.weights.data(), ref.data());
      mec::reference::conv2d_backward_data(d, abs_ddst.data(), abs_w.data(), magnitude.data());
    } else {
      mec::reference::conv2d_backward_weights(d, t.src.data(), ddst.data(), ref.data(), db.data());
      mec::reference::conv2d_backward_weights(d, abs_src.data(), abs_ddst.data(), magnitude.data(),
                                              db_magnitude.data());
    }
    // Sum depths: bwd_data kg*r*s per input value, bwd_weights n*p*q.
    const int64_t depth = data ? d.k / d.groups * d.r * d.s : d.n * d.p() * d.q();
    for (Algorithm a : ran) {
      std::unique_ptr<mec::Conv2dPlan> plan;
      const Status st = mec::Conv2dPlan::create(d, pass, a, context, &plan);
      if (st == Status::kUnsupported) continue;  // algorithms without backward passes
      if (st != Status::kSuccess) die("backward plan of a small valid shape failed", d, a);
      const size_t bytes = plan->workspace_bytes();
      if (bytes > kMaxRunWorkspace) continue;
      std::unique_ptr<unsigned char[]> ws(bytes ? new unsigned char[bytes] : nullptr);
      std::vector<float> out(count), dbias(size_t(d.k));
      auto run = [&]() {
        std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
        std::fill(dbias.begin(), dbias.end(), std::numeric_limits<float>::quiet_NaN());
        return data ? plan->run_backward_data(ddst.data(), t.weights.data(), out.data(), ws.get(),
                                              bytes)
                    : plan->run_backward_weights(t.src.data(), ddst.data(), out.data(),
                                                 dbias.data(), ws.get(), bytes);
      };
      if (run() != Status::kSuccess) die("backward run failed", d, a);
      double max_diff = 0.0, scale = 0.0;
      for (size_t i = 0; i < count; ++i) {
        if (!std::isfinite(out[i])) die("non-finite value in a backward output", d, a);
        max_diff = std::max(max_diff, std::fabs(double(out[i]) - ref[i]));
        scale = std::max({scale, std::fabs(ref[i]), magnitude[i]});
      }
      for (size_t i = 0; !data && i < size_t(d.k); ++i) {
        if (!std::isfinite(dbias[i])) die("non-finite value in dbias", d, a);
        max_diff = std::max(max_diff, std::fabs(double(dbias[i]) - db[i]));
        scale = std::max(scale, db_magnitude[i]);
      }
      const double err = scale > 0.0 ? max_diff / scale : max_diff;
      if (depth <= kMaxCheckedDepth && !(err <= mec::testing::tolerance(Algorithm::kDirect))) {
        std::fprintf(stderr, "%s relative error %g\n", mec::pass_name(pass), err);
        die("backward result differs from the reference", d, a);
      }
      const std::vector<float> first = out;
      if (run() != Status::kSuccess || first != out) die("backward rerun not identical", d, a);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Conv2dDesc d;
  d.n = take_field(in, 1, 3);
  d.h = take_field(in, 1, 12);
  d.w = take_field(in, 1, 12);
  d.groups = take_field(in, 1, 3);
  // (Separate statements: the order of decoding is part of the format that
  // fuzz/make_seeds.py writes.)
  d.c = take_field(in, 1, 4);
  d.c = times_maybe(d.c, d.groups, in.ConsumeBool());
  d.k = take_field(in, 1, 4);
  d.k = times_maybe(d.k, d.groups, in.ConsumeBool());
  d.r = take_field(in, 1, 4);
  d.s = take_field(in, 1, 4);
  d.pad_top = take_field(in, 0, 2);
  d.pad_bottom = take_field(in, 0, 2);
  d.pad_left = take_field(in, 0, 2);
  d.pad_right = take_field(in, 0, 2);
  d.stride_h = take_field(in, 1, 3);
  d.stride_w = take_field(in, 1, 3);
  d.dilation_h = take_field(in, 1, 3);
  d.dilation_w = take_field(in, 1, 3);
  d.filter_layout = static_cast<mec::FilterLayout>(take_enum(in, 3));
  Options o;
  o.threads = in.ConsumeIntegralInRange<int>(-1, 4);
  o.set_threshold = in.ConsumeBool();
  o.mec_threshold = take_field(in, 0, 40);
  o.packed = in.ConsumeBool();
  o.with_bias = in.ConsumeBool();
  o.repeat = in.ConsumeBool();
  o.workspace_fill = in.ConsumeIntegral<uint8_t>();
  const bool every_algorithm = in.ConsumeBool();
  const std::vector<Algorithm> named = mec::testing::all_algorithms();
  std::vector<Algorithm> algorithms;
  if (every_algorithm) {
    algorithms = named;
  } else {
    algorithms.push_back(static_cast<Algorithm>(take_enum(in, int(named.size()))));
  }
  const uint32_t seed = in.ConsumeIntegral<uint32_t>();
  // MEC's row bands (Context::set_mec_band_rows): mostly off, else 1..8
  // output rows (last, so older corpus inputs keep their meaning).
  const uint8_t band_byte = in.ConsumeIntegral<uint8_t>();

  mec::Context context = mec::Context::cpu(o.threads);
  if (o.set_threshold) context.set_mec_threshold(o.mec_threshold);
  context.set_mec_band_rows(band_byte < 128 ? 0 : band_byte % 9);
  i128 p = 0, q = 0;
  const bool valid = is_valid(d, &p, &q);
  if ((mec::validate(d) == Status::kSuccess) != valid) {
    die(valid ? "validate() rejects a valid descriptor" : "validate() accepts an invalid one", d,
        Algorithm::kAuto);
  }
  const i128 macs = valid ? product({d.n, p, q, d.k, d.r, d.s, d.c / d.groups}) : 0;
  const bool small = valid && macs <= kMaxRunMacs && product({d.n, d.h, d.w, d.c}) <= kMaxRunElems;
  // Small and without enormous padding: every algorithm's workspace is then
  // modest (MEC's lowered rows span the whole padded height, so a 1x1
  // output under 2^40 rows of padding is legitimately kUnsupported there).
  const bool modest = small && i128(d.h) + d.pad_top + d.pad_bottom <= kMaxRunElems &&
                      i128(d.w) + d.pad_left + d.pad_right <= kMaxRunElems;

  static const bool trace = std::getenv("MEC_FUZZ_TRACE") != nullptr;
  if (trace) {
    std::fprintf(stderr, "%s valid %d small %d threads %d algorithms %zu\n",
                 mec::testing::describe(d).c_str(), valid, small, o.threads, algorithms.size());
  }

  Tensors t;
  if (small) {
    // Uniform in [-1, 1) from the top 24 bits (std::uniform_real_distribution
    // calls logl per number in libstdc++, which dominated the run time).
    std::mt19937 rng(seed);
    t.src.resize(d.src_elems());
    t.weights.resize(d.weight_elems());
    t.bias.resize(d.k);
    for (auto* v : {&t.src, &t.weights, &t.bias}) {
      for (float& x : *v) x = float(rng() >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
    t.expected.resize(d.dst_elems());
    mec::reference::conv2d(d, t.src.data(), t.weights.data(), o.with_bias ? t.bias.data() : nullptr,
                           t.expected.data());
    std::vector<float> abs_src(t.src), abs_weights(t.weights), abs_bias(t.bias);
    for (auto* v : {&abs_src, &abs_weights, &abs_bias}) {
      for (float& x : *v) x = std::fabs(x);
    }
    double max_src = 0.0, max_filter = 0.0, max_bias = 0.0;
    for (float x : abs_src) max_src = std::max(max_src, double(x));
    // Filter f's weights: every k-th element from f in HWIO (O innermost),
    // one contiguous block in OHWI and OIHW.
    const bool o_innermost = d.filter_layout == mec::FilterLayout::kHWIO;
    const int64_t per_filter = d.weight_elems() / d.k;
    for (int64_t f = 0; f < d.k; ++f) {
      double sum = 0.0;
      for (int64_t j = 0; j < per_filter; ++j) {
        sum += abs_weights[o_innermost ? j * d.k + f : f * per_filter + j];
      }
      max_filter = std::max(max_filter, sum);
    }
    if (o.with_bias) {
      for (float x : abs_bias) max_bias = std::max(max_bias, double(x));
    }
    t.transform_scale = max_src * max_filter + max_bias;
    t.magnitude.resize(d.dst_elems());
    mec::reference::conv2d(d, abs_src.data(), abs_weights.data(),
                           o.with_bias ? abs_bias.data() : nullptr, t.magnitude.data());
  }

  if (valid) algorithms.push_back(Algorithm::kDirect);  // must always plan
  // The backward passes are checked on the smaller of the small shapes (the
  // references and direct's gathers cost several forward passes each).
  const bool backward = small && macs <= kMaxBackwardMacs;
  std::vector<Algorithm> ran;
  for (Algorithm a : algorithms) {
    const bool known = std::find(named.begin(), named.end(), a) != named.end();
    std::unique_ptr<mec::Conv2dPlan> plan;
    const Status st = mec::Conv2dPlan::create(d, a, context, &plan);
    if ((st == Status::kSuccess) != (plan != nullptr))
      die("plan pointer and status disagree", d, a);
    if (st != Status::kSuccess && mec::last_error()[0] == '\0') die("no error message", d, a);
    if (!valid || !known) {
      if (st != Status::kInvalidArgument) die("invalid input not rejected", d, a);
      float one[1] = {1.0f};
      if (mec::conv2d(d, a, context, one, one, nullptr, one) != Status::kInvalidArgument) {
        die("conv2d() accepted invalid input", d, a);
      }
      continue;
    }
    if (st != Status::kSuccess) {
      if (a == Algorithm::kDirect) die("direct cannot plan a valid descriptor", d, a);
      if (modest && (st != Status::kUnsupported || a == Algorithm::kAuto)) {
        die("small valid shape not planned", d, a);
      }
      if (st != Status::kUnsupported && st != Status::kInvalidArgument) die("odd status", d, a);
      continue;
    }
    if (plan->algorithm() == Algorithm::kAuto || plan->algorithm() == Algorithm::kMec) {
      die("plan algorithm not concrete", d, a);
    }
    if (mec::testing::describe(plan->desc()) != mec::testing::describe(d)) {
      die("plan desc differs", d, a);
    }
    const size_t ws_bytes = plan->workspace_bytes();
    if (ws_bytes >= kBeyondAddressSpace) {
      // conv2d() must refuse before touching any tensor: 1-float stand-ins.
      float one[1] = {1.0f};
      if (mec::conv2d(d, a, context, one, one, nullptr, one) != Status::kOutOfMemory) {
        die("conv2d() did not report kOutOfMemory", d, a);
      }
    }
    if (small) check_run(d, a, *plan, t, o);
    if (small && backward) ran.push_back(a);
  }
  if (!ran.empty()) check_backward(d, ran, context, t, seed);
  return 0;
}
