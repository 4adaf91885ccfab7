// Internal: the data movement of MEC's fast backward passes
// (mec_backward_data.cc, mec_backward_weights.cc) - transposing pixel rows
// of src into LT and adding window gradients into dsrc - in one portable
// and one AVX-512 version. Plain declarations only: the AVX-512 file is
// compiled with ISA flags and must not instantiate shared inline code
// (as gemm_kernels.h).
#pragma once

#include <cstdint>

namespace mec {
namespace cpu {

// out[c * out_ld + r] = in[r * in_ld + c] for r < rows, c < cols.
using TransposeFn = void (*)(const float* in, int64_t in_ld, float* out, int64_t out_ld,
                             int64_t rows, int64_t cols);
void generic_transpose(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                       int64_t cols);
void avx512_transpose(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                      int64_t cols);

// out[r * out_ld + e] += in[r * in_ld + e] for r < rows, e < count, row
// after row (rows of out may overlap: each sees the ones before it).
using AddRowsFn = void (*)(float* out, int64_t out_ld, const float* in, int64_t in_ld, int64_t rows,
                           int64_t count);
void generic_add_rows(float* out, int64_t out_ld, const float* in, int64_t in_ld, int64_t rows,
                      int64_t count);
void avx512_add_rows(float* out, int64_t out_ld, const float* in, int64_t in_ld, int64_t rows,
                     int64_t count);

}  // namespace cpu
}  // namespace mec
