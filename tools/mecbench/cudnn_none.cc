// The cuDNN peer's stand-in when cuDNN is not found at configure time.
#include "cuda_bench.h"

namespace mecbench {
bool cudnn_available() { return false; }
std::vector<GpuRecord> run_cudnn(const GpuProblem&, cudaStream_t, bool, int, int, int64_t) {
  return {};
}
}  // namespace mecbench
