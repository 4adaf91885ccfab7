// MEC's data gradient on the fast engine (mec_backward_fast.h). The
// gradient of the windows of a block of output pixels - rows of ddst, read
// in place, across output rows and images - is one GEMM with W^T (packed
// in panels of nr columns once), computed one panel at a time into a
// thread's buffer (block x nr floats, in L1/L2) and added at once into
// dsrc: every window value goes to one input pixel, and along a kernel row
// the taps of one group are contiguous in dsrc. The CBLAS form's GEMMs
// have q rows (5-7 on deep layers), these up to a block of output pixels.
//
// Threads own disjoint parts of dsrc, so no element is written by two:
// runs of images when there are at least as many (group, image)s as
// threads; else bands of an image's input rows, each computing the output
// rows that read its band, and of those only the kernel rows that land in
// it (only a block's boundary rows compute a few taps they drop). Each
// owner zeroes its part first. Pointwise layers (1x1, stride 1, no
// padding) need no buffer: the GEMM writes dsrc's rows itself.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "common/checked.h"
#include "cpu/mec_backward_fast.h"

namespace mec {
namespace cpu {
namespace {

// Output pixels per GEMM block (a multiple of every tile height); the
// buffer's rows. A block's ddst rows (block x kg) stay in L2 across the
// panels; its buffer (block x 64 floats) in L1/L2 until it is added.
constexpr int64_t kBlock = 96;

}  // namespace

void generic_add_rows(float* out, int64_t out_ld, const float* in, int64_t in_ld, int64_t rows,
                      int64_t count) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t e = 0; e < count; ++e) out[r * out_ld + e] += in[r * in_ld + e];
  }
}

void pack_transposed_panels(const Conv2dDesc& d, const float* w, int nr, float* out, int threads) {
  const int64_t kg = d.k / d.groups, cg = d.c / d.groups, depth = d.r * d.s * cg;
  const int64_t panels = ceil_div(depth, int64_t(nr));
#pragma omp parallel for collapse(2) num_threads(threads) schedule(static)
  for (int64_t g = 0; g < d.groups; ++g) {
    for (int64_t j = 0; j < panels; ++j) {
      const int64_t width = std::min<int64_t>(nr, depth - j * nr);
      float* panel = out + g * kg * depth + j * nr * kg;
      for (int64_t kk = 0; kk < kg; ++kk) {
        const int64_t o = g * kg + kk;  // output channel
        for (int64_t u = 0; u < width; ++u) {
          const int64_t col = j * nr + u;  // tap (i, jj, ci)
          const int64_t i = col / (d.s * cg), jj = col / cg % d.s, ci = col % cg;
          float v = 0.0f;
          switch (d.filter_layout) {
            case FilterLayout::kHWIO:
              v = w[col * d.k + o];
              break;
            case FilterLayout::kOHWI:
              v = w[o * depth + col];
              break;
            case FilterLayout::kOIHW:
              v = w[((o * cg + ci) * d.r + i) * d.s + jj];
              break;
          }
          panel[kk * width + u] = v;
        }
      }
    }
  }
}

Panels transposed_panels(const Conv2dDesc& d, int nr, const float* packed) {
  const int64_t kg = d.k / d.groups, depth = d.r * d.s * (d.c / d.groups);
  return {packed, kg * depth, nr * kg, nr, depth % nr == 0 ? nr : depth % nr};
}

Panels ohwi_transposed_panels(const Conv2dDesc& d, int nr, const float* ohwi) {
  const int64_t kg = d.k / d.groups, depth = d.r * d.s * (d.c / d.groups);
  return {ohwi, kg * depth, nr, depth, depth};
}

