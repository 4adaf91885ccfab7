// mec::conv2d(): plan + workspace + run in one call. The workspace comes from
// nothrow aligned operator new, so an allocation the system refuses (a huge
// batch, a ulimit, a sanitizer's allocation cap) becomes kOutOfMemory
// instead of std::bad_alloc or an abort. Pointers are checked before
// anything is allocated, and nothing reads a tensor before the allocation
// succeeded. A CUDA context's workspace is device memory instead
// (common/device_memory.h: cudaMalloc, kOutOfMemory when the device refuses);
// the call then waits for the context's stream before freeing it, so the
// convenience path synchronises where Conv2dPlan::run() does not.
#include <memory>
#include <new>

#include "common/device_memory.h"
#include "common/status_detail.h"
#include "mec/conv.h"

namespace mec {
namespace {

constexpr std::align_val_t kWorkspaceAlignment{64};

struct WorkspaceDeleter {
  void operator()(void* p) const { ::operator delete(p, kWorkspaceAlignment); }
};

}  // namespace

Status conv2d(const Conv2dDesc& desc, Algorithm algorithm, const Context& context, const float* src,
              const float* weights, const float* bias, float* dst) {
  if (src == nullptr) return fail(Status::kInvalidArgument, "src is null");
  if (weights == nullptr) return fail(Status::kInvalidArgument, "weights is null");
  if (dst == nullptr) return fail(Status::kInvalidArgument, "dst is null");
  std::unique_ptr<Conv2dPlan> plan;
  Status st = Conv2dPlan::create(desc, algorithm, context, &plan);
  if (st != Status::kSuccess) return st;
  const size_t bytes = plan->workspace_bytes();
  if (context.device() == Device::kCuda) {
    void* device_workspace = nullptr;
    if (bytes > 0) {
      st = detail::device_allocate(context, bytes, &device_workspace);
      if (st != Status::kSuccess) return st;
    }
    st = plan->run(src, weights, bias, dst, device_workspace, bytes);
    const Status released = detail::device_release(context, device_workspace);
    return st != Status::kSuccess ? st : released;
  }
  std::unique_ptr<void, WorkspaceDeleter> workspace;
  if (bytes > 0) {
    workspace.reset(::operator new(bytes, kWorkspaceAlignment, std::nothrow));
    if (workspace == nullptr) {
      return fail(Status::kOutOfMemory, "cannot allocate %zu bytes of workspace for %s", bytes,
                  algorithm_name(plan->algorithm()));
    }
  }
  return plan->run(src, weights, bias, dst, workspace.get(), bytes);
}

}  // namespace mec
