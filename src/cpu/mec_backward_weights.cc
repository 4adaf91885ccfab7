// MEC's weight gradient on the fast engine (mec_backward_fast.h): dW =
// windows^T * ddst with the depth running over every output pixel of an
// image, where the CBLAS form's depth is one output row (q: 5-7 on deep
// layers). The micro-kernels read their left operand as rows with the
// depth contiguous, so the windows are needed tap-major: LT, L transposed.
//
// LT holds, per (group, tap column j, channel ci, image), a plane of the
// padded input's hp rows of q values, LT[yy][x] = src_padded[yy][x*stride_w
// + j*dilation_w][ci]: exactly |L| floats, the same values as L in another
// order. The plane's rows are stored by phase (yy % stride_h, then yy /
// stride_h), so tap (i, j, ci) over an image's output pixels (y, x) - rows
// yy = y*stride_h + i*dilation_h - is one run of p*q floats for any stride.
// dW (HWIO, r*s*cg rows of k) is then written in place: row pointers into
// LT (one per tap), ddst read in place as the right operand (ld = k).
//
// Work sharing, every sum in an order fixed by the plan:
//   taps: tasks own ranges of LT's planes (j, ci): each lowers its planes
//     of every image, then sums dW's rows (i, j, ci) over every image in
//     order (deep layers: |W| up to 9 MiB stays where it is while each
//     image's small L passes).
//   images (batch > 1 where dW is small next to an image's L and ddst):
//     runs of images, each lowered one image at a time into its thread's
//     slot of an image's L while in cache, into a partial dW per run; the
//     partials are added in run order. Both fit in |L|.
//   transposed ddst (pointwise layers with k < c, one thread): dW^T =
//     ddst^T * src, src read in place (run_pointwise()).
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "common/checked.h"
#include "cpu/mec_backward_fast.h"
#include "cpu/mec_backward_kernels.h"

namespace mec {
namespace cpu {
namespace {

// Blocking: an outer block of taps whose dW rows (at most kOuterFloats)
// stay in L2 (1 MiB on Zen 4/5) while every image adds to them, in inner
// blocks of kMc taps; the depth (an image's output pixels) in equal passes
// of at most kMaxPass. Each pass ends with the tiles' C loads and stores,
// so short or uneven passes cost: on res4a_3 (196 pixels, k = 1024) passes
// of 64, 64, 64 and 4 take 1.08x oneDNN's time, one pass 0.97x; passes of
// up to 1024 are 1-4% faster than of up to 512, and 5-20% faster than one
// pass of up to 4096 (ResNet-50's and the paper's 56x56 layers).
constexpr int64_t kMc = 96;
constexpr int64_t kMaxOuter = 2048;
constexpr int64_t kOuterFloats = 96 * 1024;
constexpr int64_t kMaxPass = 1024;

// First row, within a plane of LT, of the padded rows of phase ph: the rows
// yy < hp with yy % sh < ph come before it.
int64_t phase_start(int64_t hp, int64_t sh, int64_t ph) {
  return hp / sh * ph + std::min(ph, hp % sh);
}

}  // namespace

void generic_transpose(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                       int64_t cols) {
  for (int64_t c0 = 0; c0 < cols; c0 += 16) {
    const int64_t c1 = std::min(cols, c0 + 16);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = c0; c < c1; ++c) out[c * out_ld + r] = in[r * in_ld + c];
    }
  }
}

FastBackwardWeights::FastBackwardWeights(const Conv2dDesc& d, const KernelSet& kernels, int threads)
    : d_(d),
      kernels_(kernels),
      threads_(threads),
      transpose_(std::strcmp(kernels.name, "avx512") == 0 ? avx512_transpose : generic_transpose) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups, pixels = d.n * d.h * d.w;
  const bool pointwise = d.r == 1 && d.s == 1 && d.stride_h == 1 && d.stride_w == 1 &&
                         d.pad_top == 0 && d.pad_bottom == 0 && d.pad_left == 0 && d.pad_right == 0;
  // Images mode where dW is small next to an image's L and ddst (each
  // image reads and writes all of it), in as many runs (up to one per
  // image, at least one per thread) as the slots and partials allow in |L|.
  const int64_t slot = d.q() * (d.h + d.pad_top + d.pad_bottom) * d.s * d.c, lowered = d.n * slot;
  if (d.n >= threads && d.n > 1 && d.weight_elems() <= slot + d.p() * d.q() * d.k) {
    // threads * slot <= lowered: threads <= n. Partials that fit: by division.
    const int64_t parts = std::min(d.n, 1 + (lowered - threads * slot) / d.weight_elems());
    if (parts >= threads) parts_ = parts;
  }
  // |L| is src's size here; ddst^T and dW^T must fit in it. One thread
  // only: its transposes need two more barriers than the taps mode, which
  // cost more than they save on cores shared with other processes.
  transposed_ddst_ = threads == 1 && parts_ == 0 && pointwise && kg < cg &&
                     pixels * d.k + d.weight_elems() <= lowered;
  // Ranges of LT's planes per group (taps mode): two per thread, so that a
  // thread slowed by another process leaves work to the others (dynamic
  // schedule; each range is summed in the same order whoever takes it).
  if (d.groups < 2 * threads && threads > 1) {
    chunks_ = std::max<int64_t>(1, std::min(ceil_div(2 * int64_t(threads), d.groups), d.s * cg));
  }
}

