"""redisroute in operation: what an operator sees when Redis goes away, comes
back, hangs or asks for a password; the Redis URL forms; kamcmd RPCs,
statistics and logs; start-up checks; and a sipp caller.

Tests that change Redis' state or kamailio's parameters run their own
redis-server and kamailio (under private_dir), stopped in the fixture's
teardown whatever happens. Every loop is bounded in count and time."""

import os
import re
import subprocess
import threading
import time

import pytest

from harness import callers, sip
from conftest import CFG_DIR, REDIRECT_CFG, Kamailio, Redis, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
SIPP_UAC = os.path.join(HERE, "sipp", "redirect_uac.xml")

DOWN_LINE = re.compile(r"ERROR: .*redis \S+ is down \(")
UP_LINE = re.compile(r"NOTICE: .*redis \S+ is reachable again after \d+ ms")


# ---- helpers ----------------------------------------------------------------

def redis_url(r, db=0, auth=""):
    return '"redis://%s127.0.0.1:%d/%d"' % (auth, r.port, db)


def invite(k, user="alice", **kw):
    r = sip.request(k.port, user=user, **kw)
    assert r is not None, "no answer from kamailio for %s" % user
    return r


def timed_invite(k, user="alice", **kw):
    t0 = time.monotonic()
    r = sip.request(k.port, user=user, **kw)
    return r, time.monotonic() - t0


def status(k):
    """kamcmd redisroute.status as a dict {field: value}."""
    return k.status()


def count_lines(k, pattern):
    return len([l for l in k.log().splitlines() if pattern.search(l)])


def wait_for_code(k, code, user="alice", timeout=5.0, interval=0.1):
    """Sends INVITEs until one is answered `code` (bounded by timeout);
    returns that answer, or the last one seen."""
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(int(timeout / interval) + 20):
        last = sip.request(k.port, user=user, timeout=1.0)
        if last is not None and last.code == code:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return last


class Stack:
    """Own redis-servers and kamailios for one test, all stopped at the end."""

    def __init__(self, d):
        self.d = d
        self.procs = []

    def redis(self, name="redis", **kw):
        r = Redis(os.path.join(self.d, name), **kw)
        self.procs.append(r)
        return r.start()

    def kamailio(self, name="kamailio", redis=None, server=None, defines=None,
                 workers=2, cfg=REDIRECT_CFG, expect_ready=True):
        defs = {}
        if redis is not None or server is not None:
            defs["REDIS_SERVER"] = server or redis_url(redis)
        defs.update(defines or {})
        k = Kamailio(os.path.join(self.d, name), cfg=cfg, defines=defs,
                     workers=workers)
        self.procs.append(k)
        return k.start(expect_ready=expect_ready)

    def close(self):
        for p in reversed(self.procs):
            try:
                if isinstance(p, Redis) and p.proc is not None:
                    p.resume()  # a SIGSTOPped redis-server cannot terminate
                p.stop()
            except Exception:
                pass


@pytest.fixture
def stack(private_dir):
    s = Stack(private_dir)
    try:
        yield s
    finally:
        s.close()


# ---- Redis down, back, slow, restarted ----------------------------------------

def test_redis_stopped_answers_503_at_once(stack):
    r = stack.redis()
    k = stack.kamailio(redis=r, defines={"COMMAND_TIMEOUT": "250"})
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    ok = invite(k)
    assert ok.code == 302 and ok.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    assert status(k)["state"] == "up"

    r.stop()
    for i in range(10):
        resp, took = timed_invite(k)
        assert resp is not None, "request %d unanswered while redis is down" % i
        assert (resp.code, resp.reason) == (503, "Routing Unavailable"), resp.raw
        assert resp.header("retry-after"), resp.raw
        assert resp.contacts() == []
        assert took < 0.25 + 0.5, "request %d took %.3f s" % (i, took)

    st = status(k)
    assert st["state"] == "down", st
    assert st["last_error"] and st["last_error"] != "none", st
    assert st["outages"] == "1", st
    rc, out = k.kamcmd("redisroute.lookup", "alice")
    assert "503" in out and "Redis unavailable" in out, (rc, out)
    assert count_lines(k, DOWN_LINE) == 1, k.log()[-3000:]
    assert count_lines(k, UP_LINE) == 0


