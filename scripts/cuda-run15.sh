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
#   each of bin/$VARIANTS (default "mecbench_before mecbench"), two
#   interleaved rounds, per suite of SUITES and batch of BATCHES; geomeans
#   of each over the first.
# - paths: with TF32 allowed, per suite and batch, two rounds of mec_a,
#   mec_b (MEC_CUDA_GEMM=cublas: Solution B over cuBLAS) and mec_b with
#   our kernel wherever it runs (threshold 100000); summary by
#   cuda-tf32-paths.py.
# - ncu: ncu's speed-of-light, pipes, warp states, scheduler and occupancy
#   of our kernel's TF32 path on VGG-16's conv3_1 and cv10 at batch 32,
#   and its SASS source counters on conv3_1 (csv).
# - repeat: MEC and cuDNN on the paper layers, REPEATS (default 3) runs
#   back to back per batch of BATCHES and math (fp32, tf32): how much the
#   MEC / cuDNN geomean moves within one call (cuda-repeat.py).
# Run from the folder scripts/cuda-pack.sh made.
# Usage: bash cuda-run15.sh OUTDIR STEP...
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
shift
suites=${SUITES:-paper,resnet50,vgg16}
# bench JSON BATCH SUITE PROGRAM ARGS...: one mecbench run (20 reps after 3
# warm-ups, no check) of a suite at a batch, records into JSON.
bench() {
  local json=$1 b=$2 s=$3
  shift 3
  timeout 200 "$@" --device cuda --batch "$b" --reps 20 --warmup 3 --check none --suite "$s" \
    --json "$json" > /dev/null 2>&1 || echo "$(basename "$json") failed"
}
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
      out_of() { echo "$res/tf32/${1}_${s}_b$b.json"; }
      bench "$(out_of cudnn)" "$b" "$s" bin/mecbench --math tf32 --algo mec --peer cudnn
      for round in 1 2; do
        bench "$(out_of now_r$round)" "$b" "$s" bin/mecbench --math tf32 --algo mec
        bench "$(out_of cublas_r$round)" "$b" "$s" env MEC_CUDA_GEMM=cublas bin/mecbench \
          --math tf32 --algo mec
        bench "$(out_of forced_r$round)" "$b" "$s" bin/mecbench --math tf32 --algo mec_b \
          --threshold 100000
        bench "$(out_of fp32_r$round)" "$b" "$s" bin/mecbench --math fp32 --algo mec
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
        out="$res/paths/%s_${s}_b${b}_r$round.json"
        bench "$(printf "$out" a)" "$b" "$s" bin/mecbench --math tf32 --algo mec_a
        bench "$(printf "$out" b)" "$b" "$s" env MEC_CUDA_GEMM=cublas bin/mecbench --math tf32 \
          --algo mec_b
        bench "$(printf "$out" kernel)" "$b" "$s" bin/mecbench --math tf32 --algo mec_b \
          --threshold 100000
      done
    done
  done
  python3 "$here/cuda-tf32-paths.py" "$res/paths" | tee "$res/paths.txt"
fi
if [[ " $* " == *" ncu "* ]]; then
  for shape in conv3_1=h56w56c128k256r3s3p1 cv10=h28w28c128k128r3s3; do
    timeout 150 ncu --clock-control none --kernel-name regex:mec_gemm --launch-count 1 \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats \
      --section SchedulerStats --section Occupancy --section InstructionStats \
      bin/mecbench --device cuda --batch 32 --math tf32 --algo mec_b --check none --reps 1 \
      --warmup 0 --shape "$shape" > "$res/ncu_${shape%%=*}.txt" 2>&1
    echo "ncu ${shape%%=*} rc=$?"
  done
  timeout 150 ncu --clock-control none --kernel-name regex:mec_gemm --launch-count 1 \
    --section SourceCounters -f -o "$res/src_conv3_1" bin/mecbench --device cuda --batch 32 \
    --math tf32 --algo mec_b --check none --reps 1 --warmup 0 --shape conv3_1=h56w56c128k256r3s3p1 \
    > /dev/null 2>&1
  ncu -i "$res/src_conv3_1.ncu-rep" --page source --print-source sass --csv > "$res/src_conv3_1.csv" 2>&1
  rm -f "$res/src_conv3_1.ncu-rep"
  gzip -f "$res/src_conv3_1.csv"
fi
if [[ " $* " == *" repeat "* ]]; then
  mkdir -p "$res/repeat"
  for i in $(seq 1 "${REPEATS:-3}"); do
    for b in ${BATCHES//,/ }; do
      for math in fp32 tf32; do
        bench "$res/repeat/${math}_b${b}_r$i.json" "$b" paper bin/mecbench --math $math --algo mec \
          --peer cudnn
      done
    done
  done
  python3 "$here/cuda-repeat.py" "$res/repeat" | tee "$res/repeat.txt"
fi
if [[ " $* " == *" variants "* ]]; then
  mkdir -p "$res/variants"
  variants=${VARIANTS:-mecbench_before mecbench}
  for round in 1 2; do
    for v in $variants; do
      for b in ${BATCHES//,/ }; do
        for s in ${suites//,/ }; do
          bench "$res/variants/${v}_${s}_b${b}_r$round.json" "$b" "$s" "bin/$v" --math tf32 \
            --algo mec_b --threshold 100000
        done
      done
    done
  done
  python3 - "$res/variants" $variants <<'PY' | tee "$res/variants.txt"
import glob, json, math, os, re, sys
d, names = sys.argv[1], sys.argv[2:]
t = {}  # (variant, suite_batch) -> layer -> best ms
for path in glob.glob(os.path.join(d, "*.json")):
    base = os.path.basename(path)
    v = max((n for n in names if base.startswith(n + "_")), key=len)  # the longest name that fits
    sb = re.match(re.escape(v) + r"_(\w+_b\d+)_r\d\.json", base).group(1)
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
