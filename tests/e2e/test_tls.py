"""TLS (rediss://) end to end, against real redis-server / valkey-server TLS
ports, with certificates made by openssl for the run (harness.tls): a
redirect over TLS with a password and with an ACL user, certificate checks
(wrong CA, wrong name, tls_verify 0), client certificates
(tls-auth-clients yes), a Redis restart under traffic, a sentinel failover
with TLS on the sentinels and the nodes, a TLS cluster (tls-cluster yes)
resharded under traffic onto a node first met through MOVED, and Kamailio's
own tls.so loaded beside the module (OpenSSL in shared memory), several
workers under traffic, each with a TLS context of its own.

Where hiredis has no hiredis_ssl (Debian 12's 0.14), the module is built
without TLS: only the refusal of rediss:// is tested there, and the TLS
tests are reported as skipped, not passed."""

import collections
import os
import re
import socket
import ssl
import subprocess
import threading
import time

import pytest

from harness import callers, sip
from harness.rcluster import RedisCluster, keyslot
from harness.servers import SentinelGroup
from harness.tls import Certs
from conftest import (CFG_DIR, DEBIAN_MODULE_DIR, MODULE_DIR, REDIRECT_CFG, Kamailio,
                      Redis, free_port, wait_until)
from test_acl import ACL_USER, ACL_PASSWORD, documented_acl
from test_cluster import Traffic, assert_all_right, set_routes, users_on_each_master

HAVE_TLS = subprocess.run(["pkg-config", "--exists", "hiredis_ssl", "openssl"]).returncode == 0
needs_tls = pytest.mark.skipif(
    not HAVE_TLS, reason="hiredis without hiredis_ssl (Debian 12): rediss:// is refused, "
                         "see test_rediss_is_refused_without_hiredis_ssl")
CONTACT = "sip:alice@192.0.2.10:5060"


@pytest.fixture(scope="module")
def certs(workdir):
    return Certs(os.path.join(workdir, "tls-certs"))


class Stack:
    """Own servers for one test, all stopped at the end."""

    def __init__(self, d, certs):
        self.d, self.certs, self.procs = d, certs, []

    def redis(self, name="redis", **kw):
        kw.setdefault("tls", self.certs)
        r = Redis(os.path.join(self.d, name), **kw)
        self.procs.append(r)
        return r.start()

    def kamailio(self, server, name="kamailio", ca=None, expect_ready=True, cfg=None,
                 **defines):
        d = {"REDIS_SERVER": '"%s"' % server, "RETRY_INTERVAL": "200"}
        if ca is not False:
            d["TLS_CA_FILE"] = '"%s"' % (ca or self.certs.ca)
        d.update(defines)
        k = Kamailio(os.path.join(self.d, name), defines=d,
                     **({"cfg": cfg} if cfg else {}))
        self.procs.append(k)
        return k.start(expect_ready=expect_ready)

    def close(self):
        for p in reversed(self.procs):
            p.stop()


@pytest.fixture
def stack(private_dir, certs):
    s = Stack(private_dir, certs)
    try:
        yield s
    finally:
        s.close()


def invite(k, user="alice", **kw):
    r = sip.request(k.port, user=user, **kw)
    assert r is not None, "no answer from kamailio"
    return r


def tls_url(r, auth=""):
    return "rediss://%s127.0.0.1:%d" % (auth, r.tls_port)


# ---- the build ---------------------------------------------------------------

def test_module_has_tls_exactly_where_hiredis_has_hiredis_ssl():
    """The build turns TLS on by itself where pkg-config finds hiredis_ssl."""
    out = subprocess.run(["nm", "-D", os.path.join(MODULE_DIR, "redisroute.so")],
                         capture_output=True, text=True, check=True).stdout
    assert ("redisInitiateSSL" in out) == HAVE_TLS


