// Internal: what a CUDA Context shares between its copies and the plans made
// from it. Created once by Context::cuda() through the backend's
// open_device() (cuda_context.cc: device check, cuBLAS handle bound to the
// stream, cuBLAS's own workspace handed to it so that no GEMM allocates),
// destroyed with the last copy. cuFFT handles are per shape, so
// they live in the plans that need them, not here.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "cuda/mec_policy.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

struct CudaResources {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  void* cublas_workspace = nullptr;
  size_t cublas_workspace_bytes = 0;
  cuda::CudaDeviceTraits traits;  // what the MEC policy reads of the device

  CudaResources() = default;
  CudaResources(const CudaResources&) = delete;
  CudaResources& operator=(const CudaResources&) = delete;
  ~CudaResources();
};

}  // namespace detail

namespace cuda {

// The device memory of mec::conv2d() (common/device_memory.h): `bytes` (> 0)
// on the context's device, kOutOfMemory with the CUDA message when refused.
Status device_allocate(const Context& context, size_t bytes, void** ptr);
// Waits for the context's stream, then frees `ptr` (null is fine).
Status device_release(const Context& context, void* ptr);

}  // namespace cuda
}  // namespace mec
