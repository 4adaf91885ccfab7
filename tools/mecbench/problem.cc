// One layer's data and the common timing loop (see bench.h). The truth is
// computed on every core whatever --threads says: it is not timed, and the
// double reference is slow. Large layers are checked against the double
// reference at sampled points (sampled_check.h), never against another
// float algorithm, whose summation order may be the one under test. The
// backward passes are checked against their double references
// (reference_backward.h) on the whole output, or not at all above
// kRefFlopLimit: they have no sampled reference. On cuda image 0 of dst and
// dsrc is checked, and the whole weight gradient up to kRefFlopLimit.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <new>
#include <random>

#include "bench.h"
#include "reference/reference_backward.h"
#include "reference/reference_conv.h"

namespace mecbench {
namespace {

// Raises the OpenMP thread count to every core for its lifetime.
class AllCores {
 public:
  AllCores() : saved_(omp_get_max_threads()) { omp_set_num_threads(omp_get_num_procs()); }
  ~AllCores() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

// A bad_alloc that says what could not be had, for main()'s one-line error.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string what) : what_(std::move(what)) {}
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

// v->resize(count), refused (OutOfMemory) above the machine's memory.
template <typename T>
void allocate(const char* what, int64_t count, std::vector<T>* v) {
  const double bytes = double(count) * sizeof(T);
  if (bytes > physical_memory_bytes()) {
    char text[160];
    std::snprintf(text, sizeof(text), "%s needs %.4g GiB, more than this machine's %.4g GiB", what,
                  bytes / (1 << 30), physical_memory_bytes() / (1 << 30));
    throw OutOfMemory(text);
  }
  v->resize(size_t(count));
}

void fill_uniform(std::mt19937* rng, std::vector<float>* v) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (float& x : *v) x = uniform(*rng);
}

// The truth of the current pass from our direct algorithm (--check direct).
bool truth_from_direct(Problem* p, std::string* error) {
  std::unique_ptr<mec::Conv2dPlan> plan;
  mec::Status st = mec::Conv2dPlan::create(p->desc, p->pass, mec::Algorithm::kDirect,
                                           mec::Context::cpu(), &plan);
  std::vector<float> out, dbias;
  allocate("direct's output", output_elems(*p), &out);
  std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
  dbias.assign(size_t(p->desc.k), std::numeric_limits<float>::quiet_NaN());
  if (st == mec::Status::kSuccess) {
    switch (p->pass) {
      case mec::Pass::kForward:
        st = plan->run(p->src.data(), p->weights.data(), p->bias.data(), out.data(), nullptr, 0);
        break;
      case mec::Pass::kBackwardData:
        st = plan->run_backward_data(p->ddst.data(), p->weights.data(), out.data(), nullptr, 0);
        break;
      case mec::Pass::kBackwardWeights:
        st = plan->run_backward_weights(p->src.data(), p->ddst.data(), out.data(), dbias.data(),
                                        nullptr, 0);
        p->truth_bias.assign(dbias.begin(), dbias.end());
        break;
    }
  }
  if (st != mec::Status::kSuccess) {
    *error = std::string("direct (for checking) failed: ") + mec::last_error();
    return false;
  }
  p->truth.assign(out.begin(), out.end());
  return true;
}

// The whole truth of the current pass from the double reference.
void truth_from_reference(Problem* p) {
  allocate("the truth", output_elems(*p), &p->truth);
  switch (p->pass) {
    case mec::Pass::kForward:
      mec::reference::conv2d(p->desc, p->src.data(), p->weights.data(), p->bias.data(),
                             p->truth.data());
      break;
    case mec::Pass::kBackwardData:
      mec::reference::conv2d_backward_data(p->desc, p->ddst.data(), p->weights.data(),
                                           p->truth.data());
      break;
    case mec::Pass::kBackwardWeights:
      allocate("the bias truth", p->desc.k, &p->truth_bias);
      mec::reference::conv2d_backward_weights(p->desc, p->src.data(), p->ddst.data(),
                                              p->truth.data(), p->truth_bias.data());
      break;
  }
}

}  // namespace

double physical_memory_bytes() {
  static const double bytes = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
  return bytes > 0 ? bytes : std::numeric_limits<double>::infinity();
}

void AlignedBuffer::reset(size_t bytes) {
  data_.reset();
  bytes_ = 0;
  if (bytes == 0 || double(bytes) > physical_memory_bytes()) return;
  const size_t rounded = (bytes + 63) / 64 * 64;
  data_.reset(std::aligned_alloc(64, rounded));
  if (data_) bytes_ = bytes;
}

bool make_problem(const mec::NamedShape& layer, const Options& options, Problem* p,
                  std::string* error) {
  p->layer = layer.name;
  p->desc = layer.desc;
  if (options.batch > 0) p->desc.n = options.batch;
  if (mec::validate(p->desc) != mec::Status::kSuccess) {
    *error = mec::last_error();
    return false;
  }
  p->desc.filter_layout = mec::FilterLayout::kHWIO;
  std::mt19937 rng(20170306);
  allocate("src", p->desc.src_elems(), &p->src);
  allocate("the weights", p->desc.weight_elems(), &p->weights);
  const bool cuda = options.device == "cuda";
  p->bias.resize(cuda ? 0 : p->desc.k);
  fill_uniform(&rng, &p->src);
  fill_uniform(&rng, &p->weights);
  fill_uniform(&rng, &p->bias);
  bool backward = false;
  for (mec::Pass pass : options.passes) backward = backward || pass != mec::Pass::kForward;
  if (backward) {
    allocate("ddst", p->desc.dst_elems(), &p->ddst);
    fill_uniform(&rng, &p->ddst);
  }
  return !cuda || upload_problem(p, error);  // make_truth() per pass
}

namespace {

// cuda: the double reference on image 0 of dst or dsrc (every image runs
// the same code; the unit tests check whole batches), and on the whole
// weight gradient (it sums over every image) up to kRefFlopLimit.
void make_truth_cuda(mec::Pass pass, const Options& options, Problem* p) {
  mec::Conv2dDesc one = p->desc;
  one.n = 1;
  if (options.check == Check::kNone) {
    p->checked_against = "none";
  } else if (pass == mec::Pass::kForward) {
    p->checked_against = "reference_image0";
    allocate("the truth", one.dst_elems(), &p->truth);
    mec::reference::conv2d(one, p->src.data(), p->weights.data(), nullptr, p->truth.data());
  } else if (pass == mec::Pass::kBackwardData) {
    p->checked_against = "reference_image0";
    allocate("the truth", one.src_elems(), &p->truth);
    mec::reference::conv2d_backward_data(one, p->ddst.data(), p->weights.data(), p->truth.data());
  } else if (p->desc.flops() <= kRefFlopLimit) {
    p->checked_against = "reference";
    truth_from_reference(p);
  } else {
    p->checked_against = "none";
  }
}

}  // namespace

bool make_truth(mec::Pass pass, const Options& options, Problem* p, std::string* error) {
  AllCores all_cores;
  p->pass = pass;
  p->truth.clear();
  p->truth_bias.clear();
  p->points.clear();
  if (options.device == "cuda") {
    make_truth_cuda(pass, options, p);
    return true;
  }
  Check check = options.check;
  if (check == Check::kAuto)
    check = p->desc.flops() <= kRefFlopLimit ? Check::kRef : Check::kSampled;
  // The backward passes have no sampled reference: whole outputs up to the
  // flop limit, nothing above it.
  if (check == Check::kSampled && pass != mec::Pass::kForward) {
    check = p->desc.flops() <= kRefFlopLimit ? Check::kRef : Check::kNone;
  }
  if (check == Check::kSampled) {
    p->points = sample_points(p->desc);
    // A sample of a quarter of the output or more costs at most 4x less
    // than the whole reference, and covers less: take the whole.
    if (int64_t(p->points.size()) * 4 >= p->desc.dst_elems()) {
      p->points.clear();
      check = Check::kRef;
    }
  }
  switch (check) {
    case Check::kRef:
      p->checked_against = "reference";
      truth_from_reference(p);
      return true;
    case Check::kSampled:
      p->checked_against = "reference_sampled";
      allocate("the truth", int64_t(p->points.size()), &p->truth);
      mec::reference::conv2d_at(p->desc, p->src.data(), p->weights.data(), p->bias.data(),
                                p->points.data(), int64_t(p->points.size()), p->truth.data());
      return true;
    case Check::kDirect:
      p->checked_against = "direct";
      return truth_from_direct(p, error);
    default:
      p->checked_against = "none";
      return true;
  }
}

int64_t output_elems(const Problem& p) {
  switch (p.pass) {
    case mec::Pass::kBackwardData:
      return p.desc.src_elems();
    case mec::Pass::kBackwardWeights:
      return p.desc.weight_elems();
    default:
      return p.desc.dst_elems();
  }
}

double output_error(const Problem& p, const float* out, const float* dbias) {
  if (p.truth.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (!p.points.empty()) return sampled_rel_error(p.desc, out, p.points, p.truth);
  double error = mec::reference::max_rel_error(out, p.truth.data(), output_elems(p));
  if (dbias && !p.truth_bias.empty()) {
    const double bias_error = mec::reference::max_rel_error(dbias, p.truth_bias.data(), p.desc.k);
    // max() would drop a NaN: an unwritten element must still show.
    if (!(bias_error <= error)) error = bias_error;
  }
  return error;
}

Record new_record(const Problem& p, const std::string& algo, const Options& options) {
  Record r;
  r.layer = p.layer;
  r.shape = mec::format_shape(p.desc);
  r.algo = algo;
  r.pass = mec::pass_name(p.pass);
  r.batch = p.desc.n;
  r.device = options.device;
  r.math = options.math;
  r.threads = options.device == "cuda" ? 0 : options.threads;
  r.checked_against = p.checked_against;
  r.workspace_limit = options.workspace_limit;
  return r;
}

void time_layer(const Problem& p, const Options& options, std::vector<Runner>* runners) {
  using Clock = std::chrono::steady_clock;
  const int64_t count = output_elems(p);
  std::vector<std::vector<double>> ms(runners->size());
  // Runs runner i once; on failure marks it and drops its run().
  auto run_once = [&](size_t i, bool timed) {
    Runner& r = (*runners)[i];
    if (!r.run) return;
    const Clock::time_point start = Clock::now();
    std::string error;
    try {
      error = r.run();
    } catch (const std::exception& e) {  // a peer's, e.g. std::bad_alloc
      error = std::string("exception: ") + e.what();
    }
    const double elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!error.empty()) {
      r.record.status = "error";
      r.record.note = error;
      r.run = nullptr;
    } else if (timed) {
      ms[i].push_back(elapsed);
    }
  };
  for (size_t i = 0; i < runners->size(); ++i) {
    Runner& r = (*runners)[i];
    if (!r.run) continue;
    std::fill(r.dst, r.dst + count, std::numeric_limits<float>::quiet_NaN());
    if (r.dbias) std::fill(r.dbias, r.dbias + p.desc.k, std::numeric_limits<float>::quiet_NaN());
    run_once(i, false);
    if (!r.run) continue;
    const std::string unpacked = r.unpack ? r.unpack() : "";
    if (!unpacked.empty()) {
      r.record.status = "error";
      r.record.note = unpacked;
      r.run = nullptr;
      continue;
    }
    r.record.max_rel_err = output_error(p, r.dst, r.dbias);
    for (int w = 0; w < options.warmup; ++w) run_once(i, false);
  }
  if (options.interleave) {
    for (int rep = 0; rep < options.reps; ++rep) {
      for (size_t i = 0; i < runners->size(); ++i) run_once(i, true);
    }
  } else {
    for (size_t i = 0; i < runners->size(); ++i) {
      for (int rep = 0; rep < options.reps; ++rep) run_once(i, true);
    }
  }
  for (size_t i = 0; i < runners->size(); ++i) {
    Record& record = (*runners)[i].record;
    if (record.status != "ok") continue;
    std::vector<double>& t = ms[i];
    std::sort(t.begin(), t.end());
    const size_t n = t.size();
    record.median_ms = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    record.min_ms = t[0];
    record.gflops = p.desc.flops() / (record.median_ms * 1e6);
  }
}

}  // namespace mecbench
