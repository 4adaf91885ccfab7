// Which peers this build of mecbench has, and dispatch to them. Each peer
// lives in its own file, compiled only when CMake found its library
// (MEC_HAVE_ONEDNN, MEC_HAVE_XNNPACK).
#include "bench.h"

namespace mecbench {

#ifdef MEC_HAVE_ONEDNN
Record run_onednn(const Problem& problem, const Options& options);
#endif
#ifdef MEC_HAVE_XNNPACK
Record run_xnnpack(const Problem& problem, const Options& options);
#endif

bool peer_available(const std::string& peer) {
#ifdef MEC_HAVE_ONEDNN
  if (peer == "onednn") return true;
#endif
#ifdef MEC_HAVE_XNNPACK
  if (peer == "xnnpack") return true;
#endif
  (void)peer;
  return false;
}

Record run_peer(const Problem& problem, const std::string& peer, const Options& options) {
#ifdef MEC_HAVE_ONEDNN
  if (peer == "onednn") return run_onednn(problem, options);
#endif
#ifdef MEC_HAVE_XNNPACK
  if (peer == "xnnpack") return run_xnnpack(problem, options);
#endif
  Record r = new_record(problem, peer, options);
  r.status = "unsupported";
  r.note = "peer not built in";
  return r;
}

}  // namespace mecbench
