// Internal: how the library reports a failure. fail() records the message
// for last_error() and returns the status, so call sites read
//   if (x < 1) return fail(Status::kInvalidArgument, "x must be >= 1");
#pragma once

#include "mec/status.h"

namespace mec {

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
Status
fail(Status status, const char* format, ...);

}  // namespace mec
