#!/usr/bin/env bash
# Packs what scripts/cuda-device-run.sh needs into DIR (default
# /work/main/.devcarry, the folder the device tool carries): binaries of a
# CUDA build (BUILD, default build-dev: configured with
# -DCMAKE_DISABLE_FIND_PACKAGE_dnnl=ON, XNNPACK off, so that what travels
# stays under 64 MiB; XNNPACK, if found anyway, travels as a library), OpenBLAS
# and its runtime, the shape files.
set -euo pipefail
build=${BUILD:-build-dev}
dir=${1:-/work/main/.devcarry}
rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/bench" /tmp/mec-devlib
cp "$build/tools/mecbench/mecbench" "$build/tests/cuda_algorithms_test" "$dir/bin/"
cp -r bench/shapes "$dir/bench/"
cp scripts/cuda-device-run.sh "$dir/run.sh"
cp scripts/cuda-device-env.sh scripts/cuda-run*.sh scripts/cuda-before-after.py scripts/cuda-ab.py scripts/cuda-tf32.py scripts/cuda-tf32-paths.py scripts/cuda-repeat.py scripts/cuda-from-src.py scripts/cuda-variants.py \
  scripts/cuda-passes.py "$dir/"
for lib in $(ldd "$dir/bin/mecbench" | awk '/openblas|gfortran|quadmath|gomp|XNNPACK|pthreadpool|cpuinfo/ {print $3}'); do
  cp -L "$lib" /tmp/mec-devlib/
done
tar czf "$dir/devlib.tar.gz" -C /tmp/mec-devlib .
du -sh "$dir"
