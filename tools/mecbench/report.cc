// mecbench's output: the per-run table, MEC's workspace against im2col's,
// the MEC-over-peer ratio tables, one per pass (stdout), and the JSON
// records (--json).
// Workspace ratios come from plans' workspace_bytes(), never from formulas
// re-derived here, so the tables show what the library really asks for.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "bench.h"

namespace mecbench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// Workspace of a plan for `desc` and `pass` on `device`, or -1 when it
// cannot be created; *solution: the concrete algorithm it runs.
int64_t plan_workspace(const mec::Conv2dDesc& desc, mec::Algorithm algorithm, int threads,
                       const std::string& device, std::string* solution = nullptr,
                       int64_t mec_band_rows = 0, mec::Pass pass = mec::Pass::kForward) {
  mec::Context context = mec::Context::cpu(threads);
  context.set_mec_band_rows(mec_band_rows);
  if (device == "cuda" && mec::Context::cuda(&context, nullptr, 0) != mec::Status::kSuccess) {
    return -1;
  }
  std::unique_ptr<mec::Conv2dPlan> plan;
  if (mec::Conv2dPlan::create(desc, pass, algorithm, context, &plan) != mec::Status::kSuccess) {
    return -1;
  }
  if (solution) *solution = mec::algorithm_name(plan->algorithm());
  return int64_t(plan->workspace_bytes());
}

std::string algo_label(const Record& r) {
  std::string label = r.variant.empty() ? r.algo : r.algo + " (" + r.variant + ")";
  if (r.mec_band_rows > 0) label += " bands " + std::to_string(r.mec_band_rows);
  return label;
}

// Length of the well-formed UTF-8 sequence at s[i] (1 to 4), or 0 when
// the bytes there are not one (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF).
size_t utf8_length(const std::string& s, size_t i) {
  const unsigned char b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t j = 1; j < n; ++j) {
    const unsigned char b = static_cast<unsigned char>(s[i + j]);
    if (b < (j == 1 ? lo : 0x80) || b > (j == 1 ? hi : 0xBF)) return 0;
  }
  return n;
}

// A JSON string: well-formed UTF-8 as is, control characters escaped, and
// any other byte (a peer's message, say) as U+FFFD, so the file is always
// valid JSON.
void json_string(FILE* f, const std::string& s) {
  std::fputc('"', f);
  for (size_t i = 0; i < s.size();) {
    const unsigned char ch = static_cast<unsigned char>(s[i]);
    const size_t n = utf8_length(s, i);
    if (n == 0) {
      std::fputs("\\ufffd", f);
      ++i;
      continue;
    }
    if (ch == '"' || ch == '\\') {
      std::fprintf(f, "\\%c", ch);
    } else if (ch < 0x20) {
      std::fprintf(f, "\\u%04x", ch);
    } else {
      std::fwrite(s.data() + i, 1, n, f);
    }
    i += n;
  }
  std::fputc('"', f);
}

void json_number(FILE* f, double v) {
  if (std::isfinite(v)) {
    std::fprintf(f, "%.9g", v);
  } else {
    std::fputs("null", f);
  }
}

}  // namespace

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::vector<Record> records_of_pass(const std::vector<Record>& records, mec::Pass pass) {
  std::vector<Record> out;
  for (const Record& r : records) {
    if (r.pass == mec::pass_name(pass)) out.push_back(r);
  }
  return out;
}

