"""Redis Cluster mode (cluster 1): a real 3-master cluster on loopback ports,
created with redis-cli --cluster create, password-protected; kamailio routes
each key through the master owning its slot, keeps prefix lookups across
masters right, and keeps answering while a slot is resharded under traffic,
a master is down, or a master hangs."""

import os
import re
import subprocess
import threading
import time

import pytest

from harness import callers, sip
from conftest import CFG_DIR, REDIS_CLI, Kamailio, Redis, free_port, stop_process, wait_until
from harness.rcluster import RedisCluster, keyslot

PASSWORD = "cl-s3cret"
FUNCTIONS_CFG = os.path.join(CFG_DIR, "functions.cfg")


def start_kamailio(workdir, name, cluster, server_port=None, **defines):
    port = server_port or cluster.ports[0]
    d = {"REDIS_SERVER": '"redis://:%s@127.0.0.1:%d?cluster=1"' % (PASSWORD, port),
         "PREFIX_MATCH": "1",
         "PREFIX_DEFAULT_KEY": '"default"'}
    d.update(defines)
    return Kamailio(os.path.join(workdir, name), cfg=FUNCTIONS_CFG,
                    defines=d).start()


@pytest.fixture(scope="module")
def rc(workdir):
    c = RedisCluster(os.path.join(workdir, "cluster"), masters=3,
                     password=PASSWORD).start()
    k = None
    try:
        k = start_kamailio(workdir, "cluster-kamailio", c)
        yield c, k
    finally:
        if k:
            k.stop()
        c.stop()


def users_on_each_master(c, per_master=1, prefix="user"):
    """User names whose route:<user> key lives on each master, per_master
    each: {port: [user, ...]}."""
    found = {p: [] for p in c.master_ports}
    for i in range(10000):
        u = "%s%d" % (prefix, i)
        owner = c.owner(keyslot("route:" + u))
        if len(found[owner]) < per_master:
            found[owner].append(u)
        if all(len(v) == per_master for v in found.values()):
            return found
    raise RuntimeError("no spread of keys over the masters")


def set_routes(c, users):
    """route:<user> for every user of users_on_each_master()'s answer, each
    its own contact; returns {user: contact}."""
    expected = {}
    for names in users.values():
        for u in names:
            expected[u] = "sip:%s@198.51.100.%d" % (u, len(expected) + 1)
            c.set("route:" + u, expected[u])
    return expected


def assert_all_right(results, expected, at_least=50):
    """Every call of a Traffic run got its 302 with the expected contact."""
    assert len(results) >= at_least, len(results)
    bad = [r for r in results if r[1] != 302 or r[2] != [expected[r[0]]]]
    assert not bad, bad[:10]


def invite(k, user, timeout=2.0):
    return sip.request(k.port, user=user, timeout=timeout)


def lookup(k, key):
    resp = sip.request(k.port, "MESSAGE", "x", headers=["X-Lookup: " + key])
    assert resp is not None and resp.code == 200
    get = lambda h: (resp.header(h) or [None])[0]
    return int(get("x-rc")), get("x-matched"), get("x-uri0")


def status(k):
    rc, out = k.kamcmd("redisroute.status")
    assert rc == 0, out
    return out


def node_states(out):
    """{port: (state, slots)} from redisroute.status."""
    nodes = {}
    for m in re.finditer(r"address: 127\.0\.0\.1:(\d+)\s+state: (\w+)\s+"
                         r"slots: (\d+)", out):
        nodes[int(m.group(1))] = (m.group(2), int(m.group(3)))
    return nodes


