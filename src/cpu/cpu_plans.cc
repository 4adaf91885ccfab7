// The CPU column of the algorithm registry (common/algorithm_registry.h):
// each algorithm's factory, and kAuto's fallback chain.
#include "cpu/cpu_plans.h"

#include "common/algorithm_registry.h"

namespace mec {
namespace cpu {

Status create_auto(const Conv2dDesc& desc, Algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl) {
  // MEC first; a shape it cannot plan (e.g. a BLAS leading dimension beyond
  // 32 bits) falls back to im2col, then to direct, which plans every valid
  // descriptor.
  Status st = create_mec(desc, Algorithm::kMec, context, impl);
  if (st == Status::kUnsupported) st = create_im2col(desc, Algorithm::kIm2col, context, impl);
  if (st == Status::kUnsupported) st = create_direct(desc, Algorithm::kDirect, context, impl);
  return st;
}

Status create_plan(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl) {
#define MEC_CPU_FACTORY(value, name, passes, cpu, cuda) cpu,
  static constexpr detail::PlanFactory kFactories[] = {MEC_ALGORITHM_ROWS(MEC_CPU_FACTORY)};
#undef MEC_CPU_FACTORY
  return detail::create_from(kFactories, "the CPU", desc, algorithm, context, impl);
}

}  // namespace cpu
}  // namespace mec
