// Status names and the per-thread message of the last failure.
#include <cstdarg>
#include <cstdio>

#include "common/status_detail.h"

namespace mec {
namespace {
thread_local char g_last_error[512] = "";
}

const char* status_string(Status status) {
  switch (status) {
    case Status::kSuccess:
      return "success";
    case Status::kInvalidArgument:
      return "invalid argument";
    case Status::kUnsupported:
      return "unsupported";
    case Status::kOutOfMemory:
      return "out of memory";
    case Status::kInsufficientWorkspace:
      return "insufficient workspace";
    case Status::kBackendError:
      return "backend error";
  }
  return "unknown status";
}

const char* last_error() { return g_last_error; }

Status fail(Status status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(g_last_error, sizeof(g_last_error), format, args);
  va_end(args);
  return status;
}

}  // namespace mec
