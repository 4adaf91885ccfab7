// The CUDA backend seam (src/common/cuda_backend.h) as a user meets it: a
// CPU-only program never maps a CUDA library, and Context::cuda() without a
// backend, without a loadable CUDA library or without a GPU is kUnsupported
// with a message that says which. Also mec::version() against version.h.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "mec/mec.h"

namespace {

std::string mapped_files() {
  std::ifstream maps("/proc/self/maps");
  return std::string(std::istreambuf_iterator<char>(maps), std::istreambuf_iterator<char>());
}

bool maps_cuda(const std::string& maps) {
  for (const char* lib : {"libcuda.", "libcudart", "libcublas", "libcufft", "libmec_cuda"}) {
    if (maps.find(lib) != std::string::npos) return true;
  }
  return false;
}

TEST(Backend, CpuConvolutionMapsNoCudaLibrary) {
  mec::Conv2dDesc d;
  d.n = 2, d.h = 9, d.w = 7, d.c = 5, d.k = 4, d.r = d.s = 3;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> src(d.src_elems()), weights(d.weight_elems()), dst(d.dst_elems());
  for (float& v : src) v = u(rng);
  for (float& v : weights) v = u(rng);
  ASSERT_EQ(mec::conv2d(d, mec::Algorithm::kMec, mec::Context::cpu(1), src.data(), weights.data(),
                        nullptr, dst.data()),
            mec::Status::kSuccess)
      << mec::last_error();
  EXPECT_FALSE(maps_cuda(mapped_files())) << mapped_files();
}

TEST(Backend, CudaContextSaysWhyItCannotBeHad) {
  mec::Context ctx;
  const mec::Status st = mec::Context::cuda(&ctx);
  const std::string why = mec::last_error();
  if (st == mec::Status::kSuccess) {
    EXPECT_EQ(ctx.device(), mec::Device::kCuda);
    EXPECT_TRUE(maps_cuda(mapped_files()));
    return;
  }
  ASSERT_EQ(st, mec::Status::kUnsupported) << why;
#ifdef MEC_HAVE_CUDA
  // The backend exists; what is missing is a CUDA library, the driver or a GPU.
  EXPECT_TRUE(why.find("cannot be loaded") != std::string::npos ||
              why.find("no usable CUDA GPU") != std::string::npos ||
              why.find("no CUDA GPU is visible") != std::string::npos)
      << why;
#else
  EXPECT_NE(why.find("has no CUDA backend"), std::string::npos) << why;
#endif
  EXPECT_EQ(ctx.device(), mec::Device::kCpu);  // untouched
  std::printf("Context::cuda(): %s\n", why.c_str());
}

TEST(Backend, VersionMatchesHeader) {
  EXPECT_EQ(std::string(mec::version()), std::to_string(MEC_VERSION_MAJOR) + "." +
                                             std::to_string(MEC_VERSION_MINOR) + "." +
                                             std::to_string(MEC_VERSION_PATCH));
}

}  // namespace
