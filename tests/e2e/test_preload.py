"""cache_preload: the whole table under key_prefix loaded into shared memory
in the background (the notifier process: SCAN, then the lookup script per
key, pipelined in bounded batches) and kept coherent by the cache's
subscriptions, so that once it is complete a lookup, exact or by prefix,
asks Redis nothing, and a change is still seen by the next request. Until
it is complete a lookup it cannot answer goes to Redis as without it."""

import os
import time

import pytest

from harness import sip
from harness.rcluster import resp
from conftest import CFG_DIR, KAMAILIO_WRAPPER, Kamailio, Redis, redis_and_kamailio, wait_until

FUNCTIONS_CFG = os.path.join(CFG_DIR, "functions.cfg")
# what a lookup may send Redis (INFO commandstats names)
LOOKUP_COMMANDS = ("evalsha_ro", "eval_ro", "evalsha", "eval", "getrange", "lrange",
                   "zrevrange", "type", "get")


def preload_state(k):
    return k.status().get("cache_preload")


def complete(k, timeout=20):
    timeout = timeout * 10 if k.slow else timeout
    return wait_until(lambda: preload_state(k) == "complete", timeout, 0.05)


def lookup_calls(r):
    """How many commands a lookup would send the server has run."""
    total = 0
    for line in r.cli("INFO", "commandstats").splitlines():
        name = line.split(":", 1)[0].replace("cmdstat_", "")
        if name in LOOKUP_COMMANDS:
            total += int(line.split("calls=")[1].split(",")[0])
    return total


def uris(k, user, **kw):
    r = sip.request(k.port, user=user, **kw)
    assert r is not None
    return r.contact_uris() if r.code == 302 else r.code


def bulk_set(r, n, prefix="route:u", value="192.0.2.%d"):
    for start in range(0, n, 2000):
        resp(r.port, *[("SET", "%s%d" % (prefix, i), value % (i % 250 + 1))
                       for i in range(start, min(n, start + 2000))])


def warm(k, users=("warm",), rounds=4):
    """Every worker opens its subscription, and the notifier drains after it."""
    for _ in range(rounds):
        for u in users:
            uris(k, u)
    time.sleep(0.3)


@pytest.fixture(scope="module")
def preloaded(workdir):
    with redis_and_kamailio(workdir, "preload", cfg=FUNCTIONS_CFG, CACHE_SIZE="100000",
                            CACHE_PRELOAD="1") as (r, k):
        assert complete(k), k.log()[-2000:]
        yield r, k


def test_status_fields(preloaded):
    r, k = preloaded
    st = k.status()
    assert st["cache"] == "active"
    assert st["cache_preload"] == "complete", st
    assert int(st["cache_preload_keys"]) >= 0
    assert "cache_preload: complete" in k.log()


def test_loads_in_the_background_and_answers_meanwhile(workdir):
    """200,000 keys (20,000 under valgrind): while the notifier loads them
    every lookup is answered (from Redis), then the replica is complete and
    holds them all."""
    n = 20000 if KAMAILIO_WRAPPER else 200000
    r = Redis(os.path.join(workdir, "preload-bg-redis")).start()
    k = None
    try:
        bulk_set(r, n)
        k = Kamailio(os.path.join(workdir, "preload-bg-kamailio"), cfg=FUNCTIONS_CFG, defines={
            "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port,
            "CACHE_SIZE": "300000", "CACHE_PRELOAD": "1"})
        k.shm_mb = 256
        k.start()
        states, answers = set(), 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < (300 if k.slow else 30):
            st = preload_state(k)
            states.add(st)
            i = answers * 7919 % n
            assert uris(k, "u%d" % i) == ["sip:u%d@192.0.2.%d" % (i, i % 250 + 1)]
            assert uris(k, "nobody%d" % answers) == 480
            answers += 1
            if st == "complete":
                break
        assert "loading" in states, states
        assert complete(k, 300 if k.slow else 30), k.status()
        assert int(k.status()["cache_preload_keys"]) == n
    finally:
        if k:
            k.stop()
        r.stop()


def test_lookups_ask_redis_nothing_once_complete(preloaded):
    r, k = preloaded
    bulk_set(r, 300, prefix="route:hit")
    r.cli("RPUSH", "route:hitlist", "192.0.2.1", "sip:x@192.0.2.2")
    r.cli("ZADD", "route:hitz", "0.5", "192.0.2.5", "1", "192.0.2.6")
    warm(k)
    assert wait_until(lambda: int(k.status()["cache_preload_unknown"]) == 0, 5)
    before = lookup_calls(r)
    for i in range(100):
        assert uris(k, "hit%d" % i) == ["sip:hit%d@192.0.2.%d" % (i, i % 250 + 1)]
    assert uris(k, "hitlist") == ["sip:hitlist@192.0.2.1", "sip:x@192.0.2.2"]
    resp_z = sip.request(k.port, user="hitz")
    assert resp_z.contacts() == ["<sip:hitz@192.0.2.6>;q=1", "<sip:hitz@192.0.2.5>;q=0.5"]
    for i in range(20):
        assert uris(k, "absent%d" % i) == 480
    assert lookup_calls(r) == before


