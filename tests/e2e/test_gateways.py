"""Gateways end to end (the module README, "gateways"):
routes name gateways (@NAME) beside plain targets, each gateway a Redis hash
gw:NAME (uri, strip, prefix, weight, attrs, drain). What a caller sees on the
wire (302 Contacts and their q-values, the Request-URI a relayed request
reaches a gateway with), what the log says about bad gateways, and that a
change of a gateway with redis-cli is seen by the very next request, in every
worker, with the cache off and on, sync and async, with Sentinel and
Cluster. Selection (order, weight, hash), failover_shorter_prefix, the
$redisroute(gw)/(attrs) variables and their KEMI twins, the RPCs and the
gateway_reads statistic.

tests/e2e/cfg/gateways.cfg serves (X-Mode picks sip_redirect, sip_lookup,
sip_lookup_async or sip_forward; every local answer carries X-Pid, the
process that resolved it). Every loop is bounded in count and time; every
server is ours, on 127.0.0.1, stopped by its PID."""

import collections
import os
import re
import subprocess
import time

import pytest

from harness import sip
from harness.servers import SentinelGroup
from harness.rcluster import RedisCluster, keyslot
from conftest import CFG_DIR, Kamailio, free_port, redis_and_kamailio, wait_until

GW_CFG = os.path.join(CFG_DIR, "gateways.cfg")
HERE = os.path.dirname(os.path.abspath(__file__))
SIPP_FIRST_CONTACT = os.path.join(HERE, "sipp", "gw_first_contact_uac.xml")


# ---- helpers ----------------------------------------------------------------

def invite(k, user, headers=None, **kw):
    resp = sip.request(k.port, user=user, headers=headers, timeout=kw.pop("timeout", 3.0), **kw)
    assert resp is not None, "no answer from kamailio for %s" % user
    return resp


def answer(resp):
    """What the caller got: the 302's Contact URIs, else the code."""
    return resp.contact_uris() if resp.code == 302 else resp.code


def q_values(resp):
    return [c.rsplit(";q=", 1)[1] if ";q=" in c else None for c in resp.contacts()]


def set_gw(r, name, *fields, prefix="gw:"):
    """gw:<name> holds exactly `fields` (pairs), nothing from before."""
    r.cli("DEL", prefix + name)
    if fields:
        r.cli("HSET", prefix + name, *fields)


def with_call_id(k, user, call_id, headers=(), timeout=3.0):
    """An INVITE with a Call-ID of ours; its final answer."""
    data = sip.build_request("INVITE", "sip:%s@127.0.0.1:%d" % (user, k.port), 5060,
                             "UDP", headers=list(headers), call_id=call_id)
    resp = sip.send_raw_udp(k.port, data, timeout=timeout)
    assert resp is not None, "no answer for Call-ID %s" % call_id
    return resp


def numbered(resp, header):
    """X-Uri / X-Gw / X-Attrs "i value" headers as [value, ...] by i."""
    out = {}
    for v in resp.header(header):
        i, _, value = v.partition(" ")
        out[int(i)] = value
    return [out[i] for i in sorted(out)]


def warnings_naming(k, key):
    """Log lines at WARNING or above that name `key` (gw:NAME) as a whole."""
    pat = re.compile(r"%s(?![A-Za-z0-9._-])" % re.escape(key))
    return [line for line in k.log().splitlines()
            if pat.search(line) and re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]


def pids_of(k, what):
    """PIDs of kamailio's processes whose description contains `what`."""
    pids = {p for p, d in k.processes().items() if what in d}
    assert pids, k.processes()
    return pids


def sweep(k, user, expect, pids, headers=None, bound=80):
    """Requests for `user` until every process in `pids` answered one (at
    most `bound` requests, 20 s); every answer, the first one included, must
    be `expect` (Contact URIs, or a code)."""
    seen, deadline = set(), time.monotonic() + 20
    for i in range(bound):
        resp = invite(k, user, headers=headers)
        assert answer(resp) == expect, ("request %d after the change" % i, answer(resp), expect)
        seen.add(int(resp.header("x-pid")[0]))
        if seen >= pids or time.monotonic() > deadline:
            break
    assert seen >= pids, "processes never reached: %s" % (pids - seen)
    return i + 1


def parse_records(out, first="name"):
    """kamcmd's printing of an array of structs as [{field: value}], a new
    record at each `first` field."""
    records = []
    for line in out.splitlines():
        m = re.match(r"^\s*([A-Za-z_]+):\s?(.*)$", line)
        if not m:
            continue
        field, value = m.group(1), m.group(2).strip()
        if field == first or not records:
            records.append({})
        records[-1][field] = value
    return records


# ---- fixtures ----------------------------------------------------------------

@pytest.fixture(scope="module")
def gk(workdir):
    """gateways.cfg with the module's defaults (selection order, cache off),
    four SIP workers, max_targets 32 (the most)."""
    with redis_and_kamailio(workdir, "gw", cfg=GW_CFG, WORKERS="4", MAX_TARGETS="32") as rk:
        yield rk


@pytest.fixture
def routes(gk):
    r, k = gk
    r.cli("FLUSHALL")
    return r


# ---- 1. data model: @NAME in strings, lists, sorted sets -----------------------

def test_gateway_in_a_string_a_list_and_a_sorted_set(gk, routes):
    r, k = gk
    set_gw(r, "carrierA", "uri", "198.51.100.10:5060", "strip", "1", "prefix", "0044")
    set_gw(r, "trunk", "uri", "sip:trunk@198.51.100.30:5070;transport=tcp")
    # the contract's example
    r.cli("SET", "route:0201234567", "@carrierA")
    resp = invite(k, "0201234567")
    assert resp.code == 302
    assert resp.contacts() == ["<sip:0044201234567@198.51.100.10:5060>"]   # a string: no q
    # a list: beside plain targets, in the list's order, q = (n - i) / n
    r.cli("RPUSH", "route:lst", "@carrierA", "192.0.2.20", "@trunk")
    resp = invite(k, "0301234", headers=["X-Key: lst"])
    assert resp.contacts() == ["<sip:0044301234@198.51.100.10:5060>;q=1",
                               "<sip:0301234@192.0.2.20>;q=0.667",
                               "<sip:trunk@198.51.100.30:5070;transport=tcp>;q=0.333"]
    # a sorted set: by score, the score as q
    r.cli("ZADD", "route:zs", "0.2", "@trunk", "1", "@carrierA", "0.5", "sip:x@192.0.2.21")
    resp = invite(k, "0301234", headers=["X-Key: zs"])
    assert resp.contacts() == ["<sip:0044301234@198.51.100.10:5060>;q=1",
                               "<sip:x@192.0.2.21>;q=0.5",
                               "<sip:trunk@198.51.100.30:5070;transport=tcp>;q=0.2"]


