#!/usr/bin/python3
"""`make bench`: what a redirect costs with redisroute, against a static 302
(the limit) and the ndb_redis config a Kamailio user writes today.

  /usr/bin/python3 bench/run.py [--quick] [--out build/bench]

Starts its own redis-server loaded with 100,000 routes (bench/load_routes),
then measures kamailio configs (bench/cfg/), all with the same
`children`, -m and -M, listening on 127.0.0.1 (UDP):

  a  static      302 with a fixed Contact, no lookup (the limit)
  0  ndb_get     (b0) the simplest ndb_redis config: GET, one Contact, strings only
  b  ndb_redis   the hand-written ndb_redis config (TYPE, then GET/LRANGE/ZREVRANGE)
  c  redisroute  sip_redirect(), no cache
  s  strings     (c) with route_types "string": GETRANGE instead of the script
  g  gateways    (c) where the same users' routes (strings, under gwroute:)
                 name gateways, `@gwK` (gw:gwK a bare host, weight 1): the
                 table's last lines give (g)'s instructions per call minus
                 (c)'s, against the target of at most +1,000
  h  gw+hash     (g) with selection "hash" and a route of 3 gateways
                 (gwlist:, a list `@gwh0 @gwh1 @gwh2`, weights 70/20/10)
  k  gw+health   (g) with health on (probe_interval 5, probe_failures 1,
                 all_down "all"): the gateways' 192.0.2.x hosts never answer
                 the probes, so every gateway is down when it is measured and
                 all_down "all" keeps (g)'s answers; the table's last lines
                 give (k) - (g) against the target of at most +500 and the
                 redis commands per call of both
  d  cached      sip_redirect() with cache_size=100000; "n/a" when the module
                 has no cache (kamailio refuses the modparam)
  f  cache+prefix  (d) with prefix_match 1 (number routing)
  e  tls         (c) over TLS (rediss://, the certificate checked), to the same
                 redis-server's TLS port; where the module has TLS (hiredis_ssl,
                 Debian 13), "n/a" elsewhere. The table's last line gives its
                 cost against (c)

For each config:
  instructions per call  callgrind, kamailio with -x tlsf -X tlsf (counts repeat
                         run after run) and 1 worker; two runs of W+N1 and W+N2
                         calls, (Ir(N2)-Ir(N1))/(N2-N1) of the SIP worker, so
                         start-up and warm-up cancel; measured once (deterministic).
                         Again with -x qm -X qm, kamailio's default memory
                         manager, whose cost depends on the request's path
                         (BENCH_CALLGRIND_QM=0 skips it)
  max calls/s            sipp, open loop, INVITE to the next user of a random
                         working set of the 100k, expects 302, ACKs it; no UDP
                         retransmissions (-nr), so a lost request is a failed
                         call. A rate holds when under 0.1% of the calls fail
                         and sipp keeps >= 97% of the rate (sipp is CPU-bound
                         itself for the fastest configs). Stepped: bracket, then
                         bisect, starting from the closed-loop warm-up rate.
  p50/p99 response time  at one fixed rate for all configs, INVITE -> 302, from
                         a Python UDP client (sipp's response times have 1 ms
                         resolution): send time to the kernel's receive time
  CPU per call           kamailio (all its processes) and redis-server, from
                         /proc/<pid>/task/*/schedstat (ns) over that fixed-rate
                         run, divided by its calls; redis commands per call
                         from INFO stats; and over the highest rate that held
                         (with sipp's CPU per call, from its rusage)

The rate, latency and CPU runs are made twice per round, with -x tlsf -X
tlsf and with kamailio's default memory manager (qm): BENCH_MM=tlsf or qm
keeps one.

The configs run interleaved (a/tlsf b/tlsf c/tlsf ... a/qm b/qm c/qm ...,
then the next round), each run a fresh kamailio, and the tables (one per
memory manager) give the medians over the rounds, with the issue's targets
for (c) and (s) against (b0) under them. Writes results.md,
results.json and bench.png (needs python3-matplotlib) into --out.
Every process it starts is stopped by its PID.

This file is the driver: the settings, the phases and the rounds; the
measurements are bench/measure.py's, the report bench/report.py's."""

import argparse
import os
import shutil
import signal
import sys
import time

import async_bench
import measure
import paired
import report
from measure import Failed, log
from harness import procs
from harness.servers import REDIS_CLI, REDIS_SERVER

