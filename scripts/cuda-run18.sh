#!/usr/bin/env bash
# Run 18 of docs/cuda.md (the lowering in the copies at batch 32 for the
# wide layers), step by step:
# - tests: the CUDA tests, memcheck over MEC's.
# - bigq: the layers whose output rows are wider than kKernelMaxQ (cuBLAS's
#   batched GEMMs of q rows at batch 32) and the RGB layers, at BATCH
#   (default 32) in MATH (default fp32): MEC by the rule, over cuBLAS
#   (MEC_CUDA_GEMM=cublas), our kernel over L
#   (MEC_CUDA_GEMM=kernel, MEC_CUDA_FROM_SRC=0), and our kernel from src
#   (=1) on the plan's tile and on each tile of TILES; two interleaved
#   rounds, best of them per layer, each over the rule; then the kernel
#   from src checked against the reference at batch 2.
# - tiles: SHAPES (mecbench --shape; default ResNet-50's 1x1 layers of 256
#   and 512 channels) at BATCH (default 1): MEC over L, by the rule, and
#   from src with each tile (and split) of TILES forced; two rounds, best
#   of them, each over L.
# - shallow: the shallow kernel's tiles of 128 and 64 windows (forced by
#   MEC_CUDA_TILE) and by the rule on the first layers over RGB and a
#   depth-32 layer, at each batch of BATCHES (default 1 32).
# - fromsrc: cuda-run16.sh's step (env BATCHES, MATHS, MODES, SUITES).
# Run from the folder scripts/cuda-pack.sh made.
# Usage: bash cuda-run18.sh OUTDIR STEP...
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
shift
if [[ " $* " == *" tests "* ]]; then
  cuda_tests "*Mec*:*Awkward*:*Errors*"
fi
if [[ " $* " == *" bigq "* ]]; then
  wide="cv1=h227w227c3k96r11s11u4,cv3=h227w227c3k64r7s7u2,cv4=h224w224c64k64r7s7u2"
  wide="$wide,cv8=h112w112c64k128r3s3,r50conv1=h224w224c3k64r7s7p3u2"
  wide="$wide,conv1_2=h224w224c64k64r3s3p1,conv2_1=h112w112c64k128r3s3p1"
  wide="$wide,conv2_2=h112w112c128k128r3s3p1"
  run_variants "$res/bigq" "${BATCH:-32}" "${MATH:-fp32}" "$wide" rule::: cublas:cublas:: \
    kL:kernel:0: kS:kernel:1: $(for t in ${TILES:-128x64 64x64}; do echo "kS$t:kernel:1:$t"; done)
  # The kernel from src checked against the reference (batch 2).
  MEC_CUDA_GEMM=kernel MEC_CUDA_FROM_SRC=1 timeout 300 bin/mecbench --device cuda --batch 2 \
    --math "${MATH:-fp32}" --algo mec --reps 1 --shape "$wide" > "$res/bigq_check.txt" 2>&1
  echo "check rc=$?"
  grep -iE "fail|error|mismatch" "$res/bigq_check.txt" | head -5
fi
if [[ " $* " == *" tiles "* ]]; then
  shapes=${SHAPES:-res3a_1=h56w56c256k128r1s1,res2b_1=h56w56c256k64r1s1,res3b_1=h28w28c512k128r1s1}
  run_variants "$res/tiles" "${BATCH:-1}" fp32 "$shapes" L::0: rule::: \
    $(for t in ${TILES:-128x64 128x64x1 128x64x2 128x64x4 64x64 128x128}; do echo "S$t::1:$t"; done)
fi
if [[ " $* " == *" shallow "* ]]; then
  shapes="cv7=h224w224c3k64r3s3,vggconv1_1=h224w224c3k64r3s3p1"
  shapes="$shapes,mbconv0=h224w224c3k32r3s3pt0pb1pl0pr1u2,c8k128=h56w56c8k128r2s2"
  for b in ${BATCHES:-1 32}; do
    run_variants "$res/shallow_b$b" "$b" fp32 "$shapes" rule::: r128:::128x128 r64:::64x64
  done
fi
if [[ " $* " == *" fromsrc "* ]]; then
  bash "$here/cuda-run16.sh" "$out" fromsrc
fi
tar czf "$out/results.tar.gz" -C "$here" results
