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
// kMec picks A when q <= T (Context::mec_threshold) and |O| <= |L|, else B
// (L's layout and that rule: common/mec_lowering.h).
//
// Those are the CBLAS engine's schedules (GemmEngine::kBlas, the paper's
// setting). The fast engine (the default) runs Solution A and B alike: one
// implicit GEMM over all n*p*q output pixels whose A rows are the windows
// in L (gemm_fast.h), so a register tile may span output rows and images
// and writes dst in its own order - no reordering and no temporary; the
// workspace is |L| (plus a HWIO copy of raw OHWI/OIHW weights when
// set_weights() was not called). Threads share the work as in run_fast().
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "common/checked.h"
#include "common/mec_lowering.h"
#include "common/status_detail.h"
#include "cpu/cpu_plans.h"
#include "cpu/gemm.h"
#include "cpu/gemm_fast.h"
#include "cpu/mec_lower.h"
#include "cpu/mec_schedule.h"
#include "cpu/parallel.h"
#include "cpu/weights.h"

namespace mec {
namespace cpu {
namespace {

class MecPlan : public detail::PlanImpl {
 public:
  MecPlan(const Conv2dDesc& desc, Algorithm algorithm, int threads, int64_t lowered_floats,
          const KernelSet& kernels, bool fast, int64_t band_rows)
      : PlanImpl(desc, algorithm),
        threads_(threads),
        lowered_floats_(lowered_floats),
        kernels_(kernels),
        lowerer_(desc, kernels, threads),
        fast_(fast),
        band_rows_(band_rows),
        schedule_(mec_schedule(desc, threads, band_rows, kernels.nr)) {
    // CBLAS's Solution A with n > 1 reorders its result through L or a temporary.
    const bool reorders = !fast && algorithm == Algorithm::kMecA && desc.n > 1;
    set_variant(detail::join_variant({algorithm_name(algorithm), fast ? "fast" : "blas",
                                      kernels.name, fast ? schedule_.tokens() : "",
                                      !reorders           ? ""
                                      : temp_floats() > 0 ? "reorder-temp"
                                                          : "reorder-l"}));
  }

  // Floats of the separate (y, n, x)-ordered temporary of Solution A.
  int64_t temp_floats() const {
    const Conv2dDesc& d = desc();
    const bool needs_temp =
        !fast_ && algorithm() == Algorithm::kMecA && d.n > 1 && d.dst_elems() > lowered_floats_;
    return needs_temp ? d.dst_elems() : 0;
  }

  // Floats of the per-run HWIO copy of raw weights.
  int64_t repack_floats() const {
    if (!fast_) return weight_repack_floats(desc(), has_packed_weights());
    const bool hwio = desc().filter_layout == FilterLayout::kHWIO;
    return has_packed_weights() || hwio ? 0 : desc().weight_elems();
  }

  void pack_weights(const float* weights) override {
    if (!fast_) return pack_weights_hwio(desc(), weights, &packed_);
    packed_.resize(packed_weight_floats(desc(), kernels_.nr));
    pack_weight_panels(desc(), weights, kernels_.nr, packed_.data());
  }

  size_t workspace_bytes() const override {
    return size_t(lowered_floats_ + repack_floats() + temp_floats()) * sizeof(float);
  }

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void* workspace) const override {
    if (fast_) {
      run_fast(src, weights, bias, dst, static_cast<float*>(workspace));
      return Status::kSuccess;
    }
    float* lowered = static_cast<float*>(workspace);
    float* after_lowered = lowered + lowered_floats_;
    const float* prepared =
        prepare_weights(desc(), weights, packed_weights(), after_lowered, threads_);
    lowerer_.lower(src, lowered);
    if (algorithm() == Algorithm::kMecA) {
      solution_a(lowered, prepared, bias, dst,
                 after_lowered + weight_repack_floats(desc(), has_packed_weights()));
    } else {
      solution_b(lowered, prepared, bias, dst);
    }
    return Status::kSuccess;
  }

