// mecbench --device cuda: our CUDA plans as runners, the problem's inputs
// on the GPU, and the CUDA-event timing loop shared by ours and cuDNN.
// Timing: per runner, its output poisoned with NaN, one checked run (image
// 0 of dst or dsrc, or the whole weight gradient, against the double
// reference), `warmup` more runs, then `reps` runs
// enqueued back to back on one stream with a CUDA event between
// consecutive runs; median and min of the intervals. The stream waits
// behind a gate (a host function) until all of them are enqueued, so the
// intervals are GPU time, not the host's time to enqueue a run: on an H100
// cuDNN's host side takes longer than its kernels at batch 1, and without
// the gate its times move up to 3.4x between runs. A runner whose
// enqueueing waits for the GPU would keep the gate shut: after 2 s it opens,
// and that runner is timed again without it (note "timed without the
// gate"). Runners are timed one after another, each holding its big memory
// (acquire/release) only then.
#include "cuda_device.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>

#include "reference/reference_conv.h"

namespace mecbench {

DeviceInputs::~DeviceInputs() {
  cudaFree(src);
  cudaFree(weights);
  cudaFree(ddst);
}

int64_t checked_elems(const Problem& p) {
  switch (p.pass) {
    case mec::Pass::kBackwardData:
      return p.desc.h * p.desc.w * p.desc.c;
    case mec::Pass::kBackwardWeights:
      return p.desc.weight_elems();
    default:
      return p.desc.p() * p.desc.q() * p.desc.k;
  }
}

cudaStream_t bench_stream() {
  static cudaStream_t stream = [] {
    cudaStream_t s = nullptr;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    return s;
  }();
  return stream;
}

std::string cuda_error(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return "";
  cudaGetLastError();
  return std::string(what) + ": CUDA error " + cudaGetErrorString(e);
}

bool cuda_built() { return true; }

bool upload_problem(Problem* p, std::string* error) {
  auto in = std::make_shared<DeviceInputs>();
  std::string err = cuda_error(cudaMalloc(&in->src, p->src.size() * 4), "cudaMalloc src");
  if (err.empty()) err = cuda_error(cudaMalloc(&in->weights, p->weights.size() * 4), "weights");
  if (err.empty())
    err = cuda_error(cudaMemcpy(in->src, p->src.data(), p->src.size() * 4, cudaMemcpyHostToDevice),
                     "copy");
  if (err.empty())
    err = cuda_error(
        cudaMemcpy(in->weights, p->weights.data(), p->weights.size() * 4, cudaMemcpyHostToDevice),
        "copy");
  if (err.empty() && !p->ddst.empty()) {
    err = cuda_error(cudaMalloc(&in->ddst, p->ddst.size() * 4), "cudaMalloc ddst");
    if (err.empty())
      err = cuda_error(
          cudaMemcpy(in->ddst, p->ddst.data(), p->ddst.size() * 4, cudaMemcpyHostToDevice), "copy");
  }
  if (!err.empty()) {
    *error = p->layer + ": " + err;
    return false;
  }
  p->device = in;
  return true;
}

namespace {

struct OursState {
  std::unique_ptr<mec::Conv2dPlan> plan;
  void* workspace = nullptr;
  float* dst = nullptr;    // the pass's output
  float* dbias = nullptr;  // bwd_weights
  ~OursState() {
    plan.reset();
    cudaFree(workspace);
    cudaFree(dst);
    cudaFree(dbias);
  }
};

}  // namespace

Runner prepare_ours_cuda(const Problem& p, const std::string& algo, const Options& options) {
  Runner runner;
  Record& r = runner.record;
  r = new_record(p, algo, options);
  auto state = std::make_shared<OursState>();
  mec::Context ctx;
  const mec::Status st = mec::Context::cuda(&ctx, bench_stream(), 0);
  if (st != mec::Status::kSuccess) {
    r.status = st == mec::Status::kUnsupported ? "unsupported" : "error";
    r.note = mec::last_error();
    return runner;
  }
  ctx.set_allow_tf32(options.math == "tf32");
  if (options.threshold >= 0) ctx.set_mec_threshold(options.threshold);
  set_plan_options(options, &ctx);
  if (!create_plan(p.desc, algo, ctx, options, &state->plan, &r, p.pass)) return runner;
  mec::Conv2dPlan& plan = *state->plan;
  r.variant = plan.variant();
  const bool packed = options.packed && p.pass != mec::Pass::kBackwardWeights;
  if (packed && plan.set_weights(p.device->weights) != mec::Status::kSuccess) {
    r.status = "error";
    r.note = std::string("set_weights: ") + mec::last_error();
    return runner;
  }
  r.workspace_bytes = int64_t(plan.workspace_bytes());
  r.persistent_bytes = int64_t(plan.persistent_bytes());
  std::string err = cuda_error(cudaMalloc(&state->dst, output_elems(p) * 4), "cudaMalloc output");
  if (err.empty() && p.pass == mec::Pass::kBackwardWeights)
    err = cuda_error(cudaMalloc(&state->dbias, p.desc.k * 4), "cudaMalloc dbias");
  if (err.empty() && r.workspace_bytes > 0)
    err = cuda_error(cudaMalloc(&state->workspace, r.workspace_bytes), "cudaMalloc workspace");
  if (!err.empty()) {
    r.status = "error";
    r.note = err;
    return runner;
  }
  const float* weights = packed ? nullptr : p.device->weights;
  const float *src = p.device->src, *ddst = p.device->ddst;
  const size_t ws = size_t(r.workspace_bytes);
  const mec::Pass pass = p.pass;
  runner.dst = state->dst;
  runner.run = [state, src, weights, ddst, ws, pass]() -> std::string {
    mec::Conv2dPlan& plan = *state->plan;
    mec::Status s;
    switch (pass) {
      case mec::Pass::kBackwardData:
        s = plan.run_backward_data(ddst, weights, state->dst, state->workspace, ws);
        break;
      case mec::Pass::kBackwardWeights:
        s = plan.run_backward_weights(src, ddst, state->dst, state->dbias, state->workspace, ws);
        break;
      default:
        s = plan.run(src, weights, nullptr, state->dst, state->workspace, ws);
    }
    if (s == mec::Status::kSuccess) return "";
    return std::string(mec::status_string(s)) + ": " + mec::last_error();
  };
  const size_t checked = size_t(checked_elems(p));
  runner.fetch0 = [state, checked](float* host) {
    return cuda_error(cudaMemcpy(host, state->dst, checked * 4, cudaMemcpyDeviceToHost),
                      "copy the output to the host");
  };
  return runner;
}

namespace {

// Holds a stream (a host function enqueued on it) until opened, or for 2 s.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false, timed_out = false;

