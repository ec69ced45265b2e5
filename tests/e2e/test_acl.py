"""Least privilege: the ACL user doc/tls-and-acl.md documents (its `redis-cli
ACL SETUSER` line, read from that page and applied as it is) can do nothing but
read the routing keys and run what the module sends, and with it every
script function and the lookup RPC work; a right that is missing is said
once, naming the command Redis refused, and the lookup answers -2. Health:
a node with that user follows the health but never probes (said once); the
documented prober user (its own line) may write the lease and the health
keys only, and with it the node probes."""

import os
import re
import shlex
import subprocess
import time

import pytest

from harness import sip, sipua
from conftest import CFG_DIR, REDIRECT_CFG, REDIS_CLI, ROOT, Kamailio, Redis, wait_until

ACL_USER = "kamailio"
ACL_PASSWORD = "acl-Pw-1"
ADMIN_PASSWORD = "admin-pw"
PROXY_CFG = os.path.join(os.path.dirname(REDIRECT_CFG), "kamailio-proxy.cfg")
FUNCTIONS_CFG = os.path.join(CFG_DIR, "functions.cfg")
# where the ACL user is documented (the README links to it)
ACL_DOC = os.path.join(ROOT, "doc", "tls-and-acl.md")


def documented_acl():
    """The documented ACL SETUSER arguments, with our password for CHANGE-ME."""
    with open(ACL_DOC) as f:
        lines = [l for l in f if l.startswith("redis-cli ACL SETUSER %s " % ACL_USER)]
    assert len(lines) == 1, lines
    args = shlex.split(lines[0])[3:]
    assert args[0] == ACL_USER and ">CHANGE-ME" in args, args
    return [">" + ACL_PASSWORD if a == ">CHANGE-ME" else a for a in args]


def as_user(r, *args, user=ACL_USER, password=ACL_PASSWORD):
    """redis-cli as the routing user: its output (errors included)."""
    out = subprocess.run([REDIS_CLI, "-p", str(r.port), "--user", user, "--pass", password,
                          "--no-auth-warning"] + [str(a) for a in args],
                         capture_output=True, text=True, timeout=10)
    return (out.stdout + out.stderr).strip()


@pytest.fixture
def acl_redis(private_dir):
    r = Redis(os.path.join(private_dir, "redis"), args=["--requirepass", ADMIN_PASSWORD]).start()
    try:
        assert r.cli("ACL", "SETUSER", *documented_acl()) == "OK"
        yield r
    finally:
        r.stop()


def url(r, db=0):
    return '"redis://%s:%s@127.0.0.1:%d/%d"' % (ACL_USER, ACL_PASSWORD, r.port, db)


def test_the_documented_user_reads_routes_and_nothing_else(acl_redis):
    r = acl_redis
    r.cli("SET", "route:alice", "x")
    r.cli("SET", "secret", "y")
    assert as_user(r, "TYPE", "route:alice") == "string"
    for cmd in (["SET", "route:alice", "z"], ["DEL", "route:alice"], ["TYPE", "secret"],
                ["GET", "route:alice"], ["EVAL", "return 1", "0"],
                ["CONFIG", "GET", "maxmemory"], ["SCRIPT", "FLUSH"], ["FLUSHALL"],
                ["KEYS", "*"]):
        assert "NOPERM" in as_user(r, *cmd), cmd
    assert r.cli("GET", "route:alice") == "x"


def test_every_function_works_with_the_documented_user(acl_redis, private_dir, uas_pool):
    r = acl_redis
    for db in (0, 3):   # a db other than 0 needs SELECT
        r.cli("SET", "route:alice", "192.0.2.10:5060", db=db)
        r.cli("RPUSH", "route:bob", "sip:b1@192.0.2.1", "sip:b2@192.0.2.2", db=db)
        r.cli("ZADD", "route:carol", "0.5", "sip:c1@192.0.2.3", "1", "sip:c2@192.0.2.4", db=db)
        r.cli("SET", "route:+4930", "sip:berlin@192.0.2.30", db=db)
    redirect = Kamailio(os.path.join(private_dir, "redirect"),
                        defines={"REDIS_SERVER": url(r, 3)}).start()
    funcs = Kamailio(os.path.join(private_dir, "functions"), cfg=FUNCTIONS_CFG,
                     defines={"REDIS_SERVER": url(r), "PREFIX_MATCH": "1"}).start()
    proxy = Kamailio(os.path.join(private_dir, "proxy"), cfg=PROXY_CFG,
                     defines={"REDIS_SERVER": url(r), "FR_TIMER": "1000"}).start()
    try:
        # sip_redirect(): each type, through SELECT 3
        get = lambda u: sip.request(redirect.port, user=u).contact_uris()
        assert get("alice") == ["sip:alice@192.0.2.10:5060"]
        assert get("bob") == ["sip:b1@192.0.2.1", "sip:b2@192.0.2.2"]
        assert get("carol") == ["sip:c2@192.0.2.4", "sip:c1@192.0.2.3"]
        assert sip.request(redirect.port, user="nobody").code == 404
        # sip_redirect(key) in prefix mode, sip_lookup() and $redisroute(...)
        resp = sip.request(funcs.port, user="+493012345")
        assert resp.code == 302 and resp.contact_uris() == ["sip:berlin@192.0.2.30"]
        resp = sip.request(funcs.port, "MESSAGE", "x", headers=["X-Lookup: +4930999"])
        assert resp.header("x-rc") == ["1"] and resp.header("x-matched") == ["+4930"]
        # the lookup RPC
        rc, out = funcs.kamcmd("redisroute.lookup", "s:+4930777")
        assert "sip:berlin@192.0.2.30" in out, out
        # sip_forward() and sip_forward_next(): a 503 fails over to the next
        bad, good = uas_pool("reject", 503), uas_pool("answer")
        r.cli("RPUSH", "route:dave", "127.0.0.1:%d" % bad.port, "127.0.0.1:%d" % good.port)
        uac = sipua.UAC(proxy.port)
        try:
            ok = uac.invite("dave")
            assert ok is not None and ok.code == 200
        finally:
            uac.close()
        assert len(bad.requests("INVITE")) == 1 and len(good.requests("INVITE")) == 1
        for k in (redirect, funcs, proxy):
            st = k.status()
            assert st["state"] == "up" and "NOPERM" not in st["last_error"], st
            assert "NOPERM" not in k.log()
    finally:
        for k in (redirect, funcs, proxy):
            k.stop()


