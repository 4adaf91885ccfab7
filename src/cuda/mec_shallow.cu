// MEC Solution B for shallow windows as one kernel (see mec_shallow.h).
// A block walks tiles of kTileRows consecutive output pixels m = (n, y, x);
// warp w copies windows w, w + 8, ... of the next tile from L into
// registers (lane = position in the window) while the tile before is
// multiplied, then into the other shared-memory buffer: one barrier per
// tile. Thread t multiplies for the output channel pair t % pairs and the
// windows t / pairs, t / pairs + slots, ..., two at a time. With the
// lowering in the copies (kFromSrc) a lane finds its value of a
// window in src instead: a fixed offset from the window's first pixel, or
// zero where that falls in the padding.
#include <algorithm>
#include <climits>

#include "common/checked.h"
#include "cuda/dependent_launch.cuh"
#include "cuda/mec_gemm.h"
#include "cuda/mec_shallow.h"

namespace mec {
namespace cuda {
namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kRows = 4;  // windows a thread multiplies at once (with 2 it waits on its sums)

struct ShallowArgs {
  Windows win;    // the windows of L (kFromSrc: only m, depth, q, pq)
  SrcWindows in;  // kFromSrc: where they are in src
  const float* weights;
  const float* bias;
  float* dst;
  int k;  // columns
  int tiles;
};

// kQuads: window depth rounded up to 4 floats, over 4 (1..8). kFromSrc:
// the windows from src. kTileRows: windows per tile (64 or 128).
template <int kQuads, bool kFromSrc, int kTileRows>
__global__ void __launch_bounds__(kThreads, kShallowBlocksPerSm) mec_shallow_kernel(ShallowArgs a) {
  constexpr int kRowsPerWarp = kTileRows / kWarps;  // windows each warp copies per tile
  constexpr int kPitch = 4 * kQuads;                // floats per window in shared memory
  __shared__ float4 tiles_raw[2 * kTileRows * kQuads];
  float* const tiles = reinterpret_cast<float*>(tiles_raw);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int pairs = (a.k + 1) / 2, slots = kThreads / pairs;
  const int pair = tid % pairs, slot = tid / pairs, col = 2 * pair;
  // From src the weights may be the output of the kernel before (a repack).
  if constexpr (kFromSrc) wait_for_prerequisites();

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
  if constexpr (!kFromSrc) wait_for_prerequisites();  // the lowering kernel's L
  // kFromSrc: lane's value of a window is kernel row i, column j, channel
  // ci: dy rows and dx pixels from the window's first pixel, `off` floats.
  int dy = 0, dx = 0;
  int64_t off = 0;
  if constexpr (kFromSrc) {
    const int sc = a.in.s * a.in.c, i = lane / sc, j = (lane - i * sc) / a.in.c;
    dy = i * a.in.dilation_h, dx = j * a.in.dilation_w;
    off = (int64_t(dy) * a.in.w + dx) * a.in.c + lane - i * sc - j * a.in.c;
  }

  // Copies window lane of rows warp + kWarps*i of tile `tile` into v. Lane
  // i < kRowsPerWarp finds row i's window in L (-1: past the last row) and
  // the warp shares the offsets, so the kRowsPerWarp loads are independent
  // (stepping one row's address from the last would make a chain of
  // dependent instructions per tile).
  // kFromSrc: the lanes share the window's first pixel (y0, x0) and its
  // offset in src (y0 far outside: past the last row).
  float v[kRowsPerWarp];
  auto fetch = [&](int tile) {
    const int64_t row_m = int64_t(tile) * kTileRows + warp + kWarps * lane;
    int64_t offset = -1;
    int y0 = INT_MIN / 2, x0 = 0;
    if (lane < kRowsPerWarp && row_m < a.win.m) {
      const int m = int(row_m), img = m / a.win.pq, rem = m - img * a.win.pq, y = rem / a.win.q,
                x = rem - y * a.win.q;
      if constexpr (kFromSrc) {
        y0 = y * a.in.stride_h - a.in.pad_top, x0 = x * a.in.stride_w - a.in.pad_left;
        offset = ((int64_t(img) * a.in.h + y0) * a.in.w + x0) * a.in.c;
      } else {
        offset = (int64_t(img) * a.win.q + x) * a.win.ld + y * a.win.ystep;
      }
    }
#pragma unroll
    for (int i = 0; i < kRowsPerWarp; ++i) {
      const int64_t row = __shfl_sync(0xffffffffu, offset, i);
      if constexpr (kFromSrc) {
        const int yy = __shfl_sync(0xffffffffu, y0, i) + dy;
        const int xx = __shfl_sync(0xffffffffu, x0, i) + dx;
        const bool in = lane < a.win.depth && unsigned(yy) < unsigned(a.in.h) &&
                        unsigned(xx) < unsigned(a.in.w);
        v[i] = in ? __ldg(a.in.src + row + off) : 0.0f;
      } else {
        v[i] = row >= 0 && lane < a.win.depth ? __ldg(a.win.lowered + row + lane) : 0.0f;
      }
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

template <int kQuads, bool kFromSrc, int kTileRows>
cudaError_t launch(const ShallowArgs& a, int blocks, cudaStream_t stream) {
  return launch_dependent(mec_shallow_kernel<kQuads, kFromSrc, kTileRows>, dim3(blocks),
                          dim3(kThreads), 0, stream, a);
}

// The instance of a's window depth.
template <bool kFromSrc, int kTileRows>
cudaError_t launch_depth(const ShallowArgs& a, int blocks, cudaStream_t stream) {
  switch ((a.win.depth + 3) / 4) {
    case 1:
      return launch<1, kFromSrc, kTileRows>(a, blocks, stream);
    case 2:
      return launch<2, kFromSrc, kTileRows>(a, blocks, stream);
    case 3:
      return launch<3, kFromSrc, kTileRows>(a, blocks, stream);
    case 4:
      return launch<4, kFromSrc, kTileRows>(a, blocks, stream);
    case 5:
      return launch<5, kFromSrc, kTileRows>(a, blocks, stream);
    case 6:
      return launch<6, kFromSrc, kTileRows>(a, blocks, stream);
    case 7:
      return launch<7, kFromSrc, kTileRows>(a, blocks, stream);
    default:
      return launch<8, kFromSrc, kTileRows>(a, blocks, stream);
  }
}

template <bool kFromSrc>
cudaError_t launch_rows(const ShallowArgs& a, int tile_rows, int blocks, cudaStream_t stream) {
  return tile_rows == 64 ? launch_depth<kFromSrc, 64>(a, blocks, stream)
                         : launch_depth<kFromSrc, 128>(a, blocks, stream);
}

// Either source: lowered (L) or src, the other null.
cudaError_t shallow(const Geometry& g, const float* lowered, const float* src, const float* weights,
                    const float* bias, float* dst, int tile_rows, int sms, cudaStream_t stream) {
  ShallowArgs a;
  a.win = windows(g, lowered);
  a.in = src_windows(g, src);
  a.weights = weights;
  a.bias = bias;
  a.dst = dst;
  a.k = int(g.k);
  if (a.win.depth > kShallowMaxDepth || a.k > kShallowMaxChannels) return cudaErrorInvalidValue;
  if (tile_rows != 64 && tile_rows != 128) return cudaErrorInvalidValue;
  a.tiles = int(ceil_div(a.win.m, tile_rows));
  const int blocks = int(std::min<int64_t>(a.tiles, int64_t(kShallowBlocksPerSm) * sms));
  return src != nullptr ? launch_rows<true>(a, tile_rows, blocks, stream)
                        : launch_rows<false>(a, tile_rows, blocks, stream);
}

}  // namespace

cudaError_t mec_shallow(const Geometry& g, const float* lowered, const float* weights,
                        const float* bias, float* dst, int tile_rows, int sms,
                        cudaStream_t stream) {
  return shallow(g, lowered, nullptr, weights, bias, dst, tile_rows, sms, stream);
}

cudaError_t mec_shallow_src(const Geometry& g, const float* src, const float* weights,
                            const float* bias, float* dst, int tile_rows, int sms,
                            cudaStream_t stream) {
  if (g.groups != 1) return cudaErrorInvalidValue;
  return shallow(g, nullptr, src, weights, bias, dst, tile_rows, sms, stream);
}

}  // namespace cuda
}  // namespace mec
