// Internal: MEC's lowering on the CPU - L (common/mec_lowering.h) written
// from src, whole or by bands of padded rows - shared by the forward plan
// (mec.cc) and the backward-weights pass (mec_backward.cc), which reads
// the same windows.
#pragma once

#include <cstdint>

#include "cpu/gemm_fast.h"
#include "mec/conv.h"

namespace mec {
namespace cpu {

class MecLowerer {
 public:
  MecLowerer(const Conv2dDesc& desc, const KernelSet& kernels, int threads);

  // Where lower_band writes: an L laid out [group][image][x] with `images`
  // images from `first`, rows of `ld` floats that start at padded row
  // `origin` (the whole image: ld = a row of L, origin 0).
  struct Target {
    float* l;
    int64_t first, images, ld, origin;
  };

  // Rows [yy0, yy1) of the padded input for every row of image n.
  void lower_band(const float* src, int64_t n, int64_t yy0, int64_t yy1, const Target& t) const;
  // All of L, by bands of padded rows: each image split into enough bands
  // that every thread has one (batch 1 on several threads).
  void lower(const float* src, float* lowered) const;

 private:
  void image_rows(int64_t yy0, int64_t yy1, int64_t* iy0, int64_t* iy1) const;
  void zero_padding_rows(float* row, int64_t origin, int64_t yy0, int64_t yy1, int64_t run) const;
  void lower_row(const float* src, int64_t g, int64_t n, int64_t x, int64_t origin, int64_t yy0,
                 int64_t yy1, float* row) const;

  const Conv2dDesc d_;
  const KernelSet& kernels_;  // copy_rows for this CPU
  const int threads_;
  const int64_t row_floats_;  // a row of L: (h + pads) * s * cg
};

}  // namespace cpu
}  // namespace mec
