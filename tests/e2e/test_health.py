"""Gateway health end to end (the module README, "health"): kamailio nodes
on one Redis, gateways that are real SIP peers (harness.sipua.UAS, which
counts the OPTIONS it gets). One node of the fleet holds the lease
(gw::prober) and probes; every node follows the findings (gw:NAME:health)
and leaves down gateways out of its answers. What is checked: a silent
gateway leaves both nodes' answers within probe_interval x probe_failures +
1 s and comes back within probe_interval x probe_successes + 1 s (cache off
and on, and with Redis Cluster); the gateways see one probe stream whatever
the number of nodes; stopping the prober hands the probing over; drain is
immediate and independent of health; all_down; the passive signal of
sip_forward's relays; the findings in Redis and their TTL; the event
routes, log lines and statistics of each transition; least privilege.

tests/e2e/cfg/gateways.cfg serves, with -A PROBE_INTERVAL=1
PROBE_FAILURES=2 PROBE_SUCCESSES=2. Every loop is bounded in count and time;
every server is ours, on 127.0.0.1, stopped by its PID."""

import os
import re
import socket
import time

import pytest

from harness import sip, sipua
from harness.rcluster import RedisCluster, keyslot
from conftest import CFG_DIR, Kamailio, Redis, wait_until
from test_gateways import parse_records
from test_acl import ACL_PASSWORD, ADMIN_PASSWORD, documented_acl, documented_cache_rights

GW_CFG = os.path.join(CFG_DIR, "gateways.cfg")
INTERVAL, FAILURES, SUCCESSES = 1, 2, 2
# the contract's bounds (seconds)
LEAVE_BOUND = INTERVAL * FAILURES + 1
BACK_BOUND = INTERVAL * SUCCESSES + 1
HANDOVER_BOUND = 3 * INTERVAL + 2
EXPIRE_BOUND = (FAILURES + 2) * INTERVAL + 1
ROUTE = "hr"          # route:hr = @g1 @g2 @g3
USER = "u"
LEASE = "gw::prober"
CLUSTER_PASSWORD = "health-s3cret"
# what the read-only user of doc/tls-and-acl.md needs more to probe (its
# lease and findings are written by scripts, whose commands Redis 7 checks
# against the user's rights too)
PROBER_RIGHTS = ["~gw:*:health", "~gw::prober", "+eval", "+scan",
                 "+get", "+set", "+pexpire", "+pttl", "+hmget", "+hset"]


# ---- the fleet ------------------------------------------------------------------

