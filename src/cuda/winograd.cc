// Winograd convolution F(2x2,3x3) and F(4x4,3x3) on CUDA, for 3x3, stride-1,
// dilation-1 layers with any padding and groups (as src/cpu/winograd.cc;
// anything else is kUnsupported). Per block of T tiles of all images:
//   V = B^T d B   one kernel, one thread per (tile, channel)
//   M = V * U     ONE cublasGemmStridedBatchedEx over the a*a*groups
//                 products (T x cg by cg x kg), strict fp32 or TF32 as the
//                 context says
//   dst = A^T M A (+ bias)   one kernel, one thread per (tile, channel)
// U = G g G^T is made by a kernel from weights in any layout: at
// set_weights() into plan memory (a*a*k*cg floats, persistent_bytes()), or
// per run into the workspace.
// Blocks: T = min(all tiles, max(kMinTiles, B / bytes per tile)), B = 128 MiB,
// bytes per tile 4*a*a*(c+k). Workspace (bytes), regions 256-aligned:
//   align256(4*a*a*k*cg) (U; 0 after set_weights())
//   + align256(4*a*a*T*c) (V) + 4*a*a*T*k (M).
// kWinograd picks F(2x2) or F(4x4) by the CPU's rule (less GEMM work over
// the padded tile grid), so both backends resolve a layer the same way;
// with TF32 allowed it picks F(2x2) (F(4x4) in TF32 loses ~1e-2).
#include <algorithm>
#include <climits>

#include "common/checked.h"
#include "common/winograd_rule.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_plan.h"
#include "cuda/cuda_plans.h"
#include "cuda/gemm.h"
#include "cuda/winograd_kernels.h"

namespace mec {
namespace cuda {
namespace {

// 128 MiB of V and M per block (tile_block_bytes): enough tiles for the
// GEMMs to fill the GPU (thousands of rows) while bounding the workspace on
// big batches.
constexpr int64_t kBlockMib = 128;
constexpr int64_t kMinTiles = 16;

class WinogradPlan : public CudaPlan {
 public:
  WinogradPlan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context, int m,
               int64_t tiles_h, int64_t tiles_w, int64_t block)
      : CudaPlan(desc, algorithm, context),
        m_(m),
        a_(m + 2),
        tiles_h_(tiles_h),
        tiles_w_(tiles_w),
        block_(block) {
    set_variant(detail::join_variant(
        {algorithm_name(algorithm), "cublas", "block" + std::to_string(block), math()}));
  }

  ~WinogradPlan() override {
    if (u_ != nullptr) {
      cudaSetDevice(device());
      cudaFree(u_);
    }
  }

  int64_t u_floats() const { return a_ * a_ * desc().k * (desc().c / desc().groups); }
  int64_t v_bytes() const { return align_bytes(4 * a_ * a_ * block_ * desc().c); }
  int64_t u_bytes() const { return has_packed_weights() ? 0 : align_bytes(4 * u_floats()); }

  size_t workspace_bytes() const override {
    return size_t(u_bytes() + v_bytes() + 4 * a_ * a_ * block_ * desc().k);
  }
  bool has_packed_weights() const override { return u_ != nullptr; }
  size_t persistent_bytes() const override { return u_ != nullptr ? size_t(4 * u_floats()) : 0; }

  Status store_weights(const float* weights) override {
    MEC_TRY(cuda_check(cudaSetDevice(device()), "cudaSetDevice"));
    if (u_ == nullptr) {
      MEC_TRY(cuda_check(cudaMalloc(&u_, size_t(4 * u_floats())),
                         "cudaMalloc of the plan's transformed kernels"));
    }
    MEC_TRY(cuda_check(winograd_kernels(geom(), m_, weight_strides(desc()), weights, u_, stream()),
                       "Winograd kernel transform"));
    return cuda_check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize after set_weights");
  }

