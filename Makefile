# greentrain: `make demo` installs what is missing, builds (Release) and runs the main job;
# `make test` does the same set-up, checks formatting (format-check), builds with warnings as
# errors, runs every test, then the checked build (test-sanitize): the whole test suite built
# with ASan+UBSan by clang in $(ASAN_DIR) (no CUDA), any finding failing its test, plus each
# libFuzzer target for TEST_FUZZ_SECONDS (default 15: a smoke run of every target from its seed
# corpus). The checked build compiles at -O0 (half the compile time; the checks are the same);
# its two report end-to-end tests run the programs but not the Chromium page checks, and the
# Python package's and the Slurm cluster's end-to-end tests run in the normal build only
# (tests/report, tests/python, tests/slurm). Test files compile at -O0 in both builds
# (cmake/GreentrainTest.cmake); the libraries they test stay optimised. `make fuzz` runs only
# the fuzz targets, each for FUZZ_SECONDS (default 30; `make fuzz FUZZ_SECONDS=600`: longer).
# `make format` rewrites the C++/CUDA sources with .clang-format.
# `make install` builds, then installs the binary in $(PREFIX)/bin and the Python package where
# Debian's python3 looks for local packages. `make wheel` builds, then writes the platform wheel
# (the Python package with the binary inside) to $(BUILD_DIR)/dist: `pip install` of it is the
# whole set-up on another machine of the same platform.
# BUILD_DIR, ASAN_DIR, JOBS, FUZZ_SECONDS, TEST_FUZZ_SECONDS, PREFIX, PYTHON_SITE and DESTDIR
# can be overridden.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 30
TEST_FUZZ_SECONDS ?= 15
GREENTRAIN = $(BUILD_DIR)/greentrain
PREFIX ?= /usr/local
PYTHON_SITE ?= $(shell /usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_path("purelib"))')

# A finding aborts (so it can never pass for an expected exit code); leaks are findings too.
SANITIZER_ENV = ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1

# The checked build's suite (make test, make test-sanitize).
CHECKED_SUITE = cd $(ASAN_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) --timeout 900

# Every C++/CUDA source and header of the project (not generated files, not third-party code).
FORMAT_SOURCES = $(shell find src tests apps bench -type f \( -name '*.cpp' -o -name '*.h' \
                   -o -name '*.cu' -o -name '*.cuh' \) | sort)

.PHONY: deps configure build demo test test-sanitize configure-sanitize fuzz bench clean format format-check \
  install wheel

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON -DGREENTRAIN_CUDA=AUTO \
	  $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The demo installs and builds only what it runs: the binary, without the tests; the CUDA backend
# only on a machine with an NVIDIA GPU (it runs on the CPU otherwise).
DEMO_CUDA = $(shell ls /dev/nvidia0 >/dev/null 2>&1 && echo AUTO || echo OFF)
demo:
	@scripts/install-deps demo
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
	  -DGREENTRAIN_CUDA=$(DEMO_CUDA) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target greentrain
	@scripts/demo $(GREENTRAIN)

# While the normal build's suite runs (much of it waits on children, sleeps, Python and
# browsers), the checked build compiles beside it at the lowest CPU priority, its output in
# $(BUILD_DIR)/checked-build.log (shown when it fails); then the checked suite runs.
test: build
	@$(MAKE) --no-print-directory format-check
	@log=$(BUILD_DIR)/checked-build.log; \
	  nice -n 19 $(MAKE) --no-print-directory configure-sanitize FUZZ_SECONDS=$(TEST_FUZZ_SECONDS) \
	    >$$log 2>&1 & checked=$$!; \
	  (cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900); tests=$$?; \
	  wait $$checked; built=$$?; \
	  [ $$built -eq 0 ] || { cat $$log; echo "make test: the checked build failed (above)" >&2; }; \
	  [ $$tests -eq 0 ] && [ $$built -eq 0 ]
	@$(CHECKED_SUITE)

configure-sanitize: deps
	@cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DGREENTRAIN_CUDA=OFF -DGREENTRAIN_SANITIZE=ON \
	  -DGREENTRAIN_FUZZ=ON -DGREENTRAIN_FUZZ_SECONDS=$(FUZZ_SECONDS) -DGREENTRAIN_WERROR=OFF \
	  -DGREENTRAIN_TEST_REFERENCE_CACHE=$(abspath $(BUILD_DIR))/reference-cache $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)

test-sanitize:
	@$(MAKE) --no-print-directory configure-sanitize FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	@$(CHECKED_SUITE)

fuzz: configure-sanitize
	@cd $(ASAN_DIR) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) -L fuzz \
	  --timeout $$(( $(FUZZ_SECONDS) + 600 ))

format-check:
	@clang-format --dry-run -Werror --ferror-limit=1 $(FORMAT_SOURCES) || \
	  { echo "make format-check: the files above differ from .clang-format; run 'make format'" >&2; exit 1; }

format:
	@clang-format -i $(FORMAT_SOURCES)

install: build
	install -D -m 755 $(GREENTRAIN) $(DESTDIR)$(PREFIX)/bin/greentrain
	install -d $(DESTDIR)$(PYTHON_SITE)/greentrain
	install -m 644 python/greentrain/*.py $(DESTDIR)$(PYTHON_SITE)/greentrain/
	@/usr/bin/python3 -m compileall -q $(DESTDIR)$(PYTHON_SITE)/greentrain >/dev/null || true
	@echo "installed $(DESTDIR)$(PREFIX)/bin/greentrain and the Python package in $(DESTDIR)$(PYTHON_SITE)/greentrain"

wheel: build
	@scripts/build-wheel $(GREENTRAIN) $(BUILD_DIR)/dist

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
