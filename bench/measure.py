"""The bench's measurements (bench/run.py drives them, bench/cluster.py
borrows them): kamailio with one of the bench configs, the correctness check,
the fixed-rate response-time and CPU run from Python, sipp's rate search and
callgrind's instructions per call. Processes and servers come from the
shared harness (tests/harness); every process is stopped by its PID."""

import os
import re
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BENCH = os.path.join(ROOT, "bench")
SCENARIO = os.path.join(BENCH, "sipp", "uac.xml")
if os.path.join(ROOT, "tests") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "tests"))

from harness import procs, servers, sip, tls  # noqa: E402
from harness.procs import Failed, cpu_ns, free_port, udp_bound, wait_until  # noqa: E402,F401

CONFIGS = [
    # key, name, description, cfg file, extra defines
    ("a", "static", "static 302, no lookup (the limit)", "static.cfg", {}),
    # (a) with (c)'s route shape (a switch on $rc), instructions only: the
    # control of qm's heap layout (bench/cfg/static_switch.cfg)
    ("w", "static+switch", "static 302 with (c)'s switch on $rc (instructions only)",
     "static_switch.cfg", {}),
    ("0", "ndb_get", "the simplest ndb_redis cfg: GET, strings only", "ndb_get.cfg",
     {"NDB_SERVER": '"name=srv;addr=127.0.0.1;port={redis_port};db=0"'}),
    ("b", "ndb_redis", "hand-written ndb_redis cfg", "ndb_redis.cfg",
     {"NDB_SERVER": '"name=srv;addr=127.0.0.1;port={redis_port};db=0"'}),
    ("c", "redisroute", "redisroute, no cache", "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"'}),
    # (c) for a table of strings only: route_types "string", GETRANGE
    ("s", "redisroute+strings", "redisroute, route_types string, no cache", "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"', "ROUTE_TYPES": '"string"'}),
    ("d", "redisroute+cache", "redisroute, cache_size 100000", "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"', "CACHE": None}),
    # the whole table preloaded and kept (cache_preload): measured once the
    # replica is complete; wait_ready() asks the status over a control socket
    ("p", "redisroute+preload", "redisroute, cache_size 200000, cache_preload 1",
     "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"', "CACHE": None,
      "CACHE_SIZE": "200000", "CACHE_PRELOAD": "1"}),
    # (d) in prefix mode (number routing), where a change can alter the
    # answer for many lookup keys
    ("f", "cache+prefix", "redisroute, cache_size 100000, prefix_match 1", "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"', "CACHE": None,
      "PREFIX_MATCH": None, "PREFIX_DEFAULT_KEY": '"default"'}),
    # (c) where every route names a gateway: the same users' strings under
    # gwroute: (`@gwK`, gw:gwK a bare host, weight 1; bench/load_routes), so
    # (g) - (c) is what resolving a gateway costs a lookup
    ("g", "redisroute+gw", "redisroute, routes naming gateways, no cache", "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"', "KEY_PREFIX": '"gwroute:"'}),
    # (g) with selection "hash": a list of 3 gateways, weights 70/20/10
    # (gwlist:), in a stable weighted order per Call-ID
    ("h", "redisroute+gw+hash", "redisroute, 3 gateways, selection hash, no cache",
     "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"', "KEY_PREFIX": '"gwlist:"',
      "SELECTION": '"hash"'}),
    # (g) with health on: a prober (probe_interval 5 s; one failure takes a
    # gateway down, so that the run need not wait 15 s) sends OPTIONS to the
    # gateways' 192.0.2.x hosts, which never answer: every gateway goes down,
    # and all_down "all" keeps (g)'s answers (each route names one gateway).
    # wait_ready() waits for them to be down: (k) - (g) is what a lookup pays
    # for health, in its worst case (every target down, the fail-open pass)
    ("k", "redisroute+gw+health", "redisroute, (g) with probe_interval 5, all gateways down, "
     "all_down all", "redisroute.cfg",
     {"REDIS_SERVER": '"redis://127.0.0.1:{redis_port}/0"', "KEY_PREFIX": '"gwroute:"',
      "PROBE_INTERVAL": "5", "PROBE_FAILURES": "1", "ALL_DOWN": '"all"'}),
    # where the module has TLS (hiredis_ssl): (c) over the same redis-server's
    # TLS port, the certificate checked against the bench's own CA
    ("e", "redisroute+tls", "redisroute over TLS, no cache", "redisroute.cfg",
     {"REDIS_SERVER": '"rediss://127.0.0.1:{redis_tls_port}/0"', "TLS_CA_FILE": '"{tls_ca}"'}),
]

# the module is built with TLS exactly where pkg-config finds hiredis_ssl
HAVE_TLS = subprocess.run(["pkg-config", "--exists", "hiredis_ssl", "openssl"]).returncode == 0

OPEN_CALLS_MAX = 15000  # sipp -l, below the open-files limit (see open_files_for_sipp)

# what kamailio says when the module has no cache parameters (yet)
NO_CACHE = re.compile(r"parameter <cache_\w+>[^\n]*not found in module <redisroute>")


def log(msg):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def open_files_for_sipp():
    """sipp wants its open calls (-l) below the open-files limit: raise the
    limit where the hard one allows, and set OPEN_CALLS_MAX to fit."""
    global OPEN_CALLS_MAX
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 20000 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (20000, hard))
    OPEN_CALLS_MAX = max(500, min(15000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 1000))