def test_routes_each_key_through_the_master_that_owns_it(rc):
    c, k = rc
    users = users_on_each_master(c, 2)
    for port, names in users.items():
        for u in names:
            c.set("route:" + u, "sip:%s@192.0.2.%d" % (u, port % 250))
            # the key is on that master only: a plain GET elsewhere is MOVED
            assert c.cli(port, "EXISTS", "route:" + u) == "1"
    for port, names in users.items():
        for u in names:
            resp = invite(k, u)
            assert resp is not None and resp.code == 302, (u, resp)
            assert resp.contact_uris() == ["sip:%s@192.0.2.%d" % (u, port % 250)]
    # every master was authenticated to and is up; the map covers all slots
    out = status(k)
    assert "state: up" in out and "cluster_slots: 16384" in out, out
    nodes = node_states(out)
    assert {p: s for p, (s, _) in nodes.items()} == {p: "up" for p in c.ports}
    assert sum(n for _, n in nodes.values()) == 16384
    assert invite(k, "nobody-here").header("x-rc") == ["-1"]


def test_route_types_string_reads_each_master_with_getrange(rc, workdir):
    c, _ = rc
    k = start_kamailio(workdir, "ck-rt", c, PREFIX_MATCH="0", ROUTE_TYPES='"string"')
    try:
        users = users_on_each_master(c, 2, prefix="rt")
        for port, names in users.items():
            for u in names:
                c.set("route:" + u, "192.0.2.%d" % (port % 250))

        def getranges(port):
            out = c.cli(port, "INFO", "commandstats")
            m = re.search(r"cmdstat_getrange:calls=(\d+)", out)
            return int(m.group(1)) if m else 0
        before = {p: getranges(p) for p in users}
        for port, names in users.items():
            for u in names:
                resp = invite(k, u)
                assert resp is not None and resp.code == 302, (u, resp)
                assert resp.contact_uris() == ["sip:%s@192.0.2.%d" % (u, port % 250)]
        # one GETRANGE per lookup, on the master of the key's slot
        assert {p: getranges(p) - before[p] for p in users} == {p: 2 for p in users}
        assert invite(k, "nobody-here").header("x-rc") == ["-1"]
    finally:
        k.stop()


def test_prefix_candidates_on_different_masters(rc):
    c, k = rc
    owners = {key: c.owner(keyslot(key))
              for key in ("route:+49", "route:+4930", "route:default")}
    # the three candidates that matter live on three different masters
    assert len(set(owners.values())) == 3, owners
    c.set("route:+49", "gw-de.example.com")
    c.set("route:+4930", "gw-berlin.example.com")
    c.set("route:default", "sbc.example.com")
    try:
        assert lookup(k, "+4930123456") == (
            1, "+4930", "sip:x@gw-berlin.example.com")
        assert lookup(k, "+4940123456")[:2] == (1, "+49")
        assert lookup(k, "+33123")[:2] == (1, "default")
        resp = invite(k, "+4930999")
        assert resp.code == 302
        assert resp.contact_uris() == ["sip:+4930999@gw-berlin.example.com"]
        # a change on one master is seen by the next lookup
        c.delete("route:+4930")
        assert lookup(k, "+4930123456")[:2] == (1, "+49")
        c.delete("route:+49")
        c.delete("route:default")
        assert lookup(k, "+4930123456")[0] == -1
    finally:
        for key in owners:
            c.delete(key)


def test_lookup_rpc_and_statistics_in_cluster_mode(rc):
    c, k = rc
    c.rpush("route:+3312", "sip:a@192.0.2.10", "sip:b@192.0.2.11")
    try:
        rc_, out = k.kamcmd("redisroute.lookup", "s:+33123456")
        assert rc_ == 0, out
        assert "matched: +3312" in out
        assert out.index("sip:a@192.0.2.10") < out.index("sip:b@192.0.2.11")
        stats = k.stats()
        assert stats["lookups"] >= 1 and stats["errors"] == 0, stats
    finally:
        c.delete("route:+3312")


