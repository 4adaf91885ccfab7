// Internal: im2col's lowering, shared by its forward pass (im2col.cc) and
// its backward-weights pass (im2col_backward.cc).
#pragma once

#include "mec/conv.h"

namespace mec {
namespace cpu {

// lowered[g][n][y][x][i][j][ci] = src at output pixel (y, x)'s tap (i, j),
// channel g*cg + ci (zero in the padding): per group, one row of r*s*cg
// values per output pixel, n*p*q*r*s*c floats in all.
void im2col_lower(const Conv2dDesc& desc, const float* src, float* lowered, int threads);

}  // namespace cpu
}  // namespace mec
