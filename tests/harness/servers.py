"""The servers of the tests and the bench, each ours, on 127.0.0.1 and
stopped by its PID: redis-server (Redis), redis-sentinel (Sentinel) and
Debian's kamailio with the freshly built module (Kamailio).

REDIS_SERVER=valkey-server runs them all on Valkey, with valkey-cli and
valkey-sentinel beside it."""

import functools
import os
import re
import shlex
import signal
import subprocess

from . import sip
from .procs import Failed, descendants, free_port, spawn, stop_process, wait_until

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TESTS)
MODULE_DIR = os.path.join(ROOT, "modules", "redisroute")
REDIRECT_CFG = os.path.join(ROOT, "etc", "kamailio.cfg")
CFG_DIR = os.path.join(TESTS, "e2e", "cfg")  # the end-to-end tests' cfgs

REDIS_SERVER = os.environ.get("REDIS_SERVER") or "redis-server"
_SERVER_FAMILY = REDIS_SERVER[:-len("-server")] if REDIS_SERVER.endswith("-server") else REDIS_SERVER
REDIS_CLI = _SERVER_FAMILY + "-cli"
REDIS_SENTINEL = _SERVER_FAMILY + "-sentinel"

# Opt-in (make memcheck): a command kamailio runs under, e.g.
# REDISROUTE_KAMAILIO_WRAPPER="tests/memcheck/vgkamailio.sh"; kamailio then
# gets longer to become ready and to stop. Unset: kamailio as it is.
KAMAILIO_WRAPPER = shlex.split(os.environ.get("REDISROUTE_KAMAILIO_WRAPPER", ""))


@functools.lru_cache(maxsize=None)
def debian_module_dir():
    """Debian's kamailio module directory (where its sl.so is), as
    scripts/moddir.sh finds it."""
    r = subprocess.run(["sh", os.path.join(ROOT, "scripts", "moddir.sh")],
                       capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        raise Failed(r.stderr.strip() or "kamailio's module directory not found")
    return r.stdout.strip()


def redis_cli(port, *args, password=None, db=None, value=None):
    """redis-cli -h 127.0.0.1 -p port [auth] [-n db] args (with value: -x,
    value as the last argument, bytes from standard input); the completed
    process."""
    cmd = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port)]
    if password:
        cmd += ["--no-auth-warning", "-a", password]
    if db is not None:
        cmd += ["-n", str(db)]
    if value is not None:
        cmd.append("-x")
    return subprocess.run(cmd + [str(a) for a in args], input=value,
                          capture_output=True, text=value is None, timeout=10)


