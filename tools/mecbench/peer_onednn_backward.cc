// Peer: oneDNN's backward passes (Debian's libdnnl 2.6), set up as its
// forward peer is (peer_onednn.cc): convolution_backward_data and
// convolution_backward_weights (convolution_direct), each created with a
// forward_training primitive_desc of the layer as the hint oneDNN asks for.
// ddst, dsrc and src are our NHWC buffers wrapped as user memory
// (format_tag::nhwc); the weights (backward data) and the weights gradient
// (backward weights) are in the primitive's preferred layout
// (format_tag::any). Backward data: the weights are reordered into it once,
// outside the timing (persistent_bytes), as our set_weights(). Backward
// weights: dweights is written in that layout and, when it is not our HWIO,
// reordered into HWIO once after the checked run for the check (untimed:
// the timed runs write oneDNN's layout, as ours write HWIO); dbias is user
// memory. The scratchpad is in user mode, allocated once by us and
// reported as workspace_bytes. Only the primitive's execute is timed.
#include <unordered_map>

#include "peer_onednn.h"

namespace mecbench {
namespace {

struct OnednnBackwardState {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::primitive primitive;
  dnnl::reorder unpack;  // backward weights: oneDNN's dweights layout to HWIO, when they differ
  dnnl::memory weights;  // backward data: in the primitive's layout
  dnnl::memory diff_weights, user_dweights;  // backward weights: the primitive's, ours (HWIO)
  std::unordered_map<int, dnnl::memory> args;
  AlignedBuffer scratch, out, dbias;
};

}  // namespace

Runner prepare_onednn_backward(const Problem& p, const Options& options) {
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
  const bool data = p.pass == mec::Pass::kBackwardData;
  try {
    auto state = std::make_shared<OnednnBackwardState>();
    const dnnl::engine& engine = state->engine;
    const OnednnLayer l = onednn_layer(d);
    const dnnl::algorithm direct = dnnl::algorithm::convolution_direct;
    const dnnl::convolution_forward::desc forward(dnnl::prop_kind::forward_training, direct, l.src,
                                                  l.any_weights, l.bias, l.dst, l.strides,
                                                  l.dilates, l.pad_l, l.pad_r);
    const dnnl::convolution_forward::primitive_desc hint(forward, engine);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    float* ddst = const_cast<float*>(p.ddst.data());
    memory::desc scratch_md;
    if (data) {
      const dnnl::convolution_backward_data::desc desc(direct, l.src, l.any_weights, l.dst,
                                                       l.strides, l.dilates, l.pad_l, l.pad_r);
      const dnnl::convolution_backward_data::primitive_desc pd(desc, attr, engine, hint);
      r.variant = pd.impl_info_str();
      // Weights into the primitive's layout, once.
      memory user_weights(l.user_weights, engine, const_cast<float*>(p.weights.data()));
      state->weights = memory(pd.weights_desc(), engine);
      dnnl::reorder(user_weights, state->weights)
          .execute(state->stream, user_weights, state->weights);
      state->stream.wait();
      r.persistent_bytes = int64_t(pd.weights_desc().get_size());
      scratch_md = pd.scratchpad_desc();
      state->out.reset(d.src_elems() * sizeof(float));
      if (!state->out.ok()) throw std::bad_alloc();
      state->args = {{DNNL_ARG_DIFF_DST, memory(l.dst, engine, ddst)},
                     {DNNL_ARG_WEIGHTS, state->weights},
                     {DNNL_ARG_DIFF_SRC, memory(l.src, engine, state->out.data())}};
      state->primitive = dnnl::convolution_backward_data(pd);
    } else {
      const dnnl::convolution_backward_weights::desc desc(
          direct, l.src, l.any_weights, l.bias, l.dst, l.strides, l.dilates, l.pad_l, l.pad_r);
      const dnnl::convolution_backward_weights::primitive_desc pd(desc, attr, engine, hint);
      r.variant = pd.impl_info_str();
      scratch_md = pd.scratchpad_desc();
      state->out.reset(d.weight_elems() * sizeof(float));
      state->dbias.reset(d.k * sizeof(float));
      if (!state->out.ok() || !state->dbias.ok()) throw std::bad_alloc();
      state->user_dweights = memory(l.user_weights, engine, state->out.data());
      if (pd.diff_weights_desc() == l.user_weights) {
        state->diff_weights = state->user_dweights;
      } else {
        state->diff_weights = memory(pd.diff_weights_desc(), engine);
        r.note = "dweights in oneDNN's layout, reordered to HWIO for the check (untimed)";
        state->unpack = dnnl::reorder(state->diff_weights, state->user_dweights);
        runner.unpack = [state]() {
          return onednn_execute(
              "oneDNN reorder of dweights", state->unpack, state->stream,
              {{DNNL_ARG_FROM, state->diff_weights}, {DNNL_ARG_TO, state->user_dweights}});
        };
      }
      state->args = {{DNNL_ARG_SRC, memory(l.src, engine, const_cast<float*>(p.src.data()))},
                     {DNNL_ARG_DIFF_DST, memory(l.dst, engine, ddst)},
                     {DNNL_ARG_DIFF_WEIGHTS, state->diff_weights},
                     {DNNL_ARG_DIFF_BIAS, memory(l.bias, engine, state->dbias.data())}};
      state->primitive = dnnl::convolution_backward_weights(pd);
      runner.dbias = state->dbias.floats();
    }
    r.workspace_bytes = int64_t(scratch_md.get_size());
    state->scratch.reset(size_t(r.workspace_bytes));
    if (!state->scratch.ok()) {
      r.status = "error";
      r.note = "cannot allocate the scratchpad";
      return runner;
    }
    if (r.workspace_bytes > 0) {
      state->args[DNNL_ARG_SCRATCHPAD] = memory(scratch_md, engine, state->scratch.data());
    }
    runner.dst = state->out.floats();
    runner.run = [state]() {
      return onednn_execute("oneDNN", state->primitive, state->stream, state->args);
    };
  } catch (const dnnl::error& e) {
    record_onednn_error(e, &r);
    runner.unpack = nullptr;
    runner.dbias = nullptr;
  }
  return runner;
}

}  // namespace mecbench
