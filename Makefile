# redisroute - top-level build, run and test.
#
#   make run      install what is missing, build, start redis + kamailio
#   make test     install what is missing, build, run the whole test suite
#   make layout-check  no two of the module's files call each other
#   make          build modules/redisroute/redisroute.so
#   make install  copy the module into Debian's kamailio module directory
#   make deb      a .deb of the module, for exactly this kamailio version
#   make docs     the module README from its docbook (doc/)
#   make test-debian13   make test inside a Debian 13 root (mk/debian-root.mk)
#   make intree-check    build the module inside a Kamailio 6.x tree, with its
#                        CMake and its make (mk/intree.mk)
#   make fuzz, make memcheck, make bench   see mk/*.mk
#
# KAMAILIO_SRC=/path builds against your own configured Kamailio tree instead
# of the Debian source fetched into build/.

BUILD := build
PYTHON := /usr/bin/python3
MODULE := modules/redisroute/redisroute.so

ifeq ($(KAMAILIO_SRC),)
COREPATH := $(CURDIR)/$(BUILD)/kamailio-src/src
SDK_DEP := sdk
else
COREPATH := $(firstword $(wildcard $(abspath $(KAMAILIO_SRC))/src/Makefile.defs) \
	$(wildcard $(abspath $(KAMAILIO_SRC))/Makefile.defs))
COREPATH := $(patsubst %/Makefile.defs,%,$(COREPATH))
SDK_DEP :=
endif

.PHONY: all build apimod deps sdk install run test unit e2e layout-check clean \
	distclean

all: build

# extra targets (fuzz, memcheck, bench, ...), one file each; after `all`, so
# that a plain `make` still builds
-include mk/*.mk

deps:
	@bash scripts/deps.sh

sdk: deps
	@bash scripts/fetch-sdk.sh $(BUILD)

build: $(SDK_DEP)
	@if [ -z "$(COREPATH)" ]; then \
		echo "KAMAILIO_SRC=$(KAMAILIO_SRC) holds no configured Kamailio tree (src/Makefile.defs)"; exit 1; fi
	$(MAKE) -C modules/redisroute COREPATH=$(COREPATH)

# tests/apimod/apitest.so: a test module that uses the module's C API
# (api.h), for tests/e2e/test_api.py; not part of build, install or deb
apimod: build
	$(MAKE) -C tests/apimod COREPATH=$(COREPATH)

# into Debian's module directory, from where kamailio loads sl, tm, ...
# (scripts/moddir.sh finds it)
install: build
	@moddir=$$(sh scripts/moddir.sh) && \
	install -m 0644 $(MODULE) "$$moddir/redisroute.so" && \
	echo "installed $$moddir/redisroute.so"

run: build
	@bash scripts/run.sh

unit: deps
	$(MAKE) -C tests/unit check

# E2E_TESTS: test files to run (default: all); REDIS_SERVER=valkey-server runs
# them against Valkey (valkey-cli and valkey-sentinel beside it)
E2E_TESTS ?=

e2e: build apimod
	cd tests/e2e && $(PYTHON) -m pytest -q -p no:cacheprovider $(E2E_TESTS)

# seconds each libFuzzer harness runs within `make test` (CI: about a minute)
TEST_FUZZ_SECONDS ?= 20

# no two of the module's files call each other (the objects make build left)
layout-check: build
	sh tests/unit/layout_check.sh

test: build apimod
	$(MAKE) -C tests/unit check
	sh tests/unit/layout_check.sh
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	cd tests/e2e && $(PYTHON) -m pytest -q -p no:cacheprovider

clean:
	-$(MAKE) -C modules/redisroute COREPATH=$(COREPATH) clean >/dev/null 2>&1
	rm -f modules/redisroute/*.o modules/redisroute/*.d modules/redisroute/*.so \
		modules/redisroute/*.lst
	rm -f tests/apimod/*.o tests/apimod/*.d tests/apimod/*.so tests/apimod/*.lst
	-$(MAKE) -C tests/unit clean

distclean: clean
	rm -rf $(BUILD)