class Redis:
    """A redis-server of our own on 127.0.0.1 (and a unix socket in its
    workdir, unless unixsocket=False)."""

    def __init__(self, workdir, port=None, args=(), unixsocket=True, tls=None,
                 tls_auth_clients=False, tls_port=None):
        self.workdir = workdir
        self.port = port or free_port()
        self.args = list(args)
        # tls (harness.tls.Certs): a TLS port too, for the module; the
        # harness's redis-cli keeps the plain one
        self.tls_port = (tls_port or free_port()) if tls else None
        if tls:
            self.args += tls.server_args(self.tls_port, tls_auth_clients)
        self.unixsocket = os.path.join(workdir, "redis.sock") if unixsocket else None
        self.proc = None
        self.password = None
        for i, a in enumerate(self.args):
            if a == "--requirepass":
                self.password = self.args[i + 1]

    def command(self):
        cmd = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
               "--save", "", "--appendonly", "no", "--dir", self.workdir]
        if self.unixsocket:
            cmd += ["--unixsocket", self.unixsocket, "--unixsocketperm", "700"]
        return cmd + ["--logfile", os.path.join(self.workdir, "redis.log")] + self.args

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        self.proc = spawn(self.command(), os.path.join(self.workdir, "redis.out"))
        if not wait_until(self._ping, 10):
            self.stop()
            raise Failed("%s did not start on %d (see %s)" % (REDIS_SERVER, self.port, self.workdir))
        return self

    def _ping(self):
        r = redis_cli(self.port, "PING", password=self.password)
        return r.returncode == 0 and ("PONG" in r.stdout or "NOAUTH" in r.stdout
                                      or "NOAUTH" in r.stderr)

    @property
    def client_port(self):
        """The port the module is given: the TLS one when there is one."""
        return self.tls_port or self.port

    def cli(self, *args, db=0):
        """Runs redis-cli as an operator would; returns its stdout, stripped."""
        r = redis_cli(self.port, *args, password=self.password, db=db)
        if r.returncode != 0:
            raise RuntimeError("redis-cli %s failed: %s" % (args, r.stderr))
        return r.stdout.strip()

    def cli_value(self, value, *args, db=0):
        """redis-cli -x: the last argument is `value` (bytes, any content,
        NUL included), read from standard input as redis-cli allows."""
        r = redis_cli(self.port, *args, password=self.password, db=db, value=value)
        if r.returncode != 0:
            raise RuntimeError("redis-cli -x %s failed: %s" % (args, r.stderr))
        return r.stdout.decode(errors="replace").strip()

    def commands(self):
        """total_commands_processed (INFO stats); 0 when it does not answer."""
        try:
            m = re.search(r"total_commands_processed:(\d+)", self.cli("INFO", "stats"))
        except (RuntimeError, subprocess.TimeoutExpired):
            return 0
        return int(m.group(1)) if m else 0

    def calls(self, command):
        """How many times it ran `command` (INFO commandstats; a script's
        own redis.call()s count too, under their names)."""
        for line in self.cli("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_%s:" % command):
                return int(line.split("calls=")[1].split(",")[0])
        return 0

    def numsub(self, channel="__redis__:invalidate"):
        """PUBSUB NUMSUB channel: its subscribers (by default the cache's
        tracking channel); 0 when it does not answer."""
        try:
            return int(self.cli("PUBSUB", "NUMSUB", channel).split()[-1])
        except (RuntimeError, ValueError, IndexError, subprocess.TimeoutExpired):
            return 0

    def numpat(self):
        """PUBSUB NUMPAT: the pattern subscriptions; 0 when it does not answer."""
        try:
            return int(self.cli("PUBSUB", "NUMPAT") or 0)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired):
            return 0

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)


class Sentinel:
    """A redis-sentinel of our own on 127.0.0.1 monitoring the master on
    master_port under the name `master` (quorum 2, down after 1 s)."""

    MASTER = "rrmaster"

    def __init__(self, workdir, master_port, master=MASTER, password=None, tls=None):
        self.workdir = workdir
        self.master = master
        self.password = password  # requirepass of the sentinel itself
        self.port = free_port()
        # tls (harness.tls.Certs): a TLS port for the module, and TLS to the
        # nodes and the other sentinels (tls-replication)
        self.tls_port = free_port() if tls else None
        os.makedirs(workdir, exist_ok=True)
        self.conf = os.path.join(workdir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\n"
                    "logfile %s\n"
                    "sentinel monitor %s 127.0.0.1 %d 2\n"
                    "sentinel down-after-milliseconds %s 1000\n"
                    "sentinel failover-timeout %s 4000\n"
                    % (self.port, workdir, os.path.join(workdir, "sentinel.log"),
                       master, master_port, master, master))
            if password:
                f.write("requirepass %s\n" % password)
            if tls:
                args = tls.server_args(self.tls_port) + ["--tls-replication", "yes"]
                for name, value in zip(args[::2], args[1::2]):
                    f.write("%s %s\n" % (name[2:], value))
        self.proc = spawn([REDIS_SENTINEL, self.conf], os.path.join(workdir, "sentinel.out"))

    def cli(self, *args):
        return redis_cli(self.port, *args, password=self.password).stdout.strip()

    def master_port(self):
        out = self.cli("SENTINEL", "get-master-addr-by-name", self.master).split()
        return int(out[1]) if len(out) == 2 else None

    def stop(self):
        stop_process(self.proc)


