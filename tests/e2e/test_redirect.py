"""sip_redirect() end to end, as an operator meets it: routes set with
redis-cli, real SIP over UDP/TCP to Debian's kamailio running the shipped
etc/kamailio.cfg, answers read off the wire."""

import pytest

from harness import sip


def invite(k, user="alice", **kw):
    r = sip.request(k.port, user=user, **kw)
    assert r is not None, "no answer from kamailio"
    return r


# ---- data model: one test per row of README.md's Data model table ----------

def test_string_bare_host_port_keeps_user(kamailio, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10:5060")
    r = invite(kamailio, "alice")
    assert (r.code, r.reason) == (302, "Moved Temporarily")
    assert r.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    assert r.contacts() == ["<sip:alice@192.0.2.10:5060>"]  # no q for a string


def test_string_bare_host_without_port(kamailio, fresh):
    fresh.cli("SET", "route:dave", "pbx.example.com")
    assert invite(kamailio, "dave").contact_uris() == ["sip:dave@pbx.example.com"]


def test_string_bare_ipv6_with_port(kamailio, fresh):
    fresh.cli("SET", "route:erin", "[2001:db8::5]:5080")
    assert invite(kamailio, "erin").contact_uris() == ["sip:erin@[2001:db8::5]:5080"]


def test_string_full_uri_used_as_is(kamailio, fresh):
    fresh.cli("SET", "route:frank", "sip:f.other@gw.example.net:5070;transport=tcp")
    assert invite(kamailio, "frank").contact_uris() == [
        "sip:f.other@gw.example.net:5070;transport=tcp"]


def test_string_full_sips_uri(kamailio, fresh):
    fresh.cli("SET", "route:gina", "sips:gina@secure.example.com")
    assert invite(kamailio, "gina").contact_uris() == ["sips:gina@secure.example.com"]


def test_sips_request_uri_scheme_kept_for_bare_host(kamailio, fresh):
    fresh.cli("SET", "route:hank", "192.0.2.30")
    r = sip.request(kamailio.port, ruri="sips:hank@127.0.0.1:%d" % kamailio.port,
                    transport="tcp")
    assert r is not None and r.code == 302
    assert r.contact_uris() == ["sips:hank@192.0.2.30"]


def test_list_in_priority_order_with_descending_q(kamailio, fresh):
    fresh.cli("RPUSH", "route:bob", "sip:bob@pbx1.example.com",
              "sip:bob@pbx2.example.com", "192.0.2.7")
    # (n - i) / n: the head gets 1, the rest less, so any RFC 3261 follower
    # tries them in the list's order
    assert invite(kamailio, "bob").contacts() == [
        "<sip:bob@pbx1.example.com>;q=1", "<sip:bob@pbx2.example.com>;q=0.667",
        "<sip:bob@192.0.2.7>;q=0.333"]
    fresh.cli("RPUSH", "route:bob", "192.0.2.8")
    assert [c.rsplit(";q=", 1)[1] for c in invite(kamailio, "bob").contacts()] == [
        "1", "0.75", "0.5", "0.25"]


def test_list_q_spaced_over_the_valid_targets(kamailio, fresh):
    # rejected entries take no q-value: two valid targets get 1 and 0.5
    fresh.cli("RPUSH", "route:lq", "bad host", "192.0.2.1", "sip:<x>@y", "192.0.2.2")
    assert invite(kamailio, "lq").contacts() == [
        "<sip:lq@192.0.2.1>;q=1", "<sip:lq@192.0.2.2>;q=0.5"]


def test_sorted_set_highest_q_first_with_three_decimals(kamailio, fresh):
    fresh.cli("ZADD", "route:carol", "0.5", "sip:carol@192.0.2.21",
              "1.0", "sip:carol@192.0.2.20", "0.8", "sip:carol@192.0.2.22",
              "0.1234", "192.0.2.23", "0", "192.0.2.24")
    r = invite(kamailio, "carol")
    assert r.contacts() == [
        "<sip:carol@192.0.2.20>;q=1",
        "<sip:carol@192.0.2.22>;q=0.8",
        "<sip:carol@192.0.2.21>;q=0.5",
        "<sip:carol@192.0.2.23>;q=0.123",
        "<sip:carol@192.0.2.24>;q=0",
    ]


def test_sorted_set_score_outside_range_invalidates_that_target(kamailio, fresh):
    fresh.cli("ZADD", "route:carl", "1.5", "sip:too-high@192.0.2.1",
              "-0.5", "sip:negative@192.0.2.2", "0.7", "sip:ok@192.0.2.3")
    r = invite(kamailio, "carl")
    assert r.contacts() == ["<sip:ok@192.0.2.3>;q=0.7"]


def test_sorted_set_all_scores_outside_range_is_bad_data(kamailio, fresh):
    fresh.cli("ZADD", "route:cleo", "2", "sip:a@192.0.2.1", "inf", "sip:b@192.0.2.2")
    r = invite(kamailio, "cleo")
    assert (r.code, r.reason) == (500, "Bad Route Data")
    assert r.contacts() == []


def test_missing_key_is_no_route(kamailio, fresh):
    r = invite(kamailio, "nobody")
    assert (r.code, r.reason) == (404, "Not Found")


def test_emptied_list_is_no_route(kamailio, fresh):
    fresh.cli("RPUSH", "route:ivy", "192.0.2.1")
    fresh.cli("LPOP", "route:ivy")  # Redis deletes the emptied list
    assert invite(kamailio, "ivy").code == 404


@pytest.mark.parametrize("make", [
    ("HSET", "route:jack", "a", "192.0.2.1"),
    ("SADD", "route:jack", "192.0.2.1"),
    ("XADD", "route:jack", "*", "a", "192.0.2.1"),
])
def test_other_redis_types_are_bad_data(kamailio, fresh, make):
    fresh.cli(*make)
    r = invite(kamailio, "jack")
    assert (r.code, r.reason) == (500, "Bad Route Data")


def test_empty_string_is_bad_data(kamailio, fresh):
    fresh.cli("SET", "route:kate", "")
    assert invite(kamailio, "kate").code == 500


# ---- max_targets and validation --------------------------------------------

def test_max_targets_limits_contacts(kamailio, fresh):
    fresh.cli("RPUSH", "route:many", *["192.0.2.%d" % i for i in range(1, 13)])
    uris = invite(kamailio, "many").contact_uris()
    assert uris == ["sip:many@192.0.2.%d" % i for i in range(1, 9)]  # default 8


def test_max_targets_counts_valid_targets_only(kamailio, fresh):
    bad = ["bad host", "sip:x@y\r\nX-Evil: 1", "<sip:a@b>"]
    fresh.cli("RPUSH", "route:mixed", *(bad + ["192.0.2.%d" % i for i in range(1, 11)]))
    uris = invite(kamailio, "mixed").contact_uris()
    assert uris == ["sip:mixed@192.0.2.%d" % i for i in range(1, 9)]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_crlf_injection_never_reaches_the_wire(kamailio, fresh, transport):
    fresh.cli("RPUSH", "route:eve", "sip:eve@192.0.2.1\r\nX-Evil: injected",
              "192.0.2.1\nX-Evil: injected", "192.0.2.2")
    r = invite(kamailio, "eve", transport=transport)
    assert r.code == 302
    assert r.contact_uris() == ["sip:eve@192.0.2.2"]
    assert "X-Evil" not in r.raw and "injected" not in r.raw


def test_only_injected_targets_is_bad_data(kamailio, fresh):
    fresh.cli("SET", "route:mal", "sip:mal@192.0.2.1\r\nX-Evil: 1")
    r = invite(kamailio, "mal")
    assert r.code == 500
    assert "X-Evil" not in r.raw


@pytest.mark.parametrize("target", [
    "sip:a b@192.0.2.1",            # space
    "sip:a@192.0.2.1\t",            # control character
    "sip:a@192.0.2.1>;evil",        # would close the Contact's <>
    "sip:\"a\"@192.0.2.1",          # quote
    "sip:caf\u00e9@192.0.2.1",      # non-ASCII
    "sip:a%zz@192.0.2.1",           # bad escape
    "sip:",                         # nothing after the scheme
    "tel:+4930123",                 # not sip/sips, not a host
    "2001:db8::1",                  # IPv6 without brackets
    "192.0.2.1:99999",              # port out of range
    "user@192.0.2.1",               # neither a URI nor a bare host
    "sip:@@@",                      # unparsable by Kamailio's URI parser
])
def test_invalid_targets_are_rejected(kamailio, fresh, target):
    fresh.cli("RPUSH", "route:val", target, "192.0.2.200")
    r = invite(kamailio, "val")
    assert r.code == 302
    assert r.contact_uris() == ["sip:val@192.0.2.200"]


def test_nul_byte_in_target_is_rejected(kamailio, fresh):
    fresh.cli_value(b"sip:nul@192.0.2.1\x00X-Evil: 1", "RPUSH", "route:nul")
    fresh.cli("RPUSH", "route:nul", "192.0.2.200")
    assert fresh.cli("LLEN", "route:nul") == "2"
    r = invite(kamailio, "nul")
    assert r.code == 302
    assert r.contact_uris() == ["sip:nul@192.0.2.200"]


def test_oversize_target_rejected_and_limit_target_accepted(kamailio, fresh):
    # Kamailio's URI limit is 1024 bytes: a 1023-byte URI is fine
    fits = "sip:" + "u" * (1023 - len("sip:@192.0.2.1")) + "@192.0.2.1"
    assert len(fits) == 1023
    too_long = "sip:" + "x" * 2000 + "@192.0.2.1"
    huge = "sip:" + "y" * 100000 + "@192.0.2.1"   # cut short by the script
    fresh.cli("RPUSH", "route:big", too_long, huge, fits)
    r = invite(kamailio, "big", transport="tcp")
    assert r.code == 302
    assert r.contact_uris() == [fits]


def test_uri_of_exactly_1024_bytes_is_rejected_not_the_redirect(kamailio, fresh):
    # Kamailio keeps URIs of at most 1023 bytes; one of 1024 in second place
    # must cost only itself, not the whole 302
    first = "sip:first@192.0.2.1"
    limit = "sip:" + "w" * (1024 - len("sip:@192.0.2.2")) + "@192.0.2.2"
    assert len(limit) == 1024
    fresh.cli("RPUSH", "route:edge", first, limit, "192.0.2.3")
    r = invite(kamailio, "edge", transport="tcp")
    assert r.code == 302
    assert r.contact_uris() == [first, "sip:edge@192.0.2.3"]


def test_oversize_string_value_is_bad_data(kamailio, fresh):
    fresh.cli("SET", "route:huge", "sip:" + "z" * 50000 + "@192.0.2.1")
    assert invite(kamailio, "huge").code == 500


def test_key_longer_than_256_bytes_never_matches(kamailio, fresh):
    user = "u" * 257
    fresh.cli("SET", "route:" + user, "192.0.2.1")
    assert invite(kamailio, user).code == 404
    ok = "v" * 256
    fresh.cli("SET", "route:" + ok, "192.0.2.1")
    assert invite(kamailio, ok).code == 302


def test_change_with_redis_cli_seen_by_next_request(kamailio, fresh):
    fresh.cli("SET", "route:zoe", "192.0.2.1")
    assert invite(kamailio, "zoe").contact_uris() == ["sip:zoe@192.0.2.1"]
    fresh.cli("SET", "route:zoe", "192.0.2.2")
    assert invite(kamailio, "zoe").contact_uris() == ["sip:zoe@192.0.2.2"]
    fresh.cli("DEL", "route:zoe")
    assert invite(kamailio, "zoe").code == 404
    fresh.cli("RPUSH", "route:zoe", "192.0.2.3", "192.0.2.4")
    assert invite(kamailio, "zoe").contact_uris() == [
        "sip:zoe@192.0.2.3", "sip:zoe@192.0.2.4"]


# ---- what the shipped etc/kamailio.cfg does with each request ---------------

def test_message_and_subscribe_are_redirected_too(kamailio, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    for method in ("MESSAGE", "SUBSCRIBE", "OPTIONS"):
        r = sip.request(kamailio.port, method, "alice",
                        headers=["Event: presence"] if method == "SUBSCRIBE" else None)
        assert r is not None and r.code == 302, method
        assert r.contact_uris() == ["sip:alice@192.0.2.10"]


def test_ack_is_never_answered(kamailio, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    r = sip.request(kamailio.port, "ACK", "alice", timeout=1.0, expect_reply=False)
    assert r is None


def test_cancel_options_register_and_in_dialog(kamailio, fresh):
    assert sip.request(kamailio.port, "CANCEL", "alice").code == 200
    assert sip.request(kamailio.port, "OPTIONS", None).code == 200
    r = sip.request(kamailio.port, "REGISTER", "alice")
    assert r.code == 405 and r.header("allow")
    assert sip.request(kamailio.port, "BYE", "alice", to_tag="x1").code == 481


def test_request_uri_without_user_is_no_route(kamailio, fresh):
    fresh.cli("SET", "route:", "192.0.2.1")  # the bare prefix never matches
    assert sip.request(kamailio.port, "INVITE", None).code == 404


def test_malformed_requests_do_not_hurt(kamailio, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    junk = [
        b"INVITE sip:alice@127.0.0.1 SIP/2.0\r\n\r\n",                 # no headers
        b"\x00\xff\xfe garbage \r\n\r\n",
        b"INVITE sip:alice@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
        b"Content-Length: 99999\r\n\r\n",
        b"INVITE sip:" + b"a" * 5000 + b"@127.0.0.1 SIP/2.0\r\n\r\n",
    ]
    for data in junk:
        sip.send_raw_udp(kamailio.port, data, timeout=0.3)
    assert invite(kamailio, "alice").contact_uris() == ["sip:alice@192.0.2.10"]


# ---- every form of sip_redirect() (tests/e2e/cfg/functions.cfg) ------------

def test_redirect_with_key_and_code_parameters(kamailio_fn, fresh):
    fresh.cli("SET", "route:sales", "pbx.example.com:5062")
    r = sip.request(kamailio_fn.port, user="100", headers=["X-Key: sales", "X-Code: 301"])
    assert (r.code, r.reason) == (301, "Moved Permanently")
    assert r.contact_uris() == ["sip:100@pbx.example.com:5062"]
    r = sip.request(kamailio_fn.port, user="100", headers=["X-Key: sales"])
    assert r.code == 302


def test_literal_code_parameter(kamailio_fn, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    r = sip.request(kamailio_fn.port, "INFO", "alice")
    assert (r.code, r.reason) == (301, "Moved Permanently")


@pytest.mark.parametrize("code", ["200", "400", "3xx", "1302", ""])
def test_runtime_code_outside_3xx_is_not_applicable(kamailio_fn, fresh, code):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    r = sip.request(kamailio_fn.port, user="alice", headers=["X-Code: " + code])
    assert r.code == 480 and r.header("x-rc") == ["-4"]
    assert r.contacts() == []


def test_return_codes_reach_the_script(kamailio_fn, fresh):
    fresh.cli("HSET", "route:h", "a", "b")
    assert sip.request(kamailio_fn.port, user="nobody").header("x-rc") == ["-1"]
    assert sip.request(kamailio_fn.port, user="h").header("x-rc") == ["-3"]


def test_ack_gets_minus_4(kamailio_fn, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    r = sip.request(kamailio_fn.port, "ACK", "alice", timeout=1.0, expect_reply=False)
    assert r is None
    import conftest
    assert conftest.wait_until(lambda: "RC=-4 method=ACK" in kamailio_fn.log(), 3)


def test_earlier_ruri_rewrite_and_branches_do_not_leak(kamailio_fn, fresh):
    fresh.cli("RPUSH", "route:target", "192.0.2.1", "192.0.2.2")
    r = sip.request(kamailio_fn.port, user="someone",
                    headers=["X-Rewrite: sip:stale@192.0.2.99", "X-Key: target"])
    assert r.code == 302
    # bare hosts take the current R-URI user; nothing else is a Contact
    assert r.contact_uris() == ["sip:stale@192.0.2.1", "sip:stale@192.0.2.2"]
    assert "stale-branch" not in r.raw


def test_reply_through_a_transaction(kamailio_fn, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    r = sip.request(kamailio_fn.port, user="alice", headers=["X-Stateful: 1"])
    assert r.code == 302 and r.contact_uris() == ["sip:alice@192.0.2.10"]


def test_targets_beyond_the_cores_branch_limit_are_left_out(workdir):
    # the core's destination set holds max_branches (12) - 1 branches
    from conftest import redis_and_kamailio
    with redis_and_kamailio(workdir, "branches", MAX_TARGETS="20") as (r, k):
        r.cli("RPUSH", "route:wide", *["192.0.2.%d" % i for i in range(1, 16)])
        resp = invite(k, "wide")
        assert resp.code == 302
        assert resp.contact_uris() == ["sip:wide@192.0.2.%d" % i for i in range(1, 12)]
        assert "max_branches" in k.log()
