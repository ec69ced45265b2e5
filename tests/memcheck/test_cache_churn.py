"""For `make memcheck`: the shared-memory cache's code paths under valgrind,
with bounded waits where tests/e2e has races.

tests/e2e/test_cache.py (and one test of test_prefix.py) assert that the very
next request after a redis-cli change sees it: the notifier process must
have invalidated the cache entry before a worker reads it. Under valgrind the
notifier loses that race, so `make memcheck` deselects those tests; this file
makes the same changes and waits (bounded) until the answer follows, so that
every path of rdr_cache.c and rdr_cache_sync.c still runs under memcheck: put, get,
hit, expiry, invalidation by each kind of change, eviction when the cache is
full, entries with many long targets and long keys, sips and per-user entries,
flush by RPC, prefix match with the cache, and a lost and
recovered subscription. It passes without valgrind too:

    cd tests/e2e && python3 -m pytest -q ../memcheck/test_cache_churn.py
"""

import os
import sys
import tempfile
import time

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from harness import sip  # noqa: E402
from harness.procs import wait_until  # noqa: E402
from harness.servers import CFG_DIR, REDIRECT_CFG, Kamailio, Redis  # noqa: E402

WAIT = 30  # s; valgrind makes every process 20-50x slower


def answer(k, user, **kw):
    r = sip.request(k.port, user=user, timeout=5.0, **kw)
    if r is None:
        return None
    return r.contact_uris() if r.code == 302 else r.code


def settles(k, user, expect, **kw):
    """The answer for user becomes expect (the notifier has caught up)."""
    last = []

    def check():
        last[:] = [answer(k, user, **kw)]
        return last[0] == expect
    assert wait_until(check, WAIT, 0.2), (user, expect, last)
    # and stays so, from the cache, on every worker
    for _ in range(4):
        assert answer(k, user, **kw) == expect


@pytest.fixture(scope="module")
def workdir():
    return tempfile.mkdtemp(prefix="redisroute-memcheck-")


