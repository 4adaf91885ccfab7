// The CUDA MEC policy (mec_policy.h): from a descriptor, the Context and the
// device to the path a MEC plan runs. The reasons and measurements behind
// each rule are here, next to the rule; the tile and K split are
// mec_gemm_policy.cc's.
//
// The paths: Solution A is one cuBLAS strided-batched GEMM per group over
// the p output rows, reordered into dst (src/cuda/mec.cc). Solution B is
// one cuBLAS batched GEMM over every (g, n, y); or, with dilation_h == 1,
// HWIO weights and one group or groups of at least 64 output channels, ONE
// kernel of our own that tiles across (n, y) and reads L's windows in place
// (mec_gemm.h); or the shallow kernel for windows of at most 32 values (RGB
// stems: on an H100 cv7 at batch 32 takes 0.35 ms with it, 0.48 ms
// without); or, for many tiny groups (depthwise), the grouped kernel. kMec
// (not the explicit Solution B, whose L the paper's experiments measure)
// has those kernels read the windows from src where their copies can
// follow them: no lowering kernel runs (at batch 1 a quarter of a layer's
// time on an H100) and the workspace holds no L.
#include "cuda/mec_policy.h"

#include "common/checked.h"
#include "common/mec_lowering.h"
#include "common/plan_impl.h"