class Traffic:
    """INVITEs for users, round robin, from a thread, until stop() (at most
    20,000 or 60 s); stop() returns [(user, code, contacts)]."""

    def __init__(self, k, users):
        self.k, self.users = k, users
        self.results, self.done = [], threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        deadline = time.time() + 60
        for i in range(20000):
            if self.done.is_set() or time.time() > deadline:
                return
            u = self.users[i % len(self.users)]
            resp = invite(self.k, u)
            self.results.append((u, resp.code if resp else None,
                                 resp.contact_uris() if resp else None))

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join(70)
        assert not self.thread.is_alive()
        return self.results


def test_reshard_under_traffic(rc):
    """Slots move from master to master (begin, MIGRATE key by key, end)
    while INVITEs flow: every INVITE gets its 302 with the right Contact,
    through ASK while the keys are half moved and MOVED afterwards."""
    c, k = rc
    users = users_on_each_master(c, 4, prefix="rs")
    expected = set_routes(c, users)
    original = dict(expected)
    before = k.stats()
    traffic = Traffic(k, sorted(expected)).start()
    moved_slots = []
    try:
        time.sleep(0.3)
        # one slot of each master moves to the next master
        for i, src in enumerate(c.ports):
            dst = c.ports[(i + 1) % len(c.ports)]
            u = users[src][0]
            slot = keyslot("route:" + u)
            c.migrate_slot_begin(slot, dst)
            time.sleep(0.2)
            c.migrate_keys(slot, dst)
            # keys moved, slot not yet handed over: the source says ASK
            resp = invite(k, u)
            assert resp is not None and resp.code == 302, resp
            assert resp.contact_uris() == [expected[u]]
            # a route changed mid-reshard is what the next INVITE gets
            expected[u] = expected[u].replace("198.51.100.", "203.0.113.")
            c.set("route:" + u, expected[u])
            assert invite(k, u).contact_uris() == [expected[u]]
            time.sleep(0.3)
            c.migrate_slot_end(slot, dst)
            # handed over: the old owner says MOVED, the map is read again
            assert invite(k, u).contact_uris() == [expected[u]]
            moved_slots.append((slot, dst, u))
            time.sleep(0.3)
    finally:
        results = traffic.stop()
    assert len(results) >= 100, len(results)
    # a route changed mid-reshard: the old or the new contact, nothing else
    allowed = lambda u: ([original[u]], [expected[u]])
    bad = [r for r in results if r[1] != 302 or r[2] not in allowed(r[0])]
    assert not bad, bad[:10]
    for slot, dst, u in moved_slots:
        assert c.owner(slot) == dst
        assert c.cli(dst, "EXISTS", "route:" + u) == "1"
        assert invite(k, u).contact_uris() == [expected[u]]
    after = k.stats()
    assert after["cluster_ask"] > before["cluster_ask"], after
    assert after["cluster_moved"] > before["cluster_moved"], after
    assert after["errors"] == before["errors"], after
    # each master's slot count as the module sees it
    nodes = node_states(status(k))
    assert sum(n for _, n in nodes.values()) == 16384
    for slot, dst, u in moved_slots:
        assert c.owner(slot) == dst


