// Internal: the CPU algorithms' factories. create_plan() finds the
// algorithm's in the registry's CPU column; kAuto and kMec are resolved by
// their factories.
#pragma once

#include <memory>

#include "common/plan_impl.h"

namespace mec {
namespace cpu {

Status create_plan(const Conv2dDesc& desc, Pass pass, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl);

// Every factory has the registry's signature (common/algorithm_registry.h);
// `algorithm` is one of the values its row serves.
Status create_auto(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl);
Status create_direct(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl);
// Depthwise (c == k == groups): direct's vector-over-channels path
// (depthwise.cc), which create_direct() takes for such descriptors.
bool is_depthwise(const Conv2dDesc& desc);
std::unique_ptr<detail::PlanImpl> create_depthwise(const Conv2dDesc& desc, int threads);
Status create_im2col(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl);
// algorithm is kMec, kMecA or kMecB.
Status create_mec(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl);

// FFT over FFTW3: any kernel, padding, dilation, groups; stride > 1 by
// subsampling the stride-1 result.
Status create_fft(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl);
// algorithm is kWinograd (resolved to F2 or F4 here), kWinogradF2 or
// kWinogradF4; 3x3 stride-1 dilation-1 only, else kUnsupported.
Status create_winograd(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                       std::unique_ptr<detail::PlanImpl>* impl);

// The backward passes (pass kBackwardData or kBackwardWeights), the
// registry's BackwardFactory: direct_backward.cc, im2col_backward.cc,
// mec_backward.cc; auto_cpu.cc.
Status create_auto_backward(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                            const Context& context, std::unique_ptr<detail::PlanImpl>* impl);
Status create_direct_backward(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                              const Context& context, std::unique_ptr<detail::PlanImpl>* impl);
Status create_im2col_backward(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                              const Context& context, std::unique_ptr<detail::PlanImpl>* impl);
Status create_mec_backward(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                           const Context& context, std::unique_ptr<detail::PlanImpl>* impl);

}  // namespace cpu
}  // namespace mec
