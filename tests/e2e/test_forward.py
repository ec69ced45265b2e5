"""Proxy mode end to end: etc/kamailio-proxy.cfg relays calls to the target
found in Redis, with failover, to real user agents on 127.0.0.1 (sipua.UAS),
and the caller (sipua.UAC) completes the dialog along the route set."""

import os
import threading
import time

import pytest

from harness import sip, sipua
from conftest import REDIRECT_CFG, Kamailio, free_port, redis_and_kamailio

PROXY_CFG = os.path.join(os.path.dirname(REDIRECT_CFG), "kamailio-proxy.cfg")


@pytest.fixture(scope="module")
def proxy(workdir):
    with redis_and_kamailio(workdir, "proxy", cfg=PROXY_CFG, FR_TIMER="1000") as rk:
        yield rk


@pytest.fixture
def routes(proxy):
    r, k = proxy
    r.cli("FLUSHALL")
    return r


def call(k, user, timeout=10.0):
    uac = sipua.UAC(k.port)
    return uac, uac.invite(user, timeout=timeout)


def test_bare_host_target_keeps_the_user_and_the_dialog_completes(proxy, routes, uas_pool):
    r, k = proxy
    uas = uas_pool("answer")
    routes.cli("SET", "route:bob", "127.0.0.1:%d" % uas.port)
    uac, ok = call(k, "bob")
    try:
        assert ok is not None and ok.code == 200
        inv = uas.requests("INVITE")
        assert [q.ruri for q in inv] == ["sip:bob@127.0.0.1:%d" % uas.port]
        assert inv[0].header("Record-Route")  # the proxy stays in the path
        # the rest of the dialog follows the Route headers: no new lookup
        routes.cli("DEL", "route:bob")
        bye = uac.ack_and_bye(ok)
        assert bye is not None and bye.code == 200
        assert uas.wait_for("ACK") and uas.wait_for("BYE")
        assert uas.requests("BYE")[0].ruri == "sip:uas@127.0.0.1:%d" % uas.port
    finally:
        uac.close()


def test_full_uri_target_is_used_as_is(proxy, routes, uas_pool):
    r, k = proxy
    uas = uas_pool("answer")
    target = "sip:other@127.0.0.1:%d;transport=udp" % uas.port
    routes.cli("SET", "route:carol", target)
    uac, ok = call(k, "carol")
    uac.close()
    assert ok.code == 200
    assert uas.requests("INVITE")[0].ruri == target


def test_503_fails_over_to_the_next_target(proxy, routes, uas_pool):
    r, k = proxy
    bad, good = uas_pool("reject", 503), uas_pool("answer")
    routes.cli("RPUSH", "route:dave", "127.0.0.1:%d" % bad.port, "127.0.0.1:%d" % good.port)
    before = k.stats()
    uac, ok = call(k, "dave")
    uac.close()
    assert ok.code == 200
    assert len(bad.requests("INVITE")) == 1 and len(good.requests("INVITE")) == 1
    assert good.requests("INVITE")[0].ruri == "sip:dave@127.0.0.1:%d" % good.port
    after = k.stats()
    assert after["forwards"] - before["forwards"] == 1
    assert after["failovers"] - before["failovers"] == 1


def test_silent_target_fails_over_after_fr_timer(proxy, routes, uas_pool):
    r, k = proxy
    silent, good = uas_pool("silent"), uas_pool("answer")
    routes.cli("RPUSH", "route:erin", "127.0.0.1:%d" % silent.port, "127.0.0.1:%d" % good.port)
    t0 = time.monotonic()
    uac, ok = call(k, "erin")
    uac.close()
    took = time.monotonic() - t0
    assert ok is not None and ok.code == 200
    assert silent.requests("INVITE") and good.requests("INVITE")
    assert 0.9 <= took < 5.0


def test_several_failures_in_a_row(proxy, routes, uas_pool):
    r, k = proxy
    a, b, c = uas_pool("reject", 503), uas_pool("reject", 500), uas_pool("answer")
    routes.cli("ZADD", "route:fay", "1", "127.0.0.1:%d" % a.port,
               "0.5", "127.0.0.1:%d" % b.port, "0.1", "127.0.0.1:%d" % c.port)
    before = k.stats()
    uac, ok = call(k, "fay")
    uac.close()
    assert ok.code == 200
    assert [len(u.requests("INVITE")) for u in (a, b, c)] == [1, 1, 1]
    assert k.stats()["failovers"] - before["failovers"] == 2


