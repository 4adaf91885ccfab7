// The CUDA backend's entry point (common/cuda_backend.h): the table libmec
// loads, and what a CUDA Context shares - the device check, the cuBLAS
// handle bound to the caller's stream, and a fixed cuBLAS workspace (32 MiB,
// NVIDIA's advice for Hopper) so that cuBLAS never allocates inside run().
#include "cuda/cuda_context.h"

#include "common/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_plans.h"
#include "cuda/mec_gemm_tile.h"
#include "mec/version.h"

namespace mec {
namespace detail {

CudaResources::~CudaResources() {
  if (cublas != nullptr || cublas_workspace != nullptr) cudaSetDevice(device);
  if (cublas != nullptr) cublasDestroy(cublas);
  if (cublas_workspace != nullptr) cudaFree(cublas_workspace);
}

}  // namespace detail

namespace cuda {
namespace {

// Default MEC threshold T on CUDA, measured on an H100 with strict fp32 on
// cv1-cv12 at batch 1 and 32 (docs/cuda.md): Solution A wins for q <= 20.
// (With TF32, A wins up to q ~ 56; the paper's GPU value was ~100.)
constexpr int64_t kCudaMecThreshold = 20;
constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;

Status open_device(void* stream, int device, std::shared_ptr<detail::CudaResources>* resources) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    if (e == cudaErrorNoDevice) return fail(Status::kUnsupported, "no CUDA GPU is visible");
    if (e == cudaErrorInsufficientDriver) {
      return fail(Status::kUnsupported,
                  "no usable CUDA GPU: no NVIDIA driver is loaded, or it is older than the "
                  "CUDA %d.%d runtime the backend was built with",
                  CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
    }
    return fail(Status::kUnsupported, "no usable CUDA GPU: cudaGetDeviceCount: %s (%s)",
                cudaGetErrorName(e), cudaGetErrorString(e));
  }
  if (count == 0) return fail(Status::kUnsupported, "no CUDA GPU is visible");
  if (device < 0 || device >= count) {
    return fail(Status::kInvalidArgument, "CUDA device %d does not exist (%d devices)", device,
                count);
  }
  auto res = std::make_shared<detail::CudaResources>();
  res->device = device;
  res->stream = static_cast<cudaStream_t>(stream);
  MEC_TRY(cuda_check(cudaSetDevice(device), "cudaSetDevice"));
  MEC_TRY(cuda_check(
      cudaDeviceGetAttribute(&res->traits.multiprocessors, cudaDevAttrMultiProcessorCount, device),
      "cudaDeviceGetAttribute"));
  for (int tf32 = 0; tf32 < 2; ++tf32) {
    for (const auto& shape :
         {std::pair<int, int>{128, 128}, {128, 96}, {128, 64}, {64, 64}, {32, 64}}) {
      res->traits.resident_blocks[tf32][gemm_tile_index(shape.first, shape.second)] =
          mec_gemm_resident_blocks(shape.first, shape.second, tf32 == 1);
    }
  }
  MEC_TRY(cublas_check(cublasCreate(&res->cublas), "cublasCreate"));
  MEC_TRY(cublas_check(cublasSetStream(res->cublas, res->stream), "cublasSetStream"));
  MEC_TRY(cublas_check(cublasSetMathMode(res->cublas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode"));
  MEC_TRY(cuda_check(cudaMalloc(&res->cublas_workspace, kCublasWorkspaceBytes),
                     "cudaMalloc of the cuBLAS workspace"));
  res->cublas_workspace_bytes = kCublasWorkspaceBytes;
  MEC_TRY(cublas_check(
      cublasSetWorkspace(res->cublas, res->cublas_workspace, res->cublas_workspace_bytes),
      "cublasSetWorkspace"));
  *resources = std::move(res);
  return Status::kSuccess;
}

}  // namespace
}  // namespace cuda
}  // namespace mec

extern "C" __attribute__((visibility("default"))) const mec::detail::CudaBackend*
mec_cuda_backend() {
  namespace cuda = mec::cuda;
  static const mec::detail::CudaBackend backend = {mec::detail::kCudaBackendRevision,
                                                   mec::version(),
                                                   cuda::kCudaMecThreshold,
                                                   cuda::open_device,
                                                   cuda::create_any_plan,
                                                   cuda::device_allocate,
                                                   cuda::device_release,
                                                   mec::last_error};
  return &backend;
}
