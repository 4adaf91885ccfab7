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
  cuda_tests "*MecShallow*:*MecGemmTiles*"
fi
compare paper,vgg16,resnet50,alexnet 32,1
tar czf "$out/results.tar.gz" -C "$here" results
