// Internal: the CPU algorithms' factories. create_plan() resolves kAuto and
// kMec and hands the descriptor to one of them.
#pragma once

#include <memory>

#include "common/plan_impl.h"

namespace mec {
namespace cpu {

Status create_plan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl);

Status create_direct(const Conv2dDesc& desc, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl);
Status create_im2col(const Conv2dDesc& desc, const Context& context,
                     std::unique_ptr<detail::PlanImpl>* impl);
// algorithm is kMec, kMecA or kMecB.
Status create_mec(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                  std::unique_ptr<detail::PlanImpl>* impl);

}  // namespace cpu
}  // namespace mec
