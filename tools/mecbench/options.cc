// mecbench's command line. Every value is checked here, before anything
// runs, so a typo costs nothing: a bad option or value prints one clear line
// and main() exits with status 2. Layer names must be UTF-8: they go into
// the JSON as they are.
#include <omp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bench.h"

namespace mecbench {
namespace {

const char kUsage[] =
    "usage: mecbench [options]\n"
    "Checks and times 2-D convolutions (fp32, NHWC, CPU or CUDA) of libmec and of peer\n"
    "libraries.\n"
    "\n"
    "  --suite NAME|PATH  layers from bench/shapes/NAME.txt (paper, alexnet, vgg16,\n"
    "                     resnet50, mobilenet_v1, grouped) or from a shape file; repeatable.\n"
    "                     Default when no --shape is given: paper\n"
    "  --shape [NAME=]STR one layer as a shape string, e.g. n1h56w56c64k64r3s3p1;\n"
    "                     repeatable, or a comma list\n"
    "  --algo LIST        our algorithms, comma list of direct,im2col,mec_a,mec_b,mec,\n"
    "                     auto,fft,winograd,winograd_f2,winograd_f4, or 'none'\n"
    "                     (default direct,im2col,mec_a,mec_b,mec,fft,winograd,auto)\n"
    "  --peer LIST        peer libraries built in: onednn,xnnpack (cpu), cudnn (cuda)\n"
    "                     (default none)\n"
    "  --pass LIST        fwd (default), bwd_data, bwd_weights, a comma list of them, or\n"
    "                     all (the three, per layer); the backward passes are cpu only,\n"
    "                     and of the peers only onednn has them\n"
    "  --device D         cpu (default) or cuda (device 0; needs a CUDA build)\n"
    "  --math M           cuda: fp32 (strict, default) or tf32 (tensor cores)\n"
    "  --threshold T      cuda: MEC's threshold T (Context::set_mec_threshold)\n"
    "  --batch N          batch size for every layer (default: the shape's n)\n"
    "  --threads N        threads for every algorithm and peer (default: all cores)\n"
    "  --reps N           timed runs; the median and min are reported (default 5)\n"
    "  --warmup N         extra untimed runs after the checked run (default 0)\n"
    "  --check MODE       auto|ref|sampled|direct|none: what outputs are compared with\n"
    "                     (default auto: the double reference, on the whole output up to\n"
    "                     2 GFLOP per layer, else at a few thousand sampled points)\n"
    "  --packed           weights go to set_weights() once, run() gets null (default)\n"
    "  --unpacked         weights are passed to every run() instead\n"
    "  --gemm ENGINE      fast (default: packed micro-kernels) or blas (CBLAS, the paper's\n"
    "                     setting): the GEMM engine under our mec algorithms\n"
    "  --mec-bands ROWS   cpu: MEC lowers ROWS output rows at a time per thread, not whole\n"
    "                     images (Context::set_mec_band_rows; default 0: the paper's |L|)\n"
    "  --workspace-limit BYTES  the most workspace a plan of ours may need\n"
    "                     (Context::set_workspace_limit; suffix k, M or G: powers of 1024),\n"
    "                     or 'mec': each layer's limit is the workspace of our mec plan\n"
    "                     auto picks within it; another algorithm that needs more is\n"
    "                     reported over_limit (default: no limit)\n"
    "  --auto-mode MODE   how auto chooses: model (default: the cost model) or measure\n"
    "                     (times the candidates at plan creation; Context::set_auto_mode)\n"
    "  --dry-run          make every plan and record its variant (what it runs) and\n"
    "                     workspace; no inputs, no timing, no check, no peers\n"
    "  --interleave       time in rounds of one run of every algorithm and peer (default:\n"
    "                     each one's reps back to back); see docs/mecbench.md\n"
    "  --json FILE        also write all records as a JSON array to FILE\n"
    "  --help             this text\n"
    "  --version          the version of mecbench and of the libmec it runs\n"
    "Shape strings, JSON keys and checking: docs/mecbench.md\n";

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

bool parse_int(const std::string& name, const std::string& text, int64_t min, int64_t max,
               int64_t* value, std::string* error) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
    *error = name + " needs an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
             "], got '" + text + "'";
    return false;
  }
  *value = v;
  return true;
}

