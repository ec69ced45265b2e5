"""Longest-prefix match (prefix_match 1): number routing the way drouting and
lcr users know it, changed live with redis-cli, in one Redis round trip."""

import os

import pytest

from harness import sip
from conftest import CFG_DIR, redis_and_kamailio, wait_until


@pytest.fixture(scope="module")
def px(workdir):
    with redis_and_kamailio(workdir, "prefix", cfg=os.path.join(CFG_DIR, "functions.cfg"),
                            PREFIX_MATCH="1", PREFIX_MAX_LENGTH="8",
                            PREFIX_DEFAULT_KEY='"default"') as rk:
        yield rk


@pytest.fixture
def routes(px):
    r, k = px
    r.cli("FLUSHALL")
    return r


def lookup(k, key):
    resp = sip.request(k.port, "MESSAGE", "x", headers=["X-Lookup: " + key])
    assert resp is not None and resp.code == 200
    get = lambda h: (resp.header(h) or [None])[0]
    return int(get("x-rc")), get("x-matched"), get("x-uri0")


def test_longest_existing_prefix_wins(px, routes):
    r, k = px
    routes.cli("SET", "route:+49", "gw-de.example.com")
    routes.cli("SET", "route:+4930", "gw-berlin.example.com")
    resp = sip.request(k.port, user="+4930123456")
    assert resp.code == 302
    assert resp.contact_uris() == ["sip:+4930123456@gw-berlin.example.com"]
    assert lookup(k, "+4930123456")[:2] == (1, "+4930")
    assert lookup(k, "+4940123456")[:2] == (1, "+49")


def test_changes_walk_down_to_the_default_key(px, routes):
    r, k = px
    routes.cli("SET", "route:+49", "192.0.2.49")
    routes.cli("SET", "route:+4930", "192.0.2.30")
    routes.cli("SET", "route:default", "192.0.2.1")
    assert lookup(k, "+4930123")[:2] == (1, "+4930")
    routes.cli("DEL", "route:+4930")
    assert lookup(k, "+4930123")[:2] == (1, "+49")
    routes.cli("DEL", "route:+49")
    assert lookup(k, "+4930123") == (1, "default", "sip:x@192.0.2.1")
    routes.cli("DEL", "route:default")
    assert lookup(k, "+4930123")[0] == -1
    assert sip.request(k.port, user="+4930123").header("x-rc") == ["-1"]


def test_prefix_max_length_bounds_the_digits_tried(px, routes):
    r, k = px
    routes.cli("SET", "route:+4930123", "192.0.2.7")      # 8 characters
    routes.cli("SET", "route:+49301234", "192.0.2.8")     # 9: never tried
    assert lookup(k, "+493012345678")[:2] == (1, "+4930123")


def test_exact_user_keys_still_match(px, routes):
    r, k = px
    routes.cli("SET", "route:alice", "192.0.2.10")
    routes.cli("SET", "route:a", "192.0.2.99")
    resp = sip.request(k.port, user="alice")
    assert resp.contact_uris() == ["sip:alice@192.0.2.10"]


def test_bad_data_at_the_longest_prefix_is_bad_data(px, routes):
    r, k = px
    routes.cli("SET", "route:+49", "192.0.2.49")
    routes.cli("HSET", "route:+4930", "a", "b")
    resp = sip.request(k.port, user="+4930123")
    assert resp.header("x-rc") == ["-3"]
    assert resp.header("x-matched") == ["+4930"]


def test_one_round_trip_per_lookup(px, routes):
    r, k = px
    routes.cli("SET", "route:+1", "192.0.2.1")
    sip.request(k.port, user="+1555")  # the script is loaded by now

    def evalsha_calls():
        for line in r.cli("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_evalsha_ro:"):
                return int(line.split("calls=")[1].split(",")[0])
        return 0
    before = evalsha_calls()
    for i in range(10):
        assert sip.request(k.port, user="+155512%02d" % i).code == 302
    assert evalsha_calls() - before == 10


def test_rpc_lookup_says_which_prefix_matched(px, routes):
    r, k = px
    routes.cli("RPUSH", "route:+33", "192.0.2.33", "192.0.2.34")
    # kamcmd sends "+33123" as a number unless told it is a string
    rc, out = k.kamcmd("redisroute.lookup", "s:+33123")
    assert "matched: +33" in out
    assert out.splitlines()[-2:] == ["sip:+33123@192.0.2.33", "sip:+33123@192.0.2.34"]
    # digits only: ctl's autoconversion (on in the shipped configs) passes them
    routes.cli("SET", "route:0049", "192.0.2.49")
    rc, out = k.kamcmd("redisroute.lookup", "004930")
    assert "matched: 0049" not in out  # the number 4930 lost its zeros
    rc, out = k.kamcmd("redisroute.lookup", "s:004930")
    assert "matched: 0049" in out and "sip:004930@192.0.2.49" in out


def test_prefix_match_with_cache_sees_a_new_longer_prefix(workdir):
    with redis_and_kamailio(workdir, "prefix-cache", PREFIX_MATCH="1",
                            CACHE_SIZE="1000") as (r, k):
        assert wait_until(lambda: "cache: active" in k.kamcmd("redisroute.status")[1], 10)
        r.cli("SET", "route:+44", "192.0.2.44")
        for _ in range(3):
            assert sip.request(k.port, user="+44207").contact_uris() == ["sip:+44207@192.0.2.44"]
        r.cli("SET", "route:+4420", "192.0.2.20")
        assert sip.request(k.port, user="+44207").contact_uris() == ["sip:+44207@192.0.2.20"]
        assert k.stats()["cache_hits"] >= 1
