#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/*).

Run it from anywhere: python3 tests/fuzz/gen_corpus.py. It rewrites the
files it knows and leaves others alone. The corpus is committed; the
fuzzers only ever read it (make fuzz works on a copy under build/fuzz/).
"""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))

# fuzz_target input: flags, out_size selector, user, NUL, raw
SIPS, LAST_NUL, NEG_SIZE, NULL_USER = 1, 2, 4, 8
BIG = 228      # out_size 1028 (clamped to RDR_URI_MAX by the function)
HUGE = 255     # out_size 4096


def target(user, raw, flags=0, sel=BIG):
    if isinstance(user, str):
        user = user.encode()
    if isinstance(raw, str):
        raw = raw.encode()
    return bytes([flags, sel]) + user + b"\0" + raw


TARGETS = {
    # accepted
    "bare-host": target("alice", "example.com"),
    "bare-host-port": target("alice", "proxy.example.com:5060"),
    "bare-ipv4-port": target("alice", "192.0.2.10:5080"),
    "bare-ipv6": target("alice", "[2001:db8::1]"),
    "bare-ipv6-port": target("alice", "[2001:db8::1]:5061"),
    "bare-ipv6-v4": target("bob", "[::ffff:192.0.2.1]:5060"),
    "bare-fqdn-dot": target("alice", "example.com."),
    "bare-no-user": target("", "h"),
    "bare-null-user": target("alice", "h:1", NULL_USER),
    "bare-sips": target("alice", "example.com:5061", SIPS),
    "bare-user-escape": target("a%41b", "h"),
    "full-sip": target("alice", "sip:bob@example.com"),
    "full-sips-params": target("alice", "sips:bob@example.com:5061;transport=tls"),
    "full-upper": target("alice", "SIP:bob@h"),
    "full-mixed-sips": target("", "sIpS:bob@h", SIPS),
    "full-headers": target("alice", "sip:bob@192.0.2.10:5060;transport=tcp?subject=x&priority=urgent"),
    "full-escapes": target("alice", "sip:a%41%2b%2F@h"),
    "full-ipv6": target("alice", "sip:[2001:db8::1]:5060"),
    "port-max": target("alice", "h:65535"),
    "small-out-fits": target("", "sip:h", 0, 6),
    "small-out-bare": target("u", "h", 0, 8),
    "exact-out-size": target("", "sip:abcdef", 0, 11),
    "out-size-4096": target("alice", "sip:" + "a" * 1000, 0, HUGE),
    # refused
    "empty": target("alice", ""),
    "scheme-only": target("alice", "sip:"),
    "scheme-only-sips": target("alice", "SIPS:"),
    "crlf-header-injection": target("alice", "sip:bob@h\r\nX-Evil: 1"),
    "crlf-in-user": target("alice\r\nVia: x", "h"),
    "lf-only": target("alice", "h\n"),
    "cr-only": target("alice", "sip:h\r"),
    "space": target("alice", "sip:bob@h ;x"),
    "angle-brackets": target("alice", "sip:bob@h>;tag=1<"),
    "quote": target("alice", "sip:\"bob\"@h"),
    "backslash": target("alice", "sip:bob\\@h"),
    "del-char": target("alice", "sip:bob\x7f@h"),
    "tab": target("alice", "sip:bob@h\t"),
    "nul-in-raw": target("alice", b"sip:bob\0@evil", LAST_NUL),
    "nul-in-user": target(b"ali\0ce", "h", LAST_NUL),
    "utf8": target("alice", "sip:b\xc3\xa9b@h".encode("latin-1")),
    "high-byte-user": target(b"\xff\xfe", "h"),
    "bad-escape": target("alice", "sip:a%4@h"),
    "bad-escape-end": target("alice", "sip:a%"),
    "bad-escape-hex": target("alice", "sip:a%zz@h"),
    "user-bad-escape": target("a%", "h"),
    "port-zero": target("alice", "h:0"),
    "port-too-big": target("alice", "h:65536"),
    "port-long": target("alice", "h:000005060"),
    "port-empty": target("alice", "h:"),
    "port-sign": target("alice", "h:+5060"),
    "two-colons": target("alice", "h:5060:1"),
    "bare-ipv6-unbracketed": target("alice", "2001:db8::1"),
    "ipv6-no-close": target("alice", "[2001:db8::1"),
    "ipv6-garbage": target("alice", "[::1]x"),
    "ipv6-bad-char": target("alice", "[::g]"),
    "ipv6-one-colon": target("alice", "[1:2]"),
    "ipv6-empty": target("alice", "[]"),
    "host-leading-dash": target("alice", "-h.example"),
    "host-trailing-dash": target("alice", "h-.example"),
    "host-double-dot": target("alice", "a..b"),
    "host-leading-dot": target("alice", ".h"),
    "host-label-64": target("alice", "a" * 64 + ".com"),
    "host-254": target("alice", ("a" * 62 + ".") * 4 + "ab"),
    "bare-user-at": target("alice", "bob@h"),
    "raw-too-long": target("alice", "sip:" + "a" * 1020),
    "built-too-long": target("u" * 600, "h" * 250 + "." + "h" * 170),
    "small-out": target("alice", "sip:bob@h", 0, 5),
    "zero-out": target("alice", "sip:h", 0, 0),
    "negative-out": target("alice", "sip:h", NEG_SIZE, 100),
    # q-values (the raw part is also a score)
    "q-one": target("", "1"),
    "q-half": target("", "0.5"),
    "q-round": target("", "0.1235"),
    "q-exp": target("", "1e-3"),
    "q-hex": target("", "0x1p-1"),
    "q-nan": target("", "nan"),
    "q-inf": target("", "inf"),
    "q-neg-zero": target("", "-0"),
    "q-over": target("", "1.0000001"),
    "q-long": target("", "0." + "0" * 70 + "1"),
}

URLS = {
    "tcp-ipv4": "redis://127.0.0.1",
    "tcp-port-db": "redis://h:6380/3",
    "tcp-password": "redis://:secret@h",
    "tcp-user-password": "redis://user:pa%40ss@h:1/2",
    "tcp-ipv6-port-db": "redis://[::1]:7000/1",
    "tcp-ipv6": "redis://[2001:db8::1]/5",
    "tcp-ipv6-v4": "redis://[::ffff:192.0.2.1]:1",
    "tcp-slash": "redis://h/",
    "tcp-max": "redis://redis.example.com:65535/65535",
    "tcp-underscore": "redis://my_host-1.local",
    "tcp-escaped-creds": "redis://u%3Ax:p%3a%2Fw@h",
    "tcp-colon-in-password": "redis://:p:w@h",
    "tcp-two-at": "redis://a:b@c@h",
    "tcp-password-like-host": "redis://:host@host:6379",
    "tcp-password-digits": "redis://:6380@h:6380/6380",
    "unix": "unix:/run/redis.sock",
    "unix-slashes": "unix:///run/redis.sock",
    "unix-options": "unix:/tmp/r.sock?db=2&password=x&user=u",
    "unix-escaped": "unix:/tmp/r.sock?user=a%20b&password=p%26q",
    "unix-db-max": "unix:/tmp/r.sock?db=65535",
    "unix-path-107": "unix:/" + "p" * 106,
    # refused
    "empty": "",
    "no-scheme": "127.0.0.1:6379",
    "rediss": "rediss://h",
    "http": "http://h",
    "tcp-empty-host": "redis://",
    "tcp-only-creds": "redis://:pw@",
    "tcp-empty-password": "redis://user:@h",
    "tcp-no-colon-creds": "redis://user@h",
    "tcp-bad-escape": "redis://:p%4@h",
    "tcp-escape-nul": "redis://:p%00w@h",
    "tcp-port-zero": "redis://h:0",
    "tcp-port-big": "redis://h:65536",
    "tcp-port-huge": "redis://h:9999999999",
    "tcp-port-empty": "redis://h:",
    "tcp-db-big": "redis://h/65536",
    "tcp-db-neg": "redis://h/-1",
    "tcp-db-garbage": "redis://h/1x",
    "tcp-crlf": "redis://h\r\nAUTH x",
    "tcp-space": "redis://h :6379",
    "tcp-nul": "redis://h\0evil",
    "tcp-ipv6-unbracketed": "redis://::1:6379",
    "tcp-ipv6-no-close": "redis://[::1:6379",
    "tcp-ipv6-garbage": "redis://[::1]x",
    "tcp-ipv6-bad-char": "redis://[::g]",
    "tcp-ipv6-empty": "redis://[]",
    "tcp-ipv6-no-colon": "redis://[abcd]",
    "tcp-host-256": "redis://" + "h" * 256,
    "tcp-host-255": "redis://" + "h" * 255 + ":1/1",
    "tcp-ipv6-long": "redis://[" + ":" * 256 + "]",
    "tcp-password-256": "redis://:" + "p" * 256 + "@h",
    "tcp-password-255": "redis://:" + "p" * 255 + "@h",
    "tcp-user-256-escaped": "redis://" + "%41" * 256 + ":pw@h",
    "unix-relative": "unix:run/redis.sock",
    "unix-root-only": "unix:/",
    "unix-path-108": "unix:/" + "p" * 107,
    "unix-bad-option": "unix:/r.sock?foo=1",
    "unix-option-no-eq": "unix:/r.sock?db",
    "unix-empty-options": "unix:/r.sock?",
    "unix-trailing-amp": "unix:/r.sock?db=1&",
    "unix-db-big": "unix:/r.sock?db=65536",
    "unix-crlf": "unix:/r.sock\r\n?db=1",
    # sentinel lists (rdr_hostports_parse gets every input too)
    "sentinels": "s1:26379, s2 ,[::1]:26380",
    "sentinels-nine": ",".join("s%d" % i for i in range(9)),
    "sentinels-empty": " , ,\t",
    "sentinels-trailing-comma": "a:1,",
}


# fuzz_slot input: host buffer size - 1, then a cluster error reply or a key
SLOTS = {
    "moved": b"\x40MOVED 3999 127.0.0.1:6381",
    "ask-v6": b"\x40ASK 12 ::1:7001",
    "moved-empty-host": b"\x07MOVED 1 :7002",
    "hashtag": b"\x40{user1000}.following",
    "key": b"\x40route:+4930",
    "clusterdown": b"\x40CLUSTERDOWN The cluster is down",
}


# fuzz_gw input: flags, out_size selector, presence mask, separator, then
# uri SEP strip SEP prefix SEP weight SEP attrs SEP drain SEP user SEP
# selection bytes (3 per item: prio in the top 3 bits, weight high, low)
GW_SIPS, GW_NULL_USER, GW_NEG_SIZE = 1, 2, 16
GW_ORDER, GW_WEIGHT, GW_HASH, GW_WEIGHT_NO_RND = 0, 4, 8, 12


def gw(uri, strip=None, prefix=None, weight=None, attrs=None, drain=None,
       user="0201234567", sel=b"", flags=0, out=BIG, sep=b"|"):
    fields = [uri, strip, prefix, weight, attrs, drain]
    mask = 0
    parts = []
    for i, v in enumerate(fields):
        if v is not None:
            mask |= 1 << i
        v = b"" if v is None else v
        parts.append(v.encode("latin-1") if isinstance(v, str) else v)
    if user is None:
        flags |= GW_NULL_USER
        user = ""
    parts.append(user.encode("latin-1") if isinstance(user, str) else user)
    parts.append(sel)
    return bytes([flags, out, mask, sep[0]]) + sep.join(parts)


def items(*its):
    """(prio 0-7, weight) pairs -> selection bytes"""
    return b"".join(bytes([p << 5, (w >> 8) & 0xff, w & 0xff])
                    for p, w in its)


W3 = items((7, 50), (7, 30), (7, 20))
TIERS = items((7, 1), (7, 1000), (3, 500), (3, 500), (3, 1), (0, 7))

GWS = {
    # valid gateways
    "bare-example": gw("198.51.100.10:5060", "1", "0044", sel=W3,
                       flags=GW_HASH),
    "bare-defaults": gw("gw.example.com", sel=W3, flags=GW_WEIGHT),
    "bare-all": gw("gw.example.com", "2", "+49", "700", "region=eu", "0",
                   sel=TIERS, flags=GW_HASH),
    "bare-sips": gw("h:5061", "0", "", "1", "", "1", flags=GW_SIPS),
    "bare-ipv6": gw("[2001:db8::1]:5060", "3", "00", "1000", sel=TIERS,
                    flags=GW_WEIGHT_NO_RND),
    "bare-strip-all": gw("h", "64", "0044", user="0201"),
    "bare-strip-all-no-prefix": gw("h", "10", user="0201"),
    "bare-no-user": gw("h", None, "0044", user=None),
    "bare-prefix-32": gw("h", None, "9" * 32),
    "bare-prefix-escapes": gw("h", None, "%2B-_.!~*'()&=+$,;?/"),
    "full-uri": gw("sip:gw@198.51.100.10;transport=tcp", weight="5",
                   attrs="a=b", sel=TIERS, flags=GW_ORDER),
    "full-sips": gw("SIPS:gw@h:5061", drain="1", flags=GW_SIPS),
    "attrs-255": gw("h", attrs="x" * 255),
    "attrs-utf8": gw("h", attrs="r\xc3\xa9gion"),
    "sep-nul": gw("h", "1", "00", sep=b"\0", sel=W3, flags=GW_HASH),
    "small-out": gw("h", "1", "0044", out=20),
    "negative-out": gw("h", flags=GW_NEG_SIZE, out=100),
    "long-user": gw("h", "1", "0044", user="1" * 1100, out=255),
    "spread": gw("h", sel=bytes([250, 250, 125, 125, 125, 0, 255, 255])),
    "many-items": gw("h", sel=items(*[(i % 3, i * 17) for i in range(66)]),
                     flags=GW_HASH),
    # refused
    "missing": gw(None, "1", "0044"),
    "uri-empty": gw(""),
    "uri-scheme-only": gw("sip:"),
    "uri-crlf": gw("h\r\nX: y"),
    "uri-port-zero": gw("h:0"),
    "uri-underscore": gw("gw_1.example.com"),
    "full-strip": gw("sip:gw@h", "1"),
    "full-strip-zero": gw("sip:gw@h", "0"),
    "full-prefix": gw("sip:gw@h", None, "0044"),
    "strip-65": gw("h", "65"),
    "strip-plus": gw("h", "+5"),
    "strip-empty": gw("h", ""),
    "prefix-33": gw("h", None, "9" * 33),
    "prefix-space": gw("h", None, "00 44"),
    "prefix-bad-escape": gw("h", None, "%4"),
    "prefix-at": gw("h", None, "a@b"),
    "weight-zero": gw("h", weight="0"),
    "weight-1001": gw("h", weight="1001"),
    "weight-space": gw("h", weight=" 5"),
    "attrs-256": gw("h", attrs="x" * 256),
    "attrs-control": gw("h", attrs="a\x01b"),
    "attrs-del": gw("h", attrs="a\x7fb"),
    "drain-2": gw("h", drain="2"),
    "drain-01": gw("h", drain="01"),
    # hostile users
    "user-crlf": gw("h", user="1\r\nVia: x"),
    "user-space": gw("h", user="a b"),
    "user-angle": gw("h", "1", user="0<sip:x>"),
    "user-stripped-crlf": gw("h", "2", user="\r\n123"),
    "user-bad-escape": gw("h", user="a%4"),
    "user-high-bytes": gw("h", user=b"\xff\xfe"),
    # the uri part as a NAME
    "name-64": gw("a" * 64),
    "name-65": gw("a" * 65),
    "name-chars": gw("Az09._-"),
}


def name_ok(n):
    return re.fullmatch(r"[a-z0-9][a-z0-9-]*", n) is not None


def write(sub, cases):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    for name, data in cases.items():
        assert name_ok(name), name
        if isinstance(data, str):
            data = data.encode("latin-1")
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


write("target", TARGETS)
write("url", URLS)
write("slot", SLOTS)
write("gw", GWS)
