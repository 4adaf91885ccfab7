// FFT convolution over FFTW3 (single precision), tiled by overlap-save.
//
// Per group, the stride-1 correlation of the zero-padded input with the
// (dilated) kernel is computed tile by tile (fft_tiling.h picks the FFT size
// nh x nw; F = nh*(nw/2+1) half-spectrum frequencies):
//   W[f][ko][ci] = FFT(kernel ko, ci zero-padded to nh x nw)[f] / (nh*nw)
//   X[f][t][ci]  = FFT(input tile t, channel ci)[f]   for a block of T tiles
//   Y[f]         = X[f] * conj(W[f])^T                 F complex GEMMs, T x kg
//   out tile t   = IFFT(Y[.][t][ko]), of which the first (nh-R+1) x (nw-S+1)
//                  values are exact (no circular wrap), copied into dst.
// Stride > 1 is supported by computing the stride-1 outputs the tile covers
// and keeping every stride-th one (simple, wasteful by about stride^2).
//
// FFTW: plans are made once per conv plan, in create(), with FFTW_ESTIMATE
// (deterministic and quick; FFTW_MEASURE would time candidate plans on the
// caller's machine at every create) and FFTW_UNALIGNED, so that run() may
// execute them with fftwf_execute_dft_r2c/c2r on any part of the caller's
// workspace, whatever its alignment. FFTW's planner is not thread-safe: all
// planning and destruction is serialised by a mutex. We link plain libfftw3f:
// the parallelism is ours (OpenMP over tiles, channels and frequencies),
// each transform is single-threaded.
//
// Tiles of all images are processed in blocks of T. With P threads and at
// least P blocks of kBlockBytes / P, each thread runs whole blocks in its
// own X/Y buffers (S = P slots; one synchronisation per group); otherwise
// one block of kBlockBytes is shared by all threads phase by phase (S = 1).
// Workspace (floats):
//   2*F*kg*cg (kernel spectra of one group; 0 after set_weights())
//   + S*2*F*T*(cg + kg) (X and Y) + P*nh*nw*max(cg, kg) (per-thread tiles).
// set_weights() keeps the kernel spectra of all groups: 8*F*k*cg bytes.
#include <fftw3.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <mutex>

#include "common/checked.h"
#include "common/status_detail.h"
#include "common/weight_strides.h"
#include "cpu/cpu_plans.h"
#include "cpu/fft_tiling.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"

namespace mec {
namespace cpu {
namespace {

constexpr int64_t kBlockBytes = int64_t(8) << 20;  // target size of X + Y
constexpr int64_t kMinTiles = 16;
// Shapes FFT declines (kUnsupported): beyond these it is never the method
// to use, and tile planning or the wasted stride-1 work would explode.
constexpr int64_t kMaxKernelExtent = 1024, kMaxStrideProduct = 64;
constexpr size_t kPlanningFloats = 64;

std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

class FftPlan : public detail::PlanImpl {
 public:
  FftPlan(const Conv2dDesc& desc, int threads, const FftTiling& tiling, int64_t block,
          int64_t slots)
      : PlanImpl(desc, Algorithm::kFft),
        threads_(threads),
        t_(tiling),
        block_(block),
        slots_(slots) {
    set_variant(detail::join_variant({"fft", std::to_string(t_.nh) + "x" + std::to_string(t_.nw),
                                      "block" + std::to_string(block_),
                                      slots_ > 1 ? "private" : "shared"}));
  }

  ~FftPlan() override {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    for (fftwf_plan p : {forward_input_, forward_kernel_, inverse_}) {
      if (p) fftwf_destroy_plan(p);
    }
  }