@pytest.mark.skipif(HAVE_TLS, reason="this hiredis has hiredis_ssl: TLS is built in")
def test_rediss_is_refused_without_hiredis_ssl(stack):
    k = stack.kamailio("rediss://127.0.0.1:6390", ca=False, expect_ready=False)
    assert wait_until(lambda: k.proc.poll() is not None, 15), "kamailio started"
    assert k.proc.returncode != 0
    lines = [l for l in k.log().splitlines() if "hiredis_ssl" in l]
    assert len(lines) == 1, k.log()[-2000:]
    assert "TLS needs hiredis 1.0 or later with hiredis_ssl" in lines[0]


# ---- a redirect over TLS -----------------------------------------------------

@needs_tls
def test_302_over_tls_with_a_password(stack):
    r = stack.redis(args=["--requirepass", "tls-s3cret"])
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = stack.kamailio(tls_url(r, ":tls-s3cret@"))
    for transport in ("udp", "tcp"):
        resp = invite(k, transport=transport)
        assert resp.code == 302 and resp.contact_uris() == [CONTACT], resp.raw
    st = k.status()
    assert st["state"] == "up" and st["tls"] == "on, verified 127.0.0.1", st
    assert "tls-s3cret" not in str(st)


@needs_tls
def test_async_lookups_pipelined_over_tls(stack):
    from test_async import ASYNC_CFG, Call
    r = stack.redis(args=["--requirepass", "tls-s3cret"])
    for i in range(30):
        r.cli("SET", "route:u%d" % i, "192.0.2.%d" % (i + 1))
    k = stack.kamailio(tls_url(r, ":tls-s3cret@"), cfg=ASYNC_CFG)
    calls = [Call(k.port, "u%d" % i) for i in range(30)]
    try:
        for c in calls:   # all at once: several lookups in flight on the connection
            c.send()
        for i, c in enumerate(calls):
            finals = [x for x in c.answers(3, until_final=1) if x.code >= 200]
            assert [x.contact_uris() for x in finals] == [["sip:u%d@192.0.2.%d" % (i, i + 1)]]
    finally:
        for c in calls:
            c.close()
    assert "ERROR" not in k.log()


@needs_tls
def test_302_over_tls_with_the_documented_acl_user(stack):
    r = stack.redis(args=["--requirepass", "admin-pw"])
    r.cli("ACL", "SETUSER", *documented_acl())
    r.cli("RPUSH", "route:alice", "sip:a1@192.0.2.1", "sip:a2@192.0.2.2")
    k = stack.kamailio(tls_url(r, "%s:%s@" % (ACL_USER, ACL_PASSWORD)))
    resp = invite(k)
    assert resp.code == 302, resp.raw
    assert resp.contact_uris() == ["sip:a1@192.0.2.1", "sip:a2@192.0.2.2"]


@needs_tls
def test_server_name_is_verified_and_sent(stack):
    """tls_server_name: the certificate must name it (localhost is in its
    SAN, redis.example.com is not)."""
    r = stack.redis()
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    good = stack.kamailio(tls_url(r), name="k-good", TLS_SERVER_NAME='"localhost"')
    assert invite(good).code == 302
    assert good.status()["tls"] == "on, verified localhost"
    bad = stack.kamailio(tls_url(r), name="k-bad", TLS_SERVER_NAME='"redis.example.com"')
    assert invite(bad).code == 503
    st = bad.status()
    assert st["state"] == "down"
    assert "certificate verify failed (hostname mismatch)" in st["last_error"], st


@needs_tls
def test_wrong_ca_fails_cleanly_and_says_why(stack, certs):
    r = stack.redis()
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = stack.kamailio(tls_url(r), ca=certs.wrong_ca, name="k-wrong-ca")
    t0 = time.monotonic()
    resp = invite(k)
    assert resp.code == 503, resp.raw   # -2: Redis unavailable
    assert time.monotonic() - t0 < 1.5
    why = "TLS: certificate verify failed ("
    st = k.status()
    assert st["state"] == "down" and why in st["last_error"], st
    assert st["tls"].startswith("on, handshake failed: certificate verify failed ("), st
    assert why in k.log()
    # the route is on the server all along: only the check refused it
    assert r.cli("GET", "route:alice") == "192.0.2.10:5060"


