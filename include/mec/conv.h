// The 2-D convolution API: a descriptor, a context, and a plan that is built
// once per shape and run many times on caller-owned workspace.
//
// Layouts: src and dst are NHWC. Weights are HWIO (the paper's), OHWI or
// OIHW, where I is the channels of one group (c / groups) and O is k.
// All sizes are 64-bit; products are overflow-checked at plan creation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "mec/export.h"
#include "mec/status.h"

namespace mec {

enum class Algorithm {
  kAuto,        // the fastest within the context's workspace limit (Context::set_auto_mode)
  kDirect,      // nested loops, no workspace
  kIm2col,      // im2col lowering + one GEMM per group
  kMec,         // MEC, Solution A or B chosen by the threshold T
  kMecA,        // MEC Solution A: one GEMM per output row over all images
  kMecB,        // MEC Solution B: one GEMM per (image, output row)
  kFft,         // FFT (FFTW3), tiled overlap-save; any kernel; stride > 1 by subsampling
  kWinograd,    // Winograd F(2x2,3x3) or F(4x4,3x3), whichever needs fewer products
  kWinogradF2,  // Winograd F(2x2,3x3): 3x3 stride-1 dilation-1 only
  kWinogradF4,  // Winograd F(4x4,3x3): 3x3 stride-1 dilation-1 only (less accurate)
};

// "auto", "direct", "im2col", "mec", "mec_a", "mec_b", "fft", "winograd",
// "winograd_f2", "winograd_f4".
MEC_API const char* algorithm_name(Algorithm algorithm);
// Parses the names above; returns false for an unknown name.
MEC_API bool parse_algorithm(const char* name, Algorithm* algorithm);

// What a plan computes. The backward passes are those of training: given
// ddst, the gradient of a loss with respect to dst, they compute the
// gradients with respect to src and to the weights (and bias).
enum class Pass {
  kForward,          // dst = conv(src, weights) + bias                      (run)
  kBackwardData,     // dsrc = the transposed convolution of ddst            (run_backward_data)
  kBackwardWeights,  // dweights = src correlated with ddst, dbias = sum of ddst
                     //                                                      (run_backward_weights)
};

// "fwd", "bwd_data", "bwd_weights".
MEC_API const char* pass_name(Pass pass);
// Parses the names above; returns false for an unknown name.
MEC_API bool parse_pass(const char* name, Pass* pass);

enum class Device { kCpu, kCuda };

enum class FilterLayout { kHWIO, kOHWI, kOIHW };

// The GEMM engine under im2col and MEC on CPU. kFast: weights packed into
// panels, register-blocked micro-kernels that read MEC's L in place (AVX-512,
// AVX2 or portable, picked at plan creation; Context::set_cpu_isa caps the
// choice). kBlas: one CBLAS call per GEMM, the paper's setting. im2col
// always uses CBLAS.
enum class GemmEngine { kFast, kBlas };

// How kAuto ranks the algorithms and variants whose workspace fits the
// context's limit (Context::set_workspace_limit).
enum class AutoMode {
  // A cost model of the device, calibrated by measurement (docs/auto.md):
  // no run at plan creation.
  kModel,
  // Like cudnnFind: plan creation times every candidate on buffers it
  // allocates and frees itself (never the caller's), and remembers the
  // winner per (shape, limit, threads, device) in the context and its
  // copies, so the next plan of that key is made without timing.
  kMeasure,
};

// Tuning overrides: choices the library makes by itself, forced for
// benchmarking and tests (docs/design.md, "Tuning overrides", lists them
// with their environment variables). Each Context starts with the value
// its environment variable had when the process made its first Context
// (automatic where unset or unparsable); the Context's setter wins over
// the environment. Plans read them at creation.

// The fast GEMM engine's micro-kernels (CPU), as a cap: the best set this
// CPU runs that is not above it. kAuto: the best set this CPU runs.
// Environment: MEC_CPU_ISA=avx512|avx2|generic.
enum class CpuIsa { kAuto, kAvx512, kAvx2, kGeneric };

// The GEMMs of CUDA MEC's Solution B (docs/cuda.md).
// Environment: MEC_CUDA_GEMM=cublas|kernel.
enum class CudaGemm {
  kAuto,    // the rule picks MEC's own kernels or cuBLAS per shape
  kCublas,  // none of MEC's GEMM, shallow or grouped kernels: A by T, else B over cuBLAS
  kKernel,  // our GEMM kernel wherever it can run B (docs/cuda.md: fusable, not grouped)
};

// Whether CUDA kMec's kernels do the lowering in their copies, reading the
// windows from src (no L in the workspace). Environment: MEC_CUDA_FROM_SRC=0|1.
enum class CudaFromSrc {
  kAuto,            // where it pays (docs/cuda.md)
  kNever,           // L is always lowered, and the rule's from-src clauses are off (=0)
  kWhereverItFits,  // every kMec plan of the kernels whose windows they can follow (=1)
};

// The tile (m x n windows by columns) and K split of CUDA MEC's GEMM kernel.
// m == 0: the plan's choice. The kernel's shapes are 128x128, 128x96,
// 128x64, 64x64 and 32x64; another is ignored. A forced tile is not
// retiled; its m (64 or 128) also sets the shallow kernel's tile rows.
// splits > 0: that many K splits, else the plan's. Environment:
// MEC_CUDA_TILE=MxN or MxNxS.
struct CudaTile {
  int m = 0, n = 0, splits = 0;
};

struct MEC_API Conv2dDesc {
  int64_t n = 1, h = 1, w = 1, c = 1;  // src: n x h x w x c (NHWC)
  int64_t k = 1, r = 1, s = 1;         // k filters of r x s x (c / groups)
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
  FilterLayout filter_layout = FilterLayout::kHWIO;

