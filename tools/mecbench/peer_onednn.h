// What mecbench's oneDNN peers share: a layer in oneDNN's terms (the memory
// descriptors of our NHWC activations, HWIO weights and bias, and the
// geometry), so the forward peer (peer_onednn.cc) and the backward one
// (peer_onednn_backward.cc) describe it the same way, and the check that
// oneDNN runs on --threads. Only compiled with MEC_HAVE_ONEDNN.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

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

}  // namespace mecbench
