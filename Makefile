# voxgate front door. The real build is CMake + Ninja presets (CMakePresets.json).
#   make          build (dev preset)
#   make check    install deps, build with ASan+UBSan, run every test
#   make demo     install deps, build, place a real SIP call through voxgate
#   make bench    release build + every benchmark (summary table into docs/BENCHMARKS.md)
#   make fuzz     clang libFuzzer targets, each run for FUZZ_SECONDS
#   make lint     clang-format check, cppcheck, layer check
#   make format   clang-format in place

FUZZ_SECONDS ?= 60
JOBS ?= $(shell nproc)

.PHONY: all build deps check demo bench fuzz lint format clean tsan release

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

check: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS) -LE integration
	@ctest --preset asan -L integration

tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	@ctest --preset tsan -LE integration -R 'loop|wpool|store|crm|registry|tts|api|flow_session|classifier'

demo: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)
	@scripts/demo.sh build/dev/src/voxgate

bench: release
	@BENCH_WRITE=1 bench/run.sh build/release

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS)

lint: deps
	@scripts/lint.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build
