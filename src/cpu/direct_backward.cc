// Direct backward passes: no workspace, the weights in any layout read in
// place (weight_strides()), every gradient element a gather computed by one
// thread - deterministic for any thread count, and the baseline the
// lowering-based passes are measured against.
//   data:    dsrc[n][iy][ix][g*cg+ci] = sum over taps (i, j) whose output
//            (y, x) = ((iy + pad_top - i*dh) / sh, (ix + pad_left - j*dw) / sw)
//            is whole and inside, of sum_ko ddst[n][y][x][g*kg+ko] * w(ko, i, j, ci)
//   weights: dw(ko, i, j, ci) = sum over (n, y, x) of src at the tap's input
//            pixel times ddst[n][y][x][ko]
#include <vector>

#include "common/status_detail.h"
#include "cpu/backward_common.h"
#include "cpu/cpu_plans.h"

namespace mec {
namespace cpu {
namespace {

class DirectBackwardPlan : public BackwardPlan {
 public:
  using BackwardPlan::BackwardPlan;
  size_t workspace_bytes() const override { return 0; }

  Status run(const float* a, const float* b, const float* bias_grad, float* out,
             void*) const override {
    if (pass() == Pass::kBackwardData) {
      backward_data(a, b != nullptr ? b : packed_weights(), out);
    } else {
      backward_weights(a, b, out);
      if (bias_grad != nullptr) bias_gradient(desc(), b, const_cast<float*>(bias_grad), threads());
    }
    return Status::kSuccess;
  }

 private:
  // Packed weights are HWIO (pack_weights_hwio keeps OHWI as given).
  WeightStrides strides(bool packed) const {
    Conv2dDesc d = desc();
    if (packed && d.filter_layout == FilterLayout::kOIHW) d.filter_layout = FilterLayout::kHWIO;
    return weight_strides(d);
  }

  void backward_data(const float* ddst, const float* w, float* dsrc) const {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), cg = d.c / d.groups, kg = d.k / d.groups;
    const WeightStrides ws = strides(has_packed_weights());
#pragma omp parallel for collapse(2) num_threads(threads()) schedule(static)
    for (int64_t n = 0; n < d.n; ++n) {
      for (int64_t iy = 0; iy < d.h; ++iy) {
        std::vector<double> acc(size_t(d.c));
        for (int64_t ix = 0; ix < d.w; ++ix) {
          std::fill(acc.begin(), acc.end(), 0.0);
          for (int64_t i = 0; i < d.r; ++i) {
            const int64_t y = output_reading(iy, i, d.pad_top, d.stride_h, d.dilation_h, p);
            if (y < 0) continue;
            for (int64_t j = 0; j < d.s; ++j) {
              const int64_t x = output_reading(ix, j, d.pad_left, d.stride_w, d.dilation_w, q);
              if (x < 0) continue;
              const float* g_out = ddst + ((n * p + y) * q + x) * d.k;
              for (int64_t g = 0; g < d.groups; ++g) {
                for (int64_t ko = 0; ko < kg; ++ko) {
                  const double go = g_out[g * kg + ko];
                  const float* wk = w + (g * kg + ko) * ws.k + i * ws.r + j * ws.s;
                  double* a = acc.data() + g * cg;
                  for (int64_t ci = 0; ci < cg; ++ci) a[ci] += go * wk[ci * ws.c];
                }
              }
            }
          }
          float* out = dsrc + ((n * d.h + iy) * d.w + ix) * d.c;
          for (int64_t c = 0; c < d.c; ++c) out[c] = float(acc[size_t(c)]);
        }
      }
    }
  }

  void backward_weights(const float* src, const float* ddst, float* dw) const {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), cg = d.c / d.groups, kg = d.k / d.groups;
    const WeightStrides ws = weight_strides(d);
    // One task per (group, tap, input channel): its kg gradients.
#pragma omp parallel for collapse(2) num_threads(threads()) schedule(static)
    for (int64_t g = 0; g < d.groups; ++g) {
      for (int64_t tap = 0; tap < d.r * d.s * cg; ++tap) {
        const int64_t i = tap / (d.s * cg), j = tap / cg % d.s, ci = tap % cg;
        std::vector<double> acc(size_t(kg), 0.0);
        for (int64_t n = 0; n < d.n; ++n) {
          for (int64_t y = 0; y < p; ++y) {
            const int64_t iy = y * d.stride_h - d.pad_top + i * d.dilation_h;
            if (iy < 0 || iy >= d.h) continue;
            for (int64_t x = 0; x < q; ++x) {
              const int64_t ix = x * d.stride_w - d.pad_left + j * d.dilation_w;
              if (ix < 0 || ix >= d.w) continue;
              const double v = src[((n * d.h + iy) * d.w + ix) * d.c + g * cg + ci];
              const float* go = ddst + ((n * p + y) * q + x) * d.k + g * kg;
              for (int64_t ko = 0; ko < kg; ++ko) acc[size_t(ko)] += v * go[ko];
            }
          }
        }
        for (int64_t ko = 0; ko < kg; ++ko) {
          dw[(g * kg + ko) * ws.k + i * ws.r + j * ws.s + ci * ws.c] = float(acc[size_t(ko)]);
        }
      }
    }
  }
};

}  // namespace

Status create_direct_backward(const Conv2dDesc& desc, Pass pass, Algorithm, const Context& context,
                              std::unique_ptr<detail::PlanImpl>* impl) {
  impl->reset(new DirectBackwardPlan(desc, Algorithm::kDirect, pass, context.threads()));
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
