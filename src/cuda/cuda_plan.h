// Internal: what every CUDA plan shares. The context's resources (stream,
// cuBLAS handle) are held by shared_ptr, so a plan outlives the Context
// value it was made from. set_weights() keeps the weights in device memory
// (OIHW repacked to HWIO, HWIO and OHWI as given), allocated there and freed
// with the plan. run() selects the device and hands over to run_on_device(),
// which only enqueues work on the stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>

#include "common/plan_impl.h"
#include "cuda/cuda_context.h"
#include "cuda/kernels.h"

namespace mec {
namespace cuda {

// The weights as the GEMMs and the direct kernel read them.
struct DeviceWeights {
  const float* data;
  bool ohwi;  // else HWIO
};

class CudaPlan : public detail::PlanImpl {
 public:
  CudaPlan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
           Pass pass = Pass::kForward);
  ~CudaPlan() override;

  Status store_weights(const float* weights) override;
  bool has_packed_weights() const override { return device_weights_ != nullptr; }
  size_t persistent_bytes() const override;

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void* workspace) const final;

 protected:
  virtual Status run_on_device(const float* src, const float* weights, const float* bias,
                               float* dst, char* workspace) const = 0;

  // Floats of workspace the weights need per run: OIHW weights without
  // set_weights() are repacked to HWIO there.
  int64_t repack_floats() const;
  // The weights to compute with: the packed ones, the raw ones, or the raw
  // OIHW ones repacked into `scratch` (repack_floats() floats).
  Status prepare_weights(const float* weights, float* scratch, DeviceWeights* out) const;

  cudaStream_t stream() const { return resources_->stream; }
  int device() const { return resources_->device; }
  cublasHandle_t cublas() const { return resources_->cublas; }
  bool tf32() const { return tf32_; }
  // The GEMMs' arithmetic as a variant token (Conv2dPlan::variant()).
  const char* math() const { return tf32_ ? "tf32" : "fp32"; }
  const Geometry& geom() const { return geom_; }

 private:
  std::shared_ptr<detail::CudaResources> resources_;
  bool tf32_;
  Geometry geom_;
  float* device_weights_ = nullptr;
};

// Bytes of tile buffers per block for FFT and Winograd: `default_mib` MiB,
// or Context::cuda_block_mib() where it is 1 to 2^20 - 1 (a switch for
// measuring the block size, like Context::set_cuda_gemm).
inline int64_t tile_block_bytes(const Context& context, int64_t default_mib) {
  const int64_t mib = context.cuda_block_mib();
  return (mib > 0 && mib < (int64_t(1) << 20) ? mib : default_mib) << 20;
}

// Rounds a byte count up to a multiple of 256 (cudaMalloc's alignment), so
// that every region of a workspace starts 256-byte aligned.
inline int64_t align_bytes(int64_t bytes) { return (bytes + 255) / 256 * 256; }

}  // namespace cuda
}  // namespace mec