# ------------------------------------------------------------------- redis

def bench_redis(workdir):
    """The bench's redis-server (TCP only; a TLS port too where the module
    has TLS, with certificates made for the run), started."""
    certs = tls.Certs(os.path.join(workdir, "certs")) if HAVE_TLS else None
    r = servers.Redis(workdir, unixsocket=False, tls=certs)
    r.certs = certs
    return r.start()


# the configs whose routes name gateways (gw:*, kept in shared memory)
GATEWAY_CONFIGS = "ghk"
# the bare hosts of bench/load_routes's gateways: gw:gw0 .. gw:gw9 (gwroute:),
# gw:gwh0 .. gw:gwh2 (gwlist:)
GATEWAYS = 10
HASH_GATEWAYS = 3


def table_size(routes):
    """DBSIZE of the bench's table: the routes under route:, the same users'
    under gwroute: and gwlist:, and the 13 gateways (bench/load_routes)."""
    return 3 * routes + GATEWAYS + HASH_GATEWAYS


def load_routes(redis, routes, users_file=None):
    """bench/load_routes: `routes` routes into redis (and the users, in a
    fixed random order, into users_file)."""
    cmd = [os.path.join(BENCH, "load_routes"), "-p", str(redis.port), "-n", str(routes)]
    subprocess.run(cmd + (["--users", users_file] if users_file else []), check=True)


def forget_health(redis):
    """No health left by an earlier (k) run: its keys (gw:NAME:health) and
    the prober's lease (gw::prober), so that the next node probes at once
    and the table's size is the routes' again."""
    redis.cli("EVAL", "for _, k in ipairs(redis.call('KEYS', 'gw:*:health')) do "
              "redis.call('DEL', k) end redis.call('DEL', 'gw::prober') return 1", "0")


def gateways_down(redis):
    """1 when the prober has taken every (g) gateway down (gw:gwK:health)."""
    return all(redis.cli("HGET", "gw:gw%d:health" % i, "state") == "down"
               for i in range(GATEWAYS))


def ensure_redis(redis, routes):
    """The routing table is there: when redis-server has gone (the machine is
    shared), start it again on its port and reload the routes."""
    try:
        forget_health(redis)
        if redis.proc.poll() is None and redis.cli("DBSIZE") == str(table_size(routes)):
            return
    except (RuntimeError, OSError):
        pass
    log("bench: redis-server is gone or lost its data; starting it again")
    redis.stop()
    redis.start()
    load_routes(redis, routes)


# ---------------------------------------------------------------- kamailio