CONFS = {c[0]: c for c in measure.CONFIGS}
NAMES = {c[0]: c[1] for c in measure.CONFIGS}
NO_CACHE_NA = "n/a (no cache in this build)"
CACHED = "dpf"  # the cached configs, also measured under writes
# the configs measured by callgrind only (no rate, latency or CPU runs)
INSTRUCTIONS_ONLY = "w"
INSTRUCTIONS_ONLY_NA = "instructions only"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    env = os.environ.get
    ap.add_argument("--out", default=os.path.join(measure.ROOT, "build", "bench"))
    ap.add_argument("--quick", action="store_true", default=env("BENCH_QUICK", "0") not in ("", "0", "no"),
                    help="a ~2 minute smoke run (BENCH_QUICK=1)")
    ap.add_argument("--configs", default=env("BENCH_CONFIGS", "a,w,0,b,c,s,g,h,k,d,p,f,e"))
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS", "2")))
    ap.add_argument("--routes", type=int, default=int(env("BENCH_ROUTES", "100000")))
    ap.add_argument("--rate", type=int, default=int(env("BENCH_RATE", "4000")),
                    help="the fixed rate of the response-time and CPU runs")
    ap.add_argument("--step-secs", type=float, default=None)
    ap.add_argument("--budget", type=float, default=float(env("BENCH_BUDGET", "0")),
                    help="seconds; rounds that would not fit are skipped")
    return ap.parse_args(argv)


def settings(a):
    """The options, with what --quick and the BENCH_* variables make of the rest."""
    env = os.environ.get
    quick = a.quick
    s = argparse.Namespace(**vars(a))
    s.rounds = a.rounds or int(env("BENCH_ROUNDS", "1" if quick else "3"))
    s.step_secs = a.step_secs or float(env("BENCH_STEP_SECS", "2" if quick else "3"))
    s.fixed_secs = float(env("BENCH_FIXED_SECS", "2" if quick else "4"))
    s.steps = int(env("BENCH_STEPS", "5" if quick else "7"))
    s.ws = min(a.routes, int(env("BENCH_USERS", "3000" if quick else "6000")))
    # (memory manager, (warm-up calls, N1, N2)); qm runs ~6x slower
    s.cg_runs = [("tlsf", (200, 200, 700) if quick else (1000, 500, 2500)),
                 ("qm", (200, 100, 300) if quick else (300, 200, 700))]
    if env("BENCH_CALLGRIND_QM", "1") in ("0", ""):
        s.cg_runs = s.cg_runs[:1]
    s.budget = a.budget or (420 if quick else 1200)
    # memory managers of the rate/latency/CPU runs, interleaved in each round:
    # tlsf and kamailio's default (qm); BENCH_MM=tlsf or qm: that one only
    s.mms = [m for m in env("BENCH_MM", "tlsf,qm").split(",") if m in ("tlsf", "qm")]
    if not s.mms:
        raise Failed("BENCH_MM: tlsf, qm or tlsf,qm")
    s.order = [c for c in "aw0bcsghkdpfe" if c in a.configs.split(",")]
    # the calls' users: string routes only (as (b0) and (s) need, and the
    # issue's comparison), or every type (BENCH_WORKSET=mixed, without them,
    # nor (g), (h) and (k), whose routes are one type and compare with (c) on
    # strings)
    s.workset = env("BENCH_WORKSET", "strings")
    if s.workset == "mixed":
        s.order = [c for c in s.order if c not in "0sghk"]
    # the async table (async_bench.py): BENCH_ASYNC=0 skips it
    s.async_table = env("BENCH_ASYNC", "1") not in ("0", "", "no")
    # unrelated writes a second during the cached configs' second fixed run
    s.writes = int(env("BENCH_WRITES", "1000"))
    s.out = os.path.abspath(a.out)
    s.work = os.path.join(s.out, "work")
    return s


def preflight(s):
    """A fresh work directory; the tools and the module are there."""
    os.makedirs(s.out, exist_ok=True)
    shutil.rmtree(s.work, ignore_errors=True)
    os.makedirs(s.work)
    for tool in ("kamailio", REDIS_SERVER, REDIS_CLI, "sipp", "valgrind"):
        if not shutil.which(tool):
            raise Failed("%s is not installed (make bench-deps)" % tool)
    if not os.path.exists(os.path.join(measure.ROOT, "modules", "redisroute", "redisroute.so")):
        raise Failed("modules/redisroute/redisroute.so is not built (make build)")
    measure.open_files_for_sipp()


def log_start(s, mach):
    log("bench: %d CPUs (%s), %s, kamailio %s, %s, %s" % (
        mach["cpus"], mach["cpu"], mach["memory"], mach["kamailio"], mach["redis"], mach["sipp"]))
    log("bench: %s run: %d round(s) of %s, each under %s, %d workers each, fixed rate %d/s "
        "for %gs, rate steps of %gs, working set %d users" % (
            "quick" if s.quick else "full", s.rounds, " ".join(s.order), " and ".join(s.mms),
            s.workers, s.rate, s.fixed_secs, s.step_secs, s.ws))


