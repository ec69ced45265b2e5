"""Memory: 50,000 lookups leave redisroute's memory where it was.

A kamailio of its own (etc/kamailio.cfg, 2 workers) and a redis-server of its
own hold routes of every kind: a string, a list, a sorted set, a long list
with rejected entries (more than max_targets), a missing key, and two kinds of
bad route data (a hash; a string that is no valid target). sipp warms the
server up with 2,000 calls, then the memory figures are read over RPC:

  mod.stats redisroute pkg|shm  the module's own blocks by allocation site:
                                pkg (of the ctl process, which answers the
                                RPC) and shm (shared, all processes)
  pkg.stats                     every process' pkg pool usage (workers,
                                timers, ctl, tcp...)
  core.shmmem                   the whole shm pool
  /proc/<pid>/status RssAnon    each process' anonymous memory: hiredis
                                allocates with the libc malloc, which no RPC
                                sees

then 50,000 calls (INVITE -> 302/404/500 -> ACK, the keys in turn, 50 sipp
callers in a closed loop), and the same figures again. None may grow by more
than a fixed slack (1 KiB per process for pool figures; not proportional to
the number of requests: a leak of one byte per request would be 25 KB per
worker). The statistics must have counted every lookup.

Twice: without the cache (every lookup asks Redis), and with the shared-
memory cache (cache_size 1000), where the routes keep changing during the
load (same answer codes, other targets), so that entries are invalidated by
the notifier process and stored again all along.
"""

import glob
import os
import re
import subprocess
import threading
import time

import pytest

from conftest import REDIRECT_CFG, Kamailio, Redis, free_port, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, "..", "memcheck", "memory_uac.xml")

WARMUP = 2000
REQUESTS = 50000
CALLERS = 50
POOL_SLACK = 1024            # bytes, per process (pkg) / per figure (module)
RSS_SLACK_KB = 256           # kB per process, for the libc heap (RssAnon)

# the keys in turn, and the answer each gets
KEYS = [
    ("mstr", 302), ("mlist", 302), ("mzset", 302), ("mbig", 302),
    ("mnone", 404), ("mhash", 500), ("mbadval", 500),
]

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("REDISROUTE_KAMAILIO_WRAPPER")),
    reason="load test (50,000 requests within seconds): not under a wrapper "
           "such as valgrind, where pkg is no longer Kamailio's pool")


def load_routes(r):
    r.cli("SET", "route:mstr", "192.0.2.10:5060")
    r.cli("RPUSH", "route:mlist", "sip:mlist@pbx1.example.com",
          "sip:mlist@pbx2.example.com;transport=tcp", "[2001:db8::1]:5060")
    r.cli("ZADD", "route:mzset", "1.0", "sip:carol@192.0.2.20", "0.5",
          "192.0.2.21", "0.125", "sips:carol@pbx.example.org:5061")
    big = []
    for i in range(40):
        # three entries in four are rejected (a space, <>, a bad escape)
        big.append(["sip:u%d@192.0.2.%d" % (i, i + 1), "bad host %d" % i,
                    "sip:<u%d>@x" % i, "sip:u%%zz%d@x" % i][i % 4]
                   if i % 4 else "192.0.2.%d:50%02d" % (i + 1, i))
    r.cli("RPUSH", "route:mbig", *big)
    r.cli("HSET", "route:mhash", "f", "192.0.2.1")
    r.cli("SET", "route:mbadval", "sip:bad user@192.0.2.1")


def run_sipp(k, d, calls, name):
    """sipp: `calls` calls by CALLERS callers in a closed loop; returns
    {"INVITE": sent, "retrans": INVITE retransmissions, 302: n, ...}."""
    inf = os.path.join(d, "keys.csv")
    with open(inf, "w") as f:
        f.write("SEQUENTIAL\n")
        for key, _ in KEYS:
            f.write("%s;\n" % key)
    for old in glob.glob(os.path.join(glob.escape(d), "memory_uac_*_counts.csv")):
        os.unlink(old)
    errors = os.path.join(d, name + "_err.log")
    cmd = ["sipp", "-sf", SCENARIO, "-inf", inf, "-m", str(calls),
           "-users", str(CALLERS), "-timeout", "60s", "-timeout_error",
           "-nostdin", "-i", "127.0.0.1", "-p", str(free_port()),
           "-trace_counts", "-fd", "3600",
           "-trace_err", "-error_file", errors,
           "127.0.0.1:%d" % k.port]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90, cwd=d)
    err = open(errors, errors="replace").read() if os.path.exists(errors) else ""
    assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-2000:], err[-3000:])
    return sipp_message_counts(glob.glob(os.path.join(glob.escape(d), "memory_uac_*_counts.csv")))