class Kamailio(servers.Kamailio):
    """kamailio with one of the bench configs, conf = (key, name,
    description, cfg file, defines; "{redis_port}" in a define is redis's
    port), on UDP only, no control socket. callgrind_dir: under callgrind,
    which writes cg.<pid> there; mm: -x mm -X mm."""

    def __init__(self, conf, redis, workdir, workers, callgrind_dir=None, mm=None):
        key, name, _, cfg, defines = conf
        self.key, self.name = key, name
        self.redis = redis
        self.callgrind_dir = callgrind_dir
        self.logpath = os.path.join(workdir, "kamailio-%s%s.log" % (
            name, "-callgrind-%s" % mm if callgrind_dir else ""))
        wrapper = []
        if callgrind_dir:
            wrapper = ["valgrind", "--tool=callgrind", "--trace-children=yes",
                       "--callgrind-out-file=%s/cg.%%p" % callgrind_dir]
        fill = {"redis_port": redis.port, "redis_tls_port": redis.tls_port,
                "tls_ca": redis.certs.ca if redis.certs else None}
        defs = {k: v.format(**fill) if v else None for k, v in defines.items()}
        # (p) needs the status (kamcmd): a control socket of its own
        preload = "CACHE_PRELOAD" in defs
        super().__init__(os.path.join(workdir, "ctl-" + name) if preload else workdir,
                         os.path.join(BENCH, "cfg", cfg), defs, workers,
                         logfile=self.logpath, ctl=preload, mm=mm, wrapper=wrapper)
        if preload:
            self.shm_mb = 256
        if callgrind_dir:
            self.stop_timeout = 60

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        with open(self.logpath, "w") as f:
            f.write("# " + " ".join(self.command()) + "\n")
        return super().start()

    def wait_ready(self):
        """Its port open, a SIP answer from a worker (the callgrind runs send
        nothing but the counted calls: requests wait in the socket
        meanwhile), and with the cache its notifier subscribed."""
        if not wait_until(lambda: self.proc.poll() is not None or udp_bound(self.port),
                          90 if self.slow else 20):
            raise Failed("kamailio did not open its port")
        if self.proc.poll() is not None:
            raise Failed("kamailio exited at start-up (status %s)" % self.proc.returncode)
        if not self.slow and not wait_until(self._ready, 20, 0.1):
            raise Failed("kamailio does not answer SIP")
        # ((g) and (h) without the cache: a worker opens its subscription at
        # its first lookup that names a gateway; the warm-up calls cover it)
        if "PROBE_INTERVAL" in self.defines:
            # (k): measured once every gateway is down, on every process
            # (the health process applies a change within 100 ms)
            if not wait_until(lambda: gateways_down(self.redis), 120 if self.slow else 30, 0.2):
                raise Failed("the prober never took the gateways down")
            time.sleep(2.0 if self.slow else 0.5)
        if "CACHE" in self.defines:
            # the cache is bypassed until the notifier's subscription is up
            if not wait_until(lambda: self.redis.numsub() > 0, 60 if self.slow else 15, 0.1):
                raise Failed("the cache's invalidation subscription never came up")
            time.sleep(2.0 if self.slow else 0.5)
        if "CACHE_PRELOAD" in self.defines:
            # (p): measured once the replica holds the whole table
            done = lambda: self.status().get("cache_preload") == "complete"
            if not wait_until(done, 300 if self.slow else 60, 0.2):
                raise Failed("cache_preload never completed")


def no_cache_in_build(k):
    return NO_CACHE.search(k.log()) is not None


