"""The shared-memory cache (cache_size > 0): it answers repeated lookups
without Redis, and still a change made with redis-cli, or a FLUSHALL, is
answered by the very next request, because every worker applies Redis
client-side caching's invalidations (CLIENT TRACKING BCAST) before it uses the
cache, and the cache is bypassed whenever that subscription is down. No
server configuration is needed, nor CONFIG rights; keyspace notifications
remain as cache_invalidation "keyspace"."""

import os
import time

import pytest

from harness import sip
from conftest import CFG_DIR, Kamailio, Redis, cache_state, redis_and_kamailio, wait_until


@pytest.fixture(scope="module")
def cached(workdir):
    with redis_and_kamailio(workdir, "cache", cfg=os.path.join(CFG_DIR, "functions.cfg"),
                            CACHE_SIZE="1000") as (r, k):
        assert wait_until(lambda: cache_state(k) == "active", 10)
        yield r, k


def uris(k, user, **kw):
    r = sip.request(k.port, user=user, **kw)
    assert r is not None
    return r.contact_uris() if r.code == 302 else r.code


def test_tracking_changes_no_server_config(cached):
    r, k = cached
    assert r.cli("CONFIG", "GET", "notify-keyspace-events").split()[-1] in ("", "notify-keyspace-events")
    assert "cache: active, invalidated by Redis client-side caching" in k.log()
    st = k.status()
    assert st["cache"] == "active" and st["cache_invalidation"] == "tracking", st
    # the notifier's subscription (each worker opens its own on first use)
    assert r.numsub("__redis__:invalidate") >= 1
    for _ in range(4):
        uris(k, "nobody")
    assert 1 <= int(k.status()["cache_worker_subscriptions"]) <= 2   # 2 workers


def test_repeated_lookups_are_served_from_the_cache(cached):
    r, k = cached
    r.cli("SET", "route:rep", "192.0.2.1")
    before = k.stats()
    for _ in range(20):
        assert uris(k, "rep") == ["sip:rep@192.0.2.1"]
    after = k.stats()
    assert after["cache_misses"] - before["cache_misses"] <= 2  # one per worker at most
    assert after["cache_hits"] - before["cache_hits"] >= 18
    assert after["lookups"] - before["lookups"] == 20
    assert after["hits"] - before["hits"] == 20


@pytest.mark.parametrize("change,expect", [
    (("SET", "route:chg", "192.0.2.2"), ["sip:chg@192.0.2.2"]),
    (("DEL", "route:chg"), 480),
    (("RPUSH", "route:chg", "192.0.2.3"), ["sip:chg@192.0.2.1", "sip:chg@192.0.2.3"]),
    (("RENAME", "route:chg", "route:gone"), 480),
    (("APPEND", "route:chg", "0"), ["sip:chg@192.0.2.10"]),
])
def test_change_is_seen_by_the_next_request(cached, change, expect):
    r, k = cached
    r.cli("DEL", "route:chg")
    if change[0] == "RPUSH":
        r.cli("RPUSH", "route:chg", "192.0.2.1")
    else:
        r.cli("SET", "route:chg", "192.0.2.1")
    for _ in range(3):  # warm every worker's view of the cache
        assert uris(k, "chg") == ["sip:chg@192.0.2.1"]
    r.cli(*change)
    assert uris(k, "chg") == expect


def test_every_change_seen_immediately_many_times(cached):
    r, k = cached
    for i in range(60):
        r.cli("SET", "route:fast", "192.0.2.%d" % (i % 250 + 1))
        assert uris(k, "fast") == ["sip:fast@192.0.2.%d" % (i % 250 + 1)], i
        assert uris(k, "fast") == ["sip:fast@192.0.2.%d" % (i % 250 + 1)], i


def test_cached_miss_is_invalidated_by_a_new_key(cached):
    r, k = cached
    r.cli("DEL", "route:late")
    assert uris(k, "late") == 480
    assert uris(k, "late") == 480
    r.cli("ZADD", "route:late", "0.5", "192.0.2.5")
    assert sip.request(k.port, user="late").contacts() == ["<sip:late@192.0.2.5>;q=0.5"]


def test_expiry_and_type_change(cached):
    r, k = cached
    r.cli("SET", "route:exp", "192.0.2.6", "PX", "300")
    assert uris(k, "exp") == ["sip:exp@192.0.2.6"]
    assert wait_until(lambda: r.cli("EXISTS", "route:exp") == "0", 3)
    assert uris(k, "exp") == 480
    r.cli("HSET", "route:exp", "a", "b")
    rr = sip.request(k.port, user="exp")
    assert rr.header("x-rc") == ["-3"]


