// The API contract: every invalid descriptor or argument gets a specific
// status and a message naming the field, with dst untouched; workspace sizes
// are exactly the documented formulas; run() allocates nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "common/shape_string.h"
#include "conv_tester.h"
#include "mec/mec.h"

// Allocation counting: this binary is linked with --wrap for the malloc
// family, and replaces operator new, so any allocation made while
// g_counting is set (by our library's code, which is linked statically into
// this binary) is counted.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
void note_allocation() {
  if (g_counting.load()) g_allocations.fetch_add(1);
}
}  // namespace

extern "C" {
void* __real_malloc(size_t size);
void* __real_calloc(size_t count, size_t size);
void* __real_realloc(void* ptr, size_t size);
void* __wrap_malloc(size_t size) {
  note_allocation();
  return __real_malloc(size);
}
void* __wrap_calloc(size_t count, size_t size) {
  note_allocation();
  return __real_calloc(count, size);
}
void* __wrap_realloc(void* ptr, size_t size) {
  note_allocation();
  return __real_realloc(ptr, size);
}
}

void* operator new(size_t size) {
  note_allocation();
  if (void* p = __real_malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
// operator delete must match: __real_malloc's memory is freed by free().
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace mec {
namespace testing {
namespace {

const Conv2dDesc kValid = [] {
  Conv2dDesc d;
  d.n = 2;
  d.h = 9;
  d.w = 8;
  d.c = 4;
  d.k = 6;
  d.r = 3;
  d.s = 3;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1;
  return d;
}();

// Creating a plan for `d` fails with `expected`, naming `field`.
void expect_rejected(const Conv2dDesc& d, Status expected, const std::string& field) {
  for (Algorithm a : all_cpu_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    EXPECT_EQ(Conv2dPlan::create(d, a, Context::cpu(1), &plan), expected)
        << algorithm_name(a) << ": " << describe(d);
    EXPECT_NE(std::string(last_error()).find(field), std::string::npos)
        << "message '" << last_error() << "' does not name " << field;
    EXPECT_EQ(plan, nullptr);
  }
}

TEST(Api, RejectsNonPositiveDimensions) {
  const struct {
    const char* field;
    int64_t Conv2dDesc::*member;
  } fields[] = {{"n", &Conv2dDesc::n}, {"h", &Conv2dDesc::h},          {"w", &Conv2dDesc::w},
                {"c", &Conv2dDesc::c}, {"k", &Conv2dDesc::k},          {"r", &Conv2dDesc::r},
                {"s", &Conv2dDesc::s}, {"groups", &Conv2dDesc::groups}};
  for (const auto& f : fields) {
    for (int64_t bad : {int64_t(0), int64_t(-3)}) {
      Conv2dDesc d = kValid;
      d.*f.member = bad;
      expect_rejected(d, Status::kInvalidArgument, std::string(f.field) + " must be >= 1");
    }
  }
}

TEST(Api, RejectsBadPadStrideDilation) {
  const struct {
    const char* field;
    int64_t Conv2dDesc::*member;
    int64_t bad;
  } fields[] = {
      {"pad_top", &Conv2dDesc::pad_top, -1},      {"pad_bottom", &Conv2dDesc::pad_bottom, -2},
      {"pad_left", &Conv2dDesc::pad_left, -1},    {"pad_right", &Conv2dDesc::pad_right, -5},
      {"stride_h", &Conv2dDesc::stride_h, 0},     {"stride_w", &Conv2dDesc::stride_w, 0},
      {"dilation_h", &Conv2dDesc::dilation_h, 0}, {"dilation_w", &Conv2dDesc::dilation_w, -1}};
  for (const auto& f : fields) {
    Conv2dDesc d = kValid;
    d.*f.member = f.bad;
    expect_rejected(d, Status::kInvalidArgument, f.field);
  }
}

TEST(Api, RejectsKernelLargerThanPaddedInput) {
  Conv2dDesc d = kValid;
  d.r = 12;  // 9 + 1 + 1 = 11 rows
  expect_rejected(d, Status::kInvalidArgument, "kernel height");
  d = kValid;
  d.dilation_w = 5;  // (3 - 1) * 5 + 1 = 11 > 10
  expect_rejected(d, Status::kInvalidArgument, "kernel width");
}

TEST(Api, RejectsIndivisibleGroups) {
  Conv2dDesc d = kValid;
  d.groups = 3;  // c = 4
  expect_rejected(d, Status::kInvalidArgument, "divisible by groups");
  d.c = 6;
  d.k = 8;
  expect_rejected(d, Status::kInvalidArgument, "k (8) must be divisible");
}

TEST(Api, RejectsOverflowingSizes) {
  Conv2dDesc d = kValid;
  d.h = d.w = int64_t(1) << 31;  // src bytes 2 * 2^62 * 4 * 4
  expect_rejected(d, Status::kInvalidArgument, "src size");
  d = kValid;
  d.pad_top = INT64_MAX;
  expect_rejected(d, Status::kInvalidArgument, "padded height");
  d = kValid;
  d.k = int64_t(1) << 60;
  expect_rejected(d, Status::kInvalidArgument, "weights size");
  d = kValid;
  d.dilation_h = INT64_MAX;
  expect_rejected(d, Status::kInvalidArgument, "dilated kernel height");
}

// Valid but absurd: padding near INT64_MAX makes a 2^63-byte dst of one
// column. Plan creation must answer a status for every algorithm without
// overflowing on the way (the asan job's UBSan checks that; FFT's tiling
// once multiplied and rounded tile counts near INT64_MAX).
TEST(Api, HugePaddingPlansWithoutOverflow) {
  Conv2dDesc d;
  d.n = d.h = d.w = d.c = d.k = 1;
  d.r = 19;
  d.s = 1;
  d.stride_h = 4;
  d.pad_top = INT64_MAX / 2;
  d.pad_bottom = INT64_MAX / 2;  // h + pads = INT64_MAX
  for (Algorithm a : all_cpu_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    const Status st = Conv2dPlan::create(d, a, Context::cpu(2), &plan);
    if (st == Status::kSuccess) {
      EXPECT_LT(plan->workspace_bytes(), size_t(1) << 62) << algorithm_name(a);
    } else {
      EXPECT_FALSE(std::string(last_error()).empty()) << algorithm_name(a);
    }
  }
}

TEST(Api, RejectsBadEnumValues) {
  Conv2dDesc d = kValid;
  d.filter_layout = static_cast<FilterLayout>(7);
  expect_rejected(d, Status::kInvalidArgument, "filter_layout");
  std::unique_ptr<Conv2dPlan> plan;
  EXPECT_EQ(Conv2dPlan::create(kValid, static_cast<Algorithm>(99), Context::cpu(1), &plan),
            Status::kInvalidArgument);
  EXPECT_EQ(Conv2dPlan::create(kValid, Algorithm::kMec, Context::cpu(1), nullptr),
            Status::kInvalidArgument);
}

TEST(Api, AlgorithmNamesRoundTrip) {
  for (Algorithm a : {Algorithm::kAuto, Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMec,
                      Algorithm::kMecA, Algorithm::kMecB, Algorithm::kFft, Algorithm::kWinograd,
                      Algorithm::kWinogradF2, Algorithm::kWinogradF4}) {
    Algorithm parsed;
    ASSERT_TRUE(parse_algorithm(algorithm_name(a), &parsed));
    EXPECT_EQ(parsed, a);
  }
  Algorithm parsed;
  EXPECT_FALSE(parse_algorithm("mec_c", &parsed));
  EXPECT_STREQ(status_string(Status::kInsufficientWorkspace), "insufficient workspace");
}

// run() with bad pointers or a short workspace fails and leaves dst as it was.
TEST(Api, RunRejectsBadArgumentsAndLeavesDstUntouched) {
  const Problem problem(kValid, false, 5);
  for (Algorithm a : all_cpu_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(kValid, a, Context::cpu(1), &plan), Status::kSuccess);
    const size_t bytes = plan->workspace_bytes();
    std::vector<unsigned char> ws(bytes + 64);
    std::vector<float> dst(kValid.dst_elems(), 42.0f);
    const float* src = problem.src.data();
    const float* w = problem.weights.data();
    EXPECT_EQ(plan->run(nullptr, w, nullptr, dst.data(), ws.data(), bytes),
              Status::kInvalidArgument);
    EXPECT_STREQ(last_error(), "src is null");
    EXPECT_EQ(plan->run(src, nullptr, nullptr, dst.data(), ws.data(), bytes),
              Status::kInvalidArgument);
    EXPECT_EQ(plan->run(src, w, nullptr, nullptr, ws.data(), bytes), Status::kInvalidArgument);
    if (bytes > 0) {
      EXPECT_EQ(plan->run(src, w, nullptr, dst.data(), ws.data(), bytes - 1),
                Status::kInsufficientWorkspace)
          << algorithm_name(a);
      EXPECT_EQ(plan->run(src, w, nullptr, dst.data(), nullptr, bytes), Status::kInvalidArgument);
    }
    for (float v : dst) ASSERT_EQ(v, 42.0f) << algorithm_name(a);
    // After set_weights(), weights must be null.
    ASSERT_EQ(plan->set_weights(w), Status::kSuccess);
    EXPECT_EQ(plan->run(src, w, nullptr, dst.data(), ws.data(), bytes), Status::kInvalidArgument);
    for (float v : dst) ASSERT_EQ(v, 42.0f) << algorithm_name(a);
  }
}

// What run() writes (dst, the workspace) must not overlap what it reads or
// each other (kInvalidArgument, dst untouched); buffers that only touch are
// fine and give the right result.
TEST(Api, RunRejectsOverlappingBuffers) {
  const Problem problem(kValid, true, 7);
  const size_t s = problem.src.size(), wn = problem.weights.size(), k = problem.bias.size(),
               dn = problem.expected.size();
  for (Algorithm a : all_cpu_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(kValid, a, Context::cpu(1), &plan), Status::kSuccess);
    const size_t bytes = plan->workspace_bytes();
    // One arena, each buffer touching the next: src | weights | bias | dst | workspace.
    std::vector<float> arena(s + wn + k + dn + bytes / 4 + 1);
    float* const src = arena.data();
    float* const w = std::copy(problem.src.begin(), problem.src.end(), src);
    float* const b = std::copy(problem.weights.begin(), problem.weights.end(), w);
    float* const dst = std::copy(problem.bias.begin(), problem.bias.end(), b);
    float* const ws = dst + dn;
    ASSERT_EQ(plan->run(src, w, b, dst, ws, bytes), Status::kSuccess) << last_error();
    for (size_t i = 0; i < dn; ++i) {
      ASSERT_NEAR(dst[i], problem.expected[i], 1e-3) << algorithm_name(a) << " " << i;
    }
    std::fill(dst, dst + dn, 42.0f);
    auto refused = [&](const float* src_, const float* w_, const float* b_, float* dst_, void* ws_,
                       const char* message) {
      EXPECT_EQ(plan->run(src_, w_, b_, dst_, ws_, bytes), Status::kInvalidArgument)
          << algorithm_name(a) << " " << message;
      EXPECT_STREQ(last_error(), message) << algorithm_name(a);
    };
    refused(src, w, b, src, ws, "dst overlaps src: run() does not compute in place");
    refused(src, w, nullptr, w, ws, "dst overlaps weights: run() does not compute in place");
    refused(src, w, b, dst - 1, ws, "dst overlaps bias: run() does not compute in place");
    if (bytes > 0) {
      refused(src, w, b, dst, dst + dn - 1,
              "dst overlaps workspace: run() does not compute in place");
      refused(src, w, b, dst, src + 1, "the workspace overlaps src");
      refused(src, w, b, dst, b, "the workspace overlaps bias");
    }
    for (size_t i = 0; i < dn; ++i) ASSERT_EQ(dst[i], 42.0f) << algorithm_name(a);
  }
}

int64_t workspace_of(const Conv2dDesc& d, Algorithm a) {
  std::unique_ptr<Conv2dPlan> plan;
  EXPECT_EQ(Conv2dPlan::create(d, a, Context::cpu(1), &plan), Status::kSuccess) << last_error();
  return plan ? int64_t(plan->workspace_bytes()) : -1;
}

// The documented formulas (docs/mec.md), on the paper's layers and
// on padded, strided, dilated and grouped ones.
TEST(Api, WorkspaceIsExactlyTheFormula) {
  for (const char* text : {"n1h227w227c3k96r11s11u4", "n32h24w24c96k256r5s5",
                           "n3h56w56c64k64r3s3p1", "n2h30w17c12k6r3s5pt1pb2pl0pr3uh2uw3dh2dw1g3"}) {
    Conv2dDesc d;
    std::string error;
    ASSERT_TRUE(parse_shape(text, &d, &error)) << error;
    const int64_t hp = d.h + d.pad_top + d.pad_bottom, lowered = d.n * d.q() * hp * d.s * d.c;
    const int64_t im2col = d.n * d.p() * d.q() * d.r * d.s * d.c;
    EXPECT_EQ(workspace_of(d, Algorithm::kMecB), 4 * lowered) << text;
    EXPECT_EQ(workspace_of(d, Algorithm::kIm2col), 4 * im2col) << text;
    EXPECT_EQ(workspace_of(d, Algorithm::kDirect), 0) << text;
    // Solution A reuses L for the reordering when |O| <= |L|; else it needs
    // a separate |O| (never with one image, which needs no reordering).
    const int64_t extra = d.n > 1 && d.dst_elems() > lowered ? d.dst_elems() : 0;
    EXPECT_EQ(workspace_of(d, Algorithm::kMecA), 4 * (lowered + extra)) << text;
    // OIHW weights are repacked per run in the workspace, or once in the
    // plan by set_weights().
    d.filter_layout = FilterLayout::kOIHW;
    EXPECT_EQ(workspace_of(d, Algorithm::kMecB), 4 * (lowered + d.weight_elems())) << text;
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMecB, Context::cpu(1), &plan), Status::kSuccess);
    std::vector<float> w(d.weight_elems(), 0.5f);
    ASSERT_EQ(plan->set_weights(w.data()), Status::kSuccess);
    EXPECT_EQ(int64_t(plan->workspace_bytes()), 4 * lowered);
    EXPECT_EQ(int64_t(plan->persistent_bytes()), 4 * d.weight_elems());
  }
}

// A run() with an exactly-sized workspace writes nothing past it.
TEST(Api, RunStaysInsideTheWorkspace) {
  const Problem problem(kValid, true, 11);
  for (Algorithm a : all_cpu_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(kValid, a, Context::cpu(2), &plan), Status::kSuccess);
    const size_t bytes = plan->workspace_bytes(), guard = 256;
    std::vector<unsigned char> ws(bytes + guard, 0x5A);
    std::vector<float> dst(kValid.dst_elems(), std::nanf(""));
    ASSERT_EQ(plan->run(problem.src.data(), problem.weights.data(), problem.bias.data(), dst.data(),
                        ws.data(), bytes),
              Status::kSuccess);
    for (size_t i = bytes; i < bytes + guard; ++i) ASSERT_EQ(ws[i], 0x5A) << algorithm_name(a);
    EXPECT_LE(reference::max_rel_error(dst.data(), problem.expected.data(), dst.size()),
              tolerance(a));
  }
}

