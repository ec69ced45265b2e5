#!/usr/bin/python3
"""`make bench`: what a redirect costs with redisroute, against a static 302
(the limit) and the ndb_redis config a Kamailio user writes today.

  /usr/bin/python3 bench/run.py [--quick] [--out build/bench]

Starts its own redis-server loaded with 100,000 routes (bench/load_routes),
then measures four kamailio configs (bench/cfg/), all with the same
`children`, -m and -M, listening on 127.0.0.1 (UDP):

  a  static      302 with a fixed Contact, no lookup (the limit)
  b  ndb_redis   the hand-written ndb_redis config (TYPE, then GET/LRANGE/ZREVRANGE)
  c  redisroute  sip_redirect(), no cache
  d  cached      sip_redirect() with cache_size=100000; "n/a" when the module
                 has no cache (kamailio refuses the modparam)

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

The rate, latency and CPU runs use kamailio's default memory manager (qm),
or BENCH_MM (e.g. tlsf).

The configs run interleaved (a b c d a b c d ...), each round a fresh kamailio,
and the table gives the medians over the rounds. Writes results.md,
results.json and bench.png (needs python3-matplotlib) into --out.
Every process it starts is stopped by its PID."""

import argparse
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BENCH = os.path.join(ROOT, "bench")
MODULE_DIR = os.path.join(ROOT, "modules", "redisroute")
SCENARIO = os.path.join(BENCH, "sipp", "uac.xml")

