// mecbench's auto tables, one per pass: per layer, how close `auto` (Algorithm::kAuto)
// comes to the fastest of our other algorithms that ran (the choice it
// would ideally make) and how it stands against each peer's fastest. It
// reads the records of the run, so auto and the others are compared on the
// same inputs and timings; nothing is re-run. With --workspace-limit, "ours"
// are the algorithms within the limit: the others are over_limit records,
// which never count as fastest.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "bench.h"

namespace mecbench {
namespace {

// The geometric mean and the largest of a column's ratios.
struct RatioStats {
  double log_sum = 0, max = 0;
  int count = 0;
  void add(double ratio) {
    log_sum += std::log(ratio);
    max = count ? std::max(max, ratio) : ratio;
    ++count;
  }
  double geomean() const { return count ? std::exp(log_sum / count) : std::nan(""); }
  double largest() const { return count ? max : std::nan(""); }
};

// The fastest ok record per layer among those of `algos`, by median_ms
// (by_min false) or min_ms; `skip` is left out.
std::map<std::string, const Record*> fastest(const std::vector<Record>& records,
                                             const std::vector<std::string>& algos,
                                             const std::string& skip, bool by_min) {
  std::map<std::string, const Record*> best;
  for (const Record& r : records) {
    if (r.status != "ok" || r.algo == skip ||
        std::find(algos.begin(), algos.end(), r.algo) == algos.end()) {
      continue;
    }
    const Record*& b = best[r.layer];
    if (!b || (by_min ? r.min_ms < b->min_ms : r.median_ms < b->median_ms)) b = &r;
  }
  return best;
}

const Record* at_layer(const std::map<std::string, const Record*>& best, const std::string& layer) {
  auto it = best.find(layer);
  return it == best.end() ? nullptr : it->second;
}

// The auto table of one pass: `records` are that pass's, options.peers the
// peers that run it.
void print_pass_auto_table(const std::vector<Record>& records, const Options& options,
                           const char* pass) {
  std::vector<std::string> layers;  // in the order run
  std::map<std::string, const Record*> autos;
  for (const Record& r : records) {
    if (layers.empty() || layers.back() != r.layer) layers.push_back(r.layer);
    if (r.algo == "auto" && !autos.count(r.layer)) autos[r.layer] = &r;
  }
  if (autos.empty()) return;
  // Ours by median and by min; each peer's fastest variant likewise.
  const auto ours = fastest(records, options.algos, "auto", false);
  const auto ours_min = fastest(records, options.algos, "auto", true);
  std::vector<std::map<std::string, const Record*>> peer, peer_min;
  for (const std::string& p : options.peers) {
    peer.push_back(fastest(records, {p}, "", false));
    peer_min.push_back(fastest(records, {p}, "", true));
  }

  int wl = 5, wv = 12, wf = 7;
  for (const Record& r : records) {
    wl = std::max(wl, int(r.layer.size()));
    if (r.algo == "auto") wv = std::max(wv, int(r.variant.size()));
    wf = std::max(wf, int(r.algo.size()));
  }
  const std::string limit =
      options.workspace_limit_mec ? std::string(", within each layer's mec workspace")
      : options.workspace_limit >= 0
          ? ", within the workspace limit of " + std::to_string(options.workspace_limit) + " bytes"
          : "";
  std::printf(
      "\nauto (mode %s) over the fastest of ours, pass %s (our other algorithms that ran%s)%s; "
      "below 1: auto is faster\n",
      options.auto_mode == mec::AutoMode::kMeasure ? "measure" : "model", pass, limit.c_str(),
      options.peers.empty() ? "" : " and over each peer's fastest");
  std::printf("%-*s %10s %10s %-*s %-*s %10s %10s", wl, "layer", "auto_ms", "create_ms", wv,
              "auto_variant", wf, "fastest", "ours_ms", "auto/ours");
  for (const std::string& p : options.peers) {
    std::printf(" %10s %12s", (p + "_ms").c_str(), ("auto/" + p).c_str());
  }
  std::printf("\n");

  // Column 0: auto/ours; 1 + i: auto/peer i. By median, and by min.
  std::vector<RatioStats> median(1 + options.peers.size()), min(median.size());
  for (const std::string& layer : layers) {
    const Record* a = at_layer(autos, layer);
    std::printf("%-*s ", wl, layer.c_str());
    if (!a) {
      std::printf("%10s\n", "-");
      continue;
    }
    if (a->status != "ok") {
      std::printf("auto %s: %s\n", a->status.c_str(), a->note.c_str());
      continue;
    }
    std::printf("%10.4f %10.3f %-*s", a->median_ms, a->create_ms, wv, a->variant.c_str());
    // One ratio column: the fastest's time and auto over it, or dashes.
    auto column = [&](const Record* best, const Record* best_min, RatioStats* m, RatioStats* n,
                      int width) {
      if (!best) {
        std::printf(" %10s %*s", "-", width, "-");
        return;
      }
      const double ratio = a->median_ms / best->median_ms;
      m->add(ratio);
      n->add(a->min_ms / best_min->min_ms);
      std::printf(" %10.4f %*.3f", best->median_ms, width, ratio);
    };
    const Record* o = at_layer(ours, layer);
    std::printf(" %-*s", wf, o ? o->algo.c_str() : "-");
    column(o, at_layer(ours_min, layer), &median[0], &min[0], 10);
    for (size_t i = 0; i < options.peers.size(); ++i) {
      column(at_layer(peer[i], layer), at_layer(peer_min[i], layer), &median[1 + i], &min[1 + i],
             12);
    }
    std::printf("\n");
  }
  // geo(min): the same ratios on min_ms (each side's fastest by min), which
  // is steadier than the medians on a busy machine.
  const int lead = wl + 1 + 10 + 1 + 10 + 1 + wv + 1 + wf + 1 + 10;
  const char* const labels[] = {"geomean", "max", "geo(min)"};
  for (int row = 0; row < 3; ++row) {
    std::printf("%-*s", lead, labels[row]);
    for (size_t i = 0; i < median.size(); ++i) {
      const double v = row == 0   ? median[i].geomean()
                       : row == 1 ? median[i].largest()
                                  : min[i].geomean();
      if (i > 0) std::printf(" %10s", "");
      std::printf(" %*.3f", i == 0 ? 10 : 12, v);
    }
    std::printf("\n");
  }
}

}  // namespace

void print_auto_table(const std::vector<Record>& records, const Options& options) {
  for (const mec::Pass pass : options.passes) {
    Options with = options;  // the peers that run this pass
    with.peers.clear();
    for (const std::string& peer : options.peers) {
      if (peer_runs_pass(peer, pass)) with.peers.push_back(peer);
    }
    print_pass_auto_table(records_of_pass(records, pass), with, mec::pass_name(pass));
  }
}

}  // namespace mecbench