class Fleet:
    """A Redis (or a Redis Cluster), gateways g1..gN (sipua.UAS, answering),
    route:hr naming them all, and kamailio nodes running gateways.cfg with
    health on; everything stopped by stop()."""

    def __init__(self, workdir, gateways=3, cluster=False, redis_args=(), names=None):
        self.workdir = workdir
        self.nodes = []
        self.gws = {}
        self.cluster = None
        self.r = None
        if cluster:
            self.cluster = RedisCluster(os.path.join(workdir, "cluster"), masters=3,
                                        password=CLUSTER_PASSWORD).start()
            self.server = '"redis://:%s@127.0.0.1:%d?cluster=1"' % (
                CLUSTER_PASSWORD, self.cluster.ports[0])
        else:
            self.r = Redis(os.path.join(workdir, "redis"), args=redis_args).start()
            self.server = '"redis://127.0.0.1:%d/0"' % self.r.port
        try:
            if callable(names):
                names = names(self.cluster)
            for name in names or ["g%d" % (i + 1) for i in range(gateways)]:
                self.gws[name] = sipua.UAS("answer")
                self.cmd("gw:" + name, "HSET", "gw:" + name, "uri",
                         "127.0.0.1:%d" % self.gws[name].port)
            self.cmd("route:" + ROUTE, "RPUSH", "route:" + ROUTE,
                     *["@" + n for n in self.gws])
        except BaseException:
            self.stop()
            raise

    def cmd(self, key, *args):
        """A command about `key`, on its master in cluster mode."""
        if self.cluster:
            v = self.cluster.key_command(key, *args)
            if isinstance(v, bytes):
                return v.decode()
            if isinstance(v, list):
                return [x.decode() if isinstance(x, bytes) else x for x in v]
            return v
        out = self.r.cli(*args)
        return out

    def health(self, name):
        """gw:NAME:health as a dict ({} when it does not exist)."""
        key = "gw:%s:health" % name
        if self.cluster:
            v = self.cmd(key, "HGETALL", key) or []
        else:
            v = self.r.cli("HGETALL", key).splitlines()
        return dict(zip(v[::2], v[1::2]))

    def pttl(self, key):
        return int(self.cmd(key, "PTTL", key))

    def lease(self):
        v = self.cmd(LEASE, "GET", LEASE)
        return v or None

    def add_node(self, name=None, server=None, **defines):
        d = {"REDIS_SERVER": server or self.server, "PROBE_INTERVAL": str(INTERVAL),
             "PROBE_FAILURES": str(FAILURES), "PROBE_SUCCESSES": str(SUCCESSES),
             "CACHE_SIZE": "0"}
        d.update(defines)
        k = Kamailio(os.path.join(self.workdir, name or "k%d" % len(self.nodes)),
                     cfg=GW_CFG, defines=d)
        self.nodes.append(k)
        k.start()
        return k

    def stop_node(self, k):
        k.stop()
        self.nodes.remove(k)

    def stop(self):
        for k in self.nodes:
            k.stop()
        self.nodes = []
        for u in self.gws.values():
            u.stop()
        if self.cluster:
            self.cluster.stop()
        if self.r:
            self.r.stop()

    # what a node answers
    def answer(self, k, key=ROUTE, headers=()):
        """The gateways of node k's 302 (names, in order), else its code;
        None when it does not answer."""
        resp = sip.request(k.port, user=USER, headers=["X-Key: " + key] + list(headers),
                           timeout=2.0)
        if resp is None:
            return None
        if resp.code != 302:
            return resp.code
        by_port = {u.port: n for n, u in self.gws.items()}
        out = []
        for uri in resp.contact_uris():
            m = re.match(r"sip:%s@127\.0\.0\.1:(\d+)$" % USER, uri)
            out.append(by_port.get(int(m.group(1)), uri) if m else uri)
        return out

    def all_answer(self, expect, nodes=None):
        return all(self.answer(k) == expect for k in (nodes or self.nodes))

    def settle(self, timeout=10):
        """Until every gateway has a health key saying up (a probe round was
        concluded) and every node answers them all."""
        names = list(self.gws)
        ok = wait_until(lambda: all(self.health(n).get("state") == "up" for n in names)
                        and self.all_answer(names), timeout, 0.1)
        assert ok, ({n: self.health(n) for n in names},
                    [self.answer(k) for k in self.nodes], self.lease())

    def times_until(self, t0, pred, timeout):
        """Seconds from t0 (monotonic) until pred(k) held for each node (the
        first time), None for a node it never held for within timeout."""
        got = {}
        deadline = t0 + timeout
        for _ in range(int(timeout / 0.02) + 100):
            for i, k in enumerate(self.nodes):
                if i not in got and pred(k):
                    got[i] = time.monotonic() - t0
            if len(got) == len(self.nodes) or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return [got.get(i) for i in range(len(self.nodes))]

    def prober(self):
        """The node whose status says probing 1 (None if none does)."""
        for k in self.nodes:
            if k.status().get("probing") == "1":
                return k
        return None


_made = [0]


