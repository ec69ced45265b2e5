# make fuzz - libFuzzer on the parsers that take hostile input (clang, Debian).
#
#   make fuzz                    install clang if missing, build, then run each
#                                harness for FUZZ_SECONDS (default 30) seconds,
#                                one after the other (one core each); fails on
#                                the first crash or violated invariant
#   make fuzz FUZZ_SECONDS=60    longer runs
#   make fuzz-build              build the harnesses only (build/fuzz/)
#   make fuzz-corpus             regenerate tests/fuzz/corpus/ (seed corpus)
#
# Harnesses (tests/fuzz/):
#   fuzz_target  rdr_target_build (user, raw target, sips, out_size), q-values
#   fuzz_url     rdr_url_parse, rdr_url_print, rdr_hostports_parse
#   fuzz_slot    rdr_redirect_parse (MOVED/ASK replies), rdr_key_slot
#   fuzz_gw      rdr_gw_record_parse, rdr_gw_record_target, rdr_gw_name_ok
#                (gateway hashes, R-URI users), rdr_select_order,
#                rdr_select_spread_q
#
# Each harness runs on build/fuzz/corpus-<name>, which is seeded from
# tests/fuzz/corpus/<name>/ and keeps what libFuzzer finds between runs; the
# repository's corpus is never written. A crash leaves its input in
# build/fuzz/artifacts/ and the fuzzer's log in build/fuzz/<harness>.log.
# Reproduce with: build/fuzz/fuzz_<name> <file>. Reproducers of known bugs go
# into tests/fuzz/crashes/<harness>-<what>; they are run first.

FUZZ_SECONDS ?= 30
FUZZ_MAX_LEN ?= 4096
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SRC := modules/redisroute
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-Wall -Wextra -I $(FUZZ_SRC) -I tests/unit/include
FUZZ_HARNESSES := target url slot gw
FUZZ_BINS := $(FUZZ_HARNESSES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# included before the top-level Makefile's `all`: keep the default goal
_fuzz_default_goal := $(.DEFAULT_GOAL)

.PHONY: fuzz fuzz-build fuzz-deps fuzz-corpus

# the release's default clang and its libFuzzer/sanitizer runtimes
# (libclang-rt-dev follows the default clang: 14 on Debian 12, 19 on Debian 13)
FUZZ_PACKAGES := clang libclang-rt-dev make

fuzz-deps:
	@bash scripts/deps.sh $(FUZZ_PACKAGES)

fuzz-build: $(FUZZ_BINS)

# clang first, but a present clang never makes the harnesses out of date
$(FUZZ_BINS): | fuzz-deps

# each harness links its parser with rdr_syntax.c, the helpers the pure files
# share (hex digits, numbers, host names), and nothing else; tests/unit/include
# has the core's str type (rdr_targets.h's packed answer)
FUZZ_SYNTAX := $(FUZZ_SRC)/rdr_syntax.c $(FUZZ_SRC)/rdr_syntax.h

$(FUZZ_DIR)/fuzz_target: tests/fuzz/fuzz_target.c $(FUZZ_SRC)/rdr_targets.c \
		$(FUZZ_SRC)/rdr_targets.h $(FUZZ_SYNTAX)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_target.c \
		$(FUZZ_SRC)/rdr_targets.c $(FUZZ_SRC)/rdr_syntax.c -lm

$(FUZZ_DIR)/fuzz_url: tests/fuzz/fuzz_url.c $(FUZZ_SRC)/rdr_url.c \
		$(FUZZ_SRC)/rdr_url.h $(FUZZ_SYNTAX)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_url.c $(FUZZ_SRC)/rdr_url.c \
		$(FUZZ_SRC)/rdr_syntax.c

$(FUZZ_DIR)/fuzz_slot: tests/fuzz/fuzz_slot.c $(FUZZ_SRC)/rdr_slot.c \
		$(FUZZ_SRC)/rdr_slot.h $(FUZZ_SYNTAX)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_slot.c $(FUZZ_SRC)/rdr_slot.c \
		$(FUZZ_SRC)/rdr_syntax.c

# a gateway's uri and target go through rdr_target_build(); selection
# needs libm
$(FUZZ_DIR)/fuzz_gw: tests/fuzz/fuzz_gw.c $(FUZZ_SRC)/rdr_gw_record.c \
		$(FUZZ_SRC)/rdr_gw_record.h $(FUZZ_SRC)/rdr_select.c \
		$(FUZZ_SRC)/rdr_select.h $(FUZZ_SRC)/rdr_targets.c \
		$(FUZZ_SRC)/rdr_targets.h $(FUZZ_SYNTAX)
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_gw.c \
		$(FUZZ_SRC)/rdr_gw_record.c $(FUZZ_SRC)/rdr_select.c \
		$(FUZZ_SRC)/rdr_targets.c $(FUZZ_SRC)/rdr_syntax.c -lm

fuzz: fuzz-build
	@case "$(FUZZ_SECONDS)" in ''|*[!0-9]*) \
		echo "fuzz: FUZZ_SECONDS must be a number of seconds" >&2; exit 2;; esac
	@mkdir -p $(FUZZ_DIR)/artifacts
	@summary=; \
	for h in $(FUZZ_HARNESSES); do \
		bin=$(FUZZ_DIR)/fuzz_$$h; log=$(FUZZ_DIR)/fuzz_$$h.log; \
		crashes=$$(ls tests/fuzz/crashes/fuzz_$$h-* 2>/dev/null || true); \
		if [ -n "$$crashes" ]; then \
			echo "fuzz_$$h: replaying known reproducers"; \
			$(FUZZ_ENV) $$bin $$crashes >$$log.replay 2>&1 || { \
				tail -n 40 $$log.replay; \
				echo "fuzz_$$h: a reproducer in tests/fuzz/crashes/ still crashes" >&2; \
				exit 1; }; \
		fi; \
		mkdir -p $(FUZZ_DIR)/corpus-$$h; \
		cp tests/fuzz/corpus/$$h/* $(FUZZ_DIR)/corpus-$$h/; \
		echo "fuzz_$$h: fuzzing for $(FUZZ_SECONDS)s (log: $$log)"; \
		if ! $(FUZZ_ENV) $$bin -max_total_time=$(FUZZ_SECONDS) \
				-max_len=$(FUZZ_MAX_LEN) -timeout=10 -rss_limit_mb=2048 \
				-print_final_stats=1 -dict=tests/fuzz/$$h.dict \
				-artifact_prefix=$(FUZZ_DIR)/artifacts/fuzz_$$h- \
				$(FUZZ_DIR)/corpus-$$h >$$log 2>&1; then \
			tail -n 60 $$log; \
			echo "fuzz_$$h: CRASH, input in $(FUZZ_DIR)/artifacts/ (see $$log)" >&2; \
			exit 1; \
		fi; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -n 1); \
		summary="$$summary$$(printf 'fuzz_%s: %s runs, no crash' $$h "$${runs:-?}")\n"; \
	done; \
	printf "$$summary"

fuzz-corpus:
	$(PYTHON) tests/fuzz/gen_corpus.py

.DEFAULT_GOAL := $(_fuzz_default_goal)
