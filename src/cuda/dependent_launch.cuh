// Internal, CUDA sources only: programmatic dependent launch (Hopper, run
// 15). MEC's GEMM kernels (mec_gemm.cu, mec_shallow.cu) follow the
// lowering kernel on the stream; launched with this attribute they start
// while its last blocks finish - their setup and the shallow kernel's
// weight loads overlap them - and wait for it before they read L.
#pragma once

#include <cuda_runtime.h>

namespace mec {
namespace cuda {

// In a kernel others depend on: this block's writes are done; dependents
// may launch once every block has said so (or exited).
__device__ __forceinline__ void allow_dependents() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// In a dependent kernel: waits until the kernel before it on the stream
// has finished and its writes are visible (at once when it was launched
// without the attribute).
__device__ __forceinline__ void wait_for_prerequisites() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Launches kernel<<<grid, block, smem, stream>>>(args...) as a dependent.
template <typename... Params, typename... Args>
cudaError_t launch_dependent(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
                             cudaStream_t stream, Args... args) {
  cudaLaunchAttribute attribute;
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, kernel, args...);
}

}  // namespace cuda
}  // namespace mec
