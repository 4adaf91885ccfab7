// MEC (Cho and Brand, ICML 2017) on CUDA. The lowering is src/cpu/mec.cc's
// (L[g][n][x][yy][j][ci], row length ld = hp*s*cg), done by one coalesced
// kernel (kernels.cu); the window of output row y is the run of r*s*cg
// values at offset y*stride_h*s*cg of every row of L, read in place by
// cuBLAS with lda = ld. dilation_h > 1 splits each GEMM into r accumulated
// GEMMs of depth s*cg, as on CPU.
//
// Solution A (mec_a): per group, ONE cublasGemmStridedBatchedEx over the p
// output rows (M = n*q, stride between windows stride_h*s*cg), written in
// (y, n, x) order. n == 1: that is dst's order. n > 1 and |O| <= |L|: the
// paper's reordering - the result goes to dst, is copied into L's memory
// (no longer needed) and permuted back into dst - so the workspace stays
// |L|. When |O| > |L| a separate |O| temporary replaces the copy.
// Solution B (mec_b): ONE cublasGemmBatchedEx over every (g, n, y) with
// M = q, written in place; its pointer arrays are built by a kernel in the
// workspace (3 pointers per GEMM, after L).
// With dilation_h == 1, HWIO weights and one group or groups of at least
// 64 output channels, B's GEMMs are instead ONE kernel of our own
// (mec_gemm.h) that tiles across (n, y) and reads the windows of L in place
// (a launch per group; FFMA, or TF32 mma where TF32 is allowed); same
// workspace.
// kMec runs that kernel, and the shallow one, with the lowering in their
// copies instead where they can follow the windows in src (mec_gemm.h: c a
// multiple of 16, or dilation_w == 1 and s*c >= 16 where - in fp32 - L's
// windows are not 16-byte aligned; any shallow window): each window of L is read from
// src, no lowering kernel runs and the workspace holds no L (on an H100 the
// lowering is a quarter of a batch-1 layer's time; reading src also pays on
// the RGB layers and at batch 32, where for products of at most 128 columns
// it also replaces cuBLAS's GEMMs of wide output rows). The explicit kMecB
// keeps L.
// (Context::set_cuda_gemm - MEC_CUDA_GEMM in the environment - kCublas
// keeps cuBLAS, kKernel takes our kernel wherever it can run B: switches
// for benchmarking the two side by side.)
// It is used where cuBLAS's per-row GEMMs are small, q <= T
// (Context::mec_threshold) or q <= kKernelMaxQ with aligned windows, or the
// product is (n*p*q < kKernelAnyQRows: the 112- to 224-wide layers at batch
// 1, where the kernel beats cuBLAS at any q); with TF32 where q <=
// kKernelMaxQ and the product is small or wide (there the mma path beats
// cuBLAS's TF32 GEMMs); for kMec also where it reads src at batch 32 in
// fp32, and on the RGB layers with TF32 (0.49-0.52x at batch 32);
// elsewhere cuBLAS's batched GEMM is faster on an H100 (docs/cuda.md, "How
// kMec chooses"). Shallow windows (r*s*c <= 32: first layers over RGB)
// take a kernel of their own at any q (mec_shallow.h; on an H100 cv7 at
// batch 32 takes 0.35 ms with it, 0.48 ms without). Many small groups
// (depthwise layers) take another kernel of our own for B
// (mec_grouped.h), over L lowered as one group. kMec: where either kernel
// applies, B (for q <= T it beats A at batch 32, and above T B over cuBLAS
// beats A), except with TF32 on narrow outputs of a batch (A: there
// cuBLAS's TF32 GEMMs of n*q rows beat our mma path, kTf32MaxQForA);
// otherwise, with one group, A when q <= T and |O| <= |L|; else B.
#include <string>

#include "common/checked.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_plan.h"
#include "cuda/cuda_plans.h"
#include "cuda/gemm.h"
#include "cuda/mec_gemm.h"
#include "cuda/mec_grouped.h"
#include "cuda/mec_shallow.h"

