# The two commands of the README. Each installs what is missing (Debian
# packages, via scripts/install-deps.sh), configures, builds and runs.
#   make test              build and run the whole test suite (ctest)
#   make bench             the paper's experiments, every algorithm and peer, both
#                          settings, report and plots in results/ (scripts/bench-report.sh)
#   make bench ARGS="..."  run mecbench with these arguments
# Reliability (docs/reliability.md):
#   make asan              tests under AddressSanitizer + UBSan (build-asan)
#   make tsan              tests under ThreadSanitizer, Clang + libomp + Archer (build-tsan)
#   make fuzz FUZZ_TIME=s  the descriptor fuzzer for s seconds (default 600; build-fuzz);
#                          FUZZ_SEED=n fixes libFuzzer's seed (default 0: a new one each run)
# A fresh machine (scripts/fresh-check.sh; root, uses debootstrap and chroot):
#   make fresh-check       a clean clone of HEAD runs `make test` in a new minimal
#                          Debian 12 root that has only what the README names
# Each target installs only its own packages (scripts/install-deps.sh PROFILE:
# test for test and asan, bench for bench, san for tsan and fuzz). Nothing
# here runs gcc or another installed tool before those packages are in.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps deps-bench deps-san configure build test bench clean asan tsan fuzz fresh-check

all: build

deps:
	@bash scripts/install-deps.sh test

deps-bench:
	@bash scripts/install-deps.sh bench

deps-san:
	@bash scripts/install-deps.sh san

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release > /dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

bench: deps-bench build
ifeq ($(strip $(ARGS)),)
	@BUILD=$(BUILD) bash scripts/bench-report.sh
else
	@$(BUILD)/tools/mecbench/mecbench $(ARGS)
endif

clean:
	@rm -rf $(BUILD) build-asan build-tsan build-fuzz

fresh-check:
	@bash scripts/fresh-check.sh

# Sanitizer builds link the pthread OpenBLAS with one BLAS thread under
# Clang (its libomp must not meet the OpenMP OpenBLAS's libgomp). Recursive
# (=) variables: MULTIARCH is computed only when a recipe that names it is
# expanded, after its deps-san prerequisite has installed dpkg-dev.
MULTIARCH = $(shell dpkg-architecture -qDEB_HOST_MULTIARCH)
CLANG_BLAS = -DMEC_BLAS_LIBRARY=/usr/lib/$(MULTIARCH)/openblas-pthread/libopenblas.so \
	-DMEC_CBLAS_INCLUDE=/usr/include/$(MULTIARCH)/openblas-pthread
SAN_ENV := OPENBLAS_NUM_THREADS=1 KMP_BLOCKTIME=0 \
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
FUZZ_TIME ?= 600
FUZZ_SEED ?= 0
TSAN_CTEST ?= -LE slow

asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEC_BUILD_BENCH=OFF -DMEC_ENABLE_CUDA=OFF \
		-DMEC_SANITIZE=address,undefined > /dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) -LE slow

tsan: deps-san
	@CXX=clang++-14 cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMEC_BUILD_BENCH=OFF -DMEC_ENABLE_CUDA=OFF -DMEC_SANITIZE=thread $(CLANG_BLAS) > /dev/null
	@cmake --build build-tsan -j $(JOBS)
	@cd build-tsan && OPENBLAS_NUM_THREADS=1 OMP_TOOL_LIBRARIES=libarcher.so \
		TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1" \
		LD_LIBRARY_PATH=/usr/lib/llvm-14/lib ctest --output-on-failure -j $(JOBS) $(TSAN_CTEST)

fuzz: deps-san
	@CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMEC_BUILD_BENCH=OFF -DMEC_ENABLE_CUDA=OFF -DMEC_BUILD_TESTS=OFF -DMEC_BUILD_FUZZ=ON \
		-DMEC_SANITIZE=address,undefined $(CLANG_BLAS) > /dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@mkdir -p build-fuzz/corpus build-fuzz/artifacts
	@$(SAN_ENV) build-fuzz/fuzz/conv_fuzzer -max_total_time=$(FUZZ_TIME) -seed=$(FUZZ_SEED) -timeout=30 -max_len=256 \
		-rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ \
		build-fuzz/corpus fuzz/corpus
