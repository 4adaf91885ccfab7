// Internal: what the CUDA backward plans (backward.cc: direct, im2col, MEC)
// share, like cpu/backward_common.h on the CPU: the run slots of each pass,
// set_weights() for backward-data plans, the weight gradient's layout, the
// bias gradient, and the workspace around the algorithm's own scratch:
//   [scratch][OIHW weight repack]    backward data
//   [scratch][HWIO gradient]         backward weights
// (the HWIO gradient only for OHWI/OIHW, each region 256-byte aligned).
// dbias's partial sums go into dweights before the weight gradient does, so
// an algorithm without scratch (direct) needs no workspace at all.
// Everything is enqueued on the context's stream; nothing allocates or
// synchronises in run(). Every kernel and cuBLAS call sums in a fixed order,
// so both gradients are the same bits on every run on one GPU model.
#pragma once

#include "cuda/backward_kernels.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_plan.h"
#include "cuda/gemm.h"

namespace mec {
namespace cuda {

class CudaBackwardPlan : public CudaPlan {
 public:
  CudaBackwardPlan(const Conv2dDesc& desc, Algorithm algorithm, Pass pass, const Context& context)
      : CudaPlan(desc, algorithm, context, pass) {}

  size_t workspace_bytes() const override {
    const int64_t scratch = align_bytes(scratch_floats() * 4);
    if (pass() == Pass::kBackwardData) return size_t(scratch + repack_floats() * 4);
    return size_t(scratch + gradient_floats() * 4);
  }

  Status store_weights(const float* weights) override {
    if (pass() == Pass::kBackwardWeights) {
      return fail(Status::kInvalidArgument,
                  "set_weights(): a backward-weights plan reads no weights");
    }
    return CudaPlan::store_weights(weights);
  }

 protected:
  // The slots of PlanImpl::run: (ddst, weights, -, dsrc) or (src, ddst,
  // dbias, dweights).
  Status run_on_device(const float* a, const float* b, const float* bias_grad, float* out,
                       char* workspace) const final {
    float* scratch = reinterpret_cast<float*>(workspace);
    char* extra = workspace + align_bytes(scratch_floats() * 4);
    if (pass() == Pass::kBackwardData) {
      DeviceWeights w;
      MEC_TRY(prepare_weights(b, reinterpret_cast<float*>(extra), &w));
      return backward_data(a, w, scratch, out);
    }
    const Conv2dDesc& d = desc();
    if (bias_grad != nullptr) {  // first: its partial sums use dweights' memory
      MEC_TRY(cuda_check(bias_gradient(b, d.n * d.p() * d.q(), d.k, out, d.weight_elems() / d.k,
                                       const_cast<float*>(bias_grad), stream()),
                         "bias gradient kernels"));
    }
    float* hwio = gradient_floats() > 0 ? reinterpret_cast<float*>(extra) : out;
    MEC_TRY(backward_weights(a, b, scratch, hwio));
    if (hwio == out) return Status::kSuccess;
    return cuda_check(hwio_to_layout(geom(), d.filter_layout, hwio, out, stream()),
                      "weight gradient layout kernel");
  }

  // The algorithm's own workspace in floats.
  virtual int64_t scratch_floats() const { return 0; }
  // dsrc from ddst and the weights (HWIO or OHWI).
  virtual Status backward_data(const float* ddst, const DeviceWeights& w, float* scratch,
                               float* dsrc) const = 0;
  // The HWIO weight gradient (r*s*cg rows of k) from src and ddst.
  virtual Status backward_weights(const float* src, const float* ddst, float* scratch,
                                  float* hwio) const = 0;

  // The weights as the right operand of dwindows = ddst * W^T, kg x (the
  // taps from tap0 on), advancing by one group per product.
  GemmOperand transposed_weights(const DeviceWeights& w, int64_t tap0) const {
    const Geometry& g = geom();
    const int64_t depth = g.r * g.s * g.cg;
    if (w.ohwi) return {w.data + tap0, depth, g.kg * depth, false};
    return {w.data + tap0 * g.k, g.k, g.kg, true};
  }

 private:
  int64_t gradient_floats() const {
    return desc().filter_layout == FilterLayout::kHWIO ? 0 : desc().weight_elems();
  }
};

}  // namespace cuda
}  // namespace mec