@needs_tls
def test_tls_verify_0_routes_with_one_warning(stack, certs):
    r = stack.redis()
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = stack.kamailio(tls_url(r), ca=certs.wrong_ca, TLS_NO_VERIFY=None)
    assert invite(k).code == 302
    warnings = [l for l in k.log().splitlines() if "tls_verify 0" in l]
    assert len(warnings) == 1, warnings
    assert k.status()["tls"] == "on, verified not verified (tls_verify 0)"


@needs_tls
def test_tls_and_plain_port_mixups_fail_cleanly(stack):
    r = stack.redis()
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = stack.kamailio("rediss://127.0.0.1:%d" % r.port, name="k1")
    assert invite(k).code == 503
    assert "TLS:" in k.status()["last_error"], k.status()
    k2 = stack.kamailio("redis://127.0.0.1:%d" % r.tls_port, name="k2", ca=False)
    assert invite(k2).code == 503


@needs_tls
def test_client_certificate_when_the_server_asks_for_one(stack, certs):
    """tls-auth-clients yes: without a client certificate the lookup fails
    cleanly (503, the reason in status); with one it routes."""
    r = stack.redis(tls_auth_clients=True)
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    without = stack.kamailio(tls_url(r), name="k-no-cert")
    assert invite(without).code == 503
    st = without.status()
    assert st["state"] == "down" and st["last_error"] != "none", st
    with_cert = stack.kamailio(tls_url(r), name="k-cert",
                               TLS_CERT_FILE='"%s"' % certs.client_cert,
                               TLS_KEY_FILE='"%s"' % certs.client_key)
    resp = invite(with_cert)
    assert resp.code == 302 and resp.contact_uris() == [CONTACT]


@needs_tls
def test_bad_tls_files_stop_start_up_with_their_name(stack, private_dir):
    missing = os.path.join(private_dir, "no-such-ca.crt")
    k = stack.kamailio("rediss://127.0.0.1:1", ca=missing, expect_ready=False)
    assert wait_until(lambda: k.proc.poll() is not None, 15), "kamailio started"
    assert "tls_ca_file '%s'" % missing in k.log()


@needs_tls
def test_redis_restarted_under_traffic_recovers_over_tls(stack):
    r = stack.redis(args=["--requirepass", "pw"])
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = stack.kamailio(tls_url(r, ":pw@"))
    assert invite(k).code == 302
    traffic = callers.Callers(k, ["alice"], callers=3, timeout=2.0).start()
    try:
        time.sleep(0.5)
        r.stop()
        time.sleep(0.3)
        r2 = stack.redis(name="redis2", port=r.port, tls_port=r.tls_port,
                         args=["--requirepass", "pw"])
        r2.cli("SET", "route:alice", "192.0.2.10:5060")
        assert wait_until(lambda: invite(k).code == 302, 10, 0.1), k.log()[-2000:]
        time.sleep(0.5)
    finally:
        results = traffic.stop()
    unanswered, _ = callers.summarize("tls: redis restart", results)
    assert unanswered == 0
    assert {code for _, code, _ in results} <= {302, 503}
    # after the restart every process has handshaken again
    codes = [invite(k, transport=("udp", "tcp")[i % 2]).code for i in range(10)]
    assert codes == [302] * 10, codes


# ---- Sentinel over TLS -----------------------------------------------------------

@needs_tls
def test_sentinel_failover_all_tls(private_dir, certs):
    """TLS on the sentinels (sentinels "rediss://...") and on the data nodes."""
    group = SentinelGroup(os.path.join(private_dir, "s"), tls=certs).start(acquainted=True)
    k = None
    try:
        group.master.cli("SET", "route:alice", "192.0.2.10:5060")
        assert group.master.cli("WAIT", "1", "5000") == "1"
        k = Kamailio(os.path.join(private_dir, "k"), defines=dict(
            group.kamailio_defines(), RETRY_INTERVAL="200")).start()
        assert invite(k).code == 302
        st = k.status()
        assert st["master"] == "127.0.0.1:%d" % group.master.tls_port, st
        assert st["tls"] == "on, verified 127.0.0.1"

        traffic = callers.Callers(k, ["alice"], callers=2, timeout=2.0).start()
        try:
            assert "OK" in group.sentinels[0].cli("SENTINEL", "FAILOVER", group.name)
            moved = lambda: k.status().get("master") == "127.0.0.1:%d" % group.replica.tls_port
            assert wait_until(moved, 20, 0.2), k.log()[-3000:]
            assert wait_until(lambda: invite(k).code == 302, 10, 0.1)
            time.sleep(0.5)
        finally:
            results = traffic.stop()
        unanswered, _ = callers.summarize("tls: sentinel failover", results)
        assert unanswered == 0
        # the new master takes writes, and its answers come over TLS
        group.replica.cli("SET", "route:alice", "192.0.2.99:5060")
        assert invite(k).contact_uris() == ["sip:alice@192.0.2.99:5060"]
    finally:
        if k:
            k.stop()
        group.stop()