@pytest.fixture
def stack(workdir, request):
    procs = []

    def start(name, cfg, **defines):
        d = os.path.join(workdir, request.node.name[:40], name)
        r = Redis(os.path.join(d, "redis")).start()
        procs.append(r)
        defs = {"REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port}
        defs.update(defines)
        k = Kamailio(os.path.join(d, "kamailio"), cfg=cfg, defines=defs)
        procs.append(k)
        k.start()
        assert wait_until(lambda: k.cache_state() == "active", WAIT), k.log()[-2000:]
        return r, k
    try:
        yield start
    finally:
        for p in reversed(procs):
            p.stop()


def test_cache_put_hit_invalidate_evict_flush(stack):
    # 16 entries at most: the 40 keys below keep evicting
    r, k = stack("small", os.path.join(CFG_DIR, "functions.cfg"), CACHE_SIZE="16")
    before = k.stats()

    # many keys, each looked up twice (a miss that stores, then a hit)
    for i in range(40):
        r.cli("SET", "route:k%d" % i, "192.0.2.%d" % (i + 1))
    for rnd in range(2):
        for i in range(40):
            assert answer(k, "k%d" % i) == ["sip:k%d@192.0.2.%d" % (i, i + 1)]

    # every kind of change invalidates
    r.cli("SET", "route:chg", "192.0.2.1")
    settles(k, "chg", ["sip:chg@192.0.2.1"])
    for change, expect in [
            (("SET", "route:chg", "192.0.2.2"), ["sip:chg@192.0.2.2"]),
            (("APPEND", "route:chg", "0"), ["sip:chg@192.0.2.20"]),
            (("DEL", "route:chg"), 480),
            (("RPUSH", "route:chg", "192.0.2.3", "sip:x@192.0.2.4"),
             ["sip:chg@192.0.2.3", "sip:x@192.0.2.4"]),
            (("LPOP", "route:chg"), ["sip:x@192.0.2.4"]),
            (("RENAME", "route:chg", "route:gone"), 480),
            (("ZADD", "route:chg", "0.5", "192.0.2.5", "1", "192.0.2.6"),
             ["sip:chg@192.0.2.6", "sip:chg@192.0.2.5"]),
            (("DEL", "route:chg"), 480),
            (("HSET", "route:chg", "a", "b"), 480),     # bad data, cached too
            (("DEL", "route:chg"), 480),
    ]:
        r.cli(*change)
        settles(k, "chg", expect)
    # an entry for a key that expires: the expiry notification drops it
    r.cli("SET", "route:chg", "192.0.2.7", "PX", "8000")
    assert wait_until(lambda: answer(k, "chg") == ["sip:chg@192.0.2.7"], WAIT, 0.2)
    settles(k, "chg", 480)

    # big entries: 64 entries, the first ones too long (cut by the script,
    # rejected), then ~400-byte targets (more than max_targets fit), a key of
    # 250 bytes, an entry per R-URI user and per scheme
    long = ["sip:%s%d@192.0.2.%d" % ("u" * 380, i, i % 250 + 1) for i in range(56)]
    r.cli("RPUSH", "route:big", *(["sip:%s@192.0.2.1" % ("v" * 2000)] * 4
                                  + ["bad entry"] * 4 + long))
    settles(k, "big", long[:8])
    key = "q" * 250
    r.cli("SET", "route:" + key, "192.0.2.8")
    settles(k, key, ["sip:%s@192.0.2.8" % key])
    r.cli("SET", "route:shared", "192.0.2.9")
    for user in ("u1", "u2", "u3"):
        settles(k, user, ["sip:%s@192.0.2.9" % user], headers=["X-Key: shared"])
    r.cli("SET", "route:shared", "192.0.2.10")
    for user in ("u1", "u2", "u3"):
        settles(k, user, ["sip:%s@192.0.2.10" % user], headers=["X-Key: shared"])
    for _ in range(3):
        res = sip.request(k.port, ruri="sips:u1@127.0.0.1:%d" % k.port,
                          transport="tcp", headers=["X-Key: shared"], timeout=5.0)
        assert res is not None and res.contact_uris() == ["sips:u1@192.0.2.10"]

    # flush by RPC (not FLUSHALL: Redis sends no keyspace notification for
    # it, and the cache keeps its entries until cache_ttl)
    rc, out = k.kamcmd("redisroute.cache_flush")
    assert rc == 0 and "error" not in out, out
    settles(k, "k1", ["sip:k1@192.0.2.2"])
    r.cli("DEL", "route:k1")
    settles(k, "k1", 480)

    after = k.stats()
    assert after["cache_hits"] > before["cache_hits"]
    assert after["cache_misses"] > before["cache_misses"]
    assert after["errors"] == before["errors"]


def test_cache_with_prefix_match(stack):
    r, k = stack("prefix", REDIRECT_CFG, CACHE_SIZE="1000", PREFIX_MATCH="1")
    r.cli("SET", "route:+44", "192.0.2.44")
    settles(k, "+44207", ["sip:+44207@192.0.2.44"])
    r.cli("SET", "route:+4420", "192.0.2.20")
    settles(k, "+44207", ["sip:+44207@192.0.2.20"])
    r.cli("DEL", "route:+4420")
    settles(k, "+44207", ["sip:+44207@192.0.2.44"])
    r.cli("DEL", "route:+44")
    settles(k, "+44207", 404)


def test_cache_lost_subscription_and_back(stack):
    r, k = stack("lost", REDIRECT_CFG, CACHE_SIZE="100", RETRY_INTERVAL="200")
    r.cli("SET", "route:alice", "192.0.2.1")
    settles(k, "alice", ["sip:alice@192.0.2.1"])
    r.stop()
    assert wait_until(lambda: k.cache_state() == "bypassed", WAIT)
    assert answer(k, "alice") == 503
    r2 = Redis(r.workdir + "2", port=r.port).start()
    try:
        r2.cli("SET", "route:alice", "192.0.2.2")
        assert wait_until(lambda: k.cache_state() == "active", WAIT)
        # the worker that answered 503 retries only after retry_interval
        time.sleep(0.3)
        settles(k, "alice", ["sip:alice@192.0.2.2"])
        r2.cli("SET", "route:alice", "192.0.2.3")
        settles(k, "alice", ["sip:alice@192.0.2.3"])
    finally:
        r2.stop()
