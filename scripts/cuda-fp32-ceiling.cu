// What fp32 rate this GPU sustains, to judge the MEC GEMM kernel against
// (docs/cuda.md, run 13): (1) a kernel of nothing but independent FFMAs
// in registers, the FMA pipe's ceiling at the clock the card holds under
// that load; (2) cuBLAS's SGEMM (strict fp32: CUBLAS_PEDANTIC_MATH) on a
// large square and on the im2col products of cv8, cv9 and cv10 at batch
// 32. Each timing is the median of 7 runs after a warm-up, by CUDA events.
// With an argument, only the SGEMM of that name runs (for a profiler).
// Build: nvcc -O3 -arch=sm_90 -o fp32-ceiling scripts/cuda-fp32-ceiling.cu -lcublas
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define CHECK(x)                                                    \
  do {                                                              \
    if ((x) != 0) {                                                 \
      std::fprintf(stderr, "%s failed at line %d\n", #x, __LINE__); \
      std::exit(1);                                                 \
    }                                                               \
  } while (0)

constexpr int kChains = 16;  // independent FFMA chains per thread

// Every thread runs kChains chains of `iters` dependent FFMAs; the result
// is stored so that nothing is folded away.
__global__ void ffma_kernel(float* out, float mul, float add, int iters) {
  float x[kChains];
#pragma unroll
  for (int i = 0; i < kChains; ++i) x[i] = threadIdx.x * 1e-3f + i;
  for (int it = 0; it < iters; ++it) {
#pragma unroll
    for (int i = 0; i < kChains; ++i) x[i] = fmaf(x[i], mul, add);
  }
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < kChains; ++i) s += x[i];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

// Median milliseconds of 7 runs of f after one warm-up.
template <typename F>
float median_ms(F f) {
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  f();
  std::vector<float> t;
  for (int r = 0; r < 7; ++r) {
    CHECK(cudaEventRecord(a));
    f();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// C[m x n] = A[m x k] * B[k x n], row-major, as cuBLAS's column-major
// C^T = B^T A^T.
void sgemm(cublasHandle_t h, int m, int n, int k, const char* name, const char* only) {
  if (only != nullptr && std::strcmp(only, name) != 0) return;
  float *a, *b, *c;
  CHECK(cudaMalloc(&a, size_t(m) * k * 4));
  CHECK(cudaMalloc(&b, size_t(k) * n * 4));
  CHECK(cudaMalloc(&c, size_t(m) * n * 4));
  CHECK(cudaMemset(a, 0, size_t(m) * k * 4));
  CHECK(cudaMemset(b, 0, size_t(k) * n * 4));
  const float one = 1.0f, zero = 0.0f;
  const float ms = median_ms([&] {
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, b, n, a, k, &zero, c, n));
  });
  std::printf("cublas_sgemm %-8s m %6d n %5d k %5d  %8.3f ms  %6.1f TFLOP/s\n", name, m, n, k, ms,
              2.0 * m * n * k / ms / 1e9);
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  CHECK(cudaFree(c));
}

int main(int argc, char** argv) {
  const char* only = argc > 1 ? argv[1] : nullptr;
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  int clock_khz = 0;
  CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0));
  const double peak = 2.0 * prop.multiProcessorCount * 128 * clock_khz * 1e3 / 1e12;
  std::printf("%s: %d SMs, max SM clock %.0f MHz: fp32 FFMA peak %.1f TFLOP/s\n", prop.name,
              prop.multiProcessorCount, clock_khz / 1e3, peak);

  const int threads = 256, blocks = prop.multiProcessorCount * 8, iters = 1 << 16;
  float* out;
  CHECK(cudaMalloc(&out, size_t(blocks) * threads * 4));
  for (int round = 0; round < (only ? 0 : 3); ++round) {
    const float ms =
        median_ms([&] { ffma_kernel<<<blocks, threads>>>(out, 0.999f, 1e-3f, iters); });
    const double flop = 2.0 * blocks * threads * kChains * double(iters);
    std::printf("ffma_only round %d  %8.3f ms  %6.1f TFLOP/s (%.0f%% of peak)\n", round, ms,
                flop / ms / 1e9, 100.0 * flop / ms / 1e9 / peak);
  }
  CHECK(cudaFree(out));

  cublasHandle_t h;
  CHECK(cublasCreate(&h));
  CHECK(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));
  sgemm(h, 8192, 8192, 8192, "square", only);
  sgemm(h, 32 * 110 * 110, 128, 576, "cv8", only);
  sgemm(h, 32 * 54 * 54, 64, 576, "cv9", only);
  sgemm(h, 32 * 26 * 26, 128, 1152, "cv10", only);
  CHECK(cublasDestroy(h));
  return 0;
}