namespace mec {
namespace cuda {
namespace {

// kMec with TF32 allowed picks Solution A for outputs at most this wide
// when the product has at least this many rows n*p*q (and |O| <= |L|):
// on an H100 A is 1.1-1.7x faster than our kernel's mma path on
// ResNet-50's 28- to 7-wide layers and VGG-16's conv4/conv5 at batch 32,
// and slower on 56-wide 64- and 128-channel layers and at batch 1.
constexpr int64_t kTf32MaxQForA = 28;
constexpr int64_t kTf32MinRowsForA = 4096;

// kMec's GEMM kernel with the lowering in its copies (mec_gemm_src) takes
// the tiles fastest at batch 32 for products of at least this many rows
// n*p*q, those fastest at batch 1 below it (configure()).
constexpr int64_t kFromSrcBatchRows = kKernelAnyQRows;

// FFMA tiles whose from-src instance spills read src only where they are
// 128 x 128 (not 128 x 96) and the product has at most this many columns
// kg; others are slower from src than over L and keep it (configure()). At
// batch 1 those take 64-wide tiles
// instead (configure()); at batch 32, where output rows are wider than
// kKernelMaxQ, the kernel from src replaces cuBLAS's batched GEMMs for
// these products too (on an H100: cv4 0.95x, VGG-16's conv1_2 0.93x, cv8
// 0.96x, the RGB cv3 and ResNet-50's conv1 0.97x; conv2_x 1.00-1.01x).
constexpr int64_t kFromSrcMaxSpillingCols = 128;

// The GEMM kernel's tile and K split for g: mec_gemm_config's, or the one
// Context::cuda_tile() forces (benchmarking, tests; a shape the kernel does
// not have is ignored, forced stays false).
struct PlannedTile {
  MecGemmConfig config;
  bool forced = false;
};

PlannedTile planned_tile(const Geometry& g, bool tf32, int sms, const CudaTile& force) {
  PlannedTile t;
  t.config = mec_gemm_config(g, tf32, sms, force.m, force.n, force.splits);
  t.forced = force.m != 0 && t.config.block_m == force.m && t.config.block_n == force.n;
  return t;
}

// Whether kMec's GEMM kernel reads src on tile `c` (see above).
bool src_pays_on(const MecGemmConfig& c, const Geometry& g) {
  return c.tf32 || c.block_n <= 64 || (c.block_n == 128 && g.kg <= kFromSrcMaxSpillingCols);
}

// Whether a plan of our kernel does the lowering in its copies.
enum class FromSrc { kNever, kWherePays, kWhereverItFits };

class MecPlan : public CudaPlan {
 public:
  MecPlan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
          int64_t lowered_floats, bool fused, bool grouped, FromSrc from_src)
      : CudaPlan(desc, algorithm, context),
        lowered_floats_(lowered_floats),
        fused_(fused),
        grouped_(grouped),
        shallow_(fused && shallow_fits(geom())),
        sms_(fused ? context.cuda_resources()->multiprocessors : 0),
        forced_(context.cuda_tile()) {
    if (fused_) configure_kernels(from_src);
    set_variant(path());
  }

  size_t workspace_bytes() const override { return size_t(layout().total); }

 protected:
  Status run_on_device(const float* src, const float* weights, const float* bias, float* dst,
                       char* workspace) const override {
    const Layout l = layout();
    float* lowered = reinterpret_cast<float*>(workspace);
    DeviceWeights w;
    MEC_TRY(prepare_weights(weights, reinterpret_cast<float*>(workspace + l.repack), &w));
    const int64_t dst_floats = desc().dst_elems();
    // (dst does not overlap src: Conv2dPlan::run refuses that.)
    if (from_src_) {
      if (shallow_) {
        return cuda_check(
            mec_shallow_src(geom(), src, w.data, bias, dst, shallow_rows_, sms_, stream()),
            "MEC shallow kernel (lowering in its copies)");
      }
      return cuda_check(mec_gemm_src(geom(), config_, src, w.data, bias, dst, stream()),
                        "MEC GEMM kernel (lowering in its copies)");
    }
    // Our kernel with a split K adds into dst: the lowering kernel zeroes it
    // (one launch fewer).
    const bool zero_dst =
        algorithm() == Algorithm::kMecB && fused_ && !shallow_ && !w.ohwi && config_.splits > 1;
    MEC_TRY(cuda_check(mec_lower(grouped_ ? ungrouped(geom()) : geom(), src, lowered, stream(),
                                 zero_dst ? dst : nullptr, zero_dst ? dst_floats : 0),
                       "MEC lowering kernel"));
    if (grouped_) {
      return cuda_check(mec_grouped(geom(), lowered, w.data, w.ohwi, bias, dst, stream()),
                        "MEC grouped kernel");
    }
    if (algorithm() == Algorithm::kMecA) {
      float* temp = l.temp_bytes > 0 ? reinterpret_cast<float*>(workspace + l.temp) : nullptr;
      return solution_a(lowered, w, bias, dst, temp);
    }
    return solution_b(lowered, w, bias, dst, workspace + l.pointers, zero_dst);
  }

