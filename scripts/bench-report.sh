#!/usr/bin/env bash
# `make bench` without ARGS: the paper's experiments on this machine. Runs
# mecbench on cv1-cv12 at the paper's two settings - mini-batch 1 on one
# thread (its mobile setting) and mini-batch 32 on all cores (its server
# setting) - for every algorithm and both CPU peers, and MEC once more in row
# bands of 8 output rows (--mec-bands 8, docs/mec.md), then the k/s sweep
# (MEC and im2col), and turns the JSON into results/report.md and PNG plots with
# scripts/report.py. Tables go to stdout as each run finishes.
#
# OMP_NUM_THREADS=1 for the one-thread runs keeps every library's own
# thread pool (FFTW, OpenBLAS, oneDNN, XNNPACK) on one core too.
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${BUILD:-build}/tools/mecbench/mecbench
out=${RESULTS:-results}
reps=${REPS:-5}
cores=$(nproc)
algos=direct,im2col,mec_a,mec_b,mec,fft,winograd
mkdir -p "$out"

echo "== cv1-cv12, batch 1, 1 thread (the paper's mobile setting)"
OMP_NUM_THREADS=1 "$bench" --suite paper --algo "$algos" --peer onednn,xnnpack --batch 1 \
  --threads 1 --reps "$reps" --json "$out/paper_b1_t1.json"
OMP_NUM_THREADS=1 "$bench" --suite paper --algo mec --mec-bands 8 --batch 1 --threads 1 \
  --reps "$reps" --json "$out/paper_b1_t1_bands.json"
echo
echo "== cv1-cv12, batch 32, $cores threads (the paper's server setting)"
"$bench" --suite paper --algo "$algos" --peer onednn,xnnpack --batch 32 --threads "$cores" \
  --reps "$reps" --json "$out/paper_b32_t$cores.json"
"$bench" --suite paper --algo mec --mec-bands 8 --batch 32 --threads "$cores" --reps "$reps" \
  --json "$out/paper_b32_t${cores}_bands.json"
echo
echo "== k/s sweep: MEC and im2col, batch 1, 1 thread"
OMP_NUM_THREADS=1 "$bench" --suite ks_sweep --algo mec,im2col --batch 1 --threads 1 \
  --reps "$reps" --json "$out/ks_sweep.json" > "$out/ks_sweep.txt"
echo "(table in $out/ks_sweep.txt)"

# Debian's python3 has python3-matplotlib (scripts/install-deps.sh); prefer it
# over another python3 earlier on the PATH.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" scripts/report.py --build "${BUILD:-build}" --paper "$out/paper_b1_t1.json" \
  --paper "$out/paper_b1_t1_bands.json" --paper "$out/paper_b32_t$cores.json" \
  --paper "$out/paper_b32_t${cores}_bands.json" --ks "$out/ks_sweep.json" --out "$out"
echo "report: $out/report.md, plots $out/workspace.png $out/runtime.png $out/ks.png"
