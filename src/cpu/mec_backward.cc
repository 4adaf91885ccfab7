// MEC's backward passes through its lowered matrix L (common/mec_lowering.h),
// with at most |L| floats of workspace where im2col's need its column matrix.
// Under the fast engine (GemmEngine::kFast, the default) both passes run on
// its micro-kernels with GEMMs that span output rows and images
// (mec_backward_fast.h: variants mec_b/fast/ISA/...). Under kBlas (the
// paper's setting) they run on CBLAS, one GEMM per output row:
//   data:    the gradient of every window of L is ddst's row segment times
//            W^T: per (group, image) the GEMMs of its output rows y, q rows
//            each (Solution B's shape). Scatter (when every thread has a
//            (group, image)): each row's window gradients, in a buffer of
//            the thread's (q*r*s*cg floats), are added into dsrc at once.
//            Fold (else): they are accumulated into a zeroed dL of L's shape
//            (windows of consecutive rows overlap when stride_h < r), which
//            is then folded into dsrc - every input pixel gathers the
//            entries of the rows of L that copied it; threads split a
//            (group, image)'s rows of L. Every sum has a fixed order.
//   weights: L is lowered from src; dW's rows (r*s*cg taps) are split
//            between threads, each summing windows^T * ddst over every
//            (image, output row) in order: deterministic for any thread
//            count, no partial sums to reduce.
// Pointwise layers (1x1, stride 1, no padding) skip L under kBlas: their
// windows are src's pixels (variant mec_b/blas/pointwise).
#include "common/checked.h"
#include "common/mec_lowering.h"
#include "common/status_detail.h"
#include "cpu/backward_common.h"
#include "cpu/cpu_plans.h"
#include "cpu/gemm_fast.h"
#include "cpu/mec_backward_fast.h"
#include "cpu/mec_lower.h"
#include "cpu/parallel.h"

namespace mec {
namespace cpu {
namespace {

// Floats of a GEMM operand block kept in L2 across the row loops below
// (128 KiB of a core's 1 MiB L2 on Zen 4/5).
constexpr int64_t kChunkFloats = 32768;

class MecBackwardPlan : public BackwardPlan {
 public:
  MecBackwardPlan(const Conv2dDesc& desc, Pass pass, int threads, int64_t lowered_floats,
                  const KernelSet& kernels, bool pointwise, bool fast)
      : BackwardPlan(desc, Algorithm::kMecB, pass, threads),
        lowered_floats_(lowered_floats),
        pointwise_(pointwise && !fast),
        scatter_(pass == Pass::kBackwardData && !pointwise &&
                 desc.groups * desc.n >= int64_t(threads)),
        fast_(fast),
        kernels_(kernels),
        fast_data_(desc, kernels, threads, lowered_floats),
        fast_weights_(desc, kernels, threads),
        lowerer_(desc, kernels, threads),
        lowering_(detail::mec_lowering(desc, desc.h + desc.pad_top + desc.pad_bottom)) {
    if (fast) {
      const bool data = pass == Pass::kBackwardData;
      set_variant(
          detail::join_variant({"mec_b/fast", kernels.name,
                                data ? fast_data_.form() : std::string(fast_weights_.form())}));
      return;
    }
    set_variant(pointwise_                    ? "mec_b/blas/pointwise"
                : scatter_                    ? "mec_b/blas/scatter"
                : pass == Pass::kBackwardData ? "mec_b/blas/fold"
                                              : "mec_b/blas");
  }

