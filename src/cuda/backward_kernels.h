// Internal: the CUDA kernels of the backward passes (backward_kernels.cu),
// behind plain C++ launchers like kernels.h. Every kernel writes every
// element of its output with one thread summing in a fixed order, so the
// results are the same bits on every run.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/geometry.h"
#include "mec/conv.h"

namespace mec {
namespace cuda {

// Direct backward data: dsrc[n][ih][iw][c], each gathering its taps' output
// gradients; weights HWIO or OHWI.
cudaError_t direct_backward_data(const Geometry& g, const float* ddst, const float* weights,
                                 bool weights_ohwi, float* dsrc, cudaStream_t stream);

// Direct backward weights: the HWIO gradient, each weight summing its
// products over every image and output pixel.
cudaError_t direct_backward_weights(const Geometry& g, const float* src, const float* ddst,
                                    float* hwio, cudaStream_t stream);

// col2im: dsrc from im2col's column-matrix gradient (kernels.h's layout),
// every input pixel gathering the entries that copied it.
cudaError_t col2im(const Geometry& g, const float* columns, float* dsrc, cudaStream_t stream);

// MEC's fold: dsrc from the gradient of L (kernels.h's layout, g.hp rows),
// every input pixel gathering the entries of the rows of L that copied it.
cudaError_t mec_fold(const Geometry& g, const float* dl, float* dsrc, cudaStream_t stream);

// ddst [n][p][q][k] -> [p][n][q][k], so that the (image, column) rows of one
// output row are one matrix with a single row stride.
cudaError_t rows_outer(const Geometry& g, const float* ddst, float* out, cudaStream_t stream);

// dbias[c] = the sum of `rows` rows of k values: partial sums of at most
// `max_chunks` chunks of rows into `partials` (max_chunks * k floats: the
// weight gradient's own buffer, written afterwards, so no workspace), then
// their sum, in a fixed order.
cudaError_t bias_gradient(const float* ddst, int64_t rows, int64_t k, float* partials,
                          int64_t max_chunks, float* dbias, cudaStream_t stream);

// The weight gradient in the descriptor's layout (OHWI or OIHW) from HWIO.
cudaError_t hwio_to_layout(const Geometry& g, FilterLayout layout, const float* hwio,
                           float* dweights, cudaStream_t stream);

}  // namespace cuda
}  // namespace mec
