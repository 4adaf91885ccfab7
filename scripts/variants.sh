#!/usr/bin/env bash
# What every plan runs, as one sorted line per (suite, batch, threads or
# math, layer, algorithm): Conv2dPlan::variant() and the workspace bytes, from
# `mecbench --dry-run` (plans are made, nothing runs: seconds). Taken before
# a change that must not alter the library's choices and again after it,
# the two outputs must be identical (diff them): a refactor is then proved
# to plan the same paths on every layer of the suites below.
#
#   scripts/variants.sh [cpu]   batch 1 on 1 and 2 threads, batch 8 on 2 threads
#   scripts/variants.sh cuda    device 0 at batch 1 and 32, --math fp32 and tf32
#
# Line: SUITE bBATCH tTHREADS|MATH LAYER ALGO VARIANT WORKSPACE_BYTES, where
# VARIANT is "unsupported" or "error" (and WORKSPACE_BYTES "-") for a plan
# that cannot be made. The CPU variants name the micro-kernel ISA, so compare
# outputs taken on the same machine. MECBENCH overrides the binary (default:
# BUILD/tools/mecbench/mecbench, BUILD defaulting to build).
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${MECBENCH:-${BUILD:-build}/tools/mecbench/mecbench}
device=${1:-cpu}
suites="paper resnet50 vgg16 mobilenet_v1 grouped"
algos=direct,im2col,mec_a,mec_b,mec,auto,fft,winograd,winograd_f2,winograd_f4
if [[ $device != cpu && $device != cuda ]]; then
  echo "variants.sh: unknown device '$device' (cpu or cuda)" >&2
  exit 2
fi
if [[ ! -x $bench ]]; then
  echo "variants.sh: no mecbench at $bench (build it, or set MECBENCH)" >&2
  exit 2
fi
table=$(mktemp)
trap 'rm -f "$table"' EXIT
# Without a usable GPU every CUDA plan is "unsupported": that is no baseline.
if [[ $device == cuda ]]; then
  "$bench" --dry-run --device cuda --shape h4w4c1k1 --algo direct > "$table" || true
  if ! grep -q "^s1 .* direct/" "$table"; then
    echo "variants.sh: no CUDA plan can be made here:" >&2
    grep "^s1 " "$table" >&2 || cat "$table" >&2
    exit 2
  fi
fi

# One dry run; its table's rows prefixed with the run's key.
plans() {  # suite key mecbench-arguments...
  local suite=$1 key=$2
  shift 2
  if ! "$bench" --dry-run --suite "$suite" --algo "$algos" "$@" > "$table"; then
    echo "variants.sh: mecbench --dry-run --suite $suite $* failed" >&2
    cat "$table" >&2
    return 1
  fi
  awk -v suite="$suite" -v key="$key" \
    '!/^#/ && $1 != "layer" && NF >= 5 { print suite, key, $1, $3, $4, $5 }' "$table"
}

{
  for suite in $suites; do
    case $device in
      cpu)
        plans "$suite" "b1 t1" --batch 1 --threads 1
        plans "$suite" "b8 t2" --batch 8 --threads 2
        # Fewer images than threads: MEC's fast engine lowers L whole first.
        plans "$suite" "b1 t2" --batch 1 --threads 2
        ;;
      cuda)
        for batch in 1 32; do
          for math in fp32 tf32; do
            plans "$suite" "b$batch $math" --device cuda --batch "$batch" --math "$math"
          done
        done
        ;;
    esac
  done
} | LC_ALL=C sort
