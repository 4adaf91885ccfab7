// mecbench: checks and times 2-D convolutions of libmec and of peer
// libraries on the same random inputs, layer by layer and pass by pass
// (forward, backward data, backward weights: --pass). Tables on stdout,
// progress on stderr, records as JSON with --json. docs/mecbench.md has the
// options, the shape syntax and the JSON keys.
//
// Exit status: 0 when everything ran (an algorithm or peer that cannot do a
// shape is reported "unsupported", one of ours that needs more workspace
// than --workspace-limit "over_limit"; neither is a failure), 1 when a run
// failed, 2 for a bad command line (or a --json file that cannot be
// written), found before anything runs. A layer that fails (its memory
// cannot be had, say) is one line on stderr; the other layers still run,
// and the JSON, rewritten after every layer, keeps what ran.
#include <omp.h>

#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "bench.h"

namespace {

std::string check_name(const mecbench::Options& options) {
  if (options.device == "cuda") {
    return options.check == mecbench::Check::kNone ? "nothing" : "the double reference (image 0)";
  }
  // The backward passes have no sampled reference (make_truth()).
  const bool backward = options.passes.back() != mec::Pass::kForward;
  const std::string unsampled =
      backward ? " (backward passes: whole outputs up to 2 GFLOP, unchecked above)" : "";
  switch (options.check) {
    case mecbench::Check::kRef:
      return "the double reference";
    case mecbench::Check::kDirect:
      return "direct";
    case mecbench::Check::kNone:
      return "nothing";
    case mecbench::Check::kSampled:
      return "the double reference at sampled points" + unsampled;
    default:
      return "the double reference, at sampled points above 2 GFLOP" + unsampled;
  }
}

void progress(const mecbench::Record& r) {
  if (r.status == "ok") {
    std::fprintf(stderr, "  %-10s %-28s %10.4f ms  %8.1f GFLOP/s  err %.2e", r.algo.c_str(),
                 r.variant.c_str(), r.median_ms, r.gflops, r.max_rel_err);
    // Ours: the time Conv2dPlan::create took (auto's choice, measured or not).
    if (r.create_ms >= 0) std::fprintf(stderr, "  create %.3f ms", r.create_ms);
    std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "  %-10s %-28s %s: %s\n", r.algo.c_str(), r.variant.c_str(),
                 r.status.c_str(), r.note.c_str());
  }
}

// Prepares every algorithm and peer of one layer. One whose preparation
// throws (std::bad_alloc from a peer's or the library's allocation) gets an
// error record; the others still run.
void add_runner(const mecbench::Problem& problem, const std::string& name, bool peer,
                const mecbench::Options& options, std::vector<mecbench::Runner>* runners) {
  try {
    if (!peer) {
      runners->push_back(mecbench::prepare_ours(problem, name, options));
      return;
    }
    for (mecbench::Runner& runner : mecbench::prepare_peer(problem, name, options)) {
      runners->push_back(std::move(runner));
    }
  } catch (const std::exception& e) {
    mecbench::Runner runner;
    runner.record = mecbench::new_record(problem, name, options);
    runner.record.status = "error";
    runner.record.note = std::string("preparation failed: ") + e.what();
    runners->push_back(std::move(runner));
  }
}

