// Internal: the one place the library reads environment variables. Each
// tuning override of Context (include/mec/conv.h) has a variable, parsed
// here once per process, at the first Context made, so that a program's
// plans do not change with a setenv() in the middle of its run and no
// algorithm file reads the environment; the values become the defaults of
// every new Context, whose setters win over them (docs/design.md, "Tuning
// overrides").
#pragma once

#include <cstdint>
#include <functional>

#include "mec/conv.h"

namespace mec {
namespace detail {

// The environment's overrides; every field automatic when its variable is
// unset, empty or unparsable.
struct Overrides {
  CpuIsa cpu_isa = CpuIsa::kAuto;                  // MEC_CPU_ISA
  CudaGemm cuda_gemm = CudaGemm::kAuto;            // MEC_CUDA_GEMM
  CudaFromSrc cuda_from_src = CudaFromSrc::kAuto;  // MEC_CUDA_FROM_SRC
  CudaTile cuda_tile;                              // MEC_CUDA_TILE
  int64_t cuda_block_mib = 0;                      // MEC_CUDA_BLOCK_MIB
};

// Parses the variables, each looked up with `lookup` (null: unset): the
// library passes std::getenv, the tests a table. A value that does not
// parse is ignored - the setting stays automatic - and never an error: a
// misspelt override must not stop a program (the plans' variant() strings
// show what runs).
Overrides parse_overrides(const std::function<const char*(const char* name)>& lookup);

// The process's environment, parsed at the first call and never again.
const Overrides& environment_overrides();

}  // namespace detail
}  // namespace mec
