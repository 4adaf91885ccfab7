#!/usr/bin/env bash
# Run 6 of docs/cuda.md (batch-1 tile shapes of the MEC GEMM kernel), on the
# device, from the folder scripts/cuda-pack.sh made plus bin/mecbench_before
# (the same benchmark built from the code before the change). Usage:
#   bash cuda-run6.sh OUTDIR [tests]
# Every mecbench run: paper layers, fp32, --reps 20 --warmup 3. b1_before /
# b1_after: ours and cuDNN side by side; b1_t*: MEC with T = 100000 (our
# kernel on every layer), as chosen and by tile shape (TILES="64x64 32x64"
# in the environment: MEC_CUDA_TILE). The first call of run 6 had the
# six tile shapes and no repeats (docs/cuda.md).
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
# Before and after twice, interleaved: cuDNN's batch-1 times move by up to
# 30% between runs.
for i in 1 2; do
  bench b1_before$i bin/mecbench_before --peer cudnn --batch 1 --algo im2col,mec_b,mec
  bench b1_after$i bin/mecbench --peer cudnn --batch 1 --algo im2col,mec_b,mec
done
bench b1_t_chosen bin/mecbench --batch 1 --algo mec --threshold 100000 --check none
for tile in ${TILES:-}; do
  MEC_CUDA_TILE=$tile bench "b1_t_$tile" bin/mecbench --batch 1 --algo mec --threshold 100000 --check none
done
bench b32_before bin/mecbench_before --peer cudnn --batch 32 --algo mec
bench b32_after bin/mecbench --peer cudnn --batch 32 --algo mec
if [ "${2:-}" = tests ]; then
  timeout 300 bin/cuda_algorithms_test > "$res/tests.log" 2>&1
  echo "tests rc=$?"
  grep -E "^\[  (PASSED|FAILED) |FAILED|Failure" "$res/tests.log" | head -20
  timeout 240 compute-sanitizer --tool memcheck bin/cuda_algorithms_test \
    --gtest_filter='*MecGemmTiles*:*Awkward*:*Misaligned*:*PaperLayersBatch1*' \
    > "$res/memcheck.log" 2>&1
  echo "memcheck rc=$?"
  tail -3 "$res/memcheck.log"
fi
tar czf "$out/results.tar.gz" -C "$here" results
