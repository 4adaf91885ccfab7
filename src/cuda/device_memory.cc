// The device memory of mec::conv2d() on a CUDA context, behind the backend
// seam (common/device_memory.h, common/cuda_backend.h): plain cudaMalloc /
// cudaFree on the context's device. A failed cudaMalloc leaves its error as the
// thread's "last error", which a later cudaGetLastError() after a kernel
// launch would report as the launch's failure, so it is cleared here.
#include "cuda/cuda_check.h"
#include "cuda/cuda_context.h"

namespace mec {
namespace cuda {

Status device_allocate(const Context& context, size_t bytes, void** ptr) {
  *ptr = nullptr;
  if (!context.cuda_resources()) {
    return fail(Status::kInvalidArgument, "CUDA context has no resources: use Context::cuda()");
  }
  MEC_TRY(cuda_check(cudaSetDevice(context.cuda_resources()->device), "cudaSetDevice"));
  const cudaError_t e = cudaMalloc(ptr, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();  // not sticky: clear it so later launches are not blamed
    *ptr = nullptr;
    const Status st = e == cudaErrorMemoryAllocation ? Status::kOutOfMemory : Status::kBackendError;
    return fail(st, "cannot allocate %zu bytes of device workspace: CUDA error %d (%s): %s", bytes,
                int(e), cudaGetErrorName(e), cudaGetErrorString(e));
  }
  return Status::kSuccess;
}

Status device_release(const Context& context, void* ptr) {
  if (!context.cuda_resources()) return Status::kSuccess;
  const Status sync = cuda_check(cudaStreamSynchronize(context.cuda_resources()->stream),
                                 "cudaStreamSynchronize before freeing the workspace");
  const Status freed =
      ptr != nullptr ? cuda_check(cudaFree(ptr), "cudaFree of the workspace") : Status::kSuccess;
  return sync != Status::kSuccess ? sync : freed;
}

}  // namespace cuda
}  // namespace mec