def test_strip_and_prefix_shape_the_user_of_a_bare_host_gateway(gk, routes):
    r, k = gk
    r.cli("SET", "route:sp", "@g")
    cases = [
        # (uri, strip, prefix, R-URI user, Contact)
        ("192.0.2.1", None, None, "alice", "sip:alice@192.0.2.1"),
        ("192.0.2.1:5080", "2", None, "00493012", "sip:493012@192.0.2.1:5080"),
        ("192.0.2.1", None, "+1", "5550100", "sip:+15550100@192.0.2.1"),
        ("[2001:db8::5]:5070", "1", "9", "0123", "sip:9123@[2001:db8::5]:5070"),
        ("gw.example.com", "64", "99", "12", "sip:99@gw.example.com"),
        # strip >= the user's length and no prefix: no user at all
        ("192.0.2.1:5060", "5", None, "12", "sip:192.0.2.1:5060"),
        ("192.0.2.1", "0", "%2B-_.!~*'()&=+$,;?/", "7", "sip:%2B-_.!~*'()&=+$,;?/7@192.0.2.1"),
    ]
    for uri, strip, prefix, user, contact in cases:
        fields = ["uri", uri]
        if strip is not None:
            fields += ["strip", strip]
        if prefix is not None:
            fields += ["prefix", prefix]
        set_gw(r, "g", *fields)
        resp = invite(k, user, headers=["X-Key: sp"])
        assert resp.contact_uris() == [contact], (fields, user, resp.raw)


def test_full_uri_gateway_is_used_as_is_and_sips_request_uri_keeps_sips(gk, routes):
    r, k = gk
    set_gw(r, "full", "uri", "sip:pbx-user@192.0.2.40:5062;transport=tcp")
    set_gw(r, "bare", "uri", "192.0.2.41", "prefix", "00")
    r.cli("RPUSH", "route:sch", "@bare", "@full", "192.0.2.42")
    resp = invite(k, "bob", headers=["X-Key: sch"])
    assert resp.contact_uris() == ["sip:00bob@192.0.2.41",
                                   "sip:pbx-user@192.0.2.40:5062;transport=tcp",
                                   "sip:bob@192.0.2.42"]
    # a sips Request-URI: bare hosts (gateway or plain) keep its scheme, a
    # full URI gateway is used as it is
    resp = sip.request(k.port, ruri="sips:bob@127.0.0.1:%d" % k.port, transport="tcp",
                       headers=["X-Key: sch"])
    assert resp is not None and resp.code == 302, resp
    assert resp.contact_uris() == ["sips:00bob@192.0.2.41",
                                   "sip:pbx-user@192.0.2.40:5062;transport=tcp",
                                   "sips:bob@192.0.2.42"]
    set_gw(r, "fulls", "uri", "sips:secure@192.0.2.43")
    r.cli("SET", "route:sch2", "@fulls")
    assert invite(k, "bob", headers=["X-Key: sch2"]).contact_uris() == ["sips:secure@192.0.2.43"]


def test_gw_names_of_64_characters_and_every_allowed_character(gk, routes):
    r, k = gk
    longest = "N" * 64
    odd = "A-z.0_9"
    set_gw(r, longest, "uri", "192.0.2.64")
    set_gw(r, odd, "uri", "192.0.2.65")
    r.cli("RPUSH", "route:names", "@" + longest, "@" + odd)
    assert invite(k, "n", headers=["X-Key: names"]).contact_uris() == [
        "sip:n@192.0.2.64", "sip:n@192.0.2.65"]


def test_sip_forward_relays_to_the_gateways_target(gk, routes, uas_pool):
    r, k = gk
    uas = uas_pool("answer")
    set_gw(r, "fwd", "uri", "127.0.0.1:%d" % uas.port, "strip", "2", "prefix", "+49")
    r.cli("SET", "route:0030123", "@fwd")
    resp = invite(k, "0030123", headers=["X-Mode: forward"], timeout=5)
    assert resp.code == 200, resp.raw
    assert [q.ruri for q in uas.requests("INVITE")] == ["sip:+4930123@127.0.0.1:%d" % uas.port]
    # a full URI gateway: the request reaches it with that URI
    full = "sip:trunk@127.0.0.1:%d;transport=udp" % uas.port
    set_gw(r, "fwd", "uri", full)
    resp = invite(k, "0030123", headers=["X-Mode: forward"], timeout=5)
    assert resp.code == 200
    assert uas.requests("INVITE")[-1].ruri == full


def test_sip_forward_fails_over_from_gateway_to_gateway(gk, routes, uas_pool):
    r, k = gk
    bad, good = uas_pool("reject", 503), uas_pool("answer")
    set_gw(r, "down", "uri", "127.0.0.1:%d" % bad.port)
    set_gw(r, "up", "uri", "127.0.0.1:%d" % good.port, "prefix", "7")
    set_gw(r, "gone")   # missing: never tried
    r.cli("RPUSH", "route:fo", "@gone", "@down", "@up")
    resp = invite(k, "fo", headers=["X-Mode: forward"], timeout=5)
    assert resp.code == 200, resp.raw
    assert [q.ruri for q in bad.requests("INVITE")] == ["sip:fo@127.0.0.1:%d" % bad.port]
    assert [q.ruri for q in good.requests("INVITE")] == ["sip:7fo@127.0.0.1:%d" % good.port]


def test_gw_prefix_names_where_gateways_live(workdir):
    with redis_and_kamailio(workdir, "gw-prefix", cfg=GW_CFG,
                            GW_PREFIX='"carrier:"') as (r, k):
        r.cli("HSET", "carrier:a", "uri", "192.0.2.1")
        r.cli("HSET", "gw:a", "uri", "192.0.2.99")     # not where they live here
        r.cli("HSET", "gw:b", "uri", "192.0.2.98")
        r.cli("RPUSH", "route:p", "@a", "@b", "192.0.2.3")
        assert invite(k, "p").contact_uris() == ["sip:p@192.0.2.1", "sip:p@192.0.2.3"]
        # and changes under that prefix are seen by the next request
        r.cli("HSET", "carrier:a", "uri", "192.0.2.2")
        assert invite(k, "p").contact_uris() == ["sip:p@192.0.2.2", "sip:p@192.0.2.3"]
        r.cli("HSET", "carrier:b", "uri", "192.0.2.4")
        assert invite(k, "p").contact_uris() == ["sip:p@192.0.2.2", "sip:p@192.0.2.4",
                                                 "sip:p@192.0.2.3"]


@pytest.mark.parametrize("value,why", [
    ('""', "empty"),
    ('"%s"' % ("g" * 129), "over 128 bytes"),
], ids=["empty", "129-bytes"])
def test_bad_gw_prefix_stops_start_up(workdir, value, why):
    k = Kamailio(os.path.join(workdir, "gw-prefix-bad-%d" % len(value)), cfg=GW_CFG,
                 defines={"REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % free_port(),
                          "GW_PREFIX": value})
    try:
        k.start(expect_ready=False)
        assert wait_until(lambda: k.proc.poll() is not None, 15), "kamailio started (%s)" % why
        assert k.proc.returncode != 0
        assert "gw_prefix" in k.log(), k.log()[-2000:]
    finally:
        k.stop()


# ---- 2. bad gateways: never on the wire, logged once per gateway and change ---

BAD_GATEWAYS = [
    # (name, fields, what) -- each would be 192.0.2.1xx on the wire if taken
    ("nohash", None, "no hash"),
    ("nouri", ("weight", "5", "attrs", "x=1"), "no uri"),
    ("badhost", ("uri", "bad host!"), "bad uri"),
    ("badprefix", ("uri", "192.0.2.103", "prefix", "00<44"), "forbidden prefix char"),
    ("longprefix", ("uri", "192.0.2.104", "prefix", "1" * 33), "prefix over 32"),
    ("w0", ("uri", "192.0.2.105", "weight", "0"), "weight 0"),
    ("w1001", ("uri", "192.0.2.106", "weight", "1001"), "weight 1001"),
    ("wabc", ("uri", "192.0.2.107", "weight", "7x"), "weight not a number"),
    ("stripfull", ("uri", "sip:x@192.0.2.108", "strip", "1"), "strip on a full URI"),
    ("prefixfull", ("uri", "sip:x@192.0.2.109", "prefix", "00"), "prefix on a full URI"),
    ("strip65", ("uri", "192.0.2.110", "strip", "65"), "strip over 64"),
    ("drainyes", ("uri", "192.0.2.111", "drain", "yes"), "drain yes"),
    ("ctl", ("uri", "192.0.2.112"), "attrs with \\x01"),
    ("crlf", ("uri", "192.0.2.113"), "attrs with CR LF"),
    ("longattrs", ("uri", "192.0.2.114", "attrs", "a" * 256), "attrs over 255"),
]


