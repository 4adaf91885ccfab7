// Direct convolution on CUDA: one thread per output value, fp32 fused
// multiply-adds in the reference's loop order. No workspace except the
// per-run OIHW repack. The baseline the lowered methods are checked and
// measured against; not tuned.
#include "cuda/cuda_check.h"
#include "cuda/cuda_plan.h"
#include "cuda/cuda_plans.h"

namespace mec {
namespace cuda {
namespace {

class DirectPlan : public CudaPlan {
 public:
  DirectPlan(const Conv2dDesc& desc, const Context& context)
      : CudaPlan(desc, Algorithm::kDirect, context) {
    set_variant("direct/fp32");  // FFMA whatever the context allows
  }

  size_t workspace_bytes() const override { return size_t(repack_floats()) * sizeof(float); }

 protected:
  Status run_on_device(const float* src, const float* weights, const float* bias, float* dst,
                       char* workspace) const override {
    DeviceWeights w;
    MEC_TRY(prepare_weights(weights, reinterpret_cast<float*>(workspace), &w));
    return cuda_check(direct_conv(geom(), src, w.data, w.ohwi, bias, dst, stream()),
                      "direct convolution kernel");
  }
};

}  // namespace

Status create_direct(const Conv2dDesc& desc, Algorithm, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl) {
  impl->reset(new DirectPlan(desc, context));
  return Status::kSuccess;
}

}  // namespace cuda
}  // namespace mec