def sipp_message_counts(files):
    """The last row of sipp's -trace_counts CSV (columns <index>_<message>_
    <what>) -> {"INVITE": sent, "retrans": INVITE retransmissions, 302: n,
    404: n, 500: n}."""
    assert len(files) == 1, files
    with open(files[0]) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    assert len(rows) >= 2, rows
    row = dict(zip(rows[0], rows[-1]))
    counts = {"INVITE": int(row["0_INVITE_Sent"]),
              "retrans": int(row["0_INVITE_Retrans"])}
    for code in (302, 404, 500):
        recv = [v for c, v in row.items() if re.fullmatch(r"\d+_%d_Recv" % code, c)]
        counts[code] = int(recv[0]) if recv else 0
    return counts


def rpc_lines(k, *args):
    rc, out = k.kamcmd(*args)
    assert rc == 0, (args, out)
    return out


def module_mem(k, which):
    """mod.stats redisroute pkg|shm -> (total, {allocation site: bytes})."""
    out = rpc_lines(k, "mod.stats", "redisroute", which)
    sites, total = {}, None
    for line in out.splitlines():
        m = re.match(r"\s*(.+?):\s*(\d+)\s*$", line)
        if not m:
            continue
        if m.group(1) == "Total":
            total = int(m.group(2))
        else:
            sites[m.group(1)] = int(m.group(2))
    assert total is not None, out
    return total, sites


def pkg_by_process(k):
    """pkg.stats -> {(pid, desc): used bytes}."""
    out = rpc_lines(k, "pkg.stats")
    procs, cur = {}, {}
    for line in out.splitlines():
        line = line.strip()
        if line == "}" and cur:
            procs[(int(cur["pid"]), cur.get("desc", "?"))] = int(cur["used"])
            cur = {}
        name, sep, value = line.partition(":")
        if sep:
            cur[name.strip()] = value.strip()
    assert procs, out
    return procs


def shm_used(k):
    out = rpc_lines(k, "core.shmmem")
    m = re.search(r"(?m)^\s*used:\s*(\d+)", out)
    assert m, out
    return int(m.group(1))


def rss_anon_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def cache_entries(k):
    m = re.search(r"cache_entries:\s*(\d+)", rpc_lines(k, "redisroute.status"))
    return int(m.group(1)) if m else None


def snapshot(k):
    pkg = pkg_by_process(k)
    return {
        "cache_entries": cache_entries(k),
        "mod_pkg": module_mem(k, "pkg"),
        "mod_shm": module_mem(k, "shm"),
        "pkg": pkg,
        "shm": shm_used(k),
        "rss": {p: rss_anon_kb(p[0]) for p in pkg},
    }


def churn(r, stop):
    """Changes routes until stop is set (the answer codes stay the same);
    returns the number of changes. Leaves every route as load_routes() set it."""
    n = 0
    while not stop.is_set():
        i = n % 4
        if i == 0:
            r.cli("SET", "route:mstr", "192.0.2.11:5060")
        elif i == 1:
            r.cli("SET", "route:mstr", "192.0.2.10:5060")
        elif i == 2:
            r.cli("ZADD", "route:mzset", "0.75", "192.0.2.21")
        else:
            r.cli("ZADD", "route:mzset", "0.5", "192.0.2.21")
        n += 1
        stop.wait(0.005)
    if n % 4 in (1, 3):     # half-way through a pair: undo
        r.cli("SET", "route:mstr", "192.0.2.10:5060")
        r.cli("ZADD", "route:mzset", "0.5", "192.0.2.21")
    return n


def report(before, after):
    lines = ["module pkg (ctl process): %d -> %d bytes"
             % (before["mod_pkg"][0], after["mod_pkg"][0]),
             "module shm: %d -> %d bytes (%s -> %s)" % (
                 before["mod_shm"][0], after["mod_shm"][0],
                 before["mod_shm"][1], after["mod_shm"][1]),
             "cache entries: %s -> %s" % (before["cache_entries"],
                                          after["cache_entries"]),
             "shm pool used: %d -> %d bytes" % (before["shm"], after["shm"])]
    for p in sorted(before["pkg"]):
        lines.append("pid %d %-45s pkg %d -> %d bytes, RssAnon %d -> %d kB"
                     % (p[0], p[1][:45], before["pkg"][p], after["pkg"].get(p, -1),
                        before["rss"][p], after["rss"].get(p, -1)))
    return "\n".join(lines)