def prepare_users(s, redis):
    """The routes into redis; every user, and the working set (random users
    of the table, the same for every config) as sipp's injection file."""
    users_all = os.path.join(s.work, "users-all.csv")
    measure.load_routes(redis, s.routes, users_all)
    with open(users_all) as f:
        users = [l.strip().rstrip(";") for l in f.readlines()[1:]]
    if s.workset != "mixed":
        users = [u for u in users if measure.is_string_user(u)]
    ws_csv = os.path.join(s.work, "users.csv")
    with open(ws_csv, "w") as f:
        f.write("SEQUENTIAL\n" + "".join(u + ";\n" for u in users[:s.ws]))
    return users, ws_csv


# ------------------------------------------------ instructions per call

def callgrind_one(s, redis, users, res, key, mm, counts):
    t = time.monotonic()
    try:
        measure.ensure_redis(redis, s.routes)
        ipc, alloc = measure.instructions(CONFS[key], redis, s.work, users, mm, *counts)
        res["instr_" + mm] = ipc
        res["alloc_" + mm] = alloc
        log("  (%s) %-17s %8.0f instructions/call, %8.0f of them in the allocator  [%.0fs]" % (
            key, NAMES[key], ipc, alloc, time.monotonic() - t))
    except Failed as e:
        if key in CACHED and measure.no_cache_in_build_dir(s.work, NAMES[key], mm):
            res["na"] = NO_CACHE_NA
            log("  (d) %-17s n/a: kamailio refuses modparam cache_size, "
                "no cache in this build" % NAMES[key])
        else:
            res["instr_%s_error" % mm] = str(e)
            log("  (%s) %-17s instructions: FAILED: %s" % (key, NAMES[key], e))


def callgrind_phase(s, redis, users, instr):
    """Instructions per call: deterministic, so once per config, with tlsf
    (the issue's reference) and with kamailio's default qm; into instr[key]."""
    for mm, counts in s.cg_runs:
        log("bench: instructions per call (callgrind, 1 worker, -x %s -X %s; "
            "%d warm-up calls, then %d vs %d calls)" % ((mm, mm) + counts))
        for key in s.order:
            if not instr[key].get("na"):
                callgrind_one(s, redis, users, instr[key], key, mm, counts)


# ---------------------------------- rounds: throughput, response time, CPU

def start_or_na(k, res, key):
    """Starts k; False, and (d) n/a, when kamailio refuses the cache's modparams."""
    try:
        k.start()
    except Failed:
        if key in CACHED and measure.no_cache_in_build(k):
            res["na"] = NO_CACHE_NA
            log("  (d) n/a: kamailio refuses modparam cache_size: "
                "no cache in this build")
            return False
        raise
    return True


def search_start(s, res, closed):
    """(start rate, up, down, steps) of the rate search."""
    prev = [x["max_rate"] for x in res["rounds"] if x["max_rate"]]
    if prev:
        # later rounds: around the earlier rounds' result
        return report.med(prev), 1.1, 0.9, max(3, s.steps - 2)
    # open loop holds well more than sipp's closed loop gives
    return 1.5 * closed, 1.4, 0.75, s.steps


def measure_config(s, k, redis, ws_users, ws_csv, res, key, rnd):
    """One round of one config on a started kamailio: warm-up, the fixed
    rate, the rate search."""
    name = NAMES[key]
    # warm-up, closed loop: every user of the working set once (fills the
    # cache of (d)); its rate seeds the search
    w = measure.sipp(k, ws_csv, s.work, 100000, s.ws, 16, 2000,
                     "%s-r%s-warmup" % (name, rnd), 120)
    closed = w["callrate"]
    # the lower CPU per call of two runs at the fixed rate: a stall of the
    # shared cores only ever adds to it
    fx = min((measure.fixed_rate(k, redis, ws_users, s.rate, s.fixed_secs) for _ in range(2)),
             key=measure.cpu_per_call)
    fxw = None
    if key in CACHED and s.writes:
        # the same, while another client writes unrelated keys
        fxw = measure.fixed_rate(k, redis, ws_users, s.rate, s.fixed_secs, s.writes)
        log("  (%s) %-17s with %.0f writes/s: p50 %.3f ms, p99 %.3f ms" % (
            key, name, fxw["writes_per_s"], fxw["p50_ms"] or -1, fxw["p99_ms"] or -1))
    start_rate, up, down, n = search_start(s, res, closed)
    log("  (%s) %-17s closed-loop %5.0f calls/s; at %d/s: p50 %.3f ms, p99 %.3f ms, "
        "kamailio %.1f us/call, redis %.1f us/call, %d failed" % (
            key, name, closed, s.rate, fx["p50_ms"] or -1,
            fx["p99_ms"] or -1, fx["kam_cpu_us"], fx["redis_cpu_us"],
            fx["calls"] - fx["ok"]))
    sr = measure.search_rate(k, redis, ws_csv, s.work, start_rate, n, s.step_secs, up, down,
                             "%s-r%s" % (name, rnd))
    sr.update({"closed_loop": closed, "fixed": fx, "fixed_writes": fxw})
    return sr


