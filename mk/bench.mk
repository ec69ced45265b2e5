# make bench: redisroute against a static 302 and two hand-written ndb_redis
# configs (GET only, and TYPE-based), from a fresh redis-server with 100,000
# routes (bench/run.py), under -x tlsf and kamailio's default qm; (g) and (h):
# the same users' routes naming gateways (gw:*), (g) - (c) instructions per
# call against the gateways' target (at most +1,000); (k): (g) with health
# on (every gateway down, all_down "all"), (k) - (g) against health's target
# (at most +500) and both rows' redis commands per call.
#
#   make bench                  full run, about 35 minutes on 2 CPUs
#   make bench BENCH_QUICK=1    ~5 minute smoke run (1 round, short steps)
#
# Results: build/bench/results.md (table), results.json, bench.png (chart),
# logs in build/bench/work/. Tunables (environment or make variables):
# BENCH_ROUNDS, BENCH_STEP_SECS, BENCH_STEPS, BENCH_RATE and BENCH_FIXED_SECS
# (the fixed-rate response-time/CPU run), BENCH_USERS (working set),
# BENCH_WORKERS (children), BENCH_CONFIGS (e.g. a,c,g; default
# a,w,0,b,c,s,g,h,k,d,p,f,e), BENCH_BUDGET (seconds),
# BENCH_MM=tlsf or qm (the rate runs under that memory manager only;
# default: both, interleaved),
# BENCH_CALLGRIND_QM=0 (skip the callgrind runs with qm), BENCH_WORKSET=mixed
# (the calls go to routes of every type, without (b0), (s), (g), (h) and (k); default:
# strings),
# BENCH_ASYNC=0 (no async table: sync vs async at 0, 0.5, 1, 2, 5 ms round
# trip, CPU per call and highest rate, and the crossing point),
# BENCH_PRELOAD=0 (no cache_preload load measurement, bench/preload.py;
# BENCH_PRELOAD_KEYS: how many keys it loads, default 1,000,000),
# BENCH_WRITES (unrelated writes a second during the cached configs' second
# fixed-rate run; default 1000).

BENCH_OUT ?= $(BUILD)/bench

# make bench-cluster: one redis-server against a 3-master Redis Cluster,
# exact and prefix lookups (bench/cluster.py; ~2 minutes). Results in
# build/bench-cluster/results.md.

.PHONY: bench bench-deps bench-cluster

# besides what make deps installs (kamailio, redis, sipp, ...):
#   kamailio-redis-modules  ndb_redis, for the hand-written config (b)
#   valgrind                callgrind, for the instructions per request
#   python3-matplotlib      the PNG chart (the bench runs without it)
BENCH_PACKAGES := kamailio-redis-modules valgrind python3-matplotlib

bench-deps: deps
	@bash scripts/deps.sh $(BENCH_PACKAGES)

bench: build bench-deps
	$(PYTHON) bench/run.py --out $(BENCH_OUT) $(if $(filter-out 0,$(BENCH_QUICK)),--quick)
	$(if $(filter 0,$(BENCH_PRELOAD)),,$(PYTHON) bench/preload.py --out $(BENCH_OUT))

bench-cluster: build bench-deps
	$(PYTHON) bench/cluster.py --out $(BUILD)/bench-cluster