def test_bad_gateways_are_never_on_the_wire_and_logged_once(gk, routes):
    r, k = gk
    for name, fields, _ in BAD_GATEWAYS:
        if fields:
            set_gw(r, name, *fields)
    r.cli_value(b"a\x01b", "HSET", "gw:ctl", "attrs")
    r.cli_value(b"x\r\nX-Evil: 1", "HSET", "gw:crlf", "attrs")
    set_gw(r, "fine", "uri", "192.0.2.150", "attrs", "a" * 255, "weight", "1000",
           "strip", "64", "prefix", "1" * 32)
    members = ["@" + n for n, _, _ in BAD_GATEWAYS]
    r.cli("RPUSH", "route:mix", *(members[:7] + ["192.0.2.200"] + members[7:] + ["@fine"]))
    for i in range(8):   # over several workers
        resp = invite(k, "u", headers=["X-Key: mix"])
        assert resp.code == 302, resp.raw
        assert resp.contact_uris() == ["sip:u@192.0.2.200", "sip:%s@192.0.2.150" % ("1" * 32)], i
        assert "X-Evil" not in resp.raw and "bad host" not in resp.raw
        assert not re.search(r"192\.0\.2\.1[01]\d\b", resp.raw), resp.raw
    time.sleep(0.2)
    log = k.log()
    for name, _, what in BAD_GATEWAYS:
        lines = warnings_naming(k, "gw:" + name)
        assert len(lines) == 1, (what, lines)
    assert warnings_naming(k, "gw:fine") == []
    assert "\r" not in log and not re.search(r"(?m)^X-Evil", log)
    assert "\x01" not in log

    # a change to another bad value: logged once more; fixed: on the wire
    r.cli("HSET", "gw:w0", "weight", "-1")
    for _ in range(6):
        assert invite(k, "u", headers=["X-Key: mix"]).contact_uris() == [
            "sip:u@192.0.2.200", "sip:%s@192.0.2.150" % ("1" * 32)]
    assert len(warnings_naming(k, "gw:w0")) == 2
    assert len(warnings_naming(k, "gw:w1001")) == 1
    r.cli("HSET", "gw:w0", "weight", "3")
    r.cli("HSET", "gw:nohash", "uri", "192.0.2.101")
    resp = invite(k, "u", headers=["X-Key: mix"])
    assert resp.contact_uris() == ["sip:u@192.0.2.101", "sip:u@192.0.2.105",
                                   "sip:u@192.0.2.200", "sip:%s@192.0.2.150" % ("1" * 32)]


def test_left_out_gateways_do_not_count_toward_max_targets(workdir):
    """max_targets counts valid targets, invalid ones are skipped and do
    not count (README): a missing, invalid or drained gateway is no target
    of the answer, so it takes no place of max_targets either."""
    with redis_and_kamailio(workdir, "gw-max-targets", cfg=GW_CFG,
                            MAX_TARGETS="2") as (r, k):
        set_gw(r, "g1", "uri", "192.0.2.1")
        set_gw(r, "g2", "uri", "192.0.2.2")
        set_gw(r, "bad", "uri", "192.0.2.9", "weight", "0")
        set_gw(r, "drained", "uri", "192.0.2.8", "drain", "1")
        r.cli("RPUSH", "route:inv", "bad host", "@g1", "@g2")      # as before gateways
        assert invite(k, "u", headers=["X-Key: inv"]).contact_uris() == [
            "sip:u@192.0.2.1", "sip:u@192.0.2.2"]
        got = {}
        for what in ("nohash", "bad", "drained"):
            r.cli("RPUSH", "route:" + what, "@" + what, "@g1", "192.0.2.3")
            got[what] = invite(k, "u", headers=["X-Key: " + what]).contact_uris()
        assert got == {what: ["sip:u@192.0.2.1", "sip:u@192.0.2.3"]
                       for what in ("nohash", "bad", "drained")}


def test_invalid_gateway_names_are_bad_entries(gk, routes):
    r, k = gk
    for name in ("a b", "x" * 65, "a/b", "a:b"):
        r.cli("HSET", "gw:" + name, "uri", "192.0.2.66")
    set_gw(r, "ok", "uri", "192.0.2.1")
    r.cli("RPUSH", "route:bn", "@", "@a b", "@" + "x" * 65, "@a/b", "@a:b", "@ok", "192.0.2.2")
    for _ in range(4):
        resp = invite(k, "u", headers=["X-Key: bn"])
        assert resp.contact_uris() == ["sip:u@192.0.2.1", "sip:u@192.0.2.2"]
        assert "192.0.2.66" not in resp.raw
    # logged, as an invalid target is
    assert [l for l in k.log().splitlines() if "route:bn" in l and "WARNING" in l]


@pytest.mark.parametrize("make", [
    ("SET", "route:allbad", "@nohash2"),
    ("RPUSH", "route:allbad", "@nohash2", "@badw", "@"),
    ("ZADD", "route:allbad", "1", "@nohash2", "0.5", "@badw"),
])
def test_only_bad_gateways_is_bad_route_data(gk, routes, make):
    r, k = gk
    set_gw(r, "badw", "uri", "192.0.2.1", "weight", "0")
    r.cli(*make)
    resp = invite(k, "allbad")
    assert (resp.code, resp.reason) == (500, "Bad Route Data")
    assert resp.header("x-rc") == ["-3"] and resp.contacts() == []


def test_drained_gateways_leave_the_answer(gk, routes):
    r, k = gk
    set_gw(r, "d1", "uri", "192.0.2.1", "drain", "1")
    set_gw(r, "d2", "uri", "192.0.2.2", "drain", "1")
    set_gw(r, "live", "uri", "192.0.2.3", "drain", "0")
    set_gw(r, "bad", "uri", "192.0.2.4", "weight", "0")
    r.cli("RPUSH", "route:dr", "@d1", "@live", "@d2")
    assert invite(k, "u", headers=["X-Key: dr"]).contacts() == ["<sip:u@192.0.2.3>;q=1"]
    # every target drained: no route
    r.cli("RPUSH", "route:alldr", "@d1", "@d2")
    resp = invite(k, "u", headers=["X-Key: alldr"])
    assert (resp.code, resp.header("x-rc")) == (404, ["-1"])
    # drained and bad, one drained at least: no route too
    r.cli("ZADD", "route:drbad", "1", "@d1", "0.5", "@bad", "0.4", "@nohash3")
    resp = invite(k, "u", headers=["X-Key: drbad"])
    assert (resp.code, resp.header("x-rc")) == (404, ["-1"])
    r.cli("SET", "route:drs", "@d2")
    assert invite(k, "u", headers=["X-Key: drs"]).code == 404
    # drain 0 again: back in the next answer
    r.cli("HSET", "gw:d2", "drain", "0")
    assert invite(k, "u", headers=["X-Key: drs"]).contact_uris() == ["sip:u@192.0.2.2"]
    assert invite(k, "u", headers=["X-Key: alldr"]).contact_uris() == ["sip:u@192.0.2.2"]


