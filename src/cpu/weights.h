// Internal: presenting the weights of one group as a GEMM operand. HWIO and
// OHWI are used in place (HWIO as a (r*s*cg) x k matrix, OHWI as its
// transpose); OIHW's inner order (c, r, s) does not match the lowered
// rows' (r, s, c), so it is repacked to HWIO into the workspace first.
#pragma once

#include <cstdint>

#include "cpu/gemm.h"
#include "mec/conv.h"

namespace mec {
namespace cpu {

// Floats of workspace the weights need (0 unless the layout is repacked).
int64_t weight_repack_floats(const Conv2dDesc& desc);

// Repacks OIHW weights into HWIO order at `packed` (weight_repack_floats
// floats); returns the array the operands should be built from: `packed`
// after a repack, else `weights` itself.
const float* prepare_weights(const Conv2dDesc& desc, const float* weights, float* packed,
                             int threads);

// Operand of group g over prepare_weights()'s result; the k dimension is
// ordered (r, s, c_in_group).
WeightOperand weight_operand(const Conv2dDesc& desc, const float* prepared, int64_t g);

}  // namespace cpu
}  // namespace mec
