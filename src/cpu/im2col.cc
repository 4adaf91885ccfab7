// im2col: the baseline MEC is measured against. The workspace holds, per
// group, one row of r*s*cg values for every output pixel of every image
// (padding written as zeros), then one GEMM per group against the weights.
// Workspace: n*p*q*r*s*c floats, plus the OIHW weight repack if any.
#include <cstring>

#include "common/checked.h"
#include "common/status_detail.h"
#include "cpu/cpu_plans.h"
#include "cpu/gemm.h"
#include "cpu/im2col_lowering.h"
#include "cpu/parallel.h"
#include "cpu/weights.h"

namespace mec {
namespace cpu {
namespace {

class Im2colPlan : public detail::PlanImpl {
 public:
  Im2colPlan(const Conv2dDesc& desc, int threads, int64_t lowered_floats)
      : PlanImpl(desc, Algorithm::kIm2col), threads_(threads), lowered_floats_(lowered_floats) {
    set_variant("im2col/blas");  // its GEMMs are CBLAS's whatever the context's engine
  }

  void pack_weights(const float* weights) override { pack_weights_hwio(desc(), weights, &packed_); }

  size_t workspace_bytes() const override {
    return size_t(lowered_floats_ + weight_repack_floats(desc(), has_packed_weights())) *
           sizeof(float);
  }

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void* workspace) const override {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), cg = d.c / d.groups, kg = d.k / d.groups;
    const int64_t depth = d.r * d.s * cg, rows = d.n * p * q;
    float* lowered = static_cast<float*>(workspace);
    const float* prepared =
        prepare_weights(d, weights, packed_weights(), lowered + lowered_floats_, threads_);

    im2col_lower(d, src, lowered, threads_);

    parallel_gemm_rows(d.groups, rows, threads_, [&](int64_t g, int64_t m0, int64_t m1) {
      float* c = dst + m0 * d.k + g * kg;
      sgemm(m1 - m0, kg, depth, lowered + (g * rows + m0) * depth, depth,
            weight_operand(d, prepared, g), 0.0f, c, d.k);
      if (bias) add_bias(c, m1 - m0, kg, d.k, bias + g * kg);
    });
    return Status::kSuccess;
  }

 private:
  const int threads_;
  const int64_t lowered_floats_;
};

}  // namespace

void im2col_lower(const Conv2dDesc& d, const float* src, float* lowered, int threads) {
  const int64_t p = d.p(), q = d.q(), cg = d.c / d.groups;
  const int64_t depth = d.r * d.s * cg, rows = d.n * p * q;
#pragma omp parallel for collapse(3) num_threads(threads) schedule(static)
  for (int64_t g = 0; g < d.groups; ++g) {
    for (int64_t n = 0; n < d.n; ++n) {
      for (int64_t y = 0; y < p; ++y) {
        float* row = lowered + (g * rows + (n * p + y) * q) * depth;
        for (int64_t x = 0; x < q; ++x, row += depth) {
          for (int64_t i = 0; i < d.r; ++i) {
            const int64_t iy = y * d.stride_h + i * d.dilation_h - d.pad_top;
            for (int64_t j = 0; j < d.s; ++j) {
              const int64_t ix = x * d.stride_w + j * d.dilation_w - d.pad_left;
              float* out = row + (i * d.s + j) * cg;
              if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w) {
                std::memset(out, 0, cg * sizeof(float));
              } else {
                std::memcpy(out, src + ((n * d.h + iy) * d.w + ix) * d.c + g * cg,
                            cg * sizeof(float));
              }
            }
          }
        }
      }
    }
  }
}

Status create_im2col(const Conv2dDesc& d, Algorithm, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl) {
  const int64_t depth = d.r * d.s * (d.c / d.groups);
  int64_t floats, bytes;
  if (!checked_product({d.n, d.p(), d.q(), d.r, d.s, d.c}, &floats) ||
      !checked_add(floats, weight_repack_floats(d, false), &bytes) ||
      !checked_product({bytes, int64_t(sizeof(float))}, &bytes)) {
    return fail(Status::kInvalidArgument, "im2col workspace n*p*q*r*s*c overflows 64-bit bytes");
  }
  if (!gemm_fits(d.n * d.p() * d.q(), d.k, depth, depth, d.k, d.k)) {
    return fail(Status::kUnsupported, "im2col GEMM dimensions exceed the BLAS 32-bit limit");
  }
  impl->reset(new Im2colPlan(d, context.threads(), floats));
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