FastBackwardData::FastBackwardData(const Conv2dDesc& d, const KernelSet& kernels, int threads,
                                   int64_t lowered_floats)
    : d_(d),
      kernels_(kernels),
      threads_(threads),
      add_rows_(std::strcmp(kernels.name, "avx512") == 0 ? avx512_add_rows : generic_add_rows) {
  direct_ = d.r == 1 && d.s == 1 && d.stride_h == 1 && d.stride_w == 1 && d.pad_top == 0 &&
            d.pad_bottom == 0 && d.pad_left == 0 && d.pad_right == 0;
  if (direct_) {
    form_ = "direct";
    return;
  }
  const int64_t pixels = d.p() * d.q(), units = d.groups * d.n;
  if (units >= threads) {
    // Runs of images of about a block of pixels, at least two runs per
    // thread (dynamic schedule: a thread slowed by another process leaves
    // runs to the others).
    per_run_ = std::clamp<int64_t>(ceil_div(kBlock, pixels), 1,
                                   std::max<int64_t>(1, units / (2 * threads)));
    form_ = "images";
  } else {
    bands_ = std::min<int64_t>(d.h, ceil_div(threads, units));
    form_ = "bands" + std::to_string(bands_);
  }
  const int64_t tasks = d.groups * ceil_div(d.n, per_run_) * bands_;
  team_ = int(std::min<int64_t>(threads, tasks));
  const int64_t width = std::min<int64_t>(kernels.nr, d.r * d.s * (d.c / d.groups));
  // As many rows as fit in |L| (at least one), at most a block.
  block_rows_ = std::clamp<int64_t>(lowered_floats / (team_ * width), 1, kBlock);
  if (block_rows_ >= 12) block_rows_ = block_rows_ / 12 * 12;
}

int64_t FastBackwardData::scratch_floats() const {
  if (direct_) return 0;
  const int64_t width = std::min<int64_t>(kernels_.nr, d_.r * d_.s * (d_.c / d_.groups));
  return team_ * block_rows_ * width;
}

// Pointwise: dsrc's pixel rows are ddst's rows times W^T, written in place.
void FastBackwardData::direct(const float* ddst, const Panels& wt, float* dsrc) const {
  const Conv2dDesc& d = d_;
  const KernelSet& ks = kernels_;
  const int64_t kg = d.k / d.groups, cg = d.c / d.groups, pixels = d.n * d.h * d.w;
  const int64_t blocks = ceil_div(pixels, kBlock), panels = ceil_div(cg, int64_t(ks.nr));
#pragma omp parallel for num_threads(threads_) schedule(dynamic, 1)
  for (int64_t t = 0; t < d.groups * blocks; ++t) {
    const int64_t g = t / blocks, mb = t % blocks * kBlock, count = std::min(kBlock, pixels - mb);
    const float* rows[kBlock];
    for (int64_t i = 0; i < count; ++i) rows[i] = ddst + (mb + i) * d.k + g * kg;
    for (int64_t j = 0; j < panels; ++j) {
      Tile tile;
      tile.kc = kg;
      tile.a = rows;
      tile.a_off = 0;
      tile.n = std::min<int64_t>(ks.nr, cg - j * ks.nr);
      tile.b = wt.data + g * wt.group_stride + j * wt.panel_stride;
      tile.ldb = tile.n == ks.nr ? wt.ld : wt.tail_ld;
      tile.c = dsrc + mb * d.c + g * cg + j * ks.nr;
      tile.ldc = d.c;
      tile.rows = count;
      tile.bias = nullptr;
      tile.accumulate = false;
      tile.stream = false;
      ks.kernel(tile);
    }
  }
}

void FastBackwardData::run(const float* ddst, const Panels& wt, float* scratch, float* dsrc) const {
  if (direct_) return direct(ddst, wt, dsrc);
  const Conv2dDesc& d = d_;
  const int64_t width = std::min<int64_t>(kernels_.nr, d.r * d.s * (d.c / d.groups));
  const int64_t tasks = d.groups * ceil_div(d.n, per_run_) * bands_;
#pragma omp parallel num_threads(team_)
  {
    float* buffer = scratch + omp_get_thread_num() * block_rows_ * width;
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) task(t, ddst, wt, buffer, dsrc);
  }
}

