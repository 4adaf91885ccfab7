// mecbench: checks and times 2-D convolutions of libmec and of peer
// libraries on the same random inputs, layer by layer. Tables on stdout,
// progress on stderr, records as JSON with --json. docs/mecbench.md has the
// options, the shape syntax and the JSON keys.
//
// Exit status: 0 when everything ran (an algorithm or peer that cannot do a
// shape is reported "unsupported" and is not a failure), 1 when a run
// failed, 2 for a bad command line.
#include <omp.h>

#include <cstdio>

#include "bench.h"

namespace {

const char* check_name(const mecbench::Options& options) {
  if (options.device == "cuda") {
    return options.check == mecbench::Check::kNone ? "nothing" : "the double reference (image 0)";
  }
  switch (options.check) {
    case mecbench::Check::kRef:
      return "the double reference";
    case mecbench::Check::kDirect:
      return "direct";
    case mecbench::Check::kNone:
      return "nothing";
    default:
      return "the double reference up to 2 GFLOP, else direct";
  }
}

void progress(const mecbench::Record& r) {
  if (r.status == "ok") {
    std::fprintf(stderr, "  %-10s %-28s %10.4f ms  %8.1f GFLOP/s  err %.2e\n", r.algo.c_str(),
                 r.variant.c_str(), r.median_ms, r.gflops, r.max_rel_err);
  } else {
    std::fprintf(stderr, "  %-10s %-28s %s: %s\n", r.algo.c_str(), r.variant.c_str(),
                 r.status.c_str(), r.note.c_str());
  }
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
  if (parsed != 0) {
    std::fprintf(stderr, "mecbench: %s\n", error.c_str());
    return 2;
  }
  // Everything timed runs on exactly --threads threads: our plans take it
  // from the Context, oneDNN and OpenBLAS's OpenMP build from OpenMP.
  omp_set_num_threads(options.threads);
  std::printf(
      "# mecbench: %zu layers, device %s, math %s, threads %d, batch %s, median of %d reps, "
      "weights %s, checked against %s\n",
      options.layers.size(), options.device.c_str(), options.math.c_str(), options.threads,
      options.batch ? std::to_string(options.batch).c_str() : "per shape", options.reps,
      options.packed ? "packed by set_weights()" : "passed to run()", check_name(options));

  std::vector<mecbench::Record> records;
  std::vector<mec::NamedShape> layers;  // at the benchmark's batch
  bool failed = false;
  for (size_t i = 0; i < options.layers.size(); ++i) {
    const mec::NamedShape& layer = options.layers[i];
    mecbench::Problem problem;
    std::fprintf(stderr, "[%zu/%zu] %s: preparing inputs and truth\n", i + 1, options.layers.size(),
                 layer.name.c_str());
    if (!mecbench::make_problem(layer, options, &problem, &error)) {
      std::fprintf(stderr, "mecbench: %s\n", error.c_str());
      failed = true;
      continue;
    }
    layers.push_back({layer.name, problem.desc});
    std::fprintf(stderr, "[%zu/%zu] %s %s (%.3f GFLOP, checked against %s)\n", i + 1,
                 options.layers.size(), layer.name.c_str(), mec::format_shape(problem.desc).c_str(),
                 problem.desc.flops() * 1e-9, problem.checked_against.c_str());
    std::vector<mecbench::Runner> runners;
    for (const std::string& algo : options.algos) {
      runners.push_back(mecbench::prepare_ours(problem, algo, options));
    }
    for (const std::string& peer : options.peers) {
      for (mecbench::Runner& runner : mecbench::prepare_peer(problem, peer, options)) {
        runners.push_back(std::move(runner));
      }
    }
    if (options.device == "cuda") {
      mecbench::time_layer_cuda(problem, options, &runners);
    } else {
      mecbench::time_layer(problem, options, &runners);
    }
    for (const mecbench::Runner& runner : runners) {
      records.push_back(runner.record);
      progress(runner.record);
    }
  }
  for (const mecbench::Record& r : records) failed = failed || r.status == "error";

  mecbench::print_table(records);
  mecbench::print_workspace_summary(layers, options);
  mecbench::print_ratio_table(records, options);
  std::fflush(stdout);
  if (!options.json_path.empty()) {
    if (!mecbench::write_json(options.json_path, records, &error)) {
      std::fprintf(stderr, "mecbench: %s\n", error.c_str());
      return 1;
    }
    std::fprintf(stderr, "mecbench: wrote %zu records to %s\n", records.size(),
                 options.json_path.c_str());
  }
  return failed ? 1 : 0;
}
