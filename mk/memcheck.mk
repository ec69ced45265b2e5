# make memcheck - the end-to-end suite with every kamailio under valgrind's
# memcheck; fails on any memory error in redisroute.
#
#   make memcheck                              the whole of tests/e2e
#   make memcheck MEMCHECK_TESTS="test_redirect.py test_operations.py"
#   make memcheck MEMCHECK_VALGRIND_OPTS=--track-origins=yes
#   make memcheck-report                       judge the logs of the last run again
#
# How (details in tests/memcheck/):
# - conftest.py starts kamailio through $REDISROUTE_KAMAILIO_WRAPPER =
#   tests/memcheck/vgkamailio.sh: valgrind --tool=memcheck
#   --trace-children=yes --log-file=$(MEMCHECK_LOGDIR)/vg.%p.log (one log per
#   kamailio process: attendant, udp/tcp workers, timers, ctl, notifier...).
# - Kamailio's pkg and shm pools would hide heap errors from memcheck, and
#   Debian's kamailio 5.6 has only qm/fm/tlsf managers (no system malloc), so
#   vgkamailio.sh loads tests/memcheck/shim first (--loadmodule): from then on
#   pkg_malloc() is the system malloc (memcheck sees every pkg block), and
#   redisroute's shm blocks carry checked canaries (shm is shared between
#   processes, so it stays in Kamailio's qm pool, which checks its own guards).
#   hiredis' memory is plain malloc() and fully seen anyway.
# - tests/memcheck/vgreport.py reads every log, lists what is not in
#   redisroute, and fails if anything is: invalid read/write, use of
#   uninitialised values, definitely lost, invalid free, shim canary errors.
#
# Deselected under valgrind (timing, not memory): see MEMCHECK_DESELECT.

MEMCHECK_DIR := $(CURDIR)/$(BUILD)/memcheck
MEMCHECK_LOGDIR ?= $(MEMCHECK_DIR)/logs
MEMCHECK_SHIM := $(MEMCHECK_DIR)/shim/memcheck_shim.so
# what runs under valgrind: tests/e2e (less MEMCHECK_DESELECT), then
# tests/memcheck/test_cache_churn.py
MEMCHECK_TESTS ?= .
MEMCHECK_EXTRA_TESTS ?= ../memcheck/test_cache_churn.py
MEMCHECK_VALGRIND_OPTS ?=
# Tests that depend on timing rather than on what kamailio computes, and
# fail when valgrind makes kamailio 20-50x slower. All assert that the very
# next request after a redis-cli change sees it with the cache on, i.e. that
# the notifier process invalidates the entry before a worker reads it - a race
# the notifier loses under valgrind. tests/memcheck/test_cache_churn.py makes
# the same changes with bounded waits, so the cache code still runs under
# memcheck. (test_memory.py and test_chaos.py skip themselves under a
# wrapper: load tests whose figures valgrind would make meaningless.)
MEMCHECK_DESELECT ?= \
	test_cache.py::test_change_is_seen_by_the_next_request \
	test_cache.py::test_every_change_seen_immediately_many_times \
	test_cache.py::test_cached_miss_is_invalidated_by_a_new_key \
	test_cache.py::test_expiry_and_type_change \
	test_cache.py::test_bare_host_entries_are_per_request_uri_user \
	test_cache.py::test_lost_subscription_bypasses_then_recovers \
	test_prefix.py::test_prefix_match_with_cache_sees_a_new_longer_prefix \
	test_gateways.py::test_weight_shares_of_the_first_contact_over_10000_calls \
	$(MEMCHECK_DESELECT_HEALTH)
# test_gateways.py: 10,000 calls at 5,000/s, a share measured, not memory.
# test_health.py: the tests that assert the health contract's time bounds
# (leave within interval x failures + 1 s, come back, hand over, expire) or
# count probes over a fixed window at probe_interval 1 s: valgrind makes the
# rounds late, not wrong. The other health tests (drain, all_down, passive,
# events, least privilege) still run the probing, the lease, the findings
# script and the followers under memcheck.
MEMCHECK_DESELECT_HEALTH ?= \
	test_health.py::test_a_silent_gateway_leaves_both_nodes_and_comes_back \
	test_health.py::test_a_gateway_silent_just_after_a_probe_leaves_within_the_bound \
	test_health.py::test_the_gateways_see_one_probe_stream_whatever_the_number_of_nodes \
	test_health.py::test_stopping_the_probing_node_hands_the_probing_over \
	test_health.py::test_findings_live_in_redis_with_a_ttl_and_expire_without_nodes \
	test_health.py::test_with_redis_cluster_a_silent_gateway_leaves_and_comes_back
MEMCHECK_PYTEST_ARGS ?=

.PHONY: memcheck memcheck-shim memcheck-report

# valgrind first: the shim includes valgrind/memcheck.h
memcheck-shim: build
	@bash scripts/deps.sh valgrind
	@mkdir -p $(MEMCHECK_DIR)/shim
	@cp -p tests/memcheck/shim/Makefile tests/memcheck/shim/memcheck_shim.c $(MEMCHECK_DIR)/shim/
	$(MAKE) -C $(MEMCHECK_DIR)/shim COREPATH=$(COREPATH)

memcheck: build memcheck-shim apimod
	rm -rf $(MEMCHECK_LOGDIR) && mkdir -p $(MEMCHECK_LOGDIR)
	@cd tests/e2e && rc=0; \
	export REDISROUTE_KAMAILIO_WRAPPER="$(CURDIR)/tests/memcheck/vgkamailio.sh" \
		MEMCHECK_LOGDIR="$(MEMCHECK_LOGDIR)" MEMCHECK_SHIM="$(MEMCHECK_SHIM)" \
		MEMCHECK_VALGRIND_OPTS="$(MEMCHECK_VALGRIND_OPTS)"; \
	$(PYTHON) -m pytest -q -p no:cacheprovider -rs \
		$(foreach t,$(MEMCHECK_DESELECT),--deselect $(t)) \
		$(MEMCHECK_PYTEST_ARGS) $(MEMCHECK_TESTS) || rc=$$?; \
	if [ -n "$(strip $(MEMCHECK_EXTRA_TESTS))" ]; then \
		$(PYTHON) -m pytest -q -p no:cacheprovider $(MEMCHECK_PYTEST_ARGS) \
			$(MEMCHECK_EXTRA_TESTS) || rc=$$?; fi; \
	cd $(CURDIR) && $(PYTHON) tests/memcheck/vgreport.py $(MEMCHECK_LOGDIR) || rc=1; \
	if [ $$rc -ne 0 ]; then echo "memcheck: FAILED (pytest and/or valgrind, see above; logs in $(MEMCHECK_LOGDIR))"; fi; \
	exit $$rc

memcheck-report:
	$(PYTHON) tests/memcheck/vgreport.py $(MEMCHECK_LOGDIR)
