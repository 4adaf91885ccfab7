#!/usr/bin/env bash
# Run 12 of docs/cuda.md, step by step (each a word on the command line):
# tests (CUDA tests, memcheck of the tile test), sweep (the MEC GEMM
# kernel's time over forced tiles and K splits, MEC_CUDA_TILE=MxNxS, on
# paper and network layers at batch 32 and 1: the data of the split
# model), variants (bin/mecbench against the bin/mecbench_* builds of
# alternatives), rgb (the c = 3 first layers), sass (the 128 x 128
# kernel's SASS), k96 (layers with k a multiple of 96), b1 (the builds'
# own choice at batch 1), compare (main
# before, bin/mecbench_before, against now, cuDNN beside). Run from the
# folder scripts/cuda-pack.sh made.
# Usage: bash cuda-run12.sh OUTDIR STEP...
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
shift
if [[ " $* " == *" tests "* ]]; then
  cuda_tests "*MecGemmTiles*"
fi
b32="cv5=h24w24c96k256r5s5,cv6=h12w12c256k512r3s3,cv9=h56w56c64k64r3s3,cv10=h28w28c128k128r3s3"
b32="$b32,cv11=h14w14c256k256r3s3,cv12=h7w7c512k512r3s3,res3b_2=h28w28c128k128r3s3p1"
b32="$b32,res4a_2=h28w28c256k256r3s3p1u2,res4b_2=h14w14c256k256r3s3p1,res5a_1=h14w14c1024k512r1s1"
b32="$b32,res5b_2=h7w7c512k512r3s3p1,conv4_2=h28w28c512k512r3s3p1,conv5_1=h14w14c512k512r3s3p1"
b1="cv1=h227w227c3k96r11s11u4,cv3=h227w227c3k64r7s7u2,cv4=h224w224c64k64r7s7u2"
b1="$b1,cv5=h24w24c96k256r5s5,cv6=h12w12c256k512r3s3,cv8=h112w112c64k128r3s3,cv9=h56w56c64k64r3s3"
b1="$b1,cv10=h28w28c128k128r3s3,cv11=h14w14c256k256r3s3,cv12=h7w7c512k512r3s3"
b1="$b1,res4b_2=h14w14c256k256r3s3p1,res5b_2=h7w7c512k512r3s3p1,conv5_1=h14w14c512k512r3s3p1"
sweep() {  # batch shapes tile splits...
  local b=$1 shapes=$2 tile=$3
  shift 3
  for s in "$@"; do
    MEC_CUDA_TILE=${tile}x$s timeout 100 bin/mecbench --device cuda --batch "$b" --algo mec_b \
      --threshold 100000 --reps 10 --warmup 3 --check none --shape "$shapes" \
      --json "$res/sweep/b${b}_${tile}_s$s.json" > /dev/null 2>&1 || echo "b$b $tile s$s failed"
  done
}
if [[ " $* " == *" sweep "* ]]; then
  mkdir -p "$res/sweep"
  sweep 32 "$b32" 128x128 1 2 3 4 5 6 7 8 9 10 11 12 14 16 20 24
  sweep 32 "$b32" 64x64 1 2 3 4 6 8
  sweep 32 "cv9=h56w56c64k64r3s3" 128x64 1 2 3 4
  sweep 1 "$b1" 64x64 1 2 3 4 5 6 7 8 10 12 14 16 20 24 32
  sweep 1 "$b1" 32x64 1 2 4 8 12 16
  sweep 1 "$b1" 128x64 1 2 4 8 12 16
  echo "sweep done: $(ls "$res/sweep" | wc -l) runs"
