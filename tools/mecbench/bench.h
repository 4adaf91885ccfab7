// mecbench's shared pieces: the options, one layer's problem data (random
// inputs shared by every algorithm and peer, plus the truth they are checked
// against), the record each timed run produces, and the timing loop.
//
// A layer runs once per pass of --pass (forward, backward data, backward
// weights) on the same inputs; a Runner's dst is that pass's output (dst,
// dsrc or dweights, with dbias beside it for backward weights).
//
// Everything that runs a convolution (ours in run_ours.cc, the peers in
// peer_*.cc) is prepared as a Runner and timed by time_layer(), so all are
// timed the same way: one checked run on a NaN-poisoned dst (which doubles
// as the warm-up), then `reps` timed runs with std::chrono::steady_clock;
// median and min reported. With --device cuda the same runners are timed by
// time_layer_cuda() (cuda_device.cc) with CUDA events instead.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/shape_string.h"
#include "mec/mec.h"
#include "sampled_check.h"

namespace mecbench {

enum class Check { kAuto, kRef, kSampled, kDirect, kNone };

struct Options {
  std::vector<mec::NamedShape> layers;             // from --suite and --shape, in order
  std::vector<std::string> algos;                  // our algorithm names, as the CLI spells them
  std::vector<std::string> peers;                  // "onednn", "xnnpack" (cpu); "cudnn" (cuda)
  std::string device = "cpu";                      // "cpu" or "cuda"
  std::string math = "fp32";                       // cuda: "fp32" (strict) or "tf32"
  int64_t threshold = -1;                          // cuda: Context::set_mec_threshold when >= 0
  int64_t max_peer_workspace = int64_t(16) << 30;  // cuda: cuDNN algorithms above are skipped
  int64_t batch = 0;                               // 0: keep each shape's n
  int threads = 0;  // all cores by default; main() clamps it as Context::cpu() does
  int reps = 5;
  int warmup = 0;  // extra untimed runs after the checked run
  Check check = Check::kAuto;
  bool packed = true;       // set_weights() before timing (default) or raw weights per run()
  bool interleave = false;  // rounds of one run per runner (default: reps back to back)
  mec::GemmEngine gemm = mec::GemmEngine::kFast;  // --gemm fast|blas
  int64_t mec_band_rows = 0;                      // --mec-bands: Context::set_mec_band_rows
  int64_t workspace_limit = -1;      // --workspace-limit: Context::set_workspace_limit when >= 0
  bool workspace_limit_mec = false;  // --workspace-limit mec: each layer's MEC workspace
  mec::AutoMode auto_mode = mec::AutoMode::kModel;  // --auto-mode: Context::set_auto_mode
  bool dry_run = false;  // --dry-run: plans made and described, nothing run (dry_run.cc)
  std::string json_path;
  // --pass: fwd, bwd_data, bwd_weights (a subset, in that order)
  std::vector<mec::Pass> passes = {mec::Pass::kForward};
};

// Flops at or below which --check auto compares whole outputs with the
// double reference; above, it compares them at sampled points (forward) or
// not at all (backward passes, which have no sampled reference).
constexpr double kRefFlopLimit = 2e9;

// This machine's physical memory in bytes. A request above it is refused
// up front (a layer's inputs, AlignedBuffer) instead of being granted by
// overcommit and then killed by the OOM killer when its pages are touched.
double physical_memory_bytes();

// A 64-byte aligned float/byte buffer; empty() when size 0 or allocation
// failed (ok() tells which; more than physical_memory_bytes() fails).
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes) { reset(bytes); }
  // Frees the old buffer and allocates `bytes` (none for 0).
  void reset(size_t bytes);
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  void* data() const { return data_.get(); }
  float* floats() const { return static_cast<float*>(data_.get()); }
  size_t bytes() const { return bytes_; }
  bool ok() const { return bytes_ == 0 || data_ != nullptr; }

 private:
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data_;
  size_t bytes_ = 0;
};

// One layer at the benchmark's batch: inputs uniform in [-1, 1] (fixed seed),
// HWIO weights, a bias, ddst when a backward pass runs, and the truth of the
// current pass every output is compared with: the whole output, or
// (reference_sampled, forward only) the reference at `points`.
struct DeviceInputs;  // cuda_device.cc: src, weights on the GPU