class SentinelGroup:
    """A master, its replica and `count` sentinels monitoring them, each in
    its directory below workdir (master, replica, s0, s1, ...)."""

    def __init__(self, workdir, count=3, master=Sentinel.MASTER, tls=None):
        self.workdir = workdir
        self.count = count
        self.name = master
        self.tls = tls  # harness.tls.Certs: TLS everywhere but the harness's cli
        node_args = ["--tls-replication", "yes"] if tls else []
        self.master = Redis(os.path.join(workdir, "master"), args=node_args, tls=tls)
        self.replica = Redis(os.path.join(workdir, "replica"), tls=tls,
                             args=node_args + ["--replicaof", "127.0.0.1",
                                               str(self.master.client_port)])
        self.sentinels = []

    def start(self, acquainted=False):
        """Until the replica is in sync and every sentinel knows the master
        and its replica (acquainted: and the other sentinels, so that a
        switch reaches all); stops everything and raises Failed when that
        does not come within seconds."""
        try:
            self.master.start()
            self.replica.start()
            self._wait(lambda: "master_link_status:up" in self.replica.cli("INFO", "replication"),
                       10, "the replica did not sync with the master")
            self.sentinels = [Sentinel(os.path.join(self.workdir, "s%d" % i),
                                       self.master.client_port, self.name, tls=self.tls)
                              for i in range(self.count)]
            self._wait(lambda: all(s.master_port() == self.master.client_port
                                   for s in self.sentinels),
                       10, "the sentinels do not name the master")
            self._wait(lambda: all("127.0.0.1" in s.cli("SENTINEL", "replicas", self.name)
                                   for s in self.sentinels), 15, "the sentinels do not know the replica")
            if acquainted:
                self._wait(lambda: all(
                    s.cli("SENTINEL", "sentinels", self.name).count("127.0.0.1") >= self.count - 1
                    for s in self.sentinels), 15, "the sentinels do not know each other", 0.2)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _wait(pred, timeout, what, interval=0.05):
        if not wait_until(pred, timeout, interval):
            raise Failed("%s within %ss" % (what, timeout))

    def kamailio_defines(self):
        """The cfg defines of a kamailio asking these sentinels (the
        server URL's host and port are ignored with sentinels)."""
        if self.tls:
            return {"REDIS_SERVER": '"rediss://127.0.0.1:1/0"',
                    "TLS_CA_FILE": '"%s"' % self.tls.ca,
                    "SENTINELS": '"rediss://%s"' % ",".join("127.0.0.1:%d" % s.tls_port
                                                            for s in self.sentinels),
                    "SENTINEL_MASTER": '"%s"' % self.name}
        return {"REDIS_SERVER": '"redis://127.0.0.1:1/0"',
                "SENTINELS": '"%s"' % ",".join("127.0.0.1:%d" % s.port for s in self.sentinels),
                "SENTINEL_MASTER": '"%s"' % self.name}

    def stop(self):
        for s in self.sentinels:
            s.stop()
        self.replica.stop()
        self.master.stop()


