// kAuto within a workspace budget (Context::set_workspace_limit,
// Context::set_auto_mode; src/common/auto_select.cc, src/cpu/auto_cpu.cc):
// the budget is never exceeded and the plan is right, named algorithms
// over the budget are refused with the bytes they need, the measured mode
// picks the fastest of the timings it is given and remembers it, and its
// cache is safe from many threads (Reliability.*, run under TSan in CI).
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "common/auto_select.h"
#include "conv_tester.h"
#include "cpu/cpu_plans.h"
#include "random_desc.h"

namespace mec {
namespace testing {
namespace {

const size_t kLimits[] = {0, 1, 4096, size_t(1) << 16, size_t(1) << 20, SIZE_MAX};

TEST(AutoBudget, NeverExceededAndCorrect) {
  std::mt19937 rng(7);
  for (int i = 0; i < 60; ++i) {
    const Conv2dDesc d = random_desc(rng);
    const Problem pr(d, i % 2 == 0, 100 + i);
    for (AutoMode mode : {AutoMode::kModel, AutoMode::kMeasure}) {
      for (size_t limit : kLimits) {
        Context ctx = Context::cpu(1 + i % 2);
        ctx.set_workspace_limit(limit);
        ctx.set_auto_mode(mode);
        std::unique_ptr<Conv2dPlan> plan;
        ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kAuto, ctx, &plan), Status::kSuccess)
            << last_error() << " on " << describe(d) << " limit " << limit;
        EXPECT_LE(plan->workspace_bytes(), limit) << plan->variant() << " on " << describe(d);
        EXPECT_EQ(std::string(plan->variant()).rfind(algorithm_name(plan->algorithm()), 0), 0u);
        CpuCheckDevice device(ctx, i % 3 == 0);
        check_plan(pr, Algorithm::kAuto, device);
      }
    }
  }
}

TEST(AutoBudget, NamedAlgorithmOverTheLimitIsRefusedWithTheBytes) {
  Conv2dDesc d;
  d.h = d.w = 20;
  d.c = 8;
  d.k = 16;
  d.r = d.s = 3;
  for (Algorithm a : {Algorithm::kIm2col, Algorithm::kMec, Algorithm::kFft, Algorithm::kWinograd}) {
    Context ctx = Context::cpu(1);
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(d, a, ctx, &plan), Status::kSuccess) << last_error();
    const size_t needed = plan->workspace_bytes();
    ASSERT_GT(needed, 0u) << algorithm_name(a);
    ctx.set_workspace_limit(needed);
    EXPECT_EQ(Conv2dPlan::create(d, a, ctx, &plan), Status::kSuccess) << last_error();
    ctx.set_workspace_limit(needed - 1);
    std::unique_ptr<Conv2dPlan> refused;
    EXPECT_EQ(Conv2dPlan::create(d, a, ctx, &refused), Status::kInsufficientWorkspace);
    EXPECT_EQ(refused, nullptr);
    const std::string message = last_error();
    EXPECT_NE(message.find(std::to_string(needed)), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(needed - 1)), std::string::npos) << message;
  }
}

// A device of three real CPU candidates whose timings the test sets.
struct ScriptedTimings {
  std::map<Algorithm, double> seconds;
  std::atomic<int> measured{0};
};
ScriptedTimings* g_timings = nullptr;

double predict_equal(const Conv2dDesc&, const detail::AutoCandidate&, const Context&) {
  return 1.0;
}

Status scripted_measure(const detail::PlanImpl& plan, const Context&, double, double* seconds) {
  ++g_timings->measured;
  *seconds = g_timings->seconds.at(plan.algorithm());
  return Status::kSuccess;
}

detail::AutoDevice scripted_device() {
  return {
      "the test device", {{Algorithm::kDirect, 0}, {Algorithm::kIm2col, 0}, {Algorithm::kMecB, 0}},
      Pass::kForward,    cpu::create_plan,
      predict_equal,     std::numeric_limits<double>::infinity(), scripted_measure};
}

