#!/usr/bin/env bash
# Run 16 of docs/cuda.md (batch 1 in GPU time), step by step:
# - kernels: ncu's duration, grid and registers of every kernel MEC
#   launches at batch 1 (SUITES), one run per layer, and MEC's gated
#   medians beside, to see where a layer's time goes;
# - detail: ncu's speed-of-light, warp states and occupancy of MEC's
#   kernels on the batch-1 layers that lose to cuDNN (cv3, cv7, cv8, cv9);
# - tiles: MEC at batch 1 (SUITES) with each tile of TILES forced
#   (MEC_CUDA_TILE; "own" = the plan's choice), two interleaved rounds;
#   per layer the best of the rounds and each tile over "own".
# - fromsrc: MEC with the lowering in the kernel's copies against MEC over
#   L (MEC_CUDA_FROM_SRC=0; "auto": kMec's rule; "all": =1, wherever it
#   fits), two interleaved rounds, SUITES at BATCHES (default 1,32) in fp32
#   and TF32 (MATHS), modes MODES (default "l auto all"), cuDNN beside in
#   round 1; summary by cuda-from-src.py.
# - wide: the batch-1 layers of 128 x 128 tiles (fp32), own tile over L,
#   own tile from src, 128 x 64 over L and from src, 64 x 64 from src; two
#   interleaved rounds (tiles-step summary).
# - ab: bin/mecbench_before against bin/mecbench (cuda-run14.sh's ab step:
#   SUITES, batches 32 and 1).
# Run from the folder scripts/cuda-pack.sh made.
# Usage: bash cuda-run16.sh OUTDIR STEP...
set -uo pipefail
out=$1
source "$(dirname "$0")/cuda-device-env.sh"
shift
suites=${SUITES:-paper,resnet50,vgg16}
losers="cv3=h227w227c3k64r7s7u2,cv7=h224w224c3k64r3s3,cv8=h112w112c64k128r3s3,cv9=h56w56c64k64r3s3"
if [[ " $* " == *" tests "* ]]; then
  cuda_tests "*Mec*:*Awkward*:*Errors*"