def test_every_target_fails_gives_one_final_error(proxy, routes, uas_pool):
    r, k = proxy
    a, b = uas_pool("reject", 503), uas_pool("silent")
    routes.cli("RPUSH", "route:gus", "127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port)
    uac, final = call(k, "gus")
    try:
        assert final is not None and final.code >= 400
        finals = uac.count_finals(timeout=1.5)
        assert len(set(finals)) == 1, finals  # retransmissions of one answer
    finally:
        uac.close()


def test_busy_ends_the_search(proxy, routes, uas_pool):
    r, k = proxy
    busy, other = uas_pool("reject", 486), uas_pool("answer")
    routes.cli("RPUSH", "route:hal", "127.0.0.1:%d" % busy.port, "127.0.0.1:%d" % other.port)
    uac, final = call(k, "hal")
    uac.close()
    assert final.code == 486
    time.sleep(0.3)
    assert other.requests("INVITE") == []


def test_cancel_before_answer_reaches_the_uas(proxy, routes, uas_pool):
    r, k = proxy
    ringing = uas_pool("ring")
    routes.cli("SET", "route:ivy", "127.0.0.1:%d" % ringing.port)
    uac = sipua.UAC(k.port)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("final", uac.invite("ivy")))
    t.start()
    try:
        assert ringing.wait_for("INVITE", timeout=5)
        time.sleep(0.2)
        uac.cancel()
        assert ringing.wait_for("CANCEL", timeout=5)
        t.join(10)
        assert result.get("final") is not None and result["final"].code == 487
    finally:
        t.join(1)
        uac.close()


def test_message_and_options_are_forwarded(proxy, routes, uas_pool):
    r, k = proxy
    uas = uas_pool("answer")
    routes.cli("SET", "route:jo", "127.0.0.1:%d" % uas.port)
    for method in ("MESSAGE", "OPTIONS"):
        resp = sip.request(k.port, method, "jo")
        assert resp is not None and resp.code == 200, method
    assert [q.method for q in uas.received] == ["MESSAGE", "OPTIONS"]
    assert all(q.ruri == "sip:jo@127.0.0.1:%d" % uas.port for q in uas.received)


def test_no_route_bad_data_and_redis_down(proxy, routes, workdir):
    r, k = proxy
    assert sip.request(k.port, user="nobody").code == 404
    routes.cli("HSET", "route:hash", "a", "b")
    assert sip.request(k.port, user="hash").code == 500
    dead = Kamailio(os.path.join(workdir, "proxy-dead"), cfg=PROXY_CFG, defines={
        "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % free_port()}).start()
    try:
        resp = sip.request(dead.port, user="bob")
        assert resp.code == 503 and resp.header("retry-after")
    finally:
        dead.stop()


# ---- sip_lookup() and $redisroute(...) (tests/e2e/cfg/functions.cfg) -------

def test_sip_lookup_reads_through_the_pseudo_variable(kamailio_fn, fresh):
    fresh.cli("RPUSH", "route:lst", "192.0.2.1", "sip:x@192.0.2.2")
    resp = sip.request(kamailio_fn.port, "MESSAGE", "someone", headers=["X-Lookup: lst"])
    assert resp.code == 200
    assert resp.header("x-rc") == ["1"] and resp.header("x-count") == ["2"]
    assert resp.header("x-matched") == ["lst"]
    assert resp.header("x-uri0") == ["sip:someone@192.0.2.1"]
    resp = sip.request(kamailio_fn.port, "MESSAGE", "someone", headers=["X-Lookup: none"])
    assert resp.header("x-rc") == ["-1"] and resp.header("x-count") == ["0"]
    assert resp.header("x-uri0") == []


def test_parallel_fork_with_sip_lookup(kamailio_fn, fresh, uas_pool):
    # the answer comes after the other branch rang: tm cancels a branch that
    # has not yet replied only when its provisional reply arrives, and one
    # racing the 200 in another process can be missed
    answers, rings = uas_pool("answer", answer_after=0.2), uas_pool("ring")
    fresh.cli("RPUSH", "route:pf", "127.0.0.1:%d" % rings.port, "127.0.0.1:%d" % answers.port)
    resp = sip.request(kamailio_fn.port, "INVITE", "pf", headers=["X-Fork: 1"], timeout=5)
    assert resp is not None and resp.code == 200
    assert rings.wait_for("INVITE") and answers.wait_for("INVITE")
    assert rings.requests("INVITE")[-1].ruri == "sip:pf@127.0.0.1:%d" % rings.port
    assert answers.requests("INVITE")[-1].ruri == "sip:pf@127.0.0.1:%d" % answers.port
    # the other branch is cancelled once one answered
    assert rings.wait_for("CANCEL", timeout=5)