int64_t FastBackwardWeights::scratch_floats() const {
  const Conv2dDesc& d = d_;
  const int64_t slot = d.q() * (d.h + d.pad_top + d.pad_bottom) * d.s * d.c;  // an image's L
  if (parts_ > 0) return threads_ * slot + (parts_ - 1) * d.weight_elems();
  if (transposed_ddst_) return d.n * d.h * d.w * d.k + d.weight_elems();
  return d.n * slot;
}

// Padded row yy of image n, group g, into the planes u = j*cg + ci in
// [u0, u1) of an LT of `images` images where n is image `index`: per tap
// column j, the [x][ci] block of src that the columns x read, transposed
// into row yy of the planes (j, ci).
void FastBackwardWeights::lower_row(const float* src, int64_t g, int64_t n, int64_t yy, float* lt,
                                    int64_t images, int64_t index, int64_t u0, int64_t u1) const {
  const Conv2dDesc& d = d_;
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, q = d.q(), cg = d.c / d.groups;
  const int64_t plane = hp * q, stride = images * plane, sh = d.stride_h;  // plane to plane
  const int64_t row = phase_start(hp, sh, yy % sh) + yy / sh;
  float* planes = lt + g * d.s * cg * stride + index * plane + row * q;
  const int64_t iy = yy - d.pad_top;
  for (int64_t j = u0 / cg; j * cg < u1; ++j) {
    const int64_t c0 = std::max<int64_t>(0, u0 - j * cg), c1 = std::min(cg, u1 - j * cg);
    float* out = planes + j * cg * stride;
    if (iy < 0 || iy >= d.h) {
      for (int64_t ci = c0; ci < c1; ++ci)
        std::fill(out + ci * stride, out + ci * stride + q, 0.0f);
      continue;
    }
    // Columns x whose tap j lies inside the width: [xa, xb).
    const int64_t off = j * d.dilation_w - d.pad_left;  // ix = x*stride_w + off
    const int64_t xa = std::min(q, off >= 0 ? 0 : ceil_div(-off, d.stride_w));
    const int64_t xb = d.w - off <= 0 ? xa : std::clamp(ceil_div(d.w - off, d.stride_w), xa, q);
    for (int64_t ci = c0; ci < c1; ++ci) {
      std::fill(out + ci * stride, out + ci * stride + xa, 0.0f);
      std::fill(out + ci * stride + xb, out + ci * stride + q, 0.0f);
    }
    if (xa == xb) continue;
    // Two columns are at most w apart, so stride_w * c cannot overflow
    // then; with one, the step is unused.
    const float* in = src + ((n * d.h + iy) * d.w + xa * d.stride_w + off) * d.c + g * cg + c0;
    transpose_(in, xb - xa > 1 ? d.stride_w * d.c : 0, out + c0 * stride + xa, stride, xb - xa,
               c1 - c0);
  }
}