@pytest.fixture
def fleet(workdir):
    """make(**kw) -> a Fleet (see Fleet), stopped at the end; each in a
    short directory of its own (a unix socket's path has at most 104
    bytes)."""
    made = []

    def make(**kw):
        _made[0] += 1
        f = Fleet(os.path.join(workdir, "h%d" % _made[0]), **kw)
        made.append(f)
        return f
    yield make
    for f in made:
        f.stop()


def probes(uas):
    """The OPTIONS uas got, one per probe (a retransmission, same Call-ID,
    left out)."""
    seen, out = set(), []
    for q in uas.requests("OPTIONS"):
        cid = q.header("Call-ID")
        if cid not in seen:
            seen.add(cid)
            out.append(q)
    return out


def switch(uas, mode, phase=0.5, timeout=3.0):
    """Puts uas in `mode` `phase` x interval after a probe reached it (so
    that a measure does not depend on where in the interval the change
    falls); the moment of the change (monotonic)."""
    n = len(probes(uas))
    deadline = time.monotonic() + timeout
    while len(probes(uas)) <= n and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(probes(uas)) > n, "no probe reaches the gateway"
    at = probes(uas)[-1].at + phase * INTERVAL
    time.sleep(max(0.0, at - time.monotonic()))
    uas.mode = mode
    return time.monotonic()


def fmt(times):
    return ", ".join("%.2f s" % t if t is not None else "never" for t in times)


def node_id(k):
    """hostname:pid of node k's health process (what it writes as `by`, and
    in the lease)."""
    pids = [p for p, d in k.processes().items() if "redisroute health" in d]
    assert len(pids) == 1, k.processes()
    return "%s:%d" % (socket.gethostname(), pids[0])


def node_health(k):
    """{gateway: health} as node k's RPC redisroute.gateways says."""
    rc, out = k.kamcmd("redisroute.gateways")
    assert rc == 0, out
    return {r["name"]: r.get("health") for r in parse_records(out)}


def count_lines(k, pattern):
    return len(re.findall(pattern, k.log()))


# ---- 1. a silent gateway leaves and comes back ------------------------------------

def leave_and_come_back(f, what, silent_phase=0.5, back_phase=0.6):
    """g1 (the first gateway) goes silent, then answers again: the seconds until it left every
    node's answers and until it was back, per node (printed)."""
    names = list(f.gws)
    first, rest = names[0], names[1:]
    g1 = f.gws[first]
    t0 = switch(g1, "silent", silent_phase)
    left = f.times_until(t0, lambda k: f.answer(k) == rest, LEAVE_BOUND + 5)
    print("\nhealth (%s): g1 silent %.2f x interval after a probe -> left the nodes' "
          "answers after %s (bound %d s)" % (what, silent_phase, fmt(left), LEAVE_BOUND))
    assert all(t is not None for t in left), (left, f.health(first))
    # and stays out while it is silent
    for _ in range(3):
        assert all(f.answer(k) == rest for k in f.nodes)
    t0 = switch(g1, "answer", back_phase)
    back = f.times_until(t0, lambda k: f.answer(k) == names, BACK_BOUND + 5)
    print("health (%s): g1 answers again %.2f x interval after a probe -> back after %s "
          "(bound %d s)" % (what, back_phase, fmt(back), BACK_BOUND))
    assert all(t is not None for t in back), (back, f.health(first))
    return left, back


@pytest.mark.parametrize("cache", ["0", "1000"])
def test_a_silent_gateway_leaves_both_nodes_and_comes_back(fleet, cache):
    f = fleet()
    for _ in range(2):
        f.add_node(CACHE_SIZE=cache)
    if cache != "0":
        assert all(wait_until(lambda: k.cache_state() == "active", 10) for k in f.nodes)
    f.settle()
    left, back = leave_and_come_back(f, "cache %s" % cache)
    assert max(left) <= LEAVE_BOUND, left
    assert max(back) <= BACK_BOUND, back
    if cache != "0":
        assert all(k.stats()["cache_hits"] > 0 for k in f.nodes)


