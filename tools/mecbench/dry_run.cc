// mecbench --dry-run: makes the plan of every layer, pass and algorithm and
// records what it would run (Conv2dPlan::variant()) and the workspace it
// asks for, without inputs, timing or checking. It takes seconds for a whole
// suite, so the variants of every layer can be recorded before a change to
// the library's choices and compared after it (scripts/variants.sh).
#include <algorithm>
#include <cstdio>

#include "bench.h"

namespace mecbench {
namespace {

// The context a plan of ours is made with: CPU as prepare_ours() makes it;
// CUDA device 0 opened once (every plan shares its stream and handles), then
// --math, --threshold, --workspace-limit and --auto-mode. False, with
// *error, when no CUDA context can be had.
bool plan_context(const Options& options, mec::Context* context, std::string* error) {
  if (options.device != "cuda") {
    *context = cpu_context(options);
    return true;
  }
  static mec::Context cuda;
  static std::string why;
  static const mec::Status opened = [] {
    const mec::Status st = mec::Context::cuda(&cuda, nullptr, 0);
    if (st != mec::Status::kSuccess) why = mec::last_error();
    return st;
  }();
  if (opened != mec::Status::kSuccess) {
    *error = why;
    return false;
  }
  *context = cuda;
  context->set_allow_tf32(options.math == "tf32");
  if (options.threshold >= 0) context->set_mec_threshold(options.threshold);
  set_plan_options(options, context);
  return true;
}

// The plan of `algo` and `pass` for `layer` at the run's batch, described.
Record plan_record(const mec::NamedShape& layer, mec::Pass pass, const std::string& algo,
                   const Options& options) {
  Problem p;  // only what new_record() reads: no inputs
  p.pass = pass;
  p.layer = layer.name;
  p.desc = layer.desc;
  if (options.batch > 0) p.desc.n = options.batch;
  p.desc.filter_layout = mec::FilterLayout::kHWIO;  // as make_problem() has it
  p.checked_against = "none";
  Record r = new_record(p, algo, options);
  r.timed = false;
  if (options.device == "cpu") r.mec_band_rows = options.mec_band_rows;
  mec::Context context;
  std::unique_ptr<mec::Conv2dPlan> plan;
  if (!plan_context(options, &context, &r.note)) {
    r.status = "unsupported";
    return r;
  }
  if (!create_plan(p.desc, algo, context, options, &plan, &r, pass)) return r;
  r.variant = plan->variant();
  r.workspace_bytes = int64_t(plan->workspace_bytes());
  return r;
}

// One row per record: layer, shape, algo, variant (or the status) and
// workspace bytes, space-separated and aligned; a status's note last. With
// `pass` (a backward pass runs), a pass column after the shape; without it
// the forward table keeps the columns scripts/variants.sh reads.
void print_plan_table(const std::vector<Record>& records, bool pass) {
  int wl = 5, ws = 5, wa = 4, wv = 7;
  for (const Record& r : records) {
    wl = std::max(wl, int(r.layer.size()));
    ws = std::max(ws, int(r.shape.size()));
    wa = std::max(wa, int(r.algo.size()));
    wv = std::max(wv, int(r.variant.size()));
  }
  std::printf("%-*s %-*s ", wl, "layer", ws, "shape");
  if (pass) std::printf("%-11s ", "pass");
  std::printf("%-*s %-*s %s\n", wa, "algo", wv, "variant", "workspace_bytes");
  for (const Record& r : records) {
    std::printf("%-*s %-*s ", wl, r.layer.c_str(), ws, r.shape.c_str());
    if (pass) std::printf("%-11s ", r.pass.c_str());
    std::printf("%-*s ", wa, r.algo.c_str());
    if (r.status == "ok") {
      std::printf("%-*s %lld\n", wv, r.variant.c_str(), (long long)r.workspace_bytes);
    } else {
      std::printf("%-*s - %s\n", wv, r.status.c_str(), r.note.c_str());
    }
  }
}

}  // namespace

int dry_run(const Options& options) {
  std::printf("# mecbench --dry-run: %zu layers, device %s, math %s, threads %d, batch %s\n",
              options.layers.size(), options.device.c_str(), options.math.c_str(),
              options.device == "cuda" ? 0 : options.threads,
              options.batch ? std::to_string(options.batch).c_str() : "per shape");
  print_plan_options(options);
  std::vector<Record> records;
  bool failed = false;
  std::string error;
  for (const mec::NamedShape& layer : options.layers) {
    for (const mec::Pass pass : options.passes) {
      for (const std::string& algo : options.algos) {
        records.push_back(plan_record(layer, pass, algo, options));
        failed = failed || records.back().status == "error";
      }
    }
    if (!options.json_path.empty() && !write_json(options.json_path, records, &error)) {
      std::fprintf(stderr, "mecbench: %s\n", error.c_str());
      failed = true;
    }
  }
  print_plan_table(records, options.passes.back() != mec::Pass::kForward);
  std::fflush(stdout);
  if (!options.json_path.empty()) {
    std::fprintf(stderr, "mecbench: wrote %zu records to %s\n", records.size(),
                 options.json_path.c_str());
  }
  return failed ? 1 : 0;
}

}  // namespace mecbench
