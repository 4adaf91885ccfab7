// Context::cuda() in a build without the CUDA backend (no nvcc found at
// configure time): a clear kUnsupported instead of a link error. The same for
// the device memory of mec::conv2d() (common/device_memory.h), which a CPU
// build never reaches since no CUDA context can exist in it.
#include "common/device_memory.h"
#include "common/status_detail.h"
#include "mec/conv.h"

namespace mec {

Status Context::cuda(Context* context, void*, int) {
  if (context == nullptr) return fail(Status::kInvalidArgument, "context output pointer is null");
  return fail(Status::kUnsupported, "this build of libmec has no CUDA backend");
}

namespace detail {

Status device_allocate(const Context&, size_t, void** ptr) {
  *ptr = nullptr;
  return fail(Status::kUnsupported, "this build of libmec has no CUDA backend");
}

Status device_release(const Context&, void*) { return Status::kSuccess; }

}  // namespace detail
}  // namespace mec