def test_a_gateway_silent_just_after_a_probe_leaves_within_the_bound(fleet):
    f = fleet()
    for _ in range(2):
        f.add_node()
    f.settle()
    left, back = leave_and_come_back(f, "worst phase", silent_phase=0.02, back_phase=0.6)
    assert max(back) <= BACK_BOUND, back
    assert max(left) <= LEAVE_BOUND, left


# ---- 2. one probe stream for the fleet ----------------------------------------------

WINDOW = 6   # seconds over which the OPTIONS are counted


def options_in_window(f, window=WINDOW):
    """{gateway: [OPTIONS it got (retransmissions included)]} over `window` s."""
    before = {n: len(u.requests("OPTIONS")) for n, u in f.gws.items()}
    time.sleep(window)
    return {n: u.requests("OPTIONS")[before[n]:] for n, u in f.gws.items()}


def test_the_gateways_see_one_probe_stream_whatever_the_number_of_nodes(fleet):
    f = fleet()
    per_minute = {}
    for count in (1, 2, 3):
        f.add_node()
        f.settle()
        # the new node has seen the lease (it follows, it does not probe)
        assert wait_until(lambda: all(k.status().get("prober") == f.lease() for k in f.nodes),
                          3 * INTERVAL + 2), [k.status() for k in f.nodes]
        got = options_in_window(f)
        per_minute[count] = {n: len(q) * 60.0 / WINDOW for n, q in got.items()}
        print("\nhealth: %d node(s): OPTIONS per gateway per minute: %s" % (
            count, ", ".join("%s %.0f" % kv for kv in sorted(per_minute[count].items()))))
        for name, reqs in got.items():
            # one probe per interval from the fleet, not one per node
            assert WINDOW / INTERVAL - 2 <= len(reqs) <= WINDOW / INTERVAL + 2, (count, name, len(reqs))
        # all from one node, the prober; the others sent none
        probing = [k for k in f.nodes if k.status().get("probing") == "1"]
        assert len(probing) == 1, [k.status() for k in f.nodes]
        assert {q.addr[1] for reqs in got.values() for q in reqs} == {probing[0].port}
        assert all(k.stats()["gateway_probes"] == 0 for k in f.nodes if k is not probing[0])
    # the rate does not grow with the nodes
    for n in f.gws:
        assert per_minute[3][n] <= per_minute[1][n] + 2 * 60.0 / WINDOW, per_minute


# ---- 3. handing the probing over ------------------------------------------------------

def test_stopping_the_probing_node_hands_the_probing_over(fleet):
    f = fleet()
    for _ in range(2):
        f.add_node()
    f.settle()
    prober = f.prober()
    assert prober is not None, [k.status() for k in f.nodes]
    other = [k for k in f.nodes if k is not prober][0]
    holder = f.lease()
    # the lease: hostname:pid of the prober's health process; both nodes name it
    host, _, pid = holder.rpartition(":")
    assert host == socket.gethostname()
    assert "redisroute health" in prober.processes().get(int(pid), ""), (holder, prober.processes())
    assert prober.status()["prober"] == holder and other.status()["prober"] == holder
    assert other.status()["probing"] == "0"
    assert 0 < f.pttl(LEASE) <= 3000 * INTERVAL
    t0 = time.monotonic()
    f.stop_node(prober)
    stopped = time.monotonic() - t0
    ok = wait_until(lambda: other.status().get("probing") == "1", HANDOVER_BOUND + 5, 0.05)
    took = time.monotonic() - t0
    print("\nhealth: the prober stopped (in %.2f s) -> the other node probes after %.2f s "
          "(bound %d s)" % (stopped, took, HANDOVER_BOUND))
    assert ok and took <= HANDOVER_BOUND, (took, other.status())
    # the lease changed holder
    new = f.lease()
    assert new != holder and new == other.status()["prober"], (holder, new)
    assert count_lines(other, r"this node \(%s\) takes over the probing" % re.escape(new)) == 1
    # and the OPTIONS keep flowing, from the other node now
    got = options_in_window(f, 3)
    assert all(len(q) >= 2 for q in got.values()), {n: len(q) for n, q in got.items()}
    assert {q.addr[1] for reqs in got.values() for q in reqs} == {other.port}
    gaps = []
    for u in f.gws.values():
        ats = [q.at for q in probes(u) if q.at >= t0 - 2]
        gaps += [b - a for a, b in zip(ats, ats[1:])]
    print("health: the longest gap between two probes of a gateway across the handover: "
          "%.2f s" % max(gaps))


