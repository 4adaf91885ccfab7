// Reliability of every CPU algorithm (all_algorithms(), so new ones are
// covered when they land): one plan run from several std::threads at once,
// plans of two contexts in parallel, bitwise determinism at a fixed thread
// count, and the convenience path failing with kOutOfMemory, not an abort,
// when a workspace cannot be had (a multi-petabyte one, and a ulimit).
// What these tests establish is written up in docs/reliability.md.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "algorithm_list.h"
#include "conv_tester.h"
#include "mec/mec.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MEC_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MEC_SANITIZED 1
#endif

#ifdef MEC_SANITIZED
// A refused allocation must reach our code as a null pointer, which is what
// the OutOfMemory tests check, rather than the sanitizer's own abort.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
extern "C" const char* __tsan_default_options() { return "allocator_may_return_null=1"; }
#endif

namespace mec {
namespace testing {
namespace {

std::vector<float> nan_filled(int64_t count) {
  return std::vector<float>(count, std::numeric_limits<float>::quiet_NaN());
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs `plan` on `problem` with the workspace filled with `fill` bytes and
// dst poisoned with NaN; weights are null when the plan holds packed ones.
Status run_plan(const Conv2dPlan& plan, const Problem& problem, bool packed, unsigned char fill,
                std::vector<float>* dst) {
  std::vector<unsigned char> workspace(plan.workspace_bytes(), fill);
  *dst = nan_filled(problem.desc.dst_elems());
  return plan.run(problem.src.data(), packed ? nullptr : problem.weights.data(),
                  problem.bias.empty() ? nullptr : problem.bias.data(), dst->data(),
                  workspace.empty() ? nullptr : workspace.data(), workspace.size());
}

// A few shapes that reach the threaded paths: batches, groups, OIHW (whose
// per-run repack goes through the workspace), Solution A's reordering.
std::vector<Conv2dDesc> concurrency_shapes() {
  return {
      ConvTester().batch(3).input(17, 19).channels(8, 12).kernel(3, 3).pad(1).desc(),
      ConvTester()
          .batch(2)
          .input(12, 10)
          .channels(6, 4)
          .kernel(3, 2)
          .stride(2, 1)
          .groups(2)
          .layout(FilterLayout::kOIHW)
          .desc(),
      ConvTester().input(9, 31).channels(5, 7).kernel(3, 3).dilation(2, 1).pad(2).desc(),
  };
}

TEST(Reliability, AlgorithmListCoversTheKnownOnes) {
  const std::vector<Algorithm> all = all_algorithms();
  for (Algorithm a : cpu_algorithms()) {
    EXPECT_NE(std::find(all.begin(), all.end(), a), all.end()) << algorithm_name(a);
  }
  // Everything conv_tester.h checks must be among what the fuzzer covers.
  EXPECT_GE(supported_algorithms(concurrency_shapes()[0], Context::cpu(1)).size(),
            cpu_algorithms().size());
}

// One plan, several std::threads, each on its own src/dst/workspace, several
// rounds: every result bitwise equal to the same input run alone.
TEST(Reliability, OnePlanManyThreadsMatchesSequential) {
  constexpr int kThreads = 4, kRounds = 3;
  for (const Conv2dDesc& desc : concurrency_shapes()) {
    std::vector<Problem> problems;
    for (int t = 0; t < kThreads; ++t) problems.emplace_back(desc, true, 500 + t);
    const Context context = Context::cpu(2);
    for (Algorithm a : supported_algorithms(desc, context)) {
      for (bool packed : {false, true}) {
        SCOPED_TRACE(std::string(algorithm_name(a)) + (packed ? " packed " : " ") + describe(desc));
        std::unique_ptr<Conv2dPlan> plan;
        ASSERT_EQ(Conv2dPlan::create(desc, a, context, &plan), Status::kSuccess);
        if (packed) {
          ASSERT_EQ(plan->set_weights(problems[0].weights.data()), Status::kSuccess);
        }
        // With packed weights every thread uses problem 0's weights.
        auto problem_of = [&](int t) -> const Problem& { return problems[packed ? 0 : t]; };
        std::vector<std::vector<float>> sequential(kThreads);
        for (int t = 0; t < kThreads; ++t) {
          ASSERT_EQ(run_plan(*plan, problem_of(t), packed, 0xA5, &sequential[t]), Status::kSuccess);
          EXPECT_LE(reference::max_rel_error(sequential[t].data(), problem_of(t).expected.data(),
                                             desc.dst_elems()),
                    tolerance(a));
        }
        std::vector<std::vector<float>> results(kThreads * kRounds);
        std::vector<Status> statuses(kThreads * kRounds, Status::kBackendError);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
          threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
              const int slot = t * kRounds + i;
              statuses[slot] = run_plan(*plan, problem_of(t), packed, 0x5A, &results[slot]);
            }
          });
        }
        for (std::thread& th : threads) th.join();
        for (int slot = 0; slot < kThreads * kRounds; ++slot) {
          EXPECT_EQ(statuses[slot], Status::kSuccess);
          EXPECT_TRUE(bitwise_equal(results[slot], sequential[slot / kRounds])) << "slot " << slot;
        }
      }
    }
  }
}

