#!/usr/bin/python3
"""make bench-cluster: redisroute on one redis-server against a 3-master
Redis Cluster, exact and prefix lookups, in one run.

  bench/cluster.py [--out build/bench-cluster] [--rate 1000] [--secs 8] [--rounds 2]

Four configurations, each a fresh kamailio (bench/cfg/redisroute.cfg, no
cache, 2 workers) answering open-loop INVITEs at a fixed rate from Python
(bench/measure.py's fixed_rate), rounds interleaved:

  single-exact    one redis-server, key route:uN (10,000 users)
  single-prefix   one redis-server, prefix_match 1: +4930NNNNNNN walks 12
                  prefixes and the default key (13 candidates) to route:+4930
  cluster-exact   3 masters (redis-cli --cluster create), the same keys
  cluster-prefix  3 masters, the same numbers: the 13 candidates hash to
                  ~13 slots on all 3 masters, one EVALSHA per slot, written to
                  every master before any reply is read

Reported per configuration (median of the rounds): answered/lost, p50 and
p99 response time, kamailio CPU per call (all its processes), Redis CPU per
call (all nodes; a cluster's nodes also gossip, about 1 ms/s each, included)
and Redis commands per call. The machine is noisy: compare ratios within
one run. Results: <out>/results.md and results.json.
"""

import argparse
import json
import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

import measure  # noqa: E402  (bench/measure.py: kamailio, fixed-rate driver; tests/ on sys.path)
import report  # noqa: E402
from harness import procs  # noqa: E402
from harness.procs import Failed, cpu_ns  # noqa: E402
from harness.rcluster import RedisCluster, keyslot, resp  # noqa: E402

USERS = 10000
NUMBERS = ["+4930%07d" % (i * 7919 % 10000000) for i in range(USERS)]
PREFIX_ROUTES = {"route:+49": "192.0.2.49:5060",
                 "route:+4930": "192.0.2.30:5060",
                 "route:default": "192.0.2.1:5060"}


def exact_routes():
    for i in range(USERS):
        yield "route:u%d" % i, "192.0.2.%d:5060" % (i % 250 + 1)


class Nodes:
    """What measure.fixed_rate and measure.Kamailio need of "the redis": a port, a
    process (CPU is measured here over every node), and commands()."""

    def __init__(self, ports, procs):
        self.port = ports[0]
        self.ports = ports
        self.procs = procs
        self.proc = procs[0]

    def commands(self):
        total = 0
        for p in self.ports:
            info = resp(p, ("INFO", "stats"))[0].decode()
            for line in info.splitlines():
                if line.startswith("total_commands_processed:"):
                    total += int(line.split(":")[1])
        return total

    def numpat(self):
        return 0


def load(ports_of_slot, routes):
    """SETs every route on the node owning its slot, pipelined per node."""
    batches = {}
    for key, value in routes:
        batches.setdefault(ports_of_slot(keyslot(key)), []).append(("SET", key, value))
    for port, cmds in batches.items():
        for i in range(0, len(cmds), 1000):
            replies = resp(port, *cmds[i:i + 1000])
            assert all(r == "OK" for r in replies), replies[:3]


def cluster_owner_map(c):
    owners = [0] * 16384
    for start, end, _h, port, _id in c.slots(c.ports[0]):
        for s in range(start, end + 1):
            owners[s] = port
    return lambda slot: owners[slot]


def measure_one(conf, nodes, users, rate, secs, work, workers):
    """A fresh kamailio of conf, warmed up, at `rate` for `secs`; Redis CPU
    over every node."""
    k = measure.Kamailio(conf, nodes, work, workers)
    try:
        k.start()
        # warm every worker's connections (and, for the cluster, its map)
        for u in users[:20]:
            code, _ = measure.sip_call(k.port, u)
            if code != 302:
                raise Failed("%s: %s answered %s" % (conf[1], u, code))
        pids = [p.pid for p in nodes.procs]
        c0 = cpu_ns(pids)
        res = measure.fixed_rate(k, nodes, users, rate, secs)
        res["redis_cpu_us"] = (cpu_ns(pids) - c0) / 1000.0 / max(res["ok"], 1)
        return res
    finally:
        k.stop()