# ---- 4. drain -------------------------------------------------------------------------

def test_a_drain_takes_effect_at_once_independent_of_health(fleet):
    f = fleet()
    for _ in range(2):
        f.add_node()
    f.settle()
    f.cmd("gw:g2", "HSET", "gw:g2", "drain", "1")
    # the very next request, on both nodes
    assert [f.answer(k) for k in f.nodes] == [["g1", "g3"]] * 2
    assert f.health("g2")["state"] == "up"
    # a down gateway and a drained one are both out
    t0 = switch(f.gws["g1"], "silent")
    assert wait_until(lambda: f.all_answer(["g3"]), LEAVE_BOUND + 2, 0.05)
    assert time.monotonic() - t0 <= LEAVE_BOUND + 2
    # undrained: back at once, while the down one stays out
    f.cmd("gw:g2", "HSET", "gw:g2", "drain", "0")
    assert [f.answer(k) for k in f.nodes] == [["g2", "g3"]] * 2
    # a drained gateway is still probed: its health is known when it comes back
    n = len(probes(f.gws["g3"]))
    f.cmd("gw:g3", "HSET", "gw:g3", "drain", "1")
    assert f.gws["g3"].wait_for("OPTIONS", n + 2, 3 * INTERVAL + 1)
    assert [f.answer(k) for k in f.nodes] == [["g2"]] * 2


# ---- 5. all down ------------------------------------------------------------------------

@pytest.mark.parametrize("all_down", [None, "all"])
def test_all_gateways_of_a_route_down(fleet, all_down):
    f = fleet()
    k = f.add_node(**({"ALL_DOWN": '"%s"' % all_down} if all_down else {}))
    f.cmd("route:mix", "RPUSH", "route:mix", "@g1", "192.0.2.99")
    f.settle()
    for u in f.gws.values():
        u.mode = "silent"
    assert wait_until(lambda: all(f.health(n).get("state") == "down" for n in f.gws)
                      and set(node_health(k).values()) == {"down"}, LEAVE_BOUND + 3, 0.05), \
        ({n: f.health(n) for n in f.gws}, node_health(k))
    redirect = sip.request(k.port, user=USER, headers=["X-Key: " + ROUTE])
    lookup = sip.request(k.port, user=USER, headers=["X-Key: " + ROUTE, "X-Mode: lookup"])
    forward = sip.request(k.port, user=USER, headers=["X-Key: " + ROUTE, "X-Mode: forward"],
                          timeout=5)
    if all_down is None:
        # no_route: as if there were no route
        assert (redirect.code, redirect.header("x-rc")) == (404, ["-1"]), redirect.raw
        assert lookup.header("x-rc") == ["-1"], lookup.raw
        assert (forward.code, forward.header("x-rc")) == (404, ["-1"]), forward.raw
    else:
        # fail open: all of them, rc 1
        assert f.answer(k) == ["g1", "g2", "g3"]
        assert lookup.header("x-rc") == ["1"] and lookup.header("x-count") == ["3"], lookup.raw
        # a drained one stays out
        f.cmd("gw:g3", "HSET", "gw:g3", "drain", "1")
        assert f.answer(k) == ["g1", "g2"]
    # a plain target beside a down gateway: the plain target alone, either way
    resp = sip.request(k.port, user=USER, headers=["X-Key: mix"])
    assert resp.contact_uris() == ["sip:%s@192.0.2.99" % USER], resp.raw