// Plans of two contexts (1 and 3 OpenMP threads, different MEC thresholds)
// on different shapes, created, packed and run concurrently.
TEST(Reliability, TwoContextsInParallel) {
  const std::vector<Conv2dDesc> shapes = concurrency_shapes();
  Context contexts[2] = {Context::cpu(1), Context::cpu(3)};
  contexts[1].set_mec_threshold(1000);
  const Problem problems[2] = {Problem(shapes[0], true, 11), Problem(shapes[1], false, 12)};
  for (Algorithm a : all_algorithms()) {
    SCOPED_TRACE(algorithm_name(a));
    std::vector<float> sequential[2], parallel[2];
    Status created[2], statuses[2];
    auto work = [&](int i, std::vector<float>* out, Status* status) {
      std::unique_ptr<Conv2dPlan> plan;
      created[i] = Conv2dPlan::create(problems[i].desc, a, contexts[i], &plan);
      if (created[i] != Status::kSuccess) return;
      const bool packed = i == 1;
      *status = packed ? plan->set_weights(problems[i].weights.data()) : Status::kSuccess;
      if (*status == Status::kSuccess) *status = run_plan(*plan, problems[i], packed, 0xC3, out);
    };
    for (int i = 0; i < 2; ++i) work(i, &sequential[i], &statuses[i]);
    for (int i = 0; i < 2; ++i) {
      if (created[i] == Status::kUnsupported) continue;
      ASSERT_EQ(created[i], Status::kSuccess) << last_error();
      ASSERT_EQ(statuses[i], Status::kSuccess);
      EXPECT_LE(reference::max_rel_error(sequential[i].data(), problems[i].expected.data(),
                                         problems[i].desc.dst_elems()),
                tolerance(a));
    }
    std::thread t0(work, 0, &parallel[0], &statuses[0]), t1(work, 1, &parallel[1], &statuses[1]);
    t0.join();
    t1.join();
    for (int i = 0; i < 2; ++i) {
      if (created[i] != Status::kSuccess) continue;
      EXPECT_EQ(statuses[i], Status::kSuccess);
      EXPECT_TRUE(bitwise_equal(parallel[i], sequential[i])) << "context " << i;
    }
  }
}

