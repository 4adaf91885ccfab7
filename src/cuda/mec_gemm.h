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

namespace mec {
namespace cuda {

// How one shape is launched: chosen once per plan.
struct MecGemmConfig {
  int block_m = 128;        // rows per block (32, 64 or 128)
  int block_n = 128;        // columns of k per block (64 or 128)
  int splits = 1;           // K split over blocks (> 1: dst is zeroed and summed atomically)
  int64_t split_depth = 0;  // depth per split, a multiple of 16
  bool tf32 = false;        // TF32 tensor cores instead of FFMA
};

// Products with fewer rows (n*p*q) than this are "small": our kernel runs
// them with 64- or 32-row tiles (on an H100 at batch 1, 64 x 64 is the
// fastest or within 10% of it on every paper layer).
constexpr int64_t kSmallRows = 2048;

// Output widths up to this also run our kernel where the windows of L
// allow 16-byte copies (windows_aligned()). On an H100 the kernel beats
// cuBLAS's batched GEMMs of q rows at q = 26 and 54 at batch 32 and at q = 54, 55, 56 at batch 1,
// but not on the c = 3 layers at batch 32 (4-byte copies), nor from q ~ 110 on.
constexpr int64_t kKernelMaxQ = 64;

// Products with fewer rows than this run our kernel at any q (with the
// K split of the launch model it beats cuBLAS's batched GEMMs of q rows
// at batch 1 on the 112- and 224-wide layers; at batch 32 those have
// 100k+ rows and cuBLAS stays).
constexpr int64_t kKernelAnyQRows = 65536;

// With TF32 allowed, products of at least this many columns per group run
// our kernel (its mma path) at q <= kKernelMaxQ whatever their rows
// (VGG-16's conv3/conv4 at batch 32 1.3-2.2x faster than cuBLAS's TF32
// GEMMs of q rows; on the 64- and 128-column layers it is slower).
constexpr int64_t kKernelTf32MinCols = 256;

// The tile shape, from the columns of one group (kg = k with one group):
// 128 x 96 where kg is a multiple of 96 but not of 128, 128 x 128 for other
// kg > 64, 128 x 64 for kg <= 64 with 16-byte-aligned windows and a block
// per multiprocessor; 64 x 64, or 32 x 64 for at most 32 rows, below
// kSmallRows or else) and the K split that a model of the launch on `sms`
// multiprocessors finds fastest (split_for() in mec_gemm_policy.cc, fitted
// on an H100); a force_m x force_n the kernel has (128x128, 128x96, 128x64,
// 64x64, 32x64) is taken instead, split force_splits ways if > 0
// (Context::cuda_tile(), or MEC_CUDA_TILE in the environment, at plan
// creation, for benchmarks and tests).
MecGemmConfig mec_gemm_config(const Geometry& g, bool tf32, int sms, int force_m = 0,
                              int force_n = 0, int force_splits = 0);

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
bool from_src_fits(const Geometry& g);
// Whether mec_gemm_src follows g's windows as kernel rows of s*c floats
// (c not a multiple of 16), copied 4 bytes at a time.
bool from_src_by_runs(const Geometry& g);
cudaError_t mec_gemm_src(const Geometry& g, const MecGemmConfig& config, const float* src,
                         const float* weights, const float* bias, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
