# greentrain: `make demo` installs what is missing, builds (Release) and runs the main job;
# `make test` does the same set-up, then runs every test; `make install` builds, then installs
# the binary in $(PREFIX)/bin and the Python package where Debian's python3 looks for local
# packages. BUILD_DIR, JOBS, PREFIX, PYTHON_SITE and DESTDIR can be overridden.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
GREENTRAIN = $(BUILD_DIR)/greentrain
PREFIX ?= /usr/local
PYTHON_SITE ?= $(shell /usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_path("purelib"))')

.PHONY: deps configure build demo test bench clean install

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@scripts/demo $(GREENTRAIN)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

install: build
	install -D -m 755 $(GREENTRAIN) $(DESTDIR)$(PREFIX)/bin/greentrain
	install -d $(DESTDIR)$(PYTHON_SITE)/greentrain
	install -m 644 python/greentrain/*.py $(DESTDIR)$(PYTHON_SITE)/greentrain/
	@/usr/bin/python3 -m compileall -q $(DESTDIR)$(PYTHON_SITE)/greentrain >/dev/null || true
	@echo "installed $(DESTDIR)$(PREFIX)/bin/greentrain and the Python package in $(DESTDIR)$(PYTHON_SITE)/greentrain"

clean:
	rm -rf $(BUILD_DIR)
