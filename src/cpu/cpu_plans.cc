// CPU algorithm dispatch.
#include "cpu/cpu_plans.h"

#include "common/status_detail.h"

namespace mec {
namespace cpu {

Status create_plan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl) {
  switch (algorithm) {
    case Algorithm::kDirect:
      return create_direct(desc, context, impl);
    case Algorithm::kIm2col:
      return create_im2col(desc, context, impl);
    case Algorithm::kAuto:
    case Algorithm::kMec:
    case Algorithm::kMecA:
    case Algorithm::kMecB:
      return create_mec(desc, algorithm == Algorithm::kAuto ? Algorithm::kMec : algorithm, context,
                        impl);
    case Algorithm::kFft:
    case Algorithm::kWinograd:
      return fail(Status::kUnsupported, "algorithm %s is not implemented on CPU yet",
                  algorithm_name(algorithm));
  }
  return fail(Status::kInvalidArgument, "algorithm is not an Algorithm value");
}

}  // namespace cpu
}  // namespace mec
