// Internal: how CPU MEC's fast GEMM engine divides a run among threads
// (src/cpu/mec.cc), decided once per plan. run() follows the MecSchedule,
// and the plan's variant string (Conv2dPlan::variant()) is written from
// the same MecSchedule, so the string names exactly the schedule that runs.
#pragma once

#include <cstdint>
#include <string>

#include "mec/conv.h"

namespace mec {
namespace cpu {

// Output pixels per task of the fast engine, at least: small images are
// grouped, large ones lowered in bands of about this many pixels.
constexpr int64_t kTaskPixels = 256;

// With at least as many images as threads, the fast engine hands out runs
// of this many images (about kTaskPixels output pixels, at least four runs
// per thread); each thread lowers its run into its own slot of L.
int64_t images_per_task(const Conv2dDesc& d, int threads);

// Padded input rows [0, rows_read(y1)) are what output rows [0, y1) read;
// a band of y1 output rows reads as many.
int64_t rows_read(const Conv2dDesc& d, int64_t y1);

// Row bands of `rows` output rows (0 < rows < p): the floats of one row of
// a band's L (the padded input rows the band reads, s*cg each), of one
// thread's slot (every group and column x), and the number of slots.
int64_t band_row_floats(const Conv2dDesc& d, int64_t rows);
int64_t band_slot_floats(const Conv2dDesc& d, int64_t rows);
int64_t band_slots(const Conv2dDesc& d, int64_t rows, int threads);

struct MecSchedule {
  enum class Kind {
    kBands,   // Context row bands: a task lowers and multiplies band_rows output rows
    kImages,  // n >= threads: a task lowers and multiplies per_task whole images
    kWhole,   // fewer images than threads: L lowered whole, then the GEMM split
  };
  Kind kind = Kind::kWhole;
  int64_t band_rows = 0;   // kBands
  int64_t per_task = 0;    // kImages: images per task
  int64_t image_rows = 0;  // kImages: output rows lowered at a time (0: whole images)
  int64_t row_chunks = 1, col_chunks = 1;  // kWhole: the GEMM's split
  bool stream_c = false;  // dst by non-temporal stores (where its rows are 64-byte aligned)

  // "bandsR", "imagesM", "images1/rowsB" or "whole/splitRxC", then "/nt"
  // with stream_c.
  std::string tokens() const;
};

// The schedule of a plan with `threads` threads, Context::mec_band_rows()
// `band_rows` (at most p; 0: whole images) and micro-kernel panels of nr
// columns.
MecSchedule mec_schedule(const Conv2dDesc& d, int threads, int64_t band_rows, int nr);

}  // namespace cpu
}  // namespace mec
