#!/usr/bin/env bash
# Run 15 of docs/cuda.md (TF32 on our MEC GEMM kernel), step by step:
# - tests: the CUDA tests, and memcheck of the MEC tests;
# - ab: bin/mecbench_before against bin/mecbench in strict fp32
#   (cuda-run14.sh's ab step, SUITES);
# - tf32: per suite of SUITES and batch of BATCHES, with TF32 allowed:
#   MEC as chosen with cuDNN beside, MEC over cuBLAS (MEC_CUDA_GEMM=cublas),
#   our kernel forced (mec_b, threshold 100000), and strict-fp32 MEC;
#   two rounds of ours; summary by cuda-tf32.py;
# - variants: our kernel forced with TF32 (mec_b, threshold 100000) in
#   each of bin/$VARIANTS (default "mecbench mecbench_k16"), two
#   interleaved rounds, per suite of SUITES and batch of BATCHES; geomeans
#   of each over the first.
# - paths: with TF32 allowed, per suite and batch, two rounds of mec_a,
#   mec_b (MEC_CUDA_GEMM=cublas: Solution B over cuBLAS) and mec_b with
#   our kernel wherever it runs (threshold 100000); summary by
#   cuda-tf32-paths.py.
# Run from the folder scripts/cuda-pack.sh made.
# Usage: bash cuda-run15.sh OUTDIR STEP...
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
shift
suites=${SUITES:-paper,resnet50,vgg16}
if [[ " $* " == *" tests "* ]]; then
  cuda_tests "*Mec*:*Awkward*:*Errors*"
fi
if [[ " $* " == *" ab "* ]]; then
  SUITES=$suites bash "$here/cuda-run14.sh" "$out" ab
fi
if [[ " $* " == *" tf32 "* ]]; then
  mkdir -p "$res/tf32"
  for b in ${BATCHES//,/ }; do
    for s in ${suites//,/ }; do
      run() {  # tag, then mecbench arguments
        local tag=$1
        shift
        timeout 200 "$@" --device cuda --batch "$b" --reps 20 --warmup 3 --check none --suite "$s" \
          --json "$res/tf32/${tag}_${s}_b$b.json" > /dev/null 2>&1 || echo "$tag $s b$b failed"
      }
      run cudnn bin/mecbench --math tf32 --algo mec --peer cudnn
      for round in 1 2; do
        run "now_r$round" bin/mecbench --math tf32 --algo mec
        run "cublas_r$round" env MEC_CUDA_GEMM=cublas bin/mecbench --math tf32 --algo mec
        run "forced_r$round" bin/mecbench --math tf32 --algo mec_b --threshold 100000
        run "fp32_r$round" bin/mecbench --math fp32 --algo mec
      done
    done
  done
  python3 "$here/cuda-tf32.py" "$res/tf32" | tee "$res/tf32.txt"
fi
if [[ " $* " == *" paths "* ]]; then
  mkdir -p "$res/paths"
  for round in 1 2; do
    for b in ${BATCHES//,/ }; do
      for s in ${suites//,/ }; do
        common="--device cuda --batch $b --math tf32 --reps 20 --warmup 3 --check none --suite $s"
        timeout 200 bin/mecbench $common --algo mec_a --json "$res/paths/a_${s}_b${b}_r$round.json" \
          > /dev/null 2>&1 || echo "a $s b$b failed"
        MEC_CUDA_GEMM=cublas timeout 200 bin/mecbench $common --algo mec_b \
          --json "$res/paths/b_${s}_b${b}_r$round.json" > /dev/null 2>&1 || echo "b $s b$b failed"
        timeout 200 bin/mecbench $common --algo mec_b --threshold 100000 \
          --json "$res/paths/kernel_${s}_b${b}_r$round.json" > /dev/null 2>&1 || echo "k $s b$b failed"
      done
    done
  done
  python3 "$here/cuda-tf32-paths.py" "$res/paths" | tee "$res/paths.txt"
fi
if [[ " $* " == *" variants "* ]]; then
  mkdir -p "$res/variants"
  variants=${VARIANTS:-mecbench mecbench_k16}
  for round in 1 2; do
    for v in $variants; do
      for b in ${BATCHES//,/ }; do
        for s in ${suites//,/ }; do
          timeout 200 "bin/$v" --device cuda --batch "$b" --math tf32 --algo mec_b --threshold 100000 \
            --reps 20 --warmup 3 --check none --suite "$s" \
            --json "$res/variants/${v}_${s}_b${b}_r$round.json" > /dev/null 2>&1 || echo "$v $s b$b failed"
        done
      done
    done
  done
  python3 - "$res/variants" $variants <<'PY' | tee "$res/variants.txt"
import glob, json, math, os, re, sys
d, names = sys.argv[1], sys.argv[2:]
t = {}  # (variant, suite_batch) -> layer -> best ms
for path in glob.glob(os.path.join(d, "*.json")):
    v, sb = re.match(r"(.+?)_(\w+_b\d+)_r\d\.json", os.path.basename(path)).groups()
    for r in json.load(open(path)):
        if r["status"] == "ok":
            cur = t.setdefault((v, sb), {})
            cur[r["layer"]] = min(cur.get(r["layer"], 1e9), r["median_ms"])
for sb in sorted({k[1] for k in t}):
    base = t.get((names[0], sb), {})
    out = []
    for v in names:
        cur = t.get((v, sb), {})
        rs = [cur[l] / base[l] for l in base if l in cur]
        out.append(f"{v} {math.exp(sum(map(math.log, rs)) / len(rs)):.3f}" if rs else f"{v} -")
    print(sb, "over", names[0] + ":", "  ".join(out))
    for l in base:
        print("   ", l, "  ".join(f"{t.get((v, sb), {}).get(l, float('nan')):.4f}" for v in names))
PY
fi
tar czf "$out/results.tar.gz" -C "$here" results
