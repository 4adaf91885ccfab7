// See mec_schedule.h. The thresholds that pick the fast engine's schedule
// live here, beside the rule that applies them.
#include "cpu/mec_schedule.h"

#include <algorithm>
#include <numeric>

#include "common/checked.h"

namespace mec {
namespace cpu {
namespace {

// Images whose L exceeds kBandedBytes are lowered in bands of at least
// kBandInputRows input rows and kTaskPixels output pixels (fewer rows
// cost more in per-row setup than they save in cache misses: cv7).
constexpr int64_t kBandInputRows = 8;
constexpr int64_t kBandedBytes = int64_t(4) << 20;
// An image whose output is at least this large is written with
// non-temporal stores (where dst is 64-byte aligned): its lines leave the
// caches before anyone reads them, and write-allocating them doubles the
// traffic. cv7 (12.6 MB per image, depth 27): -15% at batch 32 on 2
// threads; 1x1 layers with 3 MB per image were not helped (docs/cpu_engine.md).
constexpr int64_t kStreamImageBytes = int64_t(8) << 20;

}  // namespace

int64_t images_per_task(const Conv2dDesc& d, int threads) {
  return std::max<int64_t>(1, std::min(ceil_div(kTaskPixels, d.p() * d.q()), d.n / (4 * threads)));
}

int64_t rows_read(const Conv2dDesc& d, int64_t y1) {
  return (y1 - 1) * d.stride_h + (d.r - 1) * d.dilation_h + 1;
}

int64_t band_row_floats(const Conv2dDesc& d, int64_t rows) {
  return rows_read(d, rows) * d.s * (d.c / d.groups);
}
int64_t band_slot_floats(const Conv2dDesc& d, int64_t rows) {
  return d.groups * d.q() * band_row_floats(d, rows);
}
int64_t band_slots(const Conv2dDesc& d, int64_t rows, int threads) {
  return std::min<int64_t>(threads, d.n * ceil_div(d.p(), rows));
}

MecSchedule mec_schedule(const Conv2dDesc& d, int threads, int64_t band_rows, int nr) {
  const int64_t p = d.p(), q = d.q(), kg = d.k / d.groups, cg = d.c / d.groups;
  const int64_t ld = (d.h + d.pad_top + d.pad_bottom) * d.s * cg;  // a row of L
  MecSchedule s;
  s.stream_c = p * q * d.k * int64_t(sizeof(float)) >= kStreamImageBytes;
  if (band_rows > 0 && band_rows < p) {
    s.kind = MecSchedule::Kind::kBands;
    s.band_rows = band_rows;
    return s;
  }
  if (d.n >= threads) {
    // Runs of images handed out dynamically; an image whose L is large is
    // lowered in bands of output rows just ahead of the GEMM.
    s.kind = MecSchedule::Kind::kImages;
    s.per_task = images_per_task(d, threads);
    const int64_t image_floats = d.groups * q * ld;
    const bool banded = s.per_task == 1 && image_floats * int64_t(sizeof(float)) > kBandedBytes;
    const int64_t band = std::max(ceil_div(kTaskPixels, q), ceil_div(kBandInputRows, d.stride_h));
    s.image_rows = banded && band < p ? band : 0;
    return s;
  }
  // The GEMM split over output pixels, and over column panels too when a
  // group's weights outweigh its part of L (deep layers: each thread
  // streams half of them).
  const int64_t panels = (kg + nr - 1) / nr;
  const int64_t b_floats = d.r * d.s * cg * kg, l_floats = d.n * q * ld;
  s.kind = MecSchedule::Kind::kWhole;
  s.col_chunks = panels >= threads && b_floats > l_floats ? threads : 1;
  s.row_chunks = threads / std::gcd<int64_t>(d.groups * s.col_chunks, threads);
  return s;
}

std::string MecSchedule::tokens() const {
  std::string out;
  switch (kind) {
    case Kind::kBands:
      out = "bands" + std::to_string(band_rows);
      break;
    case Kind::kImages:
      out = "images" + std::to_string(per_task);
      if (image_rows > 0) out += "/rows" + std::to_string(image_rows);
      break;
    case Kind::kWhole:
      out = "whole/split" + std::to_string(row_chunks) + "x" + std::to_string(col_chunks);
      break;
  }
  return stream_c ? out + "/nt" : out;
}

}  // namespace cpu
}  // namespace mec