struct Problem {
  std::string layer;
  mec::Conv2dDesc desc;
  mec::Pass pass = mec::Pass::kForward;  // what the runners compute now (make_truth)
  std::vector<float> src, weights, bias;
  std::vector<float> ddst;         // n x p x q x k; only when --pass has a backward pass
  std::vector<double> truth;       // the pass's output (NHWC dst, NHWC dsrc, HWIO dweights), or
                                   // dst at points; empty when checked_against == "none"
  std::vector<double> truth_bias;  // backward weights: dbias (k values)
  std::vector<mec::reference::OutputPoint> points;  // reference_sampled: where truth is
  // "reference", "reference_sampled", "reference_image0", "direct" or "none"
  std::string checked_against;
  // cuda: the device copies (bias is empty there: cuDNN's forward has none,
  // so neither side adds one); truth covers image 0 of dst and dsrc only.
  std::shared_ptr<const DeviceInputs> device;
};

// Fills the inputs (all cores for what follows; on cuda also their device
// copies); make_truth() computes each pass's truth. Returns false
// with *error when the truth cannot be computed; throws std::bad_alloc when
// the inputs or the truth cannot be allocated.
bool make_problem(const mec::NamedShape& layer, const Options& options, Problem* problem,
                  std::string* error);
// Sets problem->pass and computes that pass's truth per --check (all
// cores; on cuda image 0 of dst and dsrc, see problem.cc). Errors as
// make_problem().
bool make_truth(mec::Pass pass, const Options& options, Problem* problem, std::string* error);

// Elements of the current pass's output: dst (fwd), dsrc (bwd_data) or
// dweights (bwd_weights; dbias, k more, is apart).
int64_t output_elems(const Problem& problem);

// The error of a cpu output (all of it; dbias too when the pass has one and
// it is not null) against the problem's truth: NaN when unchecked, else
// max_rel_error (the larger of dweights' and dbias') or, on a sample,
// sampled_rel_error.
double output_error(const Problem& problem, const float* out, const float* dbias = nullptr);

struct Record {
  std::string layer, shape, algo;
  std::string pass = "fwd";  // mec::pass_name(): "fwd", "bwd_data" or "bwd_weights"
  std::string variant;       // ours: Conv2dPlan::variant(); a peer's implementation
  std::string device = "cpu", math = "fp32";
  // "ok", "unsupported", "over_limit" (ours: the plan needs more workspace
  // than --workspace-limit) or "error"
  std::string status = "ok";
  std::string note;  // why, for a status other than ok; or extra facts
  int64_t batch = 0;
  int threads = 0;
  double median_ms = 0, min_ms = 0, gflops = 0;
  double max_rel_err = 0;  // +inf when an output is NaN/inf (unwritten)
  int64_t workspace_bytes = 0, persistent_bytes = 0;
  int64_t indirection_bytes = -1;  // XNNPACK only: measured, see peer_xnnpack.cc
  int64_t mec_band_rows = 0;       // ours on cpu: Context::set_mec_band_rows
  int64_t workspace_limit = -1;    // --workspace-limit when given, else -1
  double create_ms = -1;           // ours: wall time of Conv2dPlan::create; -1 for peers
  std::string auto_mode;           // ours, algo auto: "model" or "measure"
  std::string checked_against;
  bool timed = true;  // false under --dry-run: timings and error are null
};

// A record for `problem` with the identifying fields filled in.
Record new_record(const Problem& problem, const std::string& algo, const Options& options);

// Command line (options.cc): 0 to run, 1 after --help, 2 on a bad option
// (then *error says why).
// 0: options parsed; 1: --help; 3: --version; 2: bad options (error set).
int parse_options(int argc, char** argv, Options* options, std::string* error);
const char* usage();

// One algorithm or peer, prepared on a problem for its current pass:
// plan/primitive created, weights packed, workspace and output allocated
// (all owned by the closure). run() does one convolution (the pass) into
// dst (and dbias) and returns "" or an error message. A runner whose
// record.status is not "ok" at preparation has no run(). unpack (optional,
// untimed) runs after the checked run and puts an output kept in a
// library's own layout into dst for the check.
//
// cuda: dst is a device pointer; fetch0() copies the checked part of the
// output (checked_elems(): image 0 of dst or dsrc in NHWC, or dweights in
// HWIO) to the host; acquire()/release() (optional) hold big per-runner
// memory (cuDNN's workspaces) only while that runner is timed.
struct Runner {
  Record record;
  float* dst = nullptr;
  float* dbias = nullptr;  // bwd_weights: the bias gradient (k values)
  std::function<std::string()> run;
  std::function<std::string()> unpack;
  std::function<std::string(float*)> fetch0;
  std::function<std::string()> acquire;
  std::function<void()> release;
};

