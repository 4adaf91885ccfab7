#!/usr/bin/env bash
# Installs the Debian 12 packages that one purpose needs, skipping those
# already present, so that the Makefile's targets work on a fresh machine that
# has only `make` and `git` (README). The package lists live here and nowhere
# else; the Makefile names a profile per target:
#   test   make test (the default): toolchain, CMake, OpenBLAS, FFTW, GoogleTest,
#          mecbench's peers (its test runs them), pkg-config, python3
#   bench  make bench: test's packages and matplotlib for the plots
#   san    make tsan / make fuzz: test's packages and Clang 14 with its
#          sanitizer runtimes, libomp and the pthread OpenBLAS
#   all    every package above
# Usage: scripts/install-deps.sh [--list] [PROFILE...]
# --list prints the profiles' packages instead of installing them.
# Uses sudo when not run as root; installs without Recommends, so every
# package the build reads must be named here.
set -euo pipefail

test_pkgs=(
  build-essential cmake pkg-config                 # toolchain; pkg-config for the .pc consumer test
  libopenblas-dev libopenblas-openmp-dev           # CBLAS, OpenMP build
  libfftw3-dev                                     # FFT convolution (fftw3f)
  libgtest-dev                                     # tests
  python3 python3-dev pybind11-dev python3-numpy   # the Python module and its test
  libdnnl-dev ocl-icd-opencl-dev                   # mecbench peer oneDNN; its CMake config
                                                   # calls find_package(OpenCL), only a Recommends
  libxnnpack-dev libpthreadpool-dev                # mecbench peer XNNPACK (the library never links the peers)
)
bench_pkgs=(
  python3-matplotlib                               # scripts/report.py (plots)
)
san_pkgs=(
  clang-14 libclang-rt-14-dev libomp-14-dev        # make tsan / make fuzz: Clang, TSan/libFuzzer runtimes, Archer
  libopenblas-pthread-dev                          # BLAS that does not meet Clang's libomp
)

list=0
profiles=()
for arg in "$@"; do
  case "$arg" in
    --list) list=1 ;;
    test|bench|san|all) profiles+=("$arg") ;;
    *) echo "install-deps: unknown profile '$arg' (test, bench, san, all)" >&2; exit 2 ;;
  esac
done
[ ${#profiles[@]} -eq 0 ] && profiles=(test)

packages=()
for prof in "${profiles[@]}"; do
  case "$prof" in
    test) packages+=("${test_pkgs[@]}") ;;
    bench) packages+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
    san) packages+=("${test_pkgs[@]}" "${san_pkgs[@]}") ;;
    all) packages+=("${test_pkgs[@]}" "${bench_pkgs[@]}" "${san_pkgs[@]}") ;;
  esac
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++')

if [ "$list" -eq 1 ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null; then
    echo "install-deps: not root and no sudo: install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  SUDO=(sudo)
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
