// Internal: how FFT convolution cuts a layer into FFT tiles (overlap-save).
// A tile of nh x nw input values yields (nh - R + 1) x (nw - S + 1) outputs
// of the stride-1 correlation, where R x S is the dilated kernel extent. The
// FFT sizes are chosen per axis pair from the "nice" sizes 2^a 3^b 5^c 7^d
// (FFTW is fastest on them) by a cost model: tiles x (complex products
// F*cg*kg*8 flops + transforms (cg+kg)*2.5*nh*nw*log2(nh*nw)), where
// F = nh*(nw/2+1) is the number of half-spectrum frequencies. Sizes are
// capped at max(32, smallest nice >= 2R) so the transformed kernels
// (8*F*k*cg bytes) stay bounded on large images; no larger than one tile
// covering the whole (padded) image.
#pragma once

#include <cstdint>

namespace mec {
namespace cpu {

struct FftTiling {
  int64_t nh, nw;            // FFT sizes
  int64_t th, tw;            // stride-1 outputs per tile
  int64_t tiles_h, tiles_w;  // tiles per image
  int64_t freqs;             // nh * (nw / 2 + 1)
};

// extent_h/w: dilated kernel extent (<= 1024); out_h/w: stride-1 outputs
// needed (>= 1, any size up to INT64_MAX); cg, kg: channels and filters per
// group. The tile counts are >= 1 and computed without overflow.
FftTiling choose_fft_tiling(int64_t extent_h, int64_t extent_w, int64_t out_h, int64_t out_w,
                            int64_t cg, int64_t kg);

}  // namespace cpu
}  // namespace mec
