// Internal: MEC's backward passes on the fast GEMM engine's micro-kernels
// (gemm_kernels.h), used by mec_backward.cc under GemmEngine::kFast. The
// CBLAS forms in mec_backward.cc run one GEMM per output row (q rows, or a
// depth of q): 5-7 on deep layers, far too few for any GEMM. Here every
// GEMM spans output rows and images:
//   data (mec_backward_data.cc): the window gradients of a block of output
//     pixels (rows of ddst, read in place) times W^T, packed in panels once,
//     into a thread's small buffer, then added into dsrc (scatter). Threads
//     own images, or bands of an image's input rows, so no two write the
//     same dsrc element.
//   weights (mec_backward_weights.cc): dW = windows^T * ddst, the depth
//     being every output pixel of an image. Its left operand needs each
//     tap's values over the pixels contiguous: L transposed (LT, |L|
//     floats, phase-split rows so that for any stride_h a tap's values over
//     an image's pixels are one run); ddst is the right operand in place and
//     dW (HWIO) the result in place. Tasks own planes of LT and their rows
//     of dW, or (batch > 1, small dW) runs of images with partial dWs
//     added in a fixed order.
#pragma once

#include <cstdint>
#include <string>

#include "cpu/gemm_fast.h"
#include "cpu/mec_backward_kernels.h"
#include "mec/conv.h"

namespace mec {
namespace cpu {

// W^T of each group, kg x (r*s*cg), as nr-column panels ([g][panel][kg][nr],
// the last panel (r*s*cg) % nr wide): exactly weight_elems() floats, from
// any filter layout.
void pack_transposed_panels(const Conv2dDesc& d, const float* weights, int nr, float* out,
                            int threads);
Panels transposed_panels(const Conv2dDesc& d, int nr, const float* packed);
// OHWI weights are W^T already: read in place (ld = r*s*cg).
Panels ohwi_transposed_panels(const Conv2dDesc& d, int nr, const float* ohwi);

class FastBackwardData {
 public:
  FastBackwardData(const Conv2dDesc& d, const KernelSet& kernels, int threads,
                   int64_t lowered_floats);
  // The threads' window-gradient buffers (none for the direct form).
  int64_t scratch_floats() const;
  // "direct" (1x1, stride 1, no padding: the GEMM writes dsrc), "images"
  // (threads own runs of images) or "bandsB" (B bands of input rows per
  // image, for fewer (group, image)s than threads).
  const std::string& form() const { return form_; }
  void run(const float* ddst, const Panels& wt, float* scratch, float* dsrc) const;

 private:
  void task(int64_t t, const float* ddst, const Panels& wt, float* buffer, float* dsrc) const;
  void scatter(const float* buffer, int64_t m0, int64_t count, int64_t g, int64_t col0,
               int64_t col1, int64_t buffer_col0, int64_t iy0, int64_t iy1, float* dsrc) const;
  void direct(const float* ddst, const Panels& wt, float* dsrc) const;

  const Conv2dDesc d_;
  const KernelSet& kernels_;
  const int threads_;
  const AddRowsFn add_rows_;  // window gradients into dsrc
  std::string form_;
  int64_t per_run_ = 1;     // images per task
  int64_t bands_ = 1;       // bands of input rows per image
  int64_t block_rows_ = 1;  // output pixels per GEMM block (the buffer's rows)
  int64_t team_ = 1;        // threads that hold a buffer
  bool direct_ = false;
};

class FastBackwardWeights {
 public:
  FastBackwardWeights(const Conv2dDesc& d, const KernelSet& kernels, int threads);
  // LT: |L| floats; images mode: a slot of an image's L per thread and a
  // partial dW per run of images but one; transposed ddst: ddst^T and
  // dW^T. Each at most |L|.
  int64_t scratch_floats() const;
  // "transposed-l" (tasks split LT's planes), "transposed-l/images"
  // (tasks split the images) or "transposed-ddst" (pointwise, k < c, one
  // thread).
  const char* form() const {
    return parts_ > 0         ? "transposed-l/images"
           : transposed_ddst_ ? "transposed-ddst"
                              : "transposed-l";
  }
  // hwio: dW in HWIO; dbias may be null.
  void run(const float* src, const float* ddst, float* lt, float* hwio, float* dbias) const;

 private:
  void bias(const float* ddst, float* dbias) const;
  void lower_row(const float* src, int64_t g, int64_t n, int64_t yy, float* lt, int64_t images,
                 int64_t index, int64_t u0, int64_t u1) const;
  void rows_task(int64_t g, int64_t u0, int64_t u1, const float* lt, int64_t n0, int64_t n1,
                 const float* ddst, bool accumulate, float* hwio) const;
  void run_pointwise(const float* src, const float* ddst, float* scratch, float* hwio,
                     float* dbias) const;

  const Conv2dDesc d_;
  const KernelSet& kernels_;
  const int threads_;
  const TransposeFn transpose_;   // pixel rows of src into LT's planes
  int64_t parts_ = 0;             // images mode: runs of images with partial dWs (run())
  bool transposed_ddst_ = false;  // run_pointwise()
  int64_t chunks_ = 1;            // taps mode: tasks per group (ranges of LT's planes)
};

}  // namespace cpu
}  // namespace mec