# ---- 3. coherence: the next request sees a change, in every process -----------

# (change, expected answer for user "u" of route:co = [@x, 192.0.2.99])
PLAIN = "sip:u@192.0.2.99"
CHANGES = [
    (("HSET", "gw:x", "uri", "192.0.2.2"), ["sip:u@192.0.2.2", PLAIN]),
    (("HSET", "gw:x", "prefix", "00"), ["sip:00u@192.0.2.2", PLAIN]),
    (("HSET", "gw:x", "drain", "1"), [PLAIN]),
    (("HSET", "gw:x", "drain", "0"), ["sip:00u@192.0.2.2", PLAIN]),
    (("HDEL", "gw:x", "prefix"), ["sip:u@192.0.2.2", PLAIN]),
    (("HSET", "gw:x", "uri", "bad host!"), [PLAIN]),
    (("HSET", "gw:x", "uri", "sip:full@192.0.2.3"), ["sip:full@192.0.2.3", PLAIN]),
    (("HSET", "gw:x", "weight", "0"), [PLAIN]),
    (("HDEL", "gw:x", "weight"), ["sip:full@192.0.2.3", PLAIN]),
    (("HDEL", "gw:x", "uri"), [PLAIN]),
    (("HSET", "gw:x", "uri", "192.0.2.4"), ["sip:u@192.0.2.4", PLAIN]),
    (("DEL", "gw:x"), [PLAIN]),
    (("HSET", "gw:x", "uri", "192.0.2.5", "strip", "1", "prefix", "9"), ["sip:9@192.0.2.5", PLAIN]),
]
# route:solo = @x alone: drained -> 404, missing -> 500
SOLO = [
    (("HSET", "gw:x", "drain", "1"), 404),
    (("HSET", "gw:x", "drain", "0"), ["sip:u@192.0.2.6"]),
    (("DEL", "gw:x"), 500),
    (("HSET", "gw:x", "uri", "192.0.2.7"), ["sip:u@192.0.2.7"]),
]


def run_changes(k, write, modes):
    """Applies CHANGES (route:co) and SOLO (route:solo) with write(*cmd);
    after each, every process of each mode (headers, pids) answers it."""
    counts = []
    for change, expect in CHANGES:
        write(*change)
        for headers, pids in modes:
            counts.append(sweep(k, "u", expect, pids, headers=(headers or []) + ["X-Key: co"]))
    write("DEL", "gw:x")
    write("HSET", "gw:x", "uri", "192.0.2.6")
    for change, expect in SOLO:
        write(*change)
        for headers, pids in modes:
            counts.append(sweep(k, "u", expect, pids, headers=(headers or []) + ["X-Key: solo"]))
    return counts


def modes_of(k):
    """(headers, processes that resolve them): sync in the SIP workers,
    async in the core's async workers."""
    return [(None, pids_of(k, "udp receiver")),
            (["X-Mode: async"], pids_of(k, "Async Task Worker"))]


@pytest.mark.parametrize("cache", ["0", "1000"])
def test_every_change_is_seen_by_the_next_request_in_every_process(workdir, cache):
    with redis_and_kamailio(workdir, "gw-coh-%s" % cache, cfg=GW_CFG, WORKERS="4",
                            RESUME_WORKERS="4", CACHE_SIZE=cache) as (r, k):
        if cache != "0":
            assert wait_until(lambda: k.cache_state() == "active", 10)
        r.cli("HSET", "gw:x", "uri", "192.0.2.1")
        r.cli("RPUSH", "route:co", "@x", "192.0.2.99")
        r.cli("SET", "route:solo", "@x")
        modes = modes_of(k)
        # every process has the gateway (and, cache on, the route) before
        for headers, pids in modes:
            sweep(k, "u", ["sip:u@192.0.2.1", PLAIN], pids,
                  headers=(headers or []) + ["X-Key: co"])
        counts = run_changes(k, r.cli, modes)
        print("requests per change and mode:", counts)
        if cache != "0":
            assert k.stats()["cache_hits"] > 0


def test_coherence_with_sentinel_and_after_a_failover(workdir):
    group = SentinelGroup(os.path.join(workdir, "gw-sentinel")).start()
    k = None
    try:
        k = Kamailio(os.path.join(workdir, "gw-sentinel", "k"), cfg=GW_CFG, workers=4,
                     defines=dict(group.kamailio_defines(), CACHE_SIZE="1000",
                                  RESUME_WORKERS="4")).start()
        old, new = group.master, group.replica
        assert wait_until(lambda: k.cache_state() == "active", 10)
        old.cli("HSET", "gw:x", "uri", "192.0.2.1")
        old.cli("RPUSH", "route:co", "@x", "192.0.2.99")
        old.cli("SET", "route:solo", "@x")
        modes = modes_of(k)
        for headers, pids in modes:
            sweep(k, "u", ["sip:u@192.0.2.1", PLAIN], pids,
                  headers=(headers or []) + ["X-Key: co"])
        run_changes(k, old.cli, modes)

        # a forced failover: changes on the new master, seen once kamailio
        # follows, then each by the very next request again
        assert wait_until(lambda: new.cli("HGET", "gw:x", "uri") == "192.0.2.7", 5)
        assert group.sentinels[0].cli("SENTINEL", "FAILOVER", group.name) == "OK"
        assert wait_until(lambda: all(s.master_port() == new.port for s in group.sentinels), 20)
        assert wait_until(lambda: new.cli("ROLE").split()[0] == "master", 10)
        new.cli("HSET", "gw:x", "uri", "192.0.2.1")
        new.cli("DEL", "route:co")
        new.cli("RPUSH", "route:co", "@x", "192.0.2.99")
        # the switch may answer 503 for a while, in each process that meets it
        def settled():
            return all(answer(invite(k, "u", headers=(headers or []) + ["X-Key: co"]))
                       == ["sip:u@192.0.2.1", PLAIN] for headers, _ in modes for _ in range(8))
        assert wait_until(settled, 20, 0.2)
        for headers, pids in modes:
            sweep(k, "u", ["sip:u@192.0.2.1", PLAIN], pids,
                  headers=(headers or []) + ["X-Key: co"])
        run_changes(k, new.cli, modes)
    finally:
        if k:
            k.stop()
        group.stop()


CLUSTER_PASSWORD = "gw-s3cret"


def names_on_other_masters(c, route_key, count=2):
    """Gateway NAMEs whose gw:NAME keys live on masters other than
    route_key's, each on a different one."""
    route_owner = c.owner(keyslot(route_key))
    found = {}
    for i in range(5000):
        name = "cx%d" % i
        owner = c.owner(keyslot("gw:" + name))
        if owner != route_owner and owner not in found:
            found[owner] = name
        if len(found) == count:
            return list(found.values())
    raise RuntimeError("no gateway names on the other masters")


