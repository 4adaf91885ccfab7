// The README's API example, compiled and run by the test suite against the
// build tree and against an installed tree (CMake package and pkg-config).
#include <mec/mec.h>

#include <cstdio>
#include <memory>
#include <vector>

int main() {
  mec::Conv2dDesc d;  // NHWC src and dst; HWIO weights (or OHWI, OIHW)
  d.n = 1, d.h = d.w = 56, d.c = d.k = 64, d.r = d.s = 3;
  d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 1;  // also stride_*, dilation_*, groups
  std::vector<float> src(d.src_elems(), 1.0f), weights(d.weight_elems(), 0.01f);
  std::vector<float> dst(d.dst_elems());
  std::unique_ptr<mec::Conv2dPlan> plan;
  if (mec::Conv2dPlan::create(d, mec::Algorithm::kMec, mec::Context::cpu(), &plan) !=
      mec::Status::kSuccess) {
    std::printf("%s\n", mec::last_error());  // names the bad field
    return 1;
  }
  std::vector<char> workspace(plan->workspace_bytes());  // exact: run() allocates nothing
  const mec::Status st = plan->run(src.data(), weights.data(), /*bias=*/nullptr, dst.data(),
                                   workspace.data(), workspace.size());
  // A corner sees 2x2 of the 3x3 window, the interior all of it.
  std::printf("mec %s: %s, corner %.2f, interior %.2f\n", mec::version(), mec::status_string(st),
              dst[0], dst[(28 * 56 + 28) * 64]);
  return st == mec::Status::kSuccess ? 0 : 1;
}
