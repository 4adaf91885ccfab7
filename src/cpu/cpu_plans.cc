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
    case Algorithm::kAuto: {
      // MEC first; a shape it cannot plan (e.g. a BLAS leading dimension
      // beyond 32 bits) falls back to im2col, then to direct, which plans
      // every valid descriptor.
      Status st = create_mec(desc, Algorithm::kMec, context, impl);
      if (st == Status::kUnsupported) st = create_im2col(desc, context, impl);
      if (st == Status::kUnsupported) st = create_direct(desc, context, impl);
      return st;
    }
    case Algorithm::kMec:
    case Algorithm::kMecA:
    case Algorithm::kMecB:
      return create_mec(desc, algorithm, context, impl);
    case Algorithm::kFft:
      return create_fft(desc, context, impl);
    case Algorithm::kWinograd:
    case Algorithm::kWinogradF2:
    case Algorithm::kWinogradF4:
      return create_winograd(desc, algorithm, context, impl);
  }
  return fail(Status::kInvalidArgument, "algorithm is not an Algorithm value");
}

}  // namespace cpu
}  // namespace mec
