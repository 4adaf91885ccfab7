// See reference_conv.h.
#include "reference/reference_conv.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace mec {
namespace reference {
namespace {

// Output element (n, y, x, ko): bias plus the sum over the window, in double.
double element(const Conv2dDesc& d, const float* src, const float* weights, const float* bias,
               int64_t n, int64_t y, int64_t x, int64_t ko) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t g = ko / kg;
  double acc = bias ? double(bias[ko]) : 0.0;
  for (int64_t i = 0; i < d.r; ++i) {
    const int64_t iy = y * d.stride_h - d.pad_top + i * d.dilation_h;
    if (iy < 0 || iy >= d.h) continue;
    for (int64_t j = 0; j < d.s; ++j) {
      const int64_t ix = x * d.stride_w - d.pad_left + j * d.dilation_w;
      if (ix < 0 || ix >= d.w) continue;
      for (int64_t ci = 0; ci < cg; ++ci) {
        const double v = src[((n * d.h + iy) * d.w + ix) * d.c + g * cg + ci];
        acc += v * double(weights[weight_index(d, ko, i, j, ci)]);
      }
    }
  }
  return acc;
}

}  // namespace

// Index of weight (output channel ko, kernel row i, column j, input channel
// ci within its group) in the descriptor's filter layout.
int64_t weight_index(const Conv2dDesc& d, int64_t ko, int64_t i, int64_t j, int64_t ci) {
  const int64_t cg = d.c / d.groups;
  switch (d.filter_layout) {
    case FilterLayout::kHWIO:
      return ((i * d.s + j) * cg + ci) * d.k + ko;
    case FilterLayout::kOHWI:
      return ((ko * d.r + i) * d.s + j) * cg + ci;
    case FilterLayout::kOIHW:
      return ((ko * cg + ci) * d.r + i) * d.s + j;
  }
  return -1;
}

void conv2d(const Conv2dDesc& d, const float* src, const float* weights, const float* bias,
            double* dst) {
  const int64_t p = d.p(), q = d.q();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < d.n; ++n) {
    for (int64_t y = 0; y < p; ++y) {
      for (int64_t x = 0; x < q; ++x) {
        for (int64_t ko = 0; ko < d.k; ++ko) {
          dst[((n * p + y) * q + x) * d.k + ko] = element(d, src, weights, bias, n, y, x, ko);
        }
      }
    }
  }
}

void conv2d_at(const Conv2dDesc& d, const float* src, const float* weights, const float* bias,
               const OutputPoint* points, int64_t count, double* dst) {
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < count; ++i) {
    const OutputPoint& pt = points[i];
    dst[i] = element(d, src, weights, bias, pt.n, pt.y, pt.x, pt.k);
  }
}

double max_rel_error(const float* out, const double* ref, int64_t count) {
  double max_diff = 0.0, max_ref = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(out[i])) return HUGE_VAL;
    max_diff = std::max(max_diff, std::fabs(double(out[i]) - ref[i]));
    max_ref = std::max(max_ref, std::fabs(ref[i]));
  }
  return max_ref > 0.0 ? max_diff / max_ref : max_diff;
}

}  // namespace reference
}  // namespace mec
