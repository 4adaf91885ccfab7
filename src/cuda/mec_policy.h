// Internal: the CUDA MEC policy - which named path a kMec, kMecA or kMecB
// plan runs, on which tile and K split - as pure functions of the
// descriptor, the Context's settings and overrides, the device's
// properties and the tuning constants. src/cuda/mec.cc only executes the
// path it is given. Plain C++ without CUDA headers: the policy is tested
// on machines without a GPU against the paths an H100 took
// (tests/cuda_policy_test.cc). docs/cuda.md explains the rule.
#pragma once

#include <cstdint>
#include <string>

#include "cuda/geometry.h"
#include "mec/conv.h"

namespace mec {
namespace cuda {

// What the kernels can run at all (not tuning).
// The shallow kernel (mec_shallow.h): window depths r*s*c up to this (one
// warp lane per value of a window), up to this many output channels (two
// per thread, 256 threads per block), this many blocks per multiprocessor.
constexpr int64_t kShallowMaxDepth = 32;
constexpr int64_t kShallowMaxChannels = 512;
constexpr int kShallowBlocksPerSm = 2;

// The thresholds of the choice, fitted on an H100 (sm_90) in fp32 and TF32;
// each is explained where the policy reads it (mec_policy.cc,
// mec_gemm_policy.cc). One struct so that another GPU's values are one
// object, and so that the policy's tests can move them.
struct CudaMecTuning {
  // Products with fewer rows n*p*q run the GEMM kernel on 64- or 32-row
  // tiles (at batch 1 64 x 64 is the fastest or within 10% of it on every
  // paper layer).
  int64_t small_rows = 2048;
  // Output widths up to this run the GEMM kernel where L's windows allow
  // 16-byte copies (it beats cuBLAS's batched GEMMs of q rows at q = 26 and
  // 54 at batch 32, and at q = 54-56 at batch 1; not from q ~ 110 on).
  int64_t kernel_max_q = 64;
  // Products with fewer rows run the GEMM kernel at any q (with its K split
  // it beats cuBLAS's batched GEMMs on the 112- and 224-wide layers at
  // batch 1); from here on the kernel's from-src tiles are the batch-32 ones.
  int64_t kernel_any_q_rows = 65536;
  // With TF32, products of at least this many columns per group run the
  // kernel's mma path at q <= kernel_max_q whatever their rows (VGG-16's
  // conv3/conv4 at batch 32: 1.3-2.2x faster than cuBLAS's TF32 GEMMs).
  int64_t kernel_tf32_min_cols = 256;
  // kMec with TF32 takes Solution A for outputs at most this wide when the
  // product has at least this many rows (A is 1.1-1.7x faster than the mma
  // path on ResNet-50's 28- to 7-wide layers and VGG-16's conv4/conv5 at
  // batch 32; slower on 56-wide layers and at batch 1).
  int64_t tf32_max_q_for_a = 28;
  int64_t tf32_min_rows_for_a = 4096;
  // FFMA tiles that spill in their from-src instance (128 x 128) read src
  // only for products of at most this many columns kg.
  int64_t from_src_max_spilling_cols = 128;
  // Groups with cg * kg at most this take the grouped kernel (4-16x faster
  // than B over cuBLAS on depthwise layers and channel multiplier 2; slower
  // at batch 32 from ResNeXt's 4 x 4 groups on).
  int64_t grouped_max_channels = 4;
  // Accumulators one multiprocessor keeps busy (the K-split launch model).
  int64_t saturating_accumulators = 8192;
};

// The GEMM kernel's tile shapes (mec_gemm_tile.h): 128x128, 128x96, 128x64,
// 64x64, 32x64; index of (block_m, block_n), -1 for a shape it lacks.
constexpr int kGemmTileShapes = 5;
int gemm_tile_index(int block_m, int block_n);

// The device's properties the policy reads.
struct CudaDeviceTraits {
  int multiprocessors = 0;
  // Blocks of each tile shape (gemm_tile_index) one multiprocessor holds at
  // once, FFMA [0] and TF32 [1], as the CUDA runtime computes it for the
  // compiled kernels (mec_gemm_resident_blocks()).
  int resident_blocks[2][kGemmTileShapes] = {};
};

// How one product is launched on the GEMM kernel.
struct MecGemmConfig {
  int block_m = 128;        // rows per block (32, 64 or 128)
  int block_n = 128;        // columns of k per block (64, 96 or 128)
  int splits = 1;           // K split over blocks (> 1: dst is zeroed and summed atomically)
  int64_t split_depth = 0;  // depth per split, a multiple of 16
  bool tf32 = false;        // TF32 tensor cores instead of FFMA
};

// The tile and K split for g (mec_gemm_policy.cc): 128 x 96 where kg is a
// multiple of 96 but not of 128, 128 x 128 for other kg > 64, 128 x 64 for
// kg <= 64 with aligned windows and a block per multiprocessor, else 64 x
// 64 (32 x 64 for at most 32 rows) below small_rows; the K split from a
// model of the launch. A forced shape the kernel has (force_m x force_n,
// Context::cuda_tile()) is taken instead, split force_splits ways if > 0.
MecGemmConfig mec_gemm_config(const Geometry& g, bool tf32, const CudaDeviceTraits& device,
                              const CudaMecTuning& tuning, int force_m = 0, int force_n = 0,
                              int force_splits = 0);

// Whether the shallow kernel can run g (one group, shallow windows).
inline bool shallow_fits(const Geometry& g) {
  return g.groups == 1 && g.r * g.s * g.c <= kShallowMaxDepth && g.k <= kShallowMaxChannels;
}
// The shallow kernel's tile rows, 64 or 128: 64 where 128-row tiles would
// leave most multiprocessors idle or a second round of blocks part-empty.
int shallow_tile_rows(const Geometry& g, int multiprocessors);

// Whether the GEMM kernel's copies can follow g's windows in src (one
// group; c a multiple of 16, or dilation_w == 1 and s*c >= 16), and whether
// they do so as kernel rows of s*c floats, 4 bytes at a time (c not a
// multiple of 16).
bool from_src_fits(const Geometry& g);
bool from_src_by_runs(const Geometry& g);

// The paths a MEC plan can run.
enum class MecPathKind {
  kCublasA,     // Solution A: cuBLAS strided-batched GEMMs over L, reordered into dst
  kCublasB,     // Solution B: cuBLAS batched GEMMs of q rows over L
  kKernelL,     // B: our GEMM kernel over L
  kKernelSrc,   // B: our GEMM kernel reading the windows from src (no L)
  kShallowL,    // B: the shallow kernel over L
  kShallowSrc,  // B: the shallow kernel from src (no L)
  kGrouped,     // B: the grouped kernel over L lowered as one group
};

struct MecPath {
  Algorithm solution = Algorithm::kMecB;  // kMecA or kMecB
  MecPathKind kind = MecPathKind::kCublasB;
  MecGemmConfig tile;          // kKernelL, kKernelSrc
  int shallow_rows = 128;      // kShallowL, kShallowSrc
  int64_t lowered_floats = 0;  // |L| in the workspace (0 from src)
  bool tf32 = false;           // the context allows TF32
};

// The path of a plan of `asked` (kMec, kMecA or kMecB) for d, a valid
// descriptor whose |L| (lowered_floats, over lowered_height(d)) fits
// 64 bits. Reads the context's TF32, threshold and CUDA overrides.
MecPath choose_mec_path(const Conv2dDesc& d, Algorithm asked, int64_t lowered_floats,
                        const Context& context, const CudaDeviceTraits& device,
                        const CudaMecTuning& tuning = CudaMecTuning());

// Conv2dPlan::variant() of a plan that runs `path`.
std::string mec_path_variant(const Conv2dDesc& d, const MecPath& path);

// Whether cuBLAS's batched TF32 GEMMs can take L's windows of g (leading
// dimensions and pointer steps 16-byte aligned; run() adds the pointers).
bool batched_tf32_fits(const Geometry& g, bool ohwi);

}  // namespace cuda
}  // namespace mec
