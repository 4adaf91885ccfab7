// Internal: what the CPU backward passes (direct_backward.cc,
// im2col_backward.cc, mec_backward.cc) share: the plan base that states
// the pass and handles set_weights(), the bias gradient, the weight
// gradient's layout, and the GEMM operand of the transposed weights.
// Every function writes every element of its output (outputs are never
// assumed zeroed) and sums in an order fixed by the descriptor and the
// thread count, so results are deterministic for a given thread count.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "common/plan_impl.h"
#include "common/weight_strides.h"
#include "cpu/gemm.h"
#include "cpu/weights.h"

namespace mec {
namespace cpu {

// Along one axis: the output position whose tap `tap` reads input position
// `in` (out * stride - pad + tap * dilation == in), or -1 when none of the
// `outputs` does. The gathers of the data gradient ask it per tap.
inline int64_t output_reading(int64_t in, int64_t tap, int64_t pad, int64_t stride,
                              int64_t dilation, int64_t outputs) {
  const int64_t t = in + pad - tap * dilation;
  return t < 0 || t % stride != 0 || t / stride >= outputs ? -1 : t / stride;
}

// The transposed weights of group g, kg x (r*s*cg), as the right operand of
// dwindows = ddst * W^T (weight_operand() gives W, (r*s*cg) x kg).
inline WeightOperand transposed_weights(const Conv2dDesc& d, const float* prepared, int64_t g) {
  const WeightOperand w = weight_operand(d, prepared, g);
  return {w.data, w.ld, !w.transposed};
}

// Columns [c0, ...) of such an operand (the kernel rows from c0 / (s*cg) on).
inline WeightOperand from_column(const WeightOperand& op, int64_t c0) {
  return {op.transposed ? op.data + c0 * op.ld : op.data + c0, op.ld, op.transposed};
}

// dbias[ko] = the sum of ddst over every image and output pixel, in pixel
// order. Each thread sums a block of up to 256 channels, reading each
// pixel's part of them in one run: a block of 16 touches one line per
// pixel, a page apart where k >= 1024 (as 16-channel blocks it takes 5% of
// MEC's weight gradient on ResNet-50's res4a_3).
inline void bias_gradient(const Conv2dDesc& d, const float* ddst, float* dbias, int threads) {
  const int64_t pixels = d.n * d.p() * d.q(), k = d.k;
  const int64_t width = std::clamp<int64_t>((k + 16 * threads - 1) / (16 * threads) * 16, 16, 256);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c0 = 0; c0 < k; c0 += width) {
    const int64_t c1 = std::min(k, c0 + width);
    double sum[256] = {};
    for (int64_t i = 0; i < pixels; ++i) {
      const float* row = ddst + i * k;
      for (int64_t c = c0; c < c1; ++c) sum[c - c0] += row[c];
    }
    for (int64_t c = c0; c < c1; ++c) dbias[c] = float(sum[c - c0]);
  }
}

// Floats of workspace a weight gradient computed in HWIO needs to reach the
// descriptor's layout: none for HWIO, else the gradient's size.
inline int64_t hwio_gradient_floats(const Conv2dDesc& d) {
  return d.filter_layout == FilterLayout::kHWIO ? 0 : d.weight_elems();
}

// dweights in the descriptor's layout from the HWIO gradient `hwio`.
inline void hwio_to_layout(const Conv2dDesc& d, const float* hwio, float* dweights, int threads) {
  const int64_t cg = d.c / d.groups, rows = d.r * d.s * cg;
  const WeightStrides ws = weight_strides(d);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t i = row / (d.s * cg), j = row / cg % d.s, ci = row % cg;
    for (int64_t ko = 0; ko < d.k; ++ko) {
      dweights[ko * ws.k + i * ws.r + j * ws.s + ci * ws.c] = hwio[row * d.k + ko];
    }
  }
}

// A backward plan: backward-data plans keep set_weights()'s weights in the
// forward plans' HWIO form; backward-weights plans read no weights.
// Lowering-based algorithms (im2col, MEC) implement scratch_floats(),
// backward_data() and backward_weights(); the workspace is their scratch
// followed by the OIHW weight repack (data) or the HWIO gradient of an
// OHWI/OIHW layout (weights), and dbias is computed here.
class BackwardPlan : public detail::PlanImpl {
 public:
  BackwardPlan(const Conv2dDesc& desc, Algorithm algorithm, Pass pass, int threads)
      : PlanImpl(desc, algorithm, pass), threads_(threads) {}

  size_t workspace_bytes() const override {
    const int64_t extra = pass() == Pass::kBackwardData
                              ? weight_repack_floats(desc(), has_packed_weights())
                              : hwio_gradient_floats(desc());
    return size_t(scratch_floats() + extra) * sizeof(float);
  }

  // PlanImpl::run's slots: (ddst, weights, -, dsrc) or (src, ddst, dbias, dweights).
  Status run(const float* a, const float* b, const float* bias_grad, float* out,
             void* workspace) const override {
    float* scratch = static_cast<float*>(workspace);
    float* extra = scratch + scratch_floats();
    if (pass() == Pass::kBackwardData) {
      backward_data(a, prepared(b, extra), scratch, out);
      return Status::kSuccess;
    }
    float* hwio = desc().filter_layout == FilterLayout::kHWIO ? out : extra;
    backward_weights(a, b, scratch, hwio);
    if (hwio != out) hwio_to_layout(desc(), hwio, out, threads_);
    // The dbias slot is an output of this pass.
    if (bias_grad != nullptr) bias_gradient(desc(), b, const_cast<float*>(bias_grad), threads_);
    return Status::kSuccess;
  }

  Status store_weights(const float* weights) override {
    if (pass() == Pass::kBackwardWeights) {
      return fail(Status::kInvalidArgument,
                  "set_weights(): a backward-weights plan reads no weights");
    }
    return PlanImpl::store_weights(weights);
  }
  void pack_weights(const float* weights) override { pack_weights_hwio(desc(), weights, &packed_); }

 protected:
  // The weights as weight_operand() reads them (OIHW repacked into scratch).
  const float* prepared(const float* weights, float* scratch) const {
    return prepare_weights(desc(), weights, has_packed_weights() ? packed_weights() : nullptr,
                           scratch, threads_);
  }
  int threads() const { return threads_; }

  // The algorithm's own workspace in floats (0 for none).
  virtual int64_t scratch_floats() const { return 0; }
  // dsrc from ddst and the weights as weight_operand() reads them.
  virtual void backward_data(const float*, const float*, float*, float*) const {}
  // The HWIO weight gradient (r*s*cg rows of k) from src and ddst.
  virtual void backward_weights(const float*, const float*, float*, float*) const {}

 private:
  const int threads_;
};

}  // namespace cpu
}  // namespace mec
