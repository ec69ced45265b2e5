# make docs - the module's documentation, the way Kamailio modules ship it.
#
#   make docs              install the doc tools if missing, validate the
#                          docbook (modules/redisroute/doc/*.xml) and
#                          regenerate modules/redisroute/README from it
#   make docs-check        validate only
#   make docs DOCS_README=/tmp/README   write the README elsewhere (tests)
#
# The README is generated exactly as Kamailio's own `make README` does for a
# module (src/Makefile.modules -> doc/Makefile -> doc/docbook/Makefile of the
# Kamailio tree): xsltproc with the tree's doc/docbook/txt.xsl (which imports
# docbook-xsl's XHTML stylesheets) piped into `lynx -nolist -stdin -dump`.
# The docbook and modules/redisroute/doc/Makefile are written for a Kamailio
# tree, as in-tree modules' are: the entities (&kamailio; ...) and the doc
# machinery are at ../../../../doc/docbook, from src/modules/redisroute/doc.
# Out of tree, that layout is staged in a temporary directory: doc/docbook
# a link to the SDK's (build/kamailio-src, or KAMAILIO_SRC), and
# src/modules/redisroute/doc links to the module's doc files; xmllint and
# the doc Makefile run there. Everything is resolved through Debian's XML
# catalog (/etc/xml/catalog, filled by docbook-xml and docbook-xsl) and run
# with --nonet: no network is ever used, a missing DTD or stylesheet is an
# error, not a download.

DOCS_MODULE := modules/redisroute
DOCS_DIR := $(DOCS_MODULE)/doc
DOCS_MAIN := redisroute.xml
DOCS_README ?= $(CURDIR)/$(DOCS_MODULE)/README
# the Kamailio tree whose doc/docbook the docbook uses (COREPATH is its src/)
ifeq ($(KAMAILIO_SRC),)
DOCS_SDK := $(CURDIR)/$(BUILD)/kamailio-src
else
DOCS_SDK := $(abspath $(COREPATH)/..)
endif
DOCS_PACKAGES := xsltproc docbook-xsl docbook-xml lynx libxml2-utils

# lynx renders by locale: pin it, so the README is the same everywhere
DOCS_ENV := LC_ALL=C.UTF-8 LANG=C.UTF-8 LANGUAGE= XML_CATALOG_FILES=/etc/xml/catalog

# $$tmp/src/modules/redisroute/doc: the module's doc in the layout of a
# Kamailio tree (a shell fragment; $$tmp is made and removed by its caller)
DOCS_STAGE = mkdir -p "$$tmp/doc" "$$tmp/src/modules/redisroute/doc" && \
	ln -s "$(DOCS_SDK)/doc/docbook" "$$tmp/doc/docbook" && \
	for f in $(CURDIR)/$(DOCS_DIR)/*; do \
		ln -s "$$f" "$$tmp/src/modules/redisroute/doc/"; done && \
	cd "$$tmp/src/modules/redisroute/doc"

.PHONY: docs docs-tools docs-sdk docs-check

docs-tools:
	@bash scripts/deps.sh $(DOCS_PACKAGES)

# The SDK is fetched by the build; fetch it only when it is not there yet.
docs-sdk:
	@if [ ! -r "$(DOCS_SDK)/doc/docbook/entities.xml" ] \
		|| [ ! -r "$(DOCS_SDK)/doc/docbook/Makefile" ]; then \
		if [ -n "$(KAMAILIO_SRC)" ]; then \
			echo "KAMAILIO_SRC=$(KAMAILIO_SRC) has no doc/docbook"; exit 1; fi; \
		$(MAKE) --no-print-directory sdk; fi

docs-check: docs-tools docs-sdk
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(DOCS_STAGE) && \
	$(DOCS_ENV) xmllint --nonet --noout --xinclude --postvalid $(DOCS_MAIN)

# the doc Makefile's own rule for <output_dir>/redisroute.txt, as
# `make README` runs it in a Kamailio tree; --nonet: never fetch a DTD
docs: docs-check
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && $(DOCS_STAGE) && \
	$(DOCS_ENV) $(MAKE) --no-print-directory -s xsltproc_flags=--nonet \
		output_dir="$$tmp" "$$tmp/$(DOCS_MAIN:.xml=.txt)" && \
	test -s "$$tmp/$(DOCS_MAIN:.xml=.txt)" && \
	cp "$$tmp/$(DOCS_MAIN:.xml=.txt)" "$(DOCS_README)" && \
	echo "docs: $(DOCS_README) generated from $(DOCS_DIR)/$(DOCS_MAIN)"

# This file is included before the top Makefile's `all`: give the default goal
# back, so that a plain `make` still builds the module.
ifneq ($(filter docs docs-%,$(.DEFAULT_GOAL)),)
.DEFAULT_GOAL :=
endif
