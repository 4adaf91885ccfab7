// mecbench's cuDNN peer (--device cuda --peer cudnn): a benchmark
// comparison only, never a dependency of libmec; compiled into mecbench only
// when CUDA is built and cuDNN is found. For NHWC (filters KRSC) and NCHW
// (filters KCRS) it tries every cudnnConvolutionFwdAlgo_t, asks for its
// workspace, and gives one runner per algorithm and layout that accepts the
// problem (variant "<algo>_<layout>"), its workspace allocated outside the
// timing (acquire/release: only while it is timed). Strict fp32 is
// CUDNN_FMA_MATH (CUDNN_DEFAULT_MATH would allow TF32 on Hopper); tf32 is
// CUDNN_TENSOR_OP_MATH. An algorithm that fails its first run with
// NOT_SUPPORTED is reported "unsupported".
#include <cudnn.h>

#include <cstdio>

#include "cuda_device.h"

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
  Handle() {
    if (cudnnCreate(&h) != CUDNN_STATUS_SUCCESS) h = nullptr;
  }
};

// One layout's inputs and descriptors, shared by its algorithms' runners.
struct Layout {
  bool nhwc = true;
  float* src = nullptr;
  float* weights = nullptr;
  float* dst = nullptr;
  cudnnTensorDescriptor_t xd = nullptr, yd = nullptr;
  cudnnFilterDescriptor_t fd = nullptr;
  cudnnConvolutionDescriptor_t cd = nullptr;
  ~Layout() {
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyFilterDescriptor(fd);
    cudnnDestroyConvolutionDescriptor(cd);
    cudaFree(src);
    cudaFree(weights);
    cudaFree(dst);
  }
};

std::string cudnn_error(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? std::string() : cudnnGetErrorString(s);
}

std::shared_ptr<Layout> make_layout(const Problem& pr, bool nhwc, bool tf32, std::string* err) {
  const mec::Conv2dDesc& d = pr.desc;
  const int64_t cg = d.c / d.groups;
  auto l = std::make_shared<Layout>();
  l->nhwc = nhwc;
  // Inputs in this layout: NCHW src and KRSC/KCRS weights converted on the host.
  std::vector<float> src = pr.src, w(pr.weights.size());
  for (int64_t i = 0; i < d.r; ++i)
    for (int64_t j = 0; j < d.s; ++j)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t ko = 0; ko < d.k; ++ko) {
          const float v = pr.weights[((i * d.s + j) * cg + ci) * d.k + ko];
          w[nhwc ? ((ko * d.r + i) * d.s + j) * cg + ci : ((ko * cg + ci) * d.r + i) * d.s + j] = v;
        }
  if (!nhwc) {
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t y = 0; y < d.h; ++y)
        for (int64_t x = 0; x < d.w; ++x)
          for (int64_t c = 0; c < d.c; ++c)
            src[((n * d.c + c) * d.h + y) * d.w + x] = pr.src[((n * d.h + y) * d.w + x) * d.c + c];
  }
  *err = cuda_error(cudaMalloc(&l->src, src.size() * 4), "cudaMalloc");
  if (err->empty()) *err = cuda_error(cudaMalloc(&l->weights, w.size() * 4), "cudaMalloc");
  if (err->empty()) *err = cuda_error(cudaMalloc(&l->dst, d.dst_elems() * 4), "cudaMalloc");
  if (err->empty())
    *err =
        cuda_error(cudaMemcpy(l->src, src.data(), src.size() * 4, cudaMemcpyHostToDevice), "copy");
  if (err->empty())
    *err =
        cuda_error(cudaMemcpy(l->weights, w.data(), w.size() * 4, cudaMemcpyHostToDevice), "copy");
  if (!err->empty()) return nullptr;
  const cudnnTensorFormat_t fmt = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  cudnnCreateTensorDescriptor(&l->xd);
  cudnnCreateTensorDescriptor(&l->yd);
  cudnnCreateFilterDescriptor(&l->fd);
  cudnnCreateConvolutionDescriptor(&l->cd);
  cudnnStatus_t s = cudnnSetTensor4dDescriptor(l->xd, fmt, CUDNN_DATA_FLOAT, int(d.n), int(d.c),
                                               int(d.h), int(d.w));
  if (s == CUDNN_STATUS_SUCCESS)
    s = cudnnSetTensor4dDescriptor(l->yd, fmt, CUDNN_DATA_FLOAT, int(d.n), int(d.k), int(d.p()),
                                   int(d.q()));
  if (s == CUDNN_STATUS_SUCCESS)
    s = cudnnSetFilter4dDescriptor(l->fd, CUDNN_DATA_FLOAT, fmt, int(d.k), int(cg), int(d.r),
                                   int(d.s));
  if (s == CUDNN_STATUS_SUCCESS)
    s = cudnnSetConvolution2dDescriptor(l->cd, int(d.pad_top), int(d.pad_left), int(d.stride_h),
                                        int(d.stride_w), int(d.dilation_h), int(d.dilation_w),
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
  if (s == CUDNN_STATUS_SUCCESS) s = cudnnSetConvolutionGroupCount(l->cd, int(d.groups));
  if (s == CUDNN_STATUS_SUCCESS)
    s = cudnnSetConvolutionMathType(l->cd, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);
  *err = cudnn_error(s);
  return err->empty() ? l : nullptr;
}

