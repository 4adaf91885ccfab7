// mecbench's CUDA pieces shared by cuda_device.cc (ours, the timing loop)
// and peer_cudnn.cc: the device copies of a problem's inputs and the one
// stream everything is enqueued on.
#pragma once

#include <cuda_runtime.h>

#include "bench.h"

namespace mecbench {

// src (NHWC) and weights (HWIO) on device 0; freed with the last Problem
// copy holding them.
struct DeviceInputs {
  float* src = nullptr;
  float* weights = nullptr;
  ~DeviceInputs();
};

// The stream every CUDA runner enqueues on (created once, never destroyed).
cudaStream_t bench_stream();

// "" or "what: CUDA error text" (clears the sticky-free last error).
std::string cuda_error(cudaError_t e, const char* what);

}  // namespace mecbench