// A byte count: decimal digits and an optional suffix k, M or G (either
// case; powers of 1024), at most INT64_MAX.
bool parse_bytes(const std::string& name, const std::string& text, int64_t* value,
                 std::string* error) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string suffix = text.substr(digits);
  int shift = -1;
  if (suffix.empty()) shift = 0;
  if (suffix == "k" || suffix == "K") shift = 10;
  if (suffix == "m" || suffix == "M") shift = 20;
  if (suffix == "g" || suffix == "G") shift = 30;
  if (digits == 0 || shift < 0) {
    *error = name + " needs a byte count: digits, optionally followed by k, M or G (powers of " +
             "1024), e.g. 0, 65536, 512k, 1M; got '" + text + "'";
    return false;
  }
  errno = 0;
  const unsigned long long v = std::strtoull(text.substr(0, digits).c_str(), nullptr, 10);
  if (errno != 0 || v > (uint64_t(INT64_MAX) >> shift)) {
    *error = name + " '" + text + "' is more than 2^63 - 1 bytes";
    return false;
  }
  *value = int64_t(v << shift);
  return true;
}

// Where a named suite's file is: beside an installed mecbench
// (PREFIX/share/mec/shapes, as `cmake --install` puts it), else in the
// source tree it was built from.
std::string suite_path(const std::string& name) {
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (len > 0) {
    std::string dir(exe, size_t(len));
    dir = dir.substr(0, dir.rfind('/'));
    const std::string installed = dir + "/../share/mec/shapes/" + name + ".txt";
    if (std::ifstream(installed)) return installed;
  }
  return std::string(MEC_SOURCE_DIR) + "/bench/shapes/" + name + ".txt";
}

bool add_suite(const std::string& arg, Options* options, std::string* error) {
  const bool is_path = arg.find('/') != std::string::npos ||
                       (arg.size() > 4 && arg.compare(arg.size() - 4, 4, ".txt") == 0);
  const std::string path = is_path ? arg : suite_path(arg);
  if (!is_path && !std::ifstream(path)) {
    *error = "unknown suite '" + arg +
             "' (known: paper, alexnet, vgg16, resnet50, mobilenet_v1, or a path to a shape file)";
    return false;
  }
  return mec::read_shape_file(path, &options->layers, error);
}

bool add_shapes(const std::string& arg, Options* options, std::string* error) {
  for (const std::string& item : split_list(arg)) {
    mec::NamedShape shape;
    const size_t eq = item.find('=');
    shape.name = eq == std::string::npos ? "s" + std::to_string(options->layers.size() + 1)
                                         : item.substr(0, eq);
    const std::string text = eq == std::string::npos ? item : item.substr(eq + 1);
    if (!mec::parse_shape(text, &shape.desc, error)) return false;
    const mec::Status st = mec::validate(shape.desc);
    if (st != mec::Status::kSuccess) {
      *error = "shape '" + text + "': " + mec::last_error();
      return false;
    }
    options->layers.push_back(shape);
  }
  if (arg.empty()) {
    *error = "--shape needs a shape string";
    return false;
  }
  return true;
}

// The name with every byte outside printable ASCII as \xNN, for messages.
std::string shown(const std::string& name) {
  std::string out;
  for (unsigned char ch : name) {
    if (ch >= 0x20 && ch < 0x7f) {
      out += char(ch);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", ch);
      out += hex;
    }
  }
  return out;
}

bool set_algos(const std::string& arg, Options* options, std::string* error) {
  options->algos.clear();
  if (arg == "none") return true;
  for (const std::string& name : split_list(arg)) {
    mec::Algorithm algorithm;
    if (!mec::parse_algorithm(name.c_str(), &algorithm)) {
      *error = "unknown algorithm '" + name +
               "' (known: direct, im2col, mec_a, mec_b, mec, auto, fft, winograd, winograd_f2, "
               "winograd_f4)";
      return false;
    }
    options->algos.push_back(name);
  }
  if (options->algos.empty()) {
    *error = "--algo needs a list of algorithms (or 'none')";
    return false;
  }
  return true;
}

