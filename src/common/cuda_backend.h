// Internal: the seam between libmec and its CUDA backend. The backend is a
// separate shared library, libmec_cuda.so.MAJOR.MINOR, that libmec loads
// with dlopen() at the first Context::cuda(), so a program that only uses
// CPU contexts links and runs on a machine without any CUDA library, and
// never maps the CUDA libraries it does not use (docs/design.md).
//
// The backend exports one C function, mec_cuda_backend(), returning this
// table. Both sides are compiled from the same headers in the same build (the
// loader accepts only a backend of its own version and table revision), so
// C++ types may cross the seam. The backend carries its own copy of the
// small common code it needs (status messages, descriptor maths), so its
// failures are recorded in its own last_error(): the loader copies the
// message into libmec's after every backend call that fails.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/plan_impl.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

// Raised whenever a member is added, removed or changes meaning, or a type
// that crosses the seam (PlanImpl) changes its layout.
constexpr int kCudaBackendRevision = 4;

struct CudaBackend {
  int revision;           // kCudaBackendRevision of the backend's build
  const char* version;    // mec::version() of the backend's build
  int64_t mec_threshold;  // the default MEC threshold T on CUDA
  // Checks the device and creates the resources a CUDA Context shares
  // (stream, cuBLAS handle and its workspace). kUnsupported when no GPU or
  // driver is usable, with the reason.
  Status (*open_device)(void* stream, int device, std::shared_ptr<CudaResources>* resources);
  // The CUDA algorithms' factory for every pass (src/cuda/cuda_plans.h).
  Status (*create_plan)(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                        const Context& context, std::unique_ptr<PlanImpl>* impl);
  // common/device_memory.h on the device.
  Status (*device_allocate)(const Context& context, size_t bytes, void** ptr);
  Status (*device_release)(const Context& context, void* ptr);
  // The backend's last_error() on this thread.
  const char* (*last_error)();
};

// The backend, loaded once per process; null when this build has none or it
// cannot be loaded, with the reason in last_error() (kUnsupported).
const CudaBackend* cuda_backend();

// A CUDA plan from the backend, wrapped so that its failures in run() and
// set_weights() reach libmec's last_error().
Status create_backend_plan(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                           const Context& context, std::unique_ptr<PlanImpl>* impl);

// Records the backend's message for `status` in libmec's last_error() and
// returns `status` (kSuccess passes through untouched).
Status relay_backend_error(Status status);

}  // namespace detail
}  // namespace mec

extern "C" {
// The backend's one exported symbol.
typedef const mec::detail::CudaBackend* (*MecCudaBackendEntry)();
}
