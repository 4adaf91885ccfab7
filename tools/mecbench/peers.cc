// Which peers this build of mecbench has, and dispatch to them. Each peer
// lives in its own file, compiled only when CMake found its library
// (MEC_HAVE_ONEDNN, MEC_HAVE_XNNPACK, MEC_HAVE_CUDNN). oneDNN and cuDNN have
// the backward passes; XNNPACK is recorded "unsupported" for them.
#include "bench.h"

namespace mecbench {

#ifdef MEC_HAVE_ONEDNN
Runner prepare_onednn(const Problem& problem, const Options& options);
Runner prepare_onednn_backward(const Problem& problem, const Options& options);
#endif
#ifdef MEC_HAVE_XNNPACK
Runner prepare_xnnpack(const Problem& problem, const Options& options);
#endif
#ifdef MEC_HAVE_CUDNN
std::vector<Runner> prepare_cudnn(const Problem& problem, const Options& options);
#endif

bool peer_available(const std::string& peer) {
#ifdef MEC_HAVE_ONEDNN
  if (peer == "onednn") return true;
#endif
#ifdef MEC_HAVE_XNNPACK
  if (peer == "xnnpack") return true;
#endif
#ifdef MEC_HAVE_CUDNN
  if (peer == "cudnn") return true;
#endif
  (void)peer;
  return false;
}

bool peer_runs_pass(const std::string& peer, mec::Pass pass) {
  return pass == mec::Pass::kForward || peer == "onednn" || peer == "cudnn";
}

std::vector<Runner> prepare_peer(const Problem& problem, const std::string& peer,
                                 const Options& options) {
  if (!peer_runs_pass(peer, problem.pass)) {
    Runner runner;
    runner.record = new_record(problem, peer, options);
    runner.record.status = "unsupported";
    runner.record.note = peer == "xnnpack" ? "XNNPACK has no backward passes: skipped"
                                           : "mecbench runs this peer's forward pass only";
    return {runner};
  }
#ifdef MEC_HAVE_ONEDNN
  if (peer == "onednn" && problem.pass != mec::Pass::kForward) {
    return {prepare_onednn_backward(problem, options)};
  }
  if (peer == "onednn") return {prepare_onednn(problem, options)};
#endif
#ifdef MEC_HAVE_XNNPACK
  if (peer == "xnnpack") return {prepare_xnnpack(problem, options)};
#endif
#ifdef MEC_HAVE_CUDNN
  if (peer == "cudnn") return prepare_cudnn(problem, options);
#endif
  Runner runner;
  runner.record = new_record(problem, peer, options);
  runner.record.status = "unsupported";
  runner.record.note = "peer not built in";
  return {runner};
}

#ifndef MEC_HAVE_CUDA
// A CPU-only build: --device cuda is refused by parse_options().
bool cuda_built() { return false; }
bool upload_problem(Problem*, std::string* error) {
  *error = "built without CUDA";
  return false;
}
Runner prepare_ours_cuda(const Problem& problem, const std::string& algo, const Options& options) {
  Runner runner;
  runner.record = new_record(problem, algo, options);
  runner.record.status = "unsupported";
  runner.record.note = "built without CUDA";
  return runner;
}
void time_layer_cuda(const Problem&, const Options&, std::vector<Runner>*) {}
#endif

}  // namespace mecbench
