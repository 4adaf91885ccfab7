// MEC (Cho and Brand, ICML 2017) on CUDA: the plan that executes the path
// the policy chose (mec_policy.h: which path, tile and split, and why).
// The lowering is common/mec_lowering.h's layout, done by one coalesced
// kernel (kernels.cu); the window of output row y is a run of r*s*cg
// values inside every row of L, read in place by cuBLAS with lda = ld or by
// our kernels. dilation_h > 1 splits each cuBLAS GEMM into r accumulated
// GEMMs of depth s*cg, as on CPU.
//
// Solution A (kCublasA): per group, ONE cublasGemmStridedBatchedEx over the
// p output rows (M = n*q, stride between windows stride_h*s*cg), written in
// (y, n, x) order. n == 1: that is dst's order. n > 1 and |O| <= |L|: the
// paper's reordering - the result goes to dst, is copied into L's memory
// (no longer needed) and permuted back into dst - so the workspace stays
// |L|. When |O| > |L| a separate |O| temporary replaces the copy.
// Solution B over cuBLAS (kCublasB): ONE cublasGemmBatchedEx over every
// (g, n, y) with M = q, written in place; its pointer arrays are built by a
// kernel in the workspace (3 pointers per GEMM, after L). Our kernels
// (kKernelL/Src: mec_gemm.h; kShallowL/Src: mec_shallow.h; kGrouped:
// mec_grouped.h) run B as one launch (per group), over L or reading the
// windows from src (no lowering kernel, no L in the workspace).
#include <string>

#include "common/checked.h"
#include "common/mec_lowering.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_plan.h"
#include "cuda/cuda_plans.h"
#include "cuda/gemm.h"
#include "cuda/mec_gemm.h"
#include "cuda/mec_grouped.h"
#include "cuda/mec_policy.h"
#include "cuda/mec_shallow.h"

namespace mec {
namespace cuda {
namespace {

class MecPlan : public CudaPlan {
 public:
  MecPlan(const Conv2dDesc& desc, const Context& context, const MecPath& path)
      : CudaPlan(desc, path.solution, context),
        path_(path),
        sms_(context.cuda_resources()->traits.multiprocessors) {
    set_variant(mec_path_variant(desc, path_));
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
    switch (path_.kind) {
      case MecPathKind::kShallowSrc:
        return cuda_check(
            mec_shallow_src(geom(), src, w.data, bias, dst, path_.shallow_rows, sms_, stream()),
            "MEC shallow kernel (lowering in its copies)");
      case MecPathKind::kKernelSrc:
        return cuda_check(mec_gemm_src(geom(), path_.tile, src, w.data, bias, dst, stream()),
                          "MEC GEMM kernel (lowering in its copies)");
      default:
        break;
    }
    // Our kernel with a split K adds into dst: the lowering kernel zeroes it
    // (one launch fewer).
    const bool zero_dst = path_.kind == MecPathKind::kKernelL && path_.tile.splits > 1;
    const bool grouped = path_.kind == MecPathKind::kGrouped;
    MEC_TRY(cuda_check(mec_lower(grouped ? ungrouped(geom()) : geom(), src, lowered, stream(),
                                 zero_dst ? dst : nullptr, zero_dst ? dst_floats : 0),
                       "MEC lowering kernel"));
    switch (path_.kind) {
      case MecPathKind::kGrouped:
        return cuda_check(mec_grouped(geom(), lowered, w.data, w.ohwi, bias, dst, stream()),
                          "MEC grouped kernel");
      case MecPathKind::kCublasA: {
        float* temp = l.temp_bytes > 0 ? reinterpret_cast<float*>(workspace + l.temp) : nullptr;
        return solution_a(lowered, w, bias, dst, temp);
      }
      case MecPathKind::kShallowL:
        return cuda_check(
            mec_shallow(geom(), lowered, w.data, bias, dst, path_.shallow_rows, sms_, stream()),
            "MEC Solution B shallow kernel");
      case MecPathKind::kKernelL:
        return cuda_check(
            mec_gemm(geom(), path_.tile, lowered, w.data, bias, dst, stream(), zero_dst),
            "MEC Solution B GEMM kernel");
      default:
        return solution_b(lowered, w, bias, dst, workspace + l.pointers);
    }
  }