  // Makes the three FFTW plans; false if FFTW could not.
  bool make_fftw_plans() {
    const Conv2dDesc& d = desc();
    const int cg = int(d.c / d.groups), kg = int(d.k / d.groups);
    const int n[2] = {int(t_.nh), int(t_.nw)};
    const int spectrum[2] = {int(t_.nh), int(t_.nw / 2 + 1)};
    const unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
    // Planning arrays: with FFTW_ESTIMATE the planner never reads or writes
    // them (FFTW manual, "Planner Flags"); it only needs two distinct
    // pointers, the input and the output of an out-of-place transform.
    // Small ones, so that planning allocates nothing like the workspace.
    float* real = fftwf_alloc_real(kPlanningFloats);
    float* cplx = fftwf_alloc_real(kPlanningFloats);
    bool ok = real && cplx;
    if (ok) {
      std::lock_guard<std::mutex> lock(fftw_planner_mutex());
      auto* c = reinterpret_cast<fftwf_complex*>(cplx);
      forward_input_ = fftwf_plan_many_dft_r2c(2, n, cg, real, n, cg, 1, c, spectrum,
                                               int(block_) * cg, 1, flags);
      forward_kernel_ =
          fftwf_plan_many_dft_r2c(2, n, cg, real, n, cg, 1, c, spectrum, kg * cg, 1, flags);
      inverse_ = fftwf_plan_many_dft_c2r(2, n, kg, c, spectrum, int(block_) * kg, 1, real, n, kg, 1,
                                         flags);
      ok = forward_input_ && forward_kernel_ && inverse_;
    }
    fftwf_free(real);
    fftwf_free(cplx);
    return ok;
  }

  // X and Y of one block of tiles.
  int64_t slot_floats() const {
    return 2 * t_.freqs * block_ * (desc().c / desc().groups + desc().k / desc().groups);
  }

  int64_t kernel_floats_per_group() const {
    const Conv2dDesc& d = desc();
    return 2 * t_.freqs * (d.k / d.groups) * (d.c / d.groups);
  }
  // One thread's real tile buffer: nh x nw x max(cg, kg).
  int64_t staging_floats() const {
    const Conv2dDesc& d = desc();
    return t_.nh * t_.nw * std::max(d.c / d.groups, d.k / d.groups);
  }

  size_t workspace_bytes() const override {
    return size_t((has_packed_weights() ? 0 : kernel_floats_per_group()) + slots_ * slot_floats() +
                  threads_ * staging_floats()) *
           sizeof(float);
  }

  void pack_weights(const float* weights) override {
    const int64_t per_group = kernel_floats_per_group();
    std::vector<float> staging(size_t(threads_ * staging_floats()));
    packed_.resize(size_t(per_group * desc().groups));
    for (int64_t g = 0; g < desc().groups; ++g) {
      transform_kernels(weights, g, packed_.data() + g * per_group, staging.data());
    }
  }

  Status run(const float* src, const float* weights, const float* bias, float* dst,
             void* workspace) const override {
    const Conv2dDesc& d = desc();
    const int64_t total = d.n * t_.tiles_h * t_.tiles_w, blocks = ceil_div(total, block_);
    float* w_scratch = static_cast<float*>(workspace);
    float* staging = w_scratch + (has_packed_weights() ? 0 : kernel_floats_per_group());
    float* slots = staging + threads_ * staging_floats();
    for (int64_t g = 0; g < d.groups; ++g) {
      const float* w = w_scratch;
      if (has_packed_weights()) {
        w = packed_weights() + g * kernel_floats_per_group();
      } else {
        transform_kernels(weights, g, w_scratch, staging);
      }
      if (slots_ == 1) {
        // Few tiles: every block is shared by all threads, phase by phase.
        for (int64_t b = 0; b < blocks; ++b) block(src, w, bias, dst, g, b, slots, staging, true);
        continue;
      }
      // Enough tiles: each thread takes whole blocks into its own X/Y slot
      // and tile buffer, so the threads meet once per group.
#pragma omp parallel num_threads(threads_)
      {
        const int tid = omp_get_thread_num();
        float* slot = slots + tid * slot_floats();
        float* tile = staging + tid * staging_floats();
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < blocks; ++b) block(src, w, bias, dst, g, b, slot, tile, false);
      }
    }
    return Status::kSuccess;
  }

 private:
  // Block b of group g: forward transforms of its tiles into X, the F
  // complex GEMMs into Y, inverse transforms into dst. `shared`: all threads
  // work on it (staging holds one tile buffer per thread); else this thread
  // alone (staging is its own tile buffer).
  void block(const float* src, const float* w, const float* bias, float* dst, int64_t g, int64_t b,
             float* slot, float* staging, bool shared) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
    const int64_t total = d.n * t_.tiles_h * t_.tiles_w;
    const int64_t t0 = b * block_, tb = std::min(block_, total - t0);
    float* x = slot;
    float* y = slot + 2 * t_.freqs * block_ * cg;
    transform_inputs(src, g, t0, tb, x, staging, shared);
    auto gemm = [&](int64_t f, int64_t r0, int64_t r1) {
      cgemm_conj_bt(r1 - r0, kg, cg, x + 2 * (f * block_ + r0) * cg, cg, w + 2 * f * kg * cg, cg,
                    y + 2 * (f * block_ + r0) * kg, kg);
    };
    if (shared) {
      parallel_gemm_rows(t_.freqs, tb, threads_, gemm);
    } else {
      for (int64_t f = 0; f < t_.freqs; ++f) gemm(f, 0, tb);
    }
    inverse_outputs(y, bias, g, t0, tb, dst, staging, shared);
  }