fi
# variants: bin/mecbench and every bin/mecbench_* (builds of this run's
# alternatives) on the same layers, two interleaved rounds: ResNet-50 at
# batch 1 (MEC's own choice), the paper, VGG-16 and ResNet-50 layers at
# batch 32 with the kernel forced.
if [[ " $* " == *" variants "* ]]; then
  mkdir -p "$res/variants"
  for round in 1 2; do
    for bin in bin/mecbench bin/mecbench_*; do
      v=$(basename "$bin")
      timeout 100 "$bin" --device cuda --batch 1 --algo mec --reps 20 --warmup 3 --check none \
        --suite resnet50 --json "$res/variants/${v}_resnet50_b1_r$round.json" > /dev/null 2>&1
      for s in paper vgg16 resnet50; do
        timeout 100 "$bin" --device cuda --batch 32 --algo mec_b --threshold 100000 --reps 10 \
          --warmup 3 --check none --suite $s --json "$res/variants/${v}_${s}_b32_r$round.json" \
          > /dev/null 2>&1 || echo "$v $s failed"
      done
    done
  done
  echo "variants done: $(ls "$res/variants" | wc -l) runs"
fi
# rgb: the first layers over RGB (c = 3), whose windows the padded
# lowering aligns (cv1, cv2) or not (cv3, ResNet-50 conv1): main before,
# now, now with the 128 x 64 tile, now over cuBLAS; two rounds.
if [[ " $* " == *" rgb "* ]]; then
  mkdir -p "$res/rgb"
  rgb="cv1=h227w227c3k96r11s11u4,cv2=h231w231c3k96r11s11u4,cv3=h227w227c3k64r7s7u2"
  rgb="$rgb,conv1=h224w224c3k64r7s7p3u2"
  for round in 1 2; do
    for b in 32 1; do
      for v in before now tile128x64 cublas; do
        bin=bin/mecbench tile= gemm=
        [ $v = before ] && bin=bin/mecbench_before
        [ $v = tile128x64 ] && tile=128x64
        [ $v = cublas ] && gemm=cublas
        MEC_CUDA_TILE=$tile MEC_CUDA_GEMM=$gemm timeout 100 $bin --device cuda --batch $b \
          --algo mec --reps 20 --warmup 3 --shape "$rgb" \
          --json "$res/rgb/${v}_b${b}_r$round.json" > /dev/null 2>&1 || echo "rgb $v b$b failed"
      done
    done
  done
fi
# sass: the SASS of the 128 x 128 kernel (16-byte copies) into sass_128x128.txt.
if [[ " $* " == *" sass "* ]]; then
  cuobjdump -sass bin/mecbench | awk '/Function : .*mec_gemm_kernelILi128ELi128ELi4ELi4E/ {on = 1; print; next}
    /Function : / {on = 0} on' > "$res/sass_128x128.txt"
  echo "sass: $(wc -l < "$res/sass_128x128.txt") lines"
fi
# k96: layers with k a multiple of 96 (the 128 x 96 tile) and k = 64, 128
# neighbours, main before against now, batch 32 and 1, two rounds.
if [[ " $* " == *" k96 "* ]]; then
  mkdir -p "$res/k96"
  k96="cv1=h227w227c3k96r11s11u4,cv2=h231w231c3k96r11s11u4,i3=h28w28c96k192r3s3p1"
  k96="$k96,i5=h14w14c480k192r1s1,i96=h56w56c64k96r3s3p1,k288=h28w28c128k288r3s3p1"
  for round in 1 2; do
    for b in 32 1; do
      for bin in bin/mecbench_before bin/mecbench; do
        timeout 100 $bin --device cuda --batch $b --algo mec --reps 20 --warmup 3 --shape "$k96" \
          --json "$res/k96/$(basename $bin)_b${b}_r$round.json" > /dev/null 2>&1 || echo "k96 $bin failed"
      done
    done
  done
fi
# b1: bin/mecbench and every bin/mecbench_* with their own choice at
# batch 1 on the paper, VGG-16 and ResNet-50 layers, two rounds.
if [[ " $* " == *" b1 "* ]]; then
  mkdir -p "$res/b1"
  for round in 1 2; do
    for bin in bin/mecbench bin/mecbench_*; do
      for s in paper vgg16 resnet50; do
        timeout 100 "$bin" --device cuda --batch 1 --algo mec --reps 20 --warmup 3 --suite $s \
          --json "$res/b1/$(basename "$bin")_${s}_r$round.json" > /dev/null 2>&1 || echo "b1 $bin $s failed"
      done
    done
  done
fi
if [[ " $* " == *" compare "* ]]; then
  compare paper,vgg16,resnet50 32,1
fi
tar czf "$out/results.tar.gz" -C "$here" results
