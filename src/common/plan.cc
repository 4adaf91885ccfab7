// Conv2dPlan: validation, dispatch to a device's implementation, and the
// checks every run() shares (null pointers, workspace size, buffers that
// must not overlap).
#include <cstdint>
#include <new>

#include "common/cuda_backend.h"
#include "common/plan_impl.h"
#include "common/status_detail.h"
#include "cpu/cpu_plans.h"

namespace mec {
namespace {

// Whether [a, a + a_bytes) and [b, b + b_bytes) share a byte (host or device
// addresses alike).
bool overlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  const uintptr_t x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return a != nullptr && b != nullptr && a_bytes > 0 && b_bytes > 0 && x < y + b_bytes &&
         y < x + a_bytes;
}

}  // namespace

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
    case Device::kCuda:
      st = detail::create_backend_plan(desc, algorithm, context, &impl);
      break;
    default:
      return fail(Status::kUnsupported, "device not supported by this build");
  }
  if (st != Status::kSuccess) return st;
  // kAuto chose within the limit; a named algorithm is refused over it.
  const size_t needed = impl->workspace_bytes();
  if (needed > context.workspace_limit()) {
    return fail(Status::kInsufficientWorkspace,
                "%s needs %zu bytes of workspace; the context's workspace limit is %zu",
                impl->variant().c_str(), needed, context.workspace_limit());
  }
  plan->reset(new Conv2dPlan(std::move(impl)));
  return Status::kSuccess;
}

const Conv2dDesc& Conv2dPlan::desc() const { return impl_->desc(); }
Algorithm Conv2dPlan::algorithm() const { return impl_->algorithm(); }
const char* Conv2dPlan::variant() const { return impl_->variant().c_str(); }
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
  // What run() writes (dst, the workspace) must not overlap what it reads or
  // each other: no algorithm computes in place (kernels read src while
  // others write dst, or write L while they read src).
  const Conv2dDesc& d = impl_->desc();
  const struct {
    const void* data;
    size_t bytes;
    const char* name;
  } reads[] = {{src, size_t(d.src_elems()) * 4, "src"},
               {weights, size_t(d.weight_elems()) * 4, "weights"},
               {bias, size_t(d.k) * 4, "bias"},
               {workspace, needed, "workspace"}};  // (last: not checked against itself)
  for (const auto& r : reads) {
    if (overlap(dst, size_t(d.dst_elems()) * 4, r.data, r.bytes)) {
      return fail(Status::kInvalidArgument, "dst overlaps %s: run() does not compute in place",
                  r.name);
    }
    if (&r != &reads[3] && overlap(workspace, needed, r.data, r.bytes)) {
      return fail(Status::kInvalidArgument, "the workspace overlaps %s", r.name);
    }
  }
  return impl_->run(src, weights, bias, dst, workspace);
}

}  // namespace mec