  float* thread_staging(float* staging) const {
    return staging + omp_get_thread_num() * staging_floats();
  }

  // Kernel spectra of group g into w ([f][ko][ci] complex), scaled by
  // 1/(nh*nw) so the unnormalised inverse FFT comes out right.
  void transform_kernels(const float* weights, int64_t g, float* w, float* staging) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
    const WeightStrides ws = weight_strides(d);
    const float scale = 1.0f / float(t_.nh * t_.nw);
#pragma omp parallel for num_threads(threads_) schedule(static)
    for (int64_t ko = 0; ko < kg; ++ko) {
      float* tile = thread_staging(staging);
      std::memset(tile, 0, sizeof(float) * t_.nh * t_.nw * cg);
      const float* wk = weights + (g * kg + ko) * ws.k;
      for (int64_t i = 0; i < d.r; ++i) {
        for (int64_t j = 0; j < d.s; ++j) {
          float* out = tile + (i * d.dilation_h * t_.nw + j * d.dilation_w) * cg;
          const float* in = wk + i * ws.r + j * ws.s;
          for (int64_t ci = 0; ci < cg; ++ci) out[ci] = in[ci * ws.c] * scale;
        }
      }
      fftwf_execute_dft_r2c(forward_kernel_, tile,
                            reinterpret_cast<fftwf_complex*>(w + 2 * ko * cg));
    }
  }

  void transform_inputs(const float* src, int64_t g, int64_t t0, int64_t tb, float* x,
                        float* staging, bool shared) const {
    const Conv2dDesc& d = desc();
    const int64_t cg = d.c / d.groups, per_image = t_.tiles_h * t_.tiles_w;
#pragma omp parallel for num_threads(threads_) schedule(static) if (shared)
    for (int64_t t = 0; t < tb; ++t) {
      const int64_t tile_index = t0 + t, n = tile_index / per_image;
      const int64_t y0 = tile_index % per_image / t_.tiles_w * t_.th - d.pad_top;
      const int64_t x0 = tile_index % t_.tiles_w * t_.tw - d.pad_left;
      float* tile = thread_staging(staging);
      const float* image = src + n * d.h * d.w * d.c + g * cg;
      for (int64_t a = 0; a < t_.nh; ++a) {
        float* row = tile + a * t_.nw * cg;
        const int64_t iy = y0 + a;
        if (iy < 0 || iy >= d.h) {
          std::memset(row, 0, sizeof(float) * t_.nw * cg);
          continue;
        }
        for (int64_t b = 0; b < t_.nw; ++b) {
          const int64_t ix = x0 + b;
          if (ix < 0 || ix >= d.w) {
            std::memset(row + b * cg, 0, sizeof(float) * cg);
          } else {
            std::memcpy(row + b * cg, image + (iy * d.w + ix) * d.c, sizeof(float) * cg);
          }
        }
      }
      fftwf_execute_dft_r2c(forward_input_, tile, reinterpret_cast<fftwf_complex*>(x + 2 * t * cg));
    }
  }

