#!/usr/bin/env bash
# Run 10 of docs/cuda.md: MEC's grouped kernel (mec_grouped.h) against
# Solution B over cuBLAS (MEC_CUDA_GEMM=cublas) on the grouped layers of
# real networks (bench/shapes/grouped.txt, mobilenet_v1.txt), batch 32 and
# 1, cuDNN beside; optionally the CUDA tests first. Run from the folder
# scripts/cuda-pack.sh made. Usage: bash cuda-run10.sh OUTDIR [tests]
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
if [ "${2:-}" = tests ]; then
  timeout 300 bin/cuda_algorithms_test > "$res/tests.log" 2>&1
  echo "tests rc=$?"
  grep -E "^\[  (PASSED|FAILED) |Failure" "$res/tests.log" | head
fi
for b in 32 1; do
  for s in grouped mobilenet_v1; do
    MEC_CUDA_GEMM=cublas timeout 200 bin/mecbench --device cuda --batch $b --algo mec_b --reps 10 \
      --warmup 3 --suite $s --check none --json "$res/${s}_b${b}_cublas.json" > "$res/${s}_b${b}_cublas.txt" 2>&1
    timeout 200 bin/mecbench --device cuda --batch $b --algo mec_b,mec --peer cudnn --reps 10 \
      --warmup 3 --suite $s --json "$res/${s}_b${b}.json" > "$res/${s}_b${b}.txt" 2>&1
    echo "$s b$b rc=$?"
  done
done
python3 - "$res" <<'PY'
import json, sys, os, math
res = sys.argv[1]
for b in (32, 1):
    print(f"batch {b}: mec_b ms, cuBLAS B / grouped kernel / cuDNN fastest (variant)")
    for s in ("grouped", "mobilenet_v1"):
        old = {r["layer"]: r for r in json.load(open(os.path.join(res, f"{s}_b{b}_cublas.json")))}
        new = json.load(open(os.path.join(res, f"{s}_b{b}.json")))
        for layer in dict.fromkeys(r["layer"] for r in new):
            rows = [r for r in new if r["layer"] == layer]
            mb = [r for r in rows if r["algo"] == "mec_b" and r["status"] == "ok"]
            cd = [r for r in rows if r["algo"] == "cudnn" and r["status"] == "ok"]
            if not mb or layer not in old or "g" not in mb[0]["shape"]:
                continue
            best = min(cd, key=lambda r: r["median_ms"]) if cd else None
            print("%-10s %-36s %8.4f %8.4f %8.4f %s err %.1e" % (layer, mb[0]["shape"], old[layer]["median_ms"],
                  mb[0]["median_ms"], best["median_ms"] if best else float("nan"),
                  best["variant"] if best else "-", mb[0]["max_rel_err"]))
PY
tar czf "$out/results.tar.gz" -C "$here" results
