// Winograd convolution F(2x2,3x3) and F(4x4,3x3) (Lavin and Gray 2016) for
// 3x3, stride-1, dilation-1 layers, any padding, any groups.
//
// The output of each group is cut into m x m tiles (m = 2 or 4), each read
// from an a x a input patch (a = m + 2). Per group:
//   U[xi][ci][ko] = (G g G^T)[xi]   for the kernels (a*a*cg*kg floats),
//   V[xi][t][ci]  = (B^T d B)[xi]   for a block of T tiles,
//   M[xi]         = V[xi] * U[xi]   a*a GEMMs of T x cg by cg x kg (sgemm),
//   Y_t           = A^T M_t A       written into dst (+ bias), cropped.
// Tiles are processed in blocks of T so the workspace is bounded whatever
// the image size. With P threads and at least P blocks of kBlockBytes / P,
// each thread runs whole blocks in its own V/M buffers (S = P slots; one
// synchronisation per group); otherwise one block of kBlockBytes is shared
// by all threads phase by phase (S = 1). T is never below kMinTiles tiles
// (GEMM efficiency). Workspace (floats): S*a*a*T*(cg + kg), plus a*a*cg*kg
// for U unless set_weights() stored U for all groups as plan memory
// (a*a*k*cg floats).
#include <omp.h>

#include <algorithm>

#include "common/checked.h"
#include "common/status_detail.h"
#include "common/weight_strides.h"
#include "common/winograd_rule.h"
#include "cpu/cpu_plans.h"
#include "cpu/gemm.h"
#include "cpu/multiversion.h"
#include "cpu/parallel.h"
#include "cpu/winograd_transforms.h"

namespace mec {
namespace cpu {
namespace {

constexpr int64_t kBlockBytes = int64_t(2) << 20;
constexpr int64_t kMinTiles = 16;
constexpr int kLanes = 64;  // channels transformed together (stack buffers)

// Tile geometry of one plan.
struct Tiling {
  int64_t tiles_h, tiles_w, total, block;
  int64_t slots;  // V/M buffer pairs: threads (private blocks) or 1 (shared)
};

template <class F>
struct Transforms {
  static constexpr int kA = F::kA, kM = F::kM;

  // V[xi][t][c0 .. c0+n) from the input patch of tile t: rows y0.., cols x0..
  // (in unpadded input coordinates; outside the image reads as zero).
  static MEC_INLINE void input_tile(const Conv2dDesc& d, const float* src_image, int64_t y0,
                                    int64_t x0, int64_t c0, int n, float* v, int64_t v_stride) {
    alignas(64) float patch[kA * kA * kLanes];
    alignas(64) float tmp[kA * kA * kLanes];
    for (int a = 0; a < kA; ++a) {
      const int64_t iy = y0 + a;
      for (int b = 0; b < kA; ++b) {
        const int64_t ix = x0 + b;
        float* out = patch + (a * kA + b) * kLanes;
        if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w) {
          for (int l = 0; l < n; ++l) out[l] = 0.0f;
        } else {
          const float* in = src_image + (iy * d.w + ix) * d.c + c0;
          for (int l = 0; l < n; ++l) out[l] = in[l];
        }
      }
    }
    for (int b = 0; b < kA; ++b) {
      F::input(patch + b * kLanes, kA * kLanes, tmp + b * kLanes, kA * kLanes, n);
    }
    for (int a = 0; a < kA; ++a) {
      F::input(tmp + a * kA * kLanes, kLanes, v + a * kA * v_stride, v_stride, n);
    }
  }