  // The fast data gradient reads W^T in panels: set_weights() packs them;
  // raw OHWI weights are W^T already; raw HWIO and OIHW are packed per run
  // into the workspace after the buffers (|W|, as the forward pass's and
  // the CBLAS form's repack of OIHW).
  size_t workspace_bytes() const override {
    if (!fast_ || pass() != Pass::kBackwardData) return BackwardPlan::workspace_bytes();
    return size_t(fast_data_.scratch_floats() + transposed_repack_floats()) * sizeof(float);
  }
  void pack_weights(const float* weights) override {
    if (!fast_) return BackwardPlan::pack_weights(weights);
    packed_.resize(desc().weight_elems());
    pack_transposed_panels(desc(), weights, kernels_.nr, packed_.data(), 1);
  }
  Status run(const float* a, const float* b, const float* bias_grad, float* out,
             void* workspace) const override {
    if (!fast_) return BackwardPlan::run(a, b, bias_grad, out, workspace);
    const Conv2dDesc& d = desc();
    float* scratch = static_cast<float*>(workspace);
    if (pass() == Pass::kBackwardWeights) {
      // As BackwardPlan::run, with dbias computed inside the pass's parallel region.
      float* hwio = d.filter_layout == FilterLayout::kHWIO ? out : scratch + scratch_floats();
      // The dbias slot is an output of this pass.
      fast_weights_.run(a, b, scratch, hwio, const_cast<float*>(bias_grad));
      if (hwio != out) hwio_to_layout(d, hwio, out, threads());
      return Status::kSuccess;
    }
    Panels wt;
    if (b == nullptr) {
      wt = transposed_panels(d, kernels_.nr, packed_weights());
    } else if (d.filter_layout == FilterLayout::kOHWI) {
      wt = ohwi_transposed_panels(d, kernels_.nr, b);
    } else {
      float* packed = scratch + fast_data_.scratch_floats();
      pack_transposed_panels(d, b, kernels_.nr, packed, threads());
      wt = transposed_panels(d, kernels_.nr, packed);
    }
    fast_data_.run(a, wt, scratch, out);
    return Status::kSuccess;
  }

 private:
  int64_t transposed_repack_floats() const {
    const bool in_place = has_packed_weights() || desc().filter_layout == FilterLayout::kOHWI;
    return in_place ? 0 : desc().weight_elems();
  }

  int64_t scratch_floats() const override {
    if (fast_) {
      return pass() == Pass::kBackwardData ? fast_data_.scratch_floats()
                                           : fast_weights_.scratch_floats();
    }
    if (pointwise_) return 0;
    if (!scatter_) return lowered_floats_;
    const int64_t columns = desc().dilation_h == 1 ? lowering_.window_depth : lowering_.row_depth;
    return int64_t(threads()) * desc().q() * columns;
  }

  // Pointwise layers (1x1 windows at stride 1 without padding): every
  // window of L is one pixel of src, so each pass is one GEMM per group over
  // src and dsrc themselves - no lowering, no fold, no workspace.
  void pointwise_data(const float* ddst, const float* weights, float* dsrc) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups, pixels = d.n * d.h * d.w;
    parallel_gemm_rows(d.groups, pixels, threads(), [&](int64_t g, int64_t m0, int64_t m1) {
      sgemm(m1 - m0, cg, kg, ddst + m0 * d.k + g * kg, d.k, transposed_weights(d, weights, g), 0.0f,
            dsrc + m0 * d.c + g * cg, d.c);
    });
  }
  void pointwise_weights(const float* src, const float* ddst, float* hwio) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups, pixels = d.n * d.h * d.w;
    parallel_gemm_rows(d.groups, cg, threads(), [&](int64_t g, int64_t c0, int64_t c1) {
      sgemm_tn(c1 - c0, kg, pixels, src + g * cg + c0, d.c, ddst + g * kg, d.k, 0.0f,
               hwio + c0 * d.k + g * kg, d.k);
    });
  }

  int64_t kernel_row_steps() const { return desc().dilation_h == 1 ? 1 : desc().r; }

  void backward_data(const float* ddst, const float* weights, float* scratch,
                     float* dsrc) const override {
    if (pointwise_) return pointwise_data(ddst, weights, dsrc);
    if (scatter_) return scatter_data(ddst, weights, scratch, dsrc);
    fold_data(ddst, weights, scratch, dsrc);
  }

