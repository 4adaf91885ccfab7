// MEC (Cho and Brand, ICML 2017) on CPU.
//
// Lowering: for every group g, image n and output column x, one row of L
// holds the vertical strip of the zero-padded input that column x reads:
//   L[g][n][x][yy][j][ci] = src_padded[n][yy][x*stride_w + j*dilation_w][g*cg + ci]
// for yy in [0, h + pad_top + pad_bottom), j in [0, s). The window of output
// row y is then a contiguous run of r*s*cg values inside every row of L, at
// offset y*stride_h*s*cg, so each GEMM reads L in place with lda = row length.
// With dilation_h > 1 the r kernel rows are not adjacent: r accumulated
// GEMMs of depth s*cg replace the one of depth r*s*cg.
//
// Solution A: one GEMM per (group, output row) over all n*q rows of L; its
// result comes out in (y, n, x) order. With n == 1 that is dst's order. For
// n > 1 the paper's trick: write it into dst, copy it into L's memory (no
// longer needed), permute it back into dst; that keeps the workspace at |L|
// when |O| <= |L|. When |O| > |L| the temporary gets its own |O| floats.
// Solution B: one GEMM per (group, image, output row), written in place.
// kMec picks A when q <= T (Context::mec_threshold) and |O| <= |L|, else B.
#include <cstring>

#include "common/checked.h"
#include "common/status_detail.h"
#include "cpu/cpu_plans.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "cpu/weights.h"

namespace mec {
namespace cpu {
namespace {

class MecPlan : public detail::PlanImpl {
 public:
  MecPlan(const Conv2dDesc& desc, Algorithm algorithm, int threads, int64_t lowered_floats)
      : PlanImpl(desc, algorithm), threads_(threads), lowered_floats_(lowered_floats) {}

  // Floats of the separate (y, n, x)-ordered temporary of Solution A.
  int64_t temp_floats() const {
    const Conv2dDesc& d = desc();
    const bool needs_temp =
        algorithm() == Algorithm::kMecA && d.n > 1 && d.dst_elems() > lowered_floats_;
    return needs_temp ? d.dst_elems() : 0;
  }

  void pack_weights(const float* weights) override { pack_weights_hwio(desc(), weights, &packed_); }

  size_t workspace_bytes() const override {
    return size_t(lowered_floats_ + weight_repack_floats(desc(), has_packed_weights()) +
                  temp_floats()) *
           sizeof(float);
  }

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void* workspace) const override {
    float* lowered = static_cast<float*>(workspace);
    float* after_lowered = lowered + lowered_floats_;
    const float* prepared =
        prepare_weights(desc(), weights, packed_weights(), after_lowered, threads_);
    lower(src, lowered);
    if (algorithm() == Algorithm::kMecA) {
      solution_a(lowered, prepared, bias, dst,
                 after_lowered + weight_repack_floats(desc(), has_packed_weights()));
    } else {
      solution_b(lowered, prepared, bias, dst);
    }
    return Status::kSuccess;
  }

 private:
  int64_t row_floats() const {
    const Conv2dDesc& d = desc();
    return (d.h + d.pad_top + d.pad_bottom) * d.s * (d.c / d.groups);
  }