  // dst pixels of tile (y0, x0) for channels [k0, k0+n) from M[xi][t][k0..].
  static MEC_INLINE void output_tile(const Conv2dDesc& d, const float* m, int64_t m_stride,
                                     const float* bias, float* dst_image, int64_t p, int64_t q,
                                     int64_t y0, int64_t x0, int64_t k0, int n) {
    alignas(64) float tmp[kM * kA * kLanes];
    alignas(64) float out[kM * kM * kLanes];
    for (int b = 0; b < kA; ++b) {
      F::output(m + b * m_stride, kA * m_stride, tmp + b * kLanes, kA * kLanes, n);
    }
    for (int i = 0; i < kM; ++i) {
      F::output(tmp + i * kA * kLanes, kLanes, out + i * kM * kLanes, kLanes, n);
    }
    for (int i = 0; i < kM && y0 + i < p; ++i) {
      for (int j = 0; j < kM && x0 + j < q; ++j) {
        float* o = dst_image + ((y0 + i) * q + x0 + j) * d.k + k0;
        const float* r = out + (i * kM + j) * kLanes;
        if (bias) {
          for (int l = 0; l < n; ++l) o[l] = r[l] + bias[k0 + l];
        } else {
          for (int l = 0; l < n; ++l) o[l] = r[l];
        }
      }
    }
  }

  // U[xi][ci][ko0 .. ko0+n) of group g from weights in any layout.
  static MEC_INLINE void kernel_lanes(const Conv2dDesc& d, const WeightStrides& ws,
                                      const float* weights, int64_t g, int64_t ci, int64_t ko0,
                                      int n, float* u) {
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
    alignas(64) float taps[9 * kLanes];
    alignas(64) float tmp[kA * 3 * kLanes];
    const float* w = weights + (g * kg + ko0) * ws.k + ci * ws.c;
    for (int t = 0; t < 9; ++t) {
      const float* wt = w + (t / 3) * ws.r + (t % 3) * ws.s;
      for (int l = 0; l < n; ++l) taps[t * kLanes + l] = wt[l * ws.k];
    }
    for (int j = 0; j < 3; ++j) {
      F::kernel(taps + j * kLanes, 3 * kLanes, tmp + j * kLanes, 3 * kLanes, n);
    }
    for (int a = 0; a < kA; ++a) {
      F::kernel(tmp + a * 3 * kLanes, kLanes, u + (a * kA * cg + ci) * kg + ko0, cg * kg, n);
    }
  }
};

template <class F>
MEC_MULTIVERSION void input_tile(const Conv2dDesc& d, const float* src_image, int64_t y0,
                                 int64_t x0, int64_t c0, int n, float* v, int64_t v_stride) {
  Transforms<F>::input_tile(d, src_image, y0, x0, c0, n, v, v_stride);
}
template <class F>
MEC_MULTIVERSION void output_tile(const Conv2dDesc& d, const float* m, int64_t m_stride,
                                  const float* bias, float* dst_image, int64_t p, int64_t q,
                                  int64_t y0, int64_t x0, int64_t k0, int n) {
  Transforms<F>::output_tile(d, m, m_stride, bias, dst_image, p, q, y0, x0, k0, n);
}

template <class F>
class WinogradPlan : public detail::PlanImpl {
  static constexpr int kA = F::kA, kM = F::kM, kXi = kA * kA;

 public:
  WinogradPlan(const Conv2dDesc& desc, Algorithm algorithm, int threads, const Tiling& tiling)
      : PlanImpl(desc, algorithm), threads_(threads), tiling_(tiling) {
    set_variant(
        detail::join_variant({algorithm_name(algorithm), "block" + std::to_string(tiling.block),
                              tiling.slots > 1 ? "private" : "shared"}));
  }

  // V and M of one block of tiles.
  int64_t slot_floats() const {
    return kXi * tiling_.block * (desc().c / desc().groups + desc().k / desc().groups);
  }

  int64_t kernel_floats_per_group() const {
    const Conv2dDesc& d = desc();
    return kXi * (d.c / d.groups) * (d.k / d.groups);
  }

  size_t workspace_bytes() const override {
    return size_t((has_packed_weights() ? 0 : kernel_floats_per_group()) +
                  tiling_.slots * slot_floats()) *
           sizeof(float);
  }