 private:
  int64_t rows() const { return geom().n * geom().p * geom().q; }

  // Our kernels' tile rows (shallow) or tile and K split (config_), and
  // whether they read src.
  void configure_kernels(FromSrc from_src) {
    if (shallow_) {
      // A forced tile of 64 or 128 rows forces the shallow kernel's tile rows.
      const PlannedTile tile = planned_tile(geom(), false, sms_, forced_);
      shallow_rows_ = !tile.forced                ? shallow_tile_rows(geom(), sms_)
                      : tile.config.block_m == 64 ? 64
                                                  : 128;
    } else {
      configure(from_src);
    }
    from_src_ = from_src == FromSrc::kWhereverItFits ||
                (from_src == FromSrc::kWherePays && (shallow_ || src_pays_on(config_, geom())));
    if (from_src_) lowered_floats_ = 0;
  }

  // The GEMM kernel's tile and K split (config_).
  void configure(FromSrc from_src) {
    const Geometry& g = geom();
    const PlannedTile tile = planned_tile(g, tf32(), sms_, forced_);
    config_ = tile.config;
    // The cursor of the from-src copies costs registers that the FFMA 128 x
    // 128 and 128 x 96 instances do not have to spare (they spill): from src
    // those run cv8 and VGG-16's conv2_x 8-17% slower at batch 1 on an H100.
    // There 128 x 64 tiles from src are the fastest for kg <= 128 (cv8
    // 0.91x, conv2_2 0.95x) - where they fill the GPU: with fewer tiles than
    // multiprocessors 64 x 64 ones are (ResNet-50's res3a_1 0.87x
    // L's time, MobileNet's pw2 0.49x; 128 x 64 1.33x and 0.73x) - and slow
    // for wider layers (conv3_x 1.4x), which stay on L, as do 128 x 96 ones
    // (128 x 64 from src 1.86x, 64 x 64 1.06x at kg = 96). For
    // products of at least kFromSrcBatchRows rows (batch 32) the
    // spilling 128 x 128 tiles from src beat L where kg <= 128 (ResNet-50's
    // res2 0.59-0.94x, cv8 0.96x; VGG-16's conv2_x level) and wider layers
    // stay on L there too (VGG-16's conv3-5 1.03-1.05x, res4a_1 1.14x).
    // Just below that neither tile wins everywhere (cv10, 21632 rows: 0.95x
    // on 128 x 128, 1.06x on 128 x 64; ResNet-50's res3b_1, 25088 rows:
    // 0.94x and 0.71x): those keep the batch-1 rule.
    // The kernel rows of the RGB layers are copied 4 bytes at a time: there
    // 128-row tiles from src take 1.08-1.5x as long as 64 x 64 at batch 1
    // (cv3 and ResNet-50's conv1, fp32), as 128 x 64 over L does; at batch
    // 32 128 x 64 tiles take 0.83x the time of 64 x 64, in TF32 too (0.75x).
    if (from_src == FromSrc::kWherePays && !tile.forced) {
      const bool large = rows() >= kFromSrcBatchRows;
      if (from_src_by_runs(g)) {
        if (!large && config_.block_m == 128) config_ = mec_gemm_config(g, tf32(), sms_, 64, 64);
        if (large && config_.block_m == 64) config_ = mec_gemm_config(g, tf32(), sms_, 128, 64);
      } else if (!large && !config_.tf32 && config_.block_n == 128 &&
                 g.kg <= kFromSrcMaxSpillingCols) {
        const bool fills = ceil_div(rows(), 128) * ceil_div(g.kg, 64) >= sms_;
        config_ = mec_gemm_config(g, tf32(), sms_, fills ? 128 : 64, 64);
      }
    }
  }

