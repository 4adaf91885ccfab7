// mecbench_cuda: times libmec's CUDA algorithms, and cuDNN as the peer, on
// the paper's layers (or any shape) at given batches, strict fp32 and/or
// TF32, and prints a table per (batch, math) with MEC's time over cuDNN's
// fastest algorithm (at any workspace, and within MEC's workspace) and the
// geometric means. Timing: CUDA events around each run, after a checked run
// and warm-up; the median of --reps runs. Inputs are random, never zeros;
// every output is checked (image 0) against the double reference.
//   mecbench_cuda --batch 1,32 --math fp32,tf32 --peer cudnn --json out.json
#include "cuda_bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <sstream>

#include "common/shape_string.h"
#include "reference/reference_conv.h"

namespace mecbench {

std::string time_gpu(const GpuProblem& pr, cudaStream_t stream, int warmup, int reps,
                     const std::function<std::string()>& launch,
                     const std::function<void(const float*, float*)>& dst_to_nhwc0,
                     GpuRecord* rec) {
  const mec::Conv2dDesc& d = pr.desc;
  const int64_t image = d.p() * d.q() * d.k;
  cudaMemsetAsync(pr.d_dst, 0xFF, size_t(d.dst_elems()) * 4, stream);
  std::string err = launch();
  if (!err.empty()) return err;
  std::vector<float> out(image), nhwc(image);
  if (cudaStreamSynchronize(stream) != cudaSuccess ||
      cudaMemcpy(out.data(), pr.d_dst, image * 4, cudaMemcpyDeviceToHost) != cudaSuccess) {
    return cudaGetErrorString(cudaGetLastError());
  }
  dst_to_nhwc0(out.data(), nhwc.data());
  rec->max_rel_err = mec::reference::max_rel_error(nhwc.data(), pr.truth0.data(), image);
  for (int i = 0; i < warmup; ++i) launch();
  std::vector<cudaEvent_t> ev(reps + 1);
  for (auto& e : ev) cudaEventCreate(&e);
  cudaEventRecord(ev[0], stream);
  for (int i = 0; i < reps; ++i) {
    err = launch();
    if (!err.empty()) break;
    cudaEventRecord(ev[i + 1], stream);
  }
  cudaStreamSynchronize(stream);
  std::vector<double> ms;
  for (int i = 0; err.empty() && i < reps; ++i) {
    float t = 0;
    cudaEventElapsedTime(&t, ev[i], ev[i + 1]);
    ms.push_back(t);
  }
  for (auto& e : ev) cudaEventDestroy(e);
  if (!err.empty()) return err;
  if (cudaGetLastError() != cudaSuccess) return "CUDA error while timing";
  std::sort(ms.begin(), ms.end());
  rec->median_ms = ms[ms.size() / 2];
  rec->min_ms = ms[0];
  rec->gflops = d.flops() / (rec->median_ms * 1e6);
  return "";
}

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) v.push_back(item);
  return v;
}

struct Options {
  std::vector<mec::NamedShape> layers;
  std::vector<int64_t> batches{1};
  std::vector<std::string> math{"fp32"};
  std::vector<std::string> algos{"mec", "mec_a", "mec_b", "im2col", "direct"};
  bool cudnn = false;
  int reps = 20, warmup = 3;
  int64_t threshold = -1;
  int64_t max_cudnn_workspace = int64_t(16) << 30;
  std::string json;
};

