"""Every redisroute function from a KEMI script (Lua, Debian's app_lua)
instead of kamailio.cfg: tests/e2e/cfg/kemi_lua.cfg + kemi.lua."""

import os

import pytest

from harness import sip, sipua
from conftest import CFG_DIR, redis_and_kamailio


@pytest.fixture(scope="module")
def kemi(workdir):
    with redis_and_kamailio(workdir, "kemi", cfg=os.path.join(CFG_DIR, "kemi_lua.cfg"),
                            KEMI_SCRIPT='"%s"' % os.path.join(CFG_DIR, "kemi.lua")) as rk:
        yield rk


def test_redirect_from_lua(kemi):
    r, k = kemi
    r.cli("DEL", "route:zoe")
    r.cli("ZADD", "route:zoe", "1", "192.0.2.1", "0.5", "sip:z2@192.0.2.2")
    resp = sip.request(k.port, user="zoe")
    assert resp.code == 302
    assert resp.contacts() == ["<sip:zoe@192.0.2.1>;q=1", "<sip:z2@192.0.2.2>;q=0.5"]
    resp = sip.request(k.port, user="zoe", headers=["X-Mode: code"])
    assert (resp.code, resp.reason) == (301, "Moved Permanently")
    assert sip.request(k.port, user="nobody").code == 404


def test_forward_with_failover_from_lua(kemi):
    r, k = kemi
    bad, good = sipua.UAS("reject", 503), sipua.UAS("answer")
    try:
        r.cli("DEL", "route:kim")
        r.cli("RPUSH", "route:kim", "127.0.0.1:%d" % bad.port, "127.0.0.1:%d" % good.port)
        resp = sip.request(k.port, "MESSAGE", "kim", headers=["X-Mode: forward"], timeout=5)
        assert resp is not None and resp.code == 200
        assert [q.ruri for q in bad.requests("MESSAGE")] == ["sip:kim@127.0.0.1:%d" % bad.port]
        assert [q.ruri for q in good.requests("MESSAGE")] == ["sip:kim@127.0.0.1:%d" % good.port]
        r.cli("SET", "route:kim", "127.0.0.1:%d" % good.port)
        # an INVITE the same way, through sip_forward_key()
        resp = sip.request(k.port, "INVITE", "kim",
                           headers=["X-Mode: forward-key", "X-Key: kim"], timeout=5)
        assert resp is not None and resp.code == 200
        assert good.requests("INVITE")[-1].ruri == "sip:kim@127.0.0.1:%d" % good.port
    finally:
        bad.stop()
        good.stop()


def test_lookup_from_lua(kemi):
    r, k = kemi
    r.cli("DEL", "route:lu")
    r.cli("RPUSH", "route:lu", "192.0.2.1", "192.0.2.2", "192.0.2.3")
    resp = sip.request(k.port, "MESSAGE", "who", headers=["X-Mode: lookup", "X-Key: lu"])
    assert resp.code == 200
    assert resp.header("x-rc") == ["1"] and resp.header("x-count") == ["3"]
    assert resp.header("x-last") == ["sip:who@192.0.2.3"]
    assert resp.header("x-past-end") == ["nil"]
    resp = sip.request(k.port, "MESSAGE", "who", headers=["X-Mode: lookup", "X-Key: none"])
    assert resp.header("x-rc") == ["-1"] and resp.header("x-count") == ["0"]
