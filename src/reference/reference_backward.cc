// See reference_backward.h.
#include "reference/reference_backward.h"

#include <cstdint>

#include "reference/reference_conv.h"

namespace mec {
namespace reference {
namespace {

// The output position whose window tap `tap` lands on input position `in`
// along one axis, or -1 if none does: out * stride - pad + tap * dilation
// must equal in, with out in [0, out_size).
int64_t output_of(int64_t in, int64_t tap, int64_t pad, int64_t stride, int64_t dilation,
                  int64_t out_size) {
  const int64_t t = in + pad - tap * dilation;
  if (t < 0 || t % stride != 0) return -1;
  const int64_t out = t / stride;
  return out < out_size ? out : -1;
}

// The gradient of src element (n, iy, ix, channel c0): ddst times weights
// over every tap that reads it and every output channel of its group.
double data_element(const Conv2dDesc& d, const float* ddst, const float* weights, int64_t n,
                    int64_t iy, int64_t ix, int64_t c0) {
  const int64_t p = d.p(), q = d.q();
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t g = c0 / cg, ci = c0 % cg;
  double acc = 0.0;
  for (int64_t i = 0; i < d.r; ++i) {
    const int64_t y = output_of(iy, i, d.pad_top, d.stride_h, d.dilation_h, p);
    if (y < 0) continue;
    for (int64_t j = 0; j < d.s; ++j) {
      const int64_t x = output_of(ix, j, d.pad_left, d.stride_w, d.dilation_w, q);
      if (x < 0) continue;
      const float* dd = ddst + ((n * p + y) * q + x) * d.k;
      for (int64_t kk = 0; kk < kg; ++kk) {
        const int64_t ko = g * kg + kk;
        acc += double(dd[ko]) * double(weights[weight_index(d, ko, i, j, ci)]);
      }
    }
  }
  return acc;
}

// The gradient of weight (ko, i, j, ci): src times ddst over every image and
// output position whose tap (i, j) lands inside src.
double weight_element(const Conv2dDesc& d, const float* src, const float* ddst, int64_t ko,
                      int64_t i, int64_t j, int64_t ci) {
  const int64_t p = d.p(), q = d.q();
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t c0 = (ko / kg) * cg + ci;
  double acc = 0.0;
  for (int64_t n = 0; n < d.n; ++n) {
    for (int64_t y = 0; y < p; ++y) {
      const int64_t iy = y * d.stride_h - d.pad_top + i * d.dilation_h;
      if (iy < 0 || iy >= d.h) continue;
      for (int64_t x = 0; x < q; ++x) {
        const int64_t ix = x * d.stride_w - d.pad_left + j * d.dilation_w;
        if (ix < 0 || ix >= d.w) continue;
        acc += double(src[((n * d.h + iy) * d.w + ix) * d.c + c0]) *
               double(ddst[((n * p + y) * q + x) * d.k + ko]);
      }
    }
  }
  return acc;
}

}  // namespace

void conv2d_backward_data(const Conv2dDesc& d, const float* ddst, const float* weights,
                          double* dsrc) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < d.n; ++n) {
    for (int64_t iy = 0; iy < d.h; ++iy) {
      for (int64_t ix = 0; ix < d.w; ++ix) {
        for (int64_t c0 = 0; c0 < d.c; ++c0) {
          dsrc[((n * d.h + iy) * d.w + ix) * d.c + c0] =
              data_element(d, ddst, weights, n, iy, ix, c0);
        }
      }
    }
  }
}

void conv2d_backward_weights(const Conv2dDesc& d, const float* src, const float* ddst,
                             double* dweights, double* dbias) {
  const int64_t cg = d.c / d.groups;
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
  for (int64_t ko = 0; ko < d.k; ++ko) {
    for (int64_t i = 0; i < d.r; ++i) {
      for (int64_t j = 0; j < d.s; ++j) {
        for (int64_t ci = 0; ci < cg; ++ci) {
          dweights[weight_index(d, ko, i, j, ci)] = weight_element(d, src, ddst, ko, i, j, ci);
        }
      }
    }
  }
  if (dbias == nullptr) return;
  const int64_t pixels = d.n * d.p() * d.q();
#pragma omp parallel for schedule(static)
  for (int64_t ko = 0; ko < d.k; ++ko) {
    double acc = 0.0;
    for (int64_t e = 0; e < pixels; ++e) acc += double(ddst[e * d.k + ko]);
    dbias[ko] = acc;
  }
}

}  // namespace reference
}  // namespace mec
