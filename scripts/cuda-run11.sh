#!/usr/bin/env bash
# Run 11 of docs/cuda.md: main before the change (bin/mecbench_before)
# against after (bin/mecbench): the shallow-window kernel (mec_shallow.h)
# and the retuned GEMM kernel, `--algo mec` on the paper layers and the
# layers of VGG-16, ResNet-50 and AlexNet at batch 32 and 1, cuDNN beside;
# optionally the CUDA tests and memcheck of the new kernel's test first.
# Run from the folder scripts/cuda-pack.sh made.
# Usage: bash cuda-run11.sh OUTDIR [tests]
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
if [ "${2:-}" = tests ]; then
  timeout 300 bin/cuda_algorithms_test > "$res/tests.log" 2>&1
  echo "tests rc=$?"
  grep -E "^\[  (PASSED|FAILED) |Failure" "$res/tests.log" | head
  timeout 200 compute-sanitizer --tool memcheck bin/cuda_algorithms_test \
    --gtest_filter="*MecShallow*:*MecGemmTiles*" > "$res/memcheck.log" 2>&1
  echo "memcheck rc=$?"
  tail -3 "$res/memcheck.log"
fi
compare paper,vgg16,resnet50,alexnet 32,1
tar czf "$out/results.tar.gz" -C "$here" results
