#!/usr/bin/env bash
# Run 14 of docs/cuda.md, step by step (each a word on the command line):
# - tests: the CUDA tests, again with MEC_CUDA_PASS_MIB=1, and memcheck
#   of the MEC tests;
# - passes: MEC at batch 32 with L capped at PASS_MIBS MiB per pass
#   (default "0 12 24 48", 0 = one pass), two interleaved rounds, cuDNN
#   once beside, summary by cuda-passes.py. MEC_CUDA_PASS_MIB exists only
#   with docs/cuda-results/run14/passes_experiment.diff applied (not kept);
# - sass: ncu source counters of the GEMM kernels (ours on cv10 and cv9,
#   cuBLAS's on cv10's product);
# - ab: bin/mecbench_before against bin/mecbench, two rounds (cuda-ab.py);
# - tiles: our kernel on the k = 64 layers, own tile / 128x64 / 256x64
#   (256x64 was a trial tile, not kept: the kernel now ignores it);
# - compare: main before (bin/mecbench_before) against now with cuDNN
#   beside (SUITES, BATCHES).
# Run from the folder scripts/cuda-pack.sh made.
# Usage: bash cuda-run14.sh OUTDIR STEP...
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
shift
suites=${SUITES:-paper,resnet50,vgg16}
if [[ " $* " == *" tests "* ]]; then
  cuda_tests "*Mec*:*Awkward*:*Errors*"
  MEC_CUDA_PASS_MIB=1 timeout 300 bin/cuda_algorithms_test > "$res/tests_passes.log" 2>&1
  echo "tests in passes of one image rc=$?"
  grep -E "^\[  (PASSED|FAILED) |Failure" "$res/tests_passes.log" | head -20
