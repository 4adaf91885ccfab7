// Internal: device memory for the one path of the library that allocates on
// the caller's behalf, mec::conv2d() (src/common/convenience.cc). A CUDA
// context's workspace must be device memory, but src/common is compiled
// without CUDA headers, so the allocation lives behind these two functions,
// which call the CUDA backend (common/cuda_backend.cc; kUnsupported without
// one). Failures become statuses with a message, never
// an abort.
#pragma once

#include <cstddef>

#include "mec/conv.h"

namespace mec {
namespace detail {

// `bytes` (> 0) of device memory on the context's device; kOutOfMemory with
// the CUDA message when the device cannot provide them.
Status device_allocate(const Context& context, size_t bytes, void** ptr);

// Waits for the context's stream (work queued on it may still read `ptr`),
// then frees `ptr` (null is fine). The first error is returned.
Status device_release(const Context& context, void* ptr);

}  // namespace detail
}  // namespace mec
