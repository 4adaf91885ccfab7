// MEC Solution B for shallow windows as one kernel (see mec_shallow.h).
// A block walks tiles of kTileRows consecutive output pixels m = (n, y, x);
// warp w copies windows w, w + 8, ... of the next tile from L into
// registers (lane = position in the window) while the tile before is
// multiplied, then into the other shared-memory buffer: one barrier per
// tile. Thread t multiplies for the output channel pair t % pairs and the
// windows t / pairs, t / pairs + slots, ..., two at a time.
#include <algorithm>

#include "common/checked.h"
#include "cuda/dependent_launch.cuh"
#include "cuda/mec_gemm.h"
#include "cuda/mec_shallow.h"

namespace mec {
namespace cuda {
namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kTileRows = 128;                    // windows per tile
constexpr int kRowsPerWarp = kTileRows / kWarps;  // windows each warp copies per tile
constexpr int kBlocksPerSm = 2;
constexpr int kRows =
    4;  // windows a thread multiplies at once (run 11: 2 left it waiting on its sums)

struct ShallowArgs {
  Windows win;  // the windows of L
  const float* weights;
  const float* bias;
  float* dst;
  int k;  // columns
  int tiles;
};

// kQuads: window depth rounded up to 4 floats, over 4 (1..8).
template <int kQuads>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm) mec_shallow_kernel(ShallowArgs a) {
  constexpr int kPitch = 4 * kQuads;  // floats per window in shared memory
  __shared__ float4 tiles_raw[2 * kTileRows * kQuads];
  float* const tiles = reinterpret_cast<float*>(tiles_raw);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int pairs = (a.k + 1) / 2, slots = kThreads / pairs;
  const int pair = tid % pairs, slot = tid / pairs, col = 2 * pair;

  // This thread's weights: two columns of the K x k HWIO matrix, zero past
  // K and k; and bias.
  float w0[kPitch], w1[kPitch];
#pragma unroll
  for (int kk = 0; kk < kPitch; ++kk) {
    const bool in = kk < a.win.depth && slot < slots;
    w0[kk] = in && col < a.k ? __ldg(a.weights + int64_t(kk) * a.k + col) : 0.0f;
    w1[kk] = in && col + 1 < a.k ? __ldg(a.weights + int64_t(kk) * a.k + col + 1) : 0.0f;
  }
  const float b0 = a.bias != nullptr && col < a.k ? __ldg(a.bias + col) : 0.0f;
  const float b1 = a.bias != nullptr && col + 1 < a.k ? __ldg(a.bias + col + 1) : 0.0f;
  wait_for_prerequisites();  // the lowering kernel's L (dependent_launch.cuh)

  // Copies window lane of rows warp + kWarps*i of tile `tile` into v. Lane
  // i < kRowsPerWarp finds row i's window in L (-1: past the last row) and
  // the warp shares the offsets, so the kRowsPerWarp loads are independent
  // (run 13: stepping one row's address from the last made a chain of
  // dependent instructions per tile).
  float v[kRowsPerWarp];
  auto fetch = [&](int tile) {
    const int64_t row_m = int64_t(tile) * kTileRows + warp + kWarps * lane;
    int64_t offset = -1;
    if (lane < kRowsPerWarp && row_m < a.win.m) {
      const int m = int(row_m), img = m / a.win.pq, rem = m - img * a.win.pq, y = rem / a.win.q;
      offset = (int64_t(img) * a.win.q + rem - y * a.win.q) * a.win.ld + y * a.win.ystep;
    }
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
      const int64_t row = __shfl_sync(0xffffffffu, offset, i);
      v[i] = row >= 0 && lane < a.win.depth ? __ldg(a.win.lowered + row + lane) : 0.0f;
    }
  };
  auto stage = [&](int buffer) {
    if (lane >= kPitch) return;
    float* dst = tiles + buffer * kTileRows * kPitch + warp * kPitch + lane;
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) dst[i * kWarps * kPitch] = v[i];
  };

  const bool vec_out = a.k % 2 == 0 && reinterpret_cast<uintptr_t>(a.dst) % 8 == 0;
  auto store = [&](int m, float o0, float o1) {
    if (m >= a.win.m || col >= a.k) return;
    float* out = a.dst + int64_t(m) * a.k + col;
    if (vec_out) {
      *reinterpret_cast<float2*>(out) = make_float2(o0, o1);
    } else {
      out[0] = o0;
      if (col + 1 < a.k) out[1] = o1;
    }
  };

  int tile = blockIdx.x, buffer = 0;
  if (tile < a.tiles) fetch(tile), stage(0);
  __syncthreads();
  for (; tile < a.tiles; tile += gridDim.x, buffer ^= 1) {
    if (tile + gridDim.x < a.tiles) fetch(tile + gridDim.x);  // in flight while multiplying
    const float* t = tiles + buffer * kTileRows * kPitch;
    if (slot < slots) {
      // kRows windows at a time (rows past the tile repeat its last row and
      // are not stored): 2 * kRows independent sums.
      for (int row = slot; row < kTileRows; row += kRows * slots) {
        int rows[kRows];
        float o0[kRows], o1[kRows];
#pragma unroll
        for (int u = 0; u < kRows; ++u) {
          rows[u] = min(row + u * slots, kTileRows - 1);
          o0[u] = b0, o1[u] = b1;
        }
#pragma unroll
        for (int qd = 0; qd < kQuads; ++qd) {
#pragma unroll
          for (int u = 0; u < kRows; ++u) {
            const float4 z = *reinterpret_cast<const float4*>(t + rows[u] * kPitch + 4 * qd);
            o0[u] = fmaf(z.x, w0[4 * qd], o0[u]), o1[u] = fmaf(z.x, w1[4 * qd], o1[u]);
            o0[u] = fmaf(z.y, w0[4 * qd + 1], o0[u]), o1[u] = fmaf(z.y, w1[4 * qd + 1], o1[u]);
            o0[u] = fmaf(z.z, w0[4 * qd + 2], o0[u]), o1[u] = fmaf(z.z, w1[4 * qd + 2], o1[u]);
            o0[u] = fmaf(z.w, w0[4 * qd + 3], o0[u]), o1[u] = fmaf(z.w, w1[4 * qd + 3], o1[u]);
          }
        }
        const int m0 = tile * kTileRows;
#pragma unroll
        for (int u = 0; u < kRows; ++u)
          if (row + u * slots < kTileRows) store(m0 + row + u * slots, o0[u], o1[u]);
      }
    }
    stage(buffer ^ 1);  // the other buffer was last read before the previous barrier
    __syncthreads();
  }
}