CONFIGS = [
    # key, name, description, cfg file, extra defines
    ("a", "static", "static 302, no lookup (the limit)", "static.cfg", {}),
    ("b", "ndb_redis", "hand-written ndb_redis cfg", "ndb_redis.cfg",
     {"NDB_SERVER": '"name=srv;addr=127.0.0.1;port={redis_port};db=0"'}),
    ("c", "redisroute", "redisroute, no cache", "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"'}),
    ("d", "redisroute+cache", "redisroute, cache_size 100000", "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"', "CACHE": None}),
]

_procs = []  # every Popen started here, stopped at exit
OPEN_CALLS_MAX = 15000  # sipp -l, below the open-files limit


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


class Failed(Exception):
    pass


# ---------------------------------------------------------------- processes

def free_port():
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise Failed("no free port")


def start(cmd, logpath, **kw):
    fh = open(logpath, "ab")
    p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True, **kw)
    p._log = fh
    _procs.append(p)
    return p


def stop(p, timeout=10):
    if p is None:
        return
    if p.poll() is None:
        try:
            p.terminate()
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(5)
    if getattr(p, "_log", None):
        p._log.close()
        p._log = None
    if p in _procs:
        _procs.remove(p)


def stop_all():
    for p in list(_procs):
        try:
            stop(p, 5)
        except Exception:
            pass


def udp_bound(port):
    """True when some process has 127.0.0.1:port open (UDP)."""
    needle = ":%04X " % port
    try:
        with open("/proc/net/udp") as f:
            return any(l.split()[1].endswith(needle.strip()) and
                       l.split()[1].startswith("0100007F") for l in f.readlines()[1:])
    except OSError:
        return False


def wait_until(pred, timeout, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def descendants(pid):
    """pid and all its descendants (kamailio -DD forks every process itself)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ns(pids):
    """CPU time (ns) of all threads of pids, from /proc/<pid>/task/*/schedstat."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total


# ------------------------------------------------------------------- redis

class Redis:
    def __init__(self, workdir):
        self.workdir = workdir
        self.port = free_port()
        self.proc = None

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.proc = start(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                           "--save", "", "--appendonly", "no", "--dir", self.workdir,
                           "--logfile", os.path.join(self.workdir, "redis.log")],
                          os.path.join(self.workdir, "redis.out"))
        if not wait_until(lambda: self.cli("PING") == "PONG", 10):
            raise Failed("redis-server did not start (see %s)" % self.workdir)
        return self

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] +
                           [str(a) for a in args], capture_output=True, text=True, timeout=10)
        return r.stdout.strip()

    def commands(self):
        m = re.search(r"total_commands_processed:(\d+)", self.cli("INFO", "stats"))
        return int(m.group(1)) if m else 0

    def numpat(self):
        try:
            return int(self.cli("PUBSUB", "NUMPAT") or 0)
        except ValueError:
            return 0


def ensure_redis(redis, routes):
    """The routing table is there: when redis-server has gone (the machine is
    shared), start it again on its port and reload the routes."""
    if redis.proc.poll() is None and redis.cli("DBSIZE") == str(routes):
        return
    log("bench: redis-server is gone or lost its data; starting it again")
    stop(redis.proc)
    redis.start()
    subprocess.run([os.path.join(BENCH, "load_routes"), "-p", str(redis.port),
                    "-n", str(routes)], check=True)


# ---------------------------------------------------------------- kamailio

def debian_module_dir():
    out = subprocess.run(["dpkg", "-L", "kamailio"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.endswith("/modules/sl.so"):
            return os.path.dirname(line)
    raise Failed("kamailio's module directory not found (is kamailio installed?)")


class Kamailio:
    def __init__(self, conf, redis, workdir, workers, callgrind_dir=None, mm=None):
        key, name, _, cfg, defines = conf
        self.mm = mm
        self.key, self.name = key, name
        self.cfg = os.path.join(BENCH, "cfg", cfg)
        self.redis = redis
        self.workdir = workdir
        self.port = free_port()
        self.workers = workers
        self.callgrind_dir = callgrind_dir
        self.defines = {"SIP_PORT": str(self.port), "WORKERS": str(workers)}
        for k, v in defines.items():
            self.defines[k] = v.format(redis_port=redis.port) if v else None
        self.logpath = os.path.join(workdir, "kamailio-%s%s.log" % (
            name, "-callgrind-%s" % mm if callgrind_dir else ""))
        self.proc = None

    def command(self):
        cmd = ["kamailio", "-f", self.cfg, "-L", "%s:%s" % (MODULE_DIR, debian_module_dir()),
               "-DD", "-E", "-m", "64", "-M", "8"]
        if self.mm:
            # shm and pkg memory manager; kamailio's default is qm
            cmd += ["-x", self.mm, "-X", self.mm]
        if self.callgrind_dir:
            cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                   "--callgrind-out-file=%s/cg.%%p" % self.callgrind_dir] + cmd
        for k, v in self.defines.items():
            cmd += ["-A", k if v is None else "%s=%s" % (k, v)]
        return cmd

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        with open(self.logpath, "w") as f:
            f.write("# " + " ".join(self.command()) + "\n")
        self.proc = start(self.command(), self.logpath)
        slow = bool(self.callgrind_dir)
        if not wait_until(lambda: self.proc.poll() is not None or udp_bound(self.port),
                          90 if slow else 20):
            raise Failed("kamailio did not open its port")
        if self.proc.poll() is not None:
            raise Failed("kamailio exited at start-up (status %s)" % self.proc.returncode)
        if not slow:
            # a SIP answer from a worker (the callgrind runs send nothing
            # but the counted calls: requests wait in the socket meanwhile)
            if not wait_until(lambda: self.proc.poll() is None and
                              sip_ping(self.port) is not None, 20, 0.1):
                raise Failed("kamailio does not answer SIP")
        if "CACHE" in self.defines:
            # the cache is bypassed until the notifier's PSUBSCRIBE is up
            if not wait_until(lambda: self.redis.numpat() > 0, 60 if slow else 15, 0.1):
                raise Failed("the cache's keyspace-notification subscription never came up")
            time.sleep(2.0 if slow else 0.5)
        return self

    def pids(self):
        return descendants(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def stop(self):
        stop(self.proc, 60 if self.callgrind_dir else 10)

    def log_text(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# what kamailio says when the module has no cache parameters (yet)
NO_CACHE = re.compile(r"parameter <cache_\w+>[^\n]*not found in module <redisroute>")


def no_cache_in_build(k):
    text = k.log_text()
    return NO_CACHE.search(text) is not None


# --------------------------------------------------------------- SIP (Python)

def invite(user, port, lport, n):
    return ("INVITE sip:{u}@127.0.0.1:{p} SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:{l};branch=z9hG4bK-bench-{n}\r\n"
            "From: sipp <sip:sipp@127.0.0.1:{l}>;tag=bench{n}\r\n"
            "To: <sip:{u}@127.0.0.1:{p}>\r\n"
            "Call-ID: {n}-bench@127.0.0.1\r\n"
            "CSeq: 1 INVITE\r\n"
            "Contact: <sip:sipp@127.0.0.1:{l}>\r\n"
            "Max-Forwards: 70\r\n"
            "Subject: redisroute bench\r\n"
            "Content-Length: 0\r\n\r\n").format(u=user, p=port, l=lport, n=n).encode()


def ack(user, port, lport, n, to_line):
    return ("ACK sip:{u}@127.0.0.1:{p} SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:{l};branch=z9hG4bK-bench-{n}\r\n"
            "From: sipp <sip:sipp@127.0.0.1:{l}>;tag=bench{n}\r\n"
            "{to}\r\n"
            "Call-ID: {n}-bench@127.0.0.1\r\n"
            "CSeq: 1 ACK\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n").format(u=user, p=port, l=lport, n=n,
                                                 to=to_line).encode()


def header_line(msg, name):
    i = msg.find(b"\r\n" + name + b":")
    if i < 0:
        return None
    j = msg.find(b"\r\n", i + 2)
    return msg[i + 2:j]


def call_number(msg):
    line = header_line(msg, b"Call-ID")
    if line is None:
        return None
    m = re.match(rb"Call-ID:\s*(\d+)-bench@", line)
    return int(m.group(1)) if m else None


def status(msg):
    try:
        return int(msg[8:11])
    except ValueError:
        return 0


def sip_ping(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        s.settimeout(0.3)
        msg = ("OPTIONS sip:127.0.0.1:{p} SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:{l};branch=z9hG4bK-ping\r\n"
               "From: <sip:ping@127.0.0.1:{l}>;tag=ping\r\nTo: <sip:127.0.0.1:{p}>\r\n"
               "Call-ID: ping@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n").format(p=port, l=lport).encode()
        s.sendto(msg, ("127.0.0.1", port))
        return s.recv(65535)
    except OSError:
        return None
    finally:
        s.close()


def sip_call(port, user, n=1):
    """One INVITE (and the ACK): (status, [contact URIs])."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        s.settimeout(2)
        s.sendto(invite(user, port, lport, n), ("127.0.0.1", port))
        while True:
            r = s.recv(65535)
            code = status(r)
            if code >= 200:
                break
        s.sendto(ack(user, port, lport, n, header_line(r, b"To").decode()),
                 ("127.0.0.1", port))
        uris = []
        for line in r.split(b"\r\n"):
            if line.lower().startswith(b"contact:") and b"sipp@" not in line:
                uris += [u.decode() for u in re.findall(rb"<([^>]*)>", line)]
        return code, uris
    except OSError:
        return None, []
    finally:
        s.close()


def expected_uris(user):
    """What bench/load_routes stored for user (uN), as full URIs."""
    i = int(user[1:])
    h = i % 250 + 1
    r = i % 20
    if r < 12:
        return ["sip:%s@192.0.2.%d:5060" % (user, h)]
    if r < 17:
        return ["sip:%s@198.51.100.%d:5060" % (user, (h + j) % 250 + 1) for j in range(3)]
    return ["sip:%s@203.0.113.%d:5060" % (user, (h + j) % 250 + 1) for j in range(3)]


def check_answers(k):
    """The config answers the bench's routes as redisroute would (a: any 302)."""
    for user in ("u0", "u12", "u17", "u99999"):
        code, uris = sip_call(k.port, user)
        if k.key == "a":
            want = (302, ["sip:%s@192.0.2.10:5060" % user])
        else:
            want = (302, expected_uris(user))
        if (code, uris) != want:
            raise Failed("wrong answer for %s: %s %s, expected %s %s" % (
                user, code, uris, want[0], want[1]))
    code, _ = sip_call(k.port, "nobody-here")
    if k.key != "a" and code != 404:
        raise Failed("a missing route gave %s, expected 404" % code)


def fixed_rate(k, redis, users, rate, secs):
    """Open-loop INVITEs at `rate` for `secs` from Python: response times
    (send -> kernel receive timestamp of the 302) and CPU per call."""
    so_ts = getattr(socket, "SO_TIMESTAMPNS", 35)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.setsockopt(socket.SOL_SOCKET, so_ts, 1)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    lport = s.getsockname()[1]
    dst = ("127.0.0.1", k.port)
    total = int(rate * secs)
    sent = [0] * total
    rtt = []
    fails = {}
    done = 0
    pids = k.pids()
    rpids = [redis.proc.pid]
    kcpu0, rcpu0, cmds0 = cpu_ns(pids), cpu_ns(rpids), redis.commands()
    period = 1.0 / rate
    t0 = time.monotonic()
    i = 0
    last_send = t0
    while True:
        now = time.monotonic()
        while i < total and t0 + i * period <= now:
            u = users[i % len(users)]
            sent[i] = time.time_ns()
            s.sendto(invite(u, k.port, lport, i), dst)
            i += 1
            last_send = now
        if i >= total and (done >= total or now - last_send > 2.0):
            break
        wait = t0 + i * period - now if i < total else 0.05
        r, _, _ = select.select([s], [], [], max(0.0, wait))
        if not r:
            continue
        while True:
            try:
                msg, anc, _, _ = s.recvmsg(65535, 64)
            except BlockingIOError:
                break
            code = status(msg)
            if code < 200:
                continue
            n = call_number(msg)
            if n is None or n >= total or sent[n] == 0:
                continue
            ts = None
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == so_ts:
                    sec, nsec = struct.unpack("qq", data[:16])
                    ts = sec * 1000000000 + nsec
            if ts is None:
                ts = time.time_ns()
            done += 1
            if code == 302:
                rtt.append((ts - sent[n]) / 1e6)
                s.sendto(ack(users[n % len(users)], k.port, lport, n,
                             header_line(msg, b"To").decode()), dst)
            else:
                fails[code] = fails.get(code, 0) + 1
            sent[n] = 0
    elapsed = time.monotonic() - t0
    time.sleep(0.1)  # the last ACKs
    kcpu = cpu_ns(pids) - kcpu0
    rcpu = cpu_ns(rpids) - rcpu0
    cmds = redis.commands() - cmds0 - 1
    s.close()
    lost = total - done
    ok = len(rtt)
    rtt.sort()

    def pct(p):
        return rtt[min(len(rtt) - 1, int(p * len(rtt)))] if rtt else None
    return {
        "rate": rate, "calls": total, "ok": ok, "lost": lost, "errors": fails,
        "elapsed": round(elapsed, 3),
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "p999_ms": pct(0.999),
        "kam_cpu_us": kcpu / 1000.0 / max(ok, 1),
        "redis_cpu_us": rcpu / 1000.0 / max(ok, 1),
        "redis_cmds": cmds / max(ok, 1),
    }


# --------------------------------------------------------------------- sipp

def sipp(k, users_csv, workdir, rate, calls, open_calls, recv_timeout_ms, tag, timeout):
    """One sipp run; its final statistics and CPU time."""
    stf = os.path.join(workdir, "sipp-%s.csv" % tag)
    if os.path.exists(stf):
        os.unlink(stf)
    cmd = ["sipp", "-sf", SCENARIO, "-inf", users_csv, "-i", "127.0.0.1",
           "-p", str(free_port()), "-r", str(int(rate)), "-m", str(int(calls)),
           "-l", str(int(open_calls)), "-nr", "-recv_timeout", str(recv_timeout_ms),
           "-buff_size", "262144", "-nostdin", "-trace_stat", "-stf", stf, "-fd", "3600",
           "127.0.0.1:%d" % k.port]
    out = open(os.path.join(workdir, "sipp-%s.out" % tag), "wb")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         cwd=workdir, start_new_session=True)
    _procs.append(p)
    deadline = t0 + timeout
    ru = None
    while True:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = os.waitstatus_to_exitcode(st)
            break
        if time.monotonic() > deadline:
            os.killpg(p.pid, signal.SIGKILL)
            pid, st, ru = os.wait4(p.pid, 0)
            p.returncode = -9
            break
        time.sleep(0.02)
    _procs.remove(p)
    out.close()
    wall = time.monotonic() - t0
    res = {"rc": p.returncode, "wall": wall, "calls": int(calls), "rate": rate,
           "sipp_cpu": ru.ru_utime + ru.ru_stime if ru else 0.0}
    try:
        with open(stf) as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
        head, last = lines[0].split(";"), lines[-1].split(";")
        st = dict(zip(head, last))
        res.update({
            "created": int(st.get("OutgoingCall(C)", 0)),
            "ok": int(st.get("SuccessfulCall(C)", 0)),
            "failed": int(st.get("FailedCall(C)", 0)),
            "callrate": float(st.get("CallRate(C)", 0) or 0),
            "timeouts": int(st.get("FailedTimeoutOnRecv(C)", 0)),
            "unexpected": int(st.get("FailedUnexpectedMessage(C)", 0)),
        })
    except (OSError, IndexError, ValueError):
        res.update({"created": 0, "ok": 0, "failed": int(calls), "callrate": 0.0})
    return res


def held(res):
    n = res["calls"]
    return (res["rc"] in (0, 1) and res["ok"] + res["failed"] >= n and
            res["failed"] * 1000 < n and res["callrate"] >= 0.97 * res["rate"])


def round_rate(r):
    return max(50, int(round(r / 50.0)) * 50)


def search_rate(k, redis, users_csv, workdir, start_rate, steps, secs, up, down, tag):
    """Highest rate that holds: bracket from start_rate (up or down by the
    factors), then bisect until the bracket is within 5%. The CPU per call of
    kamailio, redis-server and sipp is kept from the highest step that held."""
    lo = hi = None
    at_lo = None
    r = round_rate(start_rate)
    tried = []
    kpids, rpids = k.pids(), [redis.proc.pid]
    for step in range(steps):
        k0, r0 = cpu_ns(kpids), cpu_ns(rpids)
        res = sipp(k, users_csv, workdir, r, r * secs, min(OPEN_CALLS_MAX, max(2000, r * 3)),
                   2000, "%s-step%d" % (tag, step), secs * 3 + 20)
        n = max(res["calls"], 1)
        res["kam_us"] = (cpu_ns(kpids) - k0) / 1000.0 / n
        res["redis_us"] = (cpu_ns(rpids) - r0) / 1000.0 / n
        res["sipp_us"] = 1e6 * res["sipp_cpu"] / n
        ok = held(res)
        tried.append({"rate": r, "held": ok, "failed": res["failed"],
                      "sipp_rate": round(res["callrate"]), "kam_us": round(res["kam_us"], 1),
                      "redis_us": round(res["redis_us"], 1), "sipp_us": round(res["sipp_us"], 1)})
        log("      %5d calls/s for %gs: %-5s failed %d of %d, sipp reached %.0f/s; CPU us/call: "
            "kamailio %.0f, redis %.0f, sipp %.0f" % (
                r, secs, "holds" if ok else "no", res["failed"], res["calls"],
                res["callrate"], res["kam_us"], res["redis_us"], res["sipp_us"]))
        if ok:
            if lo is None or r > lo:
                lo, at_lo = r, res
        elif hi is None or r < hi:
            hi = r
        if lo is not None and hi is not None:
            if hi <= lo * 1.05 + 50:
                break
            nr = round_rate((lo + hi) / 2)
        elif lo is not None:
            nr = round_rate(lo * up)
        else:
            nr = round_rate(hi * down)
        if nr == r or (lo is not None and nr <= lo) or (hi is not None and nr >= hi):
            break
        r = nr
    return {"max_rate": lo or 0, "first_failing": hi, "steps": tried,
            "at_max": {x: at_lo[x] for x in ("kam_us", "redis_us", "sipp_us")} if at_lo else {}}


# ---------------------------------------------------------------- callgrind

def callgrind_totals(d):
    """{pid: Ir} of every process callgrind wrote into d."""
    out = {}
    for f in os.listdir(d):
        m = re.match(r"cg\.(\d+)$", f)
        if not m:
            continue
        total = None
        with open(os.path.join(d, f), errors="replace") as fh:
            for line in fh:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total = int(line.split()[1])
                    break
        if total is not None:
            out[int(m.group(1))] = total
    return out


def instructions(conf, redis, workdir, users, mm, warm, n1, n2):
    """Instructions per call of the SIP worker: (Ir(W+N2) - Ir(W+N1)) / (N2-N1),
    kamailio with memory manager mm (shm and pkg). The calls go to the W
    users of the warm-up again and again, so (d) answers from its cache."""
    users_csv = os.path.join(workdir, "users-callgrind-%d.csv" % warm)
    with open(users_csv, "w") as f:
        f.write("SEQUENTIAL\n" + "".join(u + ";\n" for u in users[:warm]))
    runs = []
    for n in (n1, n2):
        d = os.path.join(workdir, "callgrind", "%s-%s-%d" % (conf[1], mm, n))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        k = Kamailio(conf, redis, workdir, 1, callgrind_dir=d, mm=mm)
        try:
            k.start()
            res = sipp(k, users_csv, workdir, 100000, warm + n, 8, 60000,
                       "callgrind-%s-%s-%d" % (conf[1], mm, n), 300)
            if res["ok"] != warm + n:
                raise Failed("callgrind run: %d of %d calls answered 302 (sipp rc %s)"
                             % (res["ok"], warm + n, res["rc"]))
        finally:
            k.stop()
        totals = callgrind_totals(d)
        if not totals:
            raise Failed("callgrind wrote no output (see %s)" % k.logpath)
        runs.append([totals[p] for p in sorted(totals)])
    a, b = runs
    if len(a) != len(b):
        raise Failed("callgrind: %d processes in one run, %d in the other" % (len(a), len(b)))
    diffs = [y - x for x, y in zip(a, b)]
    worker = max(range(len(diffs)), key=lambda i: diffs[i])
    return diffs[worker] / float(n2 - n1)


# ------------------------------------------------------------------ results

def machine():
    def run(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
        except OSError:
            return ""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        m = re.search(r"MemTotal:\s+(\d+)", f.read())
        if m:
            mem = "%.0f GiB" % (int(m.group(1)) / 1048576.0)
    kam = run(["kamailio", "-v"]).splitlines()
    rev = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    dirty = run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).strip()
    return {
        "cpus": os.cpu_count(), "cpu": model, "memory": mem,
        "kernel": os.uname().release,
        "os": (open("/etc/os-release").read().split('PRETTY_NAME="')[1].split('"')[0]
               if os.path.exists("/etc/os-release") else "?"),
        "kamailio": kam[0].replace("version: ", "").strip() if kam else "?",
        "redis": run(["redis-server", "--version"]).split(" sha=")[0].strip(),
        "sipp": run(["sipp", "-v"]).strip().splitlines()[0].strip() if run(["sipp", "-v"]).strip() else "?",
        "valgrind": run(["valgrind", "--version"]).strip(),
        "commit": rev + ("+changes" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load": open("/proc/loadavg").read().split()[:3],
    }


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec="%.0f", none="-"):
    return none if v is None else spec % v


def ratio(v, ref, spec="%.2f"):
    if v is None or not ref:
        return "-"
    return spec % (v / ref) + "x"


def summarize(results, order):
    rows = {}
    for key in order:
        r = results[key]
        if r.get("na"):
            rows[key] = {"na": r["na"]}
            continue
        rounds = r["rounds"]
        at = lambda f: med([x["at_max"].get(f) for x in rounds])
        rows[key] = {
            "max_rate": med([x["max_rate"] for x in rounds]),
            "bounded": any(x["first_failing"] for x in rounds),
            "p50": med([x["fixed"]["p50_ms"] for x in rounds]),
            "p99": med([x["fixed"]["p99_ms"] for x in rounds]),
            "kam_us": med([x["fixed"]["kam_cpu_us"] for x in rounds]),
            "redis_us": med([x["fixed"]["redis_cpu_us"] for x in rounds]),
            "cmds": med([x["fixed"]["redis_cmds"] for x in rounds]),
            "max_kam_us": at("kam_us"), "max_redis_us": at("redis_us"),
            "max_sipp_us": at("sipp_us"),
            "instr": r.get("instr_tlsf"),
            "instr_qm": r.get("instr_qm"),
            "rates": ["%s%d" % ("" if x["first_failing"] else ">=", x["max_rate"])
                      for x in rounds],
            "fixed_fail": sum(x["fixed"]["calls"] - x["fixed"]["ok"] for x in rounds),
            "fixed_calls": sum(x["fixed"]["calls"] for x in rounds),
        }
    return rows


def table(rows, order, names, rate):
    a = rows.get("a", {})
    b = rows.get("b", {})

    def cpu(r):
        if not r or r.get("na") or r.get("kam_us") is None:
            return None
        return r["kam_us"] + (r["redis_us"] or 0)
    lines = []
    lines.append("| config | max calls/s | vs (a) | p50 ms | p99 ms | instr/call | extra instr vs (a) "
                 "| kamailio CPU µs/call | redis CPU µs/call | CPU kamailio+redis vs (a) | vs (b) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in order:
        r = rows[key]
        label = "(%s) %s" % (key, names[key])
        if r.get("na"):
            lines.append("| %s | %s |%s" % (label, r["na"], " |" * 9))
            continue
        lines.append("| %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, "" if r["bounded"] else ">=", fmt(r["max_rate"]),
            ratio(r["max_rate"], a.get("max_rate")),
            fmt(r["p50"], "%.3f"), fmt(r["p99"], "%.3f"),
            "-" if r["instr"] is None else "{:,.0f}".format(r["instr"]),
            "-" if key == "a" or r["instr"] is None or a.get("instr") is None
            else "{:+,.0f}".format(r["instr"] - a["instr"]),
            fmt(r["kam_us"], "%.1f"), fmt(r["redis_us"], "%.1f"),
            ratio(cpu(r), cpu(a)), ratio(cpu(r), cpu(b))))
    lines.append("")
    lines.append("| config | max calls/s per round | at max: kamailio CPU µs/call | redis | sipp "
                 "| redis commands/call (Lua's included) | p50 vs (a) | p99 vs (a) | instr vs (a) "
                 "| instr/call with qm | vs (a) | calls failed at %d/s |" % rate)
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in order:
        r = rows[key]
        if r.get("na"):
            continue
        lines.append("| (%s) %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d of %d |" % (
            key, names[key], ", ".join(r["rates"]), fmt(r["max_kam_us"], "%.1f"),
            fmt(r["max_redis_us"], "%.1f"), fmt(r["max_sipp_us"], "%.1f"),
            fmt(r["cmds"], "%.2f"), ratio(r["p50"], a.get("p50")), ratio(r["p99"], a.get("p99")),
            ratio(r["instr"], a.get("instr")),
            "-" if r["instr_qm"] is None else "{:,.0f}".format(r["instr_qm"]),
            ratio(r["instr_qm"], a.get("instr_qm")), r["fixed_fail"], r["fixed_calls"]))
    return "\n".join(lines)


def chart(rows, order, names, path, title, rate):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("bench: python3-matplotlib is missing, no chart")
        return False
    keys = [k for k in order if not rows[k].get("na")]
    labels = ["(%s)\n%s" % (k, names[k]) for k in keys]
    colors = ["#7f7f7f", "#d62728", "#1f77b4", "#2ca02c"]
    col = [colors["abcd".index(k)] for k in keys]
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.8))
    x = range(len(keys))
    v = [rows[k]["max_rate"] or 0 for k in keys]
    ax[0].bar(x, v, color=col)
    for i, k in enumerate(keys):
        pts = [float(x.lstrip(">=")) for x in rows[k]["rates"]]
        ax[0].plot([i] * len(pts), pts, "k.", ms=6)
        ax[0].text(i, v[i], "%d" % v[i], ha="center", va="bottom")
    ax[0].set_title("highest call rate, < 0.1% failed calls")
    ax[0].set_ylabel("calls/s (median; dots: rounds)")
    w = 0.38
    p50 = [rows[k]["p50"] or 0 for k in keys]
    p99 = [rows[k]["p99"] or 0 for k in keys]
    ax[1].bar([i - w / 2 for i in x], p50, w, label="p50", color=col, alpha=0.6)
    ax[1].bar([i + w / 2 for i in x], p99, w, label="p99", color=col)
    ax[1].set_title("response time INVITE -> 302 at %d calls/s" % rate)
    ax[1].set_ylabel("ms")
    ax[1].legend(["p50", "p99"])
    kam = [rows[k]["kam_us"] or 0 for k in keys]
    red = [rows[k]["redis_us"] or 0 for k in keys]
    ax[2].bar(x, kam, color=col, label="kamailio")
    ax[2].bar(x, red, bottom=kam, color="#ff7f0e", label="redis-server")
    ax[2].set_title("CPU per call at %d calls/s" % rate)
    ax[2].set_ylabel("µs")
    ax[2].legend()
    for a_ in ax:
        a_.set_xticks(list(x))
        a_.set_xticklabels(labels, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


# --------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    env = os.environ.get
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--quick", action="store_true", default=env("BENCH_QUICK", "0") not in ("", "0", "no"),
                    help="a ~2 minute smoke run (BENCH_QUICK=1)")
    ap.add_argument("--configs", default=env("BENCH_CONFIGS", "a,b,c,d"))
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--workers", type=int, default=int(env("BENCH_WORKERS", "2")))
    ap.add_argument("--routes", type=int, default=int(env("BENCH_ROUTES", "100000")))
    ap.add_argument("--rate", type=int, default=int(env("BENCH_RATE", "1000")),
                    help="the fixed rate of the response-time and CPU runs")
    ap.add_argument("--step-secs", type=float, default=None)
    ap.add_argument("--budget", type=float, default=float(env("BENCH_BUDGET", "0")),
                    help="seconds; rounds that would not fit are skipped")
    a = ap.parse_args()

    quick = a.quick
    rounds = a.rounds or int(env("BENCH_ROUNDS", "1" if quick else "3"))
    step_secs = a.step_secs or float(env("BENCH_STEP_SECS", "2" if quick else "3"))
    fixed_secs = float(env("BENCH_FIXED_SECS", "2" if quick else "4"))
    steps = int(env("BENCH_STEPS", "5" if quick else "7"))
    ws = min(a.routes, int(env("BENCH_USERS", "3000" if quick else "6000")))
    # (memory manager, (warm-up calls, N1, N2)); qm runs ~6x slower
    cg_runs = [("tlsf", (200, 200, 700) if quick else (1000, 500, 2500)),
               ("qm", (200, 100, 300) if quick else (300, 200, 700))]
    cg = cg_runs[0][1]
    if env("BENCH_CALLGRIND_QM", "1") in ("0", ""):
        cg_runs = cg_runs[:1]
    budget = a.budget or (240 if quick else 420)
    # memory manager of the rate/latency/CPU runs: kamailio's default (qm)
    # unless BENCH_MM says otherwise (e.g. tlsf)
    mm_run = env("BENCH_MM") or None
    order = [c for c in "abcd" if c in a.configs.split(",")]
    confs = {c[0]: c for c in CONFIGS}
    names = {c[0]: c[1] for c in CONFIGS}

    t_start = time.monotonic()
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for tool in ("kamailio", "redis-server", "redis-cli", "sipp", "valgrind"):
        if not shutil.which(tool):
            raise Failed("%s is not installed (make bench-deps)" % tool)
    if not os.path.exists(os.path.join(MODULE_DIR, "redisroute.so")):
        raise Failed("modules/redisroute/redisroute.so is not built (make build)")
    # sipp wants its open calls (-l) below the open-files limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 20000 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (20000, hard))
    global OPEN_CALLS_MAX
    OPEN_CALLS_MAX = max(500, min(15000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 1000))

    mach = machine()
    log("bench: %d CPUs (%s), %s, kamailio %s, %s, %s" % (
        mach["cpus"], mach["cpu"], mach["memory"], mach["kamailio"], mach["redis"], mach["sipp"]))
    log("bench: %s run: %d round(s) of %s, %d workers each, fixed rate %d/s for %gs, "
        "rate steps of %gs, working set %d users" % (
            "quick" if quick else "full", rounds, " ".join(order), a.workers, a.rate,
            fixed_secs, step_secs, ws))

    redis = Redis(os.path.join(work, "redis")).start()
    results = {k: {"rounds": []} for k in order}
    try:
        users_all = os.path.join(work, "users-all.csv")
        subprocess.run([os.path.join(BENCH, "load_routes"), "-p", str(redis.port),
                        "-n", str(a.routes), "--users", users_all], check=True)
        with open(users_all) as f:
            users = [l.strip().rstrip(";") for l in f.readlines()[1:]]
        # the working set: random users of the table, the same for every config
        ws_csv = os.path.join(work, "users.csv")
        with open(ws_csv, "w") as f:
            f.write("SEQUENTIAL\n" + "".join(u + ";\n" for u in users[:ws]))
        ws_users = users[:ws]

        # instructions per call (deterministic: once per config)
        # instructions per call: deterministic, so once per config, with
        # tlsf (the reference) and with kamailio's default qm
        for mm, counts in cg_runs:
            log("bench: instructions per call (callgrind, 1 worker, -x %s -X %s; "
                "%d warm-up calls, then %d vs %d calls)" % ((mm, mm) + counts))
            for key in order:
                if results[key].get("na"):
                    continue
                t = time.monotonic()
                try:
                    ensure_redis(redis, a.routes)
                    ipc = instructions(confs[key], redis, work, users, mm, *counts)
                    results[key]["instr_" + mm] = ipc
                    log("  (%s) %-17s %8.0f instructions/call  [%.0fs]" % (
                        key, names[key], ipc, time.monotonic() - t))
                except Failed as e:
                    if key == "d" and no_cache_in_build_dir(work, names[key], mm):
                        results[key]["na"] = "n/a (no cache in this build)"
                        log("  (d) %-17s n/a: kamailio refuses modparam cache_size, "
                            "no cache in this build" % names[key])
                    else:
                        results[key]["instr_%s_error" % mm] = str(e)
                        log("  (%s) %-17s instructions: FAILED: %s" % (key, names[key], e))
        cg_time = time.monotonic() - t_start

        # interleaved rounds: throughput, response time, CPU
        t_rounds = time.monotonic()
        for rnd in range(rounds):
            elapsed = time.monotonic() - t_start
            log("bench: round %d of %d  [%.0fs so far]" % (rnd + 1, rounds, elapsed))
            for key in order:
                if results[key].get("na"):
                    continue
                conf = confs[key]
                ensure_redis(redis, a.routes)
                k = Kamailio(conf, redis, work, a.workers, mm=mm_run)
                t = time.monotonic()
                try:
                    try:
                        k.start()
                    except Failed:
                        if key == "d" and no_cache_in_build(k):
                            results[key]["na"] = "n/a (no cache in this build)"
                            log("  (d) n/a: kamailio refuses modparam cache_size: "
                                "no cache in this build")
                            continue
                        raise
                    check_answers(k)
                    # warm-up, closed loop: every user of the working set once
                    # (fills the cache of (d)); its rate seeds the search
                    w = sipp(k, ws_csv, work, 100000, ws, 16, 2000,
                             "%s-r%d-warmup" % (names[key], rnd), 120)
                    closed = w["callrate"]
                    fx = fixed_rate(k, redis, ws_users, a.rate, fixed_secs)
                    prev = [x["max_rate"] for x in results[key]["rounds"] if x["max_rate"]]
                    if prev:
                        # later rounds: around the earlier rounds' result
                        start_rate, up, down, n = med(prev), 1.1, 0.9, max(3, steps - 2)
                    else:
                        # open loop holds well more than sipp's closed loop gives
                        start_rate, up, down, n = 1.5 * closed, 1.4, 0.75, steps
                    log("  (%s) %-17s closed-loop %5.0f calls/s; at %d/s: p50 %.3f ms, p99 %.3f ms, "
                        "kamailio %.1f us/call, redis %.1f us/call, %d failed" % (
                            key, names[key], closed, a.rate, fx["p50_ms"] or -1,
                            fx["p99_ms"] or -1, fx["kam_cpu_us"], fx["redis_cpu_us"],
                            fx["calls"] - fx["ok"]))
                    sr = search_rate(k, redis, ws_csv, work, start_rate, n, step_secs, up, down,
                                     "%s-r%d" % (names[key], rnd))
                    sr.update({"closed_loop": closed, "fixed": fx})
                    results[key]["rounds"].append(sr)
                    log("  (%s) %-17s max %s%d calls/s  [%.0fs]" % (
                        key, names[key], "" if sr["first_failing"] else ">= ",
                        sr["max_rate"], time.monotonic() - t))
                except Failed as e:
                    results[key].setdefault("errors", []).append(str(e))
                    log("  (%s) %-17s FAILED: %s (log: %s)" % (key, names[key], e, k.logpath))
                finally:
                    k.stop()
            if rnd + 1 < rounds:
                spent = time.monotonic() - t_start
                round_time = (time.monotonic() - t_rounds) / (rnd + 1)
                if spent + round_time > budget:
                    log("bench: skipping the remaining rounds: %.0fs spent, a round takes "
                        "%.0fs, budget %.0fs" % (spent, round_time, budget))
                    break
    finally:
        stop(redis.proc)
        stop_all()

    for key in order:
        if not results[key].get("na") and not results[key]["rounds"]:
            results[key]["na"] = "failed: " + "; ".join(results[key].get("errors", ["?"]))
    rows = summarize(results, order)
    total = time.monotonic() - t_start
    tbl = table(rows, order, names, a.rate)
    done_rounds = max([len(results[k]["rounds"]) for k in order] or [0])
    head = ("Machine: %d CPUs (%s), %s RAM, %s, kernel %s; %s, %s, %s, %s. "
            "Commit %s, %s; load average at start %s." % (
                mach["cpus"], mach["cpu"], mach["memory"], mach["os"], mach["kernel"],
                mach["kamailio"].split(" (")[0], mach["redis"], mach["sipp"].rstrip("."),
                mach["valgrind"], mach["commit"], mach["date"], " ".join(mach["load"])))
    title = "redisroute bench: %d CPUs (%s), %s, %s; %s" % (
        mach["cpus"], mach["cpu"], mach["kamailio"].split(" (")[0], mach["redis"], mach["date"])
    how = "\n".join([
        "- %d routes in redis-server (60%% string, 25%% list of 3, 15%% sorted set of 3); "
        "calls go to a random working set of %d of them. kamailio: `children=%d`, -m 64 -M 8, "
        "UDP on 127.0.0.1; sipp, kamailio and redis-server share the %d CPUs. A call is an "
        "INVITE answered 302 and its ACK." % (a.routes, ws, a.workers, mach["cpus"]),
        "- max calls/s: sipp open loop, no retransmissions (a lost request fails the call), "
        "%gs steps; the highest rate with < 0.1%% failed calls at which sipp keeps >= 97%% of "
        "the rate (\">=\": no step above it failed). Median of %d round(s), configs "
        "interleaved, a fresh kamailio each time." % (step_secs, done_rounds),
        "- p50/p99: INVITE -> 302 at %d calls/s (open loop from Python; kernel receive "
        "timestamps). CPU per call: kamailio (all its processes) and redis-server, "
        "/proc/<pid>/task/*/schedstat over that run; \"at max\": over the highest step "
        "that held, sipp from its rusage." % a.rate,
        "- kamailio runs with its default memory manager (qm) in the rate, latency and CPU "
        "runs%s." % (" (here: -x %s -X %s, BENCH_MM)" % (mm_run, mm_run) if mm_run else ""),
        "- instr/call: callgrind, the SIP worker of a 1-worker kamailio with -x tlsf -X tlsf "
        "(\"with qm\": -x qm -X qm, the default), (Ir(W+N2 calls) - Ir(W+N1 calls)) / (N2-N1) "
        "after W warm-up calls, the measured calls going to the warm-up's users again (so (d) "
        "answers from its cache): %s." % ", ".join(
            "%s W=%d N1=%d N2=%d" % ((mm,) + tuple(c)) for mm, c in cg_runs),
        "- %s run: %.0f s." % ("quick (BENCH_QUICK=1)" if quick else "full", total)])
    md = "# redisroute bench\n\n%s\n\n%s\n\n%s\n" % (head, tbl, how)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"machine": mach, "results": results, "summary": rows,
                   "seconds": total, "quick": quick}, f, indent=1, default=str)
    png = os.path.join(out, "bench.png")
    has_png = chart(rows, order, names, png, title, a.rate)
    log("")
    log(head)
    log("")
    log(tbl)
    log("")
    log(how)
    log("")
    log("bench: wrote %s/results.md, results.json%s (%.0f s)" % (
        out, ", bench.png" if has_png else "", total))
    bad = [k for k in order if k != "d" and rows[k].get("na")]
    return 1 if bad else 0


def no_cache_in_build_dir(work, name, mm):
    p = os.path.join(work, "kamailio-%s-callgrind-%s.log" % (name, mm))
    try:
        with open(p, errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    return NO_CACHE.search(text) is not None


if __name__ == "__main__":
    def on_signal(sig, frame):
        stop_all()
        sys.exit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sys.exit(main())
    except Failed as e:
        stop_all()
        sys.stderr.write("bench: %s\n" % e)
        sys.exit(1)
    finally:
        stop_all()
