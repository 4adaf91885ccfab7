// mecbench's CUDA pieces shared by cuda_device.cc (ours, the timing loop)
// and peer_cudnn.cc: the device copies of a problem's inputs and the one
// stream everything is enqueued on.
#pragma once

#include <cuda_runtime.h>

#include "bench.h"

namespace mecbench {

// src (NHWC), weights (HWIO) and, when a backward pass runs, ddst (NHWC) on
// device 0; freed with the last Problem copy holding them.
struct DeviceInputs {
  float* src = nullptr;
  float* weights = nullptr;
  float* ddst = nullptr;
  ~DeviceInputs();
};

// Elements of the current pass's output that are checked (Problem::truth):
// image 0 of dst or dsrc, or all of dweights.
int64_t checked_elems(const Problem& problem);

// The stream every CUDA runner enqueues on (created once, never destroyed).
cudaStream_t bench_stream();

// "" or "what: CUDA error text" (clears the sticky-free last error).
std::string cuda_error(cudaError_t e, const char* what);

}  // namespace mecbench