@pytest.mark.parametrize("cache", ["0", "1000"])
def test_coherence_with_cluster_gateways_on_other_masters(workdir, cache):
    c = RedisCluster(os.path.join(workdir, "gw-cluster-%s" % cache), masters=3,
                     password=CLUSTER_PASSWORD).start()
    k = None
    try:
        k = Kamailio(os.path.join(workdir, "gw-cluster-%s" % cache, "k"), cfg=GW_CFG, workers=4,
                     defines={"REDIS_SERVER": '"redis://:%s@127.0.0.1:%d?cluster=1"'
                              % (CLUSTER_PASSWORD, c.ports[0]),
                              "CACHE_SIZE": cache, "RESUME_WORKERS": "4"}).start()
        if cache != "0":
            assert wait_until(lambda: k.cache_state() == "active", 10)
        g1, g2 = names_on_other_masters(c, "route:cl")
        assert len({c.owner(keyslot(x)) for x in ("route:cl", "gw:" + g1, "gw:" + g2)}) == 3
        c.key_command("gw:" + g1, "HSET", "gw:" + g1, "uri", "192.0.2.1")
        c.key_command("gw:" + g2, "HSET", "gw:" + g2, "uri", "192.0.2.2")
        c.key_command("route:cl", "RPUSH", "route:cl", "@" + g1, "192.0.2.99", "@" + g2)
        modes = modes_of(k)
        steps = [
            (None, ["sip:u@192.0.2.1", PLAIN, "sip:u@192.0.2.2"]),
            (("HSET", "gw:" + g1, "uri", "192.0.2.11"), ["sip:u@192.0.2.11", PLAIN, "sip:u@192.0.2.2"]),
            (("HSET", "gw:" + g2, "prefix", "00"), ["sip:u@192.0.2.11", PLAIN, "sip:00u@192.0.2.2"]),
            (("HSET", "gw:" + g1, "drain", "1"), [PLAIN, "sip:00u@192.0.2.2"]),
            (("DEL", "gw:" + g2), [PLAIN]),
            (("HSET", "gw:" + g1, "drain", "0"), ["sip:u@192.0.2.11", PLAIN]),
            (("HSET", "gw:" + g2, "uri", "sip:t@192.0.2.12"), ["sip:u@192.0.2.11", PLAIN, "sip:t@192.0.2.12"]),
            (("HDEL", "gw:" + g1, "uri"), [PLAIN, "sip:t@192.0.2.12"]),
        ]
        for change, expect in steps:
            if change:
                c.key_command(change[1], *change)
            for headers, pids in modes:
                sweep(k, "u", expect, pids, headers=(headers or []) + ["X-Key: cl"])
    finally:
        if k:
            k.stop()
        c.stop()


# ---- 4. selection: order, weight, hash ----------------------------------------

def test_order_keeps_the_stored_order(gk, routes):
    r, k = gk
    set_gw(r, "a", "uri", "192.0.2.1", "weight", "1000")
    set_gw(r, "b", "uri", "192.0.2.2", "weight", "1")
    r.cli("RPUSH", "route:ord", "@b", "192.0.2.9", "@a")
    r.cli("ZADD", "route:ordz", "1", "@b", "0.5", "@a", "0.5", "192.0.2.9")
    lists, zsets = set(), set()
    for i in range(20):
        lists.add(tuple(invite(k, "u", headers=["X-Key: ord"]).contacts()))
        zsets.add(tuple(invite(k, "u", headers=["X-Key: ordz"]).contacts()))
    assert lists == {("<sip:u@192.0.2.2>;q=1", "<sip:u@192.0.2.9>;q=0.667",
                      "<sip:u@192.0.2.1>;q=0.333")}
    # scores as q, unchanged with "order"; one stable order
    assert len(zsets) == 1, zsets
    z = list(zsets)[0]
    assert z[0] == "<sip:u@192.0.2.2>;q=1"
    assert sorted(z[1:]) == ["<sip:u@192.0.2.1>;q=0.5", "<sip:u@192.0.2.9>;q=0.5"]


@pytest.fixture(scope="module")
def weighted(workdir):
    with redis_and_kamailio(workdir, "gw-weight", cfg=GW_CFG, WORKERS="4",
                            SELECTION='"weight"') as rk:
        yield rk


def test_weight_shares_of_the_first_contact_over_10000_calls(weighted, private_dir):
    r, k = weighted
    r.cli("FLUSHALL")
    set_gw(r, "a", "uri", "192.0.2.1", "weight", "70")
    set_gw(r, "b", "uri", "192.0.2.2", "weight", "30")
    r.cli("ZADD", "route:w", "1", "@a", "1", "@b")
    calls = 10000
    log = os.path.join(private_dir, "sipp_first.log")
    cmd = ["sipp", "-sf", SIPP_FIRST_CONTACT, "-m", str(calls), "-r", "5000", "-rp", "1000",
           "-l", "2000", "-timeout", "60s", "-timeout_error", "-nostdin",
           "-i", "127.0.0.1", "-p", str(free_port()), "-s", "w",
           "-trace_logs", "-log_file", log,
           "-trace_err", "-error_file", os.path.join(private_dir, "sipp_err.log"),
           "127.0.0.1:%d" % k.port]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=private_dir)
    assert p.returncode == 0, (p.stdout[-3000:], p.stderr[-2000:])
    with open(log) as f:
        firsts = collections.Counter(re.findall(r"first=(\S+)", f.read()))
    assert sum(firsts.values()) == calls, firsts
    share_a = 100.0 * firsts["192.0.2.1"] / calls
    share_b = 100.0 * firsts["192.0.2.2"] / calls
    print("weight 70/30 over %d calls: first Contact 192.0.2.1 (a) %.2f %%, 192.0.2.2 (b) %.2f %%"
          % (calls, share_a, share_b))
    assert set(firsts) == {"192.0.2.1", "192.0.2.2"}, firsts
    assert abs(share_a - 70) <= 2 and abs(share_b - 30) <= 2, (share_a, share_b)


def test_weight_q_values_follow_the_chosen_order(weighted):
    r, k = weighted
    r.cli("FLUSHALL")
    for name, ip in (("a", "192.0.2.1"), ("b", "192.0.2.2"), ("c", "192.0.2.3")):
        set_gw(r, name, "uri", ip)
    r.cli("ZADD", "route:wq", "1", "@a", "1", "@b", "0.5", "@c")
    r.cli("RPUSH", "route:wl", "@a", "@b")
    firsts_z, firsts_l = collections.Counter(), collections.Counter()
    for _ in range(40):
        resp = invite(k, "u", headers=["X-Key: wq"])
        assert q_values(resp) == ["1", "0.75", "0.5"], resp.contacts()
        uris = resp.contact_uris()
        assert sorted(uris[:2]) == ["sip:u@192.0.2.1", "sip:u@192.0.2.2"] and \
            uris[2] == "sip:u@192.0.2.3"
        firsts_z[uris[0]] += 1
        resp = invite(k, "u", headers=["X-Key: wl"])
        assert q_values(resp) == ["1", "0.5"], resp.contacts()
        firsts_l[resp.contact_uris()[0]] += 1
    # equal weights: both come first, in the sorted set and in the list
    assert set(firsts_z) == {"sip:u@192.0.2.1", "sip:u@192.0.2.2"}, firsts_z
    assert set(firsts_l) == {"sip:u@192.0.2.1", "sip:u@192.0.2.2"}, firsts_l