  // Output height and width; meaningful only for a valid descriptor.
  int64_t p() const;
  int64_t q() const;
  // Element counts of src, weights and dst.
  int64_t src_elems() const { return n * h * w * c; }
  int64_t weight_elems() const { return k * r * s * (c / groups); }
  int64_t dst_elems() const { return n * p() * q() * k; }
  // Multiply-adds times two.
  double flops() const;
};

// Checks every field; on failure last_error() names the field.
MEC_API Status validate(const Conv2dDesc& desc);

namespace detail {
class PlanImpl;
struct CudaResources;  // src/cuda/cuda_context.h: stream, cuBLAS handle, ...
class AutoCache;       // src/common/auto_select.h: kAuto's measured winners
}  // namespace detail

// Execution resources and tunables. A CPU context holds the number of OpenMP
// threads that run() may use (0 means omp_get_max_threads(); at most 8 per
// processor, more are clamped) and MEC's
// threshold T: kMec picks Solution A when q <= T and |O| <= |L|, else B.
// The default T is measured per device (docs/algorithms.md, docs/cuda.md).
//
// A CUDA context (Context::cuda) holds a device index, a stream and the
// library handles, created once and shared by copies of the context. Plans
// made from it take device pointers, and run() only enqueues work on the
// stream: no allocation and no synchronisation.
//
// Every context, default-constructed ones included, starts with the tuning
// overrides of the environment (above).
class MEC_API Context {
 public:
  // A context for Context::cuda() to fill in; use Context::cpu() for CPU work.
  Context();
  static Context cpu(int threads = 0);
  // stream is a cudaStream_t (nullptr: the legacy default stream) on device
  // `device`. The first call loads the CUDA backend library (docs/design.md).
  // kUnsupported, with last_error() saying which, when this build has no
  // CUDA backend, when it or a CUDA library cannot be loaded, or when no GPU
  // is visible; kInvalidArgument for a device index that does not exist;
  // kBackendError (with the CUDA/cuBLAS message) if the handles fail.
  static Status cuda(Context* context, void* stream = nullptr, int device = 0);

