#!/usr/bin/env bash
# The CUDA tests and the GPU benchmark on a machine with an NVIDIA GPU, from
# a CUDA build made on another machine (the GPU machine need not have the
# compilers or the Debian packages). Two halves:
#   bash scripts/gpu-check.sh pack BUILD DIR   (here) copies the test and
#       mecbench binaries, libmec and its CUDA backend, the libraries they
#       need that a GPU machine may lack (OpenBLAS, FFTW, oneDNN, XNNPACK)
#       and the shape files into DIR/pack.tgz.
#   bash scripts/gpu-check.sh run DIR OUT [tests] [memcheck] [bench]  (there)
#       unpacks DIR/pack.tgz and runs the steps: the CUDA test suites
#       (tests/cuda_*_test); their sweeps and API tests under compute-sanitizer
#       memcheck; mecbench over the paper
#       layers against cuDNN at batch 1 and 32, fp32 and TF32 (SUITES and
#       ALGOS override the suites and our algorithms). Logs and JSON go to
#       OUT; a summary is printed.
set -uo pipefail
mode=${1:-}

if [ "$mode" = pack ]; then
  build=$2
  dir=$(realpath -m "$3")
  rm -rf "$dir/stage" && mkdir -p "$dir/stage/bin" "$dir/stage/lib" "$dir/stage/share/mec"
  cp "$build"/tests/cuda_*_test "$build/tests/backend_test" "$build/tools/mecbench/mecbench" \
    "$dir/stage/bin/"
  cp -P "$build"/lib/libmec*.so* "$dir/stage/lib/"
  ldd "$build/tools/mecbench/mecbench" "$build/tests/cuda_algorithms_test" |
    awk '/openblas|gfortran|quadmath|gomp|XNNPACK|pthreadpool|cpuinfo|dnnl|fftw/ {print $3}' |
    sort -u | xargs -r -I{} cp -L {} "$dir/stage/lib/"
  cp -r bench/shapes "$dir/stage/share/mec/"
  tar czf "$dir/pack.tgz" -C "$dir/stage" . && rm -rf "$dir/stage"
  du -sh "$dir/pack.tgz"
  exit 0
fi

[ "$mode" = run ] || { echo "usage: gpu-check.sh pack BUILD DIR | run DIR OUT [steps]" >&2; exit 2; }
dir=$(realpath "$2")
out=$3
shift 3
mkdir -p "$out" "$dir/run" && tar xzf "$dir/pack.tgz" -C "$dir/run"
cd "$dir/run" || exit 1
cudnn_lib=$(dirname "$(find / -xdev -name 'libcudnn.so.9' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$PWD/lib:/usr/local/cuda/lib64:$cudnn_lib:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$out/gpu.txt"
ldd bin/mecbench | grep "not found"
status=0
for step in "$@"; do
  case $step in
    tests)
      timeout 420 bin/backend_test > "$out/backend_test.log" 2>&1
      echo "backend_test rc=$?" && grep -E "cuda\(\)" "$out/backend_test.log"
      for test in bin/cuda_*_test; do
        name=$(basename "$test")
        timeout 420 "$test" > "$out/$name.log" 2>&1
        rc=$?
        echo "$name rc=$rc"
        grep -E "^\[  (PASSED|FAILED) |Failure" "$out/$name.log" | head -20
        [ $rc -eq 0 ] || status=1
      done
      ;;
    memcheck)
      for test in bin/cuda_algorithms_test bin/cuda_api_test; do
        timeout 300 compute-sanitizer --tool memcheck "$test" \
          --gtest_filter="${MEMCHECK_FILTER:-*Awkward*:*Misaligned*:*WinogradSweep*:*Conv2d*:*Errors*}" \
          > "$out/memcheck_$(basename "$test").log" 2>&1
        echo "memcheck $(basename "$test") rc=$?" && tail -3 "$out/memcheck_$(basename "$test").log"
      done
      ;;
    bench)
      for suite in ${SUITES:-paper}; do
        for batch in 1 32; do
          for math in fp32 tf32; do
            name=${suite}_b${batch}_${math}
            timeout 240 bin/mecbench --device cuda --peer cudnn --suite "$suite" --batch "$batch" \
              --math "$math" --algo "${ALGOS:-mec}" --reps 20 --warmup 3 \
              --json "$out/$name.json" > "$out/$name.txt" 2> "$out/$name.err"
            echo "$name rc=$?"
            sed -n '/^MEC time over peer/,$p' "$out/$name.txt" | tail -3
          done
        done
      done
      ;;
    *) echo "unknown step $step" >&2 && exit 2 ;;
  esac
done
exit $status