# ---- 6. the passive signal -----------------------------------------------------------------

@pytest.mark.parametrize("passive", ["1", "0"])
def test_relays_answered_503_take_a_gateway_down(fleet, passive):
    f = fleet(names=["bad", "good"])
    f.gws["bad"].mode, f.gws["bad"].code = "reject", 503
    # probes every 30 s: after the first round (which bad answers, 503 counts
    # as alive), only the relays can say anything
    a = f.add_node(PROBE_INTERVAL="30", PROBE_PASSIVE=passive)
    b = f.add_node(PROBE_INTERVAL="30", PROBE_PASSIVE=passive)
    assert wait_until(lambda: f.all_answer(["bad", "good"]), 5), [f.answer(k) for k in f.nodes]
    # the first round of probes is concluded (its OPTIONS answered): the
    # next one is 30 s away, so only the relays count from here
    assert wait_until(lambda: f.health("bad").get("state") == "up", 3, 0.05), f.health("bad")
    for i in range(2):
        resp = sip.request(a.port, user=USER, headers=["X-Key: " + ROUTE, "X-Mode: forward"],
                           timeout=5)
        assert resp is not None and resp.code == 200, resp and resp.raw
    assert len(f.gws["bad"].requests("INVITE")) == 2
    if passive == "1":
        assert wait_until(lambda: f.health("bad").get("state") == "down", 3, 0.05), f.health("bad")
        h = f.health("bad")
        # observed by the node that relayed, whether it probes or not
        assert int(h["fails"]) == FAILURES and h["by"] == node_id(a), (h, node_id(a))
        # the other node leaves it out too, and a relay no longer tries it
        # (each node follows the key within moments)
        left = f.times_until(time.monotonic(), lambda k: f.answer(k) == ["good"], 2)
        assert all(t is not None for t in left), (left, node_health(a), node_health(b))
        resp = sip.request(a.port, user=USER, headers=["X-Key: " + ROUTE, "X-Mode: forward"],
                           timeout=5)
        assert resp.code == 200 and len(f.gws["bad"].requests("INVITE")) == 2
        assert a.stats()["gateway_passive"] == 2 and b.stats()["gateway_passive"] == 0
    else:
        time.sleep(2)
        assert f.health("bad").get("state") != "down", f.health("bad")
        assert f.all_answer(["bad", "good"])
        assert a.stats()["gateway_passive"] == 0


# ---- 7. the findings in Redis ----------------------------------------------------------------

