// The truth for the backward passes of 2-D convolution (the gradients with
// respect to src, weights and bias), written from the definition as gathers:
// every gradient element is its own sum, accumulated in double, so OpenMP
// splits them without atomics. The forward truth is reference_conv.h; these
// share no code with it or with the algorithms they check.
#pragma once

#include "mec/conv.h"

namespace mec {
namespace reference {

// dsrc (double, NHWC n x h x w x c) = the gradient of sum(dst * ddst) with
// respect to src, where dst = conv(src, weights) and ddst is NHWC
// n x p x q x k. Each src element sums, over the kernel taps (i, j) whose
// output position y = (iy + pad_top - i * dilation_h) / stride_h (and
// likewise x) is integral and in range, and over the k / groups output
// channels of its group, ddst times the weight. An element that no window
// reaches gets 0. The descriptor must be valid. Parallel over src rows.
void conv2d_backward_data(const Conv2dDesc& desc, const float* ddst, const float* weights,
                          double* dsrc);

// dweights (double, in desc.filter_layout) = the gradient of sum(dst * ddst)
// with respect to the weights: each weight sums src times ddst over the
// images and the output positions whose window tap lands inside src. If
// dbias != nullptr, dbias[k] = the sum of ddst over n, y and x (the bias
// gradient). The descriptor must be valid. Parallel over weights.
void conv2d_backward_weights(const Conv2dDesc& desc, const float* src, const float* ddst,
                             double* dweights, double* dbias);

}  // namespace reference
}  // namespace mec
