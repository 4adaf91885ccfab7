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
  return create(desc, Pass::kForward, algorithm, context, plan);
}

Status Conv2dPlan::create(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                          const Context& context, std::unique_ptr<Conv2dPlan>* plan) {
  if (plan == nullptr) return fail(Status::kInvalidArgument, "plan output pointer is null");
  if (pass != Pass::kForward && pass != Pass::kBackwardData && pass != Pass::kBackwardWeights) {
    return fail(Status::kInvalidArgument, "pass is not a Pass value (%d)", int(pass));
  }
  Status st = validate(desc);
  if (st != Status::kSuccess) return st;
  if (context.mec_band_rows() < 0) {
    return fail(Status::kInvalidArgument, "context mec_band_rows must be >= 0 (0: whole images)");
  }
  std::unique_ptr<detail::PlanImpl> impl;
  switch (context.device()) {
    case Device::kCpu:
      st = cpu::create_plan(desc, pass, algorithm, context, &impl);
      break;
    case Device::kCuda:
      st = detail::create_backend_plan(desc, pass, algorithm, context, &impl);
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
Pass Conv2dPlan::pass() const { return impl_->pass(); }
Algorithm Conv2dPlan::algorithm() const { return impl_->algorithm(); }
const char* Conv2dPlan::variant() const { return impl_->variant().c_str(); }
size_t Conv2dPlan::workspace_bytes() const { return impl_->workspace_bytes(); }
size_t Conv2dPlan::persistent_bytes() const { return impl_->persistent_bytes(); }

Status Conv2dPlan::set_weights(const float* weights) {
  if (weights == nullptr) return fail(Status::kInvalidArgument, "weights is null");
  return impl_->store_weights(weights);
}

// A buffer run() reads or writes, for the checks below.
struct Conv2dPlan::Buffer {
  const void* data;
  size_t bytes;
  const char* name;
};

Status Conv2dPlan::run(const float* src, const float* weights, const float* bias, float* dst,
                       void* workspace, size_t workspace_bytes) const {
  const Conv2dDesc& d = impl_->desc();
  if (src == nullptr) return fail(Status::kInvalidArgument, "src is null");
  const Buffer reads[] = {{src, size_t(d.src_elems()) * 4, "src"},
                          {weights, size_t(d.weight_elems()) * 4, "weights"},
                          {bias, size_t(d.k) * 4, "bias"}};
  const Buffer writes[] = {{dst, size_t(d.dst_elems()) * 4, "dst"}};
  return checked_run(Pass::kForward, "run()", reads, 3, writes, 1, workspace, workspace_bytes,
                     [&] { return impl_->run(src, weights, bias, dst, workspace); });
}

Status Conv2dPlan::run_backward_data(const float* ddst, const float* weights, float* dsrc,
                                     void* workspace, size_t workspace_bytes) const {
  const Conv2dDesc& d = impl_->desc();
  if (ddst == nullptr) return fail(Status::kInvalidArgument, "ddst is null");
  const Buffer reads[] = {{ddst, size_t(d.dst_elems()) * 4, "ddst"},
                          {weights, size_t(d.weight_elems()) * 4, "weights"}};
  const Buffer writes[] = {{dsrc, size_t(d.src_elems()) * 4, "dsrc"}};
  return checked_run(Pass::kBackwardData, "run_backward_data()", reads, 2, writes, 1, workspace,
                     workspace_bytes,
                     [&] { return impl_->run(ddst, weights, nullptr, dsrc, workspace); });
}

Status Conv2dPlan::run_backward_weights(const float* src, const float* ddst, float* dweights,
                                        float* dbias, void* workspace,
                                        size_t workspace_bytes) const {
  const Conv2dDesc& d = impl_->desc();
  if (src == nullptr) return fail(Status::kInvalidArgument, "src is null");
  if (ddst == nullptr) return fail(Status::kInvalidArgument, "ddst is null");
  const Buffer reads[] = {{src, size_t(d.src_elems()) * 4, "src"},
                          {ddst, size_t(d.dst_elems()) * 4, "ddst"}};
  const Buffer writes[] = {{dweights, size_t(d.weight_elems()) * 4, "dweights"},
                           {dbias, dbias ? size_t(d.k) * 4 : 0, "dbias"}};
  return checked_run(Pass::kBackwardWeights, "run_backward_weights()", reads, 2, writes, 2,
                     workspace, workspace_bytes,
                     [&] { return impl_->run(src, ddst, dbias, dweights, workspace); });
}

// The checks every pass's run shares: the plan's pass, the weights against
// set_weights() (a pass that reads weights lists them second), the first
// output present, the workspace's size, and no output overlapping an input,
// another output or the workspace (no algorithm computes in place: kernels
// read inputs while others write outputs, or write L while they read src).
template <class Run>
Status Conv2dPlan::checked_run(Pass pass, const char* what, const Buffer* reads, int read_count,
                               const Buffer* writes, int write_count, void* workspace,
                               size_t workspace_bytes, Run run) const {
  if (impl_->pass() != pass) {
    return fail(Status::kInvalidArgument, "%s on a plan of the %s pass", what,
                pass_name(impl_->pass()));
  }
  if (pass != Pass::kBackwardWeights) {
    const bool given = reads[1].data != nullptr;
    if (impl_->has_packed_weights() && given) {
      return fail(Status::kInvalidArgument,
                  "weights must be null: the plan uses the weights given to set_weights()");
    }
    if (!impl_->has_packed_weights() && !given) {
      return fail(Status::kInvalidArgument, "weights is null and set_weights() was not called");
    }
  }
  if (writes[0].data == nullptr)
    return fail(Status::kInvalidArgument, "%s is null", writes[0].name);
  const size_t needed = impl_->workspace_bytes();
  if (workspace_bytes < needed) {
    return fail(Status::kInsufficientWorkspace, "workspace_bytes is %zu, the plan needs %zu",
                workspace_bytes, needed);
  }
  if (needed > 0 && workspace == nullptr) {
    return fail(Status::kInvalidArgument, "workspace is null but the plan needs %zu bytes", needed);
  }
  for (int r = 0; r < read_count; ++r) {
    for (int w = 0; w < write_count; ++w) {
      if (overlap(writes[w].data, writes[w].bytes, reads[r].data, reads[r].bytes)) {
        return fail(Status::kInvalidArgument, "%s overlaps %s: %s does not compute in place",
                    writes[w].name, reads[r].name, what);
      }
    }
    if (overlap(workspace, needed, reads[r].data, reads[r].bytes)) {
      return fail(Status::kInvalidArgument, "the workspace overlaps %s", reads[r].name);
    }
  }
  for (int w = 0; w < write_count; ++w) {
    if (overlap(writes[w].data, writes[w].bytes, workspace, needed)) {
      return fail(Status::kInvalidArgument, "%s overlaps workspace: %s does not compute in place",
                  writes[w].name, what);
    }
    for (int o = 0; o < w; ++o) {
      if (overlap(writes[w].data, writes[w].bytes, writes[o].data, writes[o].bytes)) {
        return fail(Status::kInvalidArgument, "%s overlaps %s", writes[w].name, writes[o].name);
      }
    }
  }
  return run();
}

}  // namespace mec