// dW's rows (i, u) of group g for every kernel row i and planes u in
// [u0, u1), from images [n0, n1), LT holding just those, added in order
// (the first overwrites unless `accumulate`). An outer block takes the
// same planes of every kernel row, so that a pass's ddst rows serve all r
// of them while in L2. Where an image's plane is its p*q pixels (one
// kernel row, stride_h 1, no vertical padding) the planes of consecutive
// images are one run: the depth spans all images at once.
void FastBackwardWeights::rows_task(int64_t g, int64_t u0, int64_t u1, const float* lt, int64_t n0,
                                    int64_t n1, const float* ddst, bool accumulate,
                                    float* hwio) const {
  const Conv2dDesc& d = d_;
  const KernelSet& ks = kernels_;
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, p = d.p(), q = d.q(), cg = d.c / d.groups;
  const int64_t kg = d.k / d.groups, plane = hp * q, rd = d.s * cg, sh = d.stride_h;
  const bool merged = hp == p && sh == 1;
  const int64_t images = merged ? 1 : n1 - n0, pixels = merged ? (n1 - n0) * p * q : p * q;
  const int64_t panels = ceil_div(kg, int64_t(ks.nr));
  // Planes per outer block: r rows of dW each (at most kOuterFloats).
  const int64_t outer = std::clamp(kOuterFloats / (kg * d.r) / kMc * kMc, kMc, kMaxOuter);
  const int64_t passes = ceil_div(pixels, kMaxPass);
  const float* rows[kMaxOuter];  // kernel row i's runs of the block's planes
  for (int64_t ub = u0; ub < u1; ub += outer) {
    const int64_t count = std::min(outer, u1 - ub);
    for (int64_t n = 0; n < images; ++n) {
      for (int64_t kp = 0; kp < passes; ++kp) {
        const int64_t k0 = pixels * kp / passes, k1 = pixels * (kp + 1) / passes;
        for (int64_t i = 0; i < d.r; ++i) {
          const int64_t yy = i * d.dilation_h;
          const float* first = lt + ((g * rd + ub) * (n1 - n0) + n) * plane +
                               (phase_start(hp, sh, yy % sh) + yy / sh) * q;
          for (int64_t t = 0; t < count; ++t) rows[t] = first + t * (n1 - n0) * plane;
          for (int64_t sb = 0; sb < count; sb += kMc) {
            for (int64_t j = 0; j < panels; ++j) {
              Tile t;
              t.kc = k1 - k0;
              t.a = rows + sb;
              t.a_off = k0;
              t.n = std::min<int64_t>(ks.nr, kg - j * ks.nr);
              t.b = ddst + (n0 * p * q + n * pixels + k0) * d.k + g * kg + j * ks.nr;
              t.ldb = d.k;
              t.c = hwio + (i * rd + ub + sb) * d.k + g * kg + j * ks.nr;
              t.ldc = d.k;
              t.rows = std::min(kMc, count - sb);
              t.bias = nullptr;
              t.accumulate = accumulate || n > 0 || k0 > 0;
              t.stream = false;
              ks.kernel(t);
            }
          }
        }
      }
    }
  }
}

// Images mode: the images in parts_ runs, handed out dynamically (a
// thread slowed by another process leaves runs to the others); a thread
// lowers a run's images one at a time into its slot and adds each to the
// run's partial dW (run 0: dW itself); the partials are then added in run
// order, so the sums do not depend on which thread took which run. Else LT of every image first,
// then dW in ranges of rows (taps), each summing every image in order.
// dbias (when not null) as bias_gradient() (backward_common.h) computes
// it - per channel, in pixel order, in double - as a work-sharing loop
// without a barrier at the start of run()'s parallel region: one region
// less to wait for on cores shared with other processes.
void FastBackwardWeights::bias(const float* ddst, float* dbias) const {
  if (dbias == nullptr) return;
  const Conv2dDesc& d = d_;
  const int64_t pixels = d.n * d.p() * d.q(), k = d.k;
#pragma omp for schedule(static) nowait
  for (int64_t c0 = 0; c0 < k; c0 += 256) {
    const int64_t c1 = std::min(k, c0 + 256);
    double sum[256] = {};
    for (int64_t i = 0; i < pixels; ++i) {
      const float* row = ddst + i * k;
      for (int64_t c = c0; c < c1; ++c) sum[c - c0] += row[c];
    }
    for (int64_t c = c0; c < c1; ++c) dbias[c] = float(sum[c - c0]);
  }
}