class Kamailio:
    """Debian's kamailio running a cfg with the freshly built module, in a
    session of its own: -DD -E -m 64 -M 8, the cfg's defines with -A
    (SIP_PORT, CTL_SOCKET unless ctl=False, WORKERS unless workers is None).

    own_module=False: no -L, kamailio's default module path (a packaged
    module). mm: kamailio's shm and pkg memory manager (-x mm -X mm).
    module_dirs: more module directories, searched after the module's own
    and before Debian's. wrapper: a command kamailio runs under (valgrind ...); None:
    REDISROUTE_KAMAILIO_WRAPPER's. Under a wrapper kamailio is slow: longer
    waits to become ready and to stop."""

    def __init__(self, workdir, cfg=REDIRECT_CFG, defines=None, workers=2, *,
                 logfile=None, ctl=True, own_module=True, mm=None, wrapper=None,
                 module_dirs=()):
        self.workdir = workdir
        self.cfg = cfg
        self.module_dirs = list(module_dirs)
        self.port = free_port()
        self.ctl = os.path.join(workdir, "kamailio_ctl")
        self.logfile = logfile or os.path.join(workdir, "kamailio.log")
        self.defines = {"SIP_PORT": str(self.port)}
        if ctl:
            self.defines["CTL_SOCKET"] = '"unix:%s"' % self.ctl
        if workers is not None:
            self.defines["WORKERS"] = str(workers)
        self.defines.update(defines or {})
        # REDISROUTE_TEST_PRELOAD=1: every cached config also preloads the
        # table (cache_preload), so the cache's tests run against the replica
        if (os.environ.get("REDISROUTE_TEST_PRELOAD") == "1"
                and self.defines.get("CACHE_SIZE", "0") not in ("0", None)):
            self.defines.setdefault("CACHE_PRELOAD", "1")
        self.own_module = own_module
        self.mm = mm
        self.shm_mb = 64  # -m
        self.wrapper = KAMAILIO_WRAPPER if wrapper is None else list(wrapper)
        self.slow = bool(self.wrapper)
        self.stop_timeout = 90 if self.slow else 10
        self.proc = None

    def command(self):
        cmd = ["kamailio", "-f", self.cfg]
        if self.own_module:
            cmd += ["-L", ":".join([MODULE_DIR] + self.module_dirs + [debian_module_dir()])]
        cmd += ["-DD", "-E", "-m", str(self.shm_mb), "-M", "8"]
        if self.mm:
            cmd += ["-x", self.mm, "-X", self.mm]
        for k, v in self.defines.items():
            cmd += ["-A", "%s=%s" % (k, v) if v is not None else k]
        return self.wrapper + cmd

    def start(self, expect_ready=True):
        os.makedirs(self.workdir, exist_ok=True)
        self.proc = spawn(self.command(), self.logfile, new_session=True)
        if expect_ready:
            self.wait_ready()
        return self

    def wait_ready(self):
        """Until it answers SIP (OPTIONS); stops it and raises Failed, with
        its log, when it does not."""
        wait_until(lambda: self.proc.poll() is not None or self._ready(),
                   120 if self.slow else 15, 0.1)
        if self.proc.poll() is not None or not self._ready():
            log = self.log()
            self.stop()
            raise Failed("kamailio did not become ready:\n" + log[-3000:])

    def _ready(self):
        if self.proc.poll() is not None:
            return False
        r = sip.request(self.port, "OPTIONS", user=None,
                        timeout=3.0 if self.slow else 0.3)
        return r is not None

    def pids(self):
        """Its processes (all of them forked by the first)."""
        return descendants(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def stop(self):
        stop_process(self.proc, self.stop_timeout)
        self.proc = None

    def log(self):
        try:
            with open(self.logfile, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def kamcmd(self, *args):
        r = subprocess.run(["kamcmd", "-s", "unix:" + self.ctl] + list(args),
                           capture_output=True, text=True, timeout=10)
        return r.returncode, (r.stdout + r.stderr).strip()

    def processes(self):
        """{pid: description} of every kamailio process (core.psx)."""
        rc, out = self.kamcmd("core.psx")
        assert rc == 0, out
        return {int(pid): dsc.strip() for pid, dsc in
                re.findall(r"PID:\s*(\d+)\s+DSC:\s*([^\n]*)", out)}

    def stats(self):
        rc, out = self.kamcmd("stats.get_statistics", "redisroute:")
        assert rc == 0, out
        stats = {}
        for line in out.splitlines():
            name, _, value = line.partition("=")
            stats[name.strip().split(":", 1)[-1]] = int(value.strip())
        return stats

    def status(self):
        """kamcmd redisroute.status's top-level fields as a dict {field:
        value} (the cluster's node list aside)."""
        rc, out = self.kamcmd("redisroute.status")
        assert rc == 0 and "state" in out, out
        fields = {}
        for line in out.splitlines():
            name, sep, value = line.strip().partition(":")
            if sep and name and " " not in name:
                fields.setdefault(name, value.strip())
        return fields

    def cache_state(self):
        """The cache's state in redisroute.status: off, active or bypassed."""
        return self.status().get("cache")