void print_table(const std::vector<Record>& records) {
  std::map<std::string, int64_t> im2col_bytes;  // by shape and pass
  int wl = 5, ws = 5, wa = 4;                   // column widths
  for (const Record& r : records) {
    wl = std::max(wl, int(r.layer.size()));
    ws = std::max(ws, int(r.shape.size()));
    wa = std::max(wa, int(algo_label(r).size()));
  }
  std::printf("\n%-*s %-*s %-11s %-*s %10s %9s %9s %9s %11s %-6s\n", wl, "layer", ws, "shape",
              "pass", wa, "algo", "median_ms", "GFLOP/s", "ws_MiB", "ws/im2col", "max_rel_err",
              "vs");
  for (const Record& r : records) {
    std::printf("%-*s %-*s %-11s %-*s ", wl, r.layer.c_str(), ws, r.shape.c_str(), r.pass.c_str(),
                wa, algo_label(r).c_str());
    if (r.status != "ok") {
      std::printf("%s: %s\n", r.status.c_str(), r.note.c_str());
      continue;
    }
    // ws/im2col: over the workspace of im2col's plan for the same pass.
    auto it = im2col_bytes.find(r.shape + " " + r.pass);
    if (it == im2col_bytes.end()) {
      mec::Conv2dDesc desc;
      std::string error;
      mec::Pass pass = mec::Pass::kForward;
      int64_t bytes = -1;
      if (mec::parse_shape(r.shape, &desc, &error) && mec::parse_pass(r.pass.c_str(), &pass)) {
        bytes =
            plan_workspace(desc, mec::Algorithm::kIm2col, r.threads, r.device, nullptr, 0, pass);
      }
      it = im2col_bytes.emplace(r.shape + " " + r.pass, bytes).first;
    }
    char ratio[32] = "-";
    if (it->second > 0)
      std::snprintf(ratio, sizeof(ratio), "%.3f", double(r.workspace_bytes) / it->second);
    // The error column; "truth" marks the run the others are checked against.
    char err[32] = "-";
    if (r.algo == "direct" && r.checked_against == "direct") {
      std::snprintf(err, sizeof(err), "truth");
    } else if (!std::isnan(r.max_rel_err)) {
      std::snprintf(err, sizeof(err), "%.2e", r.max_rel_err);
    }
    const char* against = r.checked_against == "reference"           ? "ref"
                          : r.checked_against == "reference_sampled" ? "sampled"
                                                                     : r.checked_against.c_str();
    std::printf("%10.3f %9.1f %9.2f %9s %11s %-6s\n", r.median_ms, r.gflops,
                r.workspace_bytes / kMiB, ratio, err, against);
  }
}

void print_workspace_summary(const std::vector<mec::NamedShape>& layers, const Options& options) {
  std::printf("\nMEC workspace %s against im2col's (from the plans' workspace_bytes())\n",
              options.mec_band_rows > 0 ? "in row bands" : "|L|");
  int wl = 5, ws = 5;
  for (const mec::NamedShape& layer : layers) {
    wl = std::max(wl, int(layer.name.size()));
    ws = std::max(ws, int(mec::format_shape(layer.desc).size()));
  }
  std::printf("%-*s %-*s %12s %12s %-8s %10s\n", wl, "layer", ws, "shape", "im2col_MiB", "mec_MiB",
              "solution", "reduction");
  for (const mec::NamedShape& layer : layers) {
    std::string solution = "-";
    const int64_t im2col =
        plan_workspace(layer.desc, mec::Algorithm::kIm2col, options.threads, options.device);
    const int64_t mec = plan_workspace(layer.desc, mec::Algorithm::kMec, options.threads,
                                       options.device, &solution, options.mec_band_rows);
    std::printf("%-*s %-*s ", wl, layer.name.c_str(), ws, mec::format_shape(layer.desc).c_str());
    if (im2col < 0 || mec < 0) {
      std::printf("(no plan)\n");
      continue;
    }
    char reduction[32] = "-";
    if (mec > 0) std::snprintf(reduction, sizeof(reduction), "%.2fx", double(im2col) / mec);
    std::printf("%12.2f %12.2f %-8s %10s\n", im2col / kMiB, mec / kMiB, solution.c_str(),
                reduction);
  }
}