// The CPU context our plans are made with: --threads, --gemm, --mec-bands,
// and set_plan_options().
mec::Context cpu_context(const Options& options);
// Applies --workspace-limit and --auto-mode to a context of ours (every
// one: cpu_context(), the CUDA contexts, --dry-run's).
void set_plan_options(const Options& options, mec::Context* context);
// A '#' line on stdout with --workspace-limit and --auto-mode, when either
// is not the default.
void print_plan_options(const Options& options);
// Conv2dPlan::create for `algo` and `pass`, its wall time in r->create_ms
// (and r->auto_mode for auto). On failure false, with r->status
// "unsupported" (also: the algorithm lacks the pass), "over_limit"
// (kInsufficientWorkspace) or "error" and the library's message in r->note.
bool create_plan(const mec::Conv2dDesc& desc, const std::string& algo, const mec::Context& context,
                 const Options& options, std::unique_ptr<mec::Conv2dPlan>* plan, Record* r,
                 mec::Pass pass = mec::Pass::kForward);
// Prepares our algorithm (run_ours.cc) or a peer (peers.cc).
Runner prepare_ours(const Problem& problem, const std::string& algo, const Options& options);
// A peer gives one runner, or (cudnn) one per algorithm and layout; for a
// pass it lacks (peer_runs_pass), one "unsupported" record.
bool peer_available(const std::string& peer);
bool peer_runs_pass(const std::string& peer, mec::Pass pass);
std::vector<Runner> prepare_peer(const Problem& problem, const std::string& peer,
                                 const Options& options);

// The CUDA side (cuda_device.cc, only in a CUDA build): whether it is
// built, the device copies of a problem's inputs, our CUDA plans as runners,
// and the CUDA-event timing loop (same contract as time_layer()).
bool cuda_built();
bool upload_problem(Problem* problem, std::string* error);
Runner prepare_ours_cuda(const Problem& problem, const std::string& algo, const Options& options);
void time_layer_cuda(const Problem& problem, const Options& options, std::vector<Runner>* runners);

// Times a layer's runners (problem.cc): for each, its output poisoned with
// NaN, one checked run (also the warm-up) and `warmup` more; then each runner's `reps`
// timed runs back to back or, with options.interleave, `reps` rounds timing
// one run of every runner in turn (load changes then hit all alike, but
// threads of one runtime still spinning slow down the next: see
// docs/mecbench.md). Fills median_ms, min_ms, gflops and max_rel_err.
void time_layer(const Problem& problem, const Options& options, std::vector<Runner>* runners);

// --dry-run (dry_run.cc): every layer's plan of every algorithm made and
// recorded (variant, workspace), a table on stdout and --json; nothing runs.
// Returns the exit status: 1 when a plan failed with an error.
int dry_run(const Options& options);

// Output (report.cc).
void print_table(const std::vector<Record>& records);
// Per layer (at the benchmark's batch): MEC's workspace |L| against
// im2col's, from the forward plans' workspace_bytes().
void print_workspace_summary(const std::vector<mec::NamedShape>& layers, const Options& options);
// With --peer and mec: per pass, mec over each peer's fastest (the peers
// that run the pass).
void print_ratio_table(const std::vector<Record>& records, const Options& options);
// Whenever `auto` ran (auto_table.cc), per pass: per layer, auto against
// the fastest of our other algorithms and against each peer's fastest,
// with geometric means and the worst ratio.
void print_auto_table(const std::vector<Record>& records, const Options& options);
// The records of one pass, in order (the tables are per pass).
std::vector<Record> records_of_pass(const std::vector<Record>& records, mec::Pass pass);
// Writes the whole array (rewritten after every layer, so a run that fails
// or is killed later keeps the records so far). Strings are written as
// valid UTF-8: a byte that is not is written as U+FFFD.
bool write_json(const std::string& path, const std::vector<Record>& records, std::string* error);
// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF); layer names must be (parse_options).
bool valid_utf8(const std::string& s);

}  // namespace mecbench
