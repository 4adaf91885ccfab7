// Peer: XNNPACK (Debian's 2022 snapshot) with pthreadpool. Built only when
// CMake finds both libraries; the library mec never links them.
//
// xnn_create_convolution2d_nhwc_f32 packs the weights at creation (the
// analogue of our set_weights()); xnn_setup_... builds the indirection
// buffer (pointers into src for every output pixel and kernel tap) for the
// given src/dst pointers; only xnn_run_operator is timed, on a pthreadpool
// of --threads threads.
//
// Memory is measured, not guessed: XNNPACK is initialized with a counting
// allocator, so persistent_bytes is what the operator holds after creation
// (packed weights, bias, zero buffer and the operator itself) and
// indirection_bytes is what setup allocates (the indirection buffer, whose
// size depends on the micro-kernel's tile that the API does not expose).
// workspace_bytes is 0: XNNPACK takes no caller scratch.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "bench.h"

namespace mecbench {
namespace {

struct CountingAllocator {
  std::mutex mutex;
  std::unordered_map<void*, size_t> sizes;
  int64_t live = 0;

  void* track(void* ptr, size_t size) {
    if (ptr) {
      std::lock_guard<std::mutex> lock(mutex);
      sizes[ptr] = size;
      live += int64_t(size);
    }
    return ptr;
  }
  void untrack(void* ptr) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = sizes.find(ptr);
    if (it == sizes.end()) return;
    live -= int64_t(it->second);
    sizes.erase(it);
  }
  int64_t live_bytes() {
    std::lock_guard<std::mutex> lock(mutex);
    return live;
  }
};

CountingAllocator& counter() {
  static CountingAllocator* c = new CountingAllocator;  // outlives XNNPACK
  return *c;
}

void* do_allocate(void*, size_t size) { return counter().track(std::malloc(size), size); }
void* do_reallocate(void*, void* ptr, size_t size) {
  if (ptr) counter().untrack(ptr);
  void* out = std::realloc(ptr, size);
  if (out == nullptr && ptr != nullptr) {  // the old block is still alive
    counter().track(ptr, 0);
    return nullptr;
  }
  return counter().track(out, size);
}
void do_deallocate(void*, void* ptr) {
  if (ptr) counter().untrack(ptr);
  std::free(ptr);
}
void* do_aligned_allocate(void*, size_t alignment, size_t size) {
  void* ptr = nullptr;
  if (posix_memalign(&ptr, alignment < sizeof(void*) ? sizeof(void*) : alignment, size) != 0) {
    return nullptr;
  }
  return counter().track(ptr, size);
}

const char* init_xnnpack() {
  static const xnn_allocator allocator = {nullptr,       do_allocate,         do_reallocate,
                                          do_deallocate, do_aligned_allocate, do_deallocate};
  static const xnn_status status = xnn_initialize(&allocator);
  return status == xnn_status_success ? nullptr : "xnn_initialize failed";
}

struct XnnpackState {
  std::unique_ptr<xnn_operator, xnn_status (*)(xnn_operator_t)> op{nullptr, xnn_delete_operator};
  std::unique_ptr<pthreadpool, void (*)(pthreadpool_t)> pool{nullptr, pthreadpool_destroy};
  AlignedBuffer dst;
};

std::string status_note(const char* what, xnn_status st) {
  return std::string("XNNPACK ") + what + " returned status " + std::to_string(int(st));
}

}  // namespace

Runner prepare_xnnpack(const Problem& p, const Options& options) {
  Runner runner;
  Record& r = runner.record;
  r = new_record(p, "xnnpack", options);
  const mec::Conv2dDesc& d = p.desc;
  if (const char* error = init_xnnpack()) {
    r.status = "error";
    r.note = error;
    return runner;
  }
  for (int64_t v : {d.pad_top, d.pad_bottom, d.pad_left, d.pad_right, d.r, d.s, d.stride_h,
                    d.stride_w, d.dilation_h, d.dilation_w, d.groups}) {
    if (v > int64_t(UINT32_MAX)) {
      r.status = "unsupported";
      r.note = "XNNPACK takes 32-bit kernel parameters";
      return runner;
    }
  }
  // XNNPACK's weights are [groups][k/g][r][s][c/g] (OHWI): transpose our HWIO.
  const int64_t cg = d.c / d.groups, kg = d.k / d.groups, taps = d.r * d.s;
  std::vector<float> ohwi(p.weights.size());
  for (int64_t t = 0; t < taps; ++t) {
    for (int64_t i = 0; i < cg; ++i) {
      for (int64_t o = 0; o < d.k; ++o) {
        ohwi[(o * taps + t) * cg + i] = p.weights[(t * cg + i) * d.k + o];
      }
    }
  }
  auto state = std::make_shared<XnnpackState>();
  const int64_t before_create = counter().live_bytes();
  xnn_operator_t op = nullptr;
  xnn_status st = xnn_create_convolution2d_nhwc_f32(
      uint32_t(d.pad_top), uint32_t(d.pad_right), uint32_t(d.pad_bottom), uint32_t(d.pad_left),
      uint32_t(d.r), uint32_t(d.s), uint32_t(d.stride_h), uint32_t(d.stride_w),
      uint32_t(d.dilation_h), uint32_t(d.dilation_w), uint32_t(d.groups), size_t(cg), size_t(kg),
      size_t(d.c), size_t(d.k), ohwi.data(), p.bias.data(), -INFINITY, INFINITY, 0, &op);
  if (st != xnn_status_success) {
    const bool cannot =
        st == xnn_status_invalid_parameter || st == xnn_status_unsupported_parameter;
    r.status = cannot ? "unsupported" : "error";
    r.note = status_note("create", st);
    return runner;
  }
  state->op.reset(op);
  r.persistent_bytes = counter().live_bytes() - before_create;
  state->pool.reset(pthreadpool_create(size_t(options.threads)));
  state->dst.reset(d.dst_elems() * sizeof(float));
  if (!state->pool || !state->dst.ok()) {
    r.status = "error";
    r.note = "cannot create the thread pool or dst";
    return runner;
  }
  const int64_t before_setup = counter().live_bytes();
  st = xnn_setup_convolution2d_nhwc_f32(op, size_t(d.n), size_t(d.h), size_t(d.w), p.src.data(),
                                        state->dst.floats(), state->pool.get());
  if (st != xnn_status_success) {
    r.status = st == xnn_status_unsupported_parameter ? "unsupported" : "error";
    r.note = status_note("setup", st);
    return runner;
  }
  r.indirection_bytes = counter().live_bytes() - before_setup;
  r.workspace_bytes = 0;
  runner.dst = state->dst.floats();
  runner.run = [state]() -> std::string {
    const xnn_status s = xnn_run_operator(state->op.get(), state->pool.get());
    return s == xnn_status_success ? "" : status_note("run", s);
  };
  return runner;
}

}  // namespace mecbench