// Task t: group g, images [n0, n1) (a run, or one image's band of input
// rows [iy0, iy1)). Zeroes that part of dsrc, then adds every window
// gradient that lands in it.
void FastBackwardData::task(int64_t t, const float* ddst, const Panels& wt, float* buffer,
                            float* dsrc) const {
  const Conv2dDesc& d = d_;
  const KernelSet& ks = kernels_;
  const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups, cg = d.c / d.groups;
  const int64_t rd = d.s * cg, depth = d.r * rd, pixels = p * q;
  const int64_t width = std::min<int64_t>(ks.nr, depth);
  const int64_t runs = ceil_div(d.n, per_run_);
  const int64_t g = t / (runs * bands_), run = t / bands_ % runs, b = t % bands_;
  const int64_t n0 = run * per_run_, n1 = std::min(d.n, n0 + per_run_);
  const int64_t iy0 = d.h * b / bands_, iy1 = d.h * (b + 1) / bands_;
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t iy = iy0; iy < iy1; ++iy) {
      float* row = dsrc + (n * d.h + iy) * d.w * d.c;
      if (d.groups == 1) {
        std::fill(row, row + d.w * d.c, 0.0f);
      } else {
        for (int64_t ix = 0; ix < d.w; ++ix)
          std::fill(row + ix * d.c + g * cg, row + ix * d.c + (g + 1) * cg, 0.0f);
      }
    }
  }
  // Output rows [ylo, yhi) read the band: y*stride_h - pad_top + i*dilation_h
  // lies in [iy0, iy1) for some kernel row i.
  int64_t ylo = 0, yhi = p;
  if (bands_ > 1) {
    const int64_t lowest = iy0 + d.pad_top - (d.r - 1) * d.dilation_h;
    ylo = lowest <= 0 ? 0 : ceil_div(lowest, d.stride_h);
    yhi = std::min(p, (iy1 - 1 + d.pad_top) / d.stride_h + 1);
  }
  if (ylo >= yhi) return;
  const int64_t m0 = (n0 * p + ylo) * q, m1 = ((n1 - 1) * p + yhi) * q;
  const float* rows[kBlock];
  for (int64_t mb = m0; mb < m1; mb += block_rows_) {
    const int64_t count = std::min(block_rows_, m1 - mb);
    for (int64_t i = 0; i < count; ++i) rows[i] = ddst + (mb + i) * d.k + g * kg;
    // Kernel rows [i0, i1) of the block's output rows [ya, yb] that land in the band.
    const bool one_image = mb / pixels == (mb + count - 1) / pixels;
    const int64_t ya = one_image ? mb / q % p : 0,
                  yb = one_image ? (mb + count - 1) / q % p : p - 1;
    int64_t i0 = d.r, i1 = 0;
    for (int64_t i = 0; i < d.r; ++i) {
      const int64_t lo = ya * d.stride_h - d.pad_top + i * d.dilation_h;
      const int64_t hi = yb * d.stride_h - d.pad_top + i * d.dilation_h;
      if (hi >= iy0 && lo < iy1) i0 = std::min(i0, i), i1 = i + 1;
    }
    if (i0 >= i1) continue;
    const int64_t col0 = i0 * rd, col1 = i1 * rd;
    for (int64_t j = col0 / ks.nr; j * ks.nr < col1; ++j) {
      Tile tile;
      tile.kc = kg;
      tile.a = rows;
      tile.a_off = 0;
      tile.n = std::min<int64_t>(ks.nr, depth - j * ks.nr);
      tile.b = wt.data + g * wt.group_stride + j * wt.panel_stride;
      tile.ldb = tile.n == ks.nr ? wt.ld : wt.tail_ld;
      tile.c = buffer;
      tile.ldc = width;
      tile.rows = count;
      tile.bias = nullptr;
      tile.accumulate = false;
      tile.stream = false;
      ks.kernel(tile);
      scatter(buffer, mb, count, g, std::max(col0, j * ks.nr), std::min(col1, j * ks.nr + tile.n),
              j * ks.nr, iy0, iy1, dsrc);
    }
  }
}

