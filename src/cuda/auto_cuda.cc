// kAuto on CUDA (common/auto_select.h): the candidates, their ranking and
// the timer of the measured mode.
//
// The default ranking is an order, not yet a fitted model: MEC first - on
// an H100 it is our fastest algorithm on most layers at batch 1 and the
// one with the smallest workspace (docs/cuda.md) - then Winograd (3x3,
// stride 1), im2col, FFT and direct, which needs no workspace. Within a
// workspace limit the first that fits is taken. AutoMode::kMeasure times
// every candidate that fits on the context's stream instead. The backward
// passes rank MEC, im2col and direct the same way, except that MEC's and
// im2col's products over many small groups (depthwise) rank behind direct's
// one kernel: an order by launches, not a fitted model either.
#include <algorithm>
#include <limits>

#include "common/auto_select.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"
#include "cuda/cuda_plans.h"

namespace mec {
namespace cuda {
namespace {

// Relative cost per multiply-add: the order above.
double predict(const Conv2dDesc& d, const detail::AutoCandidate& candidate, const Context&) {
  const double macs = double(d.n) * double(d.p()) * double(d.q()) * double(d.k) * double(d.r) *
                      double(d.s) * double(d.c / d.groups);
  const bool winograd_shape = d.r == 3 && d.s == 3 && d.stride_h == 1 && d.stride_w == 1 &&
                              d.dilation_h == 1 && d.dilation_w == 1;
  switch (candidate.algorithm) {
    case Algorithm::kMec:
      return macs;
    case Algorithm::kWinogradF2:
      return winograd_shape ? 1.5 * macs : std::numeric_limits<double>::infinity();
    case Algorithm::kIm2col:
      return 2.0 * macs;
    case Algorithm::kFft:
      return 4.0 * macs;
    case Algorithm::kDirect:
      return 8.0 * macs;
    default:
      return std::numeric_limits<double>::infinity();
  }
}

// Backward passes: the forward order, direct first where the lowered
// methods would issue a product per group of a few channels.
double predict_backward(const Conv2dDesc& d, const detail::AutoCandidate& candidate,
                        const Context& context) {
  const double seconds = predict(d, candidate, context);
  const bool many_small_groups = d.groups > 8 && d.c / d.groups < 8;
  return many_small_groups && candidate.algorithm != Algorithm::kDirect ? 16.0 * seconds : seconds;
}

// The fastest of three runs after a warm-up, timed by CUDA events on the
// context's stream, on device buffers allocated and freed here: three
// tensors as large as the largest of the pass (src, weights, dst), bound to
// the run slots of the plan's pass (PlanImpl::run).
Status measure(const detail::PlanImpl& plan, const Context& context, double give_up,
               double* seconds) {
  const Conv2dDesc& d = plan.desc();
  const size_t largest = size_t(std::max({d.src_elems(), d.weight_elems(), d.dst_elems()}));
  const size_t floats = 3 * largest;
  const size_t bytes = floats * sizeof(float) + plan.workspace_bytes() + 256;
  const cudaStream_t stream = context.cuda_resources()->stream;
  char* memory = nullptr;
  if (cudaMalloc(&memory, bytes) != cudaSuccess) {
    cudaGetLastError();
    return fail(Status::kOutOfMemory, "auto: cannot allocate %zu device bytes to time %s", bytes,
                plan.variant().c_str());
  }
  float* in = reinterpret_cast<float*>(memory);  // src, or ddst for backward data
  float* second = in + largest;                  // weights, or ddst for backward weights
  float* out = second + largest;
  const bool reads_weights = plan.pass() != Pass::kBackwardWeights;
  const float* second_slot = reads_weights && plan.has_packed_weights() ? nullptr : second;
  char* workspace = memory + (floats * sizeof(float) + 255) / 256 * 256;
  cudaEvent_t start = nullptr, stop = nullptr;
  Status st = cuda_check(cudaMemsetAsync(memory, 0, bytes, stream), "cudaMemsetAsync");
  if (st == Status::kSuccess) st = cuda_check(cudaEventCreate(&start), "cudaEventCreate");
  if (st == Status::kSuccess) st = cuda_check(cudaEventCreate(&stop), "cudaEventCreate");
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 4 && st == Status::kSuccess; ++i) {
    st = cuda_check(cudaEventRecord(start, stream), "cudaEventRecord");
    if (st == Status::kSuccess) {
      st = plan.run(in, second_slot, nullptr, out, workspace);
    }
    if (st == Status::kSuccess) st = cuda_check(cudaEventRecord(stop, stream), "cudaEventRecord");
    if (st == Status::kSuccess) st = cuda_check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    if (st == Status::kSuccess) st = cuda_check(cudaEventElapsedTime(&ms, start, stop), "timing");
    if (st != Status::kSuccess) break;
    if (i > 0) best = std::min(best, ms * 1e-3);  // run 0 warms up
    if (ms * 1e-3 > give_up) {
      best = ms * 1e-3;
      break;
    }
  }
  if (start != nullptr) cudaEventDestroy(start);
  if (stop != nullptr) cudaEventDestroy(stop);
  cudaStreamSynchronize(stream);
  cudaFree(memory);
  if (st == Status::kSuccess) *seconds = best;
  return st;
}

}  // namespace

Status create_auto_backward(const Conv2dDesc& desc, Pass pass, Algorithm, const Context& context,
                            std::unique_ptr<detail::PlanImpl>* impl) {
  const detail::AutoDevice device = {
      "CUDA",
      {{Algorithm::kMec, 0}, {Algorithm::kIm2col, 0}, {Algorithm::kDirect, 0}},
      pass,
      create_any_plan,
      predict_backward,
      std::numeric_limits<double>::infinity(),
      measure};
  return detail::create_auto(desc, context, device, impl);
}

Status create_auto(const Conv2dDesc& desc, Algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl) {
  static const detail::AutoDevice device = {"CUDA",
                                            {{Algorithm::kMec, 0},
                                             {Algorithm::kWinogradF2, 0},
                                             {Algorithm::kIm2col, 0},
                                             {Algorithm::kFft, 0},
                                             {Algorithm::kDirect, 0}},
                                            Pass::kForward,
                                            create_any_plan,
                                            predict,
                                            // an order, not a model: time all that fit
                                            std::numeric_limits<double>::infinity(),
                                            measure};
  return detail::create_auto(desc, context, device, impl);
}

}  // namespace cuda
}  // namespace mec
