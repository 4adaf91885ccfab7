// Status codes returned at every API boundary of libmec. The library never
// throws; a failing call returns one of these and leaves a message naming the
// offending field in last_error() for the calling thread.
#pragma once

#include "mec/export.h"

namespace mec {

enum class Status {
  kSuccess = 0,
  kInvalidArgument,        // a descriptor field or pointer is wrong
  kUnsupported,            // valid, but this algorithm/device cannot do it
  kOutOfMemory,            // a convenience path could not allocate
  kInsufficientWorkspace,  // run() was given less than workspace_bytes()
  kBackendError,           // BLAS/CUDA/cuBLAS/cuFFT reported a failure
};

// Short fixed name of a status ("invalid argument", ...).
MEC_API const char* status_string(Status status);

// Detailed message of the most recent failing call on this thread
// (e.g. "stride_h must be >= 1, got 0"); empty if none failed yet.
MEC_API const char* last_error();

}  // namespace mec