  // Byte offsets of the workspace's regions after L (each 256-aligned).
  struct Layout {
    int64_t repack = 0, temp = 0, temp_bytes = 0, pointers = 0, total = 0;
  };

  Layout layout() const {
    const Conv2dDesc& d = desc();
    Layout l;
    int64_t end = lowered_floats_ * 4;
    auto place = [&end](int64_t bytes) {
      if (bytes == 0) return int64_t(0);
      const int64_t at = align_bytes(end);
      end = at + bytes;
      return at;
    };
    l.repack = place(repack_floats() * 4);
    if (algorithm() == Algorithm::kMecA) {
      if (d.n > 1 && d.dst_elems() > lowered_floats_) l.temp_bytes = d.dst_elems() * 4;
      l.temp = place(l.temp_bytes);
    } else if (!from_src_) {
      l.pointers = place(3 * d.groups * d.n * d.p() * int64_t(sizeof(void*)));
    }
    l.total = end;
    return l;
  }

  // The GEMM of one window (or one kernel row of it when dilation_h > 1).
  GemmShape shape(int64_t rows, const DeviceWeights& w) const {
    const Geometry& g = geom();
    const int64_t depth = g.dilation_h == 1 ? g.r * g.s * g.cg : g.s * g.cg;
    return {rows, g.kg, depth, w.ohwi ? g.r * g.s * g.cg : g.k, w.ohwi, g.hp * g.s * g.cg, g.k};
  }
  int64_t kernel_row_steps() const { return geom().dilation_h == 1 ? 1 : geom().r; }

  // Weights of group grp from kernel row i on.
  const float* weights_at(const DeviceWeights& w, int64_t grp, int64_t i) const {
    const Geometry& g = geom();
    const int64_t row_depth = g.s * g.cg;
    return w.ohwi ? w.data + grp * g.kg * g.r * row_depth + i * row_depth
                  : w.data + grp * g.kg + i * row_depth * g.k;
  }

  Status solution_a(float* lowered, const DeviceWeights& w, const float* bias, float* dst,
                    float* temp) const {
    const Geometry& g = geom();
    const int64_t rows = g.n * g.q, ld = g.hp * g.s * g.cg, row_depth = g.s * g.cg;
    float* out = g.n == 1 || temp == nullptr ? dst : temp;
    const GemmShape sh = shape(rows, w);
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      for (int64_t i = 0; i < kernel_row_steps(); ++i) {
        const float* a = lowered + grp * rows * ld + i * g.dilation_h * row_depth;
        MEC_TRY(gemm_strided_batched(cublas(), tf32(), sh, weights_at(w, grp, i), a,
                                     g.stride_h * row_depth, i == 0 ? 0.0f : 1.0f, out + grp * g.kg,
                                     rows * g.k, g.p));
      }
    }
    if (g.n == 1) {
      if (bias == nullptr) return Status::kSuccess;
      return cuda_check(add_bias(dst, bias, g.p * g.q, g.k, stream()), "bias kernel");
    }
    if (out == dst) {
      MEC_TRY(cuda_check(cudaMemcpyAsync(lowered, dst, size_t(desc().dst_elems()) * 4,
                                         cudaMemcpyDeviceToDevice, stream()),
                         "cudaMemcpyAsync of Solution A's result into L"));
      out = lowered;
    }
    return cuda_check(reorder_rows(out, bias, dst, g.n, g.p, g.q * g.k, g.k, stream()),
                      "MEC Solution A reordering kernel");
  }

