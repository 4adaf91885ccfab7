// The CPU column of the algorithm registry (common/algorithm_registry.h):
// each algorithm's factory (kAuto's is auto_cpu.cc).
#include "cpu/cpu_plans.h"

#include "common/algorithm_registry.h"

namespace mec {
namespace cpu {

Status create_plan(const Conv2dDesc& desc, Pass pass, Algorithm algorithm, const Context& context,
                   std::unique_ptr<detail::PlanImpl>* impl) {
  if (pass == Pass::kForward) {
#define MEC_CPU_FACTORY(value, name, passes, cpu, cuda, cpu_backward, cuda_backward) cpu,
    static constexpr detail::PlanFactory kFactories[] = {MEC_ALGORITHM_ROWS(MEC_CPU_FACTORY)};
#undef MEC_CPU_FACTORY
    return detail::create_from(kFactories, "the CPU", desc, algorithm, context, impl);
  }
#define MEC_CPU_BACKWARD(value, name, passes, cpu, cuda, cpu_backward, cuda_backward) cpu_backward,
  static constexpr detail::BackwardFactory kBackward[] = {MEC_ALGORITHM_ROWS(MEC_CPU_BACKWARD)};
#undef MEC_CPU_BACKWARD
  return detail::create_backward_from(kBackward, "the CPU", desc, pass, algorithm, context, impl);
}

}  // namespace cpu
}  // namespace mec