  void pack_weights(const float* weights) override {
    packed_.resize(size_t(kernel_floats_per_group() * desc().groups));
    for (int64_t g = 0; g < desc().groups; ++g) {
      transform_kernels(weights, g, packed_.data() + g * kernel_floats_per_group());
    }
  }

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void* workspace) const override {
    const Conv2dDesc& d = desc();
    float* u_scratch = static_cast<float*>(workspace);
    float* slots = u_scratch + (has_packed_weights() ? 0 : kernel_floats_per_group());
    const int64_t blocks = (tiling_.total + tiling_.block - 1) / tiling_.block;
    for (int64_t g = 0; g < d.groups; ++g) {
      const float* u = u_scratch;
      if (has_packed_weights()) {
        u = packed_weights() + g * kernel_floats_per_group();
      } else {
        transform_kernels(weights, g, u_scratch);
      }
      if (tiling_.slots == 1) {
        // Few tiles: every block is shared by all threads, phase by phase.
        for (int64_t b = 0; b < blocks; ++b) block(src, u, bias, dst, g, b, slots, true);
        continue;
      }
      // Enough tiles: each thread takes whole blocks into its own V/M slot,
      // so the threads meet once per group instead of three times a block.
#pragma omp parallel num_threads(threads_)
      {
        float* slot = slots + omp_get_thread_num() * slot_floats();
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < blocks; ++b) block(src, u, bias, dst, g, b, slot, false);
      }
    }
    return Status::kSuccess;
  }

 private:
  // Block b of group g: transform its tiles into V, a*a GEMMs into M, and
  // the inverse transform into dst. `shared`: all threads work on it.
  void block(const float* src, const float* u, const float* bias, float* dst, int64_t g, int64_t b,
             float* slot, bool shared) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
    const int64_t t0 = b * tiling_.block, tb = std::min(tiling_.block, tiling_.total - t0);
    float* v = slot;
    float* m = slot + kXi * tiling_.block * cg;
    transform_inputs(src, g, t0, tb, v, shared);
    auto gemm = [&](int64_t xi, int64_t r0, int64_t r1) {
      sgemm(r1 - r0, kg, cg, v + (xi * tb + r0) * cg, cg,
            WeightOperand{u + xi * cg * kg, kg, false}, 0.0f, m + (xi * tb + r0) * kg, kg);
    };
    if (shared) {
      parallel_gemm_rows(kXi, tb, threads_, gemm);
    } else {
      for (int64_t xi = 0; xi < kXi; ++xi) gemm(xi, 0, tb);
    }
    transform_outputs(m, bias, g, t0, tb, dst, shared);
  }

  void transform_kernels(const float* weights, int64_t g, float* u) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
    const WeightStrides ws = weight_strides(d);
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (int64_t ci = 0; ci < cg; ++ci) {
      for (int64_t k0 = 0; k0 < kg; k0 += kLanes) {
        Transforms<F>::kernel_lanes(d, ws, weights, g, ci, k0,
                                    int(std::min<int64_t>(kLanes, kg - k0)), u);
      }
    }
  }

  void transform_inputs(const float* src, int64_t g, int64_t t0, int64_t tb, float* v,
                        bool shared) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, per_image = tiling_.tiles_h * tiling_.tiles_w;
    const int64_t chunks = (cg + kLanes - 1) / kLanes;