  // Scatter: per (group, image), each output row's window gradients (q x
  // r*s*cg, a thread's own buffer) are added straight into dsrc.
  void scatter_data(const float* ddst, const float* weights, float* buffers, float* dsrc) const {
    const Conv2dDesc& d = desc();
    const detail::MecLowering& l = lowering_;
    const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups, cg = d.c / d.groups;
    const int64_t columns = d.dilation_h == 1 ? l.window_depth : l.row_depth;
    const int64_t rows_per_step = d.dilation_h == 1 ? d.r : 1;
    if (d.groups > 1) std::fill(dsrc, dsrc + d.src_elems(), 0.0f);
#pragma omp parallel for num_threads(threads()) schedule(static)
    for (int64_t t = 0; t < d.groups * d.n; ++t) {
      const int64_t g = t / d.n, n = t % d.n;
      float* image = dsrc + n * d.h * d.w * d.c;
      if (d.groups == 1) std::fill(image, image + d.h * d.w * d.c, 0.0f);
      float* grad = buffers + omp_get_thread_num() * q * columns;
      const WeightOperand wt = transposed_weights(d, weights, g);
      for (int64_t y = 0; y < p; ++y) {
        const float* go = ddst + ((n * p + y) * q) * d.k + g * kg;
        for (int64_t step = 0; step < kernel_row_steps(); ++step) {
          sgemm(q, columns, kg, go, d.k, from_column(wt, step * l.row_depth), 0.0f, grad, columns);
          for (int64_t ii = 0; ii < rows_per_step; ++ii) {
            const int64_t i = step + ii;
            const int64_t iy = y * d.stride_h - d.pad_top + i * d.dilation_h;
            if (iy < 0 || iy >= d.h) continue;
            float* in_row = image + iy * d.w * d.c + g * cg;
            for (int64_t x = 0; x < q; ++x) {
              const float* from = grad + x * columns + ii * l.row_depth;
              for (int64_t j = 0; j < d.s; ++j) {
                const int64_t ix = x * d.stride_w - d.pad_left + j * d.dilation_w;
                if (ix < 0 || ix >= d.w) continue;
                float* o = in_row + ix * d.c;
                const float* v = from + j * cg;
                for (int64_t ci = 0; ci < cg; ++ci) o[ci] += v[ci];
              }
            }
          }
        }
      }
    }
  }

  // Fold: the window gradients accumulated in a dL of L's shape, then
  // folded into dsrc (threads split a (group, image)'s rows of L).
  void fold_data(const float* ddst, const float* weights, float* dl, float* dsrc) const {
    const Conv2dDesc& d = desc();
    const detail::MecLowering& l = lowering_;
    const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups, cg = d.c / d.groups;
    const int64_t columns = d.dilation_h == 1 ? l.window_depth : l.row_depth;
    // Columns of the windows in chunks whose weights (kChunk x kg) stay in
    // L2 while every output row uses them; chunks in order within a task,
    // since windows of different rows overlap in dL.
    const int64_t chunk = std::max<int64_t>(16, kChunkFloats / std::max<int64_t>(kg, 1));
    parallel_gemm_rows(d.groups * d.n, q, threads(), [&](int64_t t, int64_t x0, int64_t x1) {
      const int64_t g = t / d.n, n = t % d.n;
      float* rows = dl + l.window(g, n, x0, 0);
      std::fill(rows, rows + (x1 - x0) * l.ld, 0.0f);
      const WeightOperand wt = transposed_weights(d, weights, g);
      for (int64_t i = 0; i < kernel_row_steps(); ++i) {
        for (int64_t c0 = 0; c0 < columns; c0 += chunk) {
          const int64_t c1 = std::min(columns, c0 + chunk);
          const WeightOperand b = from_column(wt, i * l.row_depth + c0);
          for (int64_t y = 0; y < p; ++y) {
            const float* go = ddst + ((n * p + y) * q + x0) * d.k + g * kg;
            sgemm(x1 - x0, c1 - c0, kg, go, d.k, b, 1.0f,
                  rows + (y * d.stride_h) * l.row_depth + l.kernel_row(i) + c0, l.ld);
          }
        }
      }
    });
    // Fold: input pixel (iy, ix) is padded row iy + pad_top, tap j of every
    // column x with x*stride_w - pad_left + j*dilation_w == ix.
#pragma omp parallel for collapse(2) num_threads(threads()) schedule(static)
    for (int64_t n = 0; n < d.n; ++n) {
      for (int64_t iy = 0; iy < d.h; ++iy) {
        float* out = dsrc + (n * d.h + iy) * d.w * d.c;
        std::fill(out, out + d.w * d.c, 0.0f);
        const int64_t row = (iy + d.pad_top) * l.row_depth;
        for (int64_t ix = 0; ix < d.w; ++ix) {
          for (int64_t j = 0; j < d.s; ++j) {
            const int64_t x = output_reading(ix, j, d.pad_left, d.stride_w, d.dilation_w, q);
            if (x < 0) continue;
            for (int64_t g = 0; g < d.groups; ++g) {
              const float* in = dl + l.window(g, n, x, 0) + row + j * cg;
              float* o = out + ix * d.c + g * cg;
              for (int64_t ci = 0; ci < cg; ++ci) o[ci] += in[ci];
            }
          }
        }
      }
    }
  }

