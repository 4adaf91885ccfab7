// Slow label: FFT on the paper's strided layers cv1-cv4 at batch 1 (7x7 and
// 11x11 kernels, stride 2 and 4, computed at stride 1 and subsampled).
#include "algos_test_util.h"

namespace mec {
namespace testing {
namespace {

TEST(CpuFftSlow, PaperLayersStridedBatch1) {
  for (const NamedShape& shape : paper_layers(1, 4, 1)) {
    SCOPED_TRACE(shape.name);
    Problem problem(shape.desc, true, 7);
    RecordProperty(shape.name, sci(problem.check(Algorithm::kFft, 0, true)));
  }
}

}  // namespace
}  // namespace testing
}  // namespace mec
