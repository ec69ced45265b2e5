"""route_types: a table of one Redis type read with that type's plain
command (GETRANGE, LRANGE, ZREVRANGE) instead of the lookup script, one
command per lookup, with the same answers on the wire."""

import os
import subprocess

import pytest

from conftest import redis_and_kamailio
from harness import sip
from harness.procs import free_port, wait_until
from harness.servers import Kamailio


def invite(k, user):
    r = sip.request(k.port, user=user)
    assert r is not None, "no answer from kamailio"
    return r


def test_strings_one_getrange_per_lookup_no_script(workdir):
    with redis_and_kamailio(workdir, "rt-s", ROUTE_TYPES='"string"') as (r, k):
        r.cli("SET", "route:alice", "192.0.2.10:5060")
        r.cli("SET", "route:full", "sips:f@example.com;transport=tls")
        assert invite(k, "alice").contact_uris() == ["sip:alice@192.0.2.10:5060"]
        before = r.calls("getrange")
        for _ in range(10):
            assert invite(k, "full").contact_uris() == ["sips:f@example.com;transport=tls"]
        assert r.calls("getrange") - before == 10
        assert r.calls("evalsha_ro") + r.calls("evalsha") + r.calls("eval_ro") == 0
        assert r.calls("script|load") == 0
        # a change is seen by the next request
        r.cli("SET", "route:alice", "192.0.2.11")
        assert invite(k, "alice").contact_uris() == ["sip:alice@192.0.2.11"]


def test_strings_missing_wrong_type_and_hostile_values(workdir):
    with redis_and_kamailio(workdir, "rt-b", ROUTE_TYPES='"string"') as (r, k):
        assert invite(k, "nobody").code == 404
        # GETRANGE answers "" for a missing key and an empty string alike
        r.cli("SET", "route:empty", "")
        assert invite(k, "empty").code == 404
        r.cli("RPUSH", "route:lst", "192.0.2.1")
        got = invite(k, "lst")
        assert (got.code, got.reason) == (500, "Bad Route Data")
        r.cli("SET", "route:crlf", "192.0.2.1\r\nX-Evil: 1")
        got = invite(k, "crlf")
        assert got.code == 500 and "X-Evil" not in got.raw
        # cut short by GETRANGE, then rejected as too long
        r.cli("SET", "route:huge", "sip:" + "z" * 50000 + "@192.0.2.1")
        assert invite(k, "huge").code == 500
        for said in ("key 'route:lst': '' (0 bytes) rejected: not the one "
                     "Redis type route_types names",
                     "bad route data in key 'route:crlf'"):
            assert wait_until(lambda: said in k.log(), 5), k.log()[-3000:]


@pytest.mark.parametrize("types,make,want", [
    ("list", ("RPUSH", "route:bob", "sip:bob@pbx1.example.com", "192.0.2.7"),
     ["<sip:bob@pbx1.example.com>;q=1", "<sip:bob@192.0.2.7>;q=0.5"]),
    ("zset", ("ZADD", "route:bob", "0.5", "192.0.2.21", "1", "192.0.2.20"),
     ["<sip:bob@192.0.2.20>;q=1", "<sip:bob@192.0.2.21>;q=0.5"]),
])
def test_lists_and_sorted_sets(workdir, types, make, want):
    cmd = "lrange" if types == "list" else "zrevrange"
    with redis_and_kamailio(workdir, "rt-" + types[0], ROUTE_TYPES='"%s"' % types) as (r, k):
        r.cli(*make)
        before = r.calls(cmd)
        assert invite(k, "bob").contacts() == want
        assert r.calls(cmd) - before == 1
        assert invite(k, "nobody").code == 404
        r.cli("SET", "route:str", "192.0.2.1")
        assert invite(k, "str").code == 500


@pytest.mark.parametrize("value,why", [
    ('"hash"', "bad modparam route_types 'hash': any, string, list or zset"),
    ('"string"', "needs exact lookups"),
])
def test_bad_route_types_stop_start_up(workdir, value, why):
    defines = {"REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % free_port(),
               "ROUTE_TYPES": value}
    if why == "needs exact lookups":
        defines["PREFIX_MATCH"] = "1"
    k = Kamailio(os.path.join(workdir, "rt-bad-" + value.strip('"')), defines=defines)
    k.start(expect_ready=False)
    try:
        rc = k.proc.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        k.stop()
    assert rc not in (None, 0), "kamailio started with route_types %s" % value
    assert why in k.log(), k.log()[-3000:]