TEST(Api, RunAllocatesNothing) {
  for (const char* text : {"n2h9w8c4k6r3s3p1", "n3h12w10c8k16r3s3u2g2", "n1h15w15c3k8r5s5dh2"}) {
    Conv2dDesc d;
    std::string error;
    ASSERT_TRUE(parse_shape(text, &d, &error)) << error;
    const Problem problem(d, true, 3);
    for (Algorithm a : all_cpu_algorithms()) {
      std::unique_ptr<Conv2dPlan> plan;
      const Status created = Conv2dPlan::create(d, a, Context::cpu(2), &plan);
      if (created == Status::kUnsupported && d.r * d.s * d.stride_h * d.dilation_h != 9) {
        continue;  // Winograd takes only 3x3 stride-1 dilation-1 layers
      }
      ASSERT_EQ(created, Status::kSuccess) << algorithm_name(a);
      std::vector<unsigned char> ws(plan->workspace_bytes());
      std::vector<float> dst(d.dst_elems());
      auto run = [&] {
        return plan->run(problem.src.data(), problem.weights.data(), problem.bias.data(),
                         dst.data(), ws.data(), ws.size());
      };
      ASSERT_EQ(run(), Status::kSuccess);  // warm up the OpenMP and BLAS runtimes
      g_allocations = 0;
      g_counting = true;
      const Status st = run();
      g_counting = false;
      ASSERT_EQ(st, Status::kSuccess);
      EXPECT_EQ(g_allocations.load(), 0) << algorithm_name(a) << " allocated in run()";
    }
  }
}

// The counter itself works (so the test above can fail).
TEST(Api, AllocationCounterCounts) {
  // volatile: keeps the compiler from eliding the allocation pair.
  void* volatile p = nullptr;
  int* volatile q = nullptr;
  g_allocations = 0;
  g_counting = true;
  p = std::malloc(16);
  q = new int(3);
  g_counting = false;
  std::free(p);
  delete q;
  EXPECT_EQ(g_allocations.load(), 2);
}

}  // namespace
}  // namespace testing
}  // namespace mec
