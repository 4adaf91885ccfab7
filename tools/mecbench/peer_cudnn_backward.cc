// mecbench's cuDNN peer for the backward passes (--pass bwd_data or
// bwd_weights with --device cuda): every cudnnConvolutionBwdDataAlgo_t or
// cudnnConvolutionBwdFilterAlgo_t that takes the problem, in the NHWC and
// NCHW layouts, each with its own workspace (peer_cudnn.h has the layouts
// and runners). Variants name the algorithm as cuDNN's enum does, with
// "_nd" where cuDNN documents the algorithm as non-deterministic (atomics).
// cuDNN's weight gradient has no bias gradient in the same call; ours
// computes dbias too in the timed run.
#include <vector>

#include "peer_cudnn.h"

namespace mecbench {
namespace {

const char* data_algo_name(cudnnConvolutionBwdDataAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0:
      return "algo0_nd";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1:
      return "algo1";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT:
      return "fft";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING:
      return "fft_tiling";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD:
      return "winograd";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED:
      return "winograd_nonfused";
    default:
      return "unknown";
  }
}

const char* filter_algo_name(cudnnConvolutionBwdFilterAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0:
      return "algo0_nd";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1:
      return "algo1";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT:
      return "fft";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3:
      return "algo3_nd";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED:
      return "winograd_nonfused";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING:
      return "fft_tiling";
    default:
      return "unknown";
  }
}

}  // namespace

std::vector<Runner> prepare_cudnn_backward(const Problem& pr, const Options& options) {
  using namespace cudnn_peer;
  std::vector<Runner> out;
  for (bool nhwc : {true, false}) {
    const std::string layout_name = nhwc ? "_nhwc" : "_nchw";
    std::string err;
    std::shared_ptr<Layout> l = make_layout(pr, nhwc, options.math == "tf32", &err);
    if (!l) {
      Runner runner;
      runner.record = new_record(pr, "cudnn", options);
      runner.record.variant = layout_name.substr(1);
      runner.record.status = "unsupported";
      runner.record.note = err;
      out.push_back(runner);
      continue;
    }
    Layout* raw = l.get();
    if (pr.pass == mec::Pass::kBackwardData) {
      for (int a = 0; a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; ++a) {
        const auto algo = static_cast<cudnnConvolutionBwdDataAlgo_t>(a);
        size_t bytes = 0;
        if (cudnnGetConvolutionBackwardDataWorkspaceSize(handle(), l->fd, l->yd, l->cd, l->xd, algo,
                                                         &bytes) != CUDNN_STATUS_SUCCESS) {
          continue;  // this algorithm does not take the problem
        }
        out.push_back(make_runner(pr, options, std::string(data_algo_name(algo)) + layout_name, l,
                                  bytes, [raw, algo](void* ws, size_t ws_bytes) {
                                    const float alpha = 1.0f, beta = 0.0f;
                                    return cudnnConvolutionBackwardData(
                                        handle(), &alpha, raw->fd, raw->weights, raw->yd, raw->ddst,
                                        raw->cd, algo, ws, ws_bytes, &beta, raw->xd, raw->out);
                                  }));
      }
      continue;
    }
    for (int a = 0; a < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT; ++a) {
      const auto algo = static_cast<cudnnConvolutionBwdFilterAlgo_t>(a);
      size_t bytes = 0;
      if (algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD ||  // not implemented
          cudnnGetConvolutionBackwardFilterWorkspaceSize(handle(), l->xd, l->yd, l->cd, l->fd, algo,
                                                         &bytes) != CUDNN_STATUS_SUCCESS) {
        continue;
      }
      out.push_back(make_runner(pr, options, std::string(filter_algo_name(algo)) + layout_name, l,
                                bytes, [raw, algo](void* ws, size_t ws_bytes) {
                                  const float alpha = 1.0f, beta = 0.0f;
                                  return cudnnConvolutionBackwardFilter(
                                      handle(), &alpha, raw->xd, raw->src, raw->yd, raw->ddst,
                                      raw->cd, algo, ws, ws_bytes, &beta, raw->fd, raw->out);
                                }));
    }
  }
  return out;
}

}  // namespace mecbench
