"""The bench's async table: sip_redirect() (sync) against sip_lookup_async()
(async, bench/cfg/redisroute_async.cfg), both with `children` = 4, with Redis
behind bench/delay_proxy.py at 0, 1 and 5 ms round trip: the highest call rate
of each; then, during a 300 ms SIGSTOP of Redis under load, how long the same
workers take to answer OPTIONS (which need no lookup)."""

import os
import signal
import socket
import sys
import threading
import time
import uuid

import measure
from measure import Failed, free_port, log
from harness import procs, sip

WORKERS = 4
RTTS_MS = (0, 1, 5)
STALL_MS = 300
SHM_MB = 1024

MODES = {
    "sync": ("c", "sync", "sip_redirect(), the worker waits", "redisroute.cfg"),
    "async": ("c", "async", "sip_lookup_async(), an I/O process waits",
              "redisroute_async.cfg"),
}


def start_proxy(workdir, redis_port, rtt_ms):
    """The delay proxy in front of redis, rtt_ms round trip (half each way)."""
    port = free_port()
    log_path = os.path.join(workdir, "delay-proxy-%dms.log" % rtt_ms)
    p = procs.spawn([sys.executable, os.path.join(measure.BENCH, "delay_proxy.py"),
                     "--listen", str(port), "--to", str(redis_port),
                     "--delay-ms", str(rtt_ms / 2.0)], log_path)

    def ready():
        with open(log_path) as f:
            return "ready" in f.read()
    if not procs.wait_until(lambda: p.poll() is not None or ready(), 10) or not ready():
        raise Failed("the delay proxy did not start (%s)" % log_path)
    return p, port


