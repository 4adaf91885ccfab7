// CudaPlan's shared parts (device weights, run) and the CUDA column of the
// algorithm registry (common/algorithm_registry.h; kAuto's factory is
// auto_cuda.cc).
#include "cuda/cuda_plans.h"

#include "common/algorithm_registry.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_plan.h"

namespace mec {
namespace cuda {

CudaPlan::CudaPlan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context, Pass pass)
    : PlanImpl(desc, algorithm, pass),
      resources_(context.cuda_resources()),
      tf32_(context.allow_tf32()),
      geom_(geometry(desc)) {}

CudaPlan::~CudaPlan() {
  if (device_weights_ != nullptr) {
    cudaSetDevice(resources_->device);
    cudaFree(device_weights_);
  }
}

size_t CudaPlan::persistent_bytes() const {
  return device_weights_ != nullptr ? size_t(desc().weight_elems()) * sizeof(float) : 0;
}

Status CudaPlan::store_weights(const float* weights) {
  const Conv2dDesc& d = desc();
  MEC_TRY(cuda_check(cudaSetDevice(resources_->device), "cudaSetDevice"));
  if (device_weights_ == nullptr) {
    MEC_TRY(cuda_check(cudaMalloc(&device_weights_, size_t(d.weight_elems()) * sizeof(float)),
                       "cudaMalloc of the plan's packed weights"));
  }
  if (d.filter_layout == FilterLayout::kOIHW) {
    MEC_TRY(
        cuda_check(oihw_to_hwio(geom_, weights, device_weights_, stream()), "OIHW to HWIO kernel"));
  } else {
    MEC_TRY(cuda_check(
        cudaMemcpyAsync(device_weights_, weights, size_t(d.weight_elems()) * sizeof(float),
                        cudaMemcpyDeviceToDevice, stream()),
        "cudaMemcpyAsync of the weights"));
  }
  // The caller may free or reuse `weights` once this returns.
  return cuda_check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize after set_weights");
}

int64_t CudaPlan::repack_floats() const {
  return desc().filter_layout == FilterLayout::kOIHW && !has_packed_weights()
             ? desc().weight_elems()
             : 0;
}

Status CudaPlan::prepare_weights(const float* weights, float* scratch, DeviceWeights* out) const {
  if (weights == nullptr) {
    *out = {device_weights_, desc().filter_layout == FilterLayout::kOHWI};
    return Status::kSuccess;
  }
  if (desc().filter_layout != FilterLayout::kOIHW) {
    *out = {weights, desc().filter_layout == FilterLayout::kOHWI};
    return Status::kSuccess;
  }
  MEC_TRY(cuda_check(oihw_to_hwio(geom_, weights, scratch, stream()), "OIHW to HWIO kernel"));
  *out = {scratch, false};
  return Status::kSuccess;
}

Status CudaPlan::run(const float* src, const float* weights, const float* bias, float* dst,
                     void* workspace) const {
  MEC_TRY(cuda_check(cudaSetDevice(resources_->device), "cudaSetDevice"));
  return run_on_device(src, weights, bias, dst, static_cast<char*>(workspace));
}

Status create_plan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl) {
  return create_any_plan(desc, Pass::kForward, algorithm, context, impl);
}

Status create_any_plan(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                       const Context& context, std::unique_ptr<detail::PlanImpl>* impl) {
  if (!context.cuda_resources()) {
    return fail(Status::kInvalidArgument, "CUDA context has no resources: use Context::cuda()");
  }
  if (pass == Pass::kForward) {
#define MEC_CUDA_FACTORY(value, name, passes, cpu, cuda, cpu_backward, cuda_backward) cuda,
    static constexpr detail::PlanFactory kFactories[] = {MEC_ALGORITHM_ROWS(MEC_CUDA_FACTORY)};
#undef MEC_CUDA_FACTORY
    return detail::create_from(kFactories, "CUDA", desc, algorithm, context, impl);
  }
#define MEC_CUDA_BACKWARD(value, name, passes, cpu, cuda, cpu_backward, cuda_backward) \
  cuda_backward,
  static constexpr detail::BackwardFactory kBackward[] = {MEC_ALGORITHM_ROWS(MEC_CUDA_BACKWARD)};
#undef MEC_CUDA_BACKWARD
  return detail::create_backward_from(kBackward, "CUDA", desc, pass, algorithm, context, impl);
}

}  // namespace cuda
}  // namespace mec
