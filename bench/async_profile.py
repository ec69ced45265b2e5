#!/usr/bin/python3
"""Where an async lookup's kamailio CPU goes: kamailio with
bench/cfg/redisroute_async.cfg (or a sync config, for comparison) at a fixed
sipp rate, CPU per call of each process type (SIP workers, the I/O process,
the core's async workers, timers, the rest) from /proc schedstat, and
optionally `perf record` of all its processes.

  /usr/bin/python3 bench/async_profile.py [--mode async|sync|b0] [--rate 3000]
      [--secs 10] [--rtt-ms 0] [--perf DIR] [--mm qm|tlsf] [--define K=V ...]

Not part of `make bench`: a tool for doc/async.md's profile. Every process
it starts is stopped by its PID."""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import async_bench
import measure
from measure import Failed, log
from harness import procs

MODES = {
    "async": ("c", "async", "sip_lookup_async()", "redisroute_async.cfg",
              {"REDIS_SERVER": '"redis://127.0.0.1:{proxy_port}/0"'}),
    "sync": ("c", "sync", "sip_redirect()", "redisroute.cfg",
             {"REDIS_SERVER": '"redis://127.0.0.1:{proxy_port}/0"'}),
    "b0": ("0", "ndb_get", "(b0)", "ndb_get.cfg",
           {"NDB_SERVER": '"name=srv;addr=127.0.0.1;port={proxy_port};db=0"'}),
}

CTL = '''
loadmodule "ctl.so"
modparam("ctl", "binrpc", CTL_SOCKET)
'''


def cfg_with_ctl(cfg, workdir, lines=()):
    """The bench cfg with ctl loaded (core.psx names the processes) and
    lines of one's own (--cfg-line) before request_route."""
    with open(os.path.join(measure.BENCH, "cfg", cfg)) as f:
        text = f.read()
    i = text.find("request_route")
    path = os.path.join(workdir, "profile-" + cfg)
    with open(path, "w") as f:
        f.write(text[:i] + CTL + "".join(l + "\n" for l in lines) + text[i:])
    return path


def kind(desc):
    d = desc.lower()
    if "receiver" in d:
        return "SIP workers"
    if "async i/o" in d:
        return "redisroute I/O"
    if "async task" in d:
        return "core async workers"
    if "timer" in d:
        return "timers (%s)" % desc.strip()
    return "other (%s)" % desc.strip()