 private:
  // L's layout (common/mec_lowering.h) over the zero-padded input.
  detail::MecLowering lowering() const {
    const Conv2dDesc& d = desc();
    return detail::mec_lowering(d, d.h + d.pad_top + d.pad_bottom);
  }
  int64_t row_floats() const { return lowering().ld; }

  // The fast engine. With at least as many images as threads, each thread
  // lowers runs of images and multiplies them right away, while their part
  // of L is still in cache (details below). With fewer (batch 1 on 2
  // threads), L is lowered by all threads first; then the GEMM is split
  // over output pixels, and over column panels too when a group's weights
  // outweigh its part of L (deep layers: each thread streams half of them).
  // Which of these, and the thresholds that decide it: schedule_.
  void run_fast(const float* src, const float* weights, const float* bias, float* dst,
                float* workspace) const {
    const Conv2dDesc& d = desc();
    const KernelSet& ks = kernels_;
    const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups, cg = d.c / d.groups;
    const int64_t ld = row_floats(), pixels = p * q, panels = (kg + ks.nr - 1) / ks.nr;
    const int64_t hp = d.h + d.pad_top + d.pad_bottom;
    float* lowered = workspace;
    Panels b;
    if (weights == nullptr) {
      b = packed_panels(d, ks.nr, packed_weights());
    } else if (d.filter_layout == FilterLayout::kHWIO) {
      b = hwio_panels(d, ks.nr, weights);
    } else {
      float* hwio = workspace + lowered_floats_;
      to_hwio(d, weights, hwio, threads_);
      b = hwio_panels(d, ks.nr, hwio);
    }
    ImplicitGemm gm;
    // With one output row the row step is never used; stride_h * s * cg
    // could then overflow (stride_h up to the padded height).
    const int64_t y_stride = p > 1 ? d.stride_h * d.s * cg : 0;
    gm.rows = {lowered, p, q, q * ld, ld, y_stride, d.n * q * ld};
    gm.b = b;
    gm.n = kg;
    // Dilated rows: r segments of depth s*cg, dilation_h rows of L apart
    // ((r - 1) * dilation_h < hp, so the step cannot overflow when r > 1).
    const bool split_rows = d.dilation_h > 1 && d.r > 1;
    gm.segments = split_rows ? d.r : 1;
    gm.segment_depth = split_rows ? d.s * cg : d.r * d.s * cg;
    gm.segment_a_stride = split_rows ? d.dilation_h * d.s * cg : 0;
    gm.c = dst;
    gm.ldc = d.k;
    gm.bias = bias;
    gm.stream_c = schedule_.stream_c;
    // Bands that hold whole images are the schedule below.
    if (schedule_.kind == MecSchedule::Kind::kBands) return run_banded(src, gm, workspace);
    const int threads = threads_;
    if (schedule_.kind == MecSchedule::Kind::kImages) {
      // Runs of images of about kTaskPixels output pixels each, at least
      // four runs per thread, handed out dynamically: a thread slowed by
      // another process (2 shared cores) then takes fewer images. Each
      // thread lowers its runs into its own slot at the front of L, so the
      // same memory is reused while it is in cache instead of streaming all
      // of |L| through DRAM; an image whose L is large is lowered in bands
      // of output rows just ahead of the GEMM.
      const int64_t per_task = schedule_.per_task;
      const int64_t tasks = (d.n + per_task - 1) / per_task;
      const int64_t image_floats = d.groups * q * ld;
#pragma omp parallel num_threads(threads)
      {
        float* slot = lowered + omp_get_thread_num() * per_task * image_floats;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < tasks; ++t) {
          const int64_t i0 = d.n * t / tasks, i1 = d.n * (t + 1) / tasks;
          ImplicitGemm local = gm;
          local.rows.a = slot;
          local.rows.group_stride = (i1 - i0) * q * ld;
          local.c = dst + i0 * pixels * d.k;
          const int64_t y_step = schedule_.image_rows > 0 ? schedule_.image_rows : p;
          int64_t done = 0;  // padded input rows lowered so far
          for (int64_t y0 = 0; y0 < p; y0 += y_step) {
            const int64_t y1 = std::min(p, y0 + y_step);
            const int64_t need = y1 == p ? hp : rows_read(d, y1);
            for (int64_t n = i0; n < i1; ++n) {
              lowerer_.lower_band(src, n, done, need, {slot, i0, i1 - i0, ld, 0});
            }
            done = need;
            for (int64_t g = 0; g < d.groups; ++g) {
              gemm_block(ks, local, g, y0 * q, (i1 - i0 - 1) * pixels + y1 * q, 0, panels);
            }
          }
        }
      }
      return;
    }
    lowerer_.lower(src, lowered);
    const int64_t col_chunks = schedule_.col_chunks, row_chunks = schedule_.row_chunks;
    const int64_t tasks = d.groups * row_chunks * col_chunks, rows = d.n * pixels;
    const int64_t mr = ks.mr;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t g = t / (row_chunks * col_chunks), rc = t / col_chunks % row_chunks;
      const int64_t cc = t % col_chunks;
      // Row boundaries on whole tiles.
      const int64_t m0 = std::min(rows, (rows * rc / row_chunks + mr - 1) / mr * mr);
      const int64_t m1 = std::min(rows, (rows * (rc + 1) / row_chunks + mr - 1) / mr * mr);
      gemm_block(ks, gm, g, m0, m1, panels * cc / col_chunks, panels * (cc + 1) / col_chunks);
    }
  }