def test_async_lookups_through_a_reshard(rc, workdir):
    """sip_lookup_async() in cluster mode: the I/O process pipelines the
    lookups to their masters and follows ASK and MOVED while slots move."""
    from test_async import ASYNC_CFG
    c, _ = rc
    k = Kamailio(os.path.join(workdir, "ck-async"), cfg=ASYNC_CFG, defines={
        "REDIS_SERVER": '"redis://:%s@127.0.0.1:%d?cluster=1"' % (PASSWORD, c.ports[0]),
        "RETRY_INTERVAL": "200"})
    # stateful 302s the traffic never ACKs: tm holds each for fr_timer and
    # its wait timer (doc/async.md, "Shared memory")
    k.shm_mb = 512
    k.start()
    try:
        users = users_on_each_master(c, 3, prefix="as")
        expected = set_routes(c, users)
        for u, contact in expected.items():
            resp = invite(k, u)
            assert resp is not None and resp.contact_uris() == [contact], (u, resp)
        assert invite(k, "nobody-here").code == 404
        before = k.stats()
        traffic = Traffic(k, sorted(expected)).start()
        moved = []
        try:
            time.sleep(0.3)
            for i, src in enumerate(c.ports):
                dst = c.ports[(i + 1) % len(c.ports)]
                u = users[src][0]
                slot = keyslot("route:" + u)
                c.migrate_slot_begin(slot, dst)
                c.migrate_keys(slot, dst)
                got = invite(k, u)   # ASK
                assert got.contact_uris() == [expected[u]], (got.code, got.reason)
                time.sleep(0.2)
                c.migrate_slot_end(slot, dst)
                assert invite(k, u).contact_uris() == [expected[u]]   # MOVED
                moved.append(slot)
                time.sleep(0.2)
        finally:
            results = traffic.stop()
        assert len(results) >= 50, len(results)
        bad = [r for r in results if r[1] != 302 or r[2] != [expected[r[0]]]]
        assert not bad, bad[:10]
        after = k.stats()
        assert after["cluster_ask"] > before["cluster_ask"], after
        assert after["cluster_moved"] > before["cluster_moved"], after
    finally:
        k.stop()