  // The shape's part of the 16-byte alignment that cuBLAS's batched TF32
  // GEMMs need (solution_b): leading dimensions and pointer steps, known at
  // plan creation; run() adds the pointers themselves.
  bool batched_tf32_fits(bool ohwi) const {
    const Geometry& g = geom();
    const int64_t row_depth = g.s * g.cg, ldw = ohwi ? g.r * g.s * g.cg : g.k;
    return windows_aligned(g) && g.k % 4 == 0 && ldw % 4 == 0 && (g.groups == 1 || g.kg % 4 == 0) &&
           (kernel_row_steps() == 1 ||
            ((g.dilation_h * row_depth) % 4 == 0 && (!ohwi || row_depth % 4 == 0)));
  }

  // Conv2dPlan::variant(): the path run_on_device() takes. The weights it
  // reads are OHWI exactly when the descriptor's are (prepare_weights()).
  std::string path() const {
    const bool ohwi = desc().filter_layout == FilterLayout::kOHWI;
    const std::string name = algorithm_name(algorithm()),
                      rows = "rows" + std::to_string(shallow_rows_);
    const std::string tile = std::to_string(config_.block_m) + "x" +
                             std::to_string(config_.block_n) + "/split" +
                             std::to_string(config_.splits);
    const char* kernel_math = config_.tf32 ? "tf32" : "fp32";
    if (from_src_ && shallow_) return detail::join_variant({name, "shallow-src", rows, "fp32"});
    if (from_src_) {
      return detail::join_variant(
          {name, "kernel-src", from_src_by_runs(geom()) ? "runs" : "pixels", tile, kernel_math});
    }
    if (grouped_) return detail::join_variant({name, "grouped", "fp32"});
    if (algorithm() == Algorithm::kMecA) {
      const char* reorder = geom().n == 1             ? ""
                            : layout().temp_bytes > 0 ? "reorder-temp"
                                                      : "reorder-l";
      return detail::join_variant({name, "cublas-a", reorder, math()});
    }
    if (fused_ && !ohwi && shallow_) return detail::join_variant({name, "shallow-l", rows, "fp32"});
    if (fused_ && !ohwi) return detail::join_variant({name, "kernel-l", tile, kernel_math});
    return detail::join_variant(
        {name, "cublas-b", tf32() && batched_tf32_fits(ohwi) ? "tf32" : "fp32"});
  }

  Status solution_b(const float* lowered, const DeviceWeights& w, const float* bias, float* dst,
                    char* pointer_space, bool dst_zeroed) const {
    const Geometry& g = geom();
    const int64_t batch = g.groups * g.n * g.p;
    auto** a = reinterpret_cast<const float**>(pointer_space);
    const float** b = a + batch;
    auto** c = reinterpret_cast<float**>(pointer_space + 2 * batch * sizeof(void*));
    if (fused_ && !w.ohwi && shallow_) {
      return cuda_check(mec_shallow(g, lowered, w.data, bias, dst, shallow_rows_, sms_, stream()),
                        "MEC Solution B shallow kernel");
    }
    if (fused_ && !w.ohwi) {
      return cuda_check(mec_gemm(g, config_, lowered, w.data, bias, dst, stream(), dst_zeroed),
                        "MEC Solution B GEMM kernel");
    }
    const GemmShape sh = shape(g.q, w);
    // cuBLAS's batched TF32 GEMMs need every pointer in the arrays 16-byte
    // aligned (it cannot check them; a misaligned dst faults with a
    // misaligned address): otherwise fp32 ones. The pointers (mec_b_pointers())
    // step by L's windows, by k floats in dst, by kg between groups and by
    // kernel rows of s*cg with dilation_h > 1; the leading dimensions are
    // L's row, k and the weights' (not s*cg % 4 == 0, which cv1's and
    // cv2's 11 x 3 windows fail although their windows of L are aligned:
    // asking for it costs them 1.5x their TF32 time at batch 32 on an H100).
    const bool aligned = reinterpret_cast<uintptr_t>(lowered) % 16 == 0 &&
                         reinterpret_cast<uintptr_t>(w.data) % 16 == 0 &&
                         reinterpret_cast<uintptr_t>(dst) % 16 == 0 && batched_tf32_fits(w.ohwi);
    for (int64_t i = 0; i < kernel_row_steps(); ++i) {
      // Stream order makes reusing the arrays for the next i safe.
      MEC_TRY(cuda_check(mec_b_pointers(g, i, lowered, w.data, w.ohwi, dst, a, b, c, stream()),
                         "MEC Solution B pointer kernel"));
      MEC_TRY(gemm_batched(cublas(), tf32() && aligned, sh, b, a, i == 0 ? 0.0f : 1.0f, c, batch));
    }
    if (bias == nullptr) return Status::kSuccess;
    return cuda_check(add_bias(dst, bias, g.n * g.p * g.q, g.k, stream()), "bias kernel");
  }