def test_route_types_string_needs_no_script_rights(acl_redis, private_dir):
    # the documented smaller user for route_types "string": no EVAL, no SCRIPT
    r = acl_redis
    with open(ACL_DOC) as f:
        line = [l for l in f if l.startswith("redis-cli ACL SETUSER routes-only ")]
    assert len(line) == 1, "doc/tls-and-acl.md has no routes-only ACL line"
    args = shlex.split(line[0])[3:]
    args = [">" + ACL_PASSWORD if a == ">CHANGE-ME" else a for a in args]
    assert r.cli("ACL", "SETUSER", *args) == "OK"
    assert "NOPERM" in as_user(r, "EVAL", "return 1", "0", user="routes-only")
    assert "NOPERM" in as_user(r, "SCRIPT", "LOAD", "return 1", user="routes-only")
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = Kamailio(os.path.join(private_dir, "k"), defines={
        "REDIS_SERVER": '"redis://routes-only:%s@127.0.0.1:%d/0"' % (ACL_PASSWORD, r.port),
        "ROUTE_TYPES": '"string"'}).start()
    try:
        assert sip.request(k.port, user="alice").contact_uris() == ["sip:alice@192.0.2.10:5060"]
        assert sip.request(k.port, user="nobody").code == 404
        assert "NOPERM" not in k.log()
    finally:
        k.stop()


def test_a_missing_right_is_said_once_naming_the_command(acl_redis, private_dir):
    r = acl_redis
    r.cli("ACL", "SETUSER", ACL_USER, "-evalsha_ro", "-eval_ro")
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = Kamailio(os.path.join(private_dir, "kamailio"),
                 defines={"REDIS_SERVER": url(r)}).start()
    try:
        codes = [sip.request(k.port, user="alice").code for _ in range(6)]
        assert codes == [503] * 6, codes   # -2: Redis unavailable
        said = [l for l in k.log().splitlines() if "NOPERM" in l]
        assert len(said) == 1, said
        assert re.search(r"redis refused the lookup of 'route:alice': NOPERM .*'evalsha_ro'",
                         said[0]), said
        assert "NOPERM" in k.status()["last_error"]
        # the right given back: routing resumes
        r.cli("ACL", "SETUSER", ACL_USER, "+evalsha_ro", "+eval_ro")
        assert sip.request(k.port, user="alice").code == 302
    finally:
        k.stop()


def documented_cache_rights():
    """The rights doc/tls-and-acl.md adds for the cache, as ACL SETUSER
    arguments."""
    with open(ACL_DOC) as f:
        text = f.read()
    m = re.search(r"The cache \(`cache_size`\) needs these more:\s*(`[^`]+`)\s*\(and `([^`]+)`", text)
    assert m, "doc/tls-and-acl.md: the cache's rights"
    return shlex.split(m.group(1).strip("`")) + [m.group(2)]


def test_cache_with_the_documented_rights(acl_redis, private_dir):
    r = acl_redis
    r.cli("ACL", "SETUSER", ACL_USER, *documented_cache_rights())
    r.cli("SET", "route:alice", "192.0.2.1")
    k = Kamailio(os.path.join(private_dir, "kamailio"),
                 defines={"REDIS_SERVER": url(r), "CACHE_SIZE": "100"}).start()
    try:
        assert wait_until(lambda: k.cache_state() == "active", 10), k.log()[-2000:]
        before = k.stats()
        for _ in range(5):
            assert sip.request(k.port, user="alice").contact_uris() == ["sip:alice@192.0.2.1"]
        assert k.stats()["cache_hits"] - before["cache_hits"] >= 3
        r.cli("SET", "route:alice", "192.0.2.2")
        assert sip.request(k.port, user="alice").contact_uris() == ["sip:alice@192.0.2.2"]
        assert "NOPERM" not in k.log()
        assert "CONFIG" not in as_user(r, "ACL", "WHOAMI")   # sanity: as_user works
    finally:
        k.stop()


