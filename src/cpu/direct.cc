// Direct convolution: the honest zero-workspace baseline. One output pixel
// at a time, accumulating all k channels in dst; for HWIO weights the inner
// loop runs over k contiguously and vectorises. OpenMP over (image, row).
#include "common/status_detail.h"
#include "cpu/cpu_plans.h"

namespace mec {
namespace cpu {
namespace {

// Element strides of the weights along (k, r, s, c_in_group).
struct WeightStrides {
  int64_t k, r, s, c;
};

WeightStrides weight_strides(const Conv2dDesc& d) {
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

class DirectPlan : public detail::PlanImpl {
 public:
  DirectPlan(const Conv2dDesc& desc, int threads)
      : PlanImpl(desc, Algorithm::kDirect), threads_(threads) {}

  size_t workspace_bytes() const override { return 0; }

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void*) const override {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), cg = d.c / d.groups, kg = d.k / d.groups;
    const WeightStrides ws = weight_strides(d);
    if (weights == nullptr) weights = packed_weights();
#pragma omp parallel for collapse(2) num_threads(threads_) schedule(static)
    for (int64_t n = 0; n < d.n; ++n) {
      for (int64_t y = 0; y < p; ++y) {
        for (int64_t x = 0; x < q; ++x) {
          float* out = dst + ((n * p + y) * q + x) * d.k;
          for (int64_t ko = 0; ko < d.k; ++ko) out[ko] = bias ? bias[ko] : 0.0f;
          for (int64_t i = 0; i < d.r; ++i) {
            const int64_t iy = y * d.stride_h + i * d.dilation_h - d.pad_top;
            if (iy < 0 || iy >= d.h) continue;
            for (int64_t j = 0; j < d.s; ++j) {
              const int64_t ix = x * d.stride_w + j * d.dilation_w - d.pad_left;
              if (ix < 0 || ix >= d.w) continue;
              const float* in = src + ((n * d.h + iy) * d.w + ix) * d.c;
              for (int64_t g = 0; g < d.groups; ++g) {
                float* o = out + g * kg;
                const float* wg = weights + g * kg * ws.k + i * ws.r + j * ws.s;
                for (int64_t ci = 0; ci < cg; ++ci) {
                  const float v = in[g * cg + ci];
                  const float* wc = wg + ci * ws.c;
                  if (ws.k == 1) {
                    for (int64_t ko = 0; ko < kg; ++ko) o[ko] += v * wc[ko];
                  } else {
                    for (int64_t ko = 0; ko < kg; ++ko) o[ko] += v * wc[ko * ws.k];
                  }
                }
              }
            }
          }
        }
      }
    }
    return Status::kSuccess;
  }

 private:
  const int threads_;
};

}  // namespace

Status create_direct(const Conv2dDesc& desc, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl) {
  impl->reset(new DirectPlan(desc, context.threads()));
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
