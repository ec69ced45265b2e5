"""Real 3xx followers: a caller-side Kamailio (etc/kamailio-caller.cfg: tm,
uac_redirect's get_redirects(), t_load_contacts() / t_next_contacts()) in
front of the redirect server (etc/kamailio.cfg), with user agents on
127.0.0.1. A calls C through the front; the front asks the redirect server,
follows its 302 and calls the targets in the order their q-values give.
Neither follower was written here: what they do with our Contacts is what
users' proxies and SBCs do."""

import os
import time

import pytest

from harness import sipua
from conftest import REDIRECT_CFG, Kamailio, redis_and_kamailio, wait_until

CALLER_CFG = os.path.join(os.path.dirname(REDIRECT_CFG), "kamailio-caller.cfg")


@pytest.fixture(scope="module")
def chain(workdir):
    """(redis, redirect server, front): the front sends initial INVITEs to
    the redirect server."""
    with redis_and_kamailio(workdir, "interop") as (r, rs):
        front = Kamailio(os.path.join(workdir, "interop-front"), cfg=CALLER_CFG,
                         defines={"REDIRECT_SERVER": '"sip:127.0.0.1:%d"' % rs.port,
                                  "FR_TIMER": "2000"}).start()
        try:
            yield r, rs, front
        finally:
            front.stop()


@pytest.fixture
def routes(chain):
    r = chain[0]
    r.cli("FLUSHALL")
    return r


def counters(k, *groups):
    """{"group:name": value} of kamcmd stats.get_statistics for the groups."""
    out = {}
    for group in groups:
        rc, text = k.kamcmd("stats.get_statistics", group + ":")
        assert rc == 0, text
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if value.strip().lstrip("-").isdigit():
                out[name.strip()] = int(value)
    return out


def settled_counters(k, *groups):
    """counters(), once sl's totals are current: sl sums its per-process
    counters at most once a second, so a read within a second of the last
    one may miss an ACK that came in between."""
    time.sleep(1.1)
    return counters(k, *groups)


def delta(before, after):
    return {n: after[n] - before.get(n, 0) for n in after}


RS_GROUPS = ("redisroute", "core", "sl", "tm")


def call_through(front, user):
    """A's INVITE for user through the front; (uac, final response)."""
    uac = sipua.UAC(front.port)
    return uac, uac.invite(user, timeout=10.0)


def hang_up(uac, ok, *uas_that_answered):
    bye = uac.ack_and_bye(ok)
    assert bye is not None and bye.code == 200
    for u in uas_that_answered:
        assert u.wait_for("ACK") and u.wait_for("BYE")


def test_string_route_a_reaches_c_through_the_front(chain, routes, uas_pool):
    r, rs, front = chain
    c = uas_pool("answer")
    routes.cli("SET", "route:carol", "127.0.0.1:%d" % c.port)
    before = settled_counters(rs, *RS_GROUPS)
    uac, ok = call_through(front, "carol")
    try:
        assert ok is not None and ok.code == 200, ok
        inv = c.requests("INVITE")
        assert [q.ruri for q in inv] == ["sip:carol@127.0.0.1:%d" % c.port]
        # C sees the front as the sender, not A and not the redirect server
        assert inv[0].addr == ("127.0.0.1", front.port)
        assert ("127.0.0.1:%d" % front.port) in inv[0].header("Via")
        assert inv[0].header("Record-Route")
        hang_up(uac, ok, c)
        # the ACK and BYE came through the front too
        assert all(q.addr == ("127.0.0.1", front.port) for q in c.requests())
    finally:
        uac.close()
    # the front's ACK for the 302 was absorbed by sl before request_route (it
    # is sent hop by hop, maybe after A got its answer)
    assert wait_until(lambda: delta(before, counters(rs, "sl"))["sl:received_ACKs"] == 1, 5)
    d = delta(before, counters(rs, *RS_GROUPS))
    # the redirect server answered one INVITE with a 302 and relayed nothing
    assert d["redisroute:redirects"] == 1 and d["redisroute:forwards"] == 0
    assert d["core:fwd_requests"] == 0 and d["core:fwd_replies"] == 0
    assert d["core:rcv_requests_invite"] == 1 and d["core:rcv_requests_bye"] == 0
    assert d["sl:received_ACKs"] == 1 and d["sl:302_replies"] == 1


def test_list_route_is_followed_serially_in_redis_order(chain, routes, uas_pool):
    r, rs, front = chain
    first, second, third = uas_pool("reject", 503), uas_pool("answer"), uas_pool("answer")
    routes.cli("RPUSH", "route:bob", *["sip:bob@127.0.0.1:%d" % u.port
                                       for u in (first, second, third)])
    uac, ok = call_through(front, "bob")
    try:
        assert ok is not None and ok.code == 200, ok
        # the head failed, the next one got the INVITE, the third none; each
        # tried once (equal q-values would have called all three at once)
        assert len(first.requests("INVITE")) == 1
        assert len(second.requests("INVITE")) == 1
        assert third.requests() == []
        assert first.requests("INVITE")[0].at < second.requests("INVITE")[0].at
        hang_up(uac, ok, second)
    finally:
        uac.close()


def test_list_route_all_failing_gives_the_caller_the_last_failure(chain, routes, uas_pool):
    r, rs, front = chain
    targets = [uas_pool("reject", 503) for _ in range(3)]
    routes.cli("RPUSH", "route:bea", *["127.0.0.1:%d" % u.port for u in targets])
    uac, final = call_through(front, "bea")
    try:
        # the last 503, as a proxy passes it on: 500 (RFC 3261 16.7)
        assert final is not None and final.code == 500
        assert [len(u.requests("INVITE")) for u in targets] == [1, 1, 1]
        at = [u.requests("INVITE")[0].at for u in targets]
        assert at == sorted(at)
    finally:
        uac.close()


def test_sorted_set_is_followed_in_score_order(chain, routes, uas_pool):
    r, rs, front = chain
    low, high, mid = uas_pool("answer"), uas_pool("reject", 503), uas_pool("answer")
    routes.cli("ZADD", "route:dave",
               "0.3", "sip:dave@127.0.0.1:%d" % low.port,
               "0.9", "sip:dave@127.0.0.1:%d" % high.port,
               "0.6", "sip:dave@127.0.0.1:%d" % mid.port)
    uac, ok = call_through(front, "dave")
    try:
        assert ok is not None and ok.code == 200, ok
        assert len(high.requests("INVITE")) == 1
        assert len(mid.requests("INVITE")) == 1
        assert low.requests() == []
        assert high.requests("INVITE")[0].at < mid.requests("INVITE")[0].at
        hang_up(uac, ok, mid)
    finally:
        uac.close()


def test_missing_route_404_reaches_the_caller(chain, routes):
    r, rs, front = chain
    before = settled_counters(rs, *RS_GROUPS)
    uac, final = call_through(front, "nobody")
    try:
        assert final is not None and (final.code, final.reason) == (404, "Not Found")
    finally:
        uac.close()
    assert wait_until(lambda: delta(before, counters(rs, "sl"))["sl:received_ACKs"] == 1, 5)
    d = delta(before, counters(rs, *RS_GROUPS))
    assert d["redisroute:misses"] == 1 and d["core:fwd_requests"] == 0
