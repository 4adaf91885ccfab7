// FFT convolution on CUDA over cuFFT, tiled by overlap-save like
// src/cpu/fft.cc (same tile choice, cpu/fft_tiling.h; any kernel, dilation
// as a sparse larger kernel). Stride differs from the CPU: along an axis
// without dilation a stride u > 1 is turned into a stride-1 correlation by
// polyphase decomposition (space-to-depth: u phases become u times the
// channels, the kernel ceil(r/u) long; fft_kernels.h), so no output is
// computed to be thrown away; along a dilated axis the stride-1 outputs are
// computed and every u-th kept, as on CPU. Below, c and cg are the
// effective channel counts (times the polyphase factors). Per block of T
// tiles (all groups at once):
//   R = padded input tiles, [y][x][t][ch]                gather kernel
//   X[f][t][ch] = FFT(R)          one cufftExecR2C, batch T*c, istride T*c
//   Y[f][t][g*kg+ko] = sum_ci X[f][t][g*cg+ci] * conj(W[f][g*kg+ko][ci])
//                                 per group ONE cublasGemmStridedBatchedEx
//                                 (complex, batch F frequencies)
//   R = IFFT(Y)                   one cufftExecC2R, batch T*k
//   dst = R at the exact outputs (+ bias)                scatter kernel
// W, the kernel spectra scaled by 1/(nh*nw), comes from a third cuFFT plan:
// at set_weights() into plan memory (8*F*k*cg bytes, persistent_bytes()), or
// per run into the workspace.
//
// The cuFFT plans are made at plan creation with cufftSetAutoAllocation(0);
// run() hands them a work area inside the caller's workspace with
// cufftSetWorkArea, so run() allocates nothing. cufftSetWorkArea changes the
// cuFFT plan, so the (set work area, exec) pairs of concurrent run() calls
// on one plan are serialised by a mutex; the work itself is only enqueued.
// T: min(all tiles, max(16, B / bytes per tile)), B = 256 MiB, evened out
// over the blocks (the last block's missing tiles are zeros, not computed
// again). Workspace (bytes, each region 256-aligned), F = nh*(nw/2+1):
//   8*F*k*cg (W; 0 after set_weights())
//   + 4*nh*nw*max(T*c, T*k, k*cg [0 after set_weights()]) (R)
//   + 8*F*T*c (X) + 8*F*T*k (Y) + cuFFT's work area (max over the plans).
#include <cufft.h>

#include <algorithm>
#include <climits>
#include <mutex>

#include "common/checked.h"
#include "cpu/fft_tiling.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_plan.h"
#include "cuda/cuda_plans.h"
#include "cuda/fft_kernels.h"

namespace mec {
namespace cuda {
namespace {

constexpr int64_t kBlockMib = 256;  // tile_block_bytes()
constexpr int64_t kMinTiles = 16;
// Shapes FFT declines (kUnsupported), as on CPU (src/cpu/fft.cc): a stride
// product above 64 (polyphase multiplies the channels by it, subsampling
// the work) or an effective kernel extent above 1024 (tile planning and the
// kernel spectra explode; FFT is never the method there).
constexpr int64_t kMaxKernelExtent = 1024, kMaxStrideProduct = 64;

Status cufft_check(cufftResult e, const char* what) {
  if (e == CUFFT_SUCCESS) return Status::kSuccess;
  const Status st = e == CUFFT_ALLOC_FAILED ? Status::kOutOfMemory : Status::kBackendError;
  return fail(st, "%s: cuFFT error %d", what, int(e));
}

// A cuFFT plan handle that destroys itself.
struct FftHandle {
  cufftHandle h = 0;
  bool made = false;
  size_t work = 0;
  ~FftHandle() {
    if (made) cufftDestroy(h);
  }
  // Rank-2 nh x nw transforms, `batch` of them, element (y, x) of transform
  // b at (y*row + x)*batch + b in both arrays (row: nw real, nw/2+1 complex).
  Status make(int64_t nh, int64_t nw, int64_t batch, cufftType type, cudaStream_t stream) {
    MEC_TRY(cufft_check(cufftCreate(&h), "cufftCreate"));
    made = true;
    MEC_TRY(cufft_check(cufftSetAutoAllocation(h, 0), "cufftSetAutoAllocation"));
    long long n[2] = {nh, nw}, real[2] = {nh, nw}, cplx[2] = {nh, nw / 2 + 1};
    const bool forward = type == CUFFT_R2C;
    MEC_TRY(cufft_check(cufftMakePlanMany64(h, 2, n, forward ? real : cplx, batch, 1,
                                            forward ? cplx : real, batch, 1, type, batch, &work),
                        "cufftMakePlanMany64"));
    return cufft_check(cufftSetStream(h, stream), "cufftSetStream");
  }
};

class FftPlan : public CudaPlan {
 public:
  FftPlan(const Conv2dDesc& desc, const Context& context, const FftBlock& b)
      : CudaPlan(desc, Algorithm::kFft, context), b_(b) {
    auto by = [](int64_t a, int64_t b) { return std::to_string(a) + "x" + std::to_string(b); };
    set_variant(detail::join_variant({"fft", by(b.nh, b.nw), "poly" + by(b.uh, b.uw),
                                      "block" + std::to_string(b.batch), math()}));
  }

