"""Redis Sentinel: the module asks real redis-sentinel processes for the
master, routes through it, and follows a forced failover
(SENTINEL FAILOVER) without restarting kamailio."""

import os
import re
import signal
import time

import pytest

from harness import callers, sip
from harness.servers import Redis, Sentinel, SentinelGroup
from conftest import Kamailio, free_port, wait_until

MASTER = Sentinel.MASTER


@pytest.fixture(scope="module")
def cluster(workdir):
    group = SentinelGroup(os.path.join(workdir, "sentinel")).start()
    kam = None
    try:
        kam = Kamailio(os.path.join(workdir, "sentinel", "kamailio"),
                       defines=dict(group.kamailio_defines(), RETRY_INTERVAL="200")).start()
        yield {"master": group.master, "replica": group.replica,
               "sentinels": group.sentinels, "kamailio": kam}
    finally:
        if kam:
            kam.stop()
        group.stop()


def current_master(c):
    port = c["sentinels"][0].master_port()
    return c["master"] if port == c["master"].port else c["replica"]


def test_routes_through_the_master_the_sentinels_name(cluster):
    k = cluster["kamailio"]
    m = current_master(cluster)
    m.cli("SET", "route:alice", "192.0.2.10:5060")
    r = sip.request(k.port, user="alice")
    assert r.code == 302 and r.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    rc, out = k.kamcmd("redisroute.status")
    assert "state: up" in out
    assert "master: 127.0.0.1:%d" % m.port in out
    assert "sentinel master '%s'" % MASTER in out


def test_follows_a_forced_failover(cluster):
    k = cluster["kamailio"]
    old = current_master(cluster)
    new = cluster["replica"] if old is cluster["master"] else cluster["master"]
    old.cli("SET", "route:bob", "192.0.2.1")
    assert wait_until(lambda: new.cli("GET", "route:bob") == "192.0.2.1", 5)
    assert sip.request(k.port, user="bob").contact_uris() == ["sip:bob@192.0.2.1"]

    assert cluster["sentinels"][0].cli("SENTINEL", "FAILOVER", MASTER) == "OK"
    # the sentinels name the new master once it is promoted
    assert wait_until(lambda: all(s.master_port() == new.port
                                  for s in cluster["sentinels"]), 20)
    assert wait_until(lambda: new.cli("ROLE").split()[0] == "master", 10)
    # a route written to the new master only: served once kamailio follows
    new.cli("SET", "route:bob", "192.0.2.2")
    answers = []

    def served_by_new():
        r = sip.request(k.port, user="bob", timeout=1.0)
        answers.append(r.code if r else None)
        return r is not None and r.contact_uris() == ["sip:bob@192.0.2.2"]
    assert wait_until(served_by_new, 15, 0.2), answers
    # every request during the switch got an answer
    assert None not in answers
    # and it stays on the new master
    for _ in range(10):
        assert sip.request(k.port, user="bob").contact_uris() == ["sip:bob@192.0.2.2"]
    rc, out = k.kamcmd("redisroute.status")
    assert "master: 127.0.0.1:%d" % new.port in out
    assert "moved to 127.0.0.1:%d (sentinel failover)" % new.port in k.log()


def test_async_lookups_follow_a_failover_under_traffic(workdir):
    from test_async import ASYNC_CFG
    group = SentinelGroup(os.path.join(workdir, "sentinel-async")).start()
    k = load = None
    try:
        k = Kamailio(os.path.join(workdir, "sentinel-async", "k"), cfg=ASYNC_CFG,
                     defines=dict(group.kamailio_defines(), RETRY_INTERVAL="200")).start()
        old, new = group.master, group.replica
        old.cli("SET", "route:alice", "192.0.2.1")
        assert wait_until(lambda: new.cli("GET", "route:alice") == "192.0.2.1", 5)
        assert sip.request(k.port, user="alice").contact_uris() == ["sip:alice@192.0.2.1"]
        load = callers.Callers(k, ["alice"], callers=3, timeout=2.0).start()
        time.sleep(0.5)
        assert group.sentinels[0].cli("SENTINEL", "FAILOVER", MASTER) == "OK"
        assert wait_until(lambda: all(s.master_port() == new.port for s in group.sentinels), 20)
        assert wait_until(lambda: new.cli("ROLE").split()[0] == "master", 10)
        new.cli("SET", "route:alice", "192.0.2.2")
        # the async lookups go to the new master
        assert wait_until(lambda: sip.request(k.port, user="alice", timeout=1.0)
                          .contact_uris() == ["sip:alice@192.0.2.2"], 15, 0.2)
        time.sleep(0.5)
        results = load.stop()
        load = None
        unanswered, _ = callers.summarize("async: sentinel failover", results)
        assert unanswered == 0
        assert {code for _, code, _ in results} <= {302, 503}
    finally:
        if load:
            load.stop()
        if k:
            k.stop()
        group.stop()