  void inverse_outputs(float* y, const float* bias, int64_t g, int64_t t0, int64_t tb, float* dst,
                       float* staging, bool shared) const {
    const Conv2dDesc& d = desc();
    const int64_t kg = d.k / d.groups, p = d.p(), q = d.q(), per_image = t_.tiles_h * t_.tiles_w;
    const int64_t out_h = (p - 1) * d.stride_h + 1, out_w = (q - 1) * d.stride_w + 1;
#pragma omp parallel for num_threads(threads_) schedule(static) if (shared)
    for (int64_t t = 0; t < tb; ++t) {
      const int64_t tile_index = t0 + t, n = tile_index / per_image;
      const int64_t y0 = tile_index % per_image / t_.tiles_w * t_.th;
      const int64_t x0 = tile_index % t_.tiles_w * t_.tw;
      float* tile = thread_staging(staging);
      fftwf_execute_dft_c2r(inverse_, reinterpret_cast<fftwf_complex*>(y + 2 * t * kg), tile);
      for (int64_t a = 0; a < t_.th && y0 + a < out_h; ++a) {
        if ((y0 + a) % d.stride_h != 0) continue;
        const int64_t oy = (y0 + a) / d.stride_h;
        for (int64_t b = 0; b < t_.tw && x0 + b < out_w; ++b) {
          if ((x0 + b) % d.stride_w != 0) continue;
          const int64_t ox = (x0 + b) / d.stride_w;
          float* out = dst + ((n * p + oy) * q + ox) * d.k + g * kg;
          const float* in = tile + (a * t_.nw + b) * kg;
          if (bias) {
            for (int64_t ko = 0; ko < kg; ++ko) out[ko] = in[ko] + bias[g * kg + ko];
          } else {
            std::memcpy(out, in, sizeof(float) * kg);
          }
        }
      }
    }
  }

  const int threads_;
  const FftTiling t_;
  const int64_t block_, slots_;
  fftwf_plan forward_input_ = nullptr, forward_kernel_ = nullptr, inverse_ = nullptr;
};

}  // namespace

Status create_fft(const Conv2dDesc& d, Algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  const int64_t extent_h = (d.r - 1) * d.dilation_h + 1, extent_w = (d.s - 1) * d.dilation_w + 1;
  const int64_t out_h = (d.p() - 1) * d.stride_h + 1, out_w = (d.q() - 1) * d.stride_w + 1;
  if (d.stride_h > kMaxStrideProduct || d.stride_w > kMaxStrideProduct ||
      d.stride_h * d.stride_w > kMaxStrideProduct) {
    return fail(Status::kUnsupported,
                "fft computes the stride-1 result and subsamples it: strides %lldx%lld would "
                "waste more than %lldx the work",
                (long long)d.stride_h, (long long)d.stride_w, (long long)kMaxStrideProduct);
  }
  if (extent_h > kMaxKernelExtent || extent_w > kMaxKernelExtent) {
    return fail(Status::kUnsupported,
                "fft supports kernel extents (dilation included) up to %lld, got %lldx%lld",
                (long long)kMaxKernelExtent, (long long)extent_h, (long long)extent_w);
  }
  const FftTiling t = choose_fft_tiling(extent_h, extent_w, out_h, out_w, cg, kg);
  int64_t total, per_tile, floats, persistent;
  if (!checked_product({d.n, t.tiles_h, t.tiles_w}, &total) ||
      !checked_product({2, t.freqs, cg + kg}, &per_tile)) {
    return fail(Status::kInvalidArgument, "fft tile count overflows");
  }
  // Each of P threads gets its own block of about kBlockBytes / P when there
  // are at least P such blocks; otherwise one block of about kBlockBytes is
  // shared by all threads.
  const int threads = context.threads();
  int64_t block = std::min(total, std::max(kMinTiles, kBlockBytes / 4 / threads / per_tile));
  int64_t slots = threads;
  if (threads == 1 || ceil_div(total, block) < threads) {
    block = std::min(total, std::max(kMinTiles, kBlockBytes / 4 / per_tile));
    slots = 1;
  }
  if (!checked_product({block, per_tile, slots}, &floats) ||
      !checked_product({2, t.freqs, kg, cg, d.groups, 4}, &persistent) ||
      !checked_add(floats, persistent / 4 / d.groups, &floats) ||
      !checked_add(floats, threads * t.nh * t.nw * std::max(cg, kg), &floats) ||
      !checked_product({floats, 4}, &floats)) {
    return fail(Status::kInvalidArgument, "fft workspace overflows 64-bit bytes");
  }
  if (block * std::max(cg, kg) > INT_MAX / 2 || kg * cg > INT_MAX / 2 ||
      !gemm_fits(block, kg, cg, cg, cg, kg)) {
    return fail(Status::kUnsupported, "fft strides exceed FFTW's or BLAS's 32-bit limit");
  }
  std::unique_ptr<FftPlan> plan(new FftPlan(d, threads, t, block, slots));
  if (!plan->make_fftw_plans()) {
    return fail(Status::kBackendError, "FFTW could not plan a %lldx%lld transform", (long long)t.nh,
                (long long)t.nw);
  }
  *impl = std::move(plan);
  return Status::kSuccess;
}

}  // namespace cpu
}  // namespace mec