  ~FftPlan() override {
    if (w_ != nullptr) {
      cudaSetDevice(device());
      cudaFree(w_);
    }
  }

  Status make_ffts() {
    const Geometry& g = geom();
    MEC_TRY(forward_.make(b_.nh, b_.nw, b_.batch * b_.ce, CUFFT_R2C, stream()));
    MEC_TRY(inverse_.make(b_.nh, b_.nw, b_.batch * g.k, CUFFT_C2R, stream()));
    return kernel_.make(b_.nh, b_.nw, g.k * b_.cge, CUFFT_R2C, stream());
  }

  int64_t freqs() const { return b_.nh * (b_.nw / 2 + 1); }

  struct Layout {
    int64_t w = 0, real = 0, x = 0, y = 0, work = 0, total = 0;
  };
  Layout layout() const {
    const Geometry& g = geom();
    const bool packed = has_packed_weights();
    const int64_t plane = b_.nh * b_.nw;
    Layout l;
    int64_t end = 0;
    auto place = [&end](int64_t bytes) {
      const int64_t at = align_bytes(end);
      end = at + bytes;
      return at;
    };
    l.w = place(packed ? 0 : 8 * freqs() * g.k * b_.cge);
    l.real =
        place(4 * plane * std::max({b_.batch * b_.ce, b_.batch * g.k, packed ? 0 : g.k * b_.cge}));
    l.x = place(8 * freqs() * b_.batch * b_.ce);
    l.y = place(8 * freqs() * b_.batch * g.k);
    l.work = place(int64_t(std::max({forward_.work, inverse_.work, packed ? 0 : kernel_.work})));
    l.total = end;
    return l;
  }

  size_t workspace_bytes() const override { return size_t(layout().total); }
  bool has_packed_weights() const override { return w_ != nullptr; }
  size_t persistent_bytes() const override {
    return w_ != nullptr ? size_t(8 * freqs() * geom().k * b_.cge) : 0;
  }

  // The kernel spectra into plan memory, through a temporary buffer for the
  // real planes and cuFFT's work area (set_weights() may allocate).
  Status store_weights(const float* weights) override {
    const Geometry& g = geom();
    MEC_TRY(cuda_check(cudaSetDevice(device()), "cudaSetDevice"));
    float* w = w_;
    if (w == nullptr) {
      MEC_TRY(cuda_check(cudaMalloc(&w, size_t(8 * freqs() * g.k * b_.cge)),
                         "cudaMalloc of the plan's kernel spectra"));
    }
    const int64_t real_bytes = align_bytes(4 * b_.nh * b_.nw * g.k * b_.cge);
    char* temp = nullptr;
    Status st = cuda_check(cudaMalloc(&temp, size_t(real_bytes + int64_t(kernel_.work) + 256)),
                           "cudaMalloc of set_weights()'s temporary planes");
    if (st == Status::kSuccess) {
      st = transform_kernels(weights, reinterpret_cast<float*>(temp), w, temp + real_bytes);
    }
    if (st == Status::kSuccess) {
      st = cuda_check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize after set_weights");
    }
    cudaFree(temp);
    if (st != Status::kSuccess && w != w_) cudaFree(w);
    if (st == Status::kSuccess) w_ = w;
    return st;
  }