def test_bare_host_entries_are_per_request_uri_user(cached):
    r, k = cached
    r.cli("SET", "route:shared", "192.0.2.7")
    assert uris(k, "u1", headers=["X-Key: shared"]) == ["sip:u1@192.0.2.7"]
    assert uris(k, "u2", headers=["X-Key: shared"]) == ["sip:u2@192.0.2.7"]
    assert uris(k, "u1", headers=["X-Key: shared"]) == ["sip:u1@192.0.2.7"]
    r.cli("SET", "route:shared", "192.0.2.8")
    assert uris(k, "u1", headers=["X-Key: shared"]) == ["sip:u1@192.0.2.8"]
    assert uris(k, "u2", headers=["X-Key: shared"]) == ["sip:u2@192.0.2.8"]


def test_rpc_cache_flush(cached):
    r, k = cached
    r.cli("SET", "route:fl", "192.0.2.9")
    uris(k, "fl")
    rc, out = k.kamcmd("redisroute.cache_flush")
    assert rc == 0 and "error" not in out
    rc, out = k.kamcmd("redisroute.status")
    assert "cache_entries: 0" in out
    assert uris(k, "fl") == ["sip:fl@192.0.2.9"]


def test_lost_subscription_bypasses_then_recovers(workdir):
    r = Redis(os.path.join(workdir, "cache-lost-redis")).start()
    k = Kamailio(os.path.join(workdir, "cache-lost-kamailio"), defines={
        "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port,
        "CACHE_SIZE": "100", "RETRY_INTERVAL": "200"}).start()
    r2 = None
    try:
        assert wait_until(lambda: cache_state(k) == "active", 10)
        r.cli("SET", "route:alice", "192.0.2.1")
        assert uris(k, "alice") == ["sip:alice@192.0.2.1"]
        r.stop()
        assert wait_until(lambda: cache_state(k) == "bypassed", 10)
        assert sip.request(k.port, user="alice").code == 503
        # a new Redis, notifications off, other data: nothing stale is served
        r2 = Redis(os.path.join(workdir, "cache-lost-redis2"), port=r.port).start()
        r2.cli("SET", "route:alice", "192.0.2.2")
        assert wait_until(lambda: cache_state(k) == "active", 10)
        # a worker that failed less than retry_interval (200 ms) ago still
        # answers 503 without trying; past that, the new data, never the old
        time.sleep(0.3)
        for _ in range(4):
            assert uris(k, "alice") == ["sip:alice@192.0.2.2"]
        r2.cli("SET", "route:alice", "192.0.2.3")
        assert uris(k, "alice") == ["sip:alice@192.0.2.3"]
        log = k.log()
        assert log.count("lost the invalidation subscription") == 1
    finally:
        k.stop()
        if r2:
            r2.stop()
        r.stop()


def test_no_config_rights_the_cache_works_and_sees_every_change(workdir):
    """A server where CONFIG does not exist (as on managed services): the
    cache is active, hits are counted, and a redis-cli change and a FLUSHALL
    are each seen by the very next request."""
    r = Redis(os.path.join(workdir, "cache-noconfig-redis"),
              args=["--rename-command", "CONFIG", ""]).start()
    k = Kamailio(os.path.join(workdir, "cache-noconfig-kamailio"), defines={
        "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port,
        "CACHE_SIZE": "100"}).start()
    try:
        assert wait_until(lambda: cache_state(k) == "active", 10), k.log()[-2000:]
        r.cli("SET", "route:alice", "192.0.2.1")
        before = k.stats()
        for _ in range(6):
            assert uris(k, "alice") == ["sip:alice@192.0.2.1"]
        after = k.stats()
        assert after["cache_hits"] - before["cache_hits"] >= 4
        for i in range(20):
            r.cli("SET", "route:alice", "192.0.2.%d" % (i + 2))
            assert uris(k, "alice") == ["sip:alice@192.0.2.%d" % (i + 2)]
        r.cli("FLUSHALL")
        assert uris(k, "alice") == 404
        stats = k.stats()
        assert stats["cache_invalidations"] >= 20 and stats["cache_flushes"] >= 1, stats
        assert "CONFIG" not in k.log()
    finally:
        k.stop()
        r.stop()


