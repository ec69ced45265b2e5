"""End-to-end fixtures: a real redis-server on an ephemeral loopback port,
Debian's kamailio with the freshly built module, and helpers to drive both.
Every process started here is stopped by its PID."""

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import sip
import sipua

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE_DIR = os.path.join(ROOT, "modules", "redisroute")
CFG_DIR = os.path.join(os.path.dirname(__file__), "cfg")
REDIRECT_CFG = os.path.join(ROOT, "etc", "kamailio.cfg")


def _debian_module_dir():
    out = subprocess.run(["dpkg", "-L", "kamailio"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.endswith("/modules/sl.so"):
            return os.path.dirname(line)
    raise RuntimeError("kamailio's module directory not found")


DEBIAN_MODULE_DIR = _debian_module_dir()

# The Redis server the suite runs against: REDIS_SERVER=valkey-server runs it
# on Valkey, with valkey-cli and valkey-sentinel beside it.
REDIS_SERVER = os.environ.get("REDIS_SERVER") or "redis-server"
_SERVER_FAMILY = REDIS_SERVER[:-len("-server")] if REDIS_SERVER.endswith("-server") else REDIS_SERVER
REDIS_CLI = _SERVER_FAMILY + "-cli"
REDIS_SENTINEL = _SERVER_FAMILY + "-sentinel"

# Opt-in (make memcheck): a command kamailio runs under, e.g.
# REDISROUTE_KAMAILIO_WRAPPER="tests/memcheck/vgkamailio.sh"; kamailio then
# gets longer to become ready and to stop. Unset: kamailio as it is.
KAMAILIO_WRAPPER = shlex.split(os.environ.get("REDISROUTE_KAMAILIO_WRAPPER", ""))


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


def stop_process(proc, timeout=5):
    """Stops a process we started, by its PID: SIGTERM, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


def wait_until(pred, timeout, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


class Redis:
    """A redis-server of our own on 127.0.0.1 (and optionally a unix socket)."""

    def __init__(self, workdir, port=None, args=()):
        self.workdir = workdir
        self.port = port or free_port()
        self.args = list(args)
        self.unixsocket = os.path.join(workdir, "redis.sock")
        self.proc = None
        self.password = None
        for i, a in enumerate(self.args):
            if a == "--requirepass":
                self.password = self.args[i + 1]

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        cmd = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
               "--save", "", "--appendonly", "no", "--dir", self.workdir,
               "--unixsocket", self.unixsocket, "--unixsocketperm", "700",
               "--logfile", os.path.join(self.workdir, "redis.log")] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_until(lambda: self._ping(), 10):
            self.stop()
            raise RuntimeError("redis-server did not start on %d" % self.port)
        return self

    def _ping(self):
        r = subprocess.run(self._cli_base() + ["PING"], capture_output=True,
                           text=True)
        return r.returncode == 0 and ("PONG" in r.stdout or "NOAUTH" in r.stdout
                                      or "NOAUTH" in r.stderr)

    def _cli_base(self):
        base = [REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port)]
        if self.password:
            base += ["--no-auth-warning", "-a", self.password]
        return base

    def cli(self, *args, db=0):
        """Runs redis-cli as an operator would; returns its stdout, stripped."""
        r = subprocess.run(self._cli_base() + ["-n", str(db)] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("redis-cli %s failed: %s" % (args, r.stderr))
        return r.stdout.strip()

    def cli_value(self, value, *args, db=0):
        """redis-cli -x: the last argument is `value` (bytes, any content,
        NUL included), read from standard input as redis-cli allows."""
        r = subprocess.run(self._cli_base() + ["-n", str(db), "-x"] + [str(a) for a in args],
                           input=value, capture_output=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError("redis-cli -x %s failed: %s" % (args, r.stderr))
        return r.stdout.decode(errors="replace").strip()

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)


class Kamailio:
    """Debian's kamailio running a cfg with the freshly built module."""

    def __init__(self, workdir, cfg=REDIRECT_CFG, defines=None, workers=2,
                 module_dirs=()):
        self.workdir = workdir
        self.cfg = cfg
        # searched after the module's own directory, before Debian's
        self.module_dirs = list(module_dirs)
        self.port = free_port()
        self.ctl = os.path.join(workdir, "kamailio_ctl")
        self.logfile = os.path.join(workdir, "kamailio.log")
        self.defines = {"SIP_PORT": str(self.port),
                        "CTL_SOCKET": '"unix:%s"' % self.ctl,
                        "WORKERS": str(workers)}
        self.defines.update(defines or {})
        self.proc = None

    def command(self):
        cmd = ["kamailio", "-f", self.cfg, "-L",
               ":".join([MODULE_DIR] + self.module_dirs + [DEBIAN_MODULE_DIR]),
               "-DD", "-E", "-m", "64", "-M", "8"]
        for k, v in self.defines.items():
            cmd += ["-A", "%s=%s" % (k, v) if v is not None else k]
        return KAMAILIO_WRAPPER + cmd

    def start(self, expect_ready=True):
        os.makedirs(self.workdir, exist_ok=True)
        self.log_fh = open(self.logfile, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log_fh,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if not expect_ready:
            return self
        wait_until(lambda: self.proc.poll() is not None or self._ready(),
                   120 if KAMAILIO_WRAPPER else 15, 0.1)
        if self.proc.poll() is not None or not self._ready():
            log = self.log()
            self.stop()
            raise RuntimeError("kamailio did not become ready:\n" + log[-3000:])
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            return False
        r = sip.request(self.port, "OPTIONS", user=None,
                        timeout=3.0 if KAMAILIO_WRAPPER else 0.3)
        return r is not None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(90 if KAMAILIO_WRAPPER else 10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "log_fh", None):
            self.log_fh.close()
            self.log_fh = None

    def log(self):
        with open(self.logfile, "r", errors="replace") as f:
            return f.read()

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


@contextlib.contextmanager
def redis_and_kamailio(workdir, name, cfg=REDIRECT_CFG, redis_args=(),
                       module_dirs=(), **defines):
    """A redis-server and a kamailio routing through it, both stopped at the
    end; defines are the cfg's -A defines (REDIS_SERVER is set), module_dirs
    more module directories (Kamailio.module_dirs)."""
    r = Redis(os.path.join(workdir, name + "-redis"), args=redis_args).start()
    k = None
    try:
        defines.setdefault("REDIS_SERVER", '"redis://127.0.0.1:%d/0"' % r.port)
        k = Kamailio(os.path.join(workdir, name + "-kamailio"), cfg=cfg,
                     defines=defines, module_dirs=module_dirs).start()
        yield r, k
    finally:
        if k:
            k.stop()
        r.stop()


def cache_state(k):
    """The cache's state in redisroute.status: off, active or bypassed."""
    rc, out = k.kamcmd("redisroute.status")
    for line in out.splitlines():
        if line.strip().startswith("cache:"):
            return line.split(":", 1)[1].strip()
    return None


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="redisroute-e2e-")
    yield d


@pytest.fixture(scope="session")
def redis(workdir):
    r = Redis(os.path.join(workdir, "redis-shared")).start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def kamailio(workdir, redis):
    """etc/kamailio.cfg, as shipped, against the shared redis-server."""
    k = Kamailio(os.path.join(workdir, "kamailio-shared"), defines={
        "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % redis.port}).start()
    yield k
    k.stop()


@pytest.fixture(scope="session")
def kamailio_fn(workdir, redis):
    """tests/e2e/cfg/functions.cfg: every sip_redirect() form, with $rc
    reported in an X-RC header of the fallback reply."""
    k = Kamailio(os.path.join(workdir, "kamailio-functions"),
                 cfg=os.path.join(CFG_DIR, "functions.cfg"), defines={
                     "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % redis.port}).start()
    yield k
    k.stop()


@pytest.fixture
def uas_pool():
    """make(mode, code) -> a started sipua.UAS; all stopped at the end."""
    started = []

    def make(mode="answer", code=503):
        u = sipua.UAS(mode, code)
        started.append(u)
        return u
    yield make
    for u in started:
        u.stop()


@pytest.fixture
def fresh(redis):
    """An empty routing table for the test."""
    redis.cli("FLUSHALL")
    yield redis


@pytest.fixture
def private_dir(workdir, request):
    d = os.path.join(workdir, request.node.name[:60])
    os.makedirs(d, exist_ok=True)
    return d


def _first_line(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except OSError as e:
        return "not found (%s)" % e
    return ((r.stdout or r.stderr).strip().splitlines() or ["?"])[0]


def pytest_terminal_summary(terminalreporter):
    """What this run tested against, for the log (pytest -q shows no header),
    and what the stall tests measured."""
    import callers
    for line in callers.REPORT:
        terminalreporter.write_line("stall: " + line)
    for name, cmd in (("kamailio", ["kamailio", "-v"]),
                      ("server", [REDIS_SERVER, "--version"]),
                      ("sipp", ["sipp", "-v"])):
        terminalreporter.write_line("tested with %s: %s" % (name, _first_line(cmd)))