  void lower(const float* src, float* lowered) const {
    const Conv2dDesc& d = desc();
    const int64_t q = d.q(), cg = d.c / d.groups, hp = d.h + d.pad_top + d.pad_bottom;
    const int64_t ld = row_floats();
#pragma omp parallel for collapse(3) num_threads(threads_) schedule(static)
    for (int64_t g = 0; g < d.groups; ++g) {
      for (int64_t n = 0; n < d.n; ++n) {
        for (int64_t x = 0; x < q; ++x) {
          float* row = lowered + ((g * d.n + n) * q + x) * ld;
          for (int64_t yy = 0; yy < hp; ++yy) {
            const int64_t iy = yy - d.pad_top;
            for (int64_t j = 0; j < d.s; ++j) {
              const int64_t ix = x * d.stride_w + j * d.dilation_w - d.pad_left;
              float* out = row + (yy * d.s + j) * cg;
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

  // c[rows x kg] = window(a) * weights of group g, where a points at the
  // first kernel row of the window in the first of `rows` rows of L.
  void window_gemm(const float* a, int64_t rows, const WeightOperand& b, float* c,
                   int64_t ldc) const {
    const Conv2dDesc& d = desc();
    const int64_t kg = d.k / d.groups, row_depth = d.s * (d.c / d.groups), ld = row_floats();
    if (d.dilation_h == 1) {
      sgemm(rows, kg, d.r * row_depth, a, ld, b, 0.0f, c, ldc);
      return;
    }
    for (int64_t i = 0; i < d.r; ++i) {
      sgemm(rows, kg, row_depth, a + i * d.dilation_h * row_depth, ld, b.from_row(i * row_depth),
            i == 0 ? 0.0f : 1.0f, c, ldc);
    }
  }

  void solution_b(const float* lowered, const float* prepared, const float* bias,
                  float* dst) const {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups, ld = row_floats();
    // y * stride_h (< hp) first: stride_h * s * cg alone may overflow when p == 1.
    const int64_t row_depth = d.s * (d.c / d.groups);
    parallel_gemm_rows(d.groups * d.n * p, q, threads_, [&](int64_t t, int64_t m0, int64_t m1) {
      const int64_t g = t / (d.n * p), n = t / p % d.n, y = t % p;
      const float* a = lowered + ((g * d.n + n) * q + m0) * ld + y * d.stride_h * row_depth;
      float* c = dst + ((n * p + y) * q + m0) * d.k + g * kg;
      window_gemm(a, m1 - m0, weight_operand(d, prepared, g), c, d.k);
      if (bias) add_bias(c, m1 - m0, kg, d.k, bias + g * kg);
    });
  }

  void solution_a(float* lowered, const float* prepared, const float* bias, float* dst,
                  float* temp) const {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups, ld = row_floats();
    const int64_t row_depth = d.s * (d.c / d.groups), rows = d.n * q;
    // With one image, (y, n, x) order is dst's order: no reordering.
    float* out = d.n == 1 ? dst : temp_floats() > 0 ? temp : dst;
    parallel_gemm_rows(d.groups * p, rows, threads_, [&](int64_t t, int64_t m0, int64_t m1) {
      const int64_t g = t / p, y = t % p;
      const float* a = lowered + (g * rows + m0) * ld + y * d.stride_h * row_depth;
      float* c = out + (y * rows + m0) * d.k + g * kg;
      window_gemm(a, m1 - m0, weight_operand(d, prepared, g), c, d.k);
      if (bias) add_bias(c, m1 - m0, kg, d.k, bias + g * kg);
    });
    if (d.n == 1) return;
    const int64_t block = q * d.k;  // one output row of one image
    if (out == dst) {
      // The paper's reordering: dst -> L's memory -> dst in (n, y, x) order.
#pragma omp parallel for num_threads(threads_) schedule(static)
      for (int64_t b = 0; b < p * d.n; ++b) {
        std::memcpy(lowered + b * block, dst + b * block, block * sizeof(float));
      }
      out = lowered;
    }
#pragma omp parallel for collapse(2) num_threads(threads_) schedule(static)
    for (int64_t n = 0; n < d.n; ++n) {
      for (int64_t y = 0; y < p; ++y) {
        std::memcpy(dst + (n * p + y) * block, out + (y * d.n + n) * block, block * sizeof(float));
      }
    }
  }

  const int threads_;
  const int64_t lowered_floats_;
};

}  // namespace

Status create_mec(const Conv2dDesc& d, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl) {
  const int64_t hp = d.h + d.pad_top + d.pad_bottom;
  int64_t lowered, row, bytes;
  if (!checked_product({d.n, d.q(), hp, d.s, d.c}, &lowered) ||
      !checked_product({hp, d.s, d.c / d.groups}, &row) ||
      !checked_add(lowered, weight_repack_floats(d, false), &bytes) ||
      !checked_add(bytes, d.dst_elems(), &bytes) ||
      !checked_product({bytes, int64_t(sizeof(float))}, &bytes)) {
    return fail(Status::kInvalidArgument,
                "MEC workspace n*q*(h+pad_top+pad_bottom)*s*c overflows 64-bit bytes");
  }
  const int64_t cg = d.c / d.groups;
  if (!gemm_fits(d.n * d.q(), d.k, d.r * d.s * cg, row, d.r * d.s * cg, d.k)) {
    return fail(Status::kUnsupported, "MEC GEMM dimensions exceed the BLAS 32-bit limit");
  }
  if (algorithm == Algorithm::kMec) {
    const bool use_a = d.q() <= context.mec_threshold() && d.dst_elems() <= lowered;
    algorithm = use_a ? Algorithm::kMecA : Algorithm::kMecB;
  }
  impl->reset(new MecPlan(d, algorithm, context.threads(), lowered));
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
