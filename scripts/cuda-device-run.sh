#!/usr/bin/env bash
# Runs the CUDA tests and `mecbench --device cuda --peer cudnn` on a lent GPU
# machine, from a folder holding prebuilt binaries (bin/), the shared
# libraries such a machine lacks (devlib.tar.gz: OpenBLAS and its runtime;
# cuDNN and cuBLAS are found there) and bench/shapes/. scripts/cuda-pack.sh
# makes that folder. Usage:
#   bash cuda-device-run.sh OUTDIR [tests] [memcheck] [bench]
# bench: batch 1 and 32, fp32 and tf32, each mecbench run once, over the
# algorithms in $ALGOS (default: all of ours); BENCH_RUNS="fp32:cublas fp32:
# tf32:" adds a run with MEC_CUDA_GEMM=cublas (Solution B over cuBLAS).
# GTEST_FILTER / MEMCHECK_FILTER narrow the tests and the memcheck subset.
# Everything lands in OUTDIR/results.tar.gz plus OUTDIR/summary.txt.
set -uo pipefail
out=$1
shift
source "$(dirname "$0")/cuda-device-env.sh"
ldd bin/mecbench | grep -E "not found|cudnn|cublas"
for step in "$@"; do
  case $step in
    tests)
      timeout 300 bin/cuda_algorithms_test --gtest_filter="${GTEST_FILTER:-*}" > "$res/tests.log" 2>&1
      echo "tests rc=$?"
      grep -E "^\[  (PASSED|FAILED|  OK|SKIPPED) |FAILED|Failure|error" "$res/tests.log" | head -40
      ;;
    memcheck)
      timeout 240 compute-sanitizer --tool memcheck bin/cuda_algorithms_test \
        --gtest_filter="${MEMCHECK_FILTER:-*Awkward*:*Misaligned*:*WinogradSweep*:*FftLargeKernel*:*Conv2d*:*WorkspaceFormulas*:*Errors*}" \
        > "$res/memcheck.log" 2>&1
      echo "memcheck rc=$?"
      tail -5 "$res/memcheck.log"
      ;;
    bench)
      for b in 1 32; do
        for run in ${BENCH_RUNS:-fp32: tf32:}; do
          math=${run%:*} gemm=${run#*:}
          name=b${b}_${math}${gemm:+_$gemm}
          MEC_CUDA_GEMM=$gemm timeout 200 bin/mecbench --device cuda --peer cudnn --batch $b \
            --math $math --algo "${ALGOS:-direct,im2col,mec_a,mec_b,mec,fft,winograd}" --reps 20 --warmup 3 --suite paper --json "$res/$name.json" \
            > "$res/$name.txt" 2> "$res/$name.err"
          echo "$name rc=$?"
          sed -n '/^MEC time over peer/,$p' "$res/$name.txt" >> "$out/summary.txt"
        done
      done
      ;;
  esac
done
tar czf "$out/results.tar.gz" -C "$here" results
cat "$out/summary.txt" 2>/dev/null | cut -c1-120