@pytest.mark.parametrize("change,expect", [
    (("SET", "route:chg", "192.0.2.2"), ["sip:chg@192.0.2.2"]),
    (("DEL", "route:chg"), 480),
    (("RPUSH", "route:chg", "192.0.2.3"), ["sip:chg@192.0.2.1", "sip:chg@192.0.2.3"]),
    (("RENAME", "route:chg", "route:gone"), 480),
    (("APPEND", "route:chg", "0"), ["sip:chg@192.0.2.10"]),
])
def test_change_is_seen_by_the_next_request(preloaded, change, expect):
    r, k = preloaded
    r.cli("DEL", "route:chg", "route:gone")
    if change[0] == "RPUSH":
        r.cli("RPUSH", "route:chg", "192.0.2.1")
    else:
        r.cli("SET", "route:chg", "192.0.2.1")
    for _ in range(3):  # every worker
        assert uris(k, "chg") == ["sip:chg@192.0.2.1"]
    r.cli(*change)
    for _ in range(3):
        assert uris(k, "chg") == expect


def test_every_change_seen_immediately_many_times(preloaded):
    r, k = preloaded
    warm(k)
    for i in range(60):
        r.cli("SET", "route:fast", "192.0.2.%d" % (i % 250 + 1))
        assert uris(k, "fast") == ["sip:fast@192.0.2.%d" % (i % 250 + 1)], i
        assert uris(k, "fast") == ["sip:fast@192.0.2.%d" % (i % 250 + 1)], i


def test_created_key_type_change_and_zset(preloaded):
    r, k = preloaded
    r.cli("DEL", "route:late")
    warm(k, ("late",))
    assert uris(k, "late") == 480
    r.cli("ZADD", "route:late", "0.5", "192.0.2.5")
    assert sip.request(k.port, user="late").contacts() == ["<sip:late@192.0.2.5>;q=0.5"]
    r.cli("DEL", "route:late")
    r.cli("HSET", "route:late", "a", "b")
    assert sip.request(k.port, user="late").header("x-rc") == ["-3"]
    r.cli("DEL", "route:late")
    r.cli("SET", "route:late", "192.0.2.9")
    assert uris(k, "late") == ["sip:late@192.0.2.9"]
    # reloaded into the replica: once every worker has read the change from
    # its subscription and the notifier drained past it, no lookup command
    warm(k, ("late",))
    assert wait_until(lambda: int(k.status()["cache_preload_unknown"]) == 0, 5)
    before = lookup_calls(r)
    for _ in range(4):
        assert uris(k, "late") == ["sip:late@192.0.2.9"]
    assert lookup_calls(r) == before


def test_gateways_and_bad_entries_stay_as_from_redis(preloaded):
    r, k = preloaded
    r.cli("RPUSH", "route:mixed", "bad target", "192.0.2.20")
    r.cli("SET", "route:shared", "192.0.2.7")
    warm(k, ("mixed",))
    assert uris(k, "mixed") == ["sip:mixed@192.0.2.20"]
    assert uris(k, "u1", headers=["X-Key: shared"]) == ["sip:u1@192.0.2.7"]
    assert uris(k, "u2", headers=["X-Key: shared"]) == ["sip:u2@192.0.2.7"]


@pytest.mark.parametrize("flush", [("FLUSHALL",), ("FLUSHDB",), ("SWAPDB", "0", "1")])
def test_flush_and_swapdb_empty_and_reload(preloaded, flush):
    r, k = preloaded
    r.cli("FLUSHALL")
    r.cli("SET", "route:fl2", "192.0.2.11")
    assert complete(k)
    for _ in range(3):
        assert uris(k, "fl2") == ["sip:fl2@192.0.2.11"]
    loads = int(k.status()["cache_preload_loads"])
    if flush[0] == "SWAPDB":
        r.cli("SET", "route:fl3", "192.0.2.13", db=1)
    r.cli(*flush)
    if flush[0] == "SWAPDB":
        assert wait_until(lambda: uris(k, "fl2") == 480, 2.5, 0.05)
    else:
        assert uris(k, "fl2") == 480
    assert wait_until(lambda: int(k.status()["cache_preload_loads"]) > loads, 10)
    assert complete(k)
    if flush[0] == "SWAPDB":
        assert uris(k, "fl3") == ["sip:fl3@192.0.2.13"]
        assert int(k.status()["cache_preload_keys"]) == 1
    r.cli("FLUSHALL")
    r.cli("SET", "route:fl2", "192.0.2.12")
    assert uris(k, "fl2") == ["sip:fl2@192.0.2.12"]


