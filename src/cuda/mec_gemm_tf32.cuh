// Internal, included only by mec_gemm_kernel.cuh: the TF32 tensor-core
// path of MEC's GEMM kernel (Context::set_allow_tf32), in a file of its own
// because it replaces only the kernel's multiply and epilogue - the copies,
// the pipeline and the addressing are the FFMA kernel's - and the kernel
// takes it in only under `if constexpr (kTf32)`.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/mec_gemm_io.cuh"
#include "cuda/mec_gemm_tile.h"

namespace mec {
namespace cuda {
namespace {

// TF32 tensor cores (Context::set_allow_tf32): warps 2 along M x
// the rest along N, each a kWm x kWn block of m16n8k8 mma tiles with fp32
// accumulators - the thread's kTm x kTn accumulators of the FFMA tile,
// numbered [i][j][e] here. A's fragments come from its [m][k] rows by
// ldmatrix (8 rows of 4 floats per matrix: the fragment layout of TF32's
// A), B's by 32-bit loads down its padded rows; each operand is rounded
// to TF32 (cvt.rna) first.
template <int kBm, int kBn>
struct Mma {
  using T = Tile<kBm, kBn, true>;
  static constexpr int kWarps = T::kThreads / 32;
  static constexpr int kWm = kBm / 2, kWn = kBn / (kWarps / 2);
  static constexpr int kMi = kWm / 16, kNi = kWn / 8;
  static_assert(kWm % 16 == 0 && kWn % 8 == 0 && kMi * kNi * 4 == T::kTm * T::kTn, "mma tiles");

  static __device__ __forceinline__ unsigned to_tf32(unsigned bits) {
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(__uint_as_float(bits)));
    return r;
  }

  // One step from a stage's A [kBm][kAw] and B [kBk][kBw] into acc.
  static __device__ __forceinline__ void multiply(float* acc, const float* as, const float* bs,
                                                  int warp, int lane) {
    const int wm0 = (warp % 2) * kWm, wn0 = (warp / 2) * kWn;
    // ldmatrix: lanes 0-15 give rows 0-15 at k, lanes 16-31 rows 0-15 at k + 4.
    const unsigned a_row =
        unsigned(__cvta_generic_to_shared(as + (wm0 + lane % 16) * T::kAw + (lane / 16) * 4));
    const float* bt = bs + (lane % 4) * T::kBw + wn0 + lane / 4;
#pragma unroll
    for (int kq = 0; kq < kBk; kq += 8) {
      unsigned af[kMi][4], bf[kNi][2];
#pragma unroll
      for (int i = 0; i < kMi; ++i) {
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                     : "=r"(af[i][0]), "=r"(af[i][1]), "=r"(af[i][2]), "=r"(af[i][3])
                     : "r"(a_row + (i * 16 * T::kAw + kq) * 4));
#pragma unroll
        for (int e = 0; e < 4; ++e) af[i][e] = to_tf32(af[i][e]);
      }
#pragma unroll
      for (int j = 0; j < kNi; ++j) {
        bf[j][0] = to_tf32(__float_as_uint(bt[kq * T::kBw + j * 8]));
        bf[j][1] = to_tf32(__float_as_uint(bt[(kq + 4) * T::kBw + j * 8]));
      }
#pragma unroll
      for (int i = 0; i < kMi; ++i)
#pragma unroll
        for (int j = 0; j < kNi; ++j) {
          float* c = acc + (i * kNi + j) * 4;
          asm volatile(
              "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, "
              "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
              : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
              : "r"(af[i][0]), "r"(af[i][1]), "r"(af[i][2]), "r"(af[i][3]), "r"(bf[j][0]),
                "r"(bf[j][1]));
        }
    }
  }

  // A thread's accumulators: rows lane / 4 and + 8 of each 16, columns
  // 2 * (lane % 4) and + 1 of each 8, as pairs (store_run), the bias added
  // where add_bias.
  static __device__ __forceinline__ void store(const float* acc, float* dst, int rows, int m0,
                                               int n0, int n, int ld, const float* bias,
                                               bool add_bias, bool vec, bool atomic, int warp,
                                               int lane) {
    const int wm0 = (warp % 2) * kWm, wn0 = (warp / 2) * kWn;
#pragma unroll
    for (int i = 0; i < kMi; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int m = m0 + wm0 + i * 16 + half * 8 + lane / 4;
        if (m >= rows) continue;
        float* out = dst + int64_t(m) * ld;
#pragma unroll
        for (int j = 0; j < kNi; ++j) {
          const int c0 = n0 + wn0 + j * 8 + (lane % 4) * 2;
          float v[2];
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            v[e] = acc[(i * kNi + j) * 4 + half * 2 + e] +
                   (add_bias && c0 + e < n ? __ldg(bias + c0 + e) : 0.0f);
          }
          store_run<2>(out, c0, n, v, vec, atomic);
        }
      }
  }
};

}  // namespace
}  // namespace cuda
}  // namespace mec