  Device device() const { return device_; }
  int threads() const { return threads_; }
  int64_t mec_threshold() const { return mec_threshold_; }
  void set_mec_threshold(int64_t t) { mec_threshold_ = t; }
  // CPU, fast GEMM engine: MEC lowers `rows` output rows of one image at a
  // time per thread (at most p are used) instead of whole images, so its
  // workspace stops growing with the batch and the image height: in floats,
  //   rows < p:  min(threads, n * ceil(p / rows)) * groups * q *
  //              ((rows - 1) * stride_h + (r - 1) * dilation_h + 1) * s * c/groups
  //   rows >= p: threads * m * |L| / n when n >= threads (runs of
  //              m = clamp(ceil(256 / (p*q)), 1, max(1, n / (4*threads))) whole
  //              images per thread), else |L|
  // (docs/mec.md). 0 (the default): the paper's |L| = n*q*(h+pads)*s*c.
  // Negative: kInvalidArgument at plan creation; with the CBLAS engine or on
  // CUDA, kUnsupported. Read at plan creation.
  int64_t mec_band_rows() const { return mec_band_rows_; }
  void set_mec_band_rows(int64_t rows) { mec_band_rows_ = rows; }
  GemmEngine gemm_engine() const { return gemm_engine_; }
  void set_gemm_engine(GemmEngine engine) { gemm_engine_ = engine; }
  // CUDA only: let GEMMs use TF32 tensor-core math (10-bit mantissa
  // operands, fp32 accumulation). Off by default: strict fp32. Read at plan
  // creation.
  bool allow_tf32() const { return allow_tf32_; }
  void set_allow_tf32(bool allow) { allow_tf32_ = allow; }

  // Tuning overrides (above; automatic unless the environment or the
  // setter says otherwise). CPU, fast GEMM engine: the micro-kernels' cap.
  CpuIsa cpu_isa() const { return cpu_isa_; }
  void set_cpu_isa(CpuIsa cap) { cpu_isa_ = cap; }
  // CUDA MEC: Solution B's GEMMs, reading src, our GEMM kernel's tile.
  CudaGemm cuda_gemm() const { return cuda_gemm_; }
  void set_cuda_gemm(CudaGemm gemm) { cuda_gemm_ = gemm; }
  CudaFromSrc cuda_from_src() const { return cuda_from_src_; }
  void set_cuda_from_src(CudaFromSrc from_src) { cuda_from_src_ = from_src; }
  CudaTile cuda_tile() const { return cuda_tile_; }
  void set_cuda_tile(CudaTile tile) { cuda_tile_ = tile; }
  // CUDA fft and winograd: MiB of tile buffers per block (their block size
  // B). 0 (automatic): 256 MiB for fft, 128 for winograd; a value outside
  // 1 to 2^20 - 1 is automatic too. Environment: MEC_CUDA_BLOCK_MIB=N.
  int64_t cuda_block_mib() const { return cuda_block_mib_; }
  void set_cuda_block_mib(int64_t mib) { cuda_block_mib_ = mib; }

  // The most workspace a plan made from this context may need, in bytes
  // (Conv2dPlan::workspace_bytes() at creation). kAuto picks the fastest
  // candidate that fits; a named algorithm that needs more is
  // kInsufficientWorkspace, last_error() saying how many bytes it needs.
  // `direct` needs none, so every limit, 0 included, has a plan. Default:
  // no limit (SIZE_MAX). Plan memory for packed weights is not workspace:
  // it exists only after set_weights(), which is optional, and
  // Conv2dPlan::persistent_bytes() reports it; a caller that must bound it
  // passes raw weights to run() instead (the plan's workspace then covers
  // any per-run weight transform, within this limit). Read at plan creation.
  size_t workspace_limit() const { return workspace_limit_; }
  void set_workspace_limit(size_t bytes) { workspace_limit_ = bytes; }
  // How kAuto chooses (AutoMode). Default kModel. Read at plan creation.
  AutoMode auto_mode() const { return auto_mode_; }
  void set_auto_mode(AutoMode mode) { auto_mode_ = mode; }
  // kMeasure's remembered winners, shared by this context's copies.
  const std::shared_ptr<detail::AutoCache>& auto_cache() const { return auto_cache_; }