// The runner's mutable state: its workspace while it is timed.
struct Workspace {
  void* data = nullptr;
  size_t bytes = 0;
};

}  // namespace

std::vector<Runner> prepare_cudnn(const Problem& pr, const Options& options) {
  std::vector<Runner> out;
  const mec::Conv2dDesc& d = pr.desc;
  auto unsupported = [&](const std::string& variant, const std::string& why) {
    Runner runner;
    runner.record = new_record(pr, "cudnn", options);
    runner.record.variant = variant;
    runner.record.status = "unsupported";
    runner.record.note = why;
    return runner;
  };
  if (d.pad_top != d.pad_bottom || d.pad_left != d.pad_right) {
    out.push_back(unsupported("", "cuDNN takes symmetric padding only"));
    return out;
  }
  static Handle handle;
  if (!handle.h) {
    out.push_back(unsupported("", "cudnnCreate failed"));
    return out;
  }
  cudnnSetStream(handle.h, bench_stream());
  const int64_t p = d.p(), q = d.q();
  for (bool nhwc : {true, false}) {
    const std::string layout_name = nhwc ? "_nhwc" : "_nchw";
    std::string err;
    std::shared_ptr<Layout> l = make_layout(pr, nhwc, options.math == "tf32", &err);
    if (!l) {
      out.push_back(unsupported(layout_name.substr(1), err));
      continue;
    }
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
      const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(a);
      size_t bytes = 0;
      if (cudnnGetConvolutionForwardWorkspaceSize(handle.h, l->xd, l->fd, l->cd, l->yd, algo,
                                                  &bytes) != CUDNN_STATUS_SUCCESS) {
        continue;  // this algorithm does not take the problem
      }
      Runner runner;
      Record& r = runner.record;
      r = new_record(pr, "cudnn", options);
      r.variant = std::string(algo_name(algo)) + layout_name;
      r.workspace_bytes = int64_t(bytes);
      if (int64_t(bytes) > options.max_peer_workspace) {
        r.status = "unsupported";
        r.note = "workspace over the limit";
        out.push_back(runner);
        continue;
      }
      auto ws = std::make_shared<Workspace>();
      ws->bytes = bytes;
      runner.dst = l->dst;
      runner.acquire = [ws]() -> std::string {
        if (ws->bytes == 0) return "";
        return cuda_error(cudaMalloc(&ws->data, ws->bytes), "cudaMalloc cuDNN workspace");
      };
      runner.release = [ws]() {
        cudaFree(ws->data);
        ws->data = nullptr;
      };
      runner.run = [l, ws, algo]() -> std::string {
        const float alpha = 1.0f, beta = 0.0f;
        return cudnn_error(cudnnConvolutionForward(handle.h, &alpha, l->xd, l->src, l->fd,
                                                   l->weights, l->cd, algo, ws->data, ws->bytes,
                                                   &beta, l->yd, l->dst));
      };
      runner.fetch0 = [l, p, q, k = d.k](float* host) -> std::string {
        std::vector<float> image(p * q * k);
        const std::string e = cuda_error(
            cudaMemcpy(image.data(), l->dst, image.size() * 4, cudaMemcpyDeviceToHost), "copy");
        if (!e.empty()) return e;
        for (int64_t y = 0; y < p; ++y)
          for (int64_t x = 0; x < q; ++x)
            for (int64_t c = 0; c < k; ++c)
              host[(y * q + x) * k + c] =
                  l->nhwc ? image[(y * q + x) * k + c] : image[(c * p + y) * q + x];
        return "";
      };
      out.push_back(runner);
    }
  }
  return out;
}

}  // namespace mecbench