TEST(AutoMeasured, PicksTheFastestTimingAndRemembersIt) {
  Conv2dDesc d;
  d.h = d.w = 9;
  d.c = 4;
  d.k = 6;
  d.r = d.s = 3;
  ScriptedTimings timings;
  g_timings = &timings;
  for (Algorithm fastest : {Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMecB}) {
    timings.seconds = {
        {Algorithm::kDirect, 3.0}, {Algorithm::kIm2col, 2.0}, {Algorithm::kMecB, 1.5}};
    timings.seconds[fastest] = 0.5;
    Context ctx = Context::cpu(1);
    ctx.set_auto_mode(AutoMode::kMeasure);
    std::unique_ptr<detail::PlanImpl> impl;
    timings.measured = 0;
    ASSERT_EQ(detail::create_auto(d, ctx, scripted_device(), &impl), Status::kSuccess);
    EXPECT_EQ(impl->algorithm(), fastest);
    EXPECT_EQ(timings.measured.load(), 3);
    // The same key again: the context remembers, nothing is timed.
    timings.seconds[fastest] = 9.0;
    ASSERT_EQ(detail::create_auto(d, ctx, scripted_device(), &impl), Status::kSuccess);
    EXPECT_EQ(impl->algorithm(), fastest);
    EXPECT_EQ(timings.measured.load(), 3);
    // A copy shares the memory; another limit is another key.
    Context copy = ctx;
    ASSERT_EQ(detail::create_auto(d, copy, scripted_device(), &impl), Status::kSuccess);
    EXPECT_EQ(timings.measured.load(), 3);
    copy.set_workspace_limit(size_t(1) << 30);
    ASSERT_EQ(detail::create_auto(d, copy, scripted_device(), &impl), Status::kSuccess);
    EXPECT_EQ(timings.measured.load(), 6);
    EXPECT_NE(impl->algorithm(), fastest);
  }
  g_timings = nullptr;
}

TEST(AutoBudget, NothingFitsNamesTheSmallestNeed) {
  Conv2dDesc d;
  d.h = d.w = 9;
  d.c = 4;
  d.k = 6;
  d.r = d.s = 3;
  detail::AutoDevice device = scripted_device();
  device.candidates = {{Algorithm::kIm2col, 0}, {Algorithm::kMecB, 0}};
  Context ctx = Context::cpu(1);
  size_t smallest = SIZE_MAX;
  for (const auto& c : device.candidates) {
    std::unique_ptr<detail::PlanImpl> impl;
    ASSERT_EQ(cpu::create_plan(d, Pass::kForward, c.algorithm, ctx, &impl), Status::kSuccess);
    smallest = std::min(smallest, impl->workspace_bytes());
  }
  ctx.set_workspace_limit(smallest - 1);
  std::unique_ptr<detail::PlanImpl> impl;
  EXPECT_EQ(detail::create_auto(d, ctx, device, &impl), Status::kInsufficientWorkspace);
  EXPECT_NE(std::string(last_error()).find(std::to_string(smallest)), std::string::npos)
      << last_error();
}

// Many threads make measured plans of a few shapes on one context at once:
// every plan is made, and afterwards each shape has one remembered winner.
TEST(Reliability, AutoMeasuredCacheFromManyThreads) {
  Context ctx = Context::cpu(1);
  ctx.set_auto_mode(AutoMode::kMeasure);
  std::vector<Conv2dDesc> shapes;
  std::mt19937 rng(11);
  for (int i = 0; i < 3; ++i) shapes.push_back(random_desc(rng));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        std::unique_ptr<Conv2dPlan> plan;
        if (Conv2dPlan::create(shapes[(t + i) % 3], Algorithm::kAuto, ctx, &plan) !=
            Status::kSuccess) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const Conv2dDesc& d : shapes) {
    detail::AutoCandidate winner;
    EXPECT_TRUE(ctx.auto_cache()->find(detail::auto_key(d, ctx), &winner)) << describe(d);
    std::unique_ptr<Conv2dPlan> a, b;
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kAuto, ctx, &a), Status::kSuccess);
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kAuto, ctx, &b), Status::kSuccess);
    EXPECT_STREQ(a->variant(), b->variant());
  }
}

}  // namespace
}  // namespace testing
}  // namespace mec