def test_redis_restarted_routing_recovers_with_new_route(stack):
    r = stack.redis()
    k = stack.kamailio(redis=r, defines={"RETRY_INTERVAL": "300"})
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    assert invite(k).code == 302

    r.stop()
    assert invite(k).code == 503
    assert status(k)["state"] == "down"

    # a new redis-server on the same port, where the operator changed the route
    r2 = stack.redis(name="redis", port=r.port)
    r2.cli("SET", "route:alice", "192.0.2.77:5070")
    t0 = time.monotonic()
    resp = wait_for_code(k, 302, timeout=5.0)
    assert resp is not None and resp.code == 302, \
        "no 302 within 5 s after redis came back: %r\n%s" % (resp, k.log()[-2000:])
    assert time.monotonic() - t0 < 5.5
    assert resp.contact_uris() == ["sip:alice@192.0.2.77:5070"]

    # every worker is back (within the bounded retry interval), all on the new route
    time.sleep(0.4)
    for _ in range(8):
        again = invite(k)
        assert again.code == 302 and again.contact_uris() == ["sip:alice@192.0.2.77:5070"]
    st = status(k)
    assert st["state"] == "up", st
    assert st["outages"] == "1", st
    rc, out = k.kamcmd("redisroute.lookup", "alice")
    assert out.splitlines() == ["sip:alice@192.0.2.77:5070"], (rc, out)
    assert count_lines(k, DOWN_LINE) == 1, k.log()[-3000:]
    assert count_lines(k, UP_LINE) == 1, k.log()[-3000:]


def test_redis_hanging_answers_503_within_command_timeout(stack):
    r = stack.redis()
    k = stack.kamailio(redis=r, defines={"COMMAND_TIMEOUT": "250",
                                         "RETRY_INTERVAL": "300"})
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    r.cli("SET", "route:bob", "192.0.2.20:5060")
    for _ in range(4):   # connections open in the workers
        assert invite(k, "alice").code == 302

    r.pause()
    try:
        resp, took = timed_invite(k, "alice")
        assert resp is not None, "no answer while redis hangs"
        assert resp.code == 503, resp.raw
        assert took < 1.0, "took %.3f s with command_timeout 250 ms" % took

        answers = [None] * 6

        def one(i):
            answers[i] = sip.request(k.port, user=("alice", "bob")[i % 2],
                                     timeout=2.0)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        took = time.monotonic() - t0
        assert all(a is not None for a in answers), answers
        assert [a.code for a in answers] == [503] * 6
        assert took < 2.0, "6 concurrent requests took %.3f s" % took
        assert status(k)["state"] == "down"
    finally:
        r.resume()

    resp = wait_for_code(k, 302, timeout=5.0)
    assert resp is not None and resp.code == 302, \
        "routing did not recover after redis resumed: %r" % resp
    # replies queued while redis hung must never be taken for later lookups
    time.sleep(0.4)
    for i in range(8):
        user, target = (("alice", "192.0.2.10:5060"), ("bob", "192.0.2.20:5060"))[i % 2]
        got = invite(k, user)
        assert got.code == 302, got.raw
        assert got.contact_uris() == ["sip:%s@%s" % (user, target)]