class K(measure.Kamailio):
    def __init__(self, mode, redis, workdir, proxy_port, workers, mm, extra, lines=(),
                 callgrind_dir=None):
        key, name, desc, cfg, defines = MODES[mode]
        defs = {k: v.replace("{proxy_port}", str(proxy_port)) for k, v in defines.items()}
        defs.update(extra)
        super().__init__((key, "profile-" + name, desc, cfg, defs), redis, workdir,
                         workers, mm=mm, callgrind_dir=callgrind_dir)
        self.cfg = cfg_with_ctl(cfg, workdir, lines)
        self.defines["CTL_SOCKET"] = '"unix:%s"' % self.ctl
        self.shm_mb = async_bench.SHM_MB


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", default="async", choices=sorted(MODES))
    ap.add_argument("--rate", type=int, default=3000)
    ap.add_argument("--secs", type=float, default=10)
    ap.add_argument("--rtt-ms", type=float, default=0)
    ap.add_argument("--workers", type=int, default=async_bench.WORKERS)
    ap.add_argument("--mm", default=None)
    ap.add_argument("--routes", type=int, default=100000)
    ap.add_argument("--perf", default=None, help="perf record -g into this directory")
    ap.add_argument("--stat", action="store_true",
                    help="perf stat: context switches, system calls, page faults")
    ap.add_argument("--define", action="append", default=[])
    ap.add_argument("--cfg-line", action="append", default=[],
                    help="a line for the cfg, before request_route")
    ap.add_argument("--callgrind", default=None,
                    help="kamailio under callgrind, cg.<pid> into this directory; "
                    "--rate and --secs: the calls after the warm-up (closed loop)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="async-profile-")
    measure.open_files_for_sipp()
    redis = measure.bench_redis(os.path.join(work, "redis"))
    proxy = k = None
    try:
        users_all = os.path.join(work, "users-all.csv")
        measure.load_routes(redis, a.routes, users_all)
        with open(users_all) as f:
            users = [l.strip().rstrip(";") for l in f.readlines()[1:]]
        users = [u for u in users if measure.is_string_user(u)][:6000]
        ws_csv = os.path.join(work, "users.csv")
        with open(ws_csv, "w") as f:
            f.write("SEQUENTIAL\n" + "".join(u + ";\n" for u in users))
        port = redis.port
        if a.rtt_ms > 0:
            proxy, port = async_bench.start_proxy(work, redis.port, a.rtt_ms)
        extra = dict(d.split("=", 1) if "=" in d else (d, None) for d in a.define)
        if a.callgrind:
            os.makedirs(a.callgrind, exist_ok=True)
        k = K(a.mode, redis, work, port, a.workers, a.mm, extra, a.cfg_line, a.callgrind)
        k.start()
        if not a.callgrind:
            measure.check_answers(k)
        ps = k.processes()
        kinds = {}
        for pid, desc in ps.items():
            kinds.setdefault(kind(desc), []).append(pid)
        if a.callgrind:
            measure.sipp(k, ws_csv, work, 50, 300, 300, 30000, "warmup", 120)
            time.sleep(1.0)
            for pid in ps:
                subprocess.run(["callgrind_control", "-z", str(pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            measure.sipp(k, ws_csv, work, 2000, 4000, 4000, 2000, "warmup", 60)
        time.sleep(0.5)
        before = {kd: procs.cpu_ns(p) for kd, p in kinds.items()}
        r0 = procs.cpu_ns([redis.proc.pid])
        perf = None
        if a.perf:
            os.makedirs(a.perf, exist_ok=True)
            perf = subprocess.Popen(
                ["perf", "record", "-F", "2000", "-g", "-o",
                 os.path.join(a.perf, "perf-%s.data" % a.mode),
                 "-p", ",".join(str(p) for p in sorted(ps))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)
        stat_out = os.path.join(work, "perf-stat.csv")
        if a.stat:
            perf = subprocess.Popen(
                ["perf", "stat", "--per-thread", "-x", ",", "-o", stat_out, "-e",
                 "context-switches,raw_syscalls:sys_enter,page-faults",
                 "-p", ",".join(str(p) for p in sorted(ps))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)
        n = int(a.rate * a.secs)
        res = measure.sipp(k, ws_csv, work, a.rate, n, 15000,
                           30000 if a.callgrind else 2000, "profile", a.secs * 3 + 60)
        if a.callgrind:
            time.sleep(6)  # tm's wait timer frees the last transactions
            for pid in ps:
                subprocess.run(["callgrind_control", "-d", "measured", str(pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if perf:
            perf.send_signal(2)
            perf.wait(30)
        after = {kd: procs.cpu_ns(p) for kd, p in kinds.items()}
        rcpu = procs.cpu_ns([redis.proc.pid]) - r0
        ok = max(res["ok"], 1)
        log("%s, %d calls/s for %gs, RTT %g ms, children %d: %d of %d calls ok" % (
            a.mode, a.rate, a.secs, a.rtt_ms, a.workers, res["ok"], n))
        total = 0.0
        for kd in sorted(kinds):
            us = (after[kd] - before[kd]) / 1000.0 / ok
            total += us
            log("  %-40s %2d procs %7.2f us/call" % (kd, len(kinds[kd]), us))
        log("  %-40s          %7.2f us/call" % ("kamailio total", total))
        log("  %-40s          %7.2f us/call" % ("redis-server", rcpu / 1000.0 / ok))
        if a.stat:
            per = {}
            with open(stat_out) as f:
                for line in f:
                    m = re.match(r"\s*kamailio-(\d+),\s*([\d.]+),[^,]*,([^,]+),", line)
                    if m and int(m.group(1)) in ps:
                        kd = kind(ps[int(m.group(1))])
                        ev = per.setdefault(kd, {})
                        ev[m.group(3)] = ev.get(m.group(3), 0) + float(m.group(2))
            log("  per call:%31s %10s %10s %10s" % ("", "ctx-sw", "syscalls", "faults"))
            for kd in sorted(per):
                e = per[kd]
                log("  %-40s %10.2f %10.2f %10.2f" % (
                    kd, e.get("context-switches", 0) / ok,
                    e.get("raw_syscalls:sys_enter", 0) / ok, e.get("page-faults", 0) / ok))
        with open(os.path.join(a.perf or work, "pids-%s.txt" % a.mode), "w") as f:
            for pid, desc in sorted(ps.items()):
                f.write("%d %s\n" % (pid, kind(desc)))
    finally:
        if k:
            k.stop()
        if proxy:
            procs.stop_process(proxy)
        redis.stop()
        procs.stop_all()


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        procs.stop_all()
        sys.stderr.write("profile: %s\n" % e)
        sys.exit(1)
