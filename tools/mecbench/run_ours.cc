// Runs one of libmec's algorithms on a problem: plan creation, optional
// set_weights() (the default: weights packed once into plan memory, as the
// peers pack theirs), one 64-byte aligned workspace of exactly
// workspace_bytes() allocated outside the timing, then time_runs().
#include <string>

#include "bench.h"

namespace mecbench {

Record run_ours(const Problem& p, const std::string& algo, const Options& options) {
  Record r = new_record(p, algo, options);
  mec::Algorithm algorithm;
  mec::parse_algorithm(algo.c_str(), &algorithm);  // names were checked by parse_options
  std::unique_ptr<mec::Conv2dPlan> plan;
  const mec::Status st =
      mec::Conv2dPlan::create(p.desc, algorithm, mec::Context::cpu(options.threads), &plan);
  if (st != mec::Status::kSuccess) {
    r.status = st == mec::Status::kUnsupported ? "unsupported" : "error";
    r.note = mec::last_error();
    return r;
  }
  if (algorithm == mec::Algorithm::kMec || algorithm == mec::Algorithm::kAuto) {
    r.variant = mec::algorithm_name(plan->algorithm());
  }
  if (options.packed && plan->set_weights(p.weights.data()) != mec::Status::kSuccess) {
    r.status = "error";
    r.note = std::string("set_weights: ") + mec::last_error();
    return r;
  }
  r.workspace_bytes = int64_t(plan->workspace_bytes());
  r.persistent_bytes = int64_t(plan->persistent_bytes());
  AlignedBuffer workspace(plan->workspace_bytes());
  AlignedBuffer dst(p.desc.dst_elems() * sizeof(float));
  if (!workspace.ok() || !dst.ok()) {
    r.status = "error";
    r.note = "cannot allocate " + std::to_string(r.workspace_bytes) + " bytes of workspace";
    return r;
  }
  const float* weights = options.packed ? nullptr : p.weights.data();
  time_runs(
      p, options, dst.floats(),
      [&]() -> std::string {
        const mec::Status s = plan->run(p.src.data(), weights, p.bias.data(), dst.floats(),
                                        workspace.data(), workspace.bytes());
        if (s == mec::Status::kSuccess) return "";
        return std::string(mec::status_string(s)) + ": " + mec::last_error();
      },
      &r);
  return r;
}

}  // namespace mecbench
