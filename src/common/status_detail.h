// Internal: how the library reports a failure. fail() records the message
// for last_error() and returns the status, so call sites read
//   if (x < 1) return fail(Status::kInvalidArgument, "x must be >= 1");
// and MEC_TRY(expr) returns early from a chain of calls when one fails.
#pragma once

#include "mec/status.h"

namespace mec {

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
Status
fail(Status status, const char* format, ...);

}  // namespace mec

#define MEC_TRY(expr)                                                       \
  do {                                                                      \
    const ::mec::Status mec_try_status_ = (expr);                           \
    if (mec_try_status_ != ::mec::Status::kSuccess) return mec_try_status_; \
  } while (0)