def no_cache_in_build_dir(work, name, mm):
    p = os.path.join(work, "kamailio-%s-callgrind-%s.log" % (name, mm))
    try:
        with open(p, errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    return NO_CACHE.search(text) is not None


# ----------------------------------------------------- SIP: the bench's call
# The same INVITE and ACK as bench/sipp/uac.xml, numbered: the fixed-rate
# run matches each answer to its call by the Call-ID.

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


def sip_call(port, user):
    """One INVITE: (status, [contact URIs]); (None, []) without an answer."""
    r = sip.request(port, "INVITE", user=user)
    return (r.code, r.contact_uris()) if r is not None else (None, [])


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


def expected_gw_uris(key, user):
    """What (g), (k) or (h) answers for user (uN): (g) and (k) the gateway
    gw(N mod 10)'s host; (h) the 3 hosts of gwh0..gwh2, in an order of its own (per Call-ID),
    sorted here."""
    i = int(user[1:])
    if key in "gk":
        return ["sip:%s@192.0.2.%d:5060" % (user, i % GATEWAYS + 1)]
    return ["sip:%s@198.51.100.%d:5060" % (user, j + 1) for j in range(HASH_GATEWAYS)]


def is_string_user(user):
    """bench/load_routes stored a string for user (uN): N mod 20 below 12."""
    return int(user[1:]) % 20 < 12


def check_answers(k):
    """The config answers the bench's routes as redisroute would (a: any 302;
    (b0) and (s), strings only: the string users; (g) and (h): the
    gateways' hosts)."""
    users = ("u0", "u20", "u99991") if k.key in "0s" else ("u0", "u12", "u17", "u99999")
    for user in users:
        code, uris = sip_call(k.port, user)
        if k.key == "a":
            want = (302, ["sip:%s@192.0.2.10:5060" % user])
        elif k.key in GATEWAY_CONFIGS:
            want = (302, expected_gw_uris(k.key, user))
            if k.key == "h":
                uris = sorted(uris)
        else:
            want = (302, expected_uris(user))
        if (code, uris) != want:
            raise Failed("wrong answer for %s: %s %s, expected %s %s" % (
                user, code, uris, want[0], want[1]))
    code, _ = sip_call(k.port, "nobody-here")
    if k.key != "a" and code != 404:
        raise Failed("a missing route gave %s, expected 404" % code)


# ------------------------------------------------- fixed rate, from Python

class OpenLoop:
    """INVITEs at `rate` for `secs`, open loop, to kamailio k, each 302
    ACKed; the response time of each from its send time to the kernel's
    receive timestamp (SO_TIMESTAMPNS) of the 302."""

    def __init__(self, k, users, rate, secs):
        self.so_ts = getattr(socket, "SO_TIMESTAMPNS", 35)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.setsockopt(socket.SOL_SOCKET, self.so_ts, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.lport = self.sock.getsockname()[1]
        self.port, self.dst = k.port, ("127.0.0.1", k.port)
        self.users = users
        self.total = int(rate * secs)
        self.period = 1.0 / rate
        self.sent = [0] * self.total  # send time (ns) of each call not answered yet
        self.rtt, self.fails, self.done = [], {}, 0

    def run(self):
        """Sends every call on time, reads the answers in between; stops
        when all are answered or 2 s after the last send. Its seconds."""
        t0 = time.monotonic()
        i = 0
        last_send = t0
        while True:
            now = time.monotonic()
            while i < self.total and t0 + i * self.period <= now:
                self.sent[i] = time.time_ns()
                self.sock.sendto(invite(self.users[i % len(self.users)], self.port,
                                        self.lport, i), self.dst)
                i += 1
                last_send = now
            if i >= self.total and (self.done >= self.total or now - last_send > 2.0):
                break
            wait = t0 + i * self.period - now if i < self.total else 0.05
            r, _, _ = select.select([self.sock], [], [], max(0.0, wait))
            if r:
                self._receive()
        return time.monotonic() - t0

    def _receive(self):
        while True:
            try:
                msg, anc, _, _ = self.sock.recvmsg(65535, 64)
            except BlockingIOError:
                return
            self._answer(msg, anc)

    def _answer(self, msg, anc):
        code = status(msg)
        if code < 200:
            return
        n = call_number(msg)
        if n is None or n >= self.total or self.sent[n] == 0:
            return
        ts = None
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == self.so_ts:
                sec, nsec = struct.unpack("qq", data[:16])
                ts = sec * 1000000000 + nsec
        if ts is None:
            ts = time.time_ns()
        self.done += 1
        if code == 302:
            self.rtt.append((ts - self.sent[n]) / 1e6)
            self.sock.sendto(ack(self.users[n % len(self.users)], self.port, self.lport, n,
                                 header_line(msg, b"To").decode()), self.dst)
        else:
            self.fails[code] = self.fails.get(code, 0) + 1
        self.sent[n] = 0


class Writer:
    """Another Redis client: `rate` SETs a second of keys under the prefix
    that no call looks up (route:bench-w0 .. route:bench-w999, round and
    round), in batches of 10, on one connection, from a thread, until
    stop(), which deletes them again (the table stays the bench's). For the
    cache under writes."""

    KEYS = 1000

    def __init__(self, redis, rate):
        self.port, self.rate = redis.port, rate
        self.done, self.writes = threading.Event(), 0
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            f = s.makefile("rb")
            t0 = time.monotonic()
            while not self.done.is_set() and time.monotonic() - t0 < 600:
                batch = b"".join(
                    b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$10\r\n192.0.2.99\r\n"
                    % (len(k), k) for k in (b"route:bench-w%d" % ((self.writes + i) % self.KEYS)
                                           for i in range(10)))
                s.sendall(batch)
                for _ in range(10):
                    f.readline()
                self.writes += 10
                ahead = t0 + self.writes / self.rate - time.monotonic()
                if ahead > 0:
                    self.done.wait(ahead)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join(10)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            keys = [b"route:bench-w%d" % i for i in range(self.KEYS)]
            s.sendall(b"*%d\r\n$3\r\nDEL\r\n" % (len(keys) + 1) + b"".join(
                b"$%d\r\n%s\r\n" % (len(k), k) for k in keys))
            s.makefile("rb").readline()
        return self.writes


def fixed_rate(k, redis, users, rate, secs, writes=0):
    """Open-loop INVITEs at `rate` for `secs` from Python: response times
    (send -> kernel receive timestamp of the 302) and CPU per call; with
    `writes`, while a Writer sets that many unrelated keys a second."""
    calls = OpenLoop(k, users, rate, secs)
    pids = k.pids()
    rpids = [redis.proc.pid]
    kcpu0, rcpu0, cmds0 = cpu_ns(pids), cpu_ns(rpids), redis.commands()
    writer = Writer(redis, writes).start() if writes else None
    elapsed = calls.run()
    written = writer.stop() if writer else 0
    time.sleep(0.1)  # the last ACKs
    kcpu = cpu_ns(pids) - kcpu0
    rcpu = cpu_ns(rpids) - rcpu0
    cmds = redis.commands() - cmds0 - 1 - written - (1 if writer else 0)
    calls.sock.close()
    rtt = sorted(calls.rtt)
    ok = len(rtt)

    def pct(p):
        return rtt[min(len(rtt) - 1, int(p * len(rtt)))] if rtt else None
    return {
        "rate": rate, "calls": calls.total, "ok": ok, "lost": calls.total - calls.done,
        "errors": calls.fails, "elapsed": round(elapsed, 3),
        "p50_ms": pct(0.50), "p99_ms": pct(0.99), "p999_ms": pct(0.999),
        "kam_cpu_us": kcpu / 1000.0 / max(ok, 1),
        "redis_cpu_us": rcpu / 1000.0 / max(ok, 1),
        "redis_cmds": cmds / max(ok, 1),
        "writes_per_s": written / max(elapsed, 0.001),
    }


def cpu_per_call(fx):
    """A fixed_rate() result's CPU per call, kamailio's and redis-server's (µs)."""
    return fx["kam_cpu_us"] + fx["redis_cpu_us"]


# --------------------------------------------------------------------- sipp

def _wait_sipp(p, timeout):
    """Reaps sipp (SIGKILL to its group after timeout); its rusage."""
    deadline = time.monotonic() + timeout
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
    procs.forget(p)
    return ru


def _sipp_stats(stf, calls):
    """The last line of sipp's -trace_stat file."""
    try:
        with open(stf) as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
        head, last = lines[0].split(";"), lines[-1].split(";")
        st = dict(zip(head, last))
        return {
            "created": int(st.get("OutgoingCall(C)", 0)),
            "ok": int(st.get("SuccessfulCall(C)", 0)),
            "failed": int(st.get("FailedCall(C)", 0)),
            "callrate": float(st.get("CallRate(C)", 0) or 0),
            "timeouts": int(st.get("FailedTimeoutOnRecv(C)", 0)),
            "unexpected": int(st.get("FailedUnexpectedMessage(C)", 0)),
        }
    except (OSError, IndexError, ValueError):
        return {"created": 0, "ok": 0, "failed": int(calls), "callrate": 0.0}


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
    out = os.path.join(workdir, "sipp-%s.out" % tag)
    if os.path.exists(out):
        os.unlink(out)
    t0 = time.monotonic()
    p = procs.spawn(cmd, out, new_session=True, cwd=workdir)
    ru = _wait_sipp(p, timeout)
    res = {"rc": p.returncode, "wall": time.monotonic() - t0, "calls": int(calls),
           "rate": rate, "sipp_cpu": ru.ru_utime + ru.ru_stime if ru else 0.0}
    res.update(_sipp_stats(stf, calls))
    return res


def held(res):
    n = res["calls"]
    return (res["rc"] in (0, 1) and res["ok"] + res["failed"] >= n and
            res["failed"] * 1000 < n and res["callrate"] >= 0.97 * res["rate"])


def round_rate(r):
    return max(50, int(round(r / 50.0)) * 50)


def rate_step(k, redis, users_csv, workdir, r, secs, tag):
    """sipp at rate r for secs; its result with the CPU per call of
    kamailio, redis-server and sipp, and whether the rate held."""
    kpids, rpids = k.pids(), [redis.proc.pid]
    k0, r0 = cpu_ns(kpids), cpu_ns(rpids)
    res = sipp(k, users_csv, workdir, r, r * secs, min(OPEN_CALLS_MAX, max(2000, r * 3)),
               2000, tag, secs * 3 + 20)
    n = max(res["calls"], 1)
    res["kam_us"] = (cpu_ns(kpids) - k0) / 1000.0 / n
    res["redis_us"] = (cpu_ns(rpids) - r0) / 1000.0 / n
    res["sipp_us"] = 1e6 * res["sipp_cpu"] / n
    ok = held(res)
    log("      %5d calls/s for %gs: %-5s failed %d of %d, sipp reached %.0f/s; CPU us/call: "
        "kamailio %.0f, redis %.0f, sipp %.0f" % (
            r, secs, "holds" if ok else "no", res["failed"], res["calls"],
            res["callrate"], res["kam_us"], res["redis_us"], res["sipp_us"]))
    return res, ok


def next_rate(r, lo, hi, up, down):
    """The next step of the search, None when it is over: bisect a bracket
    until within 5%, else go up (or down) by the factor."""
    if lo is not None and hi is not None:
        if hi <= lo * 1.05 + 50:
            return None
        nr = round_rate((lo + hi) / 2)
    elif lo is not None:
        nr = round_rate(lo * up)
    else:
        nr = round_rate(hi * down)
    if nr == r or (lo is not None and nr <= lo) or (hi is not None and nr >= hi):
        return None
    return nr


def search_rate(k, redis, users_csv, workdir, start_rate, steps, secs, up, down, tag):
    """Highest rate that holds (in one of two tries): bracket from start_rate
    (up or down by the factors), then bisect until the bracket is within 5%.
    The CPU per call of
    kamailio, redis-server and sipp is kept from the highest step that held."""
    lo = hi = at_lo = None
    r = round_rate(start_rate)
    tried = []
    for step in range(steps):
        res, ok = rate_step(k, redis, users_csv, workdir, r, secs, "%s-step%d" % (tag, step))
        if not ok:
            # a stall of the shared cores (sipp, kamailio and redis-server
            # on two) can fail any one step: a rate fails when a second try
            # at it fails too
            res, ok = rate_step(k, redis, users_csv, workdir, r, secs,
                                "%s-step%d-again" % (tag, step))
        tried.append({"rate": r, "held": ok, "failed": res["failed"],
                      "sipp_rate": round(res["callrate"]), "kam_us": round(res["kam_us"], 1),
                      "redis_us": round(res["redis_us"], 1), "sipp_us": round(res["sipp_us"], 1)})
        if ok:
            if lo is None or r > lo:
                lo, at_lo = r, res
        elif hi is None or r < hi:
            hi = r
        r = next_rate(r, lo, hi, up, down)
        if r is None:
            break
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


# the memory managers' own entry points: their inclusive cost is what an
# allocation costs (qm's walk over its free-list buckets included); the
# shm_* wrappers call these, so nothing is counted twice
ALLOCATOR_FUNCS = ("qm_malloc", "qm_free", "tlsf_malloc", "tlsf_free")


def callgrind_allocator(path):
    """Instructions spent in ALLOCATOR_FUNCS (inclusive) in one callgrind output."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    total = 0
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(?:\S*:)?(\w+)\s", line)
        if m and m.group(2) in ALLOCATOR_FUNCS:
            total += int(m.group(1).replace(",", ""))
    return total


def callgrind_run(conf, redis, workdir, users_csv, mm, warm, n):
    """W+n calls to a 1-worker kamailio under callgrind: Ir of each of its
    processes, in PID order."""
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
    return [(totals[p], callgrind_allocator(os.path.join(d, "cg.%d" % p)))
            for p in sorted(totals)]


def instructions(conf, redis, workdir, users, mm, warm, n1, n2):
    """Instructions per call of the SIP worker: (Ir(W+N2) - Ir(W+N1)) / (N2-N1),
    and of those, the ones inside the memory manager (ALLOCATOR_FUNCS),
    kamailio with memory manager mm (shm and pkg). The calls go to the W
    users of the warm-up again and again, so (d) answers from its cache."""
    users_csv = os.path.join(workdir, "users-callgrind-%d.csv" % warm)
    with open(users_csv, "w") as f:
        f.write("SEQUENTIAL\n" + "".join(u + ";\n" for u in users[:warm]))
    a, b = [callgrind_run(conf, redis, workdir, users_csv, mm, warm, n) for n in (n1, n2)]
    if len(a) != len(b):
        raise Failed("callgrind: %d processes in one run, %d in the other" % (len(a), len(b)))
    diffs = [(y[0] - x[0], y[1] - x[1]) for x, y in zip(a, b)]
    worker = max(range(len(diffs)), key=lambda i: diffs[i][0])
    return diffs[worker][0] / float(n2 - n1), diffs[worker][1] / float(n2 - n1)
