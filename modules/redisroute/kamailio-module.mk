# kamailio-module.mk - what redisroute's Makefile and the test module's
# (tests/apimod) share: where the Kamailio tree is, its Makefile.defs, and
# the compile flags. Included by a module Makefile two directories below the
# tree's src/ (in a Kamailio tree: COREPATH is ../.., as for every module) or
# below this repository's top (out of tree: its Makefile passes COREPATH, the
# SDK's src/); the includer then sets NAME and LIBS and includes
# $(COREPATH)/Makefile.modules.

COREPATH ?= ../..

ifeq ($(wildcard $(COREPATH)/Makefile.defs),)
$(error COREPATH=$(COREPATH) is not a Kamailio source tree: build from the repository's top (make, or make KAMAILIO_SRC=/path), or pass COREPATH=<tree>/src)
endif

include $(COREPATH)/Makefile.defs
auto_gen=

HIREDIS_CFLAGS := $(shell pkg-config --cflags hiredis)
HIREDIS_LIBS := $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)

# TLS (rediss://) where hiredis has hiredis_ssl (1.0 and later; Debian 13),
# unless TLS=no. rdr_tls.c uses OpenSSL itself (the host name check).
TLS ?= $(shell pkg-config --exists hiredis_ssl openssl && echo yes)
ifeq ($(TLS),yes)
HIREDIS_CFLAGS += -DRDR_HAVE_TLS $(shell pkg-config --cflags hiredis_ssl openssl)
HIREDIS_LIBS := $(shell pkg-config --libs hiredis_ssl hiredis openssl)
endif

# The SDK is a system include path, so its headers' own warnings do not drown
# ours. -Wextra, less what Kamailio's own API makes unavoidable: cmd_function
# wrappers with unused parameters, find_export() casts in the SDK's *_load_api()
# headers, and export tables that leave trailing fields zero.
DEFS += -isystem $(COREPATH) $(HIREDIS_CFLAGS) -Wextra -Wno-unused-parameter \
	-Wno-cast-function-type -Wno-missing-field-initializers