GpuRecord run_ours(const GpuProblem& pr, const std::string& name, const mec::Context& ctx,
                   cudaStream_t stream, const Options& opt) {
  GpuRecord rec;
  rec.algo = name;
  mec::Algorithm a;
  mec::parse_algorithm(name.c_str(), &a);
  std::unique_ptr<mec::Conv2dPlan> plan;
  mec::Status st = mec::Conv2dPlan::create(pr.desc, a, ctx, &plan);
  if (st == mec::Status::kSuccess) st = plan->set_weights(pr.d_weights);
  if (st != mec::Status::kSuccess) {
    rec.status = st == mec::Status::kUnsupported ? "unsupported" : "error";
    rec.note = mec::last_error();
    return rec;
  }
  if (name == "mec") rec.variant = mec::algorithm_name(plan->algorithm());
  rec.workspace_bytes = int64_t(plan->workspace_bytes());
  rec.persistent_bytes = int64_t(plan->persistent_bytes());
  void* ws = nullptr;
  if (rec.workspace_bytes > 0 && cudaMalloc(&ws, rec.workspace_bytes) != cudaSuccess) {
    cudaGetLastError();
    rec.status = "error";
    rec.note = "cannot allocate the workspace";
    return rec;
  }
  auto launch = [&]() -> std::string {
    const mec::Status s = plan->run(pr.d_src, nullptr, nullptr, pr.d_dst, ws, rec.workspace_bytes);
    return s == mec::Status::kSuccess ? std::string() : mec::last_error();
  };
  auto same = [&](const float* in, float* out) {
    std::copy(in, in + pr.desc.p() * pr.desc.q() * pr.desc.k, out);
  };
  const int reps = name == "direct" ? std::max(3, opt.reps / 4) : opt.reps;
  const std::string err = time_gpu(pr, stream, opt.warmup, reps, launch, same, &rec);
  if (!err.empty()) {
    rec.status = "error";
    rec.note = err;
  }
  cudaFree(ws);
  return rec;
}

void json_string(FILE* f, const std::string& s) {
  std::fputc('"', f);
  for (char ch : s) {
    if (ch == '"' || ch == '\\') std::fputc('\\', f);
    std::fputc(ch, f);
  }
  std::fputc('"', f);
}

void write_json(const std::string& path, const std::vector<GpuRecord>& recs) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return;
  std::fprintf(f, "[\n");
  for (size_t i = 0; i < recs.size(); ++i) {
    const GpuRecord& r = recs[i];
    std::fprintf(f, "  {\"layer\": ");
    json_string(f, r.layer);
    std::fprintf(f, ", \"shape\": ");
    json_string(f, r.shape);
    std::fprintf(f, ", \"device\": \"cuda\", \"algo\": ");
    json_string(f, r.algo);
    std::fprintf(f, ", \"variant\": ");
    json_string(f, r.variant);
    std::fprintf(f, ", \"math\": ");
    json_string(f, r.math);
    std::fprintf(f, ", \"status\": ");
    json_string(f, r.status);
    std::fprintf(f, ", \"note\": ");
    json_string(f, r.note);
    std::fprintf(f,
                 ", \"batch\": %lld, \"threads\": 0, \"median_ms\": %.6g, \"min_ms\": %.6g, "
                 "\"gflops\": %.6g, \"max_rel_err\": %.6g, \"workspace_bytes\": %lld, "
                 "\"persistent_bytes\": %lld, \"checked_against\": \"reference\"}%s\n",
                 (long long)r.batch, r.median_ms, r.min_ms, r.gflops,
                 std::isfinite(r.max_rel_err) ? r.max_rel_err : 1e300, (long long)r.workspace_bytes,
                 (long long)r.persistent_bytes, i + 1 < recs.size() ? "," : "");
  }
  std::fprintf(f, "]\n");
  std::fclose(f);
}

double geomean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::log(x);
  return v.empty() ? NAN : std::exp(s / v.size());
}