namespace {

// The ratio table of one pass: `records` are that pass's, options.peers
// the peers that run it.
void print_pass_ratio_table(const std::vector<Record>& records, const Options& options,
                            const char* pass) {
  // Ours by (layer, algo); a peer's fastest ok record by (layer, peer), and
  // its fastest whose workspace is at most mec's. Layer order as first seen.
  std::map<std::pair<std::string, std::string>, const Record*> ours, fastest, within;
  std::vector<std::string> layers;
  for (const Record& r : records) {
    if (layers.empty() || layers.back() != r.layer) layers.push_back(r.layer);
    if (r.status == "ok" && r.algo == "mec") ours[{r.layer, r.algo}] = &r;
  }
  for (const Record& r : records) {
    auto mec = ours.find({r.layer, "mec"});
    if (r.status != "ok" || r.algo == "mec" || mec == ours.end()) continue;
    bool is_peer = false;
    for (const std::string& peer : options.peers) is_peer = is_peer || r.algo == peer;
    if (!is_peer) continue;
    const Record*& f = fastest[{r.layer, r.algo}];
    if (!f || r.median_ms < f->median_ms) f = &r;
    if (r.workspace_bytes <= mec->second->workspace_bytes) {
      const Record*& w = within[{r.layer, r.algo}];
      if (!w || r.median_ms < w->median_ms) w = &r;
    }
  }
  // Peers with variants (cudnn) also get the columns of their fastest
  // variant within mec's workspace.
  const bool variants = options.device == "cuda";
  std::printf(
      "\nMEC time over peer time, pass %s (below 1: MEC is faster; a peer with variants: its "
      "fastest%s)\n",
      pass, variants ? "; 'within': its fastest with workspace <= mec's" : "");
  std::printf("%-8s %10s", "layer", "mec_ms");
  for (const std::string& peer : options.peers) {
    std::printf(" %10s %12s", (peer + "_ms").c_str(), ("mec/" + peer).c_str());
    if (variants)
      std::printf(" %-24s %10s %12s %-24s", "variant", "within_ms", "mec/within", "variant");
  }
  std::printf("\n");
  // Sums of log ratios per peer: [0] median fastest, [1] min fastest, [2] median within.
  std::vector<std::array<double, 3>> log_sum(options.peers.size(), {0, 0, 0});
  std::vector<std::array<int, 3>> count(options.peers.size(), {0, 0, 0});
  for (const std::string& layer : layers) {
    auto mec = ours.find({layer, "mec"});
    if (mec == ours.end()) {
      std::printf("%-8s %10s\n", layer.c_str(), "-");
      continue;
    }
    const Record& m = *mec->second;
    std::printf("%-8s %10.4f", layer.c_str(), m.median_ms);
    for (size_t i = 0; i < options.peers.size(); ++i) {
      auto f = fastest.find({layer, options.peers[i]});
      auto w = within.find({layer, options.peers[i]});
      if (f == fastest.end()) {
        std::printf(" %10s %12s", "-", "-");
      } else {
        const double ratio = m.median_ms / f->second->median_ms;
        log_sum[i][0] += std::log(ratio);
        log_sum[i][1] += std::log(m.min_ms / f->second->min_ms);
        ++count[i][0];
        ++count[i][1];
        std::printf(" %10.4f %12.3f", f->second->median_ms, ratio);
      }
      if (!variants) continue;
      std::printf(" %-24s", f == fastest.end() ? "-" : f->second->variant.c_str());
      if (w == within.end()) {
        std::printf(" %10s %12s %-24s", "-", "-", "-");
      } else {
        const double ratio = m.median_ms / w->second->median_ms;
        log_sum[i][2] += std::log(ratio);
        ++count[i][2];
        std::printf(" %10.4f %12.3f %-24s", w->second->median_ms, ratio,
                    w->second->variant.c_str());
      }
    }
    std::printf("\n");
  }
  // The min-time row is steadier than the medians on a busy machine.
  auto geo = [&](size_t i, int j) {
    return count[i][j] ? std::exp(log_sum[i][j] / count[i][j]) : std::nan("");
  };
  for (int row = 0; row < 2; ++row) {
    std::printf("%-8s %10s", row == 0 ? "geomean" : "geo(min)", "");
    for (size_t i = 0; i < options.peers.size(); ++i) {
      std::printf(" %10s %12.3f", "", geo(i, row));
      if (variants) {
        std::printf(" %-24s %10s", "", "");
        if (row == 0) {
          std::printf(" %12.3f %-24s", geo(i, 2), "");
        } else {
          std::printf(" %12s %-24s", "", "");
        }
      }
    }
    std::printf("\n");
  }
}

}  // namespace

