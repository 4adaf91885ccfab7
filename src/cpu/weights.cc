// See weights.h.
#include "cpu/weights.h"

#include <algorithm>

namespace mec {
namespace cpu {

namespace {

// OIHW [k][cg][r][s] -> HWIO [r][s][cg][k]
void oihw_to_hwio(const Conv2dDesc& d, const float* weights, float* packed, int threads) {
  const int64_t cg = d.c / d.groups;
#pragma omp parallel for collapse(2) num_threads(threads) schedule(static)
  for (int64_t i = 0; i < d.r; ++i) {
    for (int64_t j = 0; j < d.s; ++j) {
      for (int64_t ci = 0; ci < cg; ++ci) {
        float* out = packed + ((i * d.s + j) * cg + ci) * d.k;
        for (int64_t ko = 0; ko < d.k; ++ko) {
          out[ko] = weights[((ko * cg + ci) * d.r + i) * d.s + j];
        }
      }
    }
  }
}

}  // namespace

void to_hwio(const Conv2dDesc& d, const float* weights, float* hwio, int threads) {
  const int64_t depth = d.r * d.s * (d.c / d.groups);
  if (d.filter_layout == FilterLayout::kOIHW) return oihw_to_hwio(d, weights, hwio, threads);
  if (d.filter_layout == FilterLayout::kHWIO) {
    std::copy(weights, weights + d.weight_elems(), hwio);
    return;
  }
  // OHWI [k][depth] -> [depth][k]
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t kk = 0; kk < depth; ++kk) {
    for (int64_t o = 0; o < d.k; ++o) hwio[kk * d.k + o] = weights[o * depth + kk];
  }
}

int64_t weight_repack_floats(const Conv2dDesc& d, bool packed) {
  return d.filter_layout == FilterLayout::kOIHW && !packed ? d.weight_elems() : 0;
}

const float* prepare_weights(const Conv2dDesc& d, const float* weights, const float* plan_packed,
                             float* scratch, int threads) {
  if (weights == nullptr) return plan_packed;
  if (d.filter_layout != FilterLayout::kOIHW) return weights;
  oihw_to_hwio(d, weights, scratch, threads);
  return scratch;
}

void pack_weights_hwio(const Conv2dDesc& d, const float* weights, std::vector<float>* packed) {
  packed->resize(d.weight_elems());
  if (d.filter_layout == FilterLayout::kOIHW) {
    oihw_to_hwio(d, weights, packed->data(), 1);
  } else {
    packed->assign(weights, weights + d.weight_elems());
  }
}

WeightOperand weight_operand(const Conv2dDesc& d, const float* prepared, int64_t g) {
  const int64_t kg = d.k / d.groups;
  if (d.filter_layout == FilterLayout::kOHWI) {
    const int64_t depth = d.r * d.s * (d.c / d.groups);
    return {prepared + g * kg * depth, depth, true};
  }
  return {prepared + g * kg, d.k, false};  // HWIO, or OIHW repacked to HWIO
}

}  // namespace cpu
}  // namespace mec
