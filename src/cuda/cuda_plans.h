// Internal: the CUDA algorithms' factories, called by Conv2dPlan::create for
// a CUDA context. Nothing here needs CUDA headers, so src/common can include
// it. create_plan() resolves kAuto and kMec.
#pragma once

#include <memory>

#include "common/plan_impl.h"

namespace mec {
namespace cuda {

Status create_plan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl);
// Any pass: the forward factories or the backward ones (the registry's
// CUDA backward column).
Status create_any_plan(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                       const Context& context, std::unique_ptr<detail::PlanImpl>* impl);

// Every factory has the registry's signature (common/algorithm_registry.h);
// `algorithm` is one of the values its row serves.
Status create_auto(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl);
Status create_direct(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl);
Status create_im2col(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl);
// algorithm is kMec, kMecA or kMecB.
Status create_mec(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl);
// algorithm is kWinograd, kWinogradF2 or kWinogradF4.
Status create_winograd(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                       std::unique_ptr<detail::PlanImpl>* impl);
Status create_fft(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl);

// The backward passes (pass kBackwardData or kBackwardWeights;
// backward_plan.h): the registry's backward signature.
Status create_auto_backward(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                            const Context& context, std::unique_ptr<detail::PlanImpl>* impl);
Status create_direct_backward(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                              const Context& context, std::unique_ptr<detail::PlanImpl>* impl);
Status create_im2col_backward(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                              const Context& context, std::unique_ptr<detail::PlanImpl>* impl);
Status create_mec_backward(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                           const Context& context, std::unique_ptr<detail::PlanImpl>* impl);

}  // namespace cuda
}  // namespace mec
