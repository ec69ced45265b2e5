"""The bench's async table: sip_redirect() (sync) against sip_lookup_async()
(async, bench/cfg/redisroute_async.cfg), both with `children` = 4, with Redis
behind bench/delay_proxy.py at 0, 0.5, 1, 2 and 5 ms round trip: the CPU per
call (kamailio + redis-server) at a fixed rate both hold, the highest call
rate of each and the CPU per call there; from them the crossing point (the
round trip from which async is faster than sync, and from which it is cheaper
per call); then, during a 300 ms SIGSTOP of Redis under load, how long the
same workers take to answer OPTIONS (which need no lookup)."""

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
RTTS_MS = (0, 0.5, 1, 2, 5)
# the fixed rate of the CPU-per-call run at a round trip: 1000 calls/s, or
# half of what sync's workers can do at all (children / round trip), so that
# both modes hold it
FIXED_RATE = 1000
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
    log_path = os.path.join(workdir, "delay-proxy-%gms.log" % rtt_ms)
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


def highest_rate(s, k, redis, ws_csv, users, rtt, tag):
    """The closed-loop warm-up, the CPU per call at the fixed rate (before
    the search, whose overload leaves transactions to tm's timer), then the
    rate search (as run.py's rounds); the search's result with "fixed"."""
    w = measure.sipp(k, ws_csv, s.work, 100000, min(s.ws, 2000), 16, 2000,
                     "async-%s-warmup" % tag, 120)
    fx = measure.fixed_rate(k, redis, users, fixed_rate_for(rtt), s.fixed_secs)
    log("  async table: %-5s at %g ms round trip, %d calls/s: kamailio %.1f + redis %.1f "
        "us/call, %d of %d failed" % (tag.split("-")[0], rtt, fx["rate"], fx["kam_cpu_us"],
                                      fx["redis_cpu_us"], fx["calls"] - fx["ok"], fx["calls"]))
    start = max(200, 1.5 * w["callrate"])
    # one step more than the rounds: async at a long round trip starts far
    # below its limit (the closed loop's 16 calls in flight)
    sr = measure.search_rate(k, redis, ws_csv, s.work, start, s.steps + 1,
                             s.step_secs, 1.5, 0.75, "async-%s" % tag)
    sr["fixed"] = fx
    return sr


def fixed_rate_for(rtt):
    """The CPU run's rate at round trip rtt (ms): both modes hold it."""
    if rtt <= 0:
        return FIXED_RATE
    return min(FIXED_RATE, measure.round_rate(0.5 * WORKERS * 1000.0 / rtt))


def read_users(ws_csv):
    with open(ws_csv) as f:
        return [l.strip().rstrip(";") for l in f.readlines()[1:] if l.strip()]


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
    users = read_users(ws_csv)
    for rtt in RTTS_MS:
        proxy, pport = start_proxy(s.work, redis.port, rtt)
        try:
            for mode in MODES:
                measure.ensure_redis(redis, s.routes)
                tag = "%s-%gms" % (mode, rtt)
                k = kamailio(mode, redis, s.work, pport, tag)
                try:
                    measure.check_answers(k)
                    sr = highest_rate(s, k, redis, ws_csv, users, rtt, tag)
                    res[(mode, rtt)] = sr
                    log("  async table: %-5s at %g ms round trip: max %s%d calls/s, "
                        "there %.1f + %.1f us/call (kamailio + redis)" % (
                            mode, rtt, "" if sr["first_failing"] else ">= ", sr["max_rate"],
                            sr["at_max"].get("kam_us", 0), sr["at_max"].get("redis_us", 0)))
                except Failed as e:
                    log("  async table: %s at %g ms FAILED: %s" % (mode, rtt, e))
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
    cross = crossing(res)
    log("  " + cross)
    return {"rates": {"%s/%g" % k_: v for k_, v in res.items()}, "stalls": stalls,
            "crossing": cross, "lines": table(res, stalls, cross)}