def test_redis_hanging_under_traffic(stack):
    """Redis hangs (SIGSTOP) for 1.5 s under calls from 4 callers: every call
    is answered (503 while it hangs, 302 again afterwards); a worker waits
    at most one command_timeout per retry_interval, and answers at once in
    between."""
    r = stack.redis()
    k = stack.kamailio(redis=r, defines={"COMMAND_TIMEOUT": "250",
                                         "RETRY_INTERVAL": "300"})
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    assert invite(k, "alice").code == 302
    traffic = callers.Callers(k, ["alice"]).start()
    try:
        time.sleep(0.5)
        r.pause()
        time.sleep(1.5)
    finally:
        r.resume()
    time.sleep(1.0)
    results = traffic.stop()
    unanswered, longest = callers.summarize("redis hanging", results)
    assert unanswered == 0
    codes = [code for _, code, _ in results]
    assert set(codes) == {302, 503}, set(codes)
    assert codes[-1] == 302  # recovered
    # the 503s while it hung came without a wait but for one command
    # timeout per worker and retry interval: most at once
    slow = [took for _, code, took in results if code == 503 and took > 0.2]
    fast = [took for _, code, took in results if code == 503 and took <= 0.2]
    assert len(fast) > len(slow), (len(fast), len(slow))


def test_redis_restart_is_invisible_to_callers(stack):
    r = stack.redis()
    k = stack.kamailio(redis=r)
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    for _ in range(8):   # every worker holds a connection to the old server
        assert invite(k).code == 302
        assert invite(k, transport="tcp").code == 302

    r.stop()
    r2 = stack.redis(name="redis", port=r.port)
    r2.cli("SET", "route:alice", "192.0.2.10:5060")
    codes = []
    for i in range(10):
        resp = invite(k, transport=("udp", "tcp")[i % 2])
        codes.append(resp.code)
        if resp.code == 302:
            assert resp.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    assert codes == [302] * 10, (codes, k.log()[-3000:])


# ---- Redis URL forms --------------------------------------------------------

def test_password_in_url(stack):
    r = stack.redis(args=["--requirepass", "s3cret"])
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    good = stack.kamailio(name="k-good", redis=r,
                          server=redis_url(r, auth=":s3cret@"))
    resp = invite(good)
    assert resp.code == 302 and resp.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    assert status(good)["state"] == "up"

    bad = stack.kamailio(name="k-bad", redis=r,
                         server=redis_url(r, auth=":wrong@"))
    resp = invite(bad)
    assert resp.code == 503, resp.raw
    st = status(bad)
    assert st["state"] == "down", st
    assert "pass" in st["last_error"].lower(), st
    # the password is never shown to the operator
    assert "wrong" not in st["server"] and "s3cret" not in status(good)["server"]


def test_acl_user_in_url(stack):
    r = stack.redis()
    assert r.cli("ACL", "SETUSER", "router", "on", ">pw1", "~route:*", "+@all") == "OK"
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = stack.kamailio(redis=r, server='"redis://router:pw1@127.0.0.1:%d"' % r.port)
    resp = invite(k)
    assert resp.code == 302 and resp.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    # the lookup really ran as that user
    assert "user=router" in r.cli("CLIENT", "LIST")


def test_db_index_in_url(stack):
    r = stack.redis()
    r.cli("SET", "route:alice", "192.0.2.33:5060", db=3)
    r.cli("SET", "route:bob", "192.0.2.44:5060", db=0)
    assert r.cli("EXISTS", "route:alice", db=0) == "0"
    k = stack.kamailio(redis=r, server=redis_url(r, db=3))
    resp = invite(k, "alice")
    assert resp.code == 302 and resp.contact_uris() == ["sip:alice@192.0.2.33:5060"]
    assert invite(k, "bob").code == 404   # only in db 0


def test_unix_socket_url(stack):
    r = stack.redis()
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    k = stack.kamailio(redis=r, server='"unix:%s"' % r.unixsocket)
    resp = invite(k)
    assert resp.code == 302 and resp.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    # the module's connection is the unix-socket one (redis-cli uses TCP)
    clients = r.cli("CLIENT", "LIST").splitlines()
    assert any(re.search(r"\bflags=\S*U", c) for c in clients), clients