def test_redis_cli_reshard_under_traffic(rc):
    """The operator's tool: redis-cli --cluster reshard moves 100 slots (the
    source's lowest ones, with their keys) while INVITEs for keys in them
    flow; every INVITE is answered with its route."""
    c, k = rc
    src = c.owner(0)
    dst = [p for p in c.master_ports if p != src][0]
    first = min(start for start, _e, _h, port, _i in c.slots(src) if port == src)
    users = []
    for i in range(200000):
        if first <= keyslot("route:rr%d" % i) < first + 100:
            users.append("rr%d" % i)
            if len(users) == 20:
                break
    assert len(users) == 20
    for u in users:
        c.set("route:" + u, "sip:%s@192.0.2.200" % u)
    before = k.stats()
    traffic = Traffic(k, users).start()
    try:
        time.sleep(0.3)
        r = subprocess.run(
            [REDIS_CLI, "-a", PASSWORD, "--no-auth-warning", "--cluster",
             "reshard", "127.0.0.1:%d" % src, "--cluster-from", c.node_id(src),
             "--cluster-to", c.node_id(dst), "--cluster-slots", "100",
             "--cluster-yes"], stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        time.sleep(0.3)
    finally:
        results = traffic.stop()
    assert len(results) >= 100, len(results)
    bad = [x for x in results
           if x[1] != 302 or x[2] != ["sip:%s@192.0.2.200" % x[0]]]
    assert not bad, bad[:10]
    for u in users:
        assert c.owner(keyslot("route:" + u)) == dst
        assert invite(k, u).contact_uris() == ["sip:%s@192.0.2.200" % u]
    after = k.stats()
    assert after["cluster_moved"] > before["cluster_moved"]
    assert after["errors"] == before["errors"]


def test_hash_tagged_prefix_keys_during_a_reshard(rc, workdir):
    """key_prefix "{rt}:" puts every route in one slot, so a prefix lookup is
    one script over all its candidates. While that slot migrates, Redis
    answers such a script TRYAGAIN (some keys are missing, as most
    candidates always are): the keys are then asked one by one, each
    following its ASK, and the answers stay right."""
    c, _ = rc
    k = start_kamailio(workdir, "cluster-hashtag", c, KEY_PREFIX='"{rt}:"')
    slot = keyslot("{rt}:+49")
    src = c.owner(slot)
    dst = [p for p in c.ports if p != src][0]
    try:
        c.set("{rt}:+49", "gw-de.example.com")
        c.set("{rt}:+4930", "gw-berlin.example.com")
        c.set("{rt}:default", "sbc.example.com")
        expect = {"+4930123": "+4930", "+4940123": "+49", "+33123": "default"}
        for number, key in expect.items():
            assert lookup(k, number)[:2] == (1, key)
        before = k.stats()
        c.migrate_slot_begin(slot, dst)
        c.migrate_keys(slot, dst, keys=["{rt}:+4930"])
        # +4930 on the importing master, +49 and default still on the source
        for number, key in expect.items():
            assert lookup(k, number)[:2] == (1, key), number
        c.migrate_keys(slot, dst)
        c.migrate_slot_end(slot, dst)
        for number, key in expect.items():
            assert lookup(k, number)[:2] == (1, key), number
        after = k.stats()
        assert after["cluster_ask"] > before["cluster_ask"]
        assert after["errors"] == before["errors"]
    finally:
        k.stop()
        for key in ("{rt}:+49", "{rt}:+4930", "{rt}:default"):
            c.delete(key)


def test_reconnect_rereads_the_map(rc):
    c, k = rc
    c.set("route:recon", "sip:recon@192.0.2.77")
    loads = lambda: int(re.search(r"cluster_map_loads: (\d+)", status(k)).group(1))
    before = loads()
    rc_, out = k.kamcmd("redisroute.reconnect")
    assert rc_ == 0 and "ok" in out
    for _ in range(4):  # reach both workers
        resp = invite(k, "recon")
        assert resp.code == 302
        assert resp.contact_uris() == ["sip:recon@192.0.2.77"]
    assert loads() > before


def test_seeds_when_the_server_node_is_down(rc, workdir):
    """The server URL names a node that is not there: the map comes from
    cluster_seeds."""
    c, _ = rc
    c.set("route:seeded", "sip:seeded@192.0.2.99")
    k = start_kamailio(workdir, "cluster-seeds", c, server_port=free_port(),
                       CLUSTER_SEEDS='"127.0.0.1:%d,127.0.0.1:%d"'
                       % (c.ports[1], c.ports[2]))
    try:
        resp = invite(k, "seeded")
        assert resp.code == 302, resp
        assert resp.contact_uris() == ["sip:seeded@192.0.2.99"]
        assert "cluster_slots: 16384" in status(k)
    finally:
        k.stop()


def test_wrong_password_fails_cleanly(rc, workdir):
    c, _ = rc
    k = Kamailio(os.path.join(workdir, "cluster-badauth"), cfg=FUNCTIONS_CFG,
                 defines={"REDIS_SERVER": '"redis://:wrong@127.0.0.1:%d?cluster=1"'
                          % c.ports[0]}).start()
    try:
        resp = invite(k, "alice")
        assert resp.code == 480 and resp.header("x-rc") == ["-2"], resp
        out = status(k)
        assert "state: down" in out and "WRONGPASS" in out, out
    finally:
        k.stop()


def test_cluster_mode_against_a_plain_redis(workdir):
    """?cluster=1 pointed at a Redis without cluster support: lookups fail
    with -2, and the log says why, once for all processes and attempts."""
    r = Redis(os.path.join(workdir, "plain-redis")).start()
    k = None
    try:
        r.cli("SET", "route:alice", "sip:alice@192.0.2.1")
        k = Kamailio(os.path.join(workdir, "plain-kamailio"), cfg=FUNCTIONS_CFG,
                     defines={"REDIS_SERVER": '"redis://127.0.0.1:%d?cluster=1"'
                              % r.port}).start()
        for _ in range(3):
            assert invite(k, "alice").header("x-rc") == ["-2"]
        time.sleep(1.2)  # past retry_interval: the map is asked for again
        assert invite(k, "alice").header("x-rc") == ["-2"]
        log = k.log()
        assert log.count("no slot map from 127.0.0.1:%d" % r.port) == 1, log[-3000:]
        assert "cluster support disabled" in log
        assert "cluster support disabled" in status(k)
    finally:
        if k:
            k.stop()
        r.stop()


def _refused(workdir, name, **defines):
    k = Kamailio(os.path.join(workdir, name), cfg=FUNCTIONS_CFG,
                 defines=defines)
    k.start(expect_ready=False)
    try:
        assert wait_until(lambda: k.proc.poll() is not None, 15)
        assert k.proc.returncode != 0
        return k.log()
    finally:
        k.stop()


def test_cluster_refuses_what_it_cannot_honour(workdir):
    log = _refused(workdir, "cluster-db",
                   REDIS_SERVER='"redis://127.0.0.1:7000/2?cluster=1"')
    assert re.search(r"ERROR: .*cluster mode needs .*database", log), log[-2000:]
    log = _refused(workdir, "cluster-seeds-only",
                   CLUSTER_SEEDS='"127.0.0.1:7000"')
    assert re.search(r"ERROR: .*cluster_seeds needs a server URL with \?cluster=1", log), \
        log[-2000:]
    log = _refused(workdir, "cluster-bad-option",
                   REDIS_SERVER='"redis://127.0.0.1:7000?cluster=yes"')
    assert re.search(r"ERROR: .*unknown server URL option", log), log[-2000:]


def test_a_master_down_or_hanging_costs_only_its_own_slots(workdir):
    """With cluster-require-full-coverage no, the other masters keep
    serving: lookups of a stopped master's slots fail with -2 at once; a
    candidate on a down master that would beat the best key found makes the
    lookup fail rather than route less precisely, a worse one (the default
    key) does not matter; a hanging master costs its own lookups the command
    timeout only."""
    c = RedisCluster(os.path.join(workdir, "cluster-down"), masters=3,
                     password=PASSWORD, node_timeout_ms=1000,
                     args=["--cluster-require-full-coverage", "no"]).start()
    k = None
    try:
        k = start_kamailio(workdir, "cluster-down-kamailio", c)
        owners = {key: c.owner(keyslot(key))
                  for key in ("route:+49", "route:+4930", "route:default")}
        assert len(set(owners.values())) == 3, owners
        for key in owners:
            c.set(key, "gw-%s.example.com" % key.split(":")[1].lstrip("+"))
        users = users_on_each_master(c)
        for port, (u,) in users.items():
            c.set("route:" + u, "sip:%s@192.0.2.%d" % (u, port % 250))
        for u in [names[0] for names in users.values()]:
            assert invite(k, u).code == 302

        # the master of the default key goes: +4930 still routes
        down = owners["route:default"]
        c.stop_node(down)
        assert invite(k, users[down][0]).header("x-rc") == ["-2"]
        # "+4930" itself is the best candidate: the default key's master
        # being down does not matter
        assert lookup(k, "+4930")[:2] == (1, "+4930")
        for port, (u,) in users.items():
            if port != down:
                resp = invite(k, u)
                assert resp.code == 302, (u, resp)
        out = status(k)
        assert "state: partial" in out, out
        assert node_states(out)[down][0] == "down"
        assert k.log().count("redis cluster node 127.0.0.1:%d is down" % down) == 1

        # back (empty: no persistence); routes again once re-set
        c.restart_node(down)
        assert c.wait_ok(15), "the restarted master did not rejoin"
        c.set("route:" + users[down][0], "sip:back@192.0.2.1")
        assert wait_until(
            lambda: getattr(invite(k, users[down][0]), "code", None) == 302,
            15, 0.2)
        assert "127.0.0.1:%d is reachable again" % down in k.log()

        # the master of the better prefix hangs: no fallback to +49, and
        # lookups of the other masters go on
        hung = owners["route:+4930"]
        c.pause_node(hung)
        try:
            assert lookup(k, "+4930123")[0] == -2
            assert lookup(k, "+49")[:2] == (1, "+49")
            for port, (u,) in users.items():
                if port != hung:
                    resp = invite(k, u)
                    assert resp.code == 302, (u, resp)
        finally:
            c.resume_node(hung)
        assert wait_until(lambda: lookup(k, "+4930123")[:2] == (1, "+4930"),
                          10, 0.2)
    finally:
        if k:
            k.stop()
        c.stop()


def test_a_hanging_master_under_traffic_leaves_no_call_unanswered(rc):
    """One master hangs (SIGSTOP) for 1.5 s under calls for keys on every
    master: every call is answered; the other masters' keys always route."""
    c, k = rc
    users = users_on_each_master(c, 2, prefix="hang")
    for port, names in users.items():
        for u in names:
            c.set("route:" + u, "sip:%s@192.0.2.9" % u)
    hung = c.master_ports[1]
    traffic = callers.Callers(k, sorted(u for n in users.values() for u in n)).start()
    try:
        time.sleep(0.5)
        c.pause_node(hung)
        time.sleep(1.5)
    finally:
        c.resume_node(hung)
    time.sleep(0.5)
    results = traffic.stop()
    unanswered, longest = callers.summarize("cluster master hanging", results)
    assert unanswered == 0
    others = [code for u, code, _ in results if u not in users[hung]]
    assert others and set(others) == {302}, set(others)
    # the hung master's keys: routed, or the fallback reply for -2
    assert set(code for u, code, _ in results if u in users[hung]) <= {302, 480}


def test_master_fails_over_to_its_replica(workdir):
    """3 masters with a replica each: a master is killed, its replica takes
    over, and its keys route again from the new master without a restart
    (the map is read again while the old master is unreachable); once the
    cluster says ok again, the other masters' keys route."""
    c = RedisCluster(os.path.join(workdir, "cluster-failover"), masters=3,
                     replicas=1, password=PASSWORD, node_timeout_ms=1000).start()
    k = None
    try:
        masters = c.master_ports
        replicas = [p for p in c.ports if p not in masters]
        assert len(masters) == 3 and len(replicas) == 3
        assert wait_until(lambda: all(
            "master_link_status:up" in c.cli(p, "INFO", "replication")
            for p in replicas), 15)
        k = start_kamailio(workdir, "cluster-failover-kamailio", c,
                           server_port=masters[0],
                           CLUSTER_SEEDS='"127.0.0.1:%d"' % masters[1])
        users = {p: names[0] for p, names in users_on_each_master(c).items()}
        for port, u in users.items():
            c.set("route:" + u, "sip:%s@192.0.2.%d" % (u, port % 250))
            assert c.command(port, "WAIT", 1, 5000) == 1  # on the replica too
        for u in users.values():
            assert invite(k, u).code == 302

        victim = masters[2]
        c.kill_node(victim)
        u = users[victim]
        expect = ["sip:%s@192.0.2.%d" % (u, victim % 250)]
        assert wait_until(lambda: getattr(invite(k, u), "contact_uris",
                                          lambda: None)() == expect, 30, 0.2), \
            k.log()[-3000:]
        new_master = c.owner(keyslot("route:" + u))
        assert new_master in replicas
        # a node that has not yet seen the promotion answers CLUSTERDOWN
        # itself (cluster-require-full-coverage yes): Redis's state, not ours
        assert c.wait_ok(15), "the cluster did not settle after the failover"
        for port, other in users.items():
            if port != victim:
                resp = invite(k, other)
                assert resp.code == 302, (other, resp)
        nodes = node_states(status(k))
        assert nodes[new_master][0] == "up" and nodes[new_master][1] > 0
        assert nodes[victim][1] == 0
    finally:
        if k:
            k.stop()
        c.stop()


def _ctl_pid(k):
    pids = [pid for pid, dsc in k.processes().items() if "ctl handler" in dsc]
    assert len(pids) == 1, k.processes()
    return pids[0]


def test_prefix_lookup_is_one_round_trip(rc, workdir):
    """The candidates of one prefix lookup live on three masters: the
    process writes to every master before it reads from any (strace of the
    RPC process, which runs redisroute.lookup), one write per master."""
    c, k = rc
    for key in ("route:+49", "route:+4930", "route:default"):
        c.set(key, "gw.example.com")
    try:
        # one lookup before the trace: what the RPC process may still have to
        # set up (slot map, connections, script) is not in the traced one
        assert k.kamcmd("redisroute.lookup", "s:+4930123456")[0] == 0
        pid = _ctl_pid(k)
        trace = os.path.join(workdir, "strace-ctl.txt")
        st = subprocess.Popen(["strace", "-p", str(pid), "-yy", "-o", trace,
                               "-e", "trace=read,write,readv,writev,sendto,"
                               "recvfrom,sendmsg,recvmsg"],
                              stderr=subprocess.PIPE, text=True)
        try:
            # strace says "Process N attached" once it is
            assert "attached" in st.stderr.readline()
            rc_, out = k.kamcmd("redisroute.lookup", "s:+4930123456")
            assert rc_ == 0 and "matched: +4930" in out, out
        finally:
            stop_process(st)
        ports = "|".join(str(p) for p in c.ports)
        ops = []  # (op, master port) of every syscall on a master's socket
        with open(trace) as f:
            for line in f:
                m = re.match(r"(\w+)\(\d+<TCP:\[127\.0\.0\.1:\d+->127\.0\.0\.1:"
                             r"(%s)\]>" % ports, line)
                if m:
                    ops.append((m.group(1), int(m.group(2))))
        writes = [p for op, p in ops if op in ("write", "writev", "sendto",
                                               "sendmsg")]
        first_read = next(i for i, (op, _) in enumerate(ops)
                          if op in ("read", "readv", "recvfrom", "recvmsg"))
        assert sorted(writes) == sorted(c.ports), ops
        assert all(op.startswith(("write", "send"))
                   for op, _ in ops[:first_read]), ops
        assert first_read == len(c.ports), ops
    finally:
        for key in ("route:+49", "route:+4930", "route:default"):
            c.delete(key)


def test_cache_in_cluster_mode_through_a_reshard_under_traffic(rc, workdir):
    """cache_size with a cluster: one tracking subscription per master in
    every process; hits are counted, a change on any master is seen by the
    next request, and while slots move under traffic (to a master and back)
    every answer is right."""
    c, _ = rc
    k = start_kamailio(workdir, "cluster-cache-kamailio", c, CACHE_SIZE="1000",
                       PREFIX_MATCH="0")
    try:
        assert wait_until(lambda: "cache: active" in status(k), 15), status(k)
        users = users_on_each_master(c, 2, prefix="cc")
        expected = set_routes(c, users)
        before = k.stats()
        for _ in range(3):
            for u, contact in expected.items():
                assert invite(k, u).contact_uris() == [contact]
        assert k.stats()["cache_hits"] - before["cache_hits"] >= len(expected)
        for port in c.master_ports:    # the notifier's and the workers' own
            assert c.command(port, "PUBSUB", "NUMSUB", "__redis__:invalidate")[1] >= 2
        # a change on each master: the next request sees it
        for u in sorted(expected):
            expected[u] = expected[u].replace("198.51.100.", "203.0.113.")
            c.set("route:" + u, expected[u])
            assert invite(k, u).contact_uris() == [expected[u]]
        traffic = Traffic(k, sorted(expected)).start()
        moves = []
        try:
            time.sleep(0.3)
            for i, src in enumerate(c.master_ports):
                dst = c.master_ports[(i + 1) % len(c.master_ports)]
                u = users[src][0]
                slot = keyslot("route:" + u)
                c.migrate_slot(slot, dst)
                moves.append((slot, src))
                time.sleep(0.3)
            for slot, src in moves:        # and back
                c.migrate_slot(slot, src)
                time.sleep(0.2)
        finally:
            results = traffic.stop()
        assert_all_right(results, expected)
        for u in sorted(expected):
            expected[u] = expected[u].replace("203.0.113.", "192.0.2.")
            c.set("route:" + u, expected[u])
            assert invite(k, u).contact_uris() == [expected[u]]
    finally:
        k.stop()