def one_round(s, redis, ws_users, ws_csv, res, key, rnd, mm):
    """A fresh kamailio of config `key` with memory manager mm, measured;
    into res["rounds"], or res["errors"] when it failed."""
    measure.ensure_redis(redis, s.routes)
    k = measure.Kamailio(CONFS[key], redis, s.work, s.workers, mm=mm)
    t = time.monotonic()
    try:
        if not start_or_na(k, res, key):
            return
        measure.check_answers(k)
        sr = measure_config(s, k, redis, ws_users, ws_csv, res, key, "%d-%s" % (rnd, mm))
        res["rounds"].append(sr)
        log("  (%s) %-17s %-4s max %s%d calls/s  [%.0fs]" % (
            key, NAMES[key], mm, "" if sr["first_failing"] else ">= ",
            sr["max_rate"], time.monotonic() - t))
    except Failed as e:
        res.setdefault("errors", []).append(str(e))
        log("  (%s) %-17s %-4s FAILED: %s (log: %s)" % (key, NAMES[key], mm, e, k.logpath))
    finally:
        k.stop()


def over_budget(s, t_start, t_rounds, done):
    spent = time.monotonic() - t_start
    round_time = (time.monotonic() - t_rounds) / done
    if spent + round_time > s.budget:
        log("bench: skipping the remaining rounds: %.0fs spent, a round takes "
            "%.0fs, budget %.0fs" % (spent, round_time, s.budget))
        return True
    return False


def rounds_phase(s, redis, users, ws_csv, results, t_start):
    """The configs and memory managers interleaved (a/tlsf b/tlsf ... a/qm
    b/qm ..., round after round), as many rounds as asked for and the budget
    allows."""
    t_rounds = time.monotonic()
    for rnd in range(s.rounds):
        log("bench: round %d of %d  [%.0fs so far]" % (rnd + 1, s.rounds,
                                                      time.monotonic() - t_start))
        for mm in s.mms:
            for key in s.order:
                if not results[mm][key].get("na"):
                    one_round(s, redis, users[:s.ws], ws_csv, results[mm][key], key, rnd, mm)
        if rnd + 1 < s.rounds and over_budget(s, t_start, t_rounds, rnd + 1):
            break


# --------------------------------------------------------------------- main

def main():
    s = settings(parse_args())
    t_start = time.monotonic()
    preflight(s)
    mach = report.machine()
    log_start(s, mach)
    redis = measure.bench_redis(os.path.join(s.work, "redis"))
    instr = {k: {} for k in s.order}
    async_res = None
    results = {mm: {k: {"rounds": []} for k in s.order} for mm in s.mms}
    if "e" in s.order and not measure.HAVE_TLS:
        instr["e"]["na"] = "n/a (no TLS in this build: hiredis without hiredis_ssl)"
    try:
        users, ws_csv = prepare_users(s, redis)
        callgrind_phase(s, redis, users, instr)
        for mm in s.mms:
            for key in s.order:
                results[mm][key].update(instr[key])
                if key in INSTRUCTIONS_ONLY:
                    results[mm][key].setdefault("na", INSTRUCTIONS_ONLY_NA)
        rounds_phase(s, redis, users, ws_csv, results, t_start)
        paired.run(s, redis, users[:s.ws], CONFS, results)
        if s.async_table:
            log("bench: the async table (sync vs async lookups, Redis behind a delay "
                "proxy)  [%.0fs so far]" % (time.monotonic() - t_start))
            async_res = async_bench.run(s, redis, ws_csv)
    finally:
        redis.stop()
        procs.stop_all()
    for mm in s.mms:
        for key in s.order:
            r = results[mm][key]
            if not r.get("na") and not r["rounds"]:
                r["na"] = "failed: " + "; ".join(r.get("errors", ["?"]))
    rows = report.write(s, mach, results, s.order, NAMES, time.monotonic() - t_start,
                        async_res)
    bad = []
    for mm in s.mms:
        bad += [k for k in s.order if k not in "dfe" and rows[mm][k].get("na")
                and rows[mm][k]["na"] != INSTRUCTIONS_ONLY_NA]
        bad += ["e"] if "e" in s.order and measure.HAVE_TLS and rows[mm]["e"].get("na") else []
    return 1 if bad else 0


if __name__ == "__main__":
    def on_signal(sig, frame):
        procs.stop_all()
        sys.exit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sys.exit(main())
    except Failed as e:
        procs.stop_all()
        sys.stderr.write("bench: %s\n" % e)
        sys.exit(1)
    finally:
        procs.stop_all()