  void backward_weights(const float* src, const float* ddst, float* lowered,
                        float* hwio) const override {
    if (pointwise_) return pointwise_weights(src, ddst, hwio);
    const Conv2dDesc& d = desc();
    const detail::MecLowering& l = lowering_;
    const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups;
    lowerer_.lower(src, lowered);
    // Tasks: (group, kernel row step, chunk of taps); a chunk's gradient
    // rows (chunk x kg) stay in L2 while every (image, output row) adds to
    // them, and each is summed by one task in a fixed order.
    const int64_t steps = kernel_row_steps();
    const int64_t rows = d.dilation_h == 1 ? l.window_depth : l.row_depth;
    const int64_t chunk = std::max<int64_t>(16, kChunkFloats / std::max<int64_t>(kg, 1));
    const int64_t chunks = (rows + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads()) schedule(dynamic, 1)
    for (int64_t t = 0; t < d.groups * steps * chunks; ++t) {
      const int64_t g = t / (steps * chunks), i = t / chunks % steps;
      const int64_t r0 = t % chunks * chunk, r1 = std::min(rows, r0 + chunk);
      float* c = hwio + (i * l.row_depth + r0) * d.k + g * kg;
      for (int64_t n = 0; n < d.n; ++n) {
        for (int64_t y = 0; y < p; ++y) {
          const float* win = lowered + l.window(g, n, 0, y) + l.kernel_row(i) + r0;
          const float* go = ddst + ((n * p + y) * q) * d.k + g * kg;
          sgemm_tn(r1 - r0, kg, q, win, l.ld, go, d.k, n == 0 && y == 0 ? 0.0f : 1.0f, c, d.k);
        }
      }
    }
  }

  const int64_t lowered_floats_;  // |L|
  const bool pointwise_;          // 1x1, stride 1, no padding: GEMMs over src itself
  // Backward data: scatter into dsrc when every thread has a (group, image)
  // of its own, else fold through dL, whose rows threads can share. At
  // batch 1 on one thread and at batch 8 on two, scatter takes 0.96-1.0x
  // fold's time (no dL to zero and fold) in less workspace; at batch 1 on
  // two threads it runs on one of them (1.1-1.5x fold's time;
  // docs/training.md).
  const bool scatter_;
  const bool fast_;  // the fast engine's passes (mec_backward_fast.h), else CBLAS
  const KernelSet& kernels_;
  const FastBackwardData fast_data_;
  const FastBackwardWeights fast_weights_;
  const MecLowerer lowerer_;
  const detail::MecLowering lowering_;
};

}  // namespace

Status create_mec_backward(const Conv2dDesc& d, Pass pass, Algorithm, const Context& context,
                           std::unique_ptr<detail::PlanImpl>* impl) {
  const int64_t hp = d.h + d.pad_top + d.pad_bottom;
  int64_t lowered, bytes;
  if (!detail::mec_lowered_floats(d, hp, &lowered) ||
      !checked_add(lowered, d.weight_elems(), &bytes) ||
      !checked_product({bytes, int64_t(sizeof(float))}, &bytes)) {
    return fail(Status::kInvalidArgument,
                "MEC workspace n*q*(h+pad_top+pad_bottom)*s*c overflows 64-bit bytes");
  }
  const detail::MecLowering l = detail::mec_lowering(d, hp);
  int64_t buffers;  // the scatter's (q x r*s*cg per thread; bytes)
  if (!checked_product({int64_t(context.threads()), d.q(), l.window_depth, 4}, &buffers)) {
    return fail(Status::kInvalidArgument, "MEC backward buffers overflow 64-bit bytes");
  }
  const int64_t kg = d.k / d.groups;
  const bool fast = context.gemm_engine() == GemmEngine::kFast;
  if (!fast && (!gemm_fits(d.q(), l.window_depth, kg, d.k, l.ld, l.ld) ||
                !gemm_fits(l.window_depth, kg, d.q(), l.ld, d.k, d.k))) {
    return fail(Status::kUnsupported, "MEC GEMM dimensions exceed the BLAS 32-bit limit");
  }
  const int64_t cg = d.c / d.groups, pixels = d.n * d.h * d.w;
  const bool pointwise = d.r == 1 && d.s == 1 && d.stride_h == 1 && d.stride_w == 1 &&
                         d.pad_top == 0 && d.pad_bottom == 0 && d.pad_left == 0 &&
                         d.pad_right == 0 && gemm_fits(pixels, cg, kg, d.k, d.k, d.c) &&
                         gemm_fits(cg, kg, pixels, d.c, d.k, d.k);
  impl->reset(new MecBackwardPlan(d, pass, context.threads(), lowered,
                                  select_kernels(context.cpu_isa()), pointwise, fast));
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
