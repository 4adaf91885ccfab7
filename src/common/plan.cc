// Conv2dPlan: validation, dispatch to a device's implementation, and the
// checks every run() shares (null pointers, workspace size).
#include <new>

#include "common/plan_impl.h"
#include "common/status_detail.h"
#include "cpu/cpu_plans.h"
#ifdef MEC_HAVE_CUDA
#include "cuda/cuda_plans.h"
#endif

namespace mec {

Conv2dPlan::Conv2dPlan(std::unique_ptr<detail::PlanImpl> impl) : impl_(std::move(impl)) {}
Conv2dPlan::~Conv2dPlan() = default;

Status Conv2dPlan::create(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                          std::unique_ptr<Conv2dPlan>* plan) {
  if (plan == nullptr) return fail(Status::kInvalidArgument, "plan output pointer is null");
  Status st = validate(desc);
  if (st != Status::kSuccess) return st;
  if (context.mec_band_rows() < 0) {
    return fail(Status::kInvalidArgument, "context mec_band_rows must be >= 0 (0: whole images)");
  }
  std::unique_ptr<detail::PlanImpl> impl;
  switch (context.device()) {
    case Device::kCpu:
      st = cpu::create_plan(desc, algorithm, context, &impl);
      break;
#ifdef MEC_HAVE_CUDA
    case Device::kCuda:
      st = cuda::create_plan(desc, algorithm, context, &impl);
      break;
#endif
    default:
      return fail(Status::kUnsupported, "device not supported by this build");
  }
  if (st != Status::kSuccess) return st;
  plan->reset(new Conv2dPlan(std::move(impl)));
  return Status::kSuccess;
}

const Conv2dDesc& Conv2dPlan::desc() const { return impl_->desc(); }
Algorithm Conv2dPlan::algorithm() const { return impl_->algorithm(); }
size_t Conv2dPlan::workspace_bytes() const { return impl_->workspace_bytes(); }
size_t Conv2dPlan::persistent_bytes() const { return impl_->persistent_bytes(); }

Status Conv2dPlan::set_weights(const float* weights) {
  if (weights == nullptr) return fail(Status::kInvalidArgument, "weights is null");
  return impl_->store_weights(weights);
}

Status Conv2dPlan::run(const float* src, const float* weights, const float* bias, float* dst,
                       void* workspace, size_t workspace_bytes) const {
  if (src == nullptr) return fail(Status::kInvalidArgument, "src is null");
  if (impl_->has_packed_weights() && weights != nullptr) {
    return fail(Status::kInvalidArgument,
                "weights must be null: the plan uses the weights given to set_weights()");
  }
  if (!impl_->has_packed_weights() && weights == nullptr) {
    return fail(Status::kInvalidArgument, "weights is null and set_weights() was not called");
  }
  if (dst == nullptr) return fail(Status::kInvalidArgument, "dst is null");
  const size_t needed = impl_->workspace_bytes();
  if (workspace_bytes < needed) {
    return fail(Status::kInsufficientWorkspace, "workspace_bytes is %zu, the plan needs %zu",
                workspace_bytes, needed);
  }
  if (needed > 0 && workspace == nullptr) {
    return fail(Status::kInvalidArgument, "workspace is null but the plan needs %zu bytes", needed);
  }
  return impl_->run(src, weights, bias, dst, workspace);
}

}  // namespace mec
