// Internal: the tile shapes of MEC's GEMM kernel (mec_gemm.h) as plain C++
// constants, in their own header because three files derive from them -
// the kernel (mec_gemm_kernel.cuh), its launches (mec_gemm.cu) and the
// host-side tile policy (mec_gemm_policy.cc), which the C++ compiler
// builds and so cannot include device code.
// The constants stay in an unnamed namespace, as inside one .cu file:
// each file that includes them gets its own compile-time copy.
#pragma once

namespace mec {
namespace cuda {
namespace {

constexpr int kBk = 16;                      // K per pipeline step
constexpr int kStages = 3;                   // shared-memory buffers
constexpr int kApad = 4;                     // floats of padding per A row (16-byte aligned rows)
constexpr int kWarpRows = 4, kWarpCols = 8;  // lanes of a warp: 4 rows x 8 column runs

// Each thread's rows x columns for a block of bm x bn: 8 x 8 in the
// 128-row tiles (8 x 12 in 128 x 96: for k = 96, 192, ... that
// 128-column tiles would leave a quarter empty), 4 x 4 and 2 x 4 in the
// batch-1 tiles (256 threads).
constexpr int thread_rows(int bm) { return bm == 128 ? 8 : bm == 64 ? 4 : 2; }
constexpr int thread_cols(int bm, int bn) { return bm == 128 ? (bn == 96 ? 12 : 8) : 4; }
constexpr int tile_threads(int bm, int bn) {
  return (bm / thread_rows(bm)) * (bn / thread_cols(bm, bn));
}
// Blocks per multiprocessor the launch bounds ask for: two of 256 threads
// (128 registers each), three of 128 (168 registers: the 8 x 8 thread tile
// then keeps its next fragments in registers: on an H100, 4-7% faster on
// the 128 x 64 layers than four blocks at 128 registers, which spill).
constexpr int min_blocks(int bm, int bn) { return tile_threads(bm, bn) == 128 ? 3 : 2; }
// Floats per A copy where the windows are aligned for it: 4, or 2 where a
// thread copies only 2 per step (32-row tiles).
constexpr int a_copy_floats(int bm, int bn) { return bm * kBk / tile_threads(bm, bn) >= 4 ? 4 : 2; }
// TF32's B rows get kBpadTf32 floats of padding: the mma fragments read
// B[k][n] down columns (k = lane % 4, n = lane / 4), which a 128- or
// 64-float pitch would put in 4 lanes of one bank.
constexpr int kBpadTf32 = 8;

// A tile shape: block rows x columns and what follows from them, for
// FFMA (kTf32 false) or TF32 mma.
template <int kBm, int kBn, bool kTf32 = false>
struct Tile {
  static constexpr int kTm = thread_rows(kBm), kTn = thread_cols(kBm, kBn);
  static constexpr int kThreads = tile_threads(kBm, kBn);
  static constexpr int kWarpM = kWarpRows * kTm;      // rows per warp
  static constexpr int kWarpN = kWarpCols * kTn;      // columns per warp
  static constexpr int kAseg = kBm * kBk / kThreads;  // A floats copied per thread per step
  static constexpr int kBseg = kBn * kBk / kThreads;  // B floats copied per thread per step
  static constexpr int kAvec = a_copy_floats(kBm, kBn);
  static constexpr int kMinBlocks = min_blocks(kBm, kBn);
  static constexpr int kAw = kBk + kApad;                    // A row pitch in shared memory
  static constexpr int kBw = kBn + (kTf32 ? kBpadTf32 : 0);  // B row pitch
  static constexpr int kSmemBytes = 4 * kStages * (kBm * kAw + kBk * kBw);
  static_assert(kTn % 4 == 0 && kBm % kWarpM == 0 && kBn % kWarpN == 0, "tile");
  static_assert(kThreads % 32 == 0 && kBk % kAseg == 0 && kBn % kBseg == 0, "copies");
};

}  // namespace

// Blocks of a tile shape (block_m x block_n, FFMA or TF32) one
// multiprocessor of the current device holds at once, as the CUDA runtime
// computes it for the kernel: defined in mec_gemm.cu, beside the kernel
// instances it asks about; a CUDA context records it in its device's
// traits (CudaDeviceTraits, cuda_context.cc) for the tile policy.
int mec_gemm_resident_blocks(int block_m, int block_n, bool tf32);

}  // namespace cuda
}  // namespace mec
