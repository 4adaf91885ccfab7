// Peer: oneDNN (Debian's libdnnl 2.6, C++ API), the forward pass (the
// backward ones: peer_onednn_backward.cc). Built only when CMake finds dnnl;
// the library mec never links it.
//
// Set up to be fair to oneDNN and comparable to our set_weights() path:
// src and dst are our NHWC buffers wrapped as user memory (format_tag::nhwc);
// the weights let the primitive pick its preferred layout (format_tag::any)
// and are reordered into it once, outside the timing (reported as
// persistent_bytes); the scratchpad is in user mode, allocated once by us
// and reported as workspace_bytes. Algorithm convolution_direct (no
// Winograd, which would change the numerics). Debian's libdnnl is built
// with OpenMP (DNNL_CPU_RUNTIME == OMP), so the thread count is OpenMP's,
// which main() sets to --threads for everything timed; checked here.
#include "peer_onednn.h"

#include <omp.h>

#include <unordered_map>

namespace mecbench {
namespace {

struct OnednnState {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::convolution_forward conv;
  dnnl::memory weights;
  std::unordered_map<int, dnnl::memory> args;
  AlignedBuffer scratch, dst;
};

}  // namespace

OnednnLayer onednn_layer(const mec::Conv2dDesc& d) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const memory::data_type f32 = memory::data_type::f32;
  const memory::dims weight_dims =
      d.groups == 1 ? memory::dims{d.k, d.c, d.r, d.s}
                    : memory::dims{d.groups, d.k / d.groups, d.c / d.groups, d.r, d.s};
  OnednnLayer l;
  l.src = memory::desc({d.n, d.c, d.h, d.w}, f32, tag::nhwc);
  l.dst = memory::desc({d.n, d.k, d.p(), d.q()}, f32, tag::nhwc);
  // Our HWIO is [r][s][c/g][k] with k = g * (k/g) + o: hwio, or hwigo with groups.
  l.user_weights = memory::desc(weight_dims, f32, d.groups == 1 ? tag::hwio : tag::hwigo);
  l.any_weights = memory::desc(weight_dims, f32, tag::any);
  l.bias = memory::desc({d.k}, f32, tag::x);
  l.strides = {d.stride_h, d.stride_w};
  l.dilates = {d.dilation_h - 1, d.dilation_w - 1};
  l.pad_l = {d.pad_top, d.pad_left};
  l.pad_r = {d.pad_bottom, d.pad_right};
  return l;
}

std::string onednn_execute(const char* what, const dnnl::primitive& primitive, dnnl::stream& stream,
                           const std::unordered_map<int, dnnl::memory>& args) {
  try {
    primitive.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    return std::string(what) + ": " + e.what();
  }
  return "";
}

void record_onednn_error(const dnnl::error& e, Record* r) {
  r->status = e.status == dnnl_unimplemented ? "unsupported" : "error";
  r->note = std::string("oneDNN: ") + e.what();
}

std::string onednn_thread_error(const Options& options) {
  return omp_get_max_threads() == options.threads ? "" : "OpenMP thread count is not --threads";
}

Runner prepare_onednn(const Problem& p, const Options& options) {
  using dnnl::memory;
  Runner runner;
  Record& r = runner.record;
  r = new_record(p, "onednn", options);
  const mec::Conv2dDesc& d = p.desc;
  r.note = onednn_thread_error(options);
  if (!r.note.empty()) {
    r.status = "error";
    return runner;
  }
  try {
    auto state = std::make_shared<OnednnState>();
    const dnnl::engine& engine = state->engine;
    const OnednnLayer l = onednn_layer(d);
    const memory::desc &src_md = l.src, &dst_md = l.dst, &bias_md = l.bias;
    dnnl::convolution_forward::desc conv_desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
        l.any_weights, bias_md, dst_md, l.strides, l.dilates, l.pad_l, l.pad_r);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc pd(conv_desc, attr, engine);
    r.variant = pd.impl_info_str();

    // Weights into the primitive's layout, once.
    memory user_weights(l.user_weights, engine, const_cast<float*>(p.weights.data()));
    state->weights = memory(pd.weights_desc(), engine);
    dnnl::reorder(user_weights, state->weights)
        .execute(state->stream, user_weights, state->weights);
    state->stream.wait();
    r.persistent_bytes = int64_t(pd.weights_desc().get_size());

    r.workspace_bytes = int64_t(pd.scratchpad_desc().get_size());
    state->scratch.reset(size_t(r.workspace_bytes));
    state->dst.reset(d.dst_elems() * sizeof(float));
    if (!state->scratch.ok() || !state->dst.ok()) {
      r.status = "error";
      r.note = "cannot allocate the scratchpad or dst";
      return runner;
    }
    state->args = {{DNNL_ARG_SRC, memory(src_md, engine, const_cast<float*>(p.src.data()))},
                   {DNNL_ARG_WEIGHTS, state->weights},
                   {DNNL_ARG_BIAS, memory(bias_md, engine, const_cast<float*>(p.bias.data()))},
                   {DNNL_ARG_DST, memory(dst_md, engine, state->dst.data())}};
    if (r.workspace_bytes > 0) {
      state->args[DNNL_ARG_SCRATCHPAD] =
          memory(pd.scratchpad_desc(), engine, state->scratch.data());
    }
    state->conv = dnnl::convolution_forward(pd);
    runner.dst = state->dst.floats();
    runner.run = [state]() {
      return onednn_execute("oneDNN", state->conv, state->stream, state->args);
    };
  } catch (const dnnl::error& e) {
    record_onednn_error(e, &r);
  }
  return runner;
}

}  // namespace mecbench