def test_weight_never_crosses_priorities_and_plain_targets_weigh_one(weighted):
    r, k = weighted
    r.cli("FLUSHALL")
    set_gw(r, "light", "uri", "192.0.2.1", "weight", "1")
    set_gw(r, "heavy", "uri", "192.0.2.2", "weight", "1000")
    r.cli("ZADD", "route:tiers", "1", "@light", "0.5", "@heavy")
    # a plain target (weight 1) beside a gateway of weight 1000 in a list
    r.cli("RPUSH", "route:plainw", "192.0.2.9", "@heavy")
    plain_first = 0
    for _ in range(60):
        assert invite(k, "u", headers=["X-Key: tiers"]).contacts() == [
            "<sip:u@192.0.2.1>;q=1", "<sip:u@192.0.2.2>;q=0.5"]
        uris = invite(k, "u", headers=["X-Key: plainw"]).contact_uris()
        assert sorted(uris) == ["sip:u@192.0.2.2", "sip:u@192.0.2.9"]
        plain_first += uris[0] == "sip:u@192.0.2.9"
    # P(plain first) = 1/1001 each: 60 calls almost never see it
    assert plain_first <= 3, plain_first


@pytest.fixture(scope="module")
def hashed(workdir):
    with redis_and_kamailio(workdir, "gw-hash", cfg=GW_CFG, WORKERS="4",
                            SELECTION='"hash"') as rk:
        yield rk


def hosts(resp):
    return tuple(u.rsplit("@", 1)[1] for u in resp.contact_uris())


def test_hash_same_call_id_same_order_and_call_ids_spread(hashed):
    r, k = hashed
    r.cli("FLUSHALL")
    for name, ip in (("a", "192.0.2.1"), ("b", "192.0.2.2"), ("c", "192.0.2.3")):
        set_gw(r, name, "uri", ip)
    r.cli("RPUSH", "route:h", "@a", "@b", "@c")
    orders = {tuple(hosts(with_call_id(k, "u", "same-call-id@test", ["X-Key: h"])))
              for _ in range(20)}
    assert len(orders) == 1, orders
    firsts = collections.Counter(hosts(with_call_id(k, "u", "spread-%d@test" % i, ["X-Key: h"]))[0]
                                 for i in range(300))
    print("hash, 3 equal gateways, 300 Call-IDs, firsts:", dict(firsts))
    assert set(firsts) == {"192.0.2.1", "192.0.2.2", "192.0.2.3"}, firsts
    assert all(60 <= n <= 140 for n in firsts.values()), firsts