 protected:
  Status run_on_device(const float* src, const float* weights, const float* bias, float* dst,
                       char* workspace) const override {
    const Geometry& g = geom();
    const Layout l = layout();
    float* real = reinterpret_cast<float*>(workspace + l.real);
    auto* x = reinterpret_cast<cufftComplex*>(workspace + l.x);
    auto* y = reinterpret_cast<cufftComplex*>(workspace + l.y);
    void* work = workspace + l.work;
    const cufftComplex* w = reinterpret_cast<const cufftComplex*>(w_);
    if (w == nullptr) {
      float* scratch = reinterpret_cast<float*>(workspace + l.w);
      MEC_TRY(transform_kernels(weights, real, scratch, work));
      w = reinterpret_cast<const cufftComplex*>(scratch);
    }
    const int64_t f = freqs(), t = b_.batch, c = b_.ce, cg = b_.cge;
    const cuComplex one{1.0f, 0.0f}, zero{0.0f, 0.0f};
    const cublasComputeType_t compute = tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    for (int64_t t0 = 0; t0 < b_.total; t0 += t) {
      FftBlock blk = b_;
      blk.t0 = t0;
      MEC_TRY(cuda_check(fft_gather_inputs(g, blk, src, real, stream()), "FFT input gather"));
      MEC_TRY(exec(
          forward_, [&] { return cufftExecR2C(forward_.h, real, x); }, work,
          "cufftExecR2C of the input tiles"));
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        // Column-major Y_f^T (kg x T, ld k) = conj(W_f) (kg x cg) * X_f^T
        // (cg x T, ld c): W_f's row-major [ko][ci] block read with OP_C.
        MEC_TRY(cublas_check(
            cublasGemmStridedBatchedEx(cublas(), CUBLAS_OP_C, CUBLAS_OP_N, int(g.kg), int(t),
                                       int(cg), &one, w + grp * g.kg * cg, CUDA_C_32F, int(cg),
                                       g.k * cg, x + grp * cg, CUDA_C_32F, int(c), t * c, &zero,
                                       y + grp * g.kg, CUDA_C_32F, int(g.k), t * g.k, int(f),
                                       compute, CUBLAS_GEMM_DEFAULT),
            "cublasGemmStridedBatchedEx (complex)"));
      }
      MEC_TRY(exec(
          inverse_, [&] { return cufftExecC2R(inverse_.h, y, real); }, work,
          "cufftExecC2R of the output tiles"));
      MEC_TRY(
          cuda_check(fft_scatter_outputs(g, blk, real, bias, dst, stream()), "FFT output scatter"));
    }
    return Status::kSuccess;
  }

 private:
  template <class Exec>
  Status exec(const FftHandle& plan, Exec run, void* work, const char* what) const {
    std::lock_guard<std::mutex> lock(mutex_);
    MEC_TRY(cufft_check(cufftSetWorkArea(plan.h, work), "cufftSetWorkArea"));
    return cufft_check(run(), what);
  }

  // W[f][ko][ci] (scaled by 1/(nh*nw)) from the weights, through `real`.
  Status transform_kernels(const float* weights, float* real, float* w, void* work) const {
    MEC_TRY(cuda_check(fft_gather_kernels(geom(), b_, weight_strides(desc()),
                                          1.0f / float(b_.nh * b_.nw), weights, real, stream()),
                       "FFT kernel gather"));
    return exec(
        kernel_, [&] { return cufftExecR2C(kernel_.h, real, reinterpret_cast<cufftComplex*>(w)); },
        work, "cufftExecR2C of the kernels");
  }

