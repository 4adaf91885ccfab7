// Shared by the FFT and Winograd tests: seeded random configurations
// restricted to what an algorithm claims, and the paper's layers.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "common/shape_string.h"
#include "conv_tester.h"
#include "random_desc.h"

namespace mec {
namespace testing {

// An error for RecordProperty, in scientific notation.
inline std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3e", v);
  return buf;
}

// A seeded random valid configuration (random_desc.h); `winograd` restricts
// it to 3x3, stride 1, dilation 1 (everything else stays random).
inline Conv2dDesc random_config(std::mt19937& rng, bool winograd) {
  return random_desc(rng, algos_random_desc_limits(winograd));
}

// The paper's layers cvFIRST..cvLAST (1-based) at the given batch.
inline std::vector<NamedShape> paper_layers(int first, int last, int64_t batch) {
  std::vector<NamedShape> shapes, out;
  std::string error;
  EXPECT_TRUE(read_shape_file(MEC_SOURCE_DIR "/bench/shapes/paper.txt", &shapes, &error)) << error;
  for (int i = first; i <= last && i <= int(shapes.size()); ++i) {
    out.push_back(shapes[i - 1]);
    out.back().desc.n = batch;
  }
  return out;
}

// Expects create() to refuse the shape with kUnsupported and a message.
inline void expect_unsupported(const Conv2dDesc& d, Algorithm algorithm) {
  std::unique_ptr<Conv2dPlan> plan;
  EXPECT_EQ(Conv2dPlan::create(d, algorithm, Context::cpu(1), &plan), Status::kUnsupported)
      << algorithm_name(algorithm) << " on " << describe(d);
  EXPECT_NE(std::string(last_error()), "");
  EXPECT_EQ(plan, nullptr);
}

}  // namespace testing
}  // namespace mec