def test_key_prefix(stack):
    r = stack.redis()
    r.cli("SET", "rt:alice", "192.0.2.50:5060")
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    r.cli("SET", "route:bob", "192.0.2.20:5060")
    k = stack.kamailio(redis=r, defines={"KEY_PREFIX": '"rt:"'})
    resp = invite(k, "alice")
    assert resp.code == 302 and resp.contact_uris() == ["sip:alice@192.0.2.50:5060"]
    assert invite(k, "bob").code == 404
    rc, out = k.kamcmd("redisroute.lookup", "alice")
    assert out.splitlines() == ["sip:alice@192.0.2.50:5060"]


# ---- RPC, statistics, logs ----------------------------------------------------

def test_rpc_lookup_and_status(kamailio, fresh):
    fresh.cli("RPUSH", "route:bob", "sip:bob@pbx1.example.com",
              "sip:bob@pbx2.example.com", "192.0.2.7:5060")
    rc, out = kamailio.kamcmd("redisroute.lookup", "bob")
    assert rc == 0, out
    assert out.splitlines() == ["sip:bob@pbx1.example.com",
                                "sip:bob@pbx2.example.com",
                                "sip:bob@192.0.2.7:5060"]

    rc, out = kamailio.kamcmd("redisroute.lookup", "nobody")
    # Debian's kamcmd prints an RPC fault as "error: <code> - <text>" and
    # still exits 0, so the fault is read from the output, not the exit code
    assert "404" in out and "No route" in out, (rc, out)
    assert not re.search(r"(?m)^sips?:", out)

    fresh.cli("HSET", "route:hashy", "f", "192.0.2.1")
    rc, out = kamailio.kamcmd("redisroute.lookup", "hashy")
    assert "500" in out and "Bad route data" in out, (rc, out)

    st = status(kamailio)
    assert st["state"] == "up", st
    assert st["server"] == "127.0.0.1:%d" % fresh.port, st
    assert st["last_error"] == "none", st
    rc, out = kamailio.kamcmd("redisroute.status")
    assert re.search(r"(?m)^\s*state: up$", out), out


