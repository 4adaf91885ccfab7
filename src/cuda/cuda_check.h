// Internal: turning CUDA runtime, cuBLAS and cuFFT error codes into the
// library's statuses, with the failing call and the library's own message in
// last_error(). Out-of-memory codes map to kOutOfMemory, everything else to
// kBackendError. Use MEC_TRY to return early from a chain of calls:
//   MEC_TRY(cuda_check(cudaMalloc(&p, n), "cudaMalloc of packed weights"));
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "common/status_detail.h"

namespace mec {
namespace cuda {

inline Status cuda_check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::kSuccess;
  const Status st = e == cudaErrorMemoryAllocation ? Status::kOutOfMemory : Status::kBackendError;
  return fail(st, "%s: CUDA error %d (%s): %s", what, int(e), cudaGetErrorName(e),
              cudaGetErrorString(e));
}

// After a kernel launch: reports launch-configuration errors without
// synchronising.
inline Status launch_check(const char* kernel) { return cuda_check(cudaGetLastError(), kernel); }

inline Status cublas_check(cublasStatus_t e, const char* what) {
  if (e == CUBLAS_STATUS_SUCCESS) return Status::kSuccess;
  const Status st = e == CUBLAS_STATUS_ALLOC_FAILED ? Status::kOutOfMemory : Status::kBackendError;
  return fail(st, "%s: cuBLAS error %d (%s): %s", what, int(e), cublasGetStatusName(e),
              cublasGetStatusString(e));
}

}  // namespace cuda
}  // namespace mec
