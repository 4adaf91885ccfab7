// libmec's side of the CUDA backend seam (common/cuda_backend.h): finds and
// loads libmec_cuda.so.MAJOR.MINOR once per process, checks that it is of
// this build, and routes Context::cuda(), CUDA plan creation and the device
// memory of mec::conv2d() through it. Every reason the backend cannot be
// used - this build has none, its library or the CUDA libraries it needs are
// missing, no GPU is visible - is kUnsupported with a message that says
// which.
#include "common/cuda_backend.h"

#include <dlfcn.h>

#include <string>
#include <vector>

#include "common/device_memory.h"
#include "common/status_detail.h"
#include "mec/version.h"

namespace mec {
namespace detail {
namespace {

#define MEC_STR2(x) #x
#define MEC_STR(x) MEC_STR2(x)
constexpr const char* kBackendFile =
    "libmec_cuda.so." MEC_STR(MEC_VERSION_MAJOR) "." MEC_STR(MEC_VERSION_MINOR);

struct Loaded {
  const CudaBackend* backend = nullptr;
  std::string why;  // when backend is null
};

// The directory of the object (libmec.so, or the program libmec.a is linked
// into) that holds this code, with a trailing '/'; empty if unknown.
std::string own_directory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cuda_backend), &info) == 0 || info.dli_fname == nullptr) {
    return "";
  }
  const std::string path = info.dli_fname;
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

Loaded load() {
  Loaded out;
#ifndef MEC_CUDA_BACKEND_BUILT
  out.why = "this build of libmec has no CUDA backend (it was configured without a CUDA compiler)";
  return out;
#else
  // Beside libmec first (build tree and installed tree alike), then the
  // dynamic loader's search path, then where `cmake --install` puts it.
  std::vector<std::string> candidates;
  const std::string own = own_directory();
  if (!own.empty()) candidates.push_back(own + kBackendFile);
  candidates.push_back(kBackendFile);
  candidates.push_back(std::string(MEC_CUDA_BACKEND_INSTALL_DIR "/") + kBackendFile);
  std::string errors;
  for (const std::string& path : candidates) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      // "No such file" for a candidate is expected; a file that exists but
      // cannot be loaded (a missing CUDA library) is the reason to report.
      const std::string msg = e != nullptr ? e : "unknown dlopen error";
      if (errors.empty() || msg.find("No such file") == std::string::npos) errors = msg;
      continue;
    }
    auto entry = reinterpret_cast<MecCudaBackendEntry>(dlsym(handle, "mec_cuda_backend"));
    const CudaBackend* backend = entry != nullptr ? entry() : nullptr;
    if (backend == nullptr || backend->revision != kCudaBackendRevision ||
        std::string(backend->version) != version()) {
      errors = path + " is not the CUDA backend of libmec " + version();
      continue;  // never dlclose: a foreign library may not unload cleanly
    }
    out.backend = backend;
    return out;
  }
  out.why = std::string("the CUDA backend ") + kBackendFile + " cannot be loaded: " + errors;
  return out;
#endif
}

// Forwards to the backend's plan; relays the backend's message on failure.
class BackendPlan final : public PlanImpl {
 public:
  explicit BackendPlan(std::unique_ptr<PlanImpl> inner)
      : PlanImpl(inner->desc(), inner->algorithm(), inner->pass()), inner_(std::move(inner)) {
    set_variant(inner_->variant());
  }
  size_t workspace_bytes() const override { return inner_->workspace_bytes(); }
  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void* workspace) const override {
    return relay_backend_error(inner_->run(src, weights, bias, dst, workspace));
  }
  Status store_weights(const float* weights) override {
    return relay_backend_error(inner_->store_weights(weights));
  }
  bool has_packed_weights() const override { return inner_->has_packed_weights(); }
  size_t persistent_bytes() const override { return inner_->persistent_bytes(); }

 private:
  std::unique_ptr<PlanImpl> inner_;
};

}  // namespace

const CudaBackend* cuda_backend() {
  static const Loaded loaded = load();  // thread-safe, once per process
  if (loaded.backend == nullptr) {
    fail(Status::kUnsupported, "%s", loaded.why.c_str());
  }
  return loaded.backend;
}

Status relay_backend_error(Status status) {
  if (status == Status::kSuccess) return status;
  const CudaBackend* backend = cuda_backend();
  return backend != nullptr ? fail(status, "%s", backend->last_error()) : status;
}

Status create_backend_plan(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                           const Context& context, std::unique_ptr<PlanImpl>* impl) {
  const CudaBackend* backend = cuda_backend();
  if (backend == nullptr) return Status::kUnsupported;
  std::unique_ptr<PlanImpl> inner;
  MEC_TRY(relay_backend_error(backend->create_plan(desc, pass, algorithm, context, &inner)));
  impl->reset(new BackendPlan(std::move(inner)));
  return Status::kSuccess;
}

Status device_allocate(const Context& context, size_t bytes, void** ptr) {
  *ptr = nullptr;
  const CudaBackend* backend = cuda_backend();
  if (backend == nullptr) return Status::kUnsupported;
  return relay_backend_error(backend->device_allocate(context, bytes, ptr));
}

Status device_release(const Context& context, void* ptr) {
  if (ptr == nullptr && !context.cuda_resources()) return Status::kSuccess;
  const CudaBackend* backend = cuda_backend();
  if (backend == nullptr) return Status::kUnsupported;
  return relay_backend_error(backend->device_release(context, ptr));
}

}  // namespace detail

Status Context::cuda(Context* context, void* stream, int device) {
  if (context == nullptr) return fail(Status::kInvalidArgument, "context output pointer is null");
  const detail::CudaBackend* backend = detail::cuda_backend();
  if (backend == nullptr) return Status::kUnsupported;
  std::shared_ptr<detail::CudaResources> resources;
  MEC_TRY(detail::relay_backend_error(backend->open_device(stream, device, &resources)));
  Context ctx;
  ctx.device_ = Device::kCuda;
  ctx.threads_ = 1;
  ctx.mec_threshold_ = backend->mec_threshold;
  ctx.device_index_ = device;
  ctx.stream_ = stream;
  ctx.cuda_ = std::move(resources);
  *context = std::move(ctx);
  return Status::kSuccess;
}

}  // namespace mec