// run() called from inside the caller's own OpenMP parallel region (where
// nested regions get one thread by default): the same bits as alone, since
// the work split follows the context's thread count, not the team's.
TEST(Reliability, RunInsideCallerOpenMpRegion) {
  const Conv2dDesc desc = concurrency_shapes()[0];
  constexpr int kCallers = 3;
  std::vector<Problem> problems;
  for (int t = 0; t < kCallers; ++t) problems.emplace_back(desc, false, 900 + t);
  for (Algorithm a : supported_algorithms(desc, Context::cpu(2))) {
    SCOPED_TRACE(algorithm_name(a));
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(desc, a, Context::cpu(2), &plan), Status::kSuccess);
    std::vector<float> alone[kCallers], nested[kCallers];
    for (int t = 0; t < kCallers; ++t) {
      ASSERT_EQ(run_plan(*plan, problems[t], false, 0x33, &alone[t]), Status::kSuccess);
    }
    Status statuses[kCallers];
#pragma omp parallel for num_threads(kCallers) schedule(static, 1)
    for (int t = 0; t < kCallers; ++t) {
      statuses[t] = run_plan(*plan, problems[t], false, 0x44, &nested[t]);
    }
    for (int t = 0; t < kCallers; ++t) {
      EXPECT_EQ(statuses[t], Status::kSuccess);
      EXPECT_TRUE(bitwise_equal(alone[t], nested[t])) << "caller " << t;
    }
  }
}

