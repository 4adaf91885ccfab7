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
  timeout 300 bin/cuda_algorithms_test > "$res/tests.log" 2>&1
  echo "tests rc=$?"
  grep -E "^\[  (PASSED|FAILED) |Failure" "$res/tests.log" | head
  timeout 200 compute-sanitizer --tool memcheck bin/cuda_algorithms_test \
    --gtest_filter="*MecShallow*:*MecGemmTiles*" > "$res/memcheck.log" 2>&1
  echo "memcheck rc=$?"
  tail -3 "$res/memcheck.log"
fi
for b in 32 1; do
  for s in paper vgg16 resnet50 alexnet; do
    timeout 200 bin/mecbench_before --device cuda --batch $b --algo mec --reps 10 --warmup 3 \
      --suite $s --check none --json "$res/${s}_b${b}_before.json" > "$res/${s}_b${b}_before.txt" 2>&1
    timeout 200 bin/mecbench --device cuda --batch $b --algo mec --peer cudnn --reps 10 --warmup 3 \
      --suite $s --json "$res/${s}_b${b}.json" > "$res/${s}_b${b}.txt" 2>&1
    echo "$s b$b rc=$?"
  done
done
python3 - "$res" <<'PY'
import json, sys, os, math
res = sys.argv[1]
def geo(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")
for b in (32, 1):
    for s in ("paper", "vgg16", "resnet50", "alexnet"):
        old = {r["layer"]: r for r in json.load(open(os.path.join(res, f"{s}_b{b}_before.json")))
               if r["algo"] == "mec" and r["status"] == "ok"}
        new = json.load(open(os.path.join(res, f"{s}_b{b}.json")))
        print(f"{s} batch {b}: mec ms before / after (path), cuDNN fastest within MEC's workspace, ratios")
        rb, ra, ab = [], [], []
        for layer in dict.fromkeys(r["layer"] for r in new):
            rows = [r for r in new if r["layer"] == layer and r["status"] == "ok"]
            mec = [r for r in rows if r["algo"] == "mec"]
            cd = [r for r in rows if r["algo"] == "cudnn"]
            if not mec or layer not in old or not cd:
                continue
            m = mec[0]
            fit = [r for r in cd if r["workspace_bytes"] <= m["workspace_bytes"]] or cd
            best = min(fit, key=lambda r: r["median_ms"])
            before = old[layer]["median_ms"]
            rb.append(before / best["median_ms"]); ra.append(m["median_ms"] / best["median_ms"])
            ab.append(m["median_ms"] / before)
            print("%-9s %-30s %8.4f %8.4f %-8s %8.4f %-28s %5.2f %5.2f err %.1e" % (
                layer, m["shape"], before, m["median_ms"], m.get("variant", ""), best["median_ms"],
                best["variant"], rb[-1], ra[-1], m.get("max_rel_err") or 0))
        print("geomean mec/cuDNN before %.3f after %.3f; after/before %.3f" % (geo(rb), geo(ra), geo(ab)))
PY
tar czf "$out/results.tar.gz" -C "$here" results
