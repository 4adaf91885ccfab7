#!/usr/bin/env bash
# Run 13 of docs/cuda.md, step by step (each a word on the command line):
# tests (CUDA tests, memcheck of the MEC kernel tests), ceiling (the fp32
# rate this GPU sustains: bin/fp32-ceiling, built from
# scripts/cuda-fp32-ceiling.cu, with the SM clock and power sampled
# beside it), ncu (profiles of the shallow kernel on cv7 and of the GEMM
# kernel's three 128-row tiles on cv1, cv10 and cv9 at batch 32, clocks
# left free), kernels (each kernel of one MEC run of cv1, cv7, cv9 and
# cv10 at batch 32, timed by ncu), cublas (ncu on cuBLAS's SGEMM kernels
# for the products of cv8 and cv10), tiles (MEC with our kernel forced on
# every layer at batch 32, its own tile against 128 x 64 forced, two
# interleaved rounds), variants (bin/mecbench against each
# bin/mecbench_* build but _before: our kernel forced on every layer at
# batch 32, MEC's own choice at batch 1, two interleaved rounds), compare
# (main before, bin/mecbench_before, against now with cuDNN beside; SUITES
# and BATCHES, default paper and 32,1). Run from the folder
# scripts/cuda-pack.sh made.
# Usage: bash cuda-run13.sh OUTDIR STEP...
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
shift
if [[ " $* " == *" tests "* ]]; then
  cuda_tests "*MecGemmTiles*:*MecShallow*:*Awkward*:*WorkspaceFormulas*:*Errors*"
fi
if [[ " $* " == *" ceiling "* ]]; then
  nvidia-smi --query-gpu=clocks.sm,power.draw,temperature.gpu --format=csv -lms 200 \
    > "$res/ceiling_clocks.csv" &
  smi=$!
  timeout 120 bin/fp32-ceiling | tee "$res/ceiling.txt"
  kill $smi
  sort -t, -k1 -n "$res/ceiling_clocks.csv" | uniq -c | sort -rn | head -5
fi
if [[ " $* " == *" ncu "* ]]; then
  for shape in cv7=h224w224c3k64r3s3 cv1=h227w227c3k96r11s11u4 cv10=h28w28c128k128r3s3 \
    cv9=h56w56c64k64r3s3; do
    timeout 120 ncu --clock-control none --kernel-name regex:"mec_shallow|mec_gemm" \
      --launch-count 1 --section SpeedOfLight --section WarpStateStats --section Occupancy \
      --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      --section InstructionStats --section SchedulerStats \
      --metrics regex:'smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio',smsp__inst_executed.sum,smsp__inst_executed_pipe_fma.sum,dram__bytes_write.sum,dram__bytes_read.sum,sm__cycles_elapsed.avg.per_second \
      ${MECBENCH:-bin/mecbench} --device cuda --batch 32 --algo mec_b --check none --reps 1 --warmup 0 \
      --shape "$shape" > "$res/ncu_${shape%%=*}.txt" 2>&1
    echo "ncu ${shape%%=*} rc=$?"
  done
fi
stall_metrics="regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio"
stall_metrics="$stall_metrics,smsp__inst_executed.sum,smsp__inst_executed_pipe_fma.sum"
if [[ " $* " == *" kernels "* ]]; then
  tag=${MECBENCH:+_$(basename "$MECBENCH")}  # MECBENCH: another build than bin/mecbench
  for shape in cv1=h227w227c3k96r11s11u4 cv7=h224w224c3k64r3s3 cv9=h56w56c64k64r3s3 \
    cv10=h28w28c128k128r3s3; do
    timeout 120 ncu --clock-control none --launch-count 6 --section SpeedOfLight \
      ${MECBENCH:-bin/mecbench} --device cuda --batch 32 --algo mec_b --check none --reps 1 --warmup 0 \
      --shape "$shape" > "$res/kernels_${shape%%=*}$tag.txt" 2>&1
    echo "kernels ${shape%%=*} rc=$?"
    grep -E "^  [a-z].*\(|Duration" "$res/kernels_${shape%%=*}$tag.txt" | cut -c1-110
  done
fi
if [[ " $* " == *" cublas "* ]]; then
  for shape in cv8 cv10; do
    timeout 120 ncu --clock-control none --kernel-name regex:gemm --launch-skip 1 --launch-count 1 \
      --section LaunchStats --section Occupancy --section SchedulerStats --section WarpStateStats \
      --section SpeedOfLight --metrics "$stall_metrics" bin/fp32-ceiling $shape \
      > "$res/ncu_cublas_$shape.txt" 2>&1
    echo "cublas $shape rc=$?"
  done
fi
if [[ " $* " == *" tiles "* ]]; then
  mkdir -p "$res/tiles"
  for round in 1 2; do
    for tile in own 128x64; do
      for s in paper resnet50 vgg16; do
        MEC_CUDA_TILE=${tile/own/} timeout 100 bin/mecbench --device cuda --batch 32 --algo mec_b \
          --threshold 100000 --reps 10 --warmup 3 --check none --suite $s \
          --json "$res/tiles/${tile}_${s}_r$round.json" > /dev/null 2>&1 || echo "$tile $s failed"
      done
    done
  done
  echo "tiles done"
fi
if [[ " $* " == *" variants "* ]]; then
  mkdir -p "$res/variants"
  for round in 1 2; do
    for bin in bin/mecbench bin/mecbench_*; do
      v=$(basename "$bin")
      [[ $v == mecbench_before ]] && continue
      for s in paper vgg16 resnet50; do
        timeout 100 "$bin" --device cuda --batch 32 --algo mec_b --threshold 100000 --reps 10 \
          --warmup 3 --check none --suite $s --json "$res/variants/${v}_${s}_b32_r$round.json" \
          > /dev/null 2>&1 || echo "$v $s failed"
      done
      timeout 100 "$bin" --device cuda --batch 1 --algo mec --reps 20 --warmup 3 --check none \
        --suite paper --json "$res/variants/${v}_paper_b1_r$round.json" > /dev/null 2>&1
    done
  done
  echo "variants done"
fi
if [[ " $* " == *" compare "* ]]; then
  compare "${SUITES:-paper}" "${BATCHES:-32,1}"
fi
tar czf "$out/results.tar.gz" -C "$here" results
