// im2col's backward passes, the baseline MEC's are measured against (as
// im2col is forward). Both go through im2col's column matrix (per group one
// row of r*s*cg values per output pixel, n*p*q*r*s*c floats of workspace):
//   data:    columns = ddst * W^T (one GEMM per group), then col2im: every
//            input pixel gathers the column entries of the taps that read it
//   weights: columns = im2col(src), then dW = columns^T * ddst per group,
//            its r*s*cg rows split between threads (each gradient element is
//            one GEMM's sum: deterministic for any thread count)
#include "common/checked.h"
#include "common/status_detail.h"
#include "cpu/backward_common.h"
#include "cpu/cpu_plans.h"
#include "cpu/im2col_lowering.h"
#include "cpu/parallel.h"

namespace mec {
namespace cpu {
namespace {

class Im2colBackwardPlan : public BackwardPlan {
 public:
  Im2colBackwardPlan(const Conv2dDesc& desc, Pass pass, int threads, int64_t columns)
      : BackwardPlan(desc, Algorithm::kIm2col, pass, threads), columns_(columns) {
    set_variant("im2col/blas");
  }

 private:
  int64_t scratch_floats() const override { return columns_; }

  void backward_data(const float* ddst, const float* weights, float* columns,
                     float* dsrc) const override {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), cg = d.c / d.groups, kg = d.k / d.groups;
    const int64_t depth = d.r * d.s * cg, rows = d.n * p * q;
    parallel_gemm_rows(d.groups, rows, threads(), [&](int64_t g, int64_t m0, int64_t m1) {
      sgemm(m1 - m0, depth, kg, ddst + m0 * d.k + g * kg, d.k, transposed_weights(d, weights, g),
            0.0f, columns + (g * rows + m0) * depth, depth);
    });
#pragma omp parallel for collapse(2) num_threads(threads()) schedule(static)
    for (int64_t n = 0; n < d.n; ++n) {
      for (int64_t iy = 0; iy < d.h; ++iy) {
        float* out = dsrc + (n * d.h + iy) * d.w * d.c;
        std::fill(out, out + d.w * d.c, 0.0f);
        for (int64_t i = 0; i < d.r; ++i) {
          const int64_t y = output_reading(iy, i, d.pad_top, d.stride_h, d.dilation_h, p);
          if (y < 0) continue;
          for (int64_t ix = 0; ix < d.w; ++ix) {
            for (int64_t j = 0; j < d.s; ++j) {
              const int64_t x = output_reading(ix, j, d.pad_left, d.stride_w, d.dilation_w, q);
              if (x < 0) continue;
              const int64_t pixel = (n * p + y) * q + x;
              for (int64_t g = 0; g < d.groups; ++g) {
                const float* col = columns + (g * rows + pixel) * depth + (i * d.s + j) * cg;
                float* o = out + ix * d.c + g * cg;
                for (int64_t ci = 0; ci < cg; ++ci) o[ci] += col[ci];
              }
            }
          }
        }
      }
    }
  }

  void backward_weights(const float* src, const float* ddst, float* columns,
                        float* hwio) const override {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
    const int64_t depth = d.r * d.s * cg, rows = d.n * d.p() * d.q();
    im2col_lower(d, src, columns, threads());
    parallel_gemm_rows(d.groups, depth, threads(), [&](int64_t g, int64_t m0, int64_t m1) {
      sgemm_tn(m1 - m0, kg, rows, columns + g * rows * depth + m0, depth, ddst + g * kg, d.k, 0.0f,
               hwio + m0 * d.k + g * kg, d.k);
    });
  }

  const int64_t columns_;  // floats of the column matrix
};

}  // namespace

Status create_im2col_backward(const Conv2dDesc& d, Pass pass, Algorithm, const Context& context,
                              std::unique_ptr<detail::PlanImpl>* impl) {
  const int64_t depth = d.r * d.s * (d.c / d.groups), rows = d.n * d.p() * d.q();
  int64_t floats, bytes;
  if (!checked_product({rows, d.r, d.s, d.c}, &floats) ||
      !checked_add(floats, d.weight_elems(), &bytes) ||
      !checked_product({bytes, int64_t(sizeof(float))}, &bytes)) {
    return fail(Status::kInvalidArgument, "im2col workspace n*p*q*r*s*c overflows 64-bit bytes");
  }
  if (!gemm_fits(rows, depth, d.k, d.k, d.k, depth) ||
      !gemm_fits(depth, d.k, rows, depth, d.k, d.k)) {
    return fail(Status::kUnsupported, "im2col GEMM dimensions exceed the BLAS 32-bit limit");
  }
  impl->reset(new Im2colBackwardPlan(d, pass, context.threads(), floats));
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