@pytest.fixture(params=[0, 1000], ids=["no-cache", "cache"])
def server(private_dir, request):
    r = Redis(os.path.join(private_dir, "redis")).start()
    k = None
    try:
        k = Kamailio(os.path.join(private_dir, "kamailio"), cfg=REDIRECT_CFG,
                     workers=2, defines={
                         "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port,
                         "CACHE_SIZE": str(request.param)})
        k.start()
        if request.param:
            assert wait_until(lambda: "cache: active" in rpc_lines(
                k, "redisroute.status"), 10), k.log()[-3000:]
        yield r, k, request.param
    finally:
        if k is not None:
            k.stop()
        r.stop()


def grew(name, before, after, slack, unit, figures):
    assert after - before <= slack, "%s grew by %d %s (%d -> %d; slack %d)\n%s" % (
        name, after - before, unit, before, after, slack, figures)


def test_module_memory_stays_flat(server, private_dir):
    r, k, cache = server
    load_routes(r)

    warm = run_sipp(k, private_dir, WARMUP, "warmup")
    assert warm[302] + warm[404] + warm[500] == WARMUP, warm
    before = snapshot(k)
    stats_before = k.stats()

    stop, changes = threading.Event(), []
    if cache:
        t = threading.Thread(target=lambda: changes.append(churn(r, stop)))
        t.start()
    t0 = time.monotonic()
    try:
        sent = run_sipp(k, private_dir, REQUESTS, "load")
    finally:
        stop.set()
        if cache:
            t.join(30)
    took = time.monotonic() - t0
    if cache:
        # the last changes reach the notifier; then every key once more
        time.sleep(0.3)
        run_sipp(k, private_dir, len(KEYS), "settle")

    after = snapshot(k)
    stats_after = k.stats()
    figures = report(before, after) + "\n%d calls in %.1f s%s: %s" % (
        REQUESTS, took, ", %d route changes meanwhile" % changes[0]
        if changes else "", sent)
    print(figures)

    # every call answered as its key says, every lookup counted
    per_code = {code: 0 for code in (302, 404, 500)}
    for i in range(REQUESTS):
        per_code[KEYS[i % len(KEYS)][1]] += 1
    assert sent["INVITE"] == REQUESTS, figures
    assert {c: sent[c] for c in per_code} == per_code, figures
    delta = {n: stats_after[n] - stats_before[n] for n in stats_before}
    lookups = REQUESTS + (len(KEYS) if cache else 0)
    # a retransmitted INVITE (none on an idle machine) is looked up again
    assert lookups <= delta["lookups"] <= lookups + sent["retrans"], (delta, figures)
    assert delta["errors"] == 0, delta
    assert delta["hits"] + delta["misses"] + delta["bad_data"] == delta["lookups"], delta
    if sent["retrans"] == 0:
        assert delta["hits"] == per_code[302] + (4 if cache else 0), delta
        assert delta["redirects"] == delta["hits"], delta
        assert delta["misses"] == per_code[404] + (1 if cache else 0), delta
        assert delta["bad_data"] == per_code[500] + (2 if cache else 0), delta
    if cache:
        assert changes and changes[0] > 0, figures
        assert delta["cache_hits"] > 0 and delta["cache_misses"] > 0, delta
    else:
        assert delta["cache_hits"] == 0, delta

    # the module's own blocks: not one more byte (the fixed slack aside)
    grew("redisroute shm (mod.stats)", before["mod_shm"][0], after["mod_shm"][0],
         POOL_SLACK, "bytes", figures)
    grew("redisroute pkg (mod.stats, ctl process)", before["mod_pkg"][0],
         after["mod_pkg"][0], POOL_SLACK, "bytes", figures)
    # every process' pkg, the shm pool, and the libc heap
    assert set(after["pkg"]) == set(before["pkg"]), figures
    for p in sorted(before["pkg"]):
        grew("pkg of %d (%s)" % p, before["pkg"][p], after["pkg"][p],
             POOL_SLACK, "bytes", figures)
        grew("RssAnon of %d (%s)" % p, before["rss"][p], after["rss"][p],
             RSS_SLACK_KB, "kB", figures)
    grew("shm pool", before["shm"], after["shm"], POOL_SLACK * len(before["pkg"]),
         "bytes", figures)
