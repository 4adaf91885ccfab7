#!/usr/bin/env bash
# Installs the Debian 12 packages mec needs, skipping those already present,
# so that `make test` and `make bench` work on a fresh machine.
set -euo pipefail

packages=(
  build-essential cmake              # toolchain
  libopenblas-dev libopenblas-openmp-dev  # CBLAS, OpenMP build
  libgtest-dev                       # tests
  libfftw3-dev                       # FFT convolution (fftw3f)
  python3 python3-matplotlib         # scripts/report.py (plots)
  libdnnl-dev libxnnpack-dev libpthreadpool-dev  # mecbench peers (the library never links them)
  clang-14 libclang-rt-14-dev libomp-14-dev libopenblas-pthread-dev  # make asan/tsan/fuzz
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