  int device_index() const { return device_index_; }
  void* stream() const { return stream_; }
  const std::shared_ptr<detail::CudaResources>& cuda_resources() const { return cuda_; }

 private:
  Device device_ = Device::kCpu;
  int threads_ = 1;
  int64_t mec_threshold_ = 0;
  int64_t mec_band_rows_ = 0;
  GemmEngine gemm_engine_ = GemmEngine::kFast;
  bool allow_tf32_ = false;
  CpuIsa cpu_isa_ = CpuIsa::kAuto;
  CudaGemm cuda_gemm_ = CudaGemm::kAuto;
  CudaFromSrc cuda_from_src_ = CudaFromSrc::kAuto;
  CudaTile cuda_tile_;
  int64_t cuda_block_mib_ = 0;
  size_t workspace_limit_ = SIZE_MAX;
  AutoMode auto_mode_ = AutoMode::kModel;
  std::shared_ptr<detail::AutoCache> auto_cache_;
  int device_index_ = 0;
  void* stream_ = nullptr;
  std::shared_ptr<detail::CudaResources> cuda_;
};

class MEC_API Conv2dPlan {
 public:
  // Builds a plan; kAuto and kMec are resolved here. All shape errors are
  // reported here, so run() only checks pointers and workspace size.
  static Status create(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                       std::unique_ptr<Conv2dPlan>* plan);
  // The same for any pass. Backward passes: CPU; algorithms direct, im2col
  // (col2im for the data gradient), mec, mec_a, mec_b and auto (others
  // kUnsupported); on CUDA kUnsupported.
  static Status create(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                       const Context& context, std::unique_ptr<Conv2dPlan>* plan);
  ~Conv2dPlan();

  const Conv2dDesc& desc() const;
  Pass pass() const;
  Algorithm algorithm() const;  // concrete: never kAuto or kMec
  // What the plan runs: lowercase tokens joined by '/', the first being
  // algorithm_name(algorithm()), the rest every choice made at plan creation
  // that changes the code that executes. Two plans of one descriptor with
  // equal strings run the same code path. Fixed at creation (set_weights()
  // does not change it) and valid for the plan's lifetime. Per algorithm:
  //   CPU   direct
  //         im2col/blas
  //         mec_a|mec_b/fast/ISA/SCHEDULE[/nt]       the fast GEMM engine:
  //           ISA       avx512, avx2 or generic (this CPU, capped by cpu_isa())
  //           SCHEDULE  bandsR: Context row bands of R output rows;
  //                     imagesM: a task lowers and multiplies M whole images;
  //                     images1/rowsB: one image a task, lowered B output rows
  //                     at a time; whole/splitRxC: L lowered whole, then the
  //                     GEMM split into R row by C column chunks
  //           nt        non-temporal stores of dst (run() keeps them to
  //                     64-byte aligned rows)
  //         mec_a|mec_b/blas/ISA[/reorder-l|/reorder-temp]   CBLAS (ISA: the
  //           lowering's copies); Solution A with n > 1 reorders its result
  //           through L's memory or a temporary of its own
  //         fft/NHxNW/blockT/shared|private   FFT size, tiles per block,
  //           blocks shared by all threads or one per thread
  //         winograd_f2|winograd_f4/blockT/shared|private
  //   CUDA  (MATH: fp32 or tf32, the arithmetic of the GEMMs)
  //         direct/fp32
  //         im2col/cublas/MATH
  //         mec_a/cublas-a[/reorder-l|/reorder-temp]/MATH
  //         mec_b/cublas-b/MATH   (tf32 where the shape allows it; run() falls
  //           back to fp32 when a pointer is not 16-byte aligned)
  //         mec_b/kernel-l/BMxBN/splitS/MATH             our GEMM kernel over L
  //         mec_b/kernel-src/pixels|runs/BMxBN/splitS/MATH   the same from src
  //         mec_b/shallow-l|shallow-src/rowsR/fp32       the shallow kernel
  //         mec_b/grouped/fp32                           the grouped kernel
  //         fft/NHxNW/polyUHxUW/blockT/MATH
  //         winograd_f2|winograd_f4/cublas/blockT/MATH
  // Not named: what run() decides from its arguments (copy and store
  // widths from pointer alignment; weights packed by set_weights() or raw),
  // which compiled clone of the direct and Winograd loops the loader picked
  // for this CPU, and the kernels CBLAS, FFTW, cuBLAS and cuFFT pick inside.
  const char* variant() const;