  // Row bands (Context::set_mec_band_rows): each task lowers the input rows
  // that band_rows_ output rows of one image read into its thread's slot
  // and multiplies them right away, so L never exists whole: the workspace
  // is band_slots() slots of band_slot_floats(), whatever the batch.
  void run_banded(const float* src, const ImplicitGemm& gm, float* workspace) const {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), ld = band_row_floats(d, band_rows_);
    const int64_t bands = ceil_div(p, band_rows_), tasks = d.n * bands;
    const int64_t panels = ceil_div(gm.n, int64_t(kernels_.nr));
#pragma omp parallel num_threads(int(band_slots(d, band_rows_, threads_)))
    {
      float* slot = workspace + omp_get_thread_num() * band_slot_floats(d, band_rows_);
#pragma omp for schedule(dynamic, 1)
      for (int64_t t = 0; t < tasks; ++t) {
        const int64_t n = t / bands, y0 = t % bands * band_rows_, y1 = std::min(p, y0 + band_rows_);
        const int64_t yy0 = y0 * d.stride_h;
        lowerer_.lower_band(src, n, yy0, rows_read(d, y1), {slot, n, 1, ld, yy0});
        ImplicitGemm local = gm;
        local.rows = {slot, y1 - y0, q, q * ld, ld, y1 - y0 > 1 ? gm.rows.y_stride : 0, q * ld};
        local.c = gm.c + (n * p + y0) * q * d.k;
        for (int64_t g = 0; g < d.groups; ++g) {
          gemm_block(kernels_, local, g, 0, (y1 - y0) * q, 0, panels);
        }
      }
    }
  }

  // c[rows x kg] = window(a) * weights of group g, where a points at the
  // first kernel row of the window in the first of `rows` rows of L.
  void window_gemm(const float* a, int64_t rows, const WeightOperand& b, float* c,
                   int64_t ldc) const {
    const Conv2dDesc& d = desc();
    const detail::MecLowering l = lowering();
    const int64_t kg = d.k / d.groups;
    if (d.dilation_h == 1) {
      sgemm(rows, kg, l.window_depth, a, l.ld, b, 0.0f, c, ldc);
      return;
    }
    for (int64_t i = 0; i < d.r; ++i) {
      sgemm(rows, kg, l.row_depth, a + l.kernel_row(i), l.ld, b.from_row(i * l.row_depth),
            i == 0 ? 0.0f : 1.0f, c, ldc);
    }
  }

  void solution_b(const float* lowered, const float* prepared, const float* bias,
                  float* dst) const {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups;
    const detail::MecLowering l = lowering();
    parallel_gemm_rows(d.groups * d.n * p, q, threads_, [&](int64_t t, int64_t m0, int64_t m1) {
      const int64_t g = t / (d.n * p), n = t / p % d.n, y = t % p;
      const float* a = lowered + l.window(g, n, m0, y);
      float* c = dst + ((n * p + y) * q + m0) * d.k + g * kg;
      window_gemm(a, m1 - m0, weight_operand(d, prepared, g), c, d.k);
      if (bias) add_bias(c, m1 - m0, kg, d.k, bias + g * kg);
    });
  }

  void solution_a(float* lowered, const float* prepared, const float* bias, float* dst,
                  float* temp) const {
    const Conv2dDesc& d = desc();
    const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups;
    const detail::MecLowering l = lowering();
    const int64_t rows = l.group_rows;
    // With one image, (y, n, x) order is dst's order: no reordering.
    float* out = d.n == 1 ? dst : temp_floats() > 0 ? temp : dst;
    parallel_gemm_rows(d.groups * p, rows, threads_, [&](int64_t t, int64_t m0, int64_t m1) {
      const int64_t g = t / p, y = t % p;
      const float* a = lowered + l.window(g, 0, m0, y);
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
  const KernelSet& kernels_;    // micro-kernels and copy_rows for this CPU
  const MecLowerer lowerer_;    // L from src
  const bool fast_;             // the fast engine, else CBLAS
  const int64_t band_rows_;     // Context::mec_band_rows(), at most p; 0: whole images
  const MecSchedule schedule_;  // the fast engine's division of the work
};

}  // namespace

Status create_mec(const Conv2dDesc& d, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl) {
  const int64_t hp = d.h + d.pad_top + d.pad_bottom;
  int64_t lowered, row, bytes;
  if (!detail::mec_lowered_floats(d, hp, &lowered) ||
      !checked_product({hp, d.s, d.c / d.groups}, &row) ||
      !checked_add(lowered, weight_repack_floats(d, false), &bytes) ||
      !checked_add(bytes, d.dst_elems(), &bytes) ||
      !checked_product({bytes, int64_t(sizeof(float))}, &bytes)) {
    return fail(Status::kInvalidArgument,
                "MEC workspace n*q*(h+pad_top+pad_bottom)*s*c overflows 64-bit bytes");
  }
  const int64_t cg = d.c / d.groups;
  const bool fast = context.gemm_engine() == GemmEngine::kFast;
  // Row bands: at most p rows. Bands of p rows are whole images: with at
  // least as many images as threads, the fast engine's per-thread slots of
  // images_per_task() images (no more than |L|); else all of L. A band
  // slot is at most one image's L (checked above); several may overflow.
  const int64_t band_rows = std::min(context.mec_band_rows(), d.p());
  const int threads = context.threads();
  if (band_rows > 0 && !fast) {
    return fail(Status::kUnsupported,
                "MEC row bands (Context::set_mec_band_rows) need the fast GEMM engine");
  }
  if (band_rows == d.p() && d.n >= threads) {
    lowered = threads * images_per_task(d, threads) * (lowered / d.n);
  }
  if (band_rows > 0 && band_rows < d.p() &&
      (!checked_product({band_slots(d, band_rows, threads), band_slot_floats(d, band_rows)},
                        &lowered) ||
       !checked_add(lowered, weight_repack_floats(d, false), &bytes) ||
       !checked_product({bytes, int64_t(sizeof(float))}, &bytes))) {
    return fail(Status::kInvalidArgument, "MEC band workspace overflows 64-bit bytes");
  }
  if (!fast && !gemm_fits(d.n * d.q(), d.k, d.r * d.s * cg, row, d.r * d.s * cg, d.k)) {
    return fail(Status::kUnsupported, "MEC GEMM dimensions exceed the BLAS 32-bit limit");
  }
  if (algorithm == Algorithm::kMec) {
    const bool use_a = detail::mec_threshold_picks_a(d, context.mec_threshold(), lowered);
    algorithm = use_a ? Algorithm::kMecA : Algorithm::kMecB;
  }
  impl->reset(new MecPlan(d, algorithm, threads, lowered, select_kernels(context.cpu_isa()), fast,
                          band_rows));
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
