# greentrain: `make demo` installs what is missing, builds (Release) and runs the main job;
# `make test` does the same set-up, checks formatting (format-check), builds with warnings as
# errors and runs every test. `make format` rewrites the C++/CUDA sources with .clang-format.
# BUILD_DIR and JOBS can be overridden.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
GREENTRAIN = $(BUILD_DIR)/greentrain

# Every C++/CUDA source and header of the project (not generated files, not third-party code).
FORMAT_SOURCES = $(shell find src tests apps bench -type f \( -name '*.cpp' -o -name '*.h' \
                   -o -name '*.cu' -o -name '*.cuh' \) | sort)

.PHONY: deps configure build demo test bench clean format format-check

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@scripts/demo $(GREENTRAIN)

test: build
	@$(MAKE) --no-print-directory format-check
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

format-check:
	@clang-format --dry-run -Werror --ferror-limit=1 $(FORMAT_SOURCES) || \
	  { echo "make format-check: the files above differ from .clang-format; run 'make format'" >&2; exit 1; }

format:
	@clang-format -i $(FORMAT_SOURCES)

clean:
	rm -rf $(BUILD_DIR)