  // Optional: transforms `weights` once into plan-owned memory, in the form
  // the algorithm reads fastest (a copy, a layout repack, packed GEMM panels,
  // transformed kernels). The memory is allocated here, never in run(), and
  // reused by later calls; kOutOfMemory if it cannot be had. Afterwards run()
  // takes weights == nullptr and uses the packed ones. On CUDA, `weights` is
  // a device pointer, the packed copy lives in device memory, and this call
  // waits for the context's stream before returning. Not thread-safe
  // against concurrent run() calls on the same plan.
  Status set_weights(const float* weights);
  // Bytes the plan holds for packed weights (0 before set_weights()).
  size_t persistent_bytes() const;

  // Exact bytes of scratch memory run() needs in the plan's current state
  // (after set_weights() it excludes any per-run weight transform). run()
  // allocates nothing else.
  size_t workspace_bytes() const;

  // dst = conv(src, weights) + bias. bias may be null; weights must be null
  // after set_weights() and non-null before; workspace may be null only when
  // workspace_bytes() is 0. dst and the workspace must not overlap each
  // other, src, weights or bias (kInvalidArgument: no algorithm computes in
  // place). Thread-safe: one plan may run on several threads at once with
  // distinct dst and workspace buffers.
  Status run(const float* src, const float* weights, const float* bias, float* dst, void* workspace,
             size_t workspace_bytes) const;

  // Pass::kBackwardData: dsrc (n x h x w x c, every element written) from
  // ddst (n x p x q x k) and the weights (null after set_weights(), which
  // backward-data plans take too). Same workspace and overlap rules as run().
  Status run_backward_data(const float* ddst, const float* weights, float* dsrc, void* workspace,
                           size_t workspace_bytes) const;
  // Pass::kBackwardWeights: dweights (in desc().filter_layout, every element
  // written) from src and ddst, and dbias (k values) when it is not null.
  // Deterministic for a given thread count.
  Status run_backward_weights(const float* src, const float* ddst, float* dweights, float* dbias,
                              void* workspace, size_t workspace_bytes) const;

 private:
  struct Buffer;
  explicit Conv2dPlan(std::unique_ptr<detail::PlanImpl> impl);
  template <class Run>
  Status checked_run(Pass pass, const char* what, const Buffer* reads, int read_count,
                     const Buffer* writes, int write_count, void* workspace, size_t workspace_bytes,
                     Run run) const;
  std::unique_ptr<detail::PlanImpl> impl_;
};

// Convenience: creates a plan, allocates its workspace, runs it once and
// frees everything. For one-off calls and tests; code that convolves the same
// shape repeatedly should keep a plan and its workspace. Never aborts on a
// failed allocation: a workspace that cannot be had is kOutOfMemory (an
// impossible size is already kInvalidArgument from plan creation), with dst
// untouched. Pointers as for Conv2dPlan::run (weights required).
MEC_API Status conv2d(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                      const float* src, const float* weights, const float* bias, float* dst);

}  // namespace mec
