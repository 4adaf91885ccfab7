// How mecbench checks a layer too large for the whole double-precision
// reference (above kRefFlopLimit): the reference at a few thousand output
// points, chosen so that every image, every output row, every output column
// and every block of output channels is hit at least once. A fault confined
// to one image, one row or column (a padding or stride edge) or one
// micro-kernel's channel block is then seen, which a check against another
// float algorithm with the same summation order would not do. Kept apart
// from the rest of mecbench so tests/ can exercise it on its own.
#pragma once

#include <cstdint>
#include <vector>

#include "mec/conv.h"
#include "reference/reference_conv.h"

namespace mecbench {

// Points at least checked on a large layer.
constexpr int64_t kSamplePoints = 4096;

// Deterministic sample (fixed seed) of at least max(target, n, p, q,
// channel blocks) output points of `desc`. Each of the four coordinates is
// stratified on its own: the values 0..size-1 repeated to the sample's
// length, then shuffled, so every value appears at least once and the
// combinations are random. Output channels go in blocks of ceil(k / target)
// channels (single channels whenever k <= target), a random channel of the
// block each time.
std::vector<mec::reference::OutputPoint> sample_points(const mec::Conv2dDesc& desc,
                                                       int64_t target = kSamplePoints);

// max |out - truth| / max |truth| over the points, out being the whole NHWC
// output and truth[i] the reference at points[i]: the measure of
// mec::reference::max_rel_error restricted to the sample. A NaN or infinity
// anywhere in out gives +infinity: the whole output is scanned for them, so
// an element left unwritten (mecbench poisons dst with NaN) is seen even
// off the sample.
double sampled_rel_error(const mec::Conv2dDesc& desc, const float* out,
                         const std::vector<mec::reference::OutputPoint>& points,
                         const std::vector<double>& truth);

}  // namespace mecbench