void print_ratio_table(const std::vector<Record>& records, const Options& options) {
  if (options.peers.empty()) return;
  bool have_mec = false;
  for (const std::string& a : options.algos) have_mec = have_mec || a == "mec";
  if (!have_mec) {
    std::fprintf(stderr, "mecbench: no ratio table: it compares algo 'mec', which did not run\n");
    return;
  }
  for (const mec::Pass pass : options.passes) {
    Options with = options;  // the peers that run this pass
    with.peers.clear();
    for (const std::string& peer : options.peers) {
      if (peer_runs_pass(peer, pass)) with.peers.push_back(peer);
    }
    if (with.peers.empty()) {
      std::printf("\nNo ratio table for pass %s: no peer of --peer runs it\n",
                  mec::pass_name(pass));
      continue;
    }
    print_pass_ratio_table(records_of_pass(records, pass), with, mec::pass_name(pass));
  }
}

bool write_json(const std::string& path, const std::vector<Record>& records, std::string* error) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    *error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  std::fputs("[\n", f);
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    const bool ok = r.status == "ok" && r.timed;
    const double nan = std::nan("");
    std::fputs("  {\"layer\": ", f);
    json_string(f, r.layer);
    std::fputs(", \"shape\": ", f);
    json_string(f, r.shape);
    std::fputs(", \"device\": ", f);
    json_string(f, r.device);
    std::fputs(", \"math\": ", f);
    json_string(f, r.math);
    std::fputs(", \"pass\": ", f);
    json_string(f, r.pass);
    std::fputs(", \"algo\": ", f);
    json_string(f, r.algo);
    std::fputs(", \"variant\": ", f);
    json_string(f, r.variant);
    std::fprintf(f, ", \"batch\": %lld, \"threads\": %d, \"median_ms\": ", (long long)r.batch,
                 r.threads);
    json_number(f, ok ? r.median_ms : nan);
    std::fputs(", \"min_ms\": ", f);
    json_number(f, ok ? r.min_ms : nan);
    std::fputs(", \"gflops\": ", f);
    json_number(f, ok ? r.gflops : nan);
    std::fprintf(f, ", \"workspace_bytes\": %lld, \"persistent_bytes\": %lld",
                 (long long)r.workspace_bytes, (long long)r.persistent_bytes);
    if (r.indirection_bytes >= 0) {
      std::fprintf(f, ", \"indirection_bytes\": %lld", (long long)r.indirection_bytes);
    }
    if (r.mec_band_rows > 0) {
      std::fprintf(f, ", \"mec_band_rows\": %lld", (long long)r.mec_band_rows);
    }
    if (r.workspace_limit >= 0) {
      std::fprintf(f, ", \"workspace_limit\": %lld", (long long)r.workspace_limit);
    }
    if (r.create_ms >= 0) {
      std::fputs(", \"create_ms\": ", f);
      json_number(f, r.create_ms);
    }
    if (!r.auto_mode.empty()) {
      std::fputs(", \"auto_mode\": ", f);
      json_string(f, r.auto_mode);
    }
    std::fputs(", \"max_rel_err\": ", f);
    json_number(f, ok ? r.max_rel_err : nan);
    std::fputs(", \"checked_against\": ", f);
    json_string(f, r.checked_against);
    std::fputs(", \"status\": ", f);
    json_string(f, r.status);
    std::fputs(", \"note\": ", f);
    json_string(f, r.note);
    std::fputs(i + 1 < records.size() ? "},\n" : "}\n", f);
  }
  std::fputs("]\n", f);
  const bool written = !std::ferror(f);
  if (std::fclose(f) != 0 || !written) {
    *error = "error writing " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace mecbench
