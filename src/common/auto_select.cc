// kAuto on every device (auto_select.h): plan the device's candidates, drop
// those over the workspace limit, rank the rest by model or by timing.
#include "common/auto_select.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <utility>

namespace mec {
namespace detail {

bool AutoCache::find(const std::string& key, AutoCandidate* winner) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = winners_.find(key);
  if (it == winners_.end()) return false;
  *winner = it->second;
  return true;
}

void AutoCache::remember(const std::string& key, const AutoCandidate& winner) {
  std::lock_guard<std::mutex> lock(mutex_);
  winners_[key] = winner;
}

std::string auto_key(const Conv2dDesc& d, const Context& c) {
  const CudaTile tile = c.cuda_tile();
  std::string key;
  for (int64_t v : {d.n,
                    d.h,
                    d.w,
                    d.c,
                    d.k,
                    d.r,
                    d.s,
                    d.pad_top,
                    d.pad_bottom,
                    d.pad_left,
                    d.pad_right,
                    d.stride_h,
                    d.stride_w,
                    d.dilation_h,
                    d.dilation_w,
                    d.groups,
                    int64_t(d.filter_layout),
                    int64_t(c.workspace_limit()),
                    int64_t(c.threads()),
                    int64_t(c.device()),
                    int64_t(c.device_index()),
                    int64_t(reinterpret_cast<uintptr_t>(c.stream())),
                    c.mec_threshold(),
                    c.mec_band_rows(),
                    int64_t(c.gemm_engine()),
                    int64_t(c.allow_tf32()),
                    int64_t(c.cpu_isa()),
                    int64_t(c.cuda_gemm()),
                    int64_t(c.cuda_from_src()),
                    int64_t(tile.m),
                    int64_t(tile.n),
                    int64_t(tile.splits),
                    c.cuda_block_mib()}) {
    key += std::to_string(v);
    key += ' ';
  }
  return key;
}

namespace {

Status plan_candidate(const Conv2dDesc& desc, const Context& context, const AutoDevice& device,
                      const AutoCandidate& candidate, std::unique_ptr<PlanImpl>* impl) {
  // Row bands the context asks for (Context::set_mec_band_rows) stay.
  Context c = context;
  if (context.mec_band_rows() == 0) c.set_mec_band_rows(candidate.band_rows);
  return device.create(desc, device.pass, candidate.algorithm, c, impl);
}

}  // namespace

Status create_auto(const Conv2dDesc& desc, const Context& context, const AutoDevice& device,
                   std::unique_ptr<PlanImpl>* impl) {
  const size_t limit = context.workspace_limit();
  const bool measure = context.auto_mode() == AutoMode::kMeasure;
  AutoCache* cache = context.auto_cache().get();
  std::string key;
  if (measure && cache != nullptr) {
    key = auto_key(desc, context);
    AutoCandidate known;
    if (cache->find(key, &known) &&
        plan_candidate(desc, context, device, known, impl) == Status::kSuccess) {
      return Status::kSuccess;
    }
  }
  // Candidates by predicted cost, cheapest first (stable: on a tie the
  // device's order). The model plans them in that order and takes the first
  // that fits; the measured mode plans and times every one that fits.
  std::vector<std::pair<double, AutoCandidate>> ranked;
  for (const AutoCandidate& candidate : device.candidates) {
    const double cost = device.predict(desc, candidate, context);
    if (cost < std::numeric_limits<double>::infinity()) ranked.emplace_back(cost, candidate);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::unique_ptr<PlanImpl> best;
  AutoCandidate best_candidate;
  double best_cost = std::numeric_limits<double>::infinity();
  size_t smallest = std::numeric_limits<size_t>::max();
  Status first_failure = Status::kSuccess;
  // Both modes consider only candidates the model gives a chance: at most
  // device.model_spread times the predicted cost of the cheapest that fits.
  double cheapest_fit = std::numeric_limits<double>::infinity();
  for (const auto& [predicted, candidate] : ranked) {
    if (predicted > device.model_spread * cheapest_fit) break;
    std::unique_ptr<PlanImpl> plan;
    const Status st = plan_candidate(desc, context, device, candidate, &plan);
    if (st != Status::kSuccess) {
      if (first_failure == Status::kSuccess && st != Status::kUnsupported) first_failure = st;
      continue;
    }
    const size_t bytes = plan->workspace_bytes();
    smallest = std::min(smallest, bytes);
    if (bytes > limit) continue;
    cheapest_fit = std::min(cheapest_fit, predicted);
    if (!measure) {
      best = std::move(plan);
      best_candidate = candidate;
      break;
    }
    // A candidate three times slower than the best so far cannot win; one
    // whose timing buffers cannot be had keeps its predicted cost.
    double cost = predicted;
    if (device.measure(*plan, context, 3.0 * best_cost, &cost) != Status::kSuccess) {
      cost = predicted;
    }
    if (cost < best_cost) {
      best_cost = cost;
      best = std::move(plan);
      best_candidate = candidate;
    }
  }
  if (!best) {
    if (smallest != std::numeric_limits<size_t>::max()) {
      return fail(Status::kInsufficientWorkspace,
                  "auto: no algorithm on %s fits the workspace limit of %zu bytes; the smallest "
                  "needs %zu",
                  device.name, limit, smallest);
    }
    if (first_failure != Status::kSuccess) return first_failure;
    return fail(Status::kUnsupported, "auto: no algorithm on %s can plan this descriptor",
                device.name);
  }
  if (measure && cache != nullptr) cache->remember(key, best_candidate);
  *impl = std::move(best);
  return Status::kSuccess;
}

}  // namespace detail
}  // namespace mec