def test_statistics(kamailio, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10:5060")
    fresh.cli("HSET", "route:hashy", "f", "192.0.2.1")
    before = kamailio.stats()
    assert invite(kamailio, "alice").code == 302
    assert invite(kamailio, "nobody").code == 404
    assert invite(kamailio, "hashy").code == 500
    after = kamailio.stats()
    delta = {n: after[n] - before[n] for n in before}
    assert delta["lookups"] == 3, delta
    assert delta["hits"] == 1, delta
    assert delta["misses"] == 1, delta
    assert delta["bad_data"] == 1, delta
    assert delta["redirects"] == 1, delta
    assert delta["errors"] == 0, delta
    assert delta["forwards"] == 0 and delta["failovers"] == 0, delta


def test_rejected_target_logged_once_escaped(stack):
    r = stack.redis()
    k = stack.kamailio(redis=r, workers=1)
    r.cli_value(b"sip:a@b\r\nX-Evil: 1", "RPUSH", "route:x")
    r.cli("RPUSH", "route:x", "sip:good@192.0.2.10")
    assert r.cli("LLEN", "route:x") == "2"
    for _ in range(3):
        resp = invite(k, "x")
        assert resp.code == 302, resp.raw
        assert resp.contact_uris() == ["sip:good@192.0.2.10"]
        assert "X-Evil" not in resp.raw
    time.sleep(0.2)
    log = k.log()
    lines = [l for l in log.splitlines() if "bad route data in key 'route:x'" in l]
    assert len(lines) == 1, lines
    assert "WARNING" in lines[0] and "rejected" in lines[0], lines[0]
    assert r"\x0d\x0a" in lines[0], lines[0]
    assert "\r" not in log
    assert not re.search(r"(?m)^X-Evil", log)


def test_script_flush_does_not_break_routing(stack):
    r = stack.redis()
    k = stack.kamailio(redis=r)
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    for _ in range(4):
        assert invite(k).code == 302
    assert r.cli("SCRIPT", "FLUSH") == "OK"
    for i in range(6):   # the first one after the flush, and the ones after
        resp = invite(k, transport=("udp", "tcp")[i % 2])
        assert resp.code == 302, (i, resp.raw)
        assert resp.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    assert status(k)["state"] == "up"


# ---- start-up checks --------------------------------------------------------

def _wait_exit(k, timeout=10):
    try:
        return k.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def test_literal_non_3xx_code_refused_at_startup(stack, private_dir):
    with open(os.path.join(CFG_DIR, "functions.cfg")) as f:
        cfg = f.read()
    assert 'sip_redirect("$rU", "301");' in cfg
    cfg = cfg.replace('sip_redirect("$rU", "301");', 'sip_redirect("$rU", "200");')
    path = os.path.join(private_dir, "bad_code.cfg")
    with open(path, "w") as f:
        f.write(cfg)
    k = stack.kamailio(cfg=path, server='"redis://127.0.0.1:%d/0"' % free_port(),
                       expect_ready=False)
    rc = _wait_exit(k)
    assert rc is not None, "kamailio started with sip_redirect(\"$rU\", \"200\")"
    assert rc != 0
    log = k.log()
    assert "not a 3xx code" in log, log[-3000:]
    assert re.search(r"ERROR: .*'200' is not a 3xx code", log), log[-3000:]


def test_bad_server_modparam_refused_at_startup(stack):
    k = stack.kamailio(server='"http://x"', expect_ready=False)
    rc = _wait_exit(k)
    assert rc is not None, "kamailio started with server http://x"
    assert rc != 0
    lines = [l for l in k.log().splitlines()
             if "ERROR" in l and "http://x" in l and "server" in l]
    assert lines, k.log()[-3000:]


# ---- a real SIP tool --------------------------------------------------------

def test_sipp_callers_get_302(kamailio, fresh, private_dir):
    fresh.cli("SET", "route:alice", "192.0.2.10:5060")
    before = kamailio.stats()
    cmd = ["sipp", "-sf", SIPP_UAC, "-m", "20", "-r", "100", "-l", "20",
           "-timeout", "20s", "-timeout_error", "-nostdin",
           "-i", "127.0.0.1", "-p", str(free_port()), "-s", "alice",
           "-trace_err", "-error_file", os.path.join(private_dir, "sipp_err.log"),
           "127.0.0.1:%d" % kamailio.port]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       cwd=private_dir)
    assert p.returncode == 0, (p.stdout[-3000:], p.stderr[-2000:])
    after = kamailio.stats()
    assert after["redirects"] - before["redirects"] == 20
    assert after["hits"] - before["hits"] == 20


def _connections_received(redis):
    for line in redis.cli("INFO", "stats").splitlines():
        if line.startswith("total_connections_received:"):
            return int(line.split(":")[1])
    raise AssertionError("no total_connections_received in INFO stats")


def test_rpc_reconnect_makes_workers_reconnect(kamailio, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    for _ in range(4):
        assert sip.request(kamailio.port, user="alice").code == 302
    before = _connections_received(fresh)
    rc, out = kamailio.kamcmd("redisroute.reconnect")
    assert out == "ok"
    for _ in range(6):
        assert sip.request(kamailio.port, user="alice").code == 302
    assert _connections_received(fresh) > before
    assert "state: up" in kamailio.kamcmd("redisroute.status")[1]


def test_latency_buckets_count_every_lookup(kamailio, fresh):
    fresh.cli("SET", "route:alice", "192.0.2.10")
    buckets = ["latency_lt_1ms", "latency_lt_5ms", "latency_lt_25ms",
               "latency_lt_100ms", "latency_ge_100ms"]
    before = kamailio.stats()
    for user in ("alice", "nobody", "alice"):
        assert sip.request(kamailio.port, user=user) is not None
    after = kamailio.stats()
    assert after["lookups"] - before["lookups"] == 3
    assert sum(after[b] - before[b] for b in buckets) == 3
