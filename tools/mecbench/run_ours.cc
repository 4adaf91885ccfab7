// Prepares one of libmec's algorithms on a problem, for the problem's pass:
// plan creation, optional set_weights() (the default, forward and backward
// data: weights packed once into plan memory, as the peers pack theirs),
// one 64-byte aligned workspace of exactly workspace_bytes() and the
// pass's output allocated outside the timing. time_layer() times it.
// Also what every context and plan of ours shares, on the CPU, on CUDA and
// under --dry-run: the workspace limit, the auto mode, and the timed
// Conv2dPlan::create with its status.
#include <chrono>
#include <cstdio>
#include <string>

#include "bench.h"

namespace mecbench {
namespace {

struct OursState {
  std::unique_ptr<mec::Conv2dPlan> plan;
  AlignedBuffer workspace, dst, dbias;
};

}  // namespace

void set_plan_options(const Options& options, mec::Context* context) {
  if (options.workspace_limit >= 0) context->set_workspace_limit(size_t(options.workspace_limit));
  context->set_auto_mode(options.auto_mode);
}

void print_plan_options(const Options& options) {
  if (options.workspace_limit < 0 && !options.workspace_limit_mec &&
      options.auto_mode == mec::AutoMode::kModel) {
    return;
  }
  const std::string limit = options.workspace_limit_mec ? std::string("each layer's mec workspace")
                            : options.workspace_limit >= 0
                                ? std::to_string(options.workspace_limit) + " bytes"
                                : std::string("none");
  std::printf("# ours: workspace limit %s, auto mode %s\n", limit.c_str(),
              options.auto_mode == mec::AutoMode::kMeasure ? "measure" : "model");
}

mec::Context cpu_context(const Options& options) {
  mec::Context context = mec::Context::cpu(options.threads);
  context.set_gemm_engine(options.gemm);
  context.set_mec_band_rows(options.mec_band_rows);
  set_plan_options(options, &context);
  return context;
}

bool create_plan(const mec::Conv2dDesc& desc, const std::string& algo, const mec::Context& context,
                 const Options& options, std::unique_ptr<mec::Conv2dPlan>* plan, Record* r,
                 mec::Pass pass) {
  using Clock = std::chrono::steady_clock;
  mec::Algorithm algorithm;
  mec::parse_algorithm(algo.c_str(), &algorithm);  // names were checked by parse_options
  if (algorithm == mec::Algorithm::kAuto) {
    r->auto_mode = options.auto_mode == mec::AutoMode::kMeasure ? "measure" : "model";
  }
  // --workspace-limit mec: this layer's limit is what our mec plan of the
  // same pass needs (its creation is not timed).
  mec::Context limited = context;
  if (options.workspace_limit_mec) {
    std::unique_ptr<mec::Conv2dPlan> reference;
    if (mec::Conv2dPlan::create(desc, pass, mec::Algorithm::kMec, context, &reference) ==
        mec::Status::kSuccess) {
      limited.set_workspace_limit(reference->workspace_bytes());
      r->workspace_limit = int64_t(reference->workspace_bytes());
    }
  }
  const Clock::time_point start = Clock::now();
  const mec::Status st = mec::Conv2dPlan::create(desc, pass, algorithm, limited, plan);
  r->create_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (st == mec::Status::kSuccess) return true;
  r->status = st == mec::Status::kUnsupported             ? "unsupported"
              : st == mec::Status::kInsufficientWorkspace ? "over_limit"
                                                          : "error";
  r->note = mec::last_error();
  return false;
}

Runner prepare_ours(const Problem& p, const std::string& algo, const Options& options) {
  if (options.device == "cuda") return prepare_ours_cuda(p, algo, options);
  Runner runner;
  Record& r = runner.record;
  r = new_record(p, algo, options);
  auto state = std::make_shared<OursState>();
  const mec::Context context = cpu_context(options);
  r.threads = context.threads();  // what runs: the library clamps the count
  r.mec_band_rows = options.mec_band_rows;
  if (!create_plan(p.desc, algo, context, options, &state->plan, &r, p.pass)) return runner;
  mec::Conv2dPlan& plan = *state->plan;
  r.variant = plan.variant();
  // The weights gradient reads no weights: nothing to pack.
  const bool packed = options.packed && p.pass != mec::Pass::kBackwardWeights;
  if (packed && plan.set_weights(p.weights.data()) != mec::Status::kSuccess) {
    r.status = "error";
    r.note = std::string("set_weights: ") + mec::last_error();
    return runner;
  }
  r.workspace_bytes = int64_t(plan.workspace_bytes());
  r.persistent_bytes = int64_t(plan.persistent_bytes());
  const int64_t out_bytes = output_elems(p) * int64_t(sizeof(float));
  state->workspace.reset(plan.workspace_bytes());
  state->dst.reset(size_t(out_bytes));
  if (p.pass == mec::Pass::kBackwardWeights) state->dbias.reset(p.desc.k * sizeof(float));
  if (!state->workspace.ok() || !state->dst.ok() || !state->dbias.ok()) {
    r.status = "error";
    r.note = "cannot allocate " + std::to_string(r.workspace_bytes) + " bytes of workspace and " +
             std::to_string(out_bytes) + " of output";
    return runner;
  }
  const float* weights = packed ? nullptr : p.weights.data();
  runner.dst = state->dst.floats();
  runner.dbias = state->dbias.floats();
  const mec::Pass pass = p.pass;
  runner.run = [state, &p, weights, pass]() -> std::string {
    const mec::Conv2dPlan& plan = *state->plan;
    float* out = state->dst.floats();
    void* ws = state->workspace.data();
    const size_t bytes = state->workspace.bytes();
    mec::Status s;
    switch (pass) {
      case mec::Pass::kBackwardData:
        s = plan.run_backward_data(p.ddst.data(), weights, out, ws, bytes);
        break;
      case mec::Pass::kBackwardWeights:
        s = plan.run_backward_weights(p.src.data(), p.ddst.data(), out, state->dbias.floats(), ws,
                                      bytes);
        break;
      default:
        s = plan.run(p.src.data(), weights, p.bias.data(), out, ws, bytes);
        break;
    }
    if (s == mec::Status::kSuccess) return "";
    return std::string(mec::status_string(s)) + ": " + mec::last_error();
  };
  return runner;
}

}  // namespace mecbench
