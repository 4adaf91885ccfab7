// The CUDA backward passes of direct and im2col (the baselines MEC's are
// checked and measured against; backward_plan.h has what they share).
//   direct:  the data gradient gathers, every input pixel its taps' output
//            gradients; the weight gradient sums, every weight its products
//            over every image and pixel. No workspace.
//   im2col:  data: the column matrix's gradient ddst * W^T (one cuBLAS
//            product batched over the groups), then col2im, a gather;
//            weights: src's columns, then dW = columns^T * ddst. Workspace:
//            the column matrix, n*p*q*r*s*c floats.
#include "common/checked.h"
#include "cuda/backward_plan.h"
#include "cuda/cuda_plans.h"
#include "cuda/gemm.h"
#include "cuda/kernels.h"

namespace mec {
namespace cuda {
namespace {

class DirectBackwardPlan : public CudaBackwardPlan {
 public:
  DirectBackwardPlan(const Conv2dDesc& desc, Pass pass, const Context& context)
      : CudaBackwardPlan(desc, Algorithm::kDirect, pass, context) {
    set_variant("direct/fp32");
  }

 protected:
  Status backward_data(const float* ddst, const DeviceWeights& w, float*,
                       float* dsrc) const override {
    return cuda_check(direct_backward_data(geom(), ddst, w.data, w.ohwi, dsrc, stream()),
                      "direct backward-data kernel");
  }
  Status backward_weights(const float* src, const float* ddst, float*, float* hwio) const override {
    return cuda_check(direct_backward_weights(geom(), src, ddst, hwio, stream()),
                      "direct backward-weights kernel");
  }
};

class Im2colBackwardPlan : public CudaBackwardPlan {
 public:
  Im2colBackwardPlan(const Conv2dDesc& desc, Pass pass, const Context& context,
                     int64_t column_floats)
      : CudaBackwardPlan(desc, Algorithm::kIm2col, pass, context), column_floats_(column_floats) {
    set_variant(detail::join_variant({"im2col", "cublas", math()}));
  }

 protected:
  int64_t scratch_floats() const override { return column_floats_; }

  Status backward_data(const float* ddst, const DeviceWeights& w, float* columns,
                       float* dsrc) const override {
    const Geometry& g = geom();
    const int64_t rows = g.n * g.p * g.q, depth = g.r * g.s * g.cg;
    const RowMajorGemm gemm{rows,
                            depth,
                            g.kg,
                            {ddst, g.k, g.kg, false},
                            transposed_weights(w, 0),
                            columns,
                            depth,
                            rows * depth,
                            0.0f,
                            g.groups};
    MEC_TRY(gemm_row_major(cublas(), tf32(), gemm));
    return cuda_check(col2im(g, columns, dsrc, stream()), "col2im kernel");
  }

  Status backward_weights(const float* src, const float* ddst, float* columns,
                          float* hwio) const override {
    const Geometry& g = geom();
    const int64_t rows = g.n * g.p * g.q, depth = g.r * g.s * g.cg;
    MEC_TRY(cuda_check(im2col_lower(g, src, columns, stream()), "im2col lowering kernel"));
    const RowMajorGemm gemm{depth,
                            g.kg,
                            rows,
                            {columns, depth, rows * depth, true},
                            {ddst, g.k, g.kg, false},
                            hwio,
                            g.k,
                            g.kg,
                            0.0f,
                            g.groups};
    return gemm_row_major(cublas(), tf32(), gemm);
  }

 private:
  const int64_t column_floats_;
};

}  // namespace

Status create_direct_backward(const Conv2dDesc& desc, Pass pass, Algorithm, const Context& context,
                              std::unique_ptr<detail::PlanImpl>* impl) {
  impl->reset(new DirectBackwardPlan(desc, pass, context));
  return Status::kSuccess;
}

Status create_im2col_backward(const Conv2dDesc& d, Pass pass, Algorithm, const Context& context,
                              std::unique_ptr<detail::PlanImpl>* impl) {
  int64_t floats, bytes;
  if (!checked_product({d.n, d.p(), d.q(), d.r, d.s, d.c}, &floats) ||
      !checked_product({floats + 64, 4}, &bytes) ||
      !checked_add(bytes, d.weight_elems() * 4, &bytes)) {
    return fail(Status::kInvalidArgument, "im2col workspace n*p*q*r*s*c overflows 64-bit bytes");
  }
  const int64_t rows = d.n * d.p() * d.q(), depth = d.r * d.s * (d.c / d.groups);
  RowMajorGemm shape{};
  shape.m = rows;
  shape.n = depth;
  shape.k = d.k;
  shape.a.ld = shape.b.ld = shape.ldc = d.k > depth ? d.k : depth;
  shape.batch = d.groups;
  if (!gemm_fits(shape)) {
    return fail(Status::kUnsupported, "im2col GEMM dimensions exceed cuBLAS's 32-bit limit");
  }
  impl->reset(new Im2colBackwardPlan(d, pass, context, floats));
  return Status::kSuccess;
}

}  // namespace cuda
}  // namespace mec