namespace mec {
namespace cuda {
namespace {

// Whether kMec's GEMM kernel reads src on tile `c`: the cursor of the
// from-src copies costs registers that the FFMA 128 x 128 and 128 x 96
// instances do not have to spare (they spill); 128 x 128 still pays from
// src for products of at most from_src_max_spilling_cols columns.
bool src_pays_on(const MecGemmConfig& c, const Geometry& g, const CudaMecTuning& t) {
  return c.tf32 || c.block_n <= 64 || (c.block_n == 128 && g.kg <= t.from_src_max_spilling_cols);
}

// The GEMM kernel's tile and split: mec_gemm_config's, or the one the
// context forces (a shape the kernel lacks is ignored: forced stays false).
struct PlannedTile {
  MecGemmConfig config;
  bool forced = false;
};

PlannedTile planned_tile(const Geometry& g, bool tf32, const Context& context,
                         const CudaDeviceTraits& device, const CudaMecTuning& tuning) {
  const CudaTile force = context.cuda_tile();
  PlannedTile t;
  t.config = mec_gemm_config(g, tf32, device, tuning, force.m, force.n, force.splits);
  t.forced = force.m != 0 && t.config.block_m == force.m && t.config.block_n == force.n;
  return t;
}

// Whether a kernel plan reads src: never, where its tile pays, or wherever
// the copies can follow the windows (Context::cuda_from_src()).
enum class FromSrc { kNever, kWherePays, kWhereverItFits };

// The GEMM kernel's tile for a plan that may read src where it pays. The
// spilling 128 x 128 and 128 x 96 FFMA tiles from src run cv8 and VGG-16's
// conv2_x 8-17% slower at batch 1 on an H100; there 128 x 64 tiles from
// src are the fastest for kg <= 128 (cv8 0.91x, conv2_2 0.95x the time over
// L) where they fill the GPU - with fewer tiles than multiprocessors 64 x
// 64 ones are (ResNet-50's res3a_1 0.87x, MobileNet's pw2 0.49x; 128 x 64
// 1.33x and 0.73x) - and wider layers stay on L (conv3_x 1.4x from src).
// For products of at least kernel_any_q_rows rows (batch 32) the 128 x 128
// tiles from src beat L where kg <= 128 (res2 0.59-0.94x, cv8 0.96x) and
// wider ones stay on L (VGG-16's conv3-5 1.03-1.05x). The kernel rows of
// the RGB layers are copied 4 bytes at a time (from_src_by_runs): there
// 128-row tiles take 1.08-1.5x as long as 64 x 64 ones at batch 1, and at
// batch 32 128 x 64 tiles take 0.83x the time of 64 x 64 ones (TF32 0.75x).
MecGemmConfig kernel_tile(const Geometry& g, bool tf32, FromSrc from_src, const Context& context,
                          const CudaDeviceTraits& device, const CudaMecTuning& tuning) {
  const PlannedTile tile = planned_tile(g, tf32, context, device, tuning);
  MecGemmConfig config = tile.config;
  if (from_src != FromSrc::kWherePays || tile.forced) return config;
  const int64_t rows = g.n * g.p * g.q;
  const bool large = rows >= tuning.kernel_any_q_rows;
  if (from_src_by_runs(g)) {
    if (!large && config.block_m == 128) config = mec_gemm_config(g, tf32, device, tuning, 64, 64);
    if (large && config.block_m == 64) config = mec_gemm_config(g, tf32, device, tuning, 128, 64);
  } else if (!large && !config.tf32 && config.block_n == 128 &&
             g.kg <= tuning.from_src_max_spilling_cols) {
    const bool fills =
        ceil_div(rows, int64_t(128)) * ceil_div(g.kg, int64_t(64)) >= device.multiprocessors;
    config = mec_gemm_config(g, tf32, device, tuning, fills ? 128 : 64, 64);
  }
  return config;
}

}  // namespace

MecPath choose_mec_path(const Conv2dDesc& d, Algorithm asked, int64_t lowered_floats,
                        const Context& context, const CudaDeviceTraits& device,
                        const CudaMecTuning& tuning) {
  const Geometry g = geometry(d);
  const bool tf32 = context.allow_tf32();
  const bool keep_cublas = context.cuda_gemm() == CudaGemm::kCublas;
  const bool force_kernel = context.cuda_gemm() == CudaGemm::kKernel;
  const int64_t rows = g.n * g.p * g.q;
  // Groups narrower than the kernel's 64-column tiles (ResNeXt's 4-32)
  // would leave most of every tile empty: they stay on cuBLAS. The K
  // split's rounding stays in int below 2^30.
  const bool fusable = g.dilation_h == 1 && (g.groups == 1 || g.kg >= 64) &&
                       rows < (int64_t(1) << 31) && g.r * g.s * g.c < (int64_t(1) << 30) &&
                       !keep_cublas;
  // FFMA also in TF32 mode: these products are too small for tensor cores.
  const bool grouped = g.groups > 1 && g.cg * g.kg <= tuning.grouped_max_channels && !keep_cublas;

  MecPath path;
  path.tf32 = tf32;
  path.lowered_floats = lowered_floats;
  path.solution = asked;
  if (asked == Algorithm::kMec) {
    // Grouped layers take B: A is one cuBLAS call per group, B one for all
    // (on an H100 B is 2-13x faster with 32 groups, within 30% with 2).
    // Where our kernels can run B it beats A (for q <= T at batch 32 too,
    // and above T B over cuBLAS does), except with TF32 on the narrow
    // outputs of a batch, where cuBLAS's TF32 GEMMs of n*q rows beat the
    // kernel's mma path. Otherwise the paper's rule (common/mec_lowering.h).
    const bool tf32_a =
        tf32 && g.q <= tuning.tf32_max_q_for_a && rows >= tuning.tf32_min_rows_for_a;
    const bool use_a =
        g.groups == 1 && (tf32_a ? d.dst_elems() <= lowered_floats
                                 : !fusable && detail::mec_threshold_picks_a(
                                                   d, context.mec_threshold(), lowered_floats));
    path.solution = use_a ? Algorithm::kMecA : Algorithm::kMecB;
  }
  if (path.solution == Algorithm::kMecA) {
    path.kind = MecPathKind::kCublasA;
    return path;
  }

  // Whether the kernels can follow g's windows in src, and whether kMec's
  // rule has them do it. Where the GEMM kernel would copy kernel rows of
  // src 4 bytes at a time and L's windows 16 bytes, L stays (cv1 and cv2,
  // 11x11 at stride 4, take 1.2-1.3x as long from src at batch 1), except
  // with TF32 (cv1 at batch 32: 0.49x the time of cuBLAS's TF32 GEMMs from
  // src, 0.61x over L). The shallow kernel pays from src at any batch (cv7
  // 0.89x at batch 1, 0.92x at batch 32).
  const CudaFromSrc from_src_setting = context.cuda_from_src();
  const bool src_fits = asked == Algorithm::kMec && d.filter_layout != FilterLayout::kOHWI &&
                        (shallow_fits(g) || from_src_fits(g));
  const bool src_pays =
      src_fits && (shallow_fits(g) || tf32 || !from_src_by_runs(g) || !windows_aligned(g));
  const bool src_allowed = src_pays && from_src_setting != CudaFromSrc::kNever;
  // Where our GEMM kernel beats cuBLAS's batched GEMMs of q rows. TF32: its
  // mma path wins where q <= kernel_max_q and the product is small (batch
  // 1, the 7x7 and 14x14 layers at batch 32) or has >= kernel_tf32_min_cols
  // columns per group, and on the RGB layers from src (0.49-0.52x at batch
  // 32). FFMA: for q <= T, small products, narrow aligned outputs, and on
  // the tiles where it reads src.
  bool kernel_pays = force_kernel || shallow_fits(g);
  if (!kernel_pays && tf32) {
    kernel_pays = (g.q <= tuning.kernel_max_q &&
                   (rows < tuning.kernel_any_q_rows || g.kg >= tuning.kernel_tf32_min_cols)) ||
                  (src_allowed && from_src_by_runs(g));
  } else if (!kernel_pays) {
    kernel_pays = g.q <= context.mec_threshold() || rows < tuning.kernel_any_q_rows ||
                  (g.q <= tuning.kernel_max_q && windows_aligned(g)) ||
                  (src_allowed &&
                   src_pays_on(planned_tile(g, false, context, device, tuning).config, g, tuning));
  }
  const bool fused = fusable && !grouped && kernel_pays;
  if (grouped) {
    path.kind = MecPathKind::kGrouped;
    return path;
  }
  // OHWI weights are read by cuBLAS only (the kernels take HWIO).
  if (!fused || d.filter_layout == FilterLayout::kOHWI) {
    path.kind = MecPathKind::kCublasB;
    return path;
  }

  FromSrc from_src = FromSrc::kNever;
  if (src_fits && from_src_setting == CudaFromSrc::kWhereverItFits) {
    from_src = FromSrc::kWhereverItFits;
  } else if (src_fits && from_src_setting == CudaFromSrc::kAuto && src_pays) {
    from_src = FromSrc::kWherePays;
  }
  bool reads_src = from_src == FromSrc::kWhereverItFits;
  if (shallow_fits(g)) {
    // A forced tile of 64 or 128 rows forces the shallow kernel's rows.
    const PlannedTile tile = planned_tile(g, false, context, device, tuning);
    path.shallow_rows = !tile.forced                ? shallow_tile_rows(g, device.multiprocessors)
                        : tile.config.block_m == 64 ? 64
                                                    : 128;
    reads_src = reads_src || from_src == FromSrc::kWherePays;
    path.kind = reads_src ? MecPathKind::kShallowSrc : MecPathKind::kShallowL;
  } else {
    path.tile = kernel_tile(g, tf32, from_src, context, device, tuning);
    reads_src = reads_src || (from_src == FromSrc::kWherePays && src_pays_on(path.tile, g, tuning));
    path.kind = reads_src ? MecPathKind::kKernelSrc : MecPathKind::kKernelL;
  }
  if (reads_src) path.lowered_floats = 0;
  return path;
}

bool batched_tf32_fits(const Geometry& g, bool ohwi) {
  const int64_t row_depth = g.s * g.cg, ldw = ohwi ? g.r * g.s * g.cg : g.k;
  return windows_aligned(g) && g.k % 4 == 0 && ldw % 4 == 0 && (g.groups == 1 || g.kg % 4 == 0) &&
         (g.dilation_h == 1 ||
          ((g.dilation_h * row_depth) % 4 == 0 && (!ohwi || row_depth % 4 == 0)));
}

std::string mec_path_variant(const Conv2dDesc& d, const MecPath& path) {
  const Geometry g = geometry(d);
  const std::string name = algorithm_name(path.solution);
  const std::string rows = "rows" + std::to_string(path.shallow_rows);
  const MecGemmConfig& c = path.tile;
  const std::string tile = std::to_string(c.block_m) + "x" + std::to_string(c.block_n) + "/split" +
                           std::to_string(c.splits);
  const char* kernel_math = c.tf32 ? "tf32" : "fp32";
  const char* math = path.tf32 ? "tf32" : "fp32";
  const bool ohwi = d.filter_layout == FilterLayout::kOHWI;
  switch (path.kind) {
    case MecPathKind::kShallowSrc:
      return detail::join_variant({name, "shallow-src", rows, "fp32"});
    case MecPathKind::kKernelSrc:
      return detail::join_variant(
          {name, "kernel-src", from_src_by_runs(g) ? "runs" : "pixels", tile, kernel_math});
    case MecPathKind::kGrouped:
      return detail::join_variant({name, "grouped", "fp32"});
    case MecPathKind::kCublasA: {
      // A's result is reordered through L's memory, or a temporary of |O|
      // floats when it does not fit there (mec.cc).
      const char* reorder = d.n == 1                              ? ""
                            : d.dst_elems() > path.lowered_floats ? "reorder-temp"
                                                                  : "reorder-l";
      return detail::join_variant({name, "cublas-a", reorder, math});
    }
    case MecPathKind::kShallowL:
      return detail::join_variant({name, "shallow-l", rows, "fp32"});
    case MecPathKind::kKernelL:
      return detail::join_variant({name, "kernel-l", tile, kernel_math});
    case MecPathKind::kCublasB:
      break;
  }
  return detail::join_variant(
      {name, "cublas-b", path.tf32 && batched_tf32_fits(g, ohwi) ? "tf32" : "fp32"});
}

}  // namespace cuda
}  // namespace mec