def configurations(one, three):
    """(conf, nodes, users) of the four configurations."""
    server = '"redis://127.0.0.1:{redis_port}/0"'
    cluster = '"redis://127.0.0.1:{redis_port}?cluster=1"'
    prefix = {"PREFIX_MATCH": None, "PREFIX_DEFAULT_KEY": '"default"'}
    exact = ["u%d" % i for i in range(USERS)]
    return [
        (("e1", "single-exact", "", "redisroute.cfg", {"REDIS_SERVER": server}), one, exact),
        (("e2", "single-prefix", "", "redisroute.cfg",
          dict(prefix, REDIS_SERVER=server)), one, NUMBERS),
        (("e3", "cluster-exact", "", "redisroute.cfg",
          {"REDIS_SERVER": cluster}), three, exact),
        (("e4", "cluster-prefix", "", "redisroute.cfg",
          dict(prefix, REDIS_SERVER=cluster)), three, NUMBERS),
    ]


def run_rounds(a, work, one, three):
    """Every configuration once a round, interleaved: {name: [result of each round]}."""
    confs = configurations(one, three)
    results = {c[0][1]: [] for c in confs}
    for rnd in range(a.rounds):
        measure.log("bench-cluster: round %d of %d" % (rnd + 1, a.rounds))
        for conf, nodes, users in confs:
            res = measure_one(conf, nodes, users, a.rate, a.secs, work, a.workers)
            results[conf[1]].append(res)
            measure.log("  %-15s ok %5d lost %3d  p50 %.3f ms  p99 %.3f ms  kamailio "
                        "%.1f us/call  redis %.1f us/call  %.2f cmds/call" % (
                            conf[1], res["ok"], res["lost"], res["p50_ms"] or -1,
                            res["p99_ms"] or -1, res["kam_cpu_us"], res["redis_cpu_us"],
                            res["redis_cmds"]))
    return results


def write_results(a, out, mach, results):
    rows = ["| configuration | answered | lost | p50 ms | p99 ms | kamailio CPU us/call "
            "| Redis CPU us/call | Redis commands/call |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    summary = {}
    for name, rs in results.items():
        m = {f: report.med([r[f] for r in rs]) for f in
             ("ok", "lost", "p50_ms", "p99_ms", "kam_cpu_us", "redis_cpu_us", "redis_cmds")}
        summary[name] = m
        rows.append("| %s | %.0f | %.0f | %.3f | %.3f | %.1f | %.1f | %.2f |" % (
            name, m["ok"], m["lost"], m["p50_ms"], m["p99_ms"], m["kam_cpu_us"],
            m["redis_cpu_us"], m["redis_cmds"]))
    text = ("redisroute, %d/s for %gs, median of %d rounds, %s, %s\n\n" % (
        a.rate, a.secs, a.rounds, mach["cpu"], mach["redis"]) + "\n".join(rows) + "\n")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"machine": mach, "rate": a.rate, "secs": a.secs,
                   "rounds": results, "median": summary}, f, indent=1)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(measure.ROOT, "build", "bench-cluster"))
    ap.add_argument("--rate", type=int, default=int(os.environ.get("BENCH_RATE", "1000")))
    ap.add_argument("--secs", type=float, default=float(os.environ.get("BENCH_FIXED_SECS", "8")))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "2")))
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    work = os.path.join(out, "work")
    os.makedirs(work, exist_ok=True)
    mach = report.machine()
    measure.log("bench-cluster: %d CPUs (%s), kamailio %s, %s; %d/s for %gs, %d rounds" % (
        mach["cpus"], mach["cpu"], mach["kamailio"], mach["redis"], a.rate, a.secs,
        a.rounds))

    single = measure.bench_redis(os.path.join(work, "redis"))
    cluster = RedisCluster(os.path.join(work, "cluster"), masters=3).start()
    try:
        routes = list(exact_routes()) + list(PREFIX_ROUTES.items())
        load(lambda s: single.port, routes)
        load(cluster_owner_map(cluster), routes)
        one = Nodes([single.port], [single.proc])
        three = Nodes(cluster.ports, [cluster.procs[p] for p in cluster.ports])
        results = run_rounds(a, work, one, three)
    finally:
        cluster.stop()
        single.stop()
    write_results(a, out, mach, results)


if __name__ == "__main__":
    try:
        main()
    finally:
        procs.stop_all()
