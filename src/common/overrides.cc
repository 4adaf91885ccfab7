// The environment's tuning overrides, parsed once (common/overrides.h), and
// the Context constructor that starts every context from them. The CUDA
// backend carries a copy, as it does of desc.cc, because desc.cc's
// Context::cpu() constructs a Context; the backend never constructs one, so
// its copy never reads the environment.
#include "common/overrides.h"

#include <cstdlib>
#include <cstring>

#include "common/auto_select.h"

namespace mec {
namespace detail {
namespace {

// A decimal number of 1 to 7 digits (no sign, no spaces) at *p, which is
// advanced past it; false if there is none. Seven digits bound every value
// below 2^24, far above any valid one, so nothing overflows.
bool parse_digits(const char** p, int64_t* value) {
  int64_t v = 0;
  int digits = 0;
  for (; **p >= '0' && **p <= '9'; ++*p) {
    if (++digits > 7) return false;
    v = v * 10 + (**p - '0');
  }
  *value = v;
  return digits > 0;
}

CpuIsa parse_cpu_isa(const char* v) {
  if (std::strcmp(v, "avx512") == 0) return CpuIsa::kAvx512;
  if (std::strcmp(v, "avx2") == 0) return CpuIsa::kAvx2;
  if (std::strcmp(v, "generic") == 0) return CpuIsa::kGeneric;
  return CpuIsa::kAuto;
}

CudaGemm parse_cuda_gemm(const char* v) {
  if (std::strcmp(v, "cublas") == 0) return CudaGemm::kCublas;
  if (std::strcmp(v, "kernel") == 0) return CudaGemm::kKernel;
  return CudaGemm::kAuto;
}

CudaFromSrc parse_cuda_from_src(const char* v) {
  if (std::strcmp(v, "0") == 0) return CudaFromSrc::kNever;
  if (std::strcmp(v, "1") == 0) return CudaFromSrc::kWhereverItFits;
  return CudaFromSrc::kAuto;
}

// "MxN" or "MxNxS", M and N positive; automatic ({}) otherwise.
CudaTile parse_cuda_tile(const char* v) {
  int64_t m = 0, n = 0, splits = 0;
  if (!parse_digits(&v, &m) || *v++ != 'x' || !parse_digits(&v, &n)) return {};
  if (*v == 'x') {
    ++v;
    if (!parse_digits(&v, &splits)) return {};
  }
  if (*v != '\0' || m == 0 || n == 0) return {};
  return {int(m), int(n), int(splits)};
}

// 1 to 2^20 - 1 MiB; automatic (0) otherwise.
int64_t parse_cuda_block_mib(const char* v) {
  int64_t mib = 0;
  if (!parse_digits(&v, &mib) || *v != '\0' || mib >= (int64_t(1) << 20)) return 0;
  return mib;
}

}  // namespace

Overrides parse_overrides(const std::function<const char*(const char* name)>& lookup) {
  Overrides o;
  // Unset and empty are alike: `MEC_CUDA_TILE= mecbench ...` clears one.
  auto value = [&lookup](const char* name) -> const char* {
    const char* v = lookup(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  if (const char* v = value("MEC_CPU_ISA")) o.cpu_isa = parse_cpu_isa(v);
  if (const char* v = value("MEC_CUDA_GEMM")) o.cuda_gemm = parse_cuda_gemm(v);
  if (const char* v = value("MEC_CUDA_FROM_SRC")) o.cuda_from_src = parse_cuda_from_src(v);
  if (const char* v = value("MEC_CUDA_TILE")) o.cuda_tile = parse_cuda_tile(v);
  if (const char* v = value("MEC_CUDA_BLOCK_MIB")) o.cuda_block_mib = parse_cuda_block_mib(v);
  return o;
}

const Overrides& environment_overrides() {
  static const Overrides overrides =
      parse_overrides([](const char* name) -> const char* { return std::getenv(name); });
  return overrides;
}

}  // namespace detail

Context::Context() {
  const detail::Overrides& o = detail::environment_overrides();
  cpu_isa_ = o.cpu_isa;
  cuda_gemm_ = o.cuda_gemm;
  cuda_from_src_ = o.cuda_from_src;
  cuda_tile_ = o.cuda_tile;
  cuda_block_mib_ = o.cuda_block_mib;
  auto_cache_ = std::make_shared<detail::AutoCache>();
}

}  // namespace mec