// Runs layer i, pass after pass: its records are appended to *records.
// False with *error when the layer could not run at all (main() then drops
// the records of its passes that ran).
bool run_layer(size_t i, const mecbench::Options& options, std::vector<mecbench::Record>* records,
               std::vector<mec::NamedShape>* layers, std::string* error) {
  const mec::NamedShape& layer = options.layers[i];
  const size_t count = options.layers.size();
  mecbench::Problem problem;
  std::fprintf(stderr, "[%zu/%zu] %s: preparing inputs and truth\n", i + 1, count,
               layer.name.c_str());
  if (!mecbench::make_problem(layer, options, &problem, error)) {
    *error = layer.name + ": " + *error;
    return false;
  }
  for (const mec::Pass pass : options.passes) {
    if (!mecbench::make_truth(pass, options, &problem, error)) {
      *error = layer.name + " " + mec::pass_name(pass) + ": " + *error;
      return false;
    }
    std::fprintf(stderr, "[%zu/%zu] %s %s %s (%.3f GFLOP, checked against %s)\n", i + 1, count,
                 layer.name.c_str(), mec::format_shape(problem.desc).c_str(), mec::pass_name(pass),
                 problem.desc.flops() * 1e-9, problem.checked_against.c_str());
    std::vector<mecbench::Runner> runners;
    for (const std::string& algo : options.algos) {
      add_runner(problem, algo, false, options, &runners);
    }
    for (const std::string& peer : options.peers)
      add_runner(problem, peer, true, options, &runners);
    if (options.device == "cuda") {
      mecbench::time_layer_cuda(problem, options, &runners);
    } else {
      mecbench::time_layer(problem, options, &runners);
    }
    for (const mecbench::Runner& runner : runners) {
      records->push_back(runner.record);
      progress(runner.record);
    }
  }
  layers->push_back({layer.name, problem.desc});
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  mecbench::Options options;
  std::string error;
  const int parsed = mecbench::parse_options(argc, argv, &options, &error);
  if (parsed == 1) {
    std::fputs(mecbench::usage(), stdout);
    return 0;
  }
  if (parsed == 3) {
    std::printf("mecbench %d.%d.%d (libmec %s)\n", MEC_VERSION_MAJOR, MEC_VERSION_MINOR,
                MEC_VERSION_PATCH, mec::version());
    return 0;
  }
  if (parsed != 0) {
    std::fprintf(stderr, "mecbench: %s\n", error.c_str());
    return 2;
  }
  // The JSON file is created (an empty array) before anything runs, so an
  // unwritable path costs nothing.
  const bool json = !options.json_path.empty();
  if (json && !mecbench::write_json(options.json_path, {}, &error)) {
    std::fprintf(stderr, "mecbench: --json: %s\n", error.c_str());
    return 2;
  }
  // The library clamps a context's threads (at most 8 per processor): run
  // and record everything, peers included, with the count that runs.
  const int threads = mec::Context::cpu(options.threads).threads();
  if (threads != options.threads) {
    std::fprintf(stderr, "mecbench: --threads %d is more than libmec runs; using %d\n",
                 options.threads, threads);
    options.threads = threads;
  }
  // Everything timed runs on exactly --threads threads: our plans take it
  // from the Context, oneDNN and OpenBLAS's OpenMP build from OpenMP.
  omp_set_num_threads(options.threads);
  if (options.dry_run) return mecbench::dry_run(options);
  std::string passes;
  for (const mec::Pass pass : options.passes) {
    passes += (passes.empty() ? "" : ",") + std::string(mec::pass_name(pass));
  }
  std::printf(
      "# mecbench: %zu layers, pass %s, device %s, math %s, threads %d, batch %s, median of %d "
      "reps, weights %s, checked against %s\n",
      options.layers.size(), passes.c_str(), options.device.c_str(), options.math.c_str(),
      options.threads, options.batch ? std::to_string(options.batch).c_str() : "per shape",
      options.reps, options.packed ? "packed by set_weights()" : "passed to run()",
      check_name(options).c_str());
  mecbench::print_plan_options(options);

  std::vector<mecbench::Record> records;
  std::vector<mec::NamedShape> layers;  // at the benchmark's batch
  bool failed = false;
  for (size_t i = 0; i < options.layers.size(); ++i) {
    const std::string& name = options.layers[i].name;
    const size_t before = records.size();
    bool ran = false;
    try {
      ran = run_layer(i, options, &records, &layers, &error);
    } catch (const std::bad_alloc& e) {
      error = name + ": out of memory (" + e.what() + ")";
    } catch (const std::exception& e) {
      error = name + ": " + e.what();
    }
    if (!ran) {
      records.resize(before);  // a layer that failed half-way leaves none
      std::fprintf(stderr, "mecbench: %s\n", error.c_str());
      failed = true;
    }
    if (json && !mecbench::write_json(options.json_path, records, &error)) {
      std::fprintf(stderr, "mecbench: %s\n", error.c_str());
      failed = true;
    }
  }
  for (const mecbench::Record& r : records) failed = failed || r.status == "error";

  mecbench::print_table(records);
  mecbench::print_workspace_summary(layers, options);
  mecbench::print_ratio_table(records, options);
  mecbench::print_auto_table(records, options);
  std::fflush(stdout);
  if (json) {
    std::fprintf(stderr, "mecbench: wrote %zu records to %s\n", records.size(),
                 options.json_path.c_str());
  }
  return failed ? 1 : 0;
}
