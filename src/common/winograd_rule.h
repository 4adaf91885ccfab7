// Internal: what Winograd F(2x2,3x3) / F(4x4,3x3) accepts and which variant
// kWinograd means, shared by the CPU and CUDA backends so both answer the
// same for the same descriptor.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/status_detail.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

// kSuccess for 3x3 stride-1 dilation-1 layers, else kUnsupported with why.
inline Status check_winograd_shape(const Conv2dDesc& d) {
  if (d.r != 3 || d.s != 3 || d.stride_h != 1 || d.stride_w != 1 || d.dilation_h != 1 ||
      d.dilation_w != 1) {
    return fail(Status::kUnsupported,
                "winograd supports only 3x3 kernels with stride 1 and dilation 1 (got %lldx%lld, "
                "stride %lldx%lld, dilation %lldx%lld)",
                (long long)d.r, (long long)d.s, (long long)d.stride_h, (long long)d.stride_w,
                (long long)d.dilation_h, (long long)d.dilation_w);
  }
  return Status::kSuccess;
}

// The variant with less GEMM work over the padded tile grid. F(4x4) does
// 36 products per 16 outputs, F(2x2) 16 per 4, but F(4x4) wastes more on
// outputs that are not a multiple of 4, and with few tiles each of the
// a*a GEMMs is bound by reading its cg x kg transformed kernel (F(4x4)'s
// are 2.25x larger): below min_tiles rows a GEMM costs as if it had
// min_tiles. Accuracy: F(4x4)'s error is ~10x F(2x2)'s but still within
// 2e-5 of max|dst| on every layer we measured in fp32 (docs/algorithms.md).
inline Algorithm choose_winograd_variant(const Conv2dDesc& d, int64_t min_tiles) {
  const int64_t p = d.p(), q = d.q();
  const int64_t f2 = 16 * std::max(min_tiles, d.n * ((p + 1) / 2) * ((q + 1) / 2));
  const int64_t f4 = 36 * std::max(min_tiles, d.n * ((p + 3) / 4) * ((q + 3) / 4));
  return f4 <= f2 ? Algorithm::kWinogradF4 : Algorithm::kWinogradF2;
}

}  // namespace detail
}  // namespace mec
