// Peer: oneDNN (Debian's libdnnl 2.6, C++ API). Built only when CMake finds
// dnnl; the library mec never links it.
//
// Set up to be fair to oneDNN and comparable to our set_weights() path:
// src and dst are our NHWC buffers wrapped as user memory (format_tag::nhwc);
// the weights let the primitive pick its preferred layout (format_tag::any)
// and are reordered into it once, outside the timing (reported as
// persistent_bytes); the scratchpad is in user mode, allocated once by us
// and reported as workspace_bytes. Algorithm convolution_direct (no
// Winograd, which would change the numerics). Debian's libdnnl is built
// with OpenMP (DNNL_CPU_RUNTIME == OMP), so the thread count is OpenMP's,
// set to --threads before the primitive is created and run.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench.h"

namespace mecbench {

Record run_onednn(const Problem& p, const Options& options) {
  using dnnl::memory;
  using tag = memory::format_tag;
  Record r = new_record(p, "onednn", options);
  const mec::Conv2dDesc& d = p.desc;
  omp_set_num_threads(options.threads);
  try {
    dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    dnnl::stream stream(engine);
    const memory::data_type f32 = memory::data_type::f32;
    const memory::dims src_dims = {d.n, d.c, d.h, d.w}, dst_dims = {d.n, d.k, d.p(), d.q()};
    const memory::dims weight_dims =
        d.groups == 1 ? memory::dims{d.k, d.c, d.r, d.s}
                      : memory::dims{d.groups, d.k / d.groups, d.c / d.groups, d.r, d.s};
    // Our HWIO is [r][s][c/g][k] with k = g * (k/g) + o: hwio, or hwigo with groups.
    const memory::desc user_weight_md(weight_dims, f32, d.groups == 1 ? tag::hwio : tag::hwigo);
    const memory::desc src_md(src_dims, f32, tag::nhwc), dst_md(dst_dims, f32, tag::nhwc);
    const memory::desc bias_md({d.k}, f32, tag::x);
    const memory::desc any_weight_md(weight_dims, f32, tag::any);

    dnnl::convolution_forward::desc conv_desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
        any_weight_md, bias_md, dst_md, {d.stride_h, d.stride_w},
        {d.dilation_h - 1, d.dilation_w - 1}, {d.pad_top, d.pad_left}, {d.pad_bottom, d.pad_right});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_forward::primitive_desc pd(conv_desc, attr, engine);
    r.variant = pd.impl_info_str();

    // Weights into the primitive's layout, once.
    memory user_weights(user_weight_md, engine, const_cast<float*>(p.weights.data()));
    memory weights(pd.weights_desc(), engine);
    dnnl::reorder(user_weights, weights).execute(stream, user_weights, weights);
    stream.wait();
    r.persistent_bytes = int64_t(pd.weights_desc().get_size());

    r.workspace_bytes = int64_t(pd.scratchpad_desc().get_size());
    AlignedBuffer scratch(size_t(r.workspace_bytes));
    AlignedBuffer dst(d.dst_elems() * sizeof(float));
    if (!scratch.ok() || !dst.ok()) {
      r.status = "error";
      r.note = "cannot allocate the scratchpad or dst";
      return r;
    }
    memory src_mem(src_md, engine, const_cast<float*>(p.src.data()));
    memory dst_mem(dst_md, engine, dst.data());
    memory bias_mem(bias_md, engine, const_cast<float*>(p.bias.data()));
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src_mem},
                                            {DNNL_ARG_WEIGHTS, weights},
                                            {DNNL_ARG_BIAS, bias_mem},
                                            {DNNL_ARG_DST, dst_mem}};
    if (r.workspace_bytes > 0) {
      args[DNNL_ARG_SCRATCHPAD] = memory(pd.scratchpad_desc(), engine, scratch.data());
    }
    dnnl::convolution_forward conv(pd);
    time_runs(
        p, options, dst.floats(),
        [&]() -> std::string {
          conv.execute(stream, args);
          stream.wait();
          return "";
        },
        &r);
  } catch (const dnnl::error& e) {
    r.status = e.status == dnnl_unimplemented ? "unsupported" : "error";
    r.note = std::string("oneDNN: ") + e.what();
  }
  return r;
}

}  // namespace mecbench