def test_keyspace_mode_never_sets_the_server_config(workdir):
    """cache_invalidation "keyspace": notifications off on the server leave
    the cache bypassed, said once, and the module never turns them on (a
    routing module does not CONFIG SET a shared Redis); once the operator
    sets them, the cache works; the value "keyspace+config_set" is gone."""
    r = Redis(os.path.join(workdir, "cache-ks-redis")).start()
    ks = Kamailio(os.path.join(workdir, "cache-ks-kamailio"), defines={
        "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port, "CACHE_SIZE": "100",
        "CACHE_INVALIDATION": '"keyspace"'}).start()
    try:
        assert wait_until(lambda: "needs KA there" in ks.log(), 10)
        assert cache_state(ks) == "bypassed"
        time.sleep(2.5)
        assert ks.log().count("needs KA there") == 1
        assert "KA" not in r.cli("CONFIG", "GET", "notify-keyspace-events").split()[-1]
        assert r.calls("config|set") == 0
        r.cli("CONFIG", "SET", "notify-keyspace-events", "KA")
        assert wait_until(lambda: cache_state(ks) == "active", 10)
        r.cli("SET", "route:alice", "192.0.2.1")
        assert uris(ks, "alice") == ["sip:alice@192.0.2.1"]
        r.cli("SET", "route:alice", "192.0.2.2")
        assert wait_until(lambda: uris(ks, "alice") == ["sip:alice@192.0.2.2"], 2, 0.05)
        ks.stop()
        ks = Kamailio(os.path.join(workdir, "cache-ks2-kamailio"), defines={
            "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port, "CACHE_SIZE": "100",
            "CACHE_INVALIDATION": '"keyspace+config_set"'})
        ks.start(expect_ready=False)
        assert wait_until(lambda: ks.proc.poll() is not None, 15)
        assert "bad modparam cache_invalidation" in ks.log()
    finally:
        ks.stop()
        r.stop()


@pytest.mark.parametrize("flush", [("FLUSHALL",), ("FLUSHDB",), ("SWAPDB", "0", "1")])
def test_flush_and_swapdb_empty_the_cache(cached, flush):
    # FLUSHALL and FLUSHDB: Redis sends a flush message, seen by the next
    # request. SWAPDB: none; the notifier watches its counter (INFO
    # commandstats), so the stale window is about a second at most
    r, k = cached
    r.cli("FLUSHALL")
    r.cli("SET", "route:fl2", "192.0.2.11")
    for _ in range(3):
        assert uris(k, "fl2") == ["sip:fl2@192.0.2.11"]
    r.cli(*flush)
    if flush[0] == "SWAPDB":
        assert wait_until(lambda: uris(k, "fl2") == 480, 2.5, 0.05)
    else:
        assert uris(k, "fl2") == 480
    r.cli("FLUSHALL")
    r.cli("SET", "route:fl2", "192.0.2.12")
    assert uris(k, "fl2") == ["sip:fl2@192.0.2.12"]


def test_prefix_mode_under_a_thousand_changes_a_second(workdir):
    """prefix_match: each change is noted for the lookups it is a candidate
    of. While another client writes about 1,000 unrelated keys a second under
    the prefix, every answer is right and most come from the cache, and a
    change of the route itself is seen by the next request."""
    import threading
    from harness.rcluster import resp
    with redis_and_kamailio(workdir, "cache-churn", cfg=os.path.join(CFG_DIR, "functions.cfg"),
                            CACHE_SIZE="1000", PREFIX_MATCH="1") as (r, k):
        assert wait_until(lambda: cache_state(k) == "active", 10)
        r.cli("SET", "route:+4930", "sip:berlin@192.0.2.30")
        stop, writes = threading.Event(), [0]

        def churn():
            deadline = time.monotonic() + 30
            while not stop.is_set() and time.monotonic() < deadline:
                batch = [("SET", "route:+99%06d" % (writes[0] + i), "192.0.2.99")
                         for i in range(10)]
                resp(r.port, *batch)
                writes[0] += 10
                stop.wait(0.01)
        t = threading.Thread(target=churn)
        t.start()
        answers = []
        before = k.stats()
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3:
                answers.append(uris(k, "+493012345"))
            for i in range(10):
                r.cli("SET", "route:+4930", "sip:berlin%d@192.0.2.30" % i)
                assert uris(k, "+493055555") == ["sip:berlin%d@192.0.2.30" % i]
        finally:
            stop.set()
            t.join(40)
        elapsed = time.monotonic() - t0
        assert writes[0] / elapsed >= 500, (writes[0], elapsed)
        assert len(answers) >= 100
        assert set(map(tuple, answers)) == {("sip:berlin@192.0.2.30",)}, set(map(tuple, answers))
        after = k.stats()
        assert after["cache_invalidations"] >= writes[0] * 0.9
        # unrelated changes leave the cached answers usable: most are hits
        assert after["cache_hits"] - before["cache_hits"] >= len(answers) // 2, (after, before)
