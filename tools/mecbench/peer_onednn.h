// What mecbench's oneDNN peers share: a layer in oneDNN's terms (the memory
// descriptors of our NHWC activations, HWIO weights and bias, and the
// geometry), so the forward peer (peer_onednn.cc) and the backward one
// (peer_onednn_backward.cc) describe it the same way, and the check that
// oneDNN runs on --threads. Only compiled with MEC_HAVE_ONEDNN.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>

#include "bench.h"

namespace mecbench {

struct OnednnLayer {
  dnnl::memory::desc src, dst;                   // NHWC user memory (format_tag::nhwc)
  dnnl::memory::desc user_weights, any_weights;  // ours (hwio, hwigo with groups); tag::any
  dnnl::memory::desc bias;
  dnnl::memory::dims strides, dilates, pad_l, pad_r;  // dilates in oneDNN's terms: dilation - 1
};

OnednnLayer onednn_layer(const mec::Conv2dDesc& d);

// "" when OpenMP (Debian's libdnnl runtime) runs --threads threads, else why not.
std::string onednn_thread_error(const Options& options);

// Executes `primitive` on `args` and waits for `stream`: "" or "`what`: "
// and oneDNN's message (a runner's run() or unpack()).
std::string onednn_execute(const char* what, const dnnl::primitive& primitive, dnnl::stream& stream,
                           const std::unordered_map<int, dnnl::memory>& args);

// A oneDNN error while preparing a peer: its record's status and note.
void record_onednn_error(const dnnl::error& e, Record* r);

}  // namespace mecbench
