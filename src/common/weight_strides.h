// Internal: element strides of a filter tensor along (k, r, s, c_in_group)
// for each FilterLayout, so that direct, FFT and Winograd (CPU and CUDA)
// read the weights in place, whatever their layout, without a repacking
// buffer.
#pragma once

#include <cstdint>

#include "mec/conv.h"

namespace mec {

struct WeightStrides {
  int64_t k, r, s, c;
};

inline WeightStrides weight_strides(const Conv2dDesc& d) {
  const int64_t cg = d.c / d.groups;
  switch (d.filter_layout) {
    case FilterLayout::kOHWI:
      return {d.r * d.s * cg, d.s * cg, cg, 1};
    case FilterLayout::kOIHW:
      return {cg * d.r * d.s, d.s, 1, d.r * d.s};
    case FilterLayout::kHWIO:
      break;
  }
  return {1, d.s * cg * d.k, cg * d.k, d.k};
}

}  // namespace mec