def _rate(res, mode, rtt):
    r = res.get((mode, rtt))
    if not r:
        return None, "failed"
    return r["max_rate"], "%s%d" % ("" if r["first_failing"] else ">=", r["max_rate"])


def _cpu(r, where):
    """kamailio + redis-server CPU µs per call: at the fixed rate ("fixed")
    or at the highest rate that held ("at_max")."""
    if not r:
        return None
    if where == "fixed":
        fx = r.get("fixed")
        return measure.cpu_per_call(fx) if fx and fx["ok"] else None
    m = r.get("at_max") or {}
    return m["kam_us"] + m["redis_us"] if "kam_us" in m else None


def _from(points):
    """points: [(rtt, async minus sync, <0: async better)] in rtt order. The
    round trip from which async stays better: None when it never is at the
    last round trip measured; the first one when it is at every one; else
    the crossing between the last worse and the first better point, by
    linear interpolation. (rtt, exact: False when interpolated)."""
    pts = [(r, d) for r, d in points if d is not None]
    if not pts or pts[-1][1] >= 0:
        return None
    i = len(pts) - 1
    while i > 0 and pts[i - 1][1] < 0:
        i -= 1
    if i == 0:
        return pts[0][0], True
    (r0, d0), (r1, d1) = pts[i - 1], pts[i]
    return r0 + (r1 - r0) * d0 / (d0 - d1), False


def crossing(res):
    """The sentence of the crossing point: the round trip from which async
    holds a higher rate than sync, and from which its CPU per call
    (kamailio + redis, at the fixed rate both hold) is lower."""
    faster = _from([(rtt, (_rate(res, "sync", rtt)[0] or 0) - (_rate(res, "async", rtt)[0] or 0)
                     if res.get(("sync", rtt)) and res.get(("async", rtt)) else None)
                    for rtt in RTTS_MS])
    cheaper = _from([(rtt, _cpu(res.get(("async", rtt)), "fixed") - _cpu(res.get(("sync", rtt)), "fixed")
                      if _cpu(res.get(("async", rtt)), "fixed") and _cpu(res.get(("sync", rtt)), "fixed")
                      else None) for rtt in RTTS_MS])

    def at(x):
        return "%s%g ms round trip" % ("" if x[1] else "~", round(x[0], 1))
    out = "async crossing point: "
    out += ("async is faster than sync from %s" % at(faster) if faster else
            "async is never faster than sync up to %g ms round trip" % RTTS_MS[-1])
    if cheaper:
        out += ", and cheaper per call from %s." % at(cheaper)
    else:
        out += ("; never cheaper per call on this machine: sync's CPU per call stays lower; "
                "async's gain is that no worker waits.")
    return out


def table(res, stalls, cross):
    lines = ["## Async lookups (children=%d, Redis behind a delay proxy)" % WORKERS, "",
             "| round trip | sync max calls/s | async max calls/s | async vs sync "
             "| CPU at | sync µs/call | async µs/call | async vs sync "
             "| at max: sync µs/call | async µs/call |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for rtt in RTTS_MS:
        sv, st = _rate(res, "sync", rtt)
        av, at = _rate(res, "async", rtt)
        sc, ac = _cpu(res.get(("sync", rtt)), "fixed"), _cpu(res.get(("async", rtt)), "fixed")
        sm, am = _cpu(res.get(("sync", rtt)), "at_max"), _cpu(res.get(("async", rtt)), "at_max")
        f = lambda v: "-" if v is None else "%.1f" % v
        lines.append("| %g ms | %s | %s | %s | %d/s | %s | %s | %s | %s | %s |" % (
            rtt, st, at, "%.2fx" % (av / sv) if av and sv else "-", fixed_rate_for(rtt),
            f(sc), f(ac), "%.2fx" % (ac / sc) if ac and sc else "-", f(sm), f(am)))
    lines += ["", "CPU: kamailio (all its processes) + redis-server, µs per call, at the "
              "fixed rate (1000 calls/s, or half of children / round trip) and at the "
              "highest rate that held; the delay proxy's own CPU is not counted.", "",
              cross]
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