 protected:
  Status run_on_device(const float* src, const float* weights, const float* bias, float* dst,
                       char* workspace) const override {
    const Geometry& g = geom();
    const float* u = u_;
    if (u == nullptr) {
      float* scratch = reinterpret_cast<float*>(workspace);
      MEC_TRY(
          cuda_check(winograd_kernels(g, m_, weight_strides(desc()), weights, scratch, stream()),
                     "Winograd kernel transform"));
      u = scratch;
    }
    float* v = reinterpret_cast<float*>(workspace + u_bytes());
    float* mm = reinterpret_cast<float*>(workspace + u_bytes() + v_bytes());
    const int64_t total = g.n * tiles_h_ * tiles_w_;
    for (int64_t t0 = 0; t0 < total; t0 += block_) {
      const WinogradTiles tl{m_, tiles_h_, tiles_w_, t0, std::min(block_, total - t0)};
      MEC_TRY(cuda_check(winograd_inputs(g, tl, src, v, stream()), "Winograd input transform"));
      // Row-major M (count x kg) = V (count x cg) * U (cg x kg), per (xi, g).
      const GemmShape sh{tl.count, g.kg, g.cg, g.kg, false, g.cg, g.kg};
      MEC_TRY(gemm_strided_batched(cublas(), tf32(), sh, u, g.cg * g.kg, v, tl.count * g.cg, 0.0f,
                                   mm, tl.count * g.kg, a_ * a_ * g.groups));
      MEC_TRY(cuda_check(winograd_outputs(g, tl, mm, bias, dst, stream()),
                         "Winograd output transform"));
    }
    return Status::kSuccess;
  }

 private:
  const int m_, a_;
  const int64_t tiles_h_, tiles_w_, block_;
  float* u_ = nullptr;
};

}  // namespace

Status create_winograd(const Conv2dDesc& d, Algorithm algorithm, const Context& context,
                       std::unique_ptr<detail::PlanImpl>* impl) {
  if (Status st = detail::check_winograd_shape(d); st != Status::kSuccess) return st;
  const int64_t p = d.p(), q = d.q();
  if (algorithm == Algorithm::kWinograd && context.allow_tf32()) {
    // TF32 operands (10-bit mantissas) times F(4x4)'s transforms (factors up
    // to 8 and 1/24) measured 7e-3..9e-3 of max|dst| on cv6-cv12, against
    // 5e-4 for F(2x2): with TF32 the choice is F(2x2). kWinogradF4 asked for
    // explicitly still runs in TF32 (tolerance in tests/conv_tester.h).
    algorithm = Algorithm::kWinogradF2;
  }
  if (algorithm == Algorithm::kWinograd) algorithm = detail::choose_winograd_variant(d, kMinTiles);
  const int m = algorithm == Algorithm::kWinogradF4 ? 4 : 2;
  const int64_t a = m + 2, tiles_h = (p + m - 1) / m, tiles_w = (q + m - 1) / m;
  int64_t total, per_tile, u_bytes, bytes;
  if (!checked_product({d.n, tiles_h, tiles_w}, &total) ||
      !checked_product({4, a, a, d.c + d.k}, &per_tile) ||
      !checked_product({4, a, a, d.k, d.c / d.groups}, &u_bytes)) {
    return fail(Status::kInvalidArgument, "winograd tile or kernel count overflows");
  }
  const int64_t block =
      std::min(total, std::max(kMinTiles, tile_block_bytes(context, kBlockMib) / per_tile));
  if (!checked_product({block, per_tile}, &bytes) || !checked_add(bytes, u_bytes + 1024, &bytes)) {
    return fail(Status::kInvalidArgument, "winograd workspace overflows 64-bit bytes");
  }
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const GemmShape shape{block, kg, cg, kg, false, cg, kg};
  if (!gemm_fits(shape, a * a * d.groups) || block * std::max(cg, kg) > INT_MAX) {
    return fail(Status::kUnsupported, "winograd GEMM dimensions exceed cuBLAS's 32-bit limit");
  }
  impl->reset(new WinogradPlan(d, algorithm, context, m, tiles_h, tiles_w, block));
  return Status::kSuccess;
}

}  // namespace cuda
}  // namespace mec
