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

// What a plan computes; a bit set per row. Forward only, for now.
enum PassBits : unsigned { kForwardPass = 1u };

// Makes a plan of `algorithm` (one of the values its row serves; kAuto and
// kMec are resolved by their factories).
using PlanFactory = Status (*)(const Conv2dDesc& desc, Algorithm algorithm, const Context& context,
                               std::unique_ptr<PlanImpl>* impl);

// X(value, name, passes, cpu factory, cuda factory); `nullptr` where a
// device lacks the algorithm.
#define MEC_ALGORITHM_ROWS(X)                                                   \
  X(kAuto, "auto", kForwardPass, create_auto, create_auto)                      \
  X(kDirect, "direct", kForwardPass, create_direct, create_direct)              \
  X(kIm2col, "im2col", kForwardPass, create_im2col, create_im2col)              \
  X(kMec, "mec", kForwardPass, create_mec, create_mec)                          \
  X(kMecA, "mec_a", kForwardPass, create_mec, create_mec)                       \
  X(kMecB, "mec_b", kForwardPass, create_mec, create_mec)                       \
  X(kFft, "fft", kForwardPass, create_fft, create_fft)                          \
  X(kWinograd, "winograd", kForwardPass, create_winograd, create_winograd)      \
  X(kWinogradF2, "winograd_f2", kForwardPass, create_winograd, create_winograd) \
  X(kWinogradF4, "winograd_f4", kForwardPass, create_winograd, create_winograd)

struct AlgorithmRow {
  Algorithm algorithm;
  const char* name;
  unsigned passes;
};

#define MEC_ALGORITHM_ROW(value, name, passes, cpu, cuda) {Algorithm::value, name, passes},
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

}  // namespace detail
}  // namespace mec
