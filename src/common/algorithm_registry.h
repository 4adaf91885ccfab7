// Internal: the one list of algorithms. Each row names an Algorithm, the name
// the API and the command line use, the passes it serves and its factory on
// each device (none where the device does not have it: kUnsupported). The
// API's names (algorithm_name, parse_algorithm), both devices' dispatch and,
// through algorithm_name(), the tests, the fuzzer and mecbench read it, so
// adding an algorithm is its implementation file plus one row here.
//
// The rows are an X-macro because the two devices' factories live in two
// libraries: libmec expands the CPU column (src/cpu/cpu_plans.cc), the CUDA
// backend the CUDA column (src/cuda/cuda_plans.cc), and neither names the
// other's functions.
#pragma once

#include <memory>

#include "common/plan_impl.h"
#include "common/status_detail.h"
#include "mec/conv.h"

namespace mec {
namespace detail {

// The passes a row serves (Pass), as bits.
enum PassBits : unsigned {
  kForwardPass = 1u,
  kBackwardDataPass = 2u,
  kBackwardWeightsPass = 4u,
  kAllPasses = 7u,
};
inline unsigned pass_bit(Pass pass) { return 1u << unsigned(pass); }

// Makes a forward plan of `algorithm` (one of the values its row serves;
// kAuto and kMec are resolved by their factories).
using PlanFactory = Status (*)(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                               std::unique_ptr<PlanImpl>* impl);
// Makes a backward plan (pass kBackwardData or kBackwardWeights).
using BackwardFactory = Status (*)(const Conv2dDesc& desc, Pass pass, Algorithm algorithm,
                                   const Context& context, std::unique_ptr<PlanImpl>* impl);

// X(value, name, passes, cpu factory, cuda factory, cpu backward factory,
//   cuda backward factory); `nullptr` where a device lacks the algorithm or
// its backward passes (Conv2dPlan::create answers kUnsupported).
#define MEC_ALGORITHM_ROWS(X)                                                                     \
  X(kAuto, "auto", kAllPasses, create_auto, create_auto, create_auto_backward,                    \
    create_auto_backward)                                                                         \
  X(kDirect, "direct", kAllPasses, create_direct, create_direct, create_direct_backward,          \
    create_direct_backward)                                                                       \
  X(kIm2col, "im2col", kAllPasses, create_im2col, create_im2col, create_im2col_backward,          \
    create_im2col_backward)                                                                       \
  X(kMec, "mec", kAllPasses, create_mec, create_mec, create_mec_backward, create_mec_backward)    \
  X(kMecA, "mec_a", kAllPasses, create_mec, create_mec, create_mec_backward, create_mec_backward) \
  X(kMecB, "mec_b", kAllPasses, create_mec, create_mec, create_mec_backward, create_mec_backward) \
  X(kFft, "fft", kForwardPass, create_fft, create_fft, nullptr, nullptr)                          \
  X(kWinograd, "winograd", kForwardPass, create_winograd, create_winograd, nullptr, nullptr)      \
  X(kWinogradF2, "winograd_f2", kForwardPass, create_winograd, create_winograd, nullptr, nullptr) \
  X(kWinogradF4, "winograd_f4", kForwardPass, create_winograd, create_winograd, nullptr, nullptr)

struct AlgorithmRow {
  Algorithm algorithm;
  const char* name;
  unsigned passes;
};

#define MEC_ALGORITHM_ROW(value, name, passes, cpu, cuda, cpu_backward, cuda_backward) \
  {Algorithm::value, name, passes},
inline constexpr AlgorithmRow kAlgorithms[] = {MEC_ALGORITHM_ROWS(MEC_ALGORITHM_ROW)};
#undef MEC_ALGORITHM_ROW

// The row of `algorithm`, or null for a value outside the enum.
inline const AlgorithmRow* find_algorithm(Algorithm algorithm) {
  for (const AlgorithmRow& row : kAlgorithms) {
    if (row.algorithm == algorithm) return &row;
  }
  return nullptr;
}

constexpr size_t kAlgorithmCount = sizeof(kAlgorithms) / sizeof(kAlgorithms[0]);

// Dispatch for one device: calls the factory of `algorithm` in `factories`
// (the device's column, in kAlgorithms' order); kUnsupported where the
// device lacks it, kInvalidArgument for a value outside the enum.
inline Status create_from(const PlanFactory (&factories)[kAlgorithmCount], const char* device,
                          const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                          std::unique_ptr<PlanImpl>* impl) {
  for (size_t i = 0; i < kAlgorithmCount; ++i) {
    if (kAlgorithms[i].algorithm != algorithm) continue;
    if (factories[i] == nullptr) {
      return fail(Status::kUnsupported, "algorithm %s is not available on %s", kAlgorithms[i].name,
                  device);
    }
    return factories[i](desc, algorithm, context, impl);
  }
  return fail(Status::kInvalidArgument, "algorithm is not an Algorithm value (%d)", int(algorithm));
}

// The same for a backward pass: kUnsupported where the row does not serve
// it or the device has no factory for it.
inline Status create_backward_from(const BackwardFactory (&factories)[kAlgorithmCount],
                                   const char* device, const Conv2dDesc& desc, Pass pass,
                                   Algorithm algorithm, const Context& context,
                                   std::unique_ptr<PlanImpl>* impl) {
  for (size_t i = 0; i < kAlgorithmCount; ++i) {
    if (kAlgorithms[i].algorithm != algorithm) continue;
    if (factories[i] == nullptr || (kAlgorithms[i].passes & pass_bit(pass)) == 0) {
      return fail(Status::kUnsupported, "algorithm %s has no %s pass on %s", kAlgorithms[i].name,
                  pass_name(pass), device);
    }
    return factories[i](desc, pass, algorithm, context, impl);
  }
  return fail(Status::kInvalidArgument, "algorithm is not an Algorithm value (%d)", int(algorithm));
}

}  // namespace detail
}  // namespace mec
