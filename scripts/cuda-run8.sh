#!/usr/bin/env bash
# Run 8 of docs/cuda.md (the MEC GEMM kernel with a cp.async pipeline), on
# the device, from the folder scripts/cuda-pack.sh made plus
# bin/mecbench_before (mecbench built from the code before the change).
# Usage: bash cuda-run8.sh OUTDIR [tests] [ncu]
# Every mecbench run: paper layers, fp32, --reps 20 --warmup 3. *_forced:
# MEC with T = 100000 (our kernel on every layer, before and after the
# change); *_cublas: Solution B over cuBLAS with cuDNN beside it; *_after:
# mec as the plan chooses it now.
set -uo pipefail
out=$1
shift
source "$(dirname "$0")/cuda-device-env.sh"
for b in 32 1; do
  bench b${b}_v1_forced bin/mecbench_before --batch $b --algo mec --threshold 100000 --check none
  bench b${b}_v2_forced bin/mecbench --batch $b --algo mec --threshold 100000
  MEC_CUDA_GEMM=cublas bench b${b}_cublas bin/mecbench --batch $b --algo mec_b --peer cudnn --check none
  bench b${b}_v1_forced2 bin/mecbench_before --batch $b --algo mec --threshold 100000 --check none
  bench b${b}_v2_forced2 bin/mecbench --batch $b --algo mec --threshold 100000 --check none
done
for step in "$@"; do
  case $step in
    tests)
      timeout 300 bin/cuda_algorithms_test > "$res/tests.log" 2>&1
      echo "tests rc=$?"
      grep -E "^\[  (PASSED|FAILED) |FAILED|Failure" "$res/tests.log" | head -20
      ;;
    ncu)
      for shape in h227w227c3k96r11s11u4 h224w224c64k64r7s7u2 h28w28c128k128r3s3; do
        timeout 120 ncu --kernel-name regex:mec_gemm --launch-count 1 --section SpeedOfLight \
          --section WarpStateStats --section Occupancy --section ComputeWorkloadAnalysis \
          bin/mecbench --device cuda --batch 32 --algo mec --threshold 100000 --check none \
          --reps 1 --warmup 0 --shape $shape > "$res/ncu_$shape.txt" 2>&1
        echo "ncu $shape rc=$?"
      done
      ;;
  esac
done
tar czf "$out/results.tar.gz" -C "$here" results
# Short table: median ms of MEC per layer in each run.
python3 - "$res" <<'PY'
import json, sys, os
res = sys.argv[1]
runs = ["b32_v1_forced", "b32_v2_forced", "b32_v1_forced2", "b32_v2_forced2", "b32_cublas",
        "b1_v1_forced", "b1_v2_forced", "b1_cublas"]
data = {}
for r in runs:
    try:
        recs = json.load(open(os.path.join(res, r + ".json")))
    except Exception as e:
        print(r, "missing", e); continue
    for x in recs:
        key = x["algo"] if x["algo"] != "cudnn" else "cudnn"
        d = data.setdefault(x["layer"], {})
        k = r + ":" + key
        if key == "cudnn":
            d[k] = min(d.get(k, 1e9), x["median_ms"])
        else:
            d[k] = x["median_ms"]
cols = sorted({k for d in data.values() for k in d})
print("layer " + " ".join(c[:22] for c in cols))
for layer, d in data.items():
    print(layer, " ".join("%.4f" % d.get(c, float("nan")) for c in cols))
PY
