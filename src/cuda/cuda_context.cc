// Context::cuda(): checks the device, creates the cuBLAS handle on the
// caller's stream and gives it a fixed workspace (32 MiB, NVIDIA's advice
// for Hopper) so that cuBLAS never allocates inside run().
#include "cuda/cuda_context.h"

#include "cuda/cuda_check.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

CudaResources::~CudaResources() {
  if (cublas != nullptr || cublas_workspace != nullptr) cudaSetDevice(device);
  if (cublas != nullptr) cublasDestroy(cublas);
  if (cublas_workspace != nullptr) cudaFree(cublas_workspace);
}

}  // namespace detail

namespace {
// Default MEC threshold T on CUDA, measured on an H100 with strict fp32 on
// cv1-cv12 at batch 1 and 32 (docs/cuda.md): Solution A wins for q <= 20.
// (With TF32, A wins up to q ~ 56; the paper's GPU value was ~100.)
constexpr int64_t kCudaMecThreshold = 20;
constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;
}  // namespace

Status Context::cuda(Context* context, void* stream, int device) {
  using cuda::cublas_check;
  using cuda::cuda_check;
  if (context == nullptr) return fail(Status::kInvalidArgument, "context output pointer is null");
  int count = 0;
  MEC_TRY(cuda_check(cudaGetDeviceCount(&count), "cudaGetDeviceCount"));
  if (device < 0 || device >= count) {
    return fail(Status::kInvalidArgument, "CUDA device %d does not exist (%d devices)", device,
                count);
  }
  auto res = std::make_shared<detail::CudaResources>();
  res->device = device;
  res->stream = static_cast<cudaStream_t>(stream);
  MEC_TRY(cuda_check(cudaSetDevice(device), "cudaSetDevice"));
  MEC_TRY(cuda_check(
      cudaDeviceGetAttribute(&res->multiprocessors, cudaDevAttrMultiProcessorCount, device),
      "cudaDeviceGetAttribute"));
  MEC_TRY(cublas_check(cublasCreate(&res->cublas), "cublasCreate"));
  MEC_TRY(cublas_check(cublasSetStream(res->cublas, res->stream), "cublasSetStream"));
  MEC_TRY(cublas_check(cublasSetMathMode(res->cublas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode"));
  MEC_TRY(cuda_check(cudaMalloc(&res->cublas_workspace, kCublasWorkspaceBytes),
                     "cudaMalloc of the cuBLAS workspace"));
  res->cublas_workspace_bytes = kCublasWorkspaceBytes;
  MEC_TRY(cublas_check(
      cublasSetWorkspace(res->cublas, res->cublas_workspace, res->cublas_workspace_bytes),
      "cublasSetWorkspace"));

  Context ctx;
  ctx.device_ = Device::kCuda;
  ctx.threads_ = 1;
  ctx.mec_threshold_ = kCudaMecThreshold;
  ctx.device_index_ = device;
  ctx.stream_ = stream;
  ctx.cuda_ = std::move(res);
  *context = std::move(ctx);
  return Status::kSuccess;
}

}  // namespace mec