template <int kQuads>
cudaError_t launch(const ShallowArgs& a, int blocks, cudaStream_t stream) {
  return launch_dependent(mec_shallow_kernel<kQuads>, dim3(blocks), dim3(kThreads), 0, stream, a);
}

}  // namespace

cudaError_t mec_shallow(const Geometry& g, const float* lowered, const float* weights,
                        const float* bias, float* dst, int sms, cudaStream_t stream) {
  ShallowArgs a;
  a.win = windows(g, lowered);
  a.weights = weights;
  a.bias = bias;
  a.dst = dst;
  a.k = int(g.k);
  a.tiles = int(ceil_div(a.win.m, kTileRows));
  if (a.win.depth > kShallowMaxDepth || a.k > kShallowMaxChannels) return cudaErrorInvalidValue;
  const int blocks = int(std::min<int64_t>(a.tiles, int64_t(kBlocksPerSm) * sms));
  switch ((a.win.depth + 3) / 4) {
    case 1:
      return launch<1>(a, blocks, stream);
    case 2:
      return launch<2>(a, blocks, stream);
    case 3:
      return launch<3>(a, blocks, stream);
    case 4:
      return launch<4>(a, blocks, stream);
    case 5:
      return launch<5>(a, blocks, stream);
    case 6:
      return launch<6>(a, blocks, stream);
    case 7:
      return launch<7>(a, blocks, stream);
    default:
      return launch<8>(a, blocks, stream);
  }
}

}  // namespace cuda
}  // namespace mec
