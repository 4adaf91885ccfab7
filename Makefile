# The two commands of the README. Each installs what is missing (Debian
# packages, via scripts/install-deps.sh), configures, builds and runs.
#   make test              build and run the whole test suite (ctest)
#   make bench ARGS="..."  run mecbench (default: the paper suite)
BUILD ?= build
JOBS ?= $(shell nproc)
ARGS ?= --suite paper

.PHONY: all deps configure build test bench clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release > /dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

bench: build
	@$(BUILD)/tools/mecbench/mecbench $(ARGS)

clean:
	@rm -rf $(BUILD)