// --pass: names of mec::parse_pass, comma-separated, or "all"; kept in the
// order fwd, bwd_data, bwd_weights, each once.
bool set_passes(const std::string& arg, Options* options, std::string* error) {
  const mec::Pass order[] = {mec::Pass::kForward, mec::Pass::kBackwardData,
                             mec::Pass::kBackwardWeights};
  bool wanted[3] = {false, false, false};
  for (const std::string& name : split_list(arg)) {
    mec::Pass pass;
    if (name == "all") {
      wanted[0] = wanted[1] = wanted[2] = true;
    } else if (mec::parse_pass(name.c_str(), &pass)) {
      for (int i = 0; i < 3; ++i) wanted[i] = wanted[i] || pass == order[i];
    } else {
      *error = "--pass must be fwd, bwd_data, bwd_weights (or a comma list of them) or all, got '" +
               arg + "'";
      return false;
    }
  }
  options->passes.clear();
  for (int i = 0; i < 3; ++i) {
    if (wanted[i]) options->passes.push_back(order[i]);
  }
  if (options->passes.empty()) {
    *error = "--pass needs fwd, bwd_data, bwd_weights or all";
    return false;
  }
  return true;
}

// Checked after every option is read: which peers exist depends on --device.
bool check_peers(Options* options, std::string* error) {
  const bool cuda = options->device == "cuda";
  for (const std::string& peer : options->peers) {
    const bool cpu_peer = peer == "onednn" || peer == "xnnpack";
    if (!cpu_peer && peer != "cudnn") {
      *error = "unknown peer '" + peer + "' (known: onednn, xnnpack, cudnn)";
      return false;
    }
    if (cpu_peer == cuda) {
      *error = "peer '" + peer + "' runs on " + (cuda ? "the cpu" : "cuda") + ", not on --device " +
               options->device;
      return false;
    }
    if (!peer_available(peer)) {
      *error = "peer '" + peer + "' is not built in: its library was not found when mecbench " +
               "was configured (scripts/install-deps.sh installs it; then re-run cmake)";
      return false;
    }
  }
  return true;
}

}  // namespace

const char* usage() { return kUsage; }