 private:
  // Byte offsets of the workspace's regions after L (each 256-aligned).
  struct Layout {
    int64_t repack = 0, temp = 0, temp_bytes = 0, pointers = 0, total = 0;
  };

  Layout layout() const {
    const Conv2dDesc& d = desc();
    Layout l;
    int64_t end = path_.lowered_floats * 4;
    auto place = [&end](int64_t bytes) {
      if (bytes == 0) return int64_t(0);
      const int64_t at = align_bytes(end);
      end = at + bytes;
      return at;
    };
    l.repack = place(repack_floats() * 4);
    const bool from_src =
        path_.kind == MecPathKind::kKernelSrc || path_.kind == MecPathKind::kShallowSrc;
    if (path_.kind == MecPathKind::kCublasA) {
      if (d.n > 1 && d.dst_elems() > path_.lowered_floats) l.temp_bytes = d.dst_elems() * 4;
      l.temp = place(l.temp_bytes);
    } else if (!from_src) {
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
    const detail::MecLowering l = detail::mec_lowering(desc(), g.hp);
    const int64_t rows = l.group_rows;
    float* out = g.n == 1 || temp == nullptr ? dst : temp;
    const GemmShape sh = shape(rows, w);
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      for (int64_t i = 0; i < kernel_row_steps(); ++i) {
        const float* a = lowered + l.window(grp, 0, 0, 0) + l.kernel_row(i);
        MEC_TRY(gemm_strided_batched(cublas(), tf32(), sh, weights_at(w, grp, i), a,
                                     g.stride_h * l.row_depth, i == 0 ? 0.0f : 1.0f,
                                     out + grp * g.kg, rows * g.k, g.p));
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

  Status solution_b(const float* lowered, const DeviceWeights& w, const float* bias, float* dst,
                    char* pointer_space) const {
    const Geometry& g = geom();
    const int64_t batch = g.groups * g.n * g.p;
    auto** a = reinterpret_cast<const float**>(pointer_space);
    const float** b = a + batch;
    auto** c = reinterpret_cast<float**>(pointer_space + 2 * batch * sizeof(void*));
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
                         reinterpret_cast<uintptr_t>(dst) % 16 == 0 && batched_tf32_fits(g, w.ohwi);
    for (int64_t i = 0; i < kernel_row_steps(); ++i) {
      // Stream order makes reusing the arrays for the next i safe.
      MEC_TRY(cuda_check(mec_b_pointers(g, i, lowered, w.data, w.ohwi, dst, a, b, c, stream()),
                         "MEC Solution B pointer kernel"));
      MEC_TRY(gemm_batched(cublas(), tf32() && aligned, sh, b, a, i == 0 ? 0.0f : 1.0f, c, batch));
    }
    if (bias == nullptr) return Status::kSuccess;
    return cuda_check(add_bias(dst, bias, g.n * g.p * g.q, g.k, stream()), "bias kernel");
  }

  const MecPath path_;  // what run_on_device() executes (choose_mec_path())
  const int sms_;       // multiprocessors of the context's device
};

}  // namespace

Status create_mec(const Conv2dDesc& d, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl) {
  if (context.mec_band_rows() > 0) {
    return fail(Status::kUnsupported, "MEC row bands (Context::set_mec_band_rows) are CPU-only");
  }
  int64_t lowered, bytes;
  if (!detail::mec_lowered_floats(d, lowered_height(d), &lowered) ||
      !checked_add(lowered, d.weight_elems() + d.dst_elems() + 1024, &bytes) ||
      !checked_add(bytes, 6 * d.groups * d.n * d.p(), &bytes) ||
      !checked_product({bytes, 4}, &bytes)) {
    return fail(Status::kInvalidArgument,
                "MEC workspace n*q*(h+pad_top+pad_bottom)*s*c overflows 64-bit bytes");
  }
  const int64_t cg = d.c / d.groups, ld = lowered_height(d) * d.s * cg;
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
  const MecPath path =
      choose_mec_path(d, algorithm, lowered, context, context.cuda_resources()->traits);
  impl->reset(new MecPlan(d, context, path));
  return Status::kSuccess;
}

}  // namespace cuda
}  // namespace mec