// last_error() is per thread: concurrent failures keep their own messages.
TEST(Reliability, LastErrorIsPerThread) {
  std::string messages[2];
  std::thread threads[2];
  for (int i = 0; i < 2; ++i) {
    threads[i] = std::thread([i, &messages] {
      for (int round = 0; round < 200; ++round) {
        Conv2dDesc d;
        (i == 0 ? d.stride_h : d.dilation_w) = 0;
        std::unique_ptr<Conv2dPlan> plan;
        Conv2dPlan::create(d, Algorithm::kDirect, Context::cpu(1), &plan);
        messages[i] = last_error();
        if (messages[i].find(i == 0 ? "stride_h" : "dilation_w") == std::string::npos) return;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_NE(messages[0].find("stride_h"), std::string::npos) << messages[0];
  EXPECT_NE(messages[1].find("dilation_w"), std::string::npos) << messages[1];
}

// Same inputs, algorithm and thread count: bitwise the same output, whatever
// the workspace held before (0xFF bytes are NaNs: reading stale workspace
// would show). Across thread counts only the tolerance is promised; the
// test reports (does not require) whether the bits agree.
TEST(Reliability, BitwiseDeterministicPerThreadCount) {
  const std::vector<Conv2dDesc> shapes = {
      concurrency_shapes()[0], concurrency_shapes()[1],
      ConvTester().input(40, 40).channels(16, 24).kernel(3, 3).pad(1).desc()};
  std::string cross_thread_report;
  for (const Conv2dDesc& desc : shapes) {
    const Problem problem(desc, true, 77);
    for (Algorithm a : supported_algorithms(desc, Context::cpu(1))) {
      std::vector<float> by_threads[4];
      for (int threads = 1; threads <= 4; ++threads) {
        SCOPED_TRACE(std::string(algorithm_name(a)) + " threads " + std::to_string(threads) + " " +
                     describe(desc));
        std::unique_ptr<Conv2dPlan> plan;
        ASSERT_EQ(Conv2dPlan::create(desc, a, Context::cpu(threads), &plan), Status::kSuccess);
        std::vector<float> first, again;
        ASSERT_EQ(run_plan(*plan, problem, false, 0x00, &first), Status::kSuccess);
        EXPECT_LE(reference::max_rel_error(first.data(), problem.expected.data(), desc.dst_elems()),
                  tolerance(a));
        for (unsigned char fill : {0xFF, 0xA5}) {
          ASSERT_EQ(run_plan(*plan, problem, false, fill, &again), Status::kSuccess);
          EXPECT_TRUE(bitwise_equal(first, again)) << "workspace fill " << int(fill);
        }
        by_threads[threads - 1] = first;
      }
      for (int t = 1; t < 4; ++t) {
        if (!bitwise_equal(by_threads[0], by_threads[t])) {
          cross_thread_report += std::string(algorithm_name(a)) + "@" + std::to_string(t + 1) +
                                 "threads(" + describe(desc) + ") ";
        }
      }
    }
  }
  RecordProperty("differs_from_1_thread",
                 cross_thread_report.empty() ? "none" : cross_thread_report);
  std::printf("bits differ from the 1-thread result: %s\n",
              cross_thread_report.empty() ? "never" : cross_thread_report.c_str());
}

// conv2d() gives exactly what a plan gives, for every algorithm.
TEST(Reliability, ConvenienceMatchesPlan) {
  const Conv2dDesc desc = concurrency_shapes()[1];
  const Problem problem(desc, true, 5);
  const Context context = Context::cpu(2);
  for (Algorithm a : all_algorithms()) {
    SCOPED_TRACE(algorithm_name(a));
    std::unique_ptr<Conv2dPlan> plan;
    const Status created = Conv2dPlan::create(desc, a, context, &plan);
    std::vector<float> dst = nan_filled(desc.dst_elems());
    const Status st = conv2d(desc, a, context, problem.src.data(), problem.weights.data(),
                             problem.bias.data(), dst.data());
    EXPECT_EQ(st, created);
    if (created != Status::kSuccess) continue;
    std::vector<float> from_plan;
    ASSERT_EQ(run_plan(*plan, problem, false, 0x11, &from_plan), Status::kSuccess);
    EXPECT_TRUE(bitwise_equal(dst, from_plan));
    EXPECT_LE(reference::max_rel_error(dst.data(), problem.expected.data(), desc.dst_elems()),
              tolerance(a));
  }
}

TEST(Reliability, ConvenienceRejectsBadArguments) {
  const Conv2dDesc desc = concurrency_shapes()[0];
  std::vector<float> src(desc.src_elems(), 1.0f), weights(desc.weight_elems(), 1.0f);
  std::vector<float> dst = nan_filled(desc.dst_elems());
  const Context context = Context::cpu(1);
  EXPECT_EQ(conv2d(desc, Algorithm::kAuto, context, nullptr, weights.data(), nullptr, dst.data()),
            Status::kInvalidArgument);
  EXPECT_EQ(conv2d(desc, Algorithm::kAuto, context, src.data(), nullptr, nullptr, dst.data()),
            Status::kInvalidArgument);
  EXPECT_EQ(conv2d(desc, Algorithm::kAuto, context, src.data(), weights.data(), nullptr, nullptr),
            Status::kInvalidArgument);
  Conv2dDesc bad = desc;
  bad.groups = 5;
  EXPECT_EQ(conv2d(bad, Algorithm::kAuto, context, src.data(), weights.data(), nullptr, dst.data()),
            Status::kInvalidArgument);
  EXPECT_EQ(conv2d(desc, static_cast<Algorithm>(99), context, src.data(), weights.data(), nullptr,
                   dst.data()),
            Status::kInvalidArgument);
  EXPECT_TRUE(std::isnan(dst[0]));
}

// A valid shape whose workspace is far beyond any address space (over 2^57
// bytes for every algorithm that needs one; the shape also keeps the BLAS
// algorithms' GEMMs within 32-bit dimensions, so they do plan it).
// conv2d() must return kOutOfMemory before touching a tensor, so tiny
// stand-in buffers are passed.
TEST(Reliability, PetabyteWorkspaceIsOutOfMemory) {
  Conv2dDesc d;
  d.n = int64_t(1) << 28;
  d.h = d.w = 1;
  d.c = int64_t(1) << 18;
  d.k = 1;
  d.r = d.s = 64;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 32;
  ASSERT_EQ(validate(d), Status::kSuccess) << last_error();
  float src[1] = {1.0f}, weights[1] = {1.0f}, dst[1] = {std::nanf("")};
  const Context context = Context::cpu(1);
  int tried = 0;
  for (Algorithm a : all_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    if (Conv2dPlan::create(d, a, context, &plan) != Status::kSuccess) continue;
    if (plan->workspace_bytes() < (size_t(1) << 57)) continue;  // e.g. direct: would run
    ++tried;
    EXPECT_EQ(conv2d(d, a, context, src, weights, nullptr, dst), Status::kOutOfMemory)
        << algorithm_name(a);
    EXPECT_NE(std::string(last_error()).find("workspace"), std::string::npos) << last_error();
    EXPECT_TRUE(std::isnan(dst[0]));
  }
  EXPECT_GE(tried, 2) << "expected im2col and MEC to plan this shape";
}

#ifndef MEC_SANITIZED
int64_t vm_size_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmSize:") {
      int64_t kb;
      status >> kb;
      return kb * 1024;
    }
  }
  return -1;
}
#endif

// Under an address-space ulimit just above what the process uses: the
// workspace of a real ~800 MB im2col call and set_weights()'s copy of 50 MB
// of weights are refused, and both calls fail cleanly with kOutOfMemory.
// (Skipped under sanitizers, whose shadow memory makes RLIMIT_AS useless.)
TEST(Reliability, AddressSpaceLimitIsOutOfMemory) {
#ifdef MEC_SANITIZED
  GTEST_SKIP() << "RLIMIT_AS cannot be used under a sanitizer";
#else
  const Conv2dDesc big_ws =
      ConvTester().input(256, 256).channels(64, 16).kernel(7, 7).pad(3).desc();
  const Conv2dDesc big_weights = ConvTester().input(8, 8).channels(512, 512).kernel(7, 7).desc();
  std::vector<float> src(big_ws.src_elems(), 0.5f), weights(big_ws.weight_elems(), 0.25f);
  std::vector<float> dst = nan_filled(big_ws.dst_elems());
  std::vector<float> packable(big_weights.weight_elems(), 0.125f);
  const Context context = Context::cpu(2);
  std::vector<std::unique_ptr<Conv2dPlan>> pack_plans;
  for (Algorithm a : all_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    if (Conv2dPlan::create(big_weights, a, context, &plan) == Status::kSuccess) {
      pack_plans.push_back(std::move(plan));
    }
  }
  ASSERT_FALSE(pack_plans.empty());
  // Warm up OpenMP's thread pool before the limit, as a long-running caller would have.
  ASSERT_EQ(conv2d(concurrency_shapes()[0], Algorithm::kDirect, context, src.data(), weights.data(),
                   nullptr, dst.data()),
            Status::kSuccess);
  dst = nan_filled(big_ws.dst_elems());

  rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_AS, &saved), 0);
  const int64_t used = vm_size_bytes();
  ASSERT_GT(used, 0);
  rlimit limited = saved;
  limited.rlim_cur = rlim_t(used + (int64_t(16) << 20));
  ASSERT_EQ(setrlimit(RLIMIT_AS, &limited), 0);
  int ws_refused = 0, pack_refused = 0;
  std::vector<Status> conv_status, pack_status;
  for (Algorithm a : all_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    if (Conv2dPlan::create(big_ws, a, context, &plan) != Status::kSuccess) continue;
    if (plan->workspace_bytes() < (size_t(512) << 20)) continue;
    plan.reset();
    conv_status.push_back(
        conv2d(big_ws, a, context, src.data(), weights.data(), nullptr, dst.data()));
    ws_refused += conv_status.back() == Status::kOutOfMemory;
  }
  for (auto& plan : pack_plans) {
    pack_status.push_back(plan->set_weights(packable.data()));
    pack_refused += pack_status.back() == Status::kOutOfMemory;
  }
  ASSERT_EQ(setrlimit(RLIMIT_AS, &saved), 0);

  EXPECT_GE(ws_refused, 1) << "im2col needs ~800 MB of workspace here";
  for (Status st : conv_status) EXPECT_EQ(st, Status::kOutOfMemory);
  for (float v : {dst.front(), dst.back()}) EXPECT_TRUE(std::isnan(v));
  EXPECT_GE(pack_refused, 1);
  for (Status st : pack_status) EXPECT_TRUE(st == Status::kOutOfMemory || st == Status::kSuccess);
  // The plans still work once memory is back.
  for (auto& plan : pack_plans) {
    EXPECT_EQ(plan->set_weights(packable.data()), Status::kSuccess)
        << algorithm_name(plan->algorithm());
  }
#endif
}

}  // namespace
}  // namespace testing
}  // namespace mec
