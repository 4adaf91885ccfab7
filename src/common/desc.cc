// Descriptor validation and shape maths. Every way a descriptor can be wrong
// is caught here, with a message naming the field, before any algorithm sees
// it; every size that follows from a valid descriptor fits in int64_t bytes.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "common/algorithm_registry.h"
#include "common/checked.h"
#include "common/status_detail.h"
#include "mec/conv.h"

namespace mec {
namespace {

// Measured on the development machine with the CBLAS engine (docs/mec.md):
// q at or below which Solution A beats Solution B on CPU. The fast engine
// runs both solutions as one implicit GEMM, where T changes nothing.
constexpr int64_t kCpuMecThreshold = 56;
constexpr int kMaxThreadsPerCore = 8;

int64_t out_size(int64_t in, int64_t pad0, int64_t pad1, int64_t k, int64_t stride,
                 int64_t dilation) {
  return (in + pad0 + pad1 - (k - 1) * dilation - 1) / stride + 1;
}

// Checks one spatial axis: input size, pads, kernel, stride, dilation.
Status validate_axis(const char* axis, int64_t in, int64_t pad0, const char* pad0_name,
                     int64_t pad1, const char* pad1_name, int64_t k, int64_t stride,
                     const char* stride_name, int64_t dilation, const char* dilation_name) {
  if (pad0 < 0)
    return fail(Status::kInvalidArgument, "%s must be >= 0, got %lld", pad0_name, (long long)pad0);
  if (pad1 < 0)
    return fail(Status::kInvalidArgument, "%s must be >= 0, got %lld", pad1_name, (long long)pad1);
  if (stride < 1)
    return fail(Status::kInvalidArgument, "%s must be >= 1, got %lld", stride_name,
                (long long)stride);
  if (dilation < 1)
    return fail(Status::kInvalidArgument, "%s must be >= 1, got %lld", dilation_name,
                (long long)dilation);
  int64_t padded, extent;
  if (!checked_add(in, pad0, &padded) || !checked_add(padded, pad1, &padded)) {
    return fail(Status::kInvalidArgument, "padded %s overflows 64 bits", axis);
  }
  if (!checked_product({k - 1, dilation}, &extent) || !checked_add(extent, 1, &extent)) {
    return fail(Status::kInvalidArgument, "dilated kernel %s overflows 64 bits", axis);
  }
  if (extent > padded) {
    return fail(Status::kInvalidArgument,
                "dilated kernel %s (%lld) is larger than the padded input %s (%lld)", axis,
                (long long)extent, axis, (long long)padded);
  }
  return Status::kSuccess;
}

}  // namespace

int64_t Conv2dDesc::p() const { return out_size(h, pad_top, pad_bottom, r, stride_h, dilation_h); }
int64_t Conv2dDesc::q() const { return out_size(w, pad_left, pad_right, s, stride_w, dilation_w); }
double Conv2dDesc::flops() const {
  return 2.0 * double(n) * double(p()) * double(q()) * double(k) * double(r) * double(s) *
         double(c / groups);
}

Status validate(const Conv2dDesc& d) {
  const struct {
    const char* name;
    int64_t value;
  } positive[] = {{"n", d.n}, {"h", d.h}, {"w", d.w}, {"c", d.c},
                  {"k", d.k}, {"r", d.r}, {"s", d.s}, {"groups", d.groups}};
  for (const auto& f : positive) {
    if (f.value < 1) {
      return fail(Status::kInvalidArgument, "%s must be >= 1, got %lld", f.name,
                  (long long)f.value);
    }
  }
  if (d.c % d.groups != 0) {
    return fail(Status::kInvalidArgument, "c (%lld) must be divisible by groups (%lld)",
                (long long)d.c, (long long)d.groups);
  }
  if (d.k % d.groups != 0) {
    return fail(Status::kInvalidArgument, "k (%lld) must be divisible by groups (%lld)",
                (long long)d.k, (long long)d.groups);
  }
  if (d.filter_layout != FilterLayout::kHWIO && d.filter_layout != FilterLayout::kOHWI &&
      d.filter_layout != FilterLayout::kOIHW) {
    return fail(Status::kInvalidArgument, "filter_layout is not a FilterLayout value");
  }
  Status st = validate_axis("height", d.h, d.pad_top, "pad_top", d.pad_bottom, "pad_bottom", d.r,
                            d.stride_h, "stride_h", d.dilation_h, "dilation_h");
  if (st != Status::kSuccess) return st;
  st = validate_axis("width", d.w, d.pad_left, "pad_left", d.pad_right, "pad_right", d.s,
                     d.stride_w, "stride_w", d.dilation_w, "dilation_w");
  if (st != Status::kSuccess) return st;
  // Each tensor must be addressable in bytes with 64-bit sizes.
  int64_t bytes;
  if (!checked_product({d.n, d.h, d.w, d.c, 4}, &bytes)) {
    return fail(Status::kInvalidArgument, "src size n*h*w*c overflows 64-bit bytes");
  }
  if (!checked_product({d.k, d.r, d.s, d.c / d.groups, 4}, &bytes)) {
    return fail(Status::kInvalidArgument, "weights size k*r*s*c/groups overflows 64-bit bytes");
  }
  if (!checked_product({d.n, d.p(), d.q(), d.k, 4}, &bytes)) {
    return fail(Status::kInvalidArgument, "dst size n*p*q*k overflows 64-bit bytes");
  }
  return Status::kSuccess;
}

const char* algorithm_name(Algorithm algorithm) {
  for (const detail::AlgorithmRow& a : detail::kAlgorithms) {
    if (a.algorithm == algorithm) return a.name;
  }
  return "unknown";
}

namespace {
constexpr struct {
  Pass pass;
  const char* name;
} kPassNames[] = {{Pass::kForward, "fwd"},
                  {Pass::kBackwardData, "bwd_data"},
                  {Pass::kBackwardWeights, "bwd_weights"}};
}  // namespace

const char* pass_name(Pass pass) {
  for (const auto& p : kPassNames) {
    if (p.pass == pass) return p.name;
  }
  return "unknown";
}

bool parse_pass(const char* name, Pass* pass) {
  for (const auto& p : kPassNames) {
    if (std::strcmp(p.name, name) == 0) {
      *pass = p.pass;
      return true;
    }
  }
  return false;
}

bool parse_algorithm(const char* name, Algorithm* algorithm) {
  for (const detail::AlgorithmRow& a : detail::kAlgorithms) {
    if (std::strcmp(a.name, name) == 0) {
      *algorithm = a.algorithm;
      return true;
    }
  }
  return false;
}

Context Context::cpu(int threads) {
  Context ctx;
  ctx.device_ = Device::kCpu;
  // More threads than kMaxThreadsPerCore per processor only costs (and
  // libgomp crashes when asked for hundreds of thousands): clamp.
  const int most = kMaxThreadsPerCore * std::max(1, omp_get_num_procs());
  ctx.threads_ = std::min(threads > 0 ? threads : omp_get_max_threads(), most);
  ctx.mec_threshold_ = kCpuMecThreshold;
  return ctx;
}

}  // namespace mec
