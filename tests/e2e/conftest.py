"""End-to-end fixtures: a real redis-server on an ephemeral loopback port,
Debian's kamailio with the freshly built module, and helpers to drive both.
Every process started here is stopped by its PID."""

import contextlib
import os
import subprocess
import sys
import tempfile

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

# the harness (tests/harness), under the names the tests import from here
from harness import sipua  # noqa: E402
from harness.procs import free_port, stop_process, wait_until  # noqa: E402
from harness.servers import (CFG_DIR, KAMAILIO_WRAPPER, MODULE_DIR,  # noqa: E402
                             REDIRECT_CFG, REDIS_CLI, REDIS_SENTINEL, REDIS_SERVER,
                             ROOT, Kamailio, Redis, debian_module_dir)

DEBIAN_MODULE_DIR = debian_module_dir()

# what the tests import from here
__all__ = ["CFG_DIR", "DEBIAN_MODULE_DIR", "KAMAILIO_WRAPPER", "MODULE_DIR", "REDIRECT_CFG",
           "REDIS_CLI", "REDIS_SENTINEL", "REDIS_SERVER", "ROOT", "Kamailio", "Redis",
           "cache_state", "free_port", "redis_and_kamailio", "sipua", "stop_process",
           "wait_until"]


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
    return k.cache_state()


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

    def make(mode="answer", code=503, answer_after=0.0):
        u = sipua.UAS(mode, code, answer_after)
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
    from harness import callers
    for line in callers.REPORT:
        terminalreporter.write_line("stall: " + line)
    for name, cmd in (("kamailio", ["kamailio", "-v"]),
                      ("server", [REDIS_SERVER, "--version"]),
                      ("sipp", ["sipp", "-v"])):
        terminalreporter.write_line("tested with %s: %s" % (name, _first_line(cmd)))