fi
if [[ " $* " == *" kernels "* ]]; then
  mkdir -p "$res/kernels"
  for s in ${suites//,/ }; do
    timeout 200 ncu --clock-control none --csv --page raw \
      --metrics gpu__time_duration.sum,launch__grid_size,launch__block_size,launch__registers_per_thread \
      bin/mecbench --device cuda --batch 1 --algo mec --check none --reps 1 --warmup 0 --suite "$s" \
      > "$res/kernels/ncu_$s.csv" 2> "$res/kernels/ncu_$s.err"
    echo "ncu $s rc=$?"
    timeout 200 bin/mecbench --device cuda --batch 1 --algo mec --check none --reps 20 --warmup 3 \
      --suite "$s" --json "$res/kernels/mec_$s.json" > /dev/null 2>&1 || echo "mec $s failed"
  done
fi
if [[ " $* " == *" detail "* ]]; then
  timeout 300 ncu --clock-control none --kernel-name regex:"mec_" --section SpeedOfLight \
    --section LaunchStats --section Occupancy --section WarpStateStats --section SchedulerStats \
    --section MemoryWorkloadAnalysis \
    bin/mecbench --device cuda --batch 1 --algo mec --check none --reps 1 --warmup 0 \
    --shape "$losers" > "$res/detail.txt" 2>&1
  echo "detail rc=$?"
fi
if [[ " $* " == *" tiles "* ]]; then
  mkdir -p "$res/tiles"
  tiles=${TILES:-own 128x128 128x64 64x64 32x64 128x128x2 64x64x1 64x64x2}
  for round in 1 2; do
    for tile in $tiles; do
      for s in ${suites//,/ }; do
        MEC_CUDA_TILE=${tile/own/} timeout 100 bin/mecbench --device cuda --batch 1 --algo mec \
          --reps 20 --warmup 3 --check none --suite "$s" \
          --json "$res/tiles/${tile}_${s}_r$round.json" > /dev/null 2>&1 || echo "$tile $s failed"
      done
    done
  done
  python3 - "$res/tiles" $tiles <<'PY' | tee "$res/tiles.txt"
import glob, json, math, os, sys
d, tiles = sys.argv[1], sys.argv[2:]
t = {}  # (tile, layer) -> best median ms
layers = []
for path in sorted(glob.glob(os.path.join(d, "*.json"))):
    tile = os.path.basename(path).split("_")[0]
    for r in json.load(open(path)):
        if r["status"] == "ok":
            k = (tile, r["layer"])
            t[k] = min(t.get(k, 1e9), r["median_ms"])
            if r["layer"] not in layers:
                layers.append(r["layer"])
print("layer      " + " ".join(f"{x:>10}" for x in tiles) + "   (ms; best tile over own)")
for l in layers:
    own = t.get(("own", l))
    row = [t.get((x, l), float("nan")) for x in tiles]
    best = min((v, x) for v, x in zip(row, tiles) if v == v)
    print(f"{l:<10} " + " ".join(f"{v:10.4f}" for v in row) + f"   {best[1]} {best[0] / own:.3f}")
for x in tiles:
    rs = [t[(x, l)] / t[("own", l)] for l in layers if (x, l) in t and ("own", l) in t]
    print(x, "over own, geomean", f"{math.exp(sum(map(math.log, rs)) / len(rs)):.3f}" if rs else "-")
PY
fi
if [[ " $* " == *" fromsrc "* ]]; then
  mkdir -p "$res/fromsrc"
  for round in 1 2; do
    for b in $(echo ${BATCHES:-1,32} | tr , ' '); do
      for math in ${MATHS:-fp32 tf32}; do
        for s in ${suites//,/ }; do
          for mode in ${MODES:-l auto all}; do
            peer=""
            [[ $round == 1 && $mode == auto ]] && peer="--peer cudnn"
            env_mode=$([[ $mode == l ]] && echo 0 || ([[ $mode == all ]] && echo 1 || echo ""))
            MEC_CUDA_FROM_SRC=$env_mode timeout 200 bin/mecbench --device cuda --batch "$b" \
              --math $math --algo mec $peer --reps 20 --warmup 3 --check none --suite "$s" \
              --json "$res/fromsrc/${mode}_${s}_b${b}_${math}_r$round.json" > /dev/null 2>&1 ||
              echo "$mode $s b$b $math failed"
          done
        done
      done
    done
  done
  python3 "$here/cuda-from-src.py" "$res/fromsrc" | tee "$res/fromsrc.txt"
fi
if [[ " $* " == *" wide "* ]]; then
  mkdir -p "$res/wide"
  wide="cv8=h112w112c64k128r3s3,conv2_1=h112w112c64k128r3s3p1,conv2_2=h112w112c128k128r3s3p1"
  wide="$wide,conv3_1=h56w56c128k256r3s3p1,conv3_2=h56w56c256k256r3s3p1"
  variants="ownL:0: ownS:1: 128x64L:0:128x64 128x64S:1:128x64 64x64S:1:64x64"
  for round in 1 2; do
    for v in $variants; do
      IFS=: read -r name mode tile <<< "$v"
      MEC_CUDA_FROM_SRC=$mode MEC_CUDA_TILE=$tile timeout 100 bin/mecbench --device cuda --batch 1 \
        --algo mec --reps 20 --warmup 3 --check none --shape "$wide" \
        --json "$res/wide/${name}_r$round.json" > /dev/null 2>&1 || echo "$name failed"
    done
  done
  python3 "$here/cuda-variants.py" "$res/wide" ownL ownS 128x64L 128x64S 64x64S |
    tee "$res/wide.txt"
fi
if [[ " $* " == *" ab "* ]]; then
  SUITES=$suites bash "$here/cuda-run14.sh" "$out" ab
fi
tar czf "$out/results.tar.gz" -C "$here" results
