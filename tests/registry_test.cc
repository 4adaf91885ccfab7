// The algorithm registry (src/common/algorithm_registry.h): every row has a
// distinct value and name that the public API round-trips, and a device
// whose column lacks an algorithm answers kUnsupported naming both, a value
// outside the enum kInvalidArgument.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/algorithm_registry.h"
#include "mec/mec.h"

namespace mec {
namespace {

TEST(Registry, RowsAreDistinctAndNamedByTheApi) {
  std::set<int> values;
  std::set<std::string> names;
  for (const detail::AlgorithmRow& row : detail::kAlgorithms) {
    EXPECT_TRUE(values.insert(int(row.algorithm)).second) << row.name;
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    EXPECT_STREQ(algorithm_name(row.algorithm), row.name);
    Algorithm parsed;
    ASSERT_TRUE(parse_algorithm(row.name, &parsed)) << row.name;
    EXPECT_EQ(parsed, row.algorithm);
    EXPECT_NE(row.passes & detail::kForwardPass, 0u) << row.name;
  }
  Algorithm parsed;
  EXPECT_FALSE(parse_algorithm("no_such_algorithm", &parsed));
  EXPECT_STREQ(algorithm_name(Algorithm(999)), "unknown");
}

int g_calls = 0;
Status counting_factory(const Conv2dDesc&, Algorithm, const Context&,
                        std::unique_ptr<detail::PlanImpl>*) {
  ++g_calls;
  return Status::kSuccess;
}

TEST(Registry, MissingColumnEntryIsUnsupported) {
  detail::PlanFactory factories[detail::kAlgorithmCount];
  for (auto& f : factories) f = counting_factory;
  size_t fft = 0;
  while (detail::kAlgorithms[fft].algorithm != Algorithm::kFft) ++fft;
  factories[fft] = nullptr;
  std::unique_ptr<detail::PlanImpl> impl;
  const Conv2dDesc d;
  const Context ctx = Context::cpu(1);
  g_calls = 0;
  EXPECT_EQ(detail::create_from(factories, "a test device", d, Algorithm::kFft, ctx, &impl),
            Status::kUnsupported);
  EXPECT_EQ(std::string(last_error()), "algorithm fft is not available on a test device");
  EXPECT_EQ(g_calls, 0);
  EXPECT_EQ(detail::create_from(factories, "a test device", d, Algorithm::kMecB, ctx, &impl),
            Status::kSuccess);
  EXPECT_EQ(g_calls, 1);
  EXPECT_EQ(detail::create_from(factories, "a test device", d, Algorithm(999), ctx, &impl),
            Status::kInvalidArgument);
  EXPECT_EQ(g_calls, 1);
}

}  // namespace
}  // namespace mec