def test_sentinels_hanging_hold_no_worker(cluster):
    """Every sentinel hangs (SIGSTOP: it accepts TCP and never answers) while
    calls flow and every worker reconnects (redisroute.reconnect): the
    workers go to the master the watcher published and never wait on a
    sentinel, so every call gets its 302."""
    k = cluster["kamailio"]
    current_master(cluster).cli("SET", "route:hang", "192.0.2.44")
    assert sip.request(k.port, user="hang").code == 302
    for s in cluster["sentinels"]:
        os.kill(s.proc.pid, signal.SIGSTOP)
    try:
        traffic = callers.Callers(k, ["hang"]).start()
        time.sleep(0.5)
        rc, out = k.kamcmd("redisroute.reconnect")
        assert rc == 0 and "error" not in out, out
        time.sleep(2.0)
        results = traffic.stop()
    finally:
        for s in cluster["sentinels"]:
            os.kill(s.proc.pid, signal.SIGCONT)
    unanswered, longest = callers.summarize("sentinels hanging", results)
    assert unanswered == 0
    codes = [code for _, code, _ in results]
    assert len(codes) >= 20 and set(codes) == {302}, codes


def test_sentinel_watcher_follows_runtime_config_changes(cluster):
    """kamcmd cfg.set_now_int core debug 3 reaches the watcher's loop: its
    keepalive of the idle +switch-master subscription is logged at DEBUG."""
    k = cluster["kamailio"]
    watcher = [p for p, d in k.processes().items() if d == "redisroute sentinel watcher"]
    assert len(watcher) == 1, k.processes()

    def keepalives():
        return [line for line in k.log().splitlines()
                if "(%d) DEBUG:" % watcher[0] in line and "keepalive PING" in line]
    assert not keepalives()
    rc, out = k.kamcmd("cfg.set_now_int", "core", "debug", "3")
    assert rc == 0 and "error" not in out, out
    try:
        assert wait_until(keepalives, 5)
    finally:
        k.kamcmd("cfg.set_now_int", "core", "debug", "2")


def test_no_sentinel_answers_is_503(workdir):
    dead = ",".join("127.0.0.1:%d" % free_port() for _ in range(2))
    k = Kamailio(os.path.join(workdir, "sentinel-dead"), defines={
        "SENTINELS": '"%s"' % dead, "SENTINEL_MASTER": '"nope"'}).start()
    try:
        r = sip.request(k.port, user="alice")
        assert r.code == 503
        rc, out = k.kamcmd("redisroute.status")
        assert "state: down" in out and "sentinel" in out
    finally:
        k.stop()


def test_sentinel_password_refused_is_said_as_such(workdir):
    """A wrong sentinel_password is reported as the sentinel's AUTH error,
    not as a sentinel that does not know the master; the right one routes."""
    base = os.path.join(workdir, "sentinel-auth")
    master = Redis(os.path.join(base, "master")).start()
    s = Sentinel(os.path.join(base, "s0"), master.port, password="s3ntinel")
    started = []
    try:
        assert wait_until(lambda: s.master_port() == master.port, 10)
        master.cli("SET", "route:alice", "192.0.2.10")
        for name, password in (("wrong", "nope"), ("right", "s3ntinel")):
            k = Kamailio(os.path.join(base, name), defines={
                "SENTINELS": '"127.0.0.1:%d"' % s.port,
                "SENTINEL_MASTER": '"%s"' % MASTER,
                "SENTINEL_PASSWORD": '"%s"' % password}).start()
            started.append(k)
        wrong, right = started
        assert sip.request(wrong.port, user="alice").code == 503
        rc, out = wrong.kamcmd("redisroute.status")
        assert "state: down" in out and "AUTH" in out, out
        assert re.search(r"WRONGPASS|invalid (username-)?password", out), out
        assert "does not know" not in out
        r = sip.request(right.port, user="alice")
        assert r.code == 302 and r.contact_uris() == ["sip:alice@192.0.2.10"]
    finally:
        for k in started:
            k.stop()
        s.stop()
        master.stop()


def test_the_cache_follows_a_failover(workdir):
    """cache_size with sentinels: at a switch every subscription (the
    notifier's and each worker's) moves to the new master and the cache is
    emptied, so a change made there is seen by the next request."""
    group = SentinelGroup(os.path.join(workdir, "sentinel-cache")).start(acquainted=True)
    k = None
    try:
        k = Kamailio(os.path.join(workdir, "sentinel-cache", "k"), defines=dict(
            group.kamailio_defines(), RETRY_INTERVAL="200", CACHE_SIZE="100")).start()
        assert wait_until(lambda: k.cache_state() == "active", 10)
        group.master.cli("SET", "route:alice", "192.0.2.1")
        assert group.master.cli("WAIT", "1", "5000") == "1"
        for _ in range(4):
            assert sip.request(k.port, user="alice").contact_uris() == ["sip:alice@192.0.2.1"]
        assert k.stats()["cache_hits"] >= 2
        assert group.sentinels[0].cli("SENTINEL", "FAILOVER", MASTER) == "OK"
        moved = lambda: k.status().get("master") == "127.0.0.1:%d" % group.replica.port
        assert wait_until(moved, 20, 0.2), k.log()[-3000:]
        assert wait_until(lambda: k.cache_state() == "active", 10)
        assert wait_until(lambda: "master_link_status:up" not in
                          group.replica.cli("INFO", "replication"), 10)
        for i in range(5):
            group.replica.cli("SET", "route:alice", "192.0.2.%d" % (10 + i))
            resp = sip.request(k.port, user="alice")
            assert resp.contact_uris() == ["sip:alice@192.0.2.%d" % (10 + i)], resp
    finally:
        if k:
            k.stop()
        group.stop()
