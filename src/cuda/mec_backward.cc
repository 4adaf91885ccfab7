// MEC's backward passes on CUDA, through its lowered matrix L
// (common/mec_lowering.h, with the CUDA backend's padded height) and cuBLAS:
// at most |L| of workspace where im2col's need its column matrix, plus, at
// batch > 1, a copy of ddst with the images inside the output rows
// ([p][n][q][k], rows_outer()): then the (image, column) rows of one output
// row are one matrix with a single row stride, as they are in L (whose rows
// are [g][n][x]), and each output row is one product over every image.
//   data:    dL, zeroed, accumulates ddst's rows times W^T: per kernel row i
//            one product per output row y (batched over y, or over the
//            groups where they outnumber the rows), written into the rows
//            y*stride_h + i*dilation_h of L's windows (no two products of
//            one batch touch the same entries); one product of all r
//            kernel rows where windows cannot overlap (stride_h >= r,
//            dilation 1). Then MEC's fold gathers dL into dsrc.
//   weights: L is lowered from src as in the forward pass; dW += the
//            windows of row y transposed times ddst's rows of y, for y in
//            order (beta 0, then 1), batched over the groups.
// Every product has a fixed order of summation: both gradients are the same
// bits on every run.
#include <algorithm>

#include "common/checked.h"
#include "common/mec_lowering.h"
#include "cuda/backward_plan.h"
#include "cuda/cuda_plans.h"
#include "cuda/kernels.h"

namespace mec {
namespace cuda {
namespace {

class MecBackwardPlan : public CudaBackwardPlan {
 public:
  MecBackwardPlan(const Conv2dDesc& desc, Pass pass, const Context& context, int64_t lowered_floats)
      : CudaBackwardPlan(desc, Algorithm::kMecB, pass, context),
        lowered_floats_(lowered_floats),
        lowering_(detail::mec_lowering(desc, geom().hp)) {
    set_variant(detail::join_variant({"mec_b", "cublas", math()}));
  }

 protected:
  int64_t scratch_floats() const override {
    const Conv2dDesc& d = desc();
    return d.n > 1 ? align_bytes(lowered_floats_ * 4) / 4 + d.dst_elems() : lowered_floats_;
  }

  Status backward_data(const float* ddst, const DeviceWeights& w, float* dl,
                       float* dsrc) const override {
    const Geometry& g = geom();
    const detail::MecLowering& l = lowering_;
    MEC_TRY(cuda_check(cudaMemsetAsync(dl, 0, size_t(lowered_floats_) * 4, stream()),
                       "cudaMemsetAsync of dL"));
    const float* rows = nullptr;
    MEC_TRY(outer_rows(ddst, dl, &rows));
    // Whole windows at once where the windows of consecutive rows cannot
    // overlap; else one kernel row at a time.
    const bool whole = g.dilation_h == 1 && g.stride_h >= g.r;
    const int64_t steps = whole ? 1 : g.r, taps = whole ? l.window_depth : l.row_depth;
    const int64_t image_rows = g.n * g.q;  // rows of one output row, over the images
    for (int64_t i = 0; i < steps; ++i) {
      const GemmOperand wt = transposed_weights(w, i * l.row_depth);
      float* c0 = dl + l.kernel_row(i);
      const int64_t y_stride_a = image_rows * g.k, y_stride_c = l.stride_h * l.row_depth;
      const int64_t group_stride_c = l.group_rows * l.ld;
      if (g.groups > g.p) {  // batched over the groups, one launch per row
        for (int64_t y = 0; y < g.p; ++y) {
          const RowMajorGemm gemm{image_rows, taps,
                                  g.kg,       {rows + y * y_stride_a, g.k, g.kg, false},
                                  wt,         c0 + y * y_stride_c,
                                  l.ld,       group_stride_c,
                                  1.0f,       g.groups};
          MEC_TRY(gemm_row_major(cublas(), tf32(), gemm));
        }
      } else {  // batched over the rows, one launch per group
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          const GemmOperand wg = {wt.data + grp * wt.stride, wt.ld, 0, wt.transposed};
          const RowMajorGemm gemm{image_rows, taps,
                                  g.kg,       {rows + grp * g.kg, g.k, y_stride_a, false},
                                  wg,         c0 + grp * group_stride_c,
                                  l.ld,       y_stride_c,
                                  1.0f,       g.p};
          MEC_TRY(gemm_row_major(cublas(), tf32(), gemm));
        }
      }
    }
    return cuda_check(mec_fold(g, dl, dsrc, stream()), "MEC fold kernel");
  }

