// Internal: the memory operations that both multiply paths of MEC's GEMM
// kernel share (FFMA in mec_gemm_kernel.cuh, TF32 in mec_gemm_tf32.cuh) -
// the cp.async copies that fill its shared memory, and store_run, through
// which either epilogue writes or adds its runs of columns to dst. Device
// code for those two headers, which only mec_gemm.cu includes; in an
// unnamed namespace, as everything of the kernel.
#pragma once

#include <cuda_runtime.h>

namespace mec {
namespace cuda {
namespace {

// cp.async of kBytes (4, 8 or 16) from global memory to the shared-memory
// address smem; only the first src_bytes are read, the rest of the kBytes
// is zero-filled.
template <int kBytes>
__device__ __forceinline__ void copy_async(unsigned smem, const float* gmem, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(smem), "l"(gmem),
               "n"(kBytes), "r"(src_bytes));
}
__device__ __forceinline__ void copy_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void copy_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// Writes kLen (4 or 2) values v to columns c0.. of one row of dst (out:
// the row), as one 16- or 8-byte store or atomic add where dst allows it
// (vec) and all kLen columns are below n, else column by column up to n.
template <int kLen>
__device__ __forceinline__ void store_run(float* out, int c0, int n, const float* v, bool vec,
                                          bool atomic) {
  if (vec && c0 + kLen - 1 < n) {
    if constexpr (kLen == 4) {
      const float4 w = make_float4(v[0], v[1], v[2], v[3]);
      if (atomic) {
#if __CUDA_ARCH__ >= 900
        atomicAdd(reinterpret_cast<float4*>(out + c0), w);  // sm_90: one 16-byte atomic
#else
        atomicAdd(out + c0, w.x), atomicAdd(out + c0 + 1, w.y);
        atomicAdd(out + c0 + 2, w.z), atomicAdd(out + c0 + 3, w.w);
#endif
      } else {
        *reinterpret_cast<float4*>(out + c0) = w;
      }
    } else {
      const float2 w = make_float2(v[0], v[1]);
      if (atomic) {
#if __CUDA_ARCH__ >= 900
        atomicAdd(reinterpret_cast<float2*>(out + c0), w);  // sm_90: one 8-byte atomic
#else
        atomicAdd(out + c0, w.x), atomicAdd(out + c0 + 1, w.y);
#endif
      } else {
        *reinterpret_cast<float2*>(out + c0) = w;
      }
    }
    return;
  }
#pragma unroll
  for (int j = 0; j < kLen; ++j) {
    if (c0 + j >= n) break;
    if (atomic) {
      atomicAdd(out + c0 + j, v[j]);
    } else {
      out[c0 + j] = v[j];
    }
  }
}

}  // namespace
}  // namespace cuda
}  // namespace mec
