#!/usr/bin/env bash
# Run 8, call 2 of docs/cuda.md: the MEC GEMM kernel before (bin/mecbench_before,
# built from the code before the change) and after, forced on every layer
# (T = 100000), twice, interleaved, batch 32 and 1; then the CUDA tests.
# Run from the folder scripts/cuda-pack.sh made. Usage:
#   bash cuda-run8-ab.sh OUTDIR [tests]
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
forced="--algo mec --threshold 100000"
for b in 32 1; do
  bench b${b}_v1 bin/mecbench_before --batch $b --check none $forced
  bench b${b}_v2 bin/mecbench --batch $b $forced
  bench b${b}_v1b bin/mecbench_before --batch $b --check none $forced
  bench b${b}_v2b bin/mecbench --batch $b --check none $forced
done
[ "${2:-}" = tests ] && { timeout 300 bin/cuda_algorithms_test --gtest_filter="${GTEST_FILTER:-*}" > $res/tests.log 2>&1; echo "tests rc=$?"; grep -E "^\[  (PASSED|FAILED) |Failure" $res/tests.log | head; }
python3 - $res <<'PY'
import json,sys,os
res=sys.argv[1]; runs=["b32_v1","b32_v2","b32_v1b","b32_v2b","b1_v1","b1_v2","b1_v1b","b1_v2b"]
d={}
for r in runs:
    for x in json.load(open(os.path.join(res,r+".json"))): d.setdefault(x["layer"],{})[r]=x["median_ms"]
print("layer "+" ".join("%8s"%r for r in runs))
for l,v in d.items(): print("%-5s "%l+" ".join("%8.4f"%v.get(r,float('nan')) for r in runs))
import math
for a,b_ in [("b32_v1","b32_v2"),("b32_v1b","b32_v2b"),("b1_v1","b1_v2"),("b1_v1b","b1_v2b")]:
    print(b_,"/",a,"geomean %.3f"%math.exp(sum(math.log(v[b_]/v[a]) for v in d.values())/len(d)))
PY
tar czf $out/results.tar.gz -C $here results
