// Internal: the gather/scatter kernels around cuFFT in FFT convolution on
// CUDA (src/cuda/fft.cc). The real arrays are "transform-interleaved":
// element (y, x) of transform b at (y*nw + x)*batch + b, so NHWC's channel
// stays the fastest index (coalesced gathers and scatters) and cuFFT, told
// istride = batch and idist = 1, leaves the spectra as [f][b]: for each
// frequency f a row-major (tiles x channels) matrix, ready for one
// strided-batched complex GEMM over f.
//
// Stride by polyphase (space-to-depth): along an axis with stride u > 1 and
// no dilation, the padded input is read as u phases of every u-th element,
// and the kernel likewise, so the layer becomes a stride-1 correlation with
// u times the channels and a kernel ceil(r/u) long: effective channel
// ch' = g*cg' + phase*cg + ci with cg' = cg*uh*uw, phase = ph_y*uw + ph_x.
// Along an axis with dilation and stride, the stride-1 outputs are computed
// and every v-th is kept (subsampling, as on CPU).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/kernels.h"
#include "cuda/winograd_kernels.h"

namespace mec {
namespace cuda {

struct FftBlock {
  int64_t nh, nw;            // FFT size
  int64_t th, tw;            // stride-1 outputs per tile
  int64_t tiles_h, tiles_w;  // tiles per image
  int64_t total;             // tiles of all images
  int64_t batch;             // tiles per block (the cuFFT plans' batch / channels)
  int64_t t0;                // first tile of this block
  int64_t uh, uw;            // polyphase factors (the stride, or 1)
  int64_t vh, vw;            // subsampling factors (the stride, or 1)
  int64_t ce, cge;           // effective channels: c*uh*uw, cg*uh*uw
};

// real[y][x][t][ch'] = padded src around tile t0 + t (zero past `total`),
// ch' < ce the effective channel.
cudaError_t fft_gather_inputs(const Geometry& g, const FftBlock& b, const float* src, float* real,
                              cudaStream_t stream);
// real[y][x][ko][ci'] = the (dilated, phase-split) kernel ko, ci' scaled by
// `scale`, zero elsewhere in the nh x nw plane; ci' < cge.
cudaError_t fft_gather_kernels(const Geometry& g, const FftBlock& b, const WeightStrides& ws,
                               float scale, const float* weights, float* real, cudaStream_t stream);
// dst = real[y][x][t][ko] at the stride-1 outputs the tile covers that the
// stride keeps (+ bias).
cudaError_t fft_scatter_outputs(const Geometry& g, const FftBlock& b, const float* real,
                                const float* bias, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