// Adds columns [col0, col1) of the buffer (rows: output pixels m0...,
// column 0: window column buffer_col0) into dsrc's rows [iy0, iy1). Along
// a kernel row, taps j, j+1 of a group-less, undilated layer are adjacent
// pixels of dsrc: one run per pixel and kernel row. The pixels of one
// output row whose runs lie inside the image are added by one add_rows
// call (their runs are stride_w pixels apart); the edge pixels one by one.
void FastBackwardData::scatter(const float* buffer, int64_t m0, int64_t count, int64_t g,
                               int64_t col0, int64_t col1, int64_t buffer_col0, int64_t iy0,
                               int64_t iy1, float* dsrc) const {
  const Conv2dDesc& d = d_;
  const int64_t p = d.p(), q = d.q(), c = d.c, cg = d.c / d.groups, rd = d.s * cg;
  const int64_t width = std::min<int64_t>(kernels_.nr, d.r * rd);
  const bool runs = d.groups == 1 && d.dilation_w == 1;
  for (int64_t col = col0; col < col1;) {
    const int64_t i = col / rd, u0 = col % rd;
    int64_t u1 = std::min(rd, u0 + (col1 - col));
    if (!runs) u1 = std::min(u1, (u0 / cg + 1) * cg);
    const int64_t jj = u0 / cg, ci = u0 % cg, len = u1 - u0;
    // Pixel x's run starts at x*stride_w*c + base in its dsrc row; it lies
    // inside the row for x in [first, last] (runs: partly outside the row
    // elsewhere; else wholly).
    const int64_t base =
        runs ? u0 - d.pad_left * c : (jj * d.dilation_w - d.pad_left) * c + g * cg + ci;
    const int64_t lo_in = runs ? -base : (d.pad_left - jj * d.dilation_w) * c;  // first x*sw*c
    const int64_t hi_in =
        runs ? d.w * c - len - base : (d.w - 1 + d.pad_left - jj * d.dilation_w) * c;
    // One pixel, clipped to the row (runs) or skipped when outside (taps).
    auto pixel = [&](float* row, int64_t x, const float* from) {
      const int64_t ix0 = x * d.stride_w - d.pad_left;
      if (runs) {
        const int64_t lo = std::max(u0, -ix0 * c), hi = std::min(u1, (d.w - ix0) * c);
        if (lo < hi) add_rows_(row + (ix0 * c + lo), 0, from + (lo - u0), 0, 1, hi - lo);
      } else {
        const int64_t ix = ix0 + jj * d.dilation_w;
        if (ix >= 0 && ix < d.w) add_rows_(row + ix * c + g * cg + ci, 0, from, 0, 1, len);
      }
    };
    int64_t x = m0 % q, y = m0 / q % p, n = m0 / (p * q);
    for (int64_t m = 0; m < count;) {
      const int64_t pieces = std::min(q - x, count - m);  // pixels [x, x + pieces) of row y
      const int64_t iy = y * d.stride_h - d.pad_top + i * d.dilation_h;
      if (iy >= iy0 && iy < iy1) {
        float* row = dsrc + (n * d.h + iy) * d.w * c;
        const float* from = buffer + m * width + (col - buffer_col0);
        int64_t xa = x + pieces, xb = xa;
        if (pieces > 1) {  // q > 1: stride_w * c is at most about w * c
          const int64_t step = d.stride_w * c;
          const int64_t first = lo_in <= 0 ? 0 : lo_in / step + (lo_in % step != 0);
          const int64_t last = hi_in < 0 ? -1 : hi_in / step;
          xa = std::clamp(first, x, x + pieces);
          xb = std::clamp(last + 1, xa, x + pieces);
          if (xa < xb) {
            add_rows_(row + (xa * step + base), step, from + (xa - x) * width, width, xb - xa, len);
          }
        }
        if (xa == xb) xa = xb = x + pieces;  // no interior: every pixel below
        for (int64_t e = x; e < xa; ++e) pixel(row, e, from + (e - x) * width);
        for (int64_t e = xb; e < x + pieces; ++e) pixel(row, e, from + (e - x) * width);
      }
      m += pieces;
      x = 0;
      if (++y == p) y = 0, ++n;
    }
    col += len;
  }
}

}  // namespace cpu
}  // namespace mec
