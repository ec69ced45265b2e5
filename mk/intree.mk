# make intree-check - the module as a module of a Kamailio 6.x source tree:
# modules/redisroute copied into src/modules/ of a copy of the SDK
# (build/intree/kamailio) and built there with the tree's CMake build
# (modules/redisroute/CMakeLists.txt) and with its own make
# (modules/redisroute/Makefile), then its README made from the docbook by the
# tree's doc machinery. Compile checks: nothing is loaded or run.
# Installs cmake, bison, flex, g++ and the doc tools if missing
# (scripts/deps.sh).
#
#   make intree-check                        against the SDK (or KAMAILIO_SRC)
#   make intree-check INTREE_SRC=/tmp/k601   against another Kamailio tree
#
# Kamailio 5.x has no CMake build: on a 5.6 SDK (Debian 12) the target says
# so in one line and succeeds without checking anything. The Debian 13 leg
# (make test-debian13, Kamailio 6.0) runs it. Logs in build/intree/.

INTREE_SRC ?= $(abspath $(COREPATH)/..)
INTREE_DIR := $(CURDIR)/$(BUILD)/intree

.PHONY: intree-check

intree-check: $(SDK_DEP)
	@bash scripts/intree-check.sh "$(INTREE_SRC)" "$(INTREE_DIR)"
