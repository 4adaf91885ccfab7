// Every Algorithm value the library knows, found by probing algorithm_name()
// instead of listing them, so that the reliability tests and the fuzzer
// cover each new algorithm as soon as it is added to the enum and its name
// table. Algorithms a device cannot do are skipped where create() says
// kUnsupported, never by name.
#pragma once

#include <cstring>
#include <memory>
#include <vector>

#include "mec/mec.h"

namespace mec {
namespace testing {

// Every named Algorithm value, kAuto and kMec included.
inline std::vector<Algorithm> all_algorithms() {
  std::vector<Algorithm> out;
  for (int i = 0; i < 256; ++i) {
    const Algorithm a = static_cast<Algorithm>(i);
    if (std::strcmp(algorithm_name(a), "unknown") != 0) out.push_back(a);
  }
  return out;
}

// The algorithms of all_algorithms() that create a plan for `desc` in
// `context` (those answering kUnsupported are left out).
inline std::vector<Algorithm> supported_algorithms(const Conv2dDesc& desc, const Context& context) {
  std::vector<Algorithm> out;
  for (Algorithm a : all_algorithms()) {
    std::unique_ptr<Conv2dPlan> plan;
    if (Conv2dPlan::create(desc, a, context, &plan) == Status::kSuccess) out.push_back(a);
  }
  return out;
}

}  // namespace testing
}  // namespace mec