int parse_options(int argc, char** argv, Options* options, std::string* error) {
  options->algos = {"direct", "im2col", "mec_a", "mec_b", "mec", "fft", "winograd", "auto"};
  options->threads = omp_get_num_procs();
  bool any_layers = false;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i], value;
    const size_t eq = name.find('=');
    const bool inline_value = name.compare(0, 2, "--") == 0 && eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "--help" || name == "-h") return 1;
    if (name == "--version") return 3;
    if (name == "--packed" || name == "--unpacked") {
      options->packed = name == "--packed";
      continue;
    }
    if (name == "--interleave") {
      options->interleave = true;
      continue;
    }
    if (name == "--dry-run") {
      options->dry_run = true;
      continue;
    }
    static const char* const kValued[] = {
        "--suite",           "--shape",     "--algo",      "--peer",  "--batch",
        "--threads",         "--reps",      "--warmup",    "--check", "--json",
        "--device",          "--math",      "--threshold", "--gemm",  "--mec-bands",
        "--workspace-limit", "--auto-mode", "--pass"};
    bool known = false;
    for (const char* v : kValued) known = known || name == v;
    if (!known) {
      *error = "unknown option '" + name + "' (see --help)";
      return 2;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        *error = name + " needs a value";
        return 2;
      }
      value = argv[++i];
    }
    int64_t n = 0;
    bool ok = true;
    if (name == "--suite") {
      ok = add_suite(value, options, error);
      any_layers = true;
    } else if (name == "--shape") {
      ok = add_shapes(value, options, error);
      any_layers = true;
    } else if (name == "--algo") {
      ok = set_algos(value, options, error);
    } else if (name == "--peer") {
      options->peers = split_list(value);
    } else if (name == "--pass") {
      ok = set_passes(value, options, error);
    } else if (name == "--device") {
      options->device = value;
      ok = value == "cpu" || value == "cuda";
      if (!ok) *error = "--device must be cpu or cuda, got '" + value + "'";
    } else if (name == "--math") {
      options->math = value;
      ok = value == "fp32" || value == "tf32";
      if (!ok) *error = "--math must be fp32 or tf32, got '" + value + "'";
    } else if (name == "--threshold") {
      ok = parse_int(name, value, 0, int64_t(1) << 30, &options->threshold, error);
    } else if (name == "--mec-bands") {
      ok = parse_int(name, value, 0, int64_t(1) << 30, &options->mec_band_rows, error);
    } else if (name == "--workspace-limit") {
      options->workspace_limit_mec = value == "mec";
      ok = options->workspace_limit_mec ||
           parse_bytes(name, value, &options->workspace_limit, error);
    } else if (name == "--auto-mode") {
      ok = value == "model" || value == "measure";
      options->auto_mode = value == "measure" ? mec::AutoMode::kMeasure : mec::AutoMode::kModel;
      if (!ok) *error = "--auto-mode must be model or measure, got '" + value + "'";
    } else if (name == "--batch") {
      ok = parse_int(name, value, 1, int64_t(1) << 20, &options->batch, error);
    } else if (name == "--threads") {
      ok = parse_int(name, value, 1, 4096, &n, error);
      options->threads = int(n);
    } else if (name == "--reps") {
      ok = parse_int(name, value, 1, 100000, &n, error);
      options->reps = int(n);
    } else if (name == "--warmup") {
      ok = parse_int(name, value, 0, 100000, &n, error);
      options->warmup = int(n);
    } else if (name == "--gemm") {
      ok = value == "fast" || value == "blas";
      options->gemm = value == "blas" ? mec::GemmEngine::kBlas : mec::GemmEngine::kFast;
      if (!ok) *error = "--gemm must be fast or blas, got '" + value + "'";
    } else if (name == "--check") {
      static const struct {
        const char* name;
        Check check;
      } kChecks[] = {{"auto", Check::kAuto},
                     {"ref", Check::kRef},
                     {"sampled", Check::kSampled},
                     {"direct", Check::kDirect},
                     {"none", Check::kNone}};
      ok = false;
      for (const auto& c : kChecks) {
        if (value == c.name) {
          options->check = c.check;
          ok = true;
        }
      }
      if (!ok) *error = "--check must be auto, ref, sampled, direct or none, got '" + value + "'";
    } else if (name == "--json") {
      options->json_path = value;
      ok = !value.empty();
      if (!ok) *error = "--json needs a file name";
    }
    if (!ok) return 2;
  }
  if (!any_layers && !add_suite("paper", options, error)) return 2;
  if (options->device == "cuda") {
    if (!cuda_built()) {
      *error = "--device cuda: this mecbench was built without CUDA";
      return 2;
    }
    if (options->interleave) {
      *error = "--interleave is for the cpu (cuda runs are timed with CUDA events)";
      return 2;
    }
  } else if (options->math != "fp32" || options->threshold >= 0) {
    *error = "--math and --threshold are for --device cuda";
    return 2;
  }
  if (options->mec_band_rows > 0 && options->device != "cpu") {
    *error = "--mec-bands is for --device cpu";
    return 2;
  }
  if (options->dry_run && !options->peers.empty()) {
    *error = "--dry-run makes only our plans: drop --peer";
    return 2;
  }
  if (options->dry_run && options->algos.empty()) {
    *error = "nothing to plan: --dry-run with --algo none";
    return 2;
  }
  if (!check_peers(options, error)) return 2;
  if (options->layers.empty()) {
    *error = "no layers to run";
    return 2;
  }
  for (const mec::NamedShape& layer : options->layers) {
    if (!valid_utf8(layer.name)) {
      *error = "layer name '" + shown(layer.name) + "' is not valid UTF-8";
      return 2;
    }
  }
  if (options->algos.empty() && options->peers.empty()) {
    *error = "nothing to run: --algo none and no --peer";
    return 2;
  }
  return 0;
}

}  // namespace mecbench