def test_hash_a_gateway_that_leaves_moves_only_its_own_calls(hashed):
    r, k = hashed
    r.cli("FLUSHALL")
    for name, ip in (("a", "192.0.2.1"), ("b", "192.0.2.2"), ("c", "192.0.2.3")):
        set_gw(r, name, "uri", ip)
    r.cli("RPUSH", "route:hl", "@a", "@b", "@c")
    cids = ["leave-%d@test" % i for i in range(200)]
    before = {cid: hosts(with_call_id(k, "u", cid, ["X-Key: hl"])) for cid in cids}
    assert all(sorted(o) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"] for o in before.values())
    r.cli("DEL", "gw:c")
    after = {cid: hosts(with_call_id(k, "u", cid, ["X-Key: hl"])) for cid in cids}
    moved = [cid for cid in cids if before[cid][0] == "192.0.2.3"]
    stayed = [cid for cid in cids if before[cid][0] != "192.0.2.3"]
    assert moved and stayed
    # the calls whose first was another gateway keep their order
    for cid in stayed:
        assert after[cid] == tuple(h for h in before[cid] if h != "192.0.2.3"), cid
    # the calls of the one that left go to the others, in their own order
    for cid in moved:
        assert after[cid] == before[cid][1:], cid
    r.cli("HSET", "gw:c", "uri", "192.0.2.3")
    again = {cid: hosts(with_call_id(k, "u", cid, ["X-Key: hl"])) for cid in cids}
    assert again == before


def test_hash_follows_the_weights(hashed):
    r, k = hashed
    r.cli("FLUSHALL")
    set_gw(r, "a", "uri", "192.0.2.1", "weight", "70")
    set_gw(r, "b", "uri", "192.0.2.2", "weight", "30")
    r.cli("ZADD", "route:hw", "1", "@a", "1", "@b", "0.5", "192.0.2.9")
    n = 2000
    firsts = collections.Counter()
    for i in range(n):
        resp = with_call_id(k, "u", "weights-%d@test" % i, ["X-Key: hw"])
        assert q_values(resp) == ["1", "0.75", "0.5"], resp.contacts()
        firsts[hosts(resp)[0]] += 1
    share_a = 100.0 * firsts["192.0.2.1"] / n
    print("hash 70/30 over %d Call-IDs: a first %.1f %%" % (n, share_a))
    assert abs(share_a - 70) <= 4, firsts


def test_hash_sip_forward_follows_the_chosen_order(hashed, uas_pool):
    r, k = hashed
    r.cli("FLUSHALL")
    ua, ub = uas_pool("answer"), uas_pool("answer")
    set_gw(r, "a", "uri", "127.0.0.1:%d" % ua.port)
    set_gw(r, "b", "uri", "127.0.0.1:%d" % ub.port)
    r.cli("RPUSH", "route:hf", "@a", "@b")
    reached = set()
    for i in range(12):
        cid = "forward-%d@test" % i
        first = with_call_id(k, "u", cid, ["X-Key: hf"]).contact_uris()[0]
        before = len(ua.requests("INVITE")) + len(ub.requests("INVITE"))
        resp = with_call_id(k, "u", cid, ["X-Key: hf", "X-Mode: forward"], timeout=5)
        assert resp.code == 200
        got = [q for q in ua.requests("INVITE") + ub.requests("INVITE")
               if q.header("Call-ID") == cid]
        assert len(ua.requests("INVITE")) + len(ub.requests("INVITE")) == before + 1
        assert [q.ruri for q in got] == [first], (cid, first)
        reached.add(first)
    assert len(reached) == 2, reached


# ---- 5. failover_shorter_prefix ------------------------------------------------

@pytest.mark.parametrize("on", ["1", "0"])
def test_failover_to_a_shorter_prefix(workdir, uas_pool, on):
    london, uk, other = uas_pool("reject", 503), uas_pool("answer"), uas_pool("answer")
    with redis_and_kamailio(workdir, "gw-shorter-%s" % on, cfg=GW_CFG, PREFIX_MATCH="1",
                            PREFIX_DEFAULT_KEY='"default"',
                            FAILOVER_SHORTER_PREFIX=on) as (r, k):
        set_gw(r, "london", "uri", "127.0.0.1:%d" % london.port)
        set_gw(r, "uk", "uri", "127.0.0.1:%d" % uk.port, "prefix", "00")
        r.cli("SET", "route:+4420", "@london")
        r.cli("SET", "route:+44", "@uk")
        user = "+442071234567"

        def call():
            resp = invite(k, user, headers=["X-Mode: forward"], timeout=6)
            ci = resp.header("call-id")[0]
            assert wait_until(lambda: "FORWARD_NEXT ci=%s" % ci in k.log(), 3)
            lines = [l.split("FORWARD_NEXT ci=%s" % ci, 1)[1] for l in k.log().splitlines()
                     if "FORWARD_NEXT ci=%s" % ci in l]
            return resp, lines

        resp, lines = call()
        assert [q.ruri for q in london.requests("INVITE")] == [
            "sip:%s@127.0.0.1:%d" % (user, london.port)]
        if on == "0":
            # off: no target left of +4420, as before gateways
            assert (resp.code, resp.reason) == (480, "No Target Left"), resp.raw
            assert uk.requests("INVITE") == []
            assert len(lines) == 1 and " rc=-1 " in lines[0], lines
            return
        assert resp.code == 200, resp.raw
        assert [q.ruri for q in uk.requests("INVITE")] == [
            "sip:00%s@127.0.0.1:%d" % (user, uk.port)]
        assert len(lines) == 1 and " rc=1 " in lines[0] and " key=+44 " in lines[0], lines
        # +44 fails too: then the default key
        uk.mode, uk.code = "reject", 503
        r.cli("SET", "route:default", "127.0.0.1:%d" % other.port)
        resp, lines = call()
        assert resp.code == 200, resp.raw
        assert [len(u.requests("INVITE")) for u in (london, uk, other)] == [2, 2, 1]
        assert other.requests("INVITE")[0].ruri == "sip:%s@127.0.0.1:%d" % (user, other.port)
        assert [(" rc=1 " in l, l.split(" key=")[1].split()[0]) for l in lines] == [
            (True, "+44"), (True, "default")], lines
        # and when nothing shorter is left: -1
        r.cli("DEL", "route:default")
        resp, lines = call()
        assert (resp.code, resp.reason) == (480, "No Target Left"), resp.raw
        assert " rc=-1 " in lines[-1], lines
        assert [len(u.requests("INVITE")) for u in (london, uk, other)] == [3, 3, 1]


def test_a_gateway_tried_once_across_prefixes_and_a_prefix_with_none_usable_passed_over(
        workdir, uas_pool):
    backup, uk = uas_pool("reject", 503), uas_pool("answer")
    with redis_and_kamailio(workdir, "gw-shorter-dedup", cfg=GW_CFG, PREFIX_MATCH="1",
                            PREFIX_DEFAULT_KEY='"default"',
                            FAILOVER_SHORTER_PREFIX="1") as (r, k):
        set_gw(r, "backup", "uri", "127.0.0.1:%d" % backup.port)
        set_gw(r, "uk", "uri", "127.0.0.1:%d" % uk.port)
        # backup is named by every level: it is tried once, then passed over
        r.cli("RPUSH", "route:+4420", "@backup")
        r.cli("RPUSH", "route:+44", "@backup", "@uk")
        r.cli("SET", "route:default", "@backup")
        user = "+442071234567"
        resp = invite(k, user, headers=["X-Mode: forward"], timeout=6)
        assert resp.code == 200, resp.raw
        assert len(backup.requests("INVITE")) == 1
        assert len(uk.requests("INVITE")) == 1
        # uk fails too: nothing new at +44 or default -> the caller's 480
        uk.mode, uk.code = "reject", 503
        resp = invite(k, user, headers=["X-Mode: forward"], timeout=6)
        assert (resp.code, resp.reason) == (480, "No Target Left"), resp.raw
        assert [len(u.requests("INVITE")) for u in (backup, uk)] == [2, 2]
        # the longest prefix's only gateway drained: sip_forward() itself
        # goes on at +44 (without the option it would answer -1)
        uk.mode = "answer"
        set_gw(r, "london", "uri", "127.0.0.1:%d" % backup.port, "drain", "1")
        r.cli("SET", "route:+4420", "@london")
        r.cli("DEL", "route:+44")
        r.cli("RPUSH", "route:+44", "@uk")
        resp = invite(k, user, headers=["X-Mode: forward"], timeout=6)
        assert resp.code == 200, resp.raw
        assert [len(u.requests("INVITE")) for u in (backup, uk)] == [2, 3]


def test_the_shipped_lcr_example_routes_and_fails_over(workdir, uas_pool):
    """etc/kamailio-lcr.cfg as shipped: carrierC for +4420 rejects, the call
    goes on at +44 to carrierA with its number rewriting."""
    c, a = uas_pool("reject", 503), uas_pool("answer")
    cfg = os.path.join(HERE, "..", "..", "etc", "kamailio-lcr.cfg")
    with redis_and_kamailio(workdir, "gw-lcr", cfg=cfg, SELECTION='"order"') as (r, k):
        set_gw(r, "carrierA", "uri", "127.0.0.1:%d" % a.port, "strip", "1", "prefix", "00")
        set_gw(r, "carrierC", "uri", "127.0.0.1:%d" % c.port)
        r.cli("ZADD", "route:+44", "1", "@carrierA")
        r.cli("ZADD", "route:+4420", "1", "@carrierC")
        resp = invite(k, "+442071234567", timeout=8)
        assert resp.code == 200, resp.raw
        assert [q.ruri for q in c.requests("INVITE")] == [
            "sip:+442071234567@127.0.0.1:%d" % c.port]
        assert [q.ruri for q in a.requests("INVITE")] == [
            "sip:00442071234567@127.0.0.1:%d" % a.port]
        assert wait_until(lambda: "gateway carrierA" in k.log(), 3), k.log()[-2000:]


# ---- 6. $redisroute(gw) / (attrs) and the KEMI twins ---------------------------

def fill_pv_routes(r):
    set_gw(r, "a", "uri", "192.0.2.1", "attrs", "tier=1;cost=0.01")
    set_gw(r, "b", "uri", "sip:b@192.0.2.2")
    r.cli("RPUSH", "route:pv", "@a", "192.0.2.3", "@b")


PV_URIS = ["sip:u@192.0.2.1", "sip:u@192.0.2.3", "sip:b@192.0.2.2"]


@pytest.mark.parametrize("mode", ["lookup", "async-lookup"])
def test_pv_gw_and_attrs_per_target(gk, routes, mode):
    r, k = gk
    fill_pv_routes(r)
    resp = invite(k, "u", headers=["X-Mode: " + mode, "X-Key: pv"])
    assert resp.code == 200, resp.raw
    assert resp.header("x-rc") == ["1"] and resp.header("x-count") == ["3"]
    assert numbered(resp, "x-uri") == PV_URIS
    assert numbered(resp, "x-gw") == ["a", "null", "b"]
    assert numbered(resp, "x-attrs") == ["tier=1;cost=0.01", "null", "null"]
    assert resp.header("x-gw-first") == ["a"]
    assert resp.header("x-attrs-first") == ["tier=1;cost=0.01"]
    ci = resp.header("call-id")[0]
    assert wait_until(lambda: "SHOW ci=%s " % ci in k.log(), 3)
    line = k.log().split("SHOW ci=%s " % ci, 1)[1].split("\n", 1)[0]
    assert "gw0=a attrs0=tier=1;cost=0.01 gw1=<null> attrs1=<null>" in line, line
    # a change of attrs is seen by the next request's variables
    r.cli("HSET", "gw:b", "attrs", "x")
    resp = invite(k, "u", headers=["X-Mode: " + mode, "X-Key: pv"])
    assert numbered(resp, "x-attrs") == ["tier=1;cost=0.01", "null", "x"]


@pytest.fixture(scope="module")
def kemi(workdir):
    with redis_and_kamailio(workdir, "gw-kemi", cfg=os.path.join(CFG_DIR, "kemi_lua.cfg"),
                            KEMI_SCRIPT='"%s"' % os.path.join(CFG_DIR, "gateways.lua")) as rk:
        yield rk


def test_kemi_lookup_gw_and_attrs(kemi):
    r, k = kemi
    r.cli("FLUSHALL")
    fill_pv_routes(r)
    resp = invite(k, "u", headers=["X-Key: pv"])
    assert resp.code == 200, resp.raw
    assert resp.header("x-rc") == ["1"] and resp.header("x-count") == ["3"]
    assert numbered(resp, "x-uri") == PV_URIS
    assert numbered(resp, "x-gw") == ["a", "nil", "b"]
    assert numbered(resp, "x-attrs") == ["tier=1;cost=0.01", "nil", "nil"]
    assert resp.header("x-gw-last") == ["b"] and resp.header("x-attrs-last") == ["nil"]
    assert resp.header("x-gw-past") == ["nil"] and resp.header("x-attrs-past") == ["nil"]
    resp = invite(k, "u", headers=["X-Key: none"])
    assert resp.header("x-rc") == ["-1"] and resp.header("x-gw-last") == ["nil"]


# ---- 7. RPCs and statistics ---------------------------------------------------

def test_rpc_gateways_lists_what_this_node_holds(gk, routes):
    r, k = gk
    set_gw(r, "va", "uri", "192.0.2.1", "strip", "1", "prefix", "00", "weight", "70",
           "attrs", "cost=1")
    set_gw(r, "vi", "uri", "192.0.2.2", "weight", "0")
    set_gw(r, "vd", "uri", "sip:d@192.0.2.3", "drain", "1")
    set_gw(r, "unnamed", "uri", "192.0.2.4")     # no route names it
    r.cli("RPUSH", "route:rpc", "@va", "@vm", "@vi", "@vd")
    assert invite(k, "0123", headers=["X-Key: rpc"]).contact_uris() == ["sip:00123@192.0.2.1"]
    rc, out = k.kamcmd("redisroute.gateways")
    assert rc == 0 and "error" not in out, out
    gws = {g.get("name"): g for g in parse_records(out)}
    assert "unnamed" not in gws and "gw:unnamed" not in gws, out
    va = gws["va"]
    assert (va["state"], va["uri"], va["strip"], va["prefix"], va["weight"], va["attrs"],
            va["drain"]) == ("valid", "192.0.2.1", "1", "00", "70", "cost=1", "0"), va
    assert gws["vm"]["state"] == "missing", gws["vm"]
    assert gws["vi"]["state"].startswith("invalid"), gws["vi"]
    assert len(gws["vi"]["state"]) > len("invalid: "), gws["vi"]
    assert (gws["vd"]["state"], gws["vd"]["uri"], gws["vd"]["drain"]) == (
        "valid", "sip:d@192.0.2.3", "1"), gws["vd"]
    # a change shows there once the next request has read it
    r.cli("HSET", "gw:vi", "weight", "5")
    invite(k, "0123", headers=["X-Key: rpc"])
    gws = {g.get("name"): g for g in parse_records(k.kamcmd("redisroute.gateways")[1])}
    assert (gws["vi"]["state"], gws["vi"]["weight"]) == ("valid", "5"), gws["vi"]


def test_rpc_lookup_shows_gw_and_attrs_per_target(gk, routes):
    r, k = gk
    set_gw(r, "a", "uri", "192.0.2.1", "attrs", "cost=2")
    set_gw(r, "b", "uri", "sip:b@192.0.2.2")
    r.cli("RPUSH", "route:rl", "@a", "192.0.2.3", "@b")
    rc, out = k.kamcmd("redisroute.lookup", "rl")
    assert rc == 0 and "error" not in out, out
    # a gateway's target as {uri, gw, attrs}; a plain target as its URI
    # alone, as before gateways
    targets, record = [], None
    for line in out.splitlines():
        line = line.strip()
        if line == "{":
            record = {}
        elif line == "}":
            targets.append(record)
            record = None
        elif record is not None:
            field, _, value = line.partition(":")
            record[field] = value.strip()
        elif line:
            targets.append({"uri": line})
    assert targets == [{"uri": "sip:rl@192.0.2.1", "gw": "a", "attrs": "cost=2"},
                       {"uri": "sip:rl@192.0.2.3"},
                       {"uri": "sip:b@192.0.2.2", "gw": "b", "attrs": ""}], out


def test_gateway_reads_only_when_a_gateway_is_read(workdir):
    with redis_and_kamailio(workdir, "gw-reads", cfg=GW_CFG, WORKERS="4") as (r, k):
        set_gw(r, "s1", "uri", "192.0.2.1")
        set_gw(r, "s2", "uri", "192.0.2.2")
        r.cli("RPUSH", "route:st", "@s1", "192.0.2.9", "@s2")
        expect = ["sip:u@192.0.2.1", "sip:u@192.0.2.9", "sip:u@192.0.2.2"]
        reads0, hmget0 = k.stats()["gateway_reads"], r.calls("hmget")
        assert invite(k, "u", headers=["X-Key: st"]).contact_uris() == expect
        reads1, hmget1 = k.stats()["gateway_reads"], r.calls("hmget")
        assert (reads1 - reads0, hmget1 - hmget0) == (2, 2)
        # each worker reads a gateway once, at its first use: it serves a
        # process only when read after that process's subscription came up
        sweep(k, "u", expect, pids_of(k, "udp receiver"), headers=["X-Key: st"])
        reads1b, hmget1b = k.stats()["gateway_reads"], r.calls("hmget")
        assert reads1b - reads1 <= 2 * 3 and hmget1b - hmget1 == reads1b - reads1
        print("first use in the other 3 workers: %d reads" % (reads1b - reads1))
        reads1, hmget1 = reads1b, hmget1b
        # steady state: no round trip for the gateways, in any worker
        for _ in range(200):
            assert invite(k, "u", headers=["X-Key: st"]).contact_uris() == expect
        reads2, hmget2 = k.stats()["gateway_reads"], r.calls("hmget")
        assert (reads2 - reads1, hmget2 - hmget1) == (0, 0)
        # a change: read again, once per process at most, then steady again
        r.cli("HSET", "gw:s1", "prefix", "7")
        expect[0] = "sip:7u@192.0.2.1"
        for _ in range(40):
            assert invite(k, "u", headers=["X-Key: st"]).contact_uris() == expect
        reads3, hmget3 = k.stats()["gateway_reads"], r.calls("hmget")
        assert 1 <= reads3 - reads2 <= 4 and hmget3 - hmget2 == reads3 - reads2, \
            (reads3 - reads2, hmget3 - hmget2)
        for _ in range(100):
            assert invite(k, "u", headers=["X-Key: st"]).contact_uris() == expect
        assert (k.stats()["gateway_reads"], r.calls("hmget")) == (reads3, hmget3)


def test_gateways_max_reads_the_ones_beyond_at_each_use(workdir):
    with redis_and_kamailio(workdir, "gw-max", cfg=GW_CFG, WORKERS="1",
                            GATEWAYS_MAX="1") as (r, k):
        set_gw(r, "m1", "uri", "192.0.2.1")
        set_gw(r, "m2", "uri", "192.0.2.2")
        r.cli("RPUSH", "route:mx", "@m1", "@m2")
        for _ in range(3):
            assert invite(k, "u", headers=["X-Key: mx"]).contact_uris() == [
                "sip:u@192.0.2.1", "sip:u@192.0.2.2"]
        before = k.stats()["gateway_reads"]
        for _ in range(10):
            assert invite(k, "u", headers=["X-Key: mx"]).contact_uris() == [
                "sip:u@192.0.2.1", "sip:u@192.0.2.2"]
        assert k.stats()["gateway_reads"] - before >= 10   # the one beyond, at each use
        r.cli("HSET", "gw:m2", "uri", "192.0.2.3")
        r.cli("HSET", "gw:m1", "uri", "192.0.2.4")
        assert invite(k, "u", headers=["X-Key: mx"]).contact_uris() == [
            "sip:u@192.0.2.4", "sip:u@192.0.2.3"]
        lines = [l for l in k.log().splitlines() if "gateways_max" in l]
        assert len(lines) == 1, lines