def test_rpc_cache_flush_reloads(preloaded):
    r, k = preloaded
    r.cli("SET", "route:rpcfl", "192.0.2.9")
    assert complete(k)
    loads = int(k.status()["cache_preload_loads"])
    rc, out = k.kamcmd("redisroute.cache_flush")
    assert rc == 0
    assert wait_until(lambda: int(k.status()["cache_preload_loads"]) > loads, 10)
    assert uris(k, "rpcfl") == ["sip:rpcfl@192.0.2.9"]


def test_prefix_matching_from_the_replica(workdir):
    with redis_and_kamailio(workdir, "preload-prefix", cfg=FUNCTIONS_CFG, CACHE_SIZE="1000",
                            CACHE_PRELOAD="1", PREFIX_MATCH="1",
                            PREFIX_DEFAULT_KEY='"default"') as (r, k):
        r.cli("SET", "route:+49", "sip:de@192.0.2.49")
        r.cli("SET", "route:+4930", "sip:berlin@192.0.2.30")
        r.cli("SET", "route:default", "sip:any@192.0.2.1")
        assert complete(k)
        warm(k, ("+4930123",))
        before = lookup_calls(r)
        for _ in range(3):
            assert uris(k, "+493012345") == ["sip:berlin@192.0.2.30"]
            assert uris(k, "+4940123") == ["sip:de@192.0.2.49"]
            assert uris(k, "+331234") == ["sip:any@192.0.2.1"]
        assert lookup_calls(r) == before
        # a longer prefix appears, the matched one goes, the default goes
        r.cli("SET", "route:+49301", "sip:mitte@192.0.2.31")
        assert uris(k, "+493012345") == ["sip:mitte@192.0.2.31"]
        assert uris(k, "+493022222") == ["sip:berlin@192.0.2.30"]
        r.cli("DEL", "route:+49301", "route:+4930")
        assert uris(k, "+493012345") == ["sip:de@192.0.2.49"]
        r.cli("DEL", "route:default")
        assert uris(k, "+331234") == 480
        r.cli("SET", "route:+33", "sip:fr@192.0.2.33")
        assert uris(k, "+331234") == ["sip:fr@192.0.2.33"]


def test_too_large_is_said_and_the_cache_stays_lazy(workdir):
    with redis_and_kamailio(workdir, "preload-large", cfg=FUNCTIONS_CFG, CACHE_SIZE="100",
                            CACHE_PRELOAD="1") as (r, k):
        bulk_set(r, 300, prefix="route:big")
        rc, out = k.kamcmd("redisroute.cache_flush")  # loads again: too many now
        assert wait_until(lambda: preload_state(k) == "too large", 10), k.status()
        assert "more than cache_size (100) keys" in k.log()
        assert k.log().count("more than cache_size") == 1
        assert int(k.status()["cache_preload_keys"]) == 0
        for i in range(5):
            assert uris(k, "big%d" % i) == ["sip:big%d@192.0.2.%d" % (i, i % 250 + 1)]
        before = k.stats()
        for i in range(5):
            assert uris(k, "big%d" % i) == ["sip:big%d@192.0.2.%d" % (i, i % 250 + 1)]
        assert k.stats()["cache_hits"] - before["cache_hits"] >= 3
        r.cli("SET", "route:big1", "192.0.2.99")
        assert uris(k, "big1") == ["sip:big1@192.0.2.99"]