# ---- Cluster over TLS ------------------------------------------------------------

CLUSTER_PASSWORD = "tls-cl-pw"


@needs_tls
def test_tls_cluster_reshard_onto_a_node_met_by_moved(private_dir, certs):
    """tls-cluster yes and a password: every master routes, then slots move
    under traffic to a node that joined after the map was read (first met
    through MOVED), every answer right."""
    c = RedisCluster(os.path.join(private_dir, "c"), masters=3,
                     password=CLUSTER_PASSWORD, tls=certs).start()
    k = None
    try:
        k = Kamailio(os.path.join(private_dir, "k"),
                     cfg=REDIRECT_CFG,
                     defines={"REDIS_SERVER": '"rediss://:%s@127.0.0.1:%d?cluster=1"'
                              % (CLUSTER_PASSWORD, c.client_port(c.ports[0])),
                              "TLS_CA_FILE": '"%s"' % certs.ca}).start()
        users = users_on_each_master(c, 2, prefix="tls")
        expected = set_routes(c, users)
        for u, contact in expected.items():
            assert invite(k, u).contact_uris() == [contact]
        tls_nodes = {c.client_port(p) for p in c.master_ports}
        out = k.kamcmd("redisroute.status")[1]
        for port in tls_nodes:   # the map the module read names the TLS ports
            assert "127.0.0.1:%d" % port in out, out

        newcomer = c.add_master()
        traffic = Traffic(k, sorted(expected)).start()
        try:
            time.sleep(0.3)
            for names in users.values():   # one slot of each master moves over
                slot = keyslot("route:" + names[0])
                c.migrate_slot(slot, newcomer)
                time.sleep(0.2)
        finally:
            results = traffic.stop()
        assert_all_right(results, expected)
        for names in users.values():
            assert c.owner(keyslot("route:" + names[0])) == newcomer
            assert invite(k, names[0]).contact_uris() == [expected[names[0]]]
        assert k.stats()["cluster_moved"] > 0
        out = k.kamcmd("redisroute.status")[1]
        assert "127.0.0.1:%d" % c.client_port(newcomer) in out, out
    finally:
        if k:
            k.stop()
        c.stop()


# ---- the cache's subscriptions over TLS --------------------------------------------

@needs_tls
def test_cache_subscriptions_over_tls(stack):
    r = stack.redis()
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = stack.kamailio(tls_url(r), CACHE_SIZE="100")
    assert wait_until(lambda: k.cache_state() == "active", 10, 0.1), k.status()
    before = k.stats()
    for _ in range(3):
        assert invite(k).contact_uris() == [CONTACT]
    assert k.stats()["cache_hits"] > before["cache_hits"]
    # the invalidation arrives over the TLS subscription
    r.cli("SET", "route:alice", "192.0.2.11:5060")
    assert wait_until(lambda: invite(k).contact_uris() == ["sip:alice@192.0.2.11:5060"],
                      5, 0.05)


# ---- beside Kamailio's tls.so ----------------------------------------------------

TLS_MODULE_CFG = os.path.join(CFG_DIR, "tls_module.cfg")
HAVE_TLS_SO = os.path.exists(os.path.join(DEBIAN_MODULE_DIR, "tls.so"))


