// The truth for tests and benchmarks: the textbook definition of 2-D
// convolution (cross-correlation, as in every DNN framework), one output
// element at a time, accumulated in double. Shares no code with the
// algorithms it checks.
#pragma once

#include <cstdint>

#include "mec/conv.h"

namespace mec {
namespace reference {

// dst (double, NHWC n x p x q x k) = conv(src, weights) + bias. The
// descriptor must be valid. Parallel over output rows with OpenMP.
void conv2d(const Conv2dDesc& desc, const float* src, const float* weights, const float* bias,
            double* dst);

// One output element: image n, output row y, column x, output channel k.
struct OutputPoint {
  int64_t n, y, x, k;
};

// dst[i] = the element at points[i] of conv2d() above (the same sums in the
// same order), for checking large layers at sampled points without the
// whole output's cost. Parallel over points with OpenMP.
void conv2d_at(const Conv2dDesc& desc, const float* src, const float* weights, const float* bias,
               const OutputPoint* points, int64_t count, double* dst);

// Index of weight (output channel ko, kernel row i, column j, input channel
// ci within its group) in the descriptor's filter layout.
int64_t weight_index(const Conv2dDesc& desc, int64_t ko, int64_t i, int64_t j, int64_t ci);

// The error measure used everywhere (tests, mecbench): max |out - ref| over
// max |ref|. Any NaN or infinity in out gives +infinity, so an unwritten
// (NaN-poisoned) element always fails.
double max_rel_error(const float* out, const double* ref, int64_t count);

}  // namespace reference
}  // namespace mec