def test_findings_live_in_redis_with_a_ttl_and_expire_without_nodes(fleet):
    f = fleet()
    for _ in range(2):
        f.add_node()
    f.settle()
    switch(f.gws["g1"], "silent")
    assert wait_until(lambda: f.health("g1").get("state") == "down", LEAVE_BOUND + 2, 0.05)
    holder = f.lease()
    now_ms = time.time() * 1000
    down, up = f.health("g1"), f.health("g2")
    assert set(down) == {"state", "since", "fails", "oks", "checked", "by"}, down
    assert down["state"] == "down" and int(down["fails"]) >= FAILURES and down["oks"] == "0", down
    assert down["by"] == holder, (down, holder)
    assert now_ms - 5000 < int(down["since"]) <= int(down["checked"]) <= now_ms + 1000, (down, now_ms)
    # a steady gateway's counts are not rewritten at each probe (that would
    # make every node read its key every interval): fails 0, oks as it was
    assert up["state"] == "up" and up["fails"] == "0", up
    for n in f.gws:
        assert 0 < f.pttl("gw:%s:health" % n) <= (FAILURES + 2) * INTERVAL * 1000
    # the RPC shows it (each node follows within moments)
    assert wait_until(lambda: all(node_health(k).get("g1") == "down" for k in f.nodes), 2, 0.05)
    for k in f.nodes:
        rc, out = k.kamcmd("redisroute.gateways")
        assert rc == 0, out
        rec = {r["name"]: r for r in parse_records(out)}
        assert rec["g1"]["health"] == "down" and rec["g2"]["health"] == "up", out
        assert abs(int(rec["g1"]["health_since"]) - int(down["since"]) // 1000) <= 1, out
    # nobody refreshes them: gone
    for k in list(f.nodes):
        f.stop_node(k)
    t0 = time.monotonic()
    keys = ["gw:%s:health" % n for n in f.gws] + [LEASE]
    ok = wait_until(lambda: all(f.pttl(key) == -2 for key in keys), EXPIRE_BOUND + 3, 0.1)
    took = time.monotonic() - t0
    print("\nhealth: every node stopped -> the health keys and the lease gone after %.2f s "
          "(bound %d s)" % (took, EXPIRE_BOUND))
    assert ok and took <= EXPIRE_BOUND, {key: f.pttl(key) for key in keys}


# ---- 8. event routes, log lines, statistics ---------------------------------------------------

def test_each_transition_runs_the_event_route_logs_once_and_counts(fleet):
    f = fleet()
    f.cmd("gw:g1", "HSET", "gw:g1", "attrs", "carrier=a")
    for _ in range(2):
        f.add_node()
    f.settle()
    assert all((k.stats()["gateway_downs"], k.stats()["gateway_ups"]) == (0, 0) for k in f.nodes)
    leave_and_come_back(f, "events")
    time.sleep(1.5 * INTERVAL)   # a round more: nothing said twice
    uri = "sip:127.0.0.1:%d" % f.gws["g1"].port
    for k in f.nodes:
        assert count_lines(k, r"EVENT gateway-down gw=g1 uri=%s attrs=carrier=a\n"
                           % re.escape(uri)) == 1, k.log()[-3000:]
        assert count_lines(k, r"EVENT gateway-up gw=g1 uri=%s\n" % re.escape(uri)) == 1
        assert count_lines(k, r"EVENT gateway-") == 2
        assert count_lines(k, r"health: gateway 'gw:g1' is down \(since \d+ ms, seen by ") == 1
        assert count_lines(k, r"health: gateway 'gw:g1' is up again") == 1
        assert count_lines(k, r"health: gateway 'gw:g[23]'") == 0
        st = k.stats()
        assert (st["gateway_downs"], st["gateway_ups"]) == (1, 1), st
    # a node that starts while g1 is down learns it at start: gateway-down too
    switch(f.gws["g1"], "silent")
    assert wait_until(lambda: f.all_answer(["g2", "g3"]), LEAVE_BOUND + 2, 0.05)
    c = f.add_node()
    assert wait_until(lambda: count_lines(c, r"EVENT gateway-down gw=g1 ") == 1, 3, 0.05), c.log()
    assert f.answer(c) == ["g2", "g3"]
    assert c.stats()["gateway_downs"] == 1 and c.stats()["gateway_ups"] == 0


# ---- 9. Redis Cluster ----------------------------------------------------------------------

def spread(c):
    """g1, g2, g3 (renamed gN_i) whose health keys live on three different
    masters."""
    names, owners = [], set()
    for i in range(3000):
        name = "g%d_%d" % (len(names) + 1, i)
        owner = c.owner(keyslot("gw:%s:health" % name))
        if owner not in owners:
            owners.add(owner)
            names.append(name)
        if len(names) == 3:
            return names
    raise RuntimeError("no spread of the health keys")


def test_with_redis_cluster_a_silent_gateway_leaves_and_comes_back(fleet):
    f = fleet(cluster=True, names=spread)
    for _ in range(2):
        f.add_node()
    f.settle(timeout=15)
    c = f.cluster
    owners = {key: c.owner(keyslot(key)) for key in
              ["route:" + ROUTE, LEASE] + ["gw:%s" % n for n in f.gws]
              + ["gw:%s:health" % n for n in f.gws]}
    print("\nhealth (cluster): masters of the keys: %s" % owners)
    assert len(set(owners.values())) > 1
    prober = f.prober()
    assert prober is not None and f.lease() == prober.status()["prober"]
    assert 0 < f.pttl(LEASE) <= 3000 * INTERVAL
    left, back = leave_and_come_back(f, "cluster")
    assert max(left) <= LEAVE_BOUND and max(back) <= BACK_BOUND, (left, back)
    for n in f.gws:
        assert 0 < f.pttl("gw:%s:health" % n) <= (FAILURES + 2) * INTERVAL * 1000
    assert all(f.health(n)["state"] == "up" for n in f.gws)
    # the probes came from the lease holder alone
    assert {q.addr[1] for u in f.gws.values() for q in u.requests("OPTIONS")} == {prober.port}


# ---- 10. least privilege ----------------------------------------------------------------------

def test_a_read_only_user_never_probes_and_a_prober_user_probes(fleet):
    f = fleet(redis_args=["--requirepass", ADMIN_PASSWORD])
    r = f.r
    ro = documented_acl() + documented_cache_rights()
    assert r.cli("ACL", "SETUSER", *ro) == "OK"
    assert r.cli("ACL", "SETUSER", *(["prober"] + ro[1:] + PROBER_RIGHTS)) == "OK"
    url = '"redis://%%s:%s@127.0.0.1:%d/0"' % (ACL_PASSWORD, r.port)
    k_ro = f.add_node(server=url % ro[0])
    time.sleep(3 * INTERVAL + 0.5)
    assert all(u.requests("OPTIONS") == [] for u in f.gws.values())
    assert count_lines(k_ro, r"probing needs write access") == 1, k_ro.log()[-2000:]
    st = k_ro.status()
    assert (st["probe_rights"], st["probing"], st["prober"]) == ("0", "0", "none"), st
    assert f.lease() is None
    # routing still works
    assert f.answer(k_ro) == ["g1", "g2", "g3"]
    # a user with the prober's rights probes, and the read-only node honours its findings
    k_p = f.add_node(server=url % "prober")
    f.settle()
    st = k_p.status()
    assert (st["probe_rights"], st["probing"]) == ("1", "1"), st
    t0 = switch(f.gws["g1"], "silent")
    left = f.times_until(t0, lambda k: f.answer(k) == ["g2", "g3"], LEAVE_BOUND + 3)
    assert all(t is not None for t in left), left
    assert count_lines(k_ro, r"probing needs write access") == 1
    assert all(u.requests("OPTIONS") for u in f.gws.values())
    assert not re.search(r"NOPERM|can't run|ERROR", k_p.log()), k_p.log()[-3000:]


def test_a_user_whose_scripts_may_not_write_is_said_once_and_never_probes(fleet):
    # the rights the design names (+eval +scan, write on the health keys and
    # the lease) without the commands the scripts run
    f = fleet(redis_args=["--requirepass", ADMIN_PASSWORD])
    ro = documented_acl() + documented_cache_rights()
    assert f.r.cli("ACL", "SETUSER", *(["evalonly"] + ro[1:] + PROBER_RIGHTS[:4])) == "OK"
    k = f.add_node(server='"redis://evalonly:%s@127.0.0.1:%d/0"' % (ACL_PASSWORD, f.r.port))
    time.sleep(3 * INTERVAL + 0.5)
    assert all(u.requests("OPTIONS") == [] for u in f.gws.values())
    assert f.answer(k) == ["g1", "g2", "g3"]
    assert k.status()["probe_rights"] == "0", k.status()
    assert count_lines(k, r"probing needs write access") == 1
    assert count_lines(k, r"health: the lease") == 0, k.log()[-2000:]