  Status backward_weights(const float* src, const float* ddst, float* lowered,
                          float* hwio) const override {
    const Geometry& g = geom();
    const detail::MecLowering& l = lowering_;
    MEC_TRY(cuda_check(mec_lower(g, src, lowered, stream()), "MEC lowering kernel"));
    const float* rows = nullptr;
    MEC_TRY(outer_rows(ddst, lowered, &rows));
    const int64_t steps = g.dilation_h == 1 ? 1 : g.r;
    const int64_t taps = g.dilation_h == 1 ? l.window_depth : l.row_depth;
    const int64_t image_rows = g.n * g.q;
    for (int64_t i = 0; i < steps; ++i) {
      for (int64_t y = 0; y < g.p; ++y) {
        const RowMajorGemm gemm{
            taps,
            g.kg,
            image_rows,
            {lowered + l.window(0, 0, 0, y) + l.kernel_row(i), l.ld, l.group_rows * l.ld, true},
            {rows + y * image_rows * g.k, g.k, g.kg, false},
            hwio + i * l.row_depth * g.k,
            g.k,
            g.kg,
            y == 0 ? 0.0f : 1.0f,
            g.groups};
        MEC_TRY(gemm_row_major(cublas(), tf32(), gemm));
      }
    }
    return Status::kSuccess;
  }

 private:
  // ddst with the images inside the output rows: ddst itself at batch 1,
  // else its copy after L in the scratch.
  Status outer_rows(const float* ddst, float* scratch, const float** rows) const {
    if (desc().n == 1) {
      *rows = ddst;
      return Status::kSuccess;
    }
    float* copy = scratch + align_bytes(lowered_floats_ * 4) / 4;
    *rows = copy;
    return cuda_check(rows_outer(geom(), ddst, copy, stream()), "ddst row-order kernel");
  }

  const int64_t lowered_floats_;  // |L|
  const detail::MecLowering lowering_;
};

}  // namespace

Status create_mec_backward(const Conv2dDesc& d, Pass pass, Algorithm, const Context& context,
                           std::unique_ptr<detail::PlanImpl>* impl) {
  const int64_t hp = lowered_height(d);
  int64_t lowered, bytes;
  if (!detail::mec_lowered_floats(d, hp, &lowered) ||
      !checked_product({lowered + d.dst_elems() + 128, 4}, &bytes) ||
      !checked_add(bytes, d.weight_elems() * 4, &bytes)) {
    return fail(Status::kInvalidArgument,
                "MEC workspace n*q*(h+pad_top+pad_bottom)*s*c overflows 64-bit bytes");
  }
  const detail::MecLowering l = detail::mec_lowering(d, hp);
  RowMajorGemm shape{};
  shape.m = std::max(d.n * d.q(), l.window_depth);
  shape.n = std::max(l.window_depth, d.k);
  shape.k = std::max(d.n * d.q(), d.k);
  shape.a.ld = shape.b.ld = shape.ldc = std::max(l.ld, d.k);
  shape.batch = std::max(d.groups, d.p());
  if (!gemm_fits(shape)) {
    return fail(Status::kUnsupported, "MEC GEMM dimensions exceed cuBLAS's 32-bit limit");
  }
  impl->reset(new MecBackwardPlan(d, pass, context, lowered));
  return Status::kSuccess;
}

}  // namespace cuda
}  // namespace mec