void FastBackwardWeights::run(const float* src, const float* ddst, float* lt, float* hwio,
                              float* dbias) const {
  const Conv2dDesc& d = d_;
  const int64_t hp = d.h + d.pad_top + d.pad_bottom, rd = d.s * (d.c / d.groups);
  if (parts_ > 0) {
    const int64_t weights = d.weight_elems(), slot = d.q() * hp * d.s * d.c;
    float* partials = lt + threads_ * slot;
#pragma omp parallel num_threads(threads_)
    {
      bias(ddst, dbias);
      float* mine = lt + omp_get_thread_num() * slot;
#pragma omp for schedule(dynamic, 1)
      for (int64_t t = 0; t < parts_; ++t) {
        float* out = t == 0 ? hwio : partials + (t - 1) * weights;
        const int64_t n0 = d.n * t / parts_, n1 = d.n * (t + 1) / parts_;
        for (int64_t n = n0; n < n1; ++n) {
          for (int64_t g = 0; g < d.groups; ++g) {
            for (int64_t yy = 0; yy < hp; ++yy) {
              lower_row(src, g, n, yy, mine, 1, 0, 0, rd);
            }
          }
          for (int64_t g = 0; g < d.groups; ++g) {
            rows_task(g, 0, rd, mine, n, n + 1, ddst, n > n0, out);
          }
        }
      }
#pragma omp for schedule(static)
      for (int64_t e0 = 0; e0 < weights; e0 += 4096) {
        const int64_t e1 = std::min(weights, e0 + 4096);
        for (int64_t t = 1; t < parts_; ++t) {
          const float* part = partials + (t - 1) * weights;
          for (int64_t e = e0; e < e1; ++e) hwio[e] += part[e];
        }
      }
    }
    return;
  }
  if (transposed_ddst_) return run_pointwise(src, ddst, lt, hwio, dbias);
  // Tasks own planes u in [u0, u1) of LT - they lower them and compute
  // dW's rows (i, u) for every kernel row i - so that no task waits for
  // another's part of LT.
  const int64_t tasks = d.groups * chunks_;
#pragma omp parallel num_threads(threads_)
  {
    bias(ddst, dbias);
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t g = t / chunks_, c = t % chunks_;
      const int64_t u0 = rd * c / chunks_, u1 = rd * (c + 1) / chunks_;
      for (int64_t n = 0; n < d.n; ++n) {
        for (int64_t yy = 0; yy < hp; ++yy) lower_row(src, g, n, yy, lt, d.n, n, u0, u1);
      }
      rows_task(g, u0, u1, lt, 0, d.n, ddst, false, hwio);
    }
  }
}

// Pointwise layers with fewer output than input channels, on one thread:
// L would be src transposed (c values per pixel), ddst^T is smaller (k),
// and src is the right operand in place (ld = c). So dW^T = ddst^T * src,
// one GEMM per group over every pixel of every image, into a dW^T buffer
// that is then transposed into HWIO.
void FastBackwardWeights::run_pointwise(const float* src, const float* ddst, float* scratch,
                                        float* hwio, float* dbias) const {
  const Conv2dDesc& d = d_;
  const KernelSet& ks = kernels_;
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups, pixels = d.n * d.h * d.w;
  const int64_t panels = ceil_div(cg, int64_t(ks.nr)), passes = ceil_div(pixels, kMaxPass);
  float* dt = scratch;                  // ddst^T: k rows of every pixel
  float* dwt = scratch + pixels * d.k;  // dW^T: [g][kg][cg]
  bias(ddst, dbias);                    // outside a parallel region: all of it on this thread
  transpose_(ddst, d.k, dt, pixels, pixels, d.k);
  const float* rows[kMc];
  for (int64_t g = 0; g < d.groups; ++g) {
    for (int64_t kp = 0; kp < passes; ++kp) {
      const int64_t k0 = pixels * kp / passes, k1 = pixels * (kp + 1) / passes;
      for (int64_t sb = 0; sb < kg; sb += kMc) {
        const int64_t count = std::min(kMc, kg - sb);
        for (int64_t i = 0; i < count; ++i) rows[i] = dt + (g * kg + sb + i) * pixels;
        for (int64_t j = 0; j < panels; ++j) {
          Tile tile;
          tile.kc = k1 - k0;
          tile.a = rows;
          tile.a_off = k0;
          tile.n = std::min<int64_t>(ks.nr, cg - j * ks.nr);
          tile.b = src + k0 * d.c + g * cg + j * ks.nr;
          tile.ldb = d.c;
          tile.c = dwt + (g * kg + sb) * cg + j * ks.nr;
          tile.ldc = cg;
          tile.rows = count;
          tile.bias = nullptr;
          tile.accumulate = k0 > 0;
          tile.stream = false;
          ks.kernel(tile);
        }
      }
    }
    transpose_(dwt + g * kg * cg, cg, hwio + g * kg, d.k, kg, cg);
  }
}

}  // namespace cpu
}  // namespace mec