fi
if [[ " $* " == *" passes "* ]]; then
  mkdir -p "$res/passes"
  for s in ${suites//,/ }; do
    timeout 200 bin/mecbench --device cuda --batch 32 --algo mec --peer cudnn --reps 10 --warmup 3 \
      --check none --suite $s --json "$res/passes/cudnn_$s.json" > /dev/null 2>&1 || echo "cudnn $s failed"
  done
  for round in 1 2; do
    for mib in ${PASS_MIBS:-0 12 24 48}; do
      for s in ${suites//,/ }; do
        MEC_CUDA_PASS_MIB=$mib timeout 100 bin/mecbench --device cuda --batch 32 --algo mec \
          --reps 10 --warmup 3 --check none --suite $s \
          --json "$res/passes/mib${mib}_${s}_r$round.json" > /dev/null 2>&1 || echo "$mib $s failed"
      done
    done
  done
  python3 "$here/cuda-passes.py" "$res/passes" "$suites" "${PASS_MIBS:-0 12 24 48}" |
    tee "$res/passes.txt"
fi
if [[ " $* " == *" sass "* ]]; then
  # Where the GEMM kernels stall, instruction by instruction: ncu's source
  # counters (SASS) of our kernel on cv10 (128 x 128) and cv9 (128 x 64)
  # and of cuBLAS's SGEMM on cv10's product (bin/fp32-ceiling cv10).
  for shape in cv10=h28w28c128k128r3s3 cv9=h56w56c64k64r3s3; do
    timeout 120 ncu --clock-control none --kernel-name regex:mec_gemm --launch-count 1 \
      --section SourceCounters --section WarpStateStats -f -o "$res/src_${shape%%=*}" \
      bin/mecbench --device cuda --batch 32 --algo mec_b --check none --reps 1 --warmup 0 \
      --shape "$shape" > "$res/src_${shape%%=*}.log" 2>&1
    echo "sass ${shape%%=*} rc=$?"
  done
  timeout 120 ncu --clock-control none --kernel-name regex:gemm --launch-skip 1 --launch-count 1 \
    --section SourceCounters --section WarpStateStats -f -o "$res/src_cublas_cv10" \
    bin/fp32-ceiling cv10 > "$res/src_cublas_cv10.log" 2>&1
  echo "sass cublas rc=$?"
  for rep in "$res"/src_*.ncu-rep; do
    ncu -i "$rep" --page source --print-source sass --csv > "${rep%.ncu-rep}.csv" 2>&1
    echo "$(basename "$rep"): $(wc -l < "${rep%.ncu-rep}.csv") lines"
  done
  rm -f "$res"/src_*.ncu-rep
fi
if [[ " $* " == *" ab "* ]]; then
  # bin/mecbench_before against bin/mecbench, two interleaved rounds: MEC's
  # own choice at batch 32 (SUITES) and 1 (paper), and our kernel forced on
  # every paper layer at batch 32 (summary by cuda-ab.py).
  mkdir -p "$res/ab"
  sets=""
  for round in 1 2; do
    for tag in before now; do
      bin=bin/mecbench; [[ $tag == before ]] && bin=bin/mecbench_before
      for s in ${suites//,/ }; do
        timeout 100 $bin --device cuda --batch 32 --algo mec --reps 10 --warmup 3 --check none \
          --suite $s --json "$res/ab/${tag}_${s}_b32_r$round.json" > /dev/null 2>&1 || echo "$tag $s failed"
      done
      timeout 100 $bin --device cuda --batch 1 --algo mec --reps 20 --warmup 3 --check none \
        --suite paper --json "$res/ab/${tag}_paper_b1_r$round.json" > /dev/null 2>&1
      timeout 100 $bin --device cuda --batch 32 --algo mec_b --threshold 100000 --reps 10 \
        --warmup 3 --check none --suite paper --json "$res/ab/${tag}_paper_b32_forced_r$round.json" \
        > /dev/null 2>&1
    done
  done
  for s in ${suites//,/ }; do sets="$sets ${s}_b32"; done
  python3 "$here/cuda-ab.py" "$res/ab" $sets paper_b1 paper_b32_forced | tee "$res/ab.txt"
fi
if [[ " $* " == *" tiles "* ]]; then
  # Our kernel forced (mec_b, any q) on the k = 64 layers at batch 32 with
  # its own tile, 128 x 64 and 256 x 64 forced; two interleaved rounds.
  k64="cv3=h227w227c3k64r7s7u2,cv4=h224w224c64k64r7s7u2,cv9=h56w56c64k64r3s3"
  k64="$k64,res2a_1=h56w56c64k64r1s1,res2a_2=h56w56c64k64r3s3p1,conv1_2=h224w224c64k64r3s3p1"
  for round in 1 2; do
    for tile in own 128x64 256x64; do
      MEC_CUDA_TILE=${tile/own/} timeout 100 bin/mecbench --device cuda --batch 32 --algo mec_b \
        --threshold 100000 --reps 10 --warmup 3 --check none --shape "$k64" \
        --json "$res/tiles_${tile}_r$round.json" > /dev/null 2>&1 || echo "$tile failed"
    done
  done
  python3 - "$res" <<'PY' | tee "$res/tiles.txt"
import glob, json, sys
t = {}
for f in glob.glob(sys.argv[1] + "/tiles_*_r*.json"):
    tile = f.split("tiles_")[1].rsplit("_r", 1)[0]
    for r in json.load(open(f)):
        if r["status"] == "ok":
            k = (r["layer"], tile)
            t[k] = min(t.get(k, 1e9), r["median_ms"])
for layer in dict.fromkeys(l for l, _ in t):
    print(layer, "  ".join(f"{tile} {t.get((layer, tile), float('nan')):.4f}"
                           for tile in ("own", "128x64", "256x64")))
PY
fi
if [[ " $* " == *" compare "* ]]; then
  compare "${SUITES:-paper}" "${BATCHES:-32,1}"
fi
tar czf "$out/results.tar.gz" -C "$here" results