def kamailio(mode, redis, workdir, proxy_port, tag):
    key, name, desc, cfg = MODES[mode]
    conf = (key, "%s-%s" % (name, tag), desc, cfg,
            {"REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % proxy_port})
    k = measure.Kamailio(conf, redis, workdir, WORKERS)
    # an async redirect is stateful: tm keeps each transaction for its wait
    # timer (5 s) after the ACK, some 100,000 at 20,000 calls/s
    k.shm_mb = SHM_MB
    k.start()
    return k


def highest_rate(s, k, redis, ws_csv, tag):
    """The closed-loop warm-up, then the rate search (as run.py's rounds)."""
    w = measure.sipp(k, ws_csv, s.work, 100000, min(s.ws, 2000), 16, 2000,
                     "async-%s-warmup" % tag, 120)
    start = max(200, 1.5 * w["callrate"])
    # one step more than the rounds: async at a long round trip starts far
    # below its limit (the closed loop's 16 calls in flight)
    sr = measure.search_rate(k, redis, ws_csv, s.work, start, s.steps + 1,
                             s.step_secs, 1.5, 0.75, "async-%s" % tag)
    return sr


def options_probe(port, until, out):
    """OPTIONS to the server (no user, no lookup) one after the other until
    `until` (monotonic); (send time, seconds to the answer or None)."""
    while time.monotonic() < until:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        data = sip.build_request("OPTIONS", "sip:127.0.0.1:%d" % port,
                                 s.getsockname()[1], "UDP", call_id=uuid.uuid4().hex)
        t0 = time.monotonic()
        s.sendto(data, ("127.0.0.1", port))
        s.settimeout(1.0)
        try:
            s.recv(65535)
            out.append((t0, time.monotonic() - t0))
        except socket.timeout:
            out.append((t0, None))
        s.close()
        time.sleep(0.005)


def stall(s, k, redis, ws_csv, mode):
    """Under sipp load, Redis stopped for STALL_MS: the OPTIONS answered in
    that window, worst and median time, and how many got no answer."""
    probes = []
    load = threading.Thread(target=lambda: measure.sipp(
        k, ws_csv, s.work, 1000, 4000, 4000, 2000, "async-stall-%s" % mode, 60))
    load.start()
    time.sleep(1.0)
    t_end = time.monotonic() + 1.2
    prober = threading.Thread(target=options_probe, args=(k.port, t_end, probes))
    prober.start()
    time.sleep(0.3)
    stopped = time.monotonic()
    os.kill(redis.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(STALL_MS / 1000.0)
    finally:
        os.kill(redis.proc.pid, signal.SIGCONT)
    resumed = time.monotonic()
    prober.join(10)
    load.join(90)
    window = [t for t0, t in probes if stopped <= t0 <= resumed]
    got = sorted(t for t in window if t is not None)
    return {"probes": len(window), "unanswered": sum(1 for t in window if t is None),
            "worst_ms": 1000 * got[-1] if got else None,
            "p50_ms": 1000 * got[len(got) // 2] if got else None}


def run(s, redis, ws_csv):
    """Every mode at every round trip, then the stall; the table's lines."""
    res = {}
    for rtt in RTTS_MS:
        proxy, pport = start_proxy(s.work, redis.port, rtt)
        try:
            for mode in MODES:
                measure.ensure_redis(redis, s.routes)
                tag = "%s-%dms" % (mode, rtt)
                k = kamailio(mode, redis, s.work, pport, tag)
                try:
                    measure.check_answers(k)
                    sr = highest_rate(s, k, redis, ws_csv, tag)
                    res[(mode, rtt)] = sr
                    log("  async table: %-5s at %d ms round trip: max %s%d calls/s" % (
                        mode, rtt, "" if sr["first_failing"] else ">= ", sr["max_rate"]))
                except Failed as e:
                    log("  async table: %s at %d ms FAILED: %s" % (mode, rtt, e))
                finally:
                    k.stop()
        finally:
            procs.stop_process(proxy)
    stalls = {}
    for mode in MODES:
        measure.ensure_redis(redis, s.routes)
        k = kamailio(mode, redis, s.work, redis.port, "%s-stall" % mode)
        try:
            stalls[mode] = stall(s, k, redis, ws_csv, mode)
            log("  async table: %-5s OPTIONS during a %d ms stall: %s" % (
                mode, STALL_MS, stalls[mode]))
        except Failed as e:
            log("  async table: %s stall FAILED: %s" % (mode, e))
        finally:
            k.stop()
    return {"rates": {"%s/%d" % k_: v for k_, v in res.items()}, "stalls": stalls,
            "lines": table(res, stalls)}


def _rate(res, mode, rtt):
    r = res.get((mode, rtt))
    if not r:
        return None, "failed"
    return r["max_rate"], "%s%d" % ("" if r["first_failing"] else ">=", r["max_rate"])


def table(res, stalls):
    lines = ["## Async lookups (children=%d, Redis behind a delay proxy)" % WORKERS, "",
             "| round trip | sync max calls/s | async max calls/s | async vs sync |",
             "|---:|---:|---:|---:|"]
    for rtt in RTTS_MS:
        sv, st = _rate(res, "sync", rtt)
        av, at = _rate(res, "async", rtt)
        lines.append("| %d ms | %s | %s | %s |" % (
            rtt, st, at, "%.2fx" % (av / sv) if av and sv else "-"))
    a0, _ = _rate(res, "async", 0)
    a5, _ = _rate(res, "async", 5)
    s0, _ = _rate(res, "sync", 0)
    lines += ["", "| during a %d ms SIGSTOP of Redis | OPTIONS sent | unanswered | p50 ms "
              "| worst ms |" % STALL_MS, "|---|---:|---:|---:|---:|"]
    for mode in MODES:
        st = stalls.get(mode)
        if not st:
            lines.append("| %s | failed | | | |" % mode)
            continue
        lines.append("| %s | %d | %d | %s | %s |" % (
            mode, st["probes"], st["unanswered"],
            "-" if st["p50_ms"] is None else "%.1f" % st["p50_ms"],
            "-" if st["worst_ms"] is None else "%.1f" % st["worst_ms"]))

    def verdict(v, limit, what):
        if v is None:
            return "%s: -" % what
        return "%s %.2fx (target >= %.1fx: %s)" % (what, v, limit,
                                                   "holds" if v >= limit else "MISSED")
    worst = stalls.get("async", {}).get("worst_ms")
    lines += ["", "Targets: %s; %s; async OPTIONS during the stall within %s ms (target <= 10: %s)." % (
        verdict(a5 / a0 if a5 and a0 else None, 0.8, "async at 5 ms vs async at 0 ms"),
        verdict(a0 / s0 if a0 and s0 else None, 0.8, "async at 0 ms vs sync at 0 ms"),
        "-" if worst is None else "%.1f" % worst,
        "-" if worst is None else ("holds" if worst <= 10 and
                                   not stalls["async"]["unanswered"] else "MISSED"))]
    return lines
