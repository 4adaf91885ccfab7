// im2col on CUDA: a lowering kernel writes, per group, one row of r*s*cg
// values for every output pixel (padding as zeros), then one cuBLAS GEMM per
// group against the weights. Workspace: n*p*q*r*s*c floats (+ the OIHW
// repack when the plan holds no packed weights).
#include "common/checked.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_plan.h"
#include "cuda/cuda_plans.h"
#include "cuda/gemm.h"

namespace mec {
namespace cuda {
namespace {

class Im2colPlan : public CudaPlan {
 public:
  Im2colPlan(const Conv2dDesc& desc, const Context& context, int64_t lowered_floats)
      : CudaPlan(desc, Algorithm::kIm2col, context), lowered_floats_(lowered_floats) {
    set_variant(detail::join_variant({"im2col", "cublas", math()}));
  }

  size_t workspace_bytes() const override {
    const int64_t repack = repack_floats();
    return size_t(repack > 0 ? align_bytes(lowered_floats_ * 4) + repack * 4 : lowered_floats_ * 4);
  }

 protected:
  Status run_on_device(const float* src, const float* weights, const float* bias, float* dst,
                       char* workspace) const override {
    const Geometry& g = geom();
    float* lowered = reinterpret_cast<float*>(workspace);
    DeviceWeights w;
    MEC_TRY(prepare_weights(
        weights, reinterpret_cast<float*>(workspace + align_bytes(lowered_floats_ * 4)), &w));
    MEC_TRY(cuda_check(im2col_lower(g, src, lowered, stream()), "im2col lowering kernel"));
    const int64_t rows = g.n * g.p * g.q, depth = g.r * g.s * g.cg;
    const GemmShape shape{rows, g.kg, depth, w.ohwi ? depth : g.k, w.ohwi, depth, g.k};
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      const float* wg = w.ohwi ? w.data + grp * g.kg * depth : w.data + grp * g.kg;
      MEC_TRY(gemm_strided_batched(cublas(), tf32(), shape, wg, lowered + grp * rows * depth, 0,
                                   0.0f, dst + grp * g.kg, 0, 1));
    }
    if (bias != nullptr) {
      MEC_TRY(cuda_check(add_bias(dst, bias, rows, g.k, stream()), "bias kernel"));
    }
    return Status::kSuccess;
  }

 private:
  const int64_t lowered_floats_;
};

}  // namespace

Status create_im2col(const Conv2dDesc& d, Algorithm, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl) {
  int64_t floats, bytes;
  if (!checked_product({d.n, d.p(), d.q(), d.r, d.s, d.c}, &floats) ||
      !checked_product({floats + 64, 4}, &bytes) ||
      !checked_add(bytes, d.weight_elems() * 4, &bytes)) {
    return fail(Status::kInvalidArgument, "im2col workspace n*p*q*r*s*c overflows 64-bit bytes");
  }
  const int64_t depth = d.r * d.s * (d.c / d.groups);
  const GemmShape shape{
      d.n * d.p() * d.q(), d.k / d.groups, depth, d.k > depth ? d.k : depth, false, depth, d.k};
  if (!gemm_fits(shape, 1)) {
    return fail(Status::kUnsupported, "im2col GEMM dimensions exceed cuBLAS's 32-bit limit");
  }
  impl->reset(new Im2colPlan(d, context, floats));
  return Status::kSuccess;
}

}  // namespace cuda
}  // namespace mec