  const FftBlock b_;
  FftHandle forward_, inverse_, kernel_;
  float* w_ = nullptr;
  mutable std::mutex mutex_;
};

}  // namespace

Status create_fft(const Conv2dDesc& d, Algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl) {
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups;
  if (d.stride_h > kMaxStrideProduct || d.stride_w > kMaxStrideProduct ||
      d.stride_h * d.stride_w > kMaxStrideProduct) {
    return fail(Status::kUnsupported, "fft supports stride products up to %lld, got %lldx%lld",
                (long long)kMaxStrideProduct, (long long)d.stride_h, (long long)d.stride_w);
  }
  FftBlock b{};
  // Per axis: polyphase (u = stride) without dilation, else subsampling.
  b.uh = d.dilation_h == 1 ? d.stride_h : 1;
  b.uw = d.dilation_w == 1 ? d.stride_w : 1;
  b.vh = d.stride_h / b.uh;
  b.vw = d.stride_w / b.uw;
  int64_t cge;
  if (!checked_product({cg, b.uh, b.uw}, &cge) || !checked_product({cge, d.groups}, &b.ce)) {
    return fail(Status::kInvalidArgument, "fft channel count times the stride overflows");
  }
  b.cge = cge;
  const int64_t extent_h = b.uh > 1 ? (d.r + b.uh - 1) / b.uh : (d.r - 1) * d.dilation_h + 1;
  const int64_t extent_w = b.uw > 1 ? (d.s + b.uw - 1) / b.uw : (d.s - 1) * d.dilation_w + 1;
  if (extent_h > kMaxKernelExtent || extent_w > kMaxKernelExtent) {
    return fail(Status::kUnsupported,
                "fft supports kernel extents (dilation included, after the polyphase split) up to "
                "%lld, got %lldx%lld",
                (long long)kMaxKernelExtent, (long long)extent_h, (long long)extent_w);
  }
  const int64_t out_h = (d.p() - 1) * b.vh + 1, out_w = (d.q() - 1) * b.vw + 1;
  const cpu::FftTiling t = cpu::choose_fft_tiling(extent_h, extent_w, out_h, out_w, cge, kg);
  b.nh = t.nh;
  b.nw = t.nw;
  b.th = t.th;
  b.tw = t.tw;
  b.tiles_h = t.tiles_h;
  b.tiles_w = t.tiles_w;
  int64_t per_tile, bytes, kernel_bytes;
  const int64_t plane = t.nh * t.nw, freqs = t.nh * (t.nw / 2 + 1);
  if (!checked_product({d.n, t.tiles_h, t.tiles_w}, &b.total) ||
      !checked_product({4, plane + 2 * freqs, b.ce + d.k}, &per_tile) ||
      !checked_product({8 * plane, d.k, cge}, &kernel_bytes)) {
    return fail(Status::kInvalidArgument, "fft tile count overflows");
  }
  b.batch = std::min(b.total, std::max(kMinTiles, tile_block_bytes(context, kBlockMib) / per_tile));
  const int64_t blocks = (b.total + b.batch - 1) / b.batch;
  b.batch = (b.total + blocks - 1) / blocks;
  if (!checked_product({b.batch, per_tile}, &bytes) ||
      !checked_add(bytes, 2 * kernel_bytes + 4096, &bytes)) {
    return fail(Status::kInvalidArgument, "fft workspace overflows 64-bit bytes");
  }
  // cuBLAS's ints: the GEMM sizes, leading dimensions and batch.
  if (b.batch * std::max(b.ce, d.k) > INT_MAX || d.k * cge > INT_MAX || freqs > INT_MAX) {
    return fail(Status::kUnsupported, "fft GEMM dimensions exceed cuBLAS's 32-bit limit");
  }
  std::unique_ptr<FftPlan> plan(new FftPlan(d, context, b));
  MEC_TRY(cuda_check(cudaSetDevice(context.device_index()), "cudaSetDevice"));
  MEC_TRY(plan->make_ffts());
  *impl = std::move(plan);
  return Status::kSuccess;
}

}  // namespace cuda
}  // namespace mec
