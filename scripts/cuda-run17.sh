#!/usr/bin/env bash
# Run 17 of docs/cuda.md (the lowering in the copies for the RGB layers),
# step by step:
# - tests: the CUDA tests, memcheck over MEC's.
# - rgb: the c = 3 layers (the paper's cv1-cv3 and cv7, ResNet-50's conv1,
#   VGG-16's conv1_1) at BATCH (default 1) in fp32: MEC over L
#   (MEC_CUDA_FROM_SRC=0), from src by kMec's rule (unset) and wherever it
#   fits (=1), and from src with each tile of TILES forced; two interleaved
#   rounds, best of them per layer, each over L.
# - fromsrc: cuda-run16.sh's step (env BATCHES, MATHS, MODES, SUITES).
# Run from the folder scripts/cuda-pack.sh made.
# Usage: bash cuda-run17.sh OUTDIR STEP...
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
shift
if [[ " $* " == *" tests "* ]]; then
  cuda_tests "*Mec*:*Awkward*:*Errors*"
fi
if [[ " $* " == *" rgb "* ]]; then
  rgb="cv1=h227w227c3k96r11s11u4,cv2=h231w231c3k96r11s11u4,cv3=h227w227c3k64r7s7u2"
  rgb="$rgb,cv7=h224w224c3k64r3s3,r50conv1=h224w224c3k64r7s7p3u2,vggconv1_1=h224w224c3k64r3s3p1"
  run_variants "$res/rgb" "${BATCH:-1}" fp32 "$rgb" L::0: rule::: all::1: \
    $(for t in ${TILES:-128x96 128x64 64x64 32x64}; do echo "S$t::1:$t"; done)
fi
if [[ " $* " == *" fromsrc "* ]]; then
  bash "$here/cuda-run16.sh" "$out" fromsrc
fi
tar czf "$out/results.tar.gz" -C "$here" results
