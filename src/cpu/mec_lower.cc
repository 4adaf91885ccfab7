// MEC's CPU lowering (mec_lower.h).
#include "cpu/mec_lower.h"

#include <omp.h>

#include <algorithm>

#include "common/checked.h"
#include "common/mec_lowering.h"

namespace mec {
namespace cpu {

MecLowerer::MecLowerer(const Conv2dDesc& desc, const KernelSet& kernels, int threads)
    : d_(desc),
      kernels_(kernels),
      threads_(threads),
      row_floats_(detail::mec_lowering(desc, desc.h + desc.pad_top + desc.pad_bottom).ld) {}

// The input rows [*iy0, *iy1) that padded rows [yy0, yy1) cover (empty
// when the band lies in the padding).
void MecLowerer::image_rows(int64_t yy0, int64_t yy1, int64_t* iy0, int64_t* iy1) const {
  *iy0 = std::clamp<int64_t>(yy0 - d_.pad_top, 0, d_.h);
  *iy1 = std::clamp<int64_t>(yy1 - d_.pad_top, *iy0, d_.h);
}

// Zeroes the padding rows among padded rows [yy0, yy1) of one row of L
// (padded row yy at row + (yy - origin)*run), and nothing outside that
// band: bands of one row may be lowered by different threads.
void MecLowerer::zero_padding_rows(float* row, int64_t origin, int64_t yy0, int64_t yy1,
                                   int64_t run) const {
  const int64_t top = std::min(yy1, d_.pad_top);
  const int64_t bottom = std::max(yy0, d_.pad_top + d_.h);
  if (yy0 < top) std::fill(row + (yy0 - origin) * run, row + (top - origin) * run, 0.0f);
  if (bottom < yy1) std::fill(row + (bottom - origin) * run, row + (yy1 - origin) * run, 0.0f);
}

// Rows yy in [yy0, yy1) of the padded input within row (g, n, x) of L,
// whose first element is padded row `origin` (0, or a band's first row):
// zeros for vertical padding, then per input row the taps j in [j0, j1)
// that fall inside the image. With one group and no horizontal dilation
// those s*cg values are one contiguous run of src, copied by the ISA's
// copy_rows (c = 3 layers copy 9-33 floats per input row, where a memcpy
// call each would cost more than the GEMM).
void MecLowerer::lower_row(const float* src, int64_t g, int64_t n, int64_t x, int64_t origin,
                           int64_t yy0, int64_t yy1, float* row) const {
  const Conv2dDesc& d = d_;
  const int64_t cg = d.c / d.groups;
  const int64_t run = d.s * cg, ix0 = x * d.stride_w - d.pad_left;
  int64_t j0 = 0, j1 = d.s;
  while (j0 < d.s && ix0 + j0 * d.dilation_w < 0) ++j0;
  while (j1 > j0 && ix0 + (j1 - 1) * d.dilation_w >= d.w) --j1;
  int64_t iy0, iy1;
  image_rows(yy0, yy1, &iy0, &iy1);
  zero_padding_rows(row, origin, yy0, yy1, run);
  // Input row iy at out + (iy - iy0) * run.
  float* out = row + (d.pad_top + iy0 - origin) * run;
  if (j0 > 0 || j1 < d.s) {
    for (int64_t i = 0; i < iy1 - iy0; ++i) {
      std::fill(out + i * run, out + i * run + j0 * cg, 0.0f);
      std::fill(out + i * run + j1 * cg, out + (i + 1) * run, 0.0f);
    }
  }
  if (j0 == j1 || iy0 == iy1) return;  // the window misses the image: zeros only
  // + (ix0 + tap) * c per tap
  const float* in = src + ((n * d.h + iy0) * d.w) * d.c + g * cg;
  if (d.groups == 1 && d.dilation_w == 1) {
    kernels_.copy_rows(in + (ix0 + j0) * d.c, d.w * d.c, out + j0 * cg, run, iy1 - iy0,
                       (j1 - j0) * cg);
    return;
  }
  for (int64_t j = j0; j < j1; ++j) {
    kernels_.copy_rows(in + (ix0 + j * d.dilation_w) * d.c, d.w * d.c, out + j * cg, run, iy1 - iy0,
                       cg);
  }
}

// Rows [yy0, yy1) of the padded input for every row of image n.
void MecLowerer::lower_band(const float* src, int64_t n, int64_t yy0, int64_t yy1,
                            const Target& t) const {
  const Conv2dDesc& d = d_;
  const int64_t q = d.q(), ld = t.ld, origin = t.origin;
  for (int64_t g = 0; g < d.groups; ++g) {
    float* rows = t.l + ((g * t.images + n - t.first) * q) * ld;
    if (d.groups > 1 || d.dilation_w > 1) {
      for (int64_t x = 0; x < q; ++x) lower_row(src, g, n, x, origin, yy0, yy1, rows + x * ld);
      continue;
    }
    // Columns x whose window lies inside the image's width: row by row
    // of the input (one copy_rows per input row, over those x), so the
    // input is read once, in order. Walking down the input once per x
    // instead touched a few new cache lines of every input row each time,
    // which is latency-bound when the image comes from DRAM (batch > 1;
    // cv3 at batch 32: docs/cpu_engine.md). The other columns: lower_row.
    const int64_t sw = d.stride_w, pl = d.pad_left;
    const int64_t xa = std::min(q, ceil_div(pl, sw));
    const int64_t xb = d.w - d.s + pl < 0 ? xa : std::clamp((d.w - d.s + pl) / sw + 1, xa, q);
    for (int64_t x = 0; x < xa; ++x) lower_row(src, g, n, x, origin, yy0, yy1, rows + x * ld);
    for (int64_t x = xb; x < q; ++x) lower_row(src, g, n, x, origin, yy0, yy1, rows + x * ld);
    if (xa == xb) continue;
    const int64_t run = d.s * d.c;
    int64_t iy0, iy1;
    image_rows(yy0, yy1, &iy0, &iy1);
    for (int64_t x = xa; x < xb; ++x) zero_padding_rows(rows + x * ld, origin, yy0, yy1, run);
    // Two interior columns are at most w apart, so sw * c cannot overflow
    // then; with one, the step is unused (and sw may be near INT64_MAX).
    const int64_t step = xb - xa > 1 ? sw * d.c : 0;
    for (int64_t iy = iy0; iy < iy1; ++iy) {
      kernels_.copy_rows(src + ((n * d.h + iy) * d.w + xa * sw - pl) * d.c, step,
                         rows + xa * ld + (d.pad_top + iy - origin) * run, ld, xb - xa, run);
    }
  }
}

// All of L, by bands of padded rows: each image split into enough bands
// that every thread has one (batch 1 on several threads).
void MecLowerer::lower(const float* src, float* lowered) const {
  const Conv2dDesc& d = d_;
  const int64_t hp = d.h + d.pad_top + d.pad_bottom;
  const int64_t bands = std::min<int64_t>(hp, ceil_div(threads_, d.n));
  // hp / bands rows each, the first hp % bands one more (no hp * b: hp may
  // be near INT64_MAX / 4).
  const int64_t base = hp / bands, extra = hp % bands;
#pragma omp parallel for collapse(2) num_threads(threads_) schedule(static)
  for (int64_t n = 0; n < d.n; ++n) {
    for (int64_t b = 0; b < bands; ++b) {
      const int64_t yy0 = b * base + std::min(b, extra);
      lower_band(src, n, yy0, yy0 + base + (b < extra ? 1 : 0), {lowered, 0, d.n, row_floats_, 0});
    }
  }
}

}  // namespace cpu
}  // namespace mec