  static void CUDART_CB wait(void* self) {
    auto* g = static_cast<Gate*>(self);
    std::unique_lock<std::mutex> lock(g->m);
    if (!g->cv.wait_for(lock, std::chrono::seconds(2), [g] { return g->open; })) {
      g->timed_out = true;
    }
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(m);
      open = true;
    }
    cv.notify_all();
  }
};

// Runs `reps` times with an event before and after each run; with a gate
// the stream waits until every run is enqueued. False if the gate opened
// on its own (a run waited for the GPU).
bool timed_runs(Runner& runner, const std::vector<cudaEvent_t>& events, int reps, bool gated,
                cudaStream_t stream, std::string* err) {
  Gate gate;
  if (gated) *err = cuda_error(cudaLaunchHostFunc(stream, Gate::wait, &gate), "gate");
  if (err->empty()) *err = cuda_error(cudaEventRecord(events[0], stream), "event");
  for (int i = 0; err->empty() && i < reps; ++i) {
    *err = runner.run();
    if (err->empty()) *err = cuda_error(cudaEventRecord(events[i + 1], stream), "event");
  }
  if (gated) gate.release();
  const std::string sync = cuda_error(cudaStreamSynchronize(stream), "timed runs");
  if (err->empty()) *err = sync;
  return !gate.timed_out;
}

}  // namespace

void time_layer_cuda(const Problem& p, const Options& options, std::vector<Runner>* runners) {
  const cudaStream_t stream = bench_stream();
  std::vector<float> host(checked_elems(p));
  std::vector<cudaEvent_t> events(options.reps + 1);
  for (cudaEvent_t& e : events) cudaEventCreate(&e);
  for (Runner& runner : *runners) {
    Record& r = runner.record;
    if (!runner.run) continue;
    auto fail = [&](const std::string& why) {
      // cuDNN can accept a problem at its workspace query and refuse it at run.
      r.status = why.find("NOT_SUPPORTED") != std::string::npos ? "unsupported" : "error";
      r.note = why;
    };
    std::string err = runner.acquire ? runner.acquire() : "";
    if (!err.empty()) {
      fail(err);
      continue;
    }
    err = cuda_error(cudaMemsetAsync(runner.dst, 0xFF, size_t(output_elems(p)) * 4, stream),
                     "poisoning the output");
    if (err.empty()) err = runner.run();
    if (err.empty()) err = cuda_error(cudaStreamSynchronize(stream), "checked run");
    if (err.empty()) err = runner.fetch0(host.data());
    if (err.empty()) {
      r.max_rel_err = p.truth.empty() ? std::numeric_limits<double>::quiet_NaN()
                                      : mec::reference::max_rel_error(host.data(), p.truth.data(),
                                                                      int64_t(p.truth.size()));
    }
    for (int w = 0; err.empty() && w < options.warmup; ++w) err = runner.run();
    if (err.empty() && !timed_runs(runner, events, options.reps, true, stream, &err) &&
        err.empty()) {
      timed_runs(runner, events, options.reps, false, stream, &err);
      r.note = "timed without the gate";
    }
    if (runner.release) runner.release();
    if (!err.empty()) {
      fail(err);
      continue;
    }
    std::vector<double> ms(options.reps);
    for (int i = 0; i < options.reps; ++i) {
      float t = 0;
      cudaEventElapsedTime(&t, events[i], events[i + 1]);
      ms[i] = t;
    }
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    r.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    r.min_ms = ms[0];
    r.gflops = p.desc.flops() / (r.median_ms * 1e6);
  }
  for (cudaEvent_t& e : events) cudaEventDestroy(e);
}

}  // namespace mecbench
