// Internal: MEC Solution B as ONE kernel of our own (mec_gemm.cu) instead of
// one cuBLAS GEMM per (image, output row). Every output pixel (n, y, x) is
// a row of one big product dst[n*p*q x k] = A * W whose row (n, y, x) is
// the window of output row y in row (n, x) of L - r*s*c contiguous floats
// at offset y*stride_h*s*c - so the kernel reads L in place, tiles across
// (n, y) boundaries (no small-M GEMMs), writes NHWC dst directly and adds
// the bias in its epilogue. Strict fp32 FFMA arithmetic, or with TF32
// allowed the same tiles on TF32 tensor cores (mma.sync m16n8k8, fp32
// accumulation).
// Used for dilation_h == 1 and HWIO weights. With groups, each group is
// its own product over its part of L (L[g]), its kg columns of the weights
// and of dst, a launch per group.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/kernels.h"
#include "cuda/mec_policy.h"

namespace mec {
namespace cuda {

// Its tile and K split (MecGemmConfig, mec_gemm_config()) and where it runs
// are the policy's: mec_policy.h.

// How a kernel finds row m = (n, y, x)'s window in L (of one group):
// `depth` floats at lowered + (n*q + x)*ld + y*ystep (mec_gemm.cu,
// mec_shallow.cu).
struct Windows {
  const float* lowered;
  int m, depth;  // rows n*p*q, K = r*s*cg
  int p, q, pq;
  int64_t ld;     // floats per row of L: hp*s*cg
  int64_t ystep;  // stride_h*s*cg
};

inline Windows windows(const Geometry& g, const float* lowered) {
  return {lowered,  int(g.n * g.p * g.q), int(g.r * g.s * g.cg), int(g.p),
          int(g.q), int(g.p * g.q),       g.hp * g.s * g.cg,     g.stride_h * g.s * g.cg};
}

// How a kernel finds row m = (n, y, x)'s window in src instead (the
// lowering in its copies): kernel row i, column j of it is pixel
// (y*stride_h - pad_top + i*dilation_h, x*stride_w - pad_left +
// j*dilation_w) of image n (zero outside the image), c channels each.
struct SrcWindows {
  const float* src;  // NHWC
  int h, w, c, s;
  int stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
};

inline SrcWindows src_windows(const Geometry& g, const float* src) {
  return {src,
          int(g.h),
          int(g.w),
          int(g.c),
          int(g.s),
          int(g.stride_h),
          int(g.stride_w),
          int(g.dilation_h),
          int(g.dilation_w),
          int(g.pad_top),
          int(g.pad_left)};
}

// dst = windows of L times the HWIO weights (+ bias, may be null). With a
// split K the kernel adds into dst: zeroed here by a cudaMemsetAsync unless
// dst_zeroed (the caller zeroed it already, e.g. in mec_lower()).
cudaError_t mec_gemm(const Geometry& g, const MecGemmConfig& config, const float* lowered,
                     const float* weights, const float* bias, float* dst, cudaStream_t stream,
                     bool dst_zeroed = false);

// The lowering in the copies: the same product with each window
// of L read straight from src (NHWC) - L is never written, and no lowering
// kernel runs before this one, which at batch 1 is a quarter of a layer's
// time. For one group whose windows' K steps the copies can follow: c a
// multiple of 16 (a step of a row then stays in one input pixel, or in
// the padding; any dilation), or dilation_w == 1 and s*c >= 16 (each
// kernel row of a window is then s*c contiguous floats of src, and a step
// crosses at most one kernel row: the RGB layers); any padding and
// stride. dst must not overlap src. With a split K, dst is zeroed by a
// kernel that the GEMM overlaps.
// (from_src_fits() and from_src_by_runs(), mec_policy.h, say which.)
cudaError_t mec_gemm_src(const Geometry& g, const MecGemmConfig& config, const float* src,
                         const float* weights, const float* bias, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