def test_needs_cache_size(workdir):
    r = Redis(os.path.join(workdir, "preload-nosize-redis")).start()
    k = Kamailio(os.path.join(workdir, "preload-nosize-kamailio"), cfg=FUNCTIONS_CFG, defines={
        "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port, "CACHE_PRELOAD": "1"})
    try:
        k.start(expect_ready=False)
        assert wait_until(lambda: k.proc.poll() is not None, 15)
        assert "cache_preload needs cache_size" in k.log()
    finally:
        k.stop()
        r.stop()


def test_sentinel_failover_reloads_and_stays_right(workdir):
    """With sentinels: at a switch the replica is emptied and loaded from the
    new master; a change made there is seen by the next request, and once
    it is complete again the lookups ask the new master nothing."""
    from harness.servers import SentinelGroup, Sentinel
    group = SentinelGroup(os.path.join(workdir, "preload-sentinel")).start(acquainted=True)
    k = None
    try:
        group.master.cli("SET", "route:alice", "192.0.2.1")
        group.master.cli("SET", "route:bob", "192.0.2.2")
        assert group.master.cli("WAIT", "1", "5000") == "1"
        k = Kamailio(os.path.join(workdir, "preload-sentinel", "k"),
                     defines=dict(group.kamailio_defines(), RETRY_INTERVAL="200",
                                  CACHE_SIZE="100", CACHE_PRELOAD="1")).start()
        assert complete(k), k.status()
        assert int(k.status()["cache_preload_keys"]) == 2
        for _ in range(4):
            assert uris(k, "alice") == ["sip:alice@192.0.2.1"]
        loads = int(k.status()["cache_preload_loads"])
        assert group.sentinels[0].cli("SENTINEL", "FAILOVER", Sentinel.MASTER) == "OK"
        moved = lambda: k.status().get("master") == "127.0.0.1:%d" % group.replica.port
        assert wait_until(moved, 20, 0.2), k.log()[-3000:]
        assert wait_until(lambda: "master_link_status:up" not in
                          group.replica.cli("INFO", "replication"), 10)
        for i in range(5):
            group.replica.cli("SET", "route:alice", "192.0.2.%d" % (10 + i))
            assert uris(k, "alice") == ["sip:alice@192.0.2.%d" % (10 + i)]
        assert wait_until(lambda: int(k.status()["cache_preload_loads"]) > loads, 10)
        assert complete(k)
        warm(k, ("alice", "bob"))
        before = lookup_calls(group.replica)
        for _ in range(4):
            assert uris(k, "bob") == ["sip:bob@192.0.2.2"]
            assert uris(k, "alice") == ["sip:alice@192.0.2.14"]
        assert lookup_calls(group.replica) == before
    finally:
        if k:
            k.stop()
        group.stop()


def test_cluster_reshard_under_traffic(workdir):
    """Redis Cluster: one SCAN per master; while slots move to another
    master and back under traffic every answer is right, changes on every
    master are seen by the next request, and the replica ends complete
    asking the masters nothing."""
    import test_cluster as tc
    from harness.rcluster import RedisCluster, keyslot
    c = RedisCluster(os.path.join(workdir, "preload-cluster"), masters=3,
                     password=tc.PASSWORD).start()
    k = None
    try:
        users = tc.users_on_each_master(c, 2, prefix="pc")
        expected = tc.set_routes(c, users)
        k = tc.start_kamailio(workdir, "preload-cluster-kamailio", c, CACHE_SIZE="1000",
                              CACHE_PRELOAD="1", PREFIX_MATCH="0")
        assert complete(k), k.status()
        assert int(k.status()["cache_preload_keys"]) == len(expected)
        for u in sorted(expected):
            expected[u] = expected[u].replace("198.51.100.", "203.0.113.")
            c.set("route:" + u, expected[u])
            assert tc.invite(k, u).contact_uris() == [expected[u]]
        traffic = tc.Traffic(k, sorted(expected)).start()
        moves = []
        try:
            time.sleep(0.3)
            for i, src in enumerate(c.master_ports):
                dst = c.master_ports[(i + 1) % len(c.master_ports)]
                slot = keyslot("route:" + users[src][0])
                c.migrate_slot(slot, dst)
                moves.append((slot, src))
                time.sleep(0.3)
            for slot, src in moves:
                c.migrate_slot(slot, src)
                time.sleep(0.2)
        finally:
            results = traffic.stop()
        tc.assert_all_right(results, expected)
        for u in sorted(expected):
            expected[u] = expected[u].replace("203.0.113.", "192.0.2.")
            c.set("route:" + u, expected[u])
            assert tc.invite(k, u).contact_uris() == [expected[u]]
        assert complete(k)
        assert wait_until(lambda: int(k.status()["cache_preload_unknown"]) == 0, 10)
        for u in sorted(expected):   # every worker reads its subscription
            tc.invite(k, u)
            tc.invite(k, u)
        time.sleep(0.3)

        def evals():
            return sum(int(line.split("calls=")[1].split(",")[0])
                       for p in c.master_ports
                       for line in c.command(p, "INFO", "commandstats").decode().splitlines()
                       if line.split(":")[0].replace("cmdstat_", "") in LOOKUP_COMMANDS)
        before = evals()
        for u in sorted(expected):
            assert tc.invite(k, u).contact_uris() == [expected[u]]
        assert evals() == before
    finally:
        if k:
            k.stop()
        c.stop()
