// Internal: kAuto, the same on every device. The device names its
// candidates (an algorithm and, for MEC on the CPU, row bands); each is
// planned, those whose workspace is over the context's limit are dropped,
// and the rest are ranked by the device's cost model (AutoMode::kModel) or
// by timing one run of each (AutoMode::kMeasure, whose winner the context's
// AutoCache remembers per key). The device supplies the model and the
// timer: src/cpu/auto_cpu.cc, src/cuda/cuda_plans.cc.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/algorithm_registry.h"
#include "common/plan_impl.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

struct AutoCandidate {
  Algorithm algorithm = Algorithm::kDirect;
  int64_t band_rows = 0;  // Context::set_mec_band_rows() for this candidate (CPU MEC)
};

struct AutoDevice {
  const char* name;                       // in messages: "the CPU"
  std::vector<AutoCandidate> candidates;  // on equal cost the earlier wins
  Pass pass;                              // the pass planned
  // The device's dispatch (never given kAuto).
  Status (*create)(const Conv2dDesc& desc, Pass pass, Algorithm algorithm, const Context& context,
                   std::unique_ptr<PlanImpl>* impl);
  // Predicted seconds of one run() of the candidate's plan, from the
  // descriptor alone (kModel ranks before it plans); infinity where the
  // candidate cannot run the descriptor.
  double (*predict)(const Conv2dDesc& desc, const AutoCandidate& candidate, const Context& context);
  // How far off the model's single predictions may be: the measured mode
  // times no candidate predicted more than this many times slower than the
  // cheapest that fits (infinity: time every candidate that fits).
  double model_spread;
  // Seconds of one run() of `plan` on buffers it allocates and frees
  // (kMeasure); a run slower than `give_up` seconds may stop early and
  // report its time so far.
  Status (*measure)(const PlanImpl& plan, const Context& context, double give_up, double* seconds);
};

// kMeasure's winners, keyed by auto_key(); shared by a context's copies and
// safe to use from several threads.
class AutoCache {
 public:
  bool find(const std::string& key, AutoCandidate* winner) const;
  void remember(const std::string& key, const AutoCandidate& winner);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, AutoCandidate> winners_;
};

// What a measured choice depends on: the descriptor, the limit, the
// threads, the device and every context setting that changes a plan.
std::string auto_key(const Conv2dDesc& desc, const Context& context);

// The plan kAuto makes for desc on `device`: the fastest candidate (by
// context.auto_mode()) whose workspace fits context.workspace_limit().
Status create_auto(const Conv2dDesc& desc, const Context& context, const AutoDevice& device,
                   std::unique_ptr<PlanImpl>* impl);

}  // namespace detail
}  // namespace mec
