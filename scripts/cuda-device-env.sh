# Sourced by the scripts/cuda-*.sh that run on a lent GPU machine, from the
# folder scripts/cuda-pack.sh made: unpacks the shared libraries that
# machine lacks, points LD_LIBRARY_PATH at them, cuBLAS and cuDNN, makes
# $res (results/) and records the GPU's state there. Sets here and res;
# bench NAME CMD... runs one mecbench command over the paper layers in fp32
# (20 reps after 3 warm-ups) into $res/NAME.{json,txt,err}.
here=$(pwd)
res=$here/results
mkdir -p "$res" /work && ln -sfn "$here" /work/wt-cuda  # MEC_SOURCE_DIR of the binaries
mkdir -p devlib && tar xzf devlib.tar.gz -C devlib
cudnn_lib=$(dirname "$(find / -xdev -name 'libcudnn.so.9' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$here/devlib:/usr/local/cuda/lib64:$cudnn_lib:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv |
  tee "$res/gpu.txt"
bench() {
  local name=$1
  shift
  timeout 200 "$@" --device cuda --math fp32 --reps 20 --warmup 3 --suite paper \
    --json "$res/$name.json" > "$res/$name.txt" 2> "$res/$name.err"
  echo "$name rc=$?"
}
# compare SUITES BATCHES (comma lists): --algo mec of bin/mecbench_before
# (main before a change) and of bin/mecbench with cuDNN beside, 10 reps
# after 3 warm-ups, into $res/SUITE_bB{_before,}.{json,txt}; then the
# per-layer before / after table (cuda-before-after.py).
compare() {
  local suites=$1 batches=$2 b s
  for b in ${batches//,/ }; do
    for s in ${suites//,/ }; do
      timeout 200 bin/mecbench_before --device cuda --batch "$b" --algo mec --reps 10 --warmup 3 \
        --suite "$s" --check none --json "$res/${s}_b${b}_before.json" > "$res/${s}_b${b}_before.txt" 2>&1
      timeout 200 bin/mecbench --device cuda --batch "$b" --algo mec --peer cudnn --reps 10 \
        --warmup 3 --suite "$s" --json "$res/${s}_b${b}.json" > "$res/${s}_b${b}.txt" 2>&1
      echo "$s b$b rc=$?"
    done
  done
  python3 "$here/cuda-before-after.py" "$res" "$suites" "$batches" | tee "$res/before_after.txt"
}
# cuda_tests FILTER: the CUDA tests into $res/tests.log, then
# compute-sanitizer memcheck over the tests FILTER names (gtest filter).
cuda_tests() {
  timeout 300 bin/cuda_algorithms_test > "$res/tests.log" 2>&1
  echo "tests rc=$?"
  grep -E "^\[  (PASSED|FAILED) |Failure" "$res/tests.log" | head
  timeout 200 compute-sanitizer --tool memcheck bin/cuda_algorithms_test --gtest_filter="$1" \
    > "$res/memcheck.log" 2>&1
  echo "memcheck rc=$?"
  tail -3 "$res/memcheck.log"
}
# run_variants DIR BATCH MATH SHAPES VARIANT...: mecbench --algo mec over
# SHAPES (--shape) once per VARIANT, NAME:GEMM:FROM_SRC:TILE (the values of
# MEC_CUDA_GEMM, MEC_CUDA_FROM_SRC and MEC_CUDA_TILE, empty: unset), in two
# interleaved rounds into DIR/NAME_rR.json; then per layer each variant's
# best over the first's (cuda-variants.py) into DIR.txt.
run_variants() {
  local dir=$1 batch=$2 math=$3 shapes=$4 round v name gemm mode tile
  shift 4
  mkdir -p "$dir"
  for round in 1 2; do
    for v in "$@"; do
      IFS=: read -r name gemm mode tile <<< "$v"
      MEC_CUDA_GEMM=$gemm MEC_CUDA_FROM_SRC=$mode MEC_CUDA_TILE=$tile timeout 150 bin/mecbench \
        --device cuda --batch "$batch" --math "$math" --algo mec --reps 20 --warmup 3 \
        --check none --shape "$shapes" --json "$dir/${name}_r$round.json" > /dev/null 2>&1 ||
        echo "$name failed"
    done
  done
  python3 "$here/cuda-variants.py" "$dir" $(for v in "$@"; do echo "${v%%:*}"; done) |
    tee "$dir.txt"
}
