// mecbench_cuda's shared pieces: one layer's data on host and device, the
// record each timed run produces (the same JSON keys as mecbench's records,
// plus "device" and "math"), and the CUDA-event timing loop that ours and
// the cuDNN peer both go through.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mec/mec.h"

namespace mecbench {

struct GpuRecord {
  std::string layer, shape, algo, variant, math;
  std::string status = "ok";  // "ok", "unsupported" or "error"
  std::string note;
  int64_t batch = 0;
  double median_ms = 0, min_ms = 0, gflops = 0, max_rel_err = 0;
  int64_t workspace_bytes = 0, persistent_bytes = 0;
};

// One layer at one batch. Host inputs are uniform in [-1, 1]; weights HWIO.
// truth0 is the double reference for image 0 only (every image is computed
// the same way; the unit tests check whole batches).
struct GpuProblem {
  std::string layer;
  mec::Conv2dDesc desc;
  std::vector<float> src, weights, bias;
  std::vector<double> truth0;
  float *d_src = nullptr, *d_weights = nullptr, *d_bias = nullptr, *d_dst = nullptr;
};

// Poisons d_dst with NaN, runs `launch` once, checks image 0 against truth0
// (dst_to_nhwc0 converts the output's image 0 to NHWC on the host when the
// layout differs), then `warmup` untimed and `reps` timed runs, each between
// two CUDA events, enqueued back to back. Returns an empty string or the
// error. Fills median_ms, min_ms, gflops, max_rel_err.
std::string time_gpu(const GpuProblem& problem, cudaStream_t stream, int warmup, int reps,
                     const std::function<std::string()>& launch,
                     const std::function<void(const float*, float*)>& dst_to_nhwc0,
                     GpuRecord* record);

// The cuDNN peer (cudnn_peer.cc; built only when cuDNN is found): every
// forward algorithm that runs, in NHWC and NCHW, strict (CUDNN_FMA_MATH) or
// TF32 (CUDNN_TENSOR_OP_MATH). Workspaces above max_workspace are skipped.
bool cudnn_available();
std::vector<GpuRecord> run_cudnn(const GpuProblem& problem, cudaStream_t stream, bool tf32,
                                 int warmup, int reps, int64_t max_workspace);

}  // namespace mecbench
