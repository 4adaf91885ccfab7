// Internal: the from-src cursors of MEC's GEMM kernel - how its A copies
// follow each output row's window through src (NHWC) instead of reading it
// from L, which is the lowering done in the copies (mec_gemm_src). A file
// of its own because it is the one part of the kernel that knows the
// convolution's geometry (stride, dilation, padding); the rest is a plain
// tiled GEMM. Included by the kernel (mec_gemm_kernel.cuh) and by
// mec_gemm.cu, which picks the cursor (kFromPixels, kFromRuns) per layer.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/mec_gemm.h"
#include "cuda/mec_gemm_tile.h"

namespace mec {
namespace cuda {
namespace {

// Where A's copies find a row's window (the kernel's kSrc): in L; in src a
// step at a time, each step in one pixel (c % kBk == 0: SrcCursor); in src
// as kernel rows of s*c contiguous floats (dilation_w == 1, s*c >= kBk:
// RunCursor).
constexpr int kFromL = 0, kFromPixels = 1, kFromRuns = 2;

// Where a thread's next A floats lie in src (kFromPixels): pixel (yy, xx)
// of image img, channel ci, kernel column j of the window's row; off = the
// float's offset in src (meaningful only where the pixel is inside).
struct SrcCursor {
  int64_t off;
  int yy, xx, j, ci;
};

// The cursor at depth k of row (img, y, x)'s window: k = (i*s + j)*c + ci
// for kernel row i, column j, channel ci.
__device__ __forceinline__ void src_cursor_start(const SrcWindows& a, int img, int y, int x, int k,
                                                 SrcCursor* cur) {
  const int sc = a.s * a.c, i = k / sc, rem = k - i * sc;
  cur->j = rem / a.c;
  cur->ci = rem - cur->j * a.c;
  cur->yy = y * a.stride_h - a.pad_top + i * a.dilation_h;
  cur->xx = x * a.stride_w - a.pad_left + cur->j * a.dilation_w;
  cur->off = ((int64_t(img) * a.h + cur->yy) * a.w + cur->xx) * a.c + cur->ci;
}

// Moves the cursor kBk floats on: to the next pixel of the kernel row
// after c channels, to the next kernel row after s pixels.
__device__ __forceinline__ void src_cursor_step(const SrcWindows& a, SrcCursor* cur) {
  cur->ci += kBk;
  cur->off += kBk;
  if (cur->ci < a.c) return;
  cur->ci -= a.c;
  cur->xx += a.dilation_w;
  cur->off += int64_t(a.dilation_w - 1) * a.c;
  if (++cur->j < a.s) return;
  cur->j = 0;
  cur->xx -= a.s * a.dilation_w;
  cur->yy += a.dilation_h;
  cur->off += (int64_t(a.dilation_h) * a.w - a.s * a.dilation_w) * a.c;
}

// Where a thread's next A floats lie in src (kFromRuns, dilation_w == 1):
// the window's current kernel row is the s*c floats of pixel row yy from
// offset `row` on (pixel column x*stride_w - pad_left, perhaps outside the
// image), of which those at [lo, hi) lie inside the image; the thread's
// next float is the one at `at`.
struct RunCursor {
  int64_t row;
  int yy, at, lo, hi;
};

__device__ __forceinline__ void src_cursor_start(const SrcWindows& a, int img, int y, int x, int k,
                                                 RunCursor* cur) {
  const int sc = a.s * a.c, i = k / sc, x0 = x * a.stride_w - a.pad_left;
  cur->at = k - i * sc;
  cur->yy = y * a.stride_h - a.pad_top + i * a.dilation_h;
  cur->row = ((int64_t(img) * a.h + cur->yy) * a.w + x0) * a.c;
  cur->lo = max(0, -x0) * a.c;
  cur->hi = min(a.s, a.w - x0) * a.c;
}

// The kernel row after the cursor's.
__device__ __forceinline__ void next_kernel_row(const SrcWindows& a, int* yy, int64_t* row) {
  *yy += a.dilation_h;
  *row += int64_t(a.dilation_h) * a.w * a.c;
}

// Moves the cursor kBk floats on (s*c >= kBk: into the next kernel row at
// most).
__device__ __forceinline__ void src_cursor_step(const SrcWindows& a, RunCursor* cur) {
  cur->at += kBk;
  if (cur->at < a.s * a.c) return;
  cur->at -= a.s * a.c;
  next_kernel_row(a, &cur->yy, &cur->row);
}

}  // namespace
}  // namespace cuda
}  // namespace mec
