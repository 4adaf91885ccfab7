// mecbench's cuDNN peer, shared by its forward (peer_cudnn.cc) and backward
// (peer_cudnn_backward.cc) runners: the handle, one layout's (NHWC with KRSC
// filters, or NCHW with KCRS) device tensors and descriptors, the
// conversions between mecbench's NHWC/HWIO and that layout, and the runner
// plumbing (a workspace held only while the runner is timed).
#pragma once

#include <cudnn.h>

#include <memory>
#include <string>

#include "cuda_device.h"

namespace mecbench {
namespace cudnn_peer {

// The process's cuDNN handle on bench_stream() (null if cudnnCreate failed).
cudnnHandle_t handle();

std::string cudnn_error(cudnnStatus_t s);

// One layout's tensors and descriptors, shared by its algorithms' runners:
// the inputs of the problem's pass in this layout and its output.
//   fwd:         src, weights -> dst
//   bwd_data:    ddst, weights -> dsrc
//   bwd_weights: src, ddst -> dweights
struct Layout {
  bool nhwc = true;
  float* src = nullptr;
  float* weights = nullptr;
  float* ddst = nullptr;
  float* out = nullptr;  // dst, dsrc or dweights
  cudnnTensorDescriptor_t xd = nullptr, yd = nullptr;
  cudnnFilterDescriptor_t fd = nullptr;
  cudnnConvolutionDescriptor_t cd = nullptr;
  ~Layout();
};

// The layout's tensors for problem.pass, or null with *err.
std::shared_ptr<Layout> make_layout(const Problem& problem, bool nhwc, bool tf32, std::string* err);

// Copies the checked part of the layout's output to the host in mecbench's
// order: image 0 of dst or dsrc in NHWC, or all of dweights in HWIO.
std::string fetch_checked(const Problem& problem, const Layout& layout, float* host);

// A runner of cuDNN `variant` (its workspace `bytes`, allocated only while
// timed) running `call(workspace, bytes)`; "unsupported" without a run when
// the workspace is over --max-peer-workspace.
Runner make_runner(const Problem& problem, const Options& options, const std::string& variant,
                   const std::shared_ptr<Layout>& layout, size_t bytes,
                   std::function<cudnnStatus_t(void*, size_t)> call);

}  // namespace cudnn_peer

// The backward passes' runners: every cudnnConvolutionBwdDataAlgo_t or
// cudnnConvolutionBwdFilterAlgo_t that takes the problem, in both layouts.
std::vector<Runner> prepare_cudnn_backward(const Problem& problem, const Options& options);

}  // namespace mecbench
