// Context::cuda() in a build without the CUDA backend (no nvcc found at
// configure time): a clear kUnsupported instead of a link error.
#include "common/status_detail.h"
#include "mec/conv.h"

namespace mec {

Status Context::cuda(Context* context, void*, int) {
  if (context == nullptr) return fail(Status::kInvalidArgument, "context output pointer is null");
  return fail(Status::kUnsupported, "this build of libmec has no CUDA backend");
}

}  // namespace mec
