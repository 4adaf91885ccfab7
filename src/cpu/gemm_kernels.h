// Internal: the micro-kernels of the fast GEMM engine, one set per ISA.
// A kernel computes c[rows x n] of C (n <= nr columns), one register tile
// at a time, from rows of A given as pointers (windows of MEC's L, read in
// place: row i's run is a[i][a_off .. a_off + kc)) and kc rows of B with
// row stride ldb (a packed panel: ldb == its width, or HWIO weights used as
// they are: ldb == k).
// This header holds only plain declarations, because the kernel files are
// compiled with ISA flags and must not instantiate shared inline code.
#pragma once

#include <cstdint>

namespace mec {
namespace cpu {

// Tile arguments. With accumulate the tile is added to c; otherwise c is
// overwritten with the product plus bias[0..n) (bias may be null). B's
// columns beyond n are never read, so raw weights need no padding.
struct Tile {
  int64_t kc;
  const float* const* a;
  int64_t a_off;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  int64_t rows, n;  // any number of rows; n <= the set's nr
  const float* bias;
  bool accumulate;
  bool stream;  // a hint: C is final and not read soon, non-temporal stores may be used
};

using TileKernel = void (*)(const Tile& tile);

// One entry point per ISA (tile.n in [1, nr] of its set). Call the AVX
// ones only where the CPU has the ISA (gemm_fast.cc).
void avx512_tile(const Tile& tile);   // 6 x 64; 8 x 48, 12 x 32, 12 x 16 narrower
void avx2_tile(const Tile& tile);     // 6 x 16; 6 x 8 narrower
void generic_tile(const Tile& tile);  // 4 x 16

// Copies `rows` runs of `count` floats (row strides in_ld, out_ld): MEC's
// lowering, whose runs are often 9-33 floats (c = 3 layers), too short
// for a memcpy call each. Row pointers are formed only for rows that exist:
// a stride may be huge (a stride_w far beyond the image with one column).
using CopyRows = void (*)(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                          int64_t count);
void avx512_copy_rows(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                      int64_t count);
void avx2_copy_rows(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                    int64_t count);
void generic_copy_rows(const float* in, int64_t in_ld, float* out, int64_t out_ld, int64_t rows,
                       int64_t count);

}  // namespace cpu
}  // namespace mec