// The summary of one (batch, math): ours per algorithm, cuDNN's fastest at
// any workspace and within mec's, and the ratios.
void print_summary(const std::vector<GpuRecord>& recs, int64_t batch, const std::string& math) {
  std::printf(
      "\n== batch %lld, %s: median ms (cuDNN: fastest algorithm; 'within' = workspace <= mec's)\n",
      (long long)batch, math.c_str());
  std::printf("%-6s %8s %-6s %8s %8s %8s %9s %9s %-26s %9s %-26s %8s %8s %8s\n", "layer", "mec",
              "sol", "mec_a", "mec_b", "im2col", "direct", "cudnn", "cudnn_algo", "within",
              "within_algo", "mec/cud", "mec/wtn", "best/cud");
  std::vector<double> r_any, r_within, r_best;
  std::vector<std::string> layers;
  for (const GpuRecord& r : recs)
    if (r.batch == batch && r.math == math &&
        std::find(layers.begin(), layers.end(), r.layer) == layers.end())
      layers.push_back(r.layer);
  for (const std::string& layer : layers) {
    std::map<std::string, const GpuRecord*> ours;
    const GpuRecord *best = nullptr, *within = nullptr;
    for (const GpuRecord& r : recs) {
      if (r.batch != batch || r.math != math || r.layer != layer || r.status != "ok") continue;
      if (r.algo != "cudnn") ours[r.algo] = &r;
    }
    const int64_t mec_ws = ours.count("mec") ? ours["mec"]->workspace_bytes : 0;
    for (const GpuRecord& r : recs) {
      if (r.batch != batch || r.math != math || r.layer != layer || r.status != "ok" ||
          r.algo != "cudnn")
        continue;
      if (!best || r.median_ms < best->median_ms) best = &r;
      if (r.workspace_bytes <= mec_ws && (!within || r.median_ms < within->median_ms)) within = &r;
    }
    auto ms = [&](const char* a) { return ours.count(a) ? ours[a]->median_ms : NAN; };
    const double mec = ms("mec");
    const double best_ours = std::min(ms("mec_a"), ms("mec_b"));
    std::printf(
        "%-6s %8.4f %-6s %8.4f %8.4f %8.4f %9.4f %9.4f %-26s %9.4f %-26s %8.3f %8.3f %8.3f\n",
        layer.c_str(), mec, ours.count("mec") ? ours["mec"]->variant.c_str() : "-", ms("mec_a"),
        ms("mec_b"), ms("im2col"), ms("direct"), best ? best->median_ms : NAN,
        best ? best->variant.c_str() : "-", within ? within->median_ms : NAN,
        within ? within->variant.c_str() : "-", best ? mec / best->median_ms : NAN,
        within ? mec / within->median_ms : NAN, best ? best_ours / best->median_ms : NAN);
    if (best && std::isfinite(mec)) r_any.push_back(mec / best->median_ms);
    if (within && std::isfinite(mec)) r_within.push_back(mec / within->median_ms);
    if (best && std::isfinite(best_ours)) r_best.push_back(best_ours / best->median_ms);
  }
  std::printf(
      "geomean mec/cudnn_fastest %.3f   mec/cudnn_within_mec_ws %.3f   "
      "min(mec_a,mec_b)/cudnn_fastest %.3f\n",
      geomean(r_any), geomean(r_within), geomean(r_best));
}

int parse(int argc, char** argv, Options* o) {
  std::string suite = MEC_SOURCE_DIR "/bench/shapes/paper.txt";
  std::vector<std::string> shapes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--batch") {
      o->batches.clear();
      for (auto& b : split(next())) o->batches.push_back(std::atoll(b.c_str()));
    } else if (a == "--math") {
      o->math = split(next());
    } else if (a == "--algo") {
      o->algos = split(next());
    } else if (a == "--peer") {
      o->cudnn = next() == "cudnn";
    } else if (a == "--reps") {
      o->reps = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--warmup") {
      o->warmup = std::atoi(next().c_str());
    } else if (a == "--threshold") {
      o->threshold = std::atoll(next().c_str());
    } else if (a == "--suite") {
      suite = next();
    } else if (a == "--shape") {
      shapes.push_back(next());
    } else if (a == "--json") {
      o->json = next();
    } else {
      std::fprintf(stderr,
                   "usage: mecbench_cuda [--suite FILE | --shape S ...] [--batch 1,32] "
                   "[--math fp32,tf32] [--algo mec,mec_a,mec_b,im2col,direct] [--peer cudnn] "
                   "[--reps N] [--warmup N] [--threshold T] [--json FILE]\n");
      return 2;
    }
  }
  std::string err;
  if (shapes.empty()) {
    if (!mec::read_shape_file(suite, &o->layers, &err)) {
      std::fprintf(stderr, "mecbench_cuda: %s\n", err.c_str());
      return 2;
    }
  }
  for (const std::string& s : shapes) {
    mec::NamedShape ns{s, {}};
    if (!mec::parse_shape(s, &ns.desc, &err)) {
      std::fprintf(stderr, "mecbench_cuda: %s\n", err.c_str());
      return 2;
    }
    o->layers.push_back(ns);
  }
  return 0;
}

}  // namespace
}  // namespace mecbench

