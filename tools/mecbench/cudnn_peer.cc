// The cuDNN peer of mecbench_cuda: a benchmark comparison only, never a
// dependency of libmec. For NHWC (filters KRSC) and NCHW (filters KCRS) it
// tries every cudnnConvolutionFwdAlgo_t, asks for its workspace, and times
// each one that accepts the problem, with its workspace allocated outside
// the timing. Strict fp32 is CUDNN_FMA_MATH (CUDNN_DEFAULT_MATH would allow
// TF32 on Hopper); TF32 runs use CUDNN_TENSOR_OP_MATH.
#include <cudnn.h>

#include <cstdio>

#include "cuda_bench.h"

namespace mecbench {
namespace {

const char* algo_name(cudnnConvolutionFwdAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM:
      return "implicit_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM:
      return "implicit_precomp_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM:
      return "gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT:
      return "direct";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT:
      return "fft";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING:
      return "fft_tiling";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD:
      return "winograd";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED:
      return "winograd_nonfused";
    default:
      return "unknown";
  }
}

struct Handle {
  cudnnHandle_t h = nullptr;
  ~Handle() {
    if (h) cudnnDestroy(h);
  }
};

}  // namespace

bool cudnn_available() { return true; }

std::vector<GpuRecord> run_cudnn(const GpuProblem& pr, cudaStream_t stream, bool tf32, int warmup,
                                 int reps, int64_t max_workspace) {
  std::vector<GpuRecord> out;
  const mec::Conv2dDesc& d = pr.desc;
  if (d.pad_top != d.pad_bottom || d.pad_left != d.pad_right) return out;  // cuDNN: symmetric only
  static Handle handle;
  if (!handle.h && cudnnCreate(&handle.h) != CUDNN_STATUS_SUCCESS) return out;
  cudnnSetStream(handle.h, stream);
  const int64_t cg = d.c / d.groups, p = d.p(), q = d.q();

  for (bool nhwc : {true, false}) {
    // Inputs in this layout: NCHW src and KCRS weights are converted on the host.
    std::vector<float> src = pr.src, w(pr.weights.size());
    for (int64_t i = 0; i < d.r; ++i)
      for (int64_t j = 0; j < d.s; ++j)
        for (int64_t ci = 0; ci < cg; ++ci)
          for (int64_t ko = 0; ko < d.k; ++ko) {
            const float v = pr.weights[((i * d.s + j) * cg + ci) * d.k + ko];
            w[nhwc ? ((ko * d.r + i) * d.s + j) * cg + ci : ((ko * cg + ci) * d.r + i) * d.s + j] =
                v;
          }
    if (!nhwc) {
      for (int64_t n = 0; n < d.n; ++n)
        for (int64_t y = 0; y < d.h; ++y)
          for (int64_t x = 0; x < d.w; ++x)
            for (int64_t c = 0; c < d.c; ++c)
              src[((n * d.c + c) * d.h + y) * d.w + x] =
                  pr.src[((n * d.h + y) * d.w + x) * d.c + c];
    }
    float *d_src = nullptr, *d_w = nullptr;
    cudaMalloc(&d_src, src.size() * 4);
    cudaMalloc(&d_w, w.size() * 4);
    cudaMemcpy(d_src, src.data(), src.size() * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(d_w, w.data(), w.size() * 4, cudaMemcpyHostToDevice);

    const cudnnTensorFormat_t fmt = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t fd;
    cudnnConvolutionDescriptor_t cd;
    cudnnCreateTensorDescriptor(&xd);
    cudnnCreateTensorDescriptor(&yd);
    cudnnCreateFilterDescriptor(&fd);
    cudnnCreateConvolutionDescriptor(&cd);
    cudnnSetTensor4dDescriptor(xd, fmt, CUDNN_DATA_FLOAT, int(d.n), int(d.c), int(d.h), int(d.w));
    cudnnSetTensor4dDescriptor(yd, fmt, CUDNN_DATA_FLOAT, int(d.n), int(d.k), int(p), int(q));
    cudnnSetFilter4dDescriptor(fd, CUDNN_DATA_FLOAT, fmt, int(d.k), int(cg), int(d.r), int(d.s));
    cudnnSetConvolution2dDescriptor(cd, int(d.pad_top), int(d.pad_left), int(d.stride_h),
                                    int(d.stride_w), int(d.dilation_h), int(d.dilation_w),
                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
    cudnnSetConvolutionGroupCount(cd, int(d.groups));
    cudnnSetConvolutionMathType(cd, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);

    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
      const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(a);
      GpuRecord rec;
      rec.algo = "cudnn";
      rec.variant = std::string(algo_name(algo)) + (nhwc ? "_nhwc" : "_nchw");
      size_t ws = 0;
      cudnnStatus_t st =
          cudnnGetConvolutionForwardWorkspaceSize(handle.h, xd, fd, cd, yd, algo, &ws);
      if (st != CUDNN_STATUS_SUCCESS) continue;  // this algorithm does not take the problem
      if (int64_t(ws) > max_workspace) {
        rec.status = "unsupported";
        rec.note = "workspace " + std::to_string(ws) + " bytes over the limit";
        rec.workspace_bytes = int64_t(ws);
        out.push_back(rec);
        continue;
      }
      void* d_ws = nullptr;
      if (ws > 0 && cudaMalloc(&d_ws, ws) != cudaSuccess) {
        cudaGetLastError();
        continue;
      }
      rec.workspace_bytes = int64_t(ws);
      const float alpha = 1.0f, beta = 0.0f;
      auto launch = [&]() -> std::string {
        const cudnnStatus_t s = cudnnConvolutionForward(handle.h, &alpha, xd, d_src, fd, d_w, cd,
                                                        algo, d_ws, ws, &beta, yd, pr.d_dst);
        return s == CUDNN_STATUS_SUCCESS ? std::string() : cudnnGetErrorString(s);
      };
      // Bias is not applied by cudnnConvolutionForward: image 0 is checked
      // against the truth minus the bias.
      auto to_nhwc0 = [&](const float* image0, float* nhwc0) {
        for (int64_t y = 0; y < p; ++y)
          for (int64_t x = 0; x < q; ++x)
            for (int64_t k = 0; k < d.k; ++k) {
              const int64_t o = (y * q + x) * d.k + k;
              const float v = nhwc ? image0[o] : image0[(k * p + y) * q + x];
              nhwc0[o] = v + (pr.bias.empty() ? 0.0f : pr.bias[k]);
            }
      };
      const std::string err = time_gpu(pr, stream, warmup, reps, launch, to_nhwc0, &rec);
      if (!err.empty()) {
        if (rec.median_ms == 0 && err.find("NOT_SUPPORTED") != std::string::npos) {
          cudaFree(d_ws);
          continue;
        }
        rec.status = "error";
        rec.note = err;
      }
      out.push_back(rec);
      cudaFree(d_ws);
    }
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyFilterDescriptor(fd);
    cudnnDestroyConvolutionDescriptor(cd);
    cudaFree(d_src);
    cudaFree(d_w);
  }
  return out;
}

}  // namespace mecbench