# ---- health: routing never writes; probing needs the prober's line ------------

GW_CFG = os.path.join(CFG_DIR, "gateways.cfg")
PROBER_USER = "kamailio-prober"


def documented_prober_acl():
    """The documented prober's ACL SETUSER arguments (doc/tls-and-acl.md)."""
    with open(ACL_DOC) as f:
        lines = [l for l in f if l.startswith("redis-cli ACL SETUSER %s " % PROBER_USER)]
    assert len(lines) == 1, "doc/tls-and-acl.md has no (or more than one) prober line"
    args = shlex.split(lines[0])[3:]
    return [">" + ACL_PASSWORD if a == ">CHANGE-ME" else a for a in args]


def health_node(r, private_dir, user):
    """gateways.cfg with probe_interval 1 as `user`; one route naming a
    gateway whose host never answers."""
    r.cli("HSET", "gw:g1", "uri", "192.0.2.77:5060")
    r.cli("SET", "route:alice", "@g1")
    return Kamailio(os.path.join(private_dir, user), cfg=GW_CFG, defines={
        "REDIS_SERVER": '"redis://%s:%s@127.0.0.1:%d/0"' % (user, ACL_PASSWORD, r.port),
        "PROBE_INTERVAL": "1", "PROBE_FAILURES": "2"}).start()


def test_a_routing_user_follows_health_but_never_probes(acl_redis, private_dir):
    r = acl_redis
    # the gateways' tracking rights, as the doc says a table with gateways needs
    r.cli("ACL", "SETUSER", ACL_USER, *documented_cache_rights())
    k = health_node(r, private_dir, ACL_USER)
    try:
        assert wait_until(lambda: "probing needs write access" in k.log(), 10), k.log()[-2000:]
        st = k.status()
        assert st["probing"] == "0" and st["probe_rights"] == "0", st
        assert sip.request(k.port, user="alice").contact_uris() == \
            ["sip:alice@192.0.2.77:5060"]
        time.sleep(2)
        said = [l for l in k.log().splitlines() if "probing needs write access" in l]
        assert len(said) == 1, said
        assert k.stats()["gateway_probes"] == 0
        assert r.cli("EXISTS", "gw::prober") == "0" and r.cli("EXISTS", "gw:g1:health") == "0"
    finally:
        k.stop()


def test_the_documented_prober_probes(acl_redis, private_dir):
    r = acl_redis
    assert r.cli("ACL", "SETUSER", *documented_prober_acl()) == "OK"
    # it may write the lease and the health keys, and nothing else
    for cmd in (["SET", "route:alice", "x"], ["HSET", "gw:g1", "drain", "1"],
                ["SET", "gw:other", "x"], ["CONFIG", "GET", "maxmemory"]):
        assert "NOPERM" in as_user(r, *cmd, user=PROBER_USER), cmd
    k = health_node(r, private_dir, PROBER_USER)
    try:
        assert wait_until(lambda: k.status().get("probing") == "1", 10), k.log()[-2000:]
        st = k.status()
        assert st["probe_rights"] == "1" and r.cli("GET", "gw::prober") == st["prober"], st
        # 192.0.2.77 never answers: two rounds take it down, on this node too
        assert wait_until(lambda: r.cli("HGET", "gw:g1:health", "state") == "down", 10)
        assert wait_until(lambda: "gateway 'gw:g1' is down" in k.log(), 5)
        assert sip.request(k.port, user="alice").code == 404   # all_down no_route: -1
        assert k.stats()["gateway_probes"] >= 2
        log = k.log()
        assert "NOPERM" not in log and "can't run" not in log and "cannot write" not in log
    finally:
        k.stop()


def test_cache_preload_with_the_documented_rights(acl_redis, private_dir):
    r = acl_redis
    with open(ACL_DOC) as f:
        m = re.search(r"`cache_preload` needs `([^`]+)`", f.read())
    assert m, "doc/tls-and-acl.md: cache_preload's rights"
    r.cli("ACL", "SETUSER", ACL_USER, *documented_cache_rights(), m.group(1))
    for i in range(50):
        r.cli("SET", "route:p%d" % i, "192.0.2.%d" % (i + 1))
    k = Kamailio(os.path.join(private_dir, "kamailio"),
                 defines={"REDIS_SERVER": url(r), "CACHE_SIZE": "100",
                          "CACHE_PRELOAD": "1"}).start()
    try:
        assert wait_until(lambda: k.status().get("cache_preload") == "complete", 10), \
            k.log()[-2000:]
        assert sip.request(k.port, user="p7").contact_uris() == ["sip:p7@192.0.2.8"]
        assert "NOPERM" not in k.log()
    finally:
        k.stop()
