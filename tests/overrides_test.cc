// The tuning overrides (include/mec/conv.h, docs/design.md "Tuning
// overrides"): the parser of their environment variables on every value it
// accepts and on values it ignores, and - in this process, which ctest
// starts with the variables set (tests/CMakeLists.txt), as a user's shell
// would - that every new Context takes the environment's values as its
// defaults, that its setters win over them, that plans follow the
// context, and that the environment is read once, at the first Context.
#include "common/overrides.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "mec/mec.h"

namespace mec {
namespace {

// What tests/CMakeLists.txt puts in this test's environment.
constexpr const char* kEnvironment[][2] = {
    {"MEC_CPU_ISA", "generic"},   {"MEC_CUDA_GEMM", "cublas"},    {"MEC_CUDA_FROM_SRC", "0"},
    {"MEC_CUDA_TILE", "64x64x3"}, {"MEC_CUDA_BLOCK_MIB", "lots"},  // unparsable: ignored
};

// parse_overrides() over a table of variables (the others unset).
detail::Overrides parse(const std::map<std::string, std::string>& vars) {
  return detail::parse_overrides([&vars](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

bool same_tile(CudaTile a, CudaTile b) { return a.m == b.m && a.n == b.n && a.splits == b.splits; }

TEST(OverridesParser, NothingSetIsAutomatic) {
  const detail::Overrides o = parse({});
  EXPECT_EQ(o.cpu_isa, CpuIsa::kAuto);
  EXPECT_EQ(o.cuda_gemm, CudaGemm::kAuto);
  EXPECT_EQ(o.cuda_from_src, CudaFromSrc::kAuto);
  EXPECT_TRUE(same_tile(o.cuda_tile, {}));
  EXPECT_EQ(o.cuda_block_mib, 0);
}

TEST(OverridesParser, EveryAcceptedValue) {
  EXPECT_EQ(parse({{"MEC_CPU_ISA", "avx512"}}).cpu_isa, CpuIsa::kAvx512);
  EXPECT_EQ(parse({{"MEC_CPU_ISA", "avx2"}}).cpu_isa, CpuIsa::kAvx2);
  EXPECT_EQ(parse({{"MEC_CPU_ISA", "generic"}}).cpu_isa, CpuIsa::kGeneric);
  EXPECT_EQ(parse({{"MEC_CUDA_GEMM", "cublas"}}).cuda_gemm, CudaGemm::kCublas);
  EXPECT_EQ(parse({{"MEC_CUDA_GEMM", "kernel"}}).cuda_gemm, CudaGemm::kKernel);
  EXPECT_EQ(parse({{"MEC_CUDA_FROM_SRC", "0"}}).cuda_from_src, CudaFromSrc::kNever);
  EXPECT_EQ(parse({{"MEC_CUDA_FROM_SRC", "1"}}).cuda_from_src, CudaFromSrc::kWhereverItFits);
  EXPECT_TRUE(same_tile(parse({{"MEC_CUDA_TILE", "128x96"}}).cuda_tile, {128, 96, 0}));
  EXPECT_TRUE(same_tile(parse({{"MEC_CUDA_TILE", "64x64x13"}}).cuda_tile, {64, 64, 13}));
  EXPECT_EQ(parse({{"MEC_CUDA_BLOCK_MIB", "1"}}).cuda_block_mib, 1);
  EXPECT_EQ(parse({{"MEC_CUDA_BLOCK_MIB", "1048575"}}).cuda_block_mib, 1048575);
  // All at once, each into its own field.
  const detail::Overrides o = parse({{"MEC_CPU_ISA", "avx2"},
                                     {"MEC_CUDA_GEMM", "kernel"},
                                     {"MEC_CUDA_FROM_SRC", "1"},
                                     {"MEC_CUDA_TILE", "32x64x2"},
                                     {"MEC_CUDA_BLOCK_MIB", "64"}});
  EXPECT_EQ(o.cpu_isa, CpuIsa::kAvx2);
  EXPECT_EQ(o.cuda_gemm, CudaGemm::kKernel);
  EXPECT_EQ(o.cuda_from_src, CudaFromSrc::kWhereverItFits);
  EXPECT_TRUE(same_tile(o.cuda_tile, {32, 64, 2}));
  EXPECT_EQ(o.cuda_block_mib, 64);
}

TEST(OverridesParser, UnparsableOrEmptyValuesAreIgnored) {
  for (const char* v : {"", "AVX2", "avx", "sse", " avx2", "avx2 ", "1"}) {
    EXPECT_EQ(parse({{"MEC_CPU_ISA", v}}).cpu_isa, CpuIsa::kAuto) << "'" << v << "'";
  }
  for (const char* v : {"", "cuBLAS", "kernels", "auto"}) {
    EXPECT_EQ(parse({{"MEC_CUDA_GEMM", v}}).cuda_gemm, CudaGemm::kAuto) << "'" << v << "'";
  }
  for (const char* v : {"", "2", "yes", "00", "-1", "1 "}) {
    EXPECT_EQ(parse({{"MEC_CUDA_FROM_SRC", v}}).cuda_from_src, CudaFromSrc::kAuto)
        << "'" << v << "'";
  }
  for (const char* v : {"", "128", "128x", "x64", "128x64x", "128x64x3x1", "0x64", "128x0",
                        "-64x64", "+64x64", "64X64", " 64x64", "64x64 ", "12345678x64"}) {
    EXPECT_TRUE(same_tile(parse({{"MEC_CUDA_TILE", v}}).cuda_tile, {})) << "'" << v << "'";
  }
  for (const char* v : {"", "0", "-5", "lots", "12abc", "1048576", "99999999", " 8"}) {
    EXPECT_EQ(parse({{"MEC_CUDA_BLOCK_MIB", v}}).cuda_block_mib, 0) << "'" << v << "'";
  }
}

// This process runs with kEnvironment set: without it the tests below
// prove nothing, so they fail rather than pass by accident.
void expect_test_environment() {
  for (const auto& var : kEnvironment) {
    const char* v = std::getenv(var[0]);
    ASSERT_TRUE(v != nullptr && std::strcmp(v, var[1]) == 0)
        << var[0] << " is not '" << var[1] << "': run this test through ctest, which sets "
        << "its environment (tests/CMakeLists.txt)";
  }
}

void expect_environment_defaults(const Context& ctx) {
  EXPECT_EQ(ctx.cpu_isa(), CpuIsa::kGeneric);
  EXPECT_EQ(ctx.cuda_gemm(), CudaGemm::kCublas);
  EXPECT_EQ(ctx.cuda_from_src(), CudaFromSrc::kNever);
  EXPECT_TRUE(same_tile(ctx.cuda_tile(), {64, 64, 3}));
  EXPECT_EQ(ctx.cuda_block_mib(), 0);  // "lots" is ignored
}

std::string variant(const Conv2dDesc& d, Algorithm a, const Context& ctx) {
  std::unique_ptr<Conv2dPlan> plan;
  EXPECT_EQ(Conv2dPlan::create(d, a, ctx, &plan), Status::kSuccess) << last_error();
  return plan ? plan->variant() : "";
}

Conv2dDesc small_layer() {
  Conv2dDesc d;
  d.h = d.w = 20, d.c = 8, d.k = 16, d.r = d.s = 3;
  return d;
}

TEST(OverridesEnvironment, EveryNewContextStartsFromIt) {
  expect_test_environment();
  expect_environment_defaults(Context::cpu());
  expect_environment_defaults(Context::cpu(2));
  expect_environment_defaults(Context());
  // CPU plans follow it: the portable micro-kernels, though this CPU may
  // have better ones.
  const std::string v = variant(small_layer(), Algorithm::kMecB, Context::cpu(1));
  EXPECT_EQ(v.rfind("mec_b/fast/generic/", 0), 0u) << v;
}

TEST(OverridesEnvironment, TheApiWinsOverIt) {
  expect_test_environment();
  Context ctx = Context::cpu(1);
  const std::string from_env = variant(small_layer(), Algorithm::kMecB, ctx);
  ctx.set_cpu_isa(CpuIsa::kAuto);  // the library's own choice, whatever the environment says
  ctx.set_cuda_gemm(CudaGemm::kKernel);
  ctx.set_cuda_from_src(CudaFromSrc::kAuto);
  ctx.set_cuda_tile({128, 64});
  ctx.set_cuda_block_mib(32);
  EXPECT_EQ(ctx.cpu_isa(), CpuIsa::kAuto);
  EXPECT_EQ(ctx.cuda_gemm(), CudaGemm::kKernel);
  EXPECT_EQ(ctx.cuda_from_src(), CudaFromSrc::kAuto);
  EXPECT_TRUE(same_tile(ctx.cuda_tile(), {128, 64, 0}));
  EXPECT_EQ(ctx.cuda_block_mib(), 32);
  // A copy keeps what was set; a new context starts from the environment.
  const Context copy = ctx;
  EXPECT_EQ(copy.cpu_isa(), CpuIsa::kAuto);
  EXPECT_TRUE(same_tile(copy.cuda_tile(), {128, 64, 0}));
  expect_environment_defaults(Context::cpu(1));
  const std::string automatic = variant(small_layer(), Algorithm::kMecB, ctx);
  const bool best_is_generic = !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma");
  if (!best_is_generic) {
    EXPECT_NE(automatic, from_env);
    EXPECT_EQ(automatic.rfind("mec_b/fast/generic/", 0), std::string::npos) << automatic;
  }
  ctx.set_cpu_isa(CpuIsa::kGeneric);
  EXPECT_EQ(variant(small_layer(), Algorithm::kMecB, ctx), from_env);
}

TEST(OverridesEnvironment, IsReadOnceAtTheFirstContext) {
  expect_test_environment();
  (void)Context::cpu(1);
  // Changed later, the environment no longer counts: plans do not change
  // under a running program.
  ASSERT_EQ(setenv("MEC_CPU_ISA", "avx2", 1), 0);
  ASSERT_EQ(setenv("MEC_CUDA_GEMM", "kernel", 1), 0);
  const Context later = Context::cpu(1);
  ASSERT_EQ(setenv("MEC_CPU_ISA", "generic", 1), 0);
  ASSERT_EQ(setenv("MEC_CUDA_GEMM", "cublas", 1), 0);
  expect_environment_defaults(later);
}

// On a GPU, CUDA contexts start from the environment too, and the backend
// plans from the context's values (skipped without a usable GPU).
TEST(OverridesEnvironment, CudaPlansFollowTheContext) {
  expect_test_environment();
  Context ctx;
  if (Context::cuda(&ctx) != Status::kSuccess) GTEST_SKIP() << last_error();
  expect_environment_defaults(ctx);
  Conv2dDesc deep;
  deep.h = 9, deep.w = 11, deep.c = 36, deep.k = 130, deep.r = deep.s = 3;
  deep.pad_top = deep.pad_bottom = deep.pad_left = deep.pad_right = 1;
  EXPECT_EQ(variant(deep, Algorithm::kMecB, ctx), "mec_b/cublas-b/fp32");
  ctx.set_cuda_gemm(CudaGemm::kAuto);  // the environment's tile remains
  EXPECT_EQ(variant(deep, Algorithm::kMecB, ctx), "mec_b/kernel-l/64x64/split3/fp32");
  ctx.set_cuda_tile({32, 64, 2});
  EXPECT_EQ(variant(deep, Algorithm::kMecB, ctx), "mec_b/kernel-l/32x64/split2/fp32");
}

}  // namespace
}  // namespace mec