def sip_tls_invite(port, ca, user, timeout=3.0):
    """One INVITE over SIP-TLS (Kamailio's tls.so) to 127.0.0.1:port; the
    final Response, or None."""
    ctx = ssl.create_default_context(cafile=ca)
    # Python 3.13's strict checks want a keyUsage the harness's CA lacks
    ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(sip.build_request("INVITE", "sip:%s@127.0.0.1:%d" % (user, port),
                                        s.getsockname()[1], "TLS"))
            buf, deadline = b"", time.monotonic() + timeout
            while b"\r\n\r\n" in buf or time.monotonic() < deadline:
                if b"\r\n\r\n" in buf:
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    r = sip.Response((head + b"\r\n\r\n").decode("utf-8", "replace"))
                    if r.code >= 200:
                        return r
                    continue
                chunk = s.recv(65535)
                if not chunk:
                    return None
                buf += chunk
    return None


@needs_tls
@pytest.mark.skipif(not HAVE_TLS_SO, reason="no tls.so (Debian package kamailio-tls-modules)")
def test_own_context_per_process_beside_tls_so(stack, certs):
    """tls.so loaded (SIP over TLS), so OpenSSL allocates in Kamailio's
    shared memory: four workers over UDP and four over TCP route through a
    rediss:// server at once, every call gets its 302 with its Contact, and
    every process that connected made its TLS context itself, once (none is
    inherited from mod_init)."""
    r = stack.redis(args=["--requirepass", "tls-s3cret"])
    users = ["w%d" % i for i in range(20)]
    expected = {u: "sip:%s@192.0.2.%d:5060" % (u, i + 1) for i, u in enumerate(users)}
    for u in users:
        r.cli("SET", "route:" + u, expected[u][len("sip:%s@" % u):])
    tls_cfg = os.path.join(stack.d, "kamailio-tls.cfg")
    with open(tls_cfg, "w") as f:
        f.write("[server:default]\nmethod = TLSv1.2+\ncertificate = %s\n"
                "private_key = %s\nverify_certificate = no\nrequire_certificate = no\n\n"
                "[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\n"
                % (certs.server_cert, certs.server_key))
    sip_tls_port = free_port()
    k = Kamailio(os.path.join(stack.d, "k"), cfg=TLS_MODULE_CFG, workers=4, defines={
        "REDIS_SERVER": '"%s"' % tls_url(r, ":tls-s3cret@"),
        "TLS_CA_FILE": '"%s"' % certs.ca, "SIP_TLS_PORT": str(sip_tls_port),
        "TLS_MODULE_CFG": '"%s"' % tls_cfg})
    stack.procs.append(k)
    k.start()

    results, lock = [], threading.Lock()
    per_caller = 20 if k.slow else 80   # under valgrind: fewer

    def caller(n):
        # bounded: per_caller calls or 60 s
        deadline = time.monotonic() + 60
        for i in range(per_caller):
            if time.monotonic() > deadline:
                return
            u = users[(n * 7 + i) % len(users)]
            resp = sip.request(k.port, user=u, transport=("udp", "tcp")[(n + i) % 2])
            with lock:
                results.append((u, resp.code if resp else None,
                                resp.contact_uris() if resp else None))
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(70)
        assert not t.is_alive()
    assert_all_right(results, expected, at_least=8 * per_caller)
    # SIP over TLS (tls.so) is live in the same processes
    resp = sip_tls_invite(sip_tls_port, certs.ca, "w3")
    assert resp is not None and resp.code == 302, resp
    assert resp.contact_uris() == [expected["w3"]]

    st = k.status()
    assert st["state"] == "up" and st["tls"] == "on, verified 127.0.0.1", st
    made = collections.Counter(int(pid) for pid in re.findall(
        r"TLS context made for process (\d+)", k.log()))
    assert made and max(made.values()) == 1, made   # one per process
    assert k.proc.pid not in made                  # none made by mod_init's process
    workers = [pid for pid, dsc in k.processes().items()
               if re.match(r"(udp|tcp) receiver", dsc)]
    assert len(workers) == 8, k.processes()
    assert set(workers) <= set(made), (workers, made)
    assert "ERROR" not in k.log(), k.log()[-3000:]
