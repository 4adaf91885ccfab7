// Internal: presenting the weights of one group as a GEMM operand. HWIO and
// OHWI are used in place (HWIO as a (r*s*cg) x k matrix, OHWI as its
// transpose); OIHW's inner order (c, r, s) does not match the lowered
// rows' (r, s, c), so it is repacked to HWIO into the workspace first.
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/gemm.h"
#include "mec/conv.h"

namespace mec {
namespace cpu {

// Floats of workspace the weights need per run: 0 unless the layout is
// repacked and the plan holds no packed weights.
int64_t weight_repack_floats(const Conv2dDesc& desc, bool packed);

// Returns the array the operands are built from. With weights == nullptr:
// the plan's packed weights `plan_packed`. Else OIHW weights are repacked
// to HWIO order into `scratch` (weight_repack_floats floats) and other
// layouts are used in place.
const float* prepare_weights(const Conv2dDesc& desc, const float* weights, const float* plan_packed,
                             float* scratch, int threads);

// For set_weights(): the plan-owned form, HWIO for OIHW, else a copy.
void pack_weights_hwio(const Conv2dDesc& desc, const float* weights, std::vector<float>* packed);

// Any layout to HWIO ([r][s][cg][k]); for HWIO a plain copy.
void to_hwio(const Conv2dDesc& desc, const float* weights, float* hwio, int threads);

// Operand of group g over prepare_weights()'s result; the k dimension is
// ordered (r, s, c_in_group).
WeightOperand weight_operand(const Conv2dDesc& desc, const float* prepared, int64_t g);

}  // namespace cpu
}  // namespace mec