int main(int argc, char** argv) {
  using namespace mecbench;
  Options opt;
  if (int rc = parse(argc, argv, &opt)) return rc;
  cudaStream_t stream;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  cudaDeviceProp prop;
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  std::vector<GpuRecord> recs;
  for (int64_t batch : opt.batches) {
    for (const mec::NamedShape& layer : opt.layers) {
      GpuProblem pr;
      pr.layer = layer.name;
      pr.desc = layer.desc;
      pr.desc.n = batch;
      const mec::Conv2dDesc& d = pr.desc;
      std::mt19937 rng(42);
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      pr.src.resize(d.src_elems());
      pr.weights.resize(d.weight_elems());
      for (float& v : pr.src) v = u(rng);
      for (float& v : pr.weights) v = u(rng);
      mec::Conv2dDesc one = d;
      one.n = 1;
      pr.truth0.resize(one.dst_elems());
      mec::reference::conv2d(one, pr.src.data(), pr.weights.data(), nullptr, pr.truth0.data());
      cudaMalloc(&pr.d_src, pr.src.size() * 4);
      cudaMalloc(&pr.d_weights, pr.weights.size() * 4);
      cudaMalloc(&pr.d_dst, size_t(d.dst_elems()) * 4);
      cudaMemcpy(pr.d_src, pr.src.data(), pr.src.size() * 4, cudaMemcpyHostToDevice);
      cudaMemcpy(pr.d_weights, pr.weights.data(), pr.weights.size() * 4, cudaMemcpyHostToDevice);
      for (const std::string& math : opt.math) {
        mec::Context ctx;
        if (mec::Context::cuda(&ctx, stream) != mec::Status::kSuccess) {
          std::fprintf(stderr, "mecbench_cuda: %s\n", mec::last_error());
          return 1;
        }
        ctx.set_allow_tf32(math == "tf32");
        if (opt.threshold >= 0) ctx.set_mec_threshold(opt.threshold);
        std::vector<GpuRecord> got;
        for (const std::string& a : opt.algos) got.push_back(run_ours(pr, a, ctx, stream, opt));
        if (opt.cudnn) {
          for (GpuRecord& r :
               run_cudnn(pr, stream, math == "tf32", opt.warmup, opt.reps, opt.max_cudnn_workspace))
            got.push_back(r);
        }
        for (GpuRecord& r : got) {
          r.layer = layer.name;
          r.shape = mec::format_shape(d);
          r.batch = batch;
          r.math = math;
          std::fprintf(
              stderr,
              "%-5s n%-3lld %-5s %-6s %-28s %-11s %9.4f ms %8.1f GF/s ws %9.2f MiB err %.2e %s\n",
              r.layer.c_str(), (long long)batch, math.c_str(), r.algo.c_str(), r.variant.c_str(),
              r.status.c_str(), r.median_ms, r.gflops, r.workspace_bytes / 1048576.0, r.max_rel_err,
              r.note.c_str());
          recs.push_back(r);
        }
      }
      cudaFree(pr.d_src);
      cudaFree(pr.d_weights);
      cudaFree(pr.d_dst);
    }
  }
  for (int64_t batch : opt.batches)
    for (const std::string& math : opt.math) print_summary(recs, batch, math);
  if (!opt.json.empty()) write_json(opt.json, recs);
  return 0;
}