  int64_t lowered_floats_;  // 0 from src
  const bool fused_;        // Solution B by mec_gemm()
  const bool grouped_;      // Solution B by mec_grouped()
  bool from_src_ = false;   // fused_ with the lowering in the kernel's copies (mec_gemm_src(),
                            // mec_shallow_src())
  const bool shallow_;      // Solution B by mec_shallow() (fused_ and a shallow window)
  int shallow_rows_ = 128;  // its tile rows (shallow_tile_rows())
  const int sms_;           // multiprocessors of the context's device
  const CudaTile forced_;   // Context::cuda_tile() ({}: none)
  MecGemmConfig config_;
};

}  // namespace

Status create_mec(const Conv2dDesc& d, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl) {
  if (context.mec_band_rows() > 0) {
    return fail(Status::kUnsupported, "MEC row bands (Context::set_mec_band_rows) are CPU-only");
  }
  const int64_t hp = lowered_height(d);
  int64_t lowered, bytes;
  if (!checked_product({d.n, d.q(), hp, d.s, d.c}, &lowered) ||
      !checked_add(lowered, d.weight_elems() + d.dst_elems() + 1024, &bytes) ||
      !checked_add(bytes, 6 * d.groups * d.n * d.p(), &bytes) ||
      !checked_product({bytes, 4}, &bytes)) {
    return fail(Status::kInvalidArgument,
                "MEC workspace n*q*(h+pad_top+pad_bottom)*s*c overflows 64-bit bytes");
  }
  const int64_t cg = d.c / d.groups, ld = hp * d.s * cg;
  const GemmShape shape{d.n * d.q(),
                        d.k / d.groups,
                        d.r * d.s * cg,
                        d.k > d.r * d.s * cg ? d.k : d.r * d.s * cg,
                        false,
                        ld,
                        d.k};
  if (!gemm_fits(shape, d.groups * d.n * d.p())) {
    return fail(Status::kUnsupported, "MEC GEMM dimensions exceed cuBLAS's 32-bit limit");
  }
  const bool keep_cublas = context.cuda_gemm() == CudaGemm::kCublas;
  const bool force_kernel = context.cuda_gemm() == CudaGemm::kKernel;
  const int64_t rows = d.n * d.p() * d.q();
  // Groups narrower than the kernel's 64-column tiles (ResNeXt's 4-32)
  // would leave most of every tile empty: they stay on cuBLAS.
  const bool fusable = d.dilation_h == 1 && (d.groups == 1 || d.k / d.groups >= 64) &&
                       rows < (int64_t(1) << 31) &&
                       d.r * d.s * d.c < (int64_t(1) << 30) &&  // K split rounding stays int
                       !keep_cublas;
  // Fp32 FFMA also in TF32 mode: these products are too small for tensor cores.
  const bool grouped = d.groups > 1 && cg * (d.k / d.groups) <= kGroupedMaxChannels && !keep_cublas;
  const bool asked_mec = algorithm == Algorithm::kMec;
  if (algorithm == Algorithm::kMec) {
    // Grouped layers: A is one cuBLAS call per group, B one for all groups
    // (on an H100 B is 2-13x faster with 32 groups, within 30% either way
    // with 2). With TF32, A's GEMMs of n*q rows run on cuBLAS's tensor-core
    // kernels and beat our kernel's mma path on the narrow layers of a batch
    // (kTf32MaxQForA).
    const bool tf32_a = context.allow_tf32() && d.q() <= kTf32MaxQForA && rows >= kTf32MinRowsForA;
    const bool use_a = d.groups == 1 && d.dst_elems() <= lowered &&
                       (tf32_a || (!fusable && d.q() <= context.mec_threshold()));
    algorithm = use_a ? Algorithm::kMecA : Algorithm::kMecB;
  }
  const Geometry g = geometry(d);
  // kMec (not the explicit Solution B, whose L the paper's experiments
  // measure) does the lowering in the kernels' copies where they can follow
  // the windows in src: the GEMM kernel at batch 1 and batch 32 (where its
  // tile pays, src_pays_on()), the shallow kernel at any batch (on an H100
  // from src: cv7 0.89x at batch 1, 0.92x at batch 32). Where the GEMM
  // kernel would copy kernel rows of src 4 bytes at a time and L's windows
  // 16 bytes, L stays (cv1 and cv2, 11x11 at stride 4, take 1.2-1.3x as
  // long from src at batch 1, 64 x 64 tiles as long as over L).
  // Context::cuda_from_src() kNever / kWhereverItFits: never (every plan
  // keeps L, and the layers that kernel_pays' from-src clauses give the
  // kernel stay on cuBLAS) / in every plan of the kernels (benchmarking,
  // tests).
  const bool from_src_forced = context.cuda_from_src() != CudaFromSrc::kAuto;
  const bool from_src_all = context.cuda_from_src() == CudaFromSrc::kWhereverItFits;
  const bool from_src_off = context.cuda_from_src() == CudaFromSrc::kNever;
  // Whether the kernels can follow g's windows in src, and whether kMec's
  // rule has them do it. (With TF32 the RGB layers read src however L's
  // windows lie: on an H100 cv1 at batch 32 takes 0.49x the time of cuBLAS's TF32
  // GEMMs, 0.61x over L.)
  const bool src_fits =
      asked_mec && d.filter_layout != FilterLayout::kOHWI && (shallow_fits(g) || from_src_fits(g));
  const bool src_pays = src_fits && (shallow_fits(g) || context.allow_tf32() ||
                                     !from_src_by_runs(g) || !windows_aligned(g));
  // With TF32 on an H100 the kernel's mma path beats cuBLAS's TF32 GEMMs
  // where q <= 64 and the product is small (batch 1, the 7x7 and 14x14
  // layers at batch 32) or has >= 256 columns per group; elsewhere
  // cuBLAS's (tensor-core) batched GEMMs of q rows are faster - except
  // on the RGB layers from src (0.49-0.52x at batch 32). In fp32
  // the kernel from src beats them on the tiles where it reads src
  // (src_pays_on()).
  const bool kernel_pays =
      force_kernel || shallow_fits(g) ||
      (context.allow_tf32()
           ? (d.q() <= kKernelMaxQ && (rows < kKernelAnyQRows || g.kg >= kKernelTf32MinCols)) ||
                 (src_pays && !from_src_off && from_src_by_runs(g))
           : d.q() <= context.mec_threshold() || rows < kKernelAnyQRows ||
                 (d.q() <= kKernelMaxQ && windows_aligned(g)) ||
                 (src_pays && !from_src_off &&
                  src_pays_on(planned_tile(g, false, context.cuda_resources()->multiprocessors,
                                           context.cuda_tile())
                                  .config,
                              g)));
  const bool fused = fusable && !grouped && algorithm == Algorithm::kMecB && kernel_pays;
  FromSrc from_src = FromSrc::kNever;
  if (fused && src_fits) {
    if (from_src_all) {
      from_src = FromSrc::kWhereverItFits;
    } else if (!from_src_forced && src_pays) {
      from_src = FromSrc::kWherePays;
    }
  }
  impl->reset(new MecPlan(d, algorithm, context, lowered, fused,
                          grouped && algorithm == Algorithm::kMecB, from_src));
  return Status::kSuccess;
}

}  // namespace cuda
}  // namespace mec
