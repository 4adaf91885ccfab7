#!/usr/bin/env bash
# Runs the CUDA tests and mecbench_cuda on a lent GPU machine from a folder
# holding the worktree, prebuilt binaries (bin/) and the shared libraries
# the binaries need that such a machine may lack (devlib/). Usage:
#   bash scripts/cuda-device-run.sh OUTDIR [mecbench_cuda args...]
set -uo pipefail
out=$1; shift
here=$(pwd)
mkdir -p /work && ln -sfn "$here" /work/wt-cuda   # MEC_SOURCE_DIR of the binaries
cudnn_lib=$(dirname "$(find / -xdev -name 'libcudnn.so.9' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$here/devlib:/usr/local/cuda/lib64:$cudnn_lib:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv
echo "cudnn: $cudnn_lib"; ls "$cudnn_lib" | head -3
ldd bin/mecbench_cuda | grep -E "not found|cudnn|cublas"
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  timeout 300 bin/cuda_algorithms_test > "$out/tests.log" 2>&1
  echo "tests rc=$?"
  grep -E "^\[  (PASSED|FAILED|  OK|SKIPPED) |FAILED|RandomSweep|Failure" "$out/tests.log" | head -40
fi
bin/mecbench_cuda --json "$out/bench.json" "$@" 2> "$out/bench.err" | tee "$out/bench.txt"
echo "bench rc=$?"
