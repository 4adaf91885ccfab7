// mecbench's cuDNN peer (--device cuda --peer cudnn): a benchmark
// comparison only, never a dependency of libmec; compiled into mecbench only
// when CUDA is built and cuDNN is found. For NHWC (filters KRSC) and NCHW
// (filters KCRS) it tries every cudnnConvolutionFwdAlgo_t (backward passes:
// peer_cudnn_backward.cc), asks for its workspace, and gives one runner per
// algorithm and layout that accepts the problem (variant "<algo>_<layout>"),
// its workspace allocated outside the timing (acquire/release: only while it
// is timed). Strict fp32 is CUDNN_FMA_MATH (CUDNN_DEFAULT_MATH would allow
// TF32 on Hopper); tf32 is CUDNN_TENSOR_OP_MATH. An algorithm that fails its
// first run with NOT_SUPPORTED is reported "unsupported".
#include "peer_cudnn.h"

#include <cstdio>
#include <vector>

namespace mecbench {
namespace cudnn_peer {
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

// An NHWC tensor (n x h x w x c) in the layout, on the device.
std::string upload_activations(const std::vector<float>& nhwc, int64_t n, int64_t h, int64_t w,
                               int64_t c, bool to_nhwc, float** device) {
  std::vector<float> host = nhwc;
  if (!to_nhwc) {
    for (int64_t b = 0; b < n; ++b)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
          for (int64_t ch = 0; ch < c; ++ch)
            host[((b * c + ch) * h + y) * w + x] = nhwc[((b * h + y) * w + x) * c + ch];
  }
  std::string err = cuda_error(cudaMalloc(device, host.size() * 4), "cudaMalloc");
  if (err.empty())
    err = cuda_error(cudaMemcpy(*device, host.data(), host.size() * 4, cudaMemcpyHostToDevice),
                     "copy");
  return err;
}

// Index of weight (ko, i, j, ci) in KRSC (nhwc) or KCRS.
int64_t filter_index(const mec::Conv2dDesc& d, bool nhwc, int64_t ko, int64_t i, int64_t j,
                     int64_t ci) {
  const int64_t cg = d.c / d.groups;
  return nhwc ? ((ko * d.r + i) * d.s + j) * cg + ci : ((ko * cg + ci) * d.r + i) * d.s + j;
}

}  // namespace

cudnnHandle_t handle() {
  static cudnnHandle_t h = [] {
    cudnnHandle_t created = nullptr;
    if (cudnnCreate(&created) != CUDNN_STATUS_SUCCESS) return cudnnHandle_t(nullptr);
    cudnnSetStream(created, bench_stream());
    return created;
  }();
  return h;
}

std::string cudnn_error(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? std::string() : cudnnGetErrorString(s);
}

Layout::~Layout() {
  cudnnDestroyTensorDescriptor(xd);
  cudnnDestroyTensorDescriptor(yd);
  cudnnDestroyFilterDescriptor(fd);
  cudnnDestroyConvolutionDescriptor(cd);
  cudaFree(src);
  cudaFree(weights);
  cudaFree(ddst);
  cudaFree(out);
}

std::shared_ptr<Layout> make_layout(const Problem& pr, bool nhwc, bool tf32, std::string* err) {
  const mec::Conv2dDesc& d = pr.desc;
  const int64_t cg = d.c / d.groups;
  auto l = std::make_shared<Layout>();
  l->nhwc = nhwc;
  const bool reads_src = pr.pass != mec::Pass::kBackwardData;
  const bool reads_weights = pr.pass != mec::Pass::kBackwardWeights;
  if (reads_src) *err = upload_activations(pr.src, d.n, d.h, d.w, d.c, nhwc, &l->src);
  if (err->empty() && pr.pass != mec::Pass::kForward)
    *err = upload_activations(pr.ddst, d.n, d.p(), d.q(), d.k, nhwc, &l->ddst);
  if (err->empty() && reads_weights) {
    std::vector<float> w(pr.weights.size());
    for (int64_t i = 0; i < d.r; ++i)
      for (int64_t j = 0; j < d.s; ++j)
        for (int64_t ci = 0; ci < cg; ++ci)
          for (int64_t ko = 0; ko < d.k; ++ko)
            w[filter_index(d, nhwc, ko, i, j, ci)] =
                pr.weights[((i * d.s + j) * cg + ci) * d.k + ko];
    *err = cuda_error(cudaMalloc(&l->weights, w.size() * 4), "cudaMalloc");
    if (err->empty())
      *err = cuda_error(cudaMemcpy(l->weights, w.data(), w.size() * 4, cudaMemcpyHostToDevice),
                        "copy");
  }
  if (err->empty()) *err = cuda_error(cudaMalloc(&l->out, output_elems(pr) * 4), "cudaMalloc");
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

std::string fetch_checked(const Problem& pr, const Layout& l, float* host) {
  const mec::Conv2dDesc& d = pr.desc;
  if (pr.pass == mec::Pass::kBackwardWeights) {
    const int64_t cg = d.c / d.groups;
    std::vector<float> w(d.weight_elems());
    const std::string e =
        cuda_error(cudaMemcpy(w.data(), l.out, w.size() * 4, cudaMemcpyDeviceToHost), "copy");
    if (!e.empty()) return e;
    for (int64_t i = 0; i < d.r; ++i)
      for (int64_t j = 0; j < d.s; ++j)
        for (int64_t ci = 0; ci < cg; ++ci)
          for (int64_t ko = 0; ko < d.k; ++ko)
            host[((i * d.s + j) * cg + ci) * d.k + ko] = w[filter_index(d, l.nhwc, ko, i, j, ci)];
    return "";
  }
  const bool data = pr.pass == mec::Pass::kBackwardData;
  const int64_t h = data ? d.h : d.p(), w = data ? d.w : d.q(), c = data ? d.c : d.k;
  std::vector<float> image(h * w * c);
  const std::string e =
      cuda_error(cudaMemcpy(image.data(), l.out, image.size() * 4, cudaMemcpyDeviceToHost), "copy");
  if (!e.empty()) return e;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t ch = 0; ch < c; ++ch)
        host[(y * w + x) * c + ch] =
            l.nhwc ? image[(y * w + x) * c + ch] : image[(ch * h + y) * w + x];
  return "";
}

Runner make_runner(const Problem& pr, const Options& options, const std::string& variant,
                   const std::shared_ptr<Layout>& l, size_t bytes,
                   std::function<cudnnStatus_t(void*, size_t)> call) {
  struct Workspace {
    void* data = nullptr;
    size_t bytes = 0;
  };
  Runner runner;
  Record& r = runner.record;
  r = new_record(pr, "cudnn", options);
  r.variant = variant;
  r.workspace_bytes = int64_t(bytes);
  if (int64_t(bytes) > options.max_peer_workspace) {
    r.status = "unsupported";
    r.note = "workspace over the limit";
    return runner;
  }
  auto ws = std::make_shared<Workspace>();
  ws->bytes = bytes;
  runner.dst = l->out;
  runner.acquire = [ws]() -> std::string {
    if (ws->bytes == 0) return "";
    return cuda_error(cudaMalloc(&ws->data, ws->bytes), "cudaMalloc cuDNN workspace");
  };
  runner.release = [ws]() {
    cudaFree(ws->data);
    ws->data = nullptr;
  };
  runner.run = [l, ws, call]() -> std::string { return cudnn_error(call(ws->data, ws->bytes)); };
  runner.fetch0 = [&pr, l](float* host) { return fetch_checked(pr, *l, host); };
  return runner;
}

}  // namespace cudnn_peer

std::vector<Runner> prepare_cudnn(const Problem& pr, const Options& options) {
  using namespace cudnn_peer;
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
  if (!handle()) {
    out.push_back(unsupported("", "cudnnCreate failed"));
    return out;
  }
  if (pr.pass != mec::Pass::kForward) return prepare_cudnn_backward(pr, options);
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
      if (cudnnGetConvolutionForwardWorkspaceSize(handle(), l->xd, l->fd, l->cd, l->yd, algo,
                                                  &bytes) != CUDNN_STATUS_SUCCESS) {
        continue;  // this algorithm does not take the problem
      }
      Layout* raw = l.get();
      out.push_back(make_runner(pr, options, std::string(algo_name(algo)) + layout_name, l, bytes,
                                [raw, algo](void* ws, size_t ws_bytes) {
                                  const float alpha = 1.0f, beta = 0.0f;
                                  return cudnnConvolutionForward(
                                      handle(), &alpha, raw->xd, raw->src, raw->fd, raw->weights,
                                      raw->cd, algo, ws, ws_bytes, &beta, raw->yd, raw->out);
                                }));
    }
  }
  return out;
}

}  // namespace mecbench