#pragma omp parallel for collapse(2) num_threads(threads_) schedule(static) if (shared)
    for (int64_t t = 0; t < tb; ++t) {
      for (int64_t ch = 0; ch < chunks; ++ch) {
        const int64_t tile = t0 + t, n = tile / per_image, ty = tile % per_image / tiling_.tiles_w,
                      tx = tile % tiling_.tiles_w, c0 = ch * kLanes;
        input_tile<F>(d, src + n * d.h * d.w * d.c + g * cg, ty * kM - d.pad_top,
                      tx * kM - d.pad_left, c0, int(std::min<int64_t>(kLanes, cg - c0)),
                      v + t * cg + c0, tb * cg);
      }
    }
  }

  void transform_outputs(const float* m, const float* bias, int64_t g, int64_t t0, int64_t tb,
                         float* dst, bool shared) const {
    const Conv2dDesc& d = desc();
    const int64_t kg = d.k / d.groups, p = d.p(), q = d.q();
    const int64_t per_image = tiling_.tiles_h * tiling_.tiles_w;
    const int64_t chunks = (kg + kLanes - 1) / kLanes;
    const float* bias_g = bias ? bias + g * kg : nullptr;
#pragma omp parallel for collapse(2) num_threads(threads_) schedule(static) if (shared)
    for (int64_t t = 0; t < tb; ++t) {
      for (int64_t ch = 0; ch < chunks; ++ch) {
        const int64_t tile = t0 + t, n = tile / per_image, ty = tile % per_image / tiling_.tiles_w,
                      tx = tile % tiling_.tiles_w, k0 = ch * kLanes;
        output_tile<F>(d, m + t * kg + k0, tb * kg, bias_g, dst + n * p * q * d.k + g * kg, p, q,
                       ty * kM, tx * kM, k0, int(std::min<int64_t>(kLanes, kg - k0)));
      }
    }
  }

  const int threads_;
  const Tiling tiling_;
};

template <class F>
Status make_plan(const Conv2dDesc& d, Algorithm algorithm, const Context& context,
                 std::unique_ptr<detail::PlanImpl>* impl) {
  constexpr int64_t kXi = F::kA * F::kA;
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  Tiling t;
  t.tiles_h = (d.p() + F::kM - 1) / F::kM;
  t.tiles_w = (d.q() + F::kM - 1) / F::kM;
  int64_t floats, kernel_floats;
  if (!checked_product({d.n, t.tiles_h, t.tiles_w}, &t.total) ||
      !checked_product({kXi, cg, kg}, &kernel_floats)) {
    return fail(Status::kInvalidArgument, "winograd tile or kernel count overflows");
  }
  // Each of P threads gets its own block of about kBlockBytes / P when there
  // are at least P such blocks; otherwise one block of about kBlockBytes is
  // shared by all threads.
  const int64_t per_tile = kXi * (cg + kg), threads = context.threads();
  const int64_t budget = kBlockBytes / int64_t(sizeof(float));
  t.block = std::min(t.total, std::max(kMinTiles, budget / threads / per_tile));
  t.slots = threads;
  if (threads == 1 || (t.total + t.block - 1) / t.block < threads) {
    t.block = std::min(t.total, std::max(kMinTiles, budget / per_tile));
    t.slots = 1;
  }
  int64_t persistent;
  if (!checked_product({t.block, per_tile, t.slots}, &floats) ||
      !checked_add(floats, kernel_floats, &floats) ||
      !checked_product({floats, int64_t(sizeof(float))}, &floats) ||
      !checked_product({kernel_floats, d.groups, int64_t(sizeof(float))}, &persistent)) {
    return fail(Status::kInvalidArgument, "winograd workspace overflows 64-bit bytes");
  }
  if (!gemm_fits(t.block, kg, cg, cg, kg, kg)) {
    return fail(Status::kUnsupported, "winograd GEMM dimensions exceed the BLAS 32-bit limit");
  }
  impl->reset(new WinogradPlan<F>(d, algorithm, context.threads(), t));
  return Status::kSuccess;
}

}  // namespace

Status create_winograd(const Conv2dDesc& d, Algorithm algorithm, const Context& context,
                       std::unique_ptr<detail::PlanImpl>* impl) {
  if (Status st = detail::check_winograd_shape(d); st != Status::kSuccess) return st;
  if (algorithm == Algorithm::kWinograd) algorithm = detail::choose_winograd_variant(d, kMinTiles);
  if (algorithm == Algorithm::kWinogradF4) {
    return make_plan<WinogradF4>(d, algorithm, context, impl);
  }
  return make_plan<WinogradF2>(d, algorithm, context, impl);
}

}  // namespace cpu
}  // namespace mec
