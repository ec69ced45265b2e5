"""sip_lookup_async(): the SIP worker suspends the request, an I/O process
asks Redis, the request goes on in the resume route with the answer
(etc/kamailio-async.cfg, as shipped; tests/e2e/cfg/kemi.lua for KEMI).
Redis is paused with SIGSTOP to hold a lookup pending."""

import os
import select
import signal
import socket
import sys
import time
import uuid

import pytest

from conftest import (CFG_DIR, ROOT, Kamailio, Redis, free_port, redis_and_kamailio,
                      stop_process, wait_until)
from harness.procs import spawn
from harness import callers, sip

ASYNC_CFG = os.path.join(ROOT, "etc", "kamailio-async.cfg")
PROXY_CFG = os.path.join(ROOT, "etc", "kamailio-proxy.cfg")


class Call:
    """One INVITE of ours over UDP, its retransmission and CANCEL, and
    every answer."""

    def __init__(self, port, user):
        self.port = port
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.local = self.s.getsockname()[1]
        self.ruri = "sip:%s@127.0.0.1:%d" % (user, port)
        self.branch, self.call_id = sip.new_branch(), uuid.uuid4().hex
        self.from_tag = uuid.uuid4().hex[:8]

    def send(self, method="INVITE"):
        self.s.sendto(sip.build_request(
            method, self.ruri, self.local, "UDP", call_id=self.call_id,
            from_tag=self.from_tag, branch=self.branch), ("127.0.0.1", self.port))

    def answers(self, seconds, until_final=None):
        """Every answer within `seconds` (or until that many finals)."""
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                got.append(sip.Response(self.s.recv(65535).decode("utf-8", "replace")))
            except socket.timeout:
                break
            if until_final and sum(1 for r in got if r.code >= 200) >= until_final:
                break
        return got

    def close(self):
        self.s.close()


def finals_of(calls, seconds):
    """{call: its final answer}, read from every call's socket at once, so
    that c.answered is when it arrived."""
    finals, deadline = {}, time.monotonic() + seconds
    while len(finals) < len(calls) and time.monotonic() < deadline:
        ready, _, _ = select.select([c.s for c in calls if c not in finals], [], [],
                                    max(0.0, deadline - time.monotonic()))
        now = time.monotonic()
        for c in calls:
            if c.s in ready:
                resp = sip.Response(c.s.recv(65535).decode("utf-8", "replace"))
                if resp.code >= 200:
                    finals[c], c.answered = resp, now
    return finals


def lookups(k):
    """Lookups that went to Redis, as the module counts them: every lookup
    but the cache's hits. (Redis's own counters cannot tell them: a lookup
    is the script, or a key's plain read command once its type is learned,
    and the script's reads count as those same commands.)"""
    s = k.stats()
    return s["lookups"] - s["cache_hits"]


@pytest.fixture
def paused():
    """pause(redis) stops it (SIGSTOP) until the test's end or resume()."""
    stopped = []

    class P:
        def pause(self, r):
            os.kill(r.proc.pid, signal.SIGSTOP)
            stopped.append(r)

        def resume(self):
            while stopped:
                r = stopped.pop()
                if r.proc is not None:   # not stopped by its test already
                    os.kill(r.proc.pid, signal.SIGCONT)
    p = P()
    yield p
    p.resume()


@pytest.fixture(scope="module")
def ak(workdir):
    with redis_and_kamailio(workdir, "async", cfg=ASYNC_CFG, COMMAND_TIMEOUT="1500",
                            RETRY_INTERVAL="200", ASYNC_MAX_PENDING="64") as rk:
        yield rk


def test_redirect_resumes_with_each_type(ak):
    r, k = ak
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    r.cli("RPUSH", "route:bob", "sip:bob@pbx1.example.com", "192.0.2.7")
    r.cli("ZADD", "route:carol", "0.5", "192.0.2.21", "1", "192.0.2.20")
    r.cli("HSET", "route:hash", "a", "b")
    before = lookups(k)
    assert sip.request(k.port, user="alice").contact_uris() == ["sip:alice@192.0.2.10:5060"]
    assert sip.request(k.port, user="bob").contacts() == [
        "<sip:bob@pbx1.example.com>;q=1", "<sip:bob@192.0.2.7>;q=0.5"]
    assert sip.request(k.port, user="carol").contacts() == [
        "<sip:carol@192.0.2.20>;q=1", "<sip:carol@192.0.2.21>;q=0.5"]
    # the resume route maps the return codes
    assert sip.request(k.port, user="nobody").code == 404
    got = sip.request(k.port, user="hash")
    assert (got.code, got.reason) == (500, "Bad Route Data")
    # over TCP too, and one lookup per request: the resume route's
    # sip_redirect() does not look up again
    assert sip.request(k.port, user="alice", transport="tcp").code == 302
    assert lookups(k) - before == 6


def test_invite_retransmission_while_pending_is_absorbed(ak, paused):
    r, k = ak
    r.cli("SET", "route:rex", "192.0.2.11")
    before = lookups(k)
    c = Call(k.port, "rex")
    try:
        paused.pause(r)
        c.send()
        time.sleep(0.2)
        c.send()   # the same INVITE again: the transaction absorbs it
        time.sleep(0.2)
        paused.resume()
        got = c.answers(3, until_final=1)
        finals = [x for x in got if x.code >= 200]
        assert [x.code for x in finals] == [302], got
        assert finals[0].contact_uris() == ["sip:rex@192.0.2.11"]
        # only the 302 again (tm retransmits it until an ACK), no other answer
        assert all(x.code in (100, 302) for x in c.answers(0.6))
    finally:
        c.close()
    assert lookups(k) - before == 1


def test_cancel_while_pending_gives_487_and_drops_the_answer(ak, paused):
    r, k = ak
    r.cli("SET", "route:cara", "192.0.2.12")
    c = Call(k.port, "cara")
    try:
        paused.pause(r)
        c.send()
        time.sleep(0.2)
        c.send("CANCEL")
        got = c.answers(2, until_final=2)
        paused.resume()
        got += c.answers(1)
        codes = sorted((x.code, x.header("cseq")[0].split()[1]) for x in got if x.code >= 200)
        assert (200, "CANCEL") in codes and (487, "INVITE") in codes, got
        assert (302, "INVITE") not in codes, got
    finally:
        c.close()
    # kamailio routes on afterwards
    assert sip.request(k.port, user="cara").code == 302


def test_timeout_resumes_with_503_and_routing_comes_back(workdir, paused):
    with redis_and_kamailio(workdir, "async-to", cfg=ASYNC_CFG, COMMAND_TIMEOUT="200",
                            RETRY_INTERVAL="300") as (r, k):
        r.cli("SET", "route:tim", "192.0.2.13")
        assert sip.request(k.port, user="tim").code == 302
        paused.pause(r)
        t0 = time.monotonic()
        got = sip.request(k.port, user="tim", timeout=3)
        took = time.monotonic() - t0
        assert got is not None and got.code == 503, got
        assert got.header("retry-after") == ["5"]
        assert 0.15 < took < 1.0, took
        # down: answered at once, without waiting for Redis
        t0 = time.monotonic()
        assert sip.request(k.port, user="tim", timeout=3).code == 503
        assert time.monotonic() - t0 < 0.15
        paused.resume()
        assert wait_until(lambda: sip.request(k.port, user="tim").code == 302, 5)
        log = k.log()
        assert log.count("no answer within 200 ms") == 1, log[-3000:]
        assert "is back" in log


def test_redis_down_at_start_answers_503_at_once(workdir):
    k = Kamailio(os.path.join(workdir, "async-down"), cfg=ASYNC_CFG, defines={
        "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % free_port()}).start()
    try:
        t0 = time.monotonic()
        for _ in range(5):
            got = sip.request(k.port, user="any", timeout=3)
            assert got is not None and got.code == 503
        assert time.monotonic() - t0 < 2.0
        assert k.log().count("async lookups answer -2 until it is back") == 1
    finally:
        k.stop()


def test_max_pending_answers_503_past_the_bound(workdir, paused):
    with redis_and_kamailio(workdir, "async-max", cfg=ASYNC_CFG, COMMAND_TIMEOUT="3000",
                            ASYNC_MAX_PENDING="2") as (r, k):
        r.cli("SET", "route:max", "192.0.2.14")
        assert sip.request(k.port, user="max").code == 302
        calls = [Call(k.port, "max") for _ in range(5)]
        try:
            paused.pause(r)
            for c in calls:
                c.send()
                time.sleep(0.05)
            early = [c.answers(0.5, until_final=1) for c in calls]
            finals = [x.code for got in early for x in got if x.code >= 200]
            assert sorted(finals) == [503, 503, 503], early
            st = k.status()
            assert (st["async_workers"], st["async_pending"]) == ("1", "2"), st
            paused.resume()
            late = [x.code for c in calls[:2] for x in c.answers(3, until_final=1)
                    if x.code >= 200]
            assert late == [302, 302], late
        finally:
            for c in calls:
                c.close()
        log = k.log()
        assert log.count("async_max_pending (2) reached") == 1
        assert "WARNING" in log.split("async_max_pending (2) reached")[0].rsplit("\n", 1)[-1]
        assert k.status()["async_refused"] == "3"


def test_the_hand_off_holds_async_max_pending(workdir, paused):
    """The queue to the I/O process holds async_max_pending lookups (a
    socket's worth was about 64): 300 lookups pending on a stalled Redis
    are all answered once it is back, none refused."""
    n = 300
    with redis_and_kamailio(workdir, "async-many", cfg=ASYNC_CFG, COMMAND_TIMEOUT="5000",
                            ASYNC_MAX_PENDING=str(n)) as (r, k):
        r.cli("SET", "route:many", "192.0.2.15")
        assert sip.request(k.port, user="many").code == 302
        calls = [Call(k.port, "many") for _ in range(n)]
        try:
            paused.pause(r)
            for c in calls:
                c.send()
            assert wait_until(lambda: k.status()["async_pending"] == str(n), 5), k.status()
            paused.resume()
            codes = [x.code for c in calls for x in c.answers(5, until_final=1)
                     if x.code >= 200]
            assert codes == [302] * n, sorted(set(codes))
            st = k.status()
            assert (st["async_pending"], st["async_refused"]) == ("0", "0"), st
        finally:
            for c in calls:
                c.close()


def test_options_answered_while_redis_stalls(workdir, paused):
    with redis_and_kamailio(workdir, "async-opt", cfg=ASYNC_CFG, COMMAND_TIMEOUT="1000",
                            WORKERS="2") as (r, k):
        r.cli("SET", "route:opt", "192.0.2.15")
        assert sip.request(k.port, user="opt").code == 302
        calls = [Call(k.port, "opt") for _ in range(8)]
        try:
            paused.pause(r)
            for c in calls:
                c.send()
            # every worker is free: a request without lookup is answered
            worst = 0
            for _ in range(10):
                t0 = time.monotonic()
                got = sip.request(k.port, "OPTIONS", user=None, timeout=1)
                worst = max(worst, time.monotonic() - t0)
                assert got is not None and got.code == 200
            assert worst < 0.1, worst
            paused.resume()
            finals = [x.code for c in calls for x in c.answers(3, until_final=1) if x.code >= 200]
            assert finals == [302] * 8, finals
        finally:
            for c in calls:
                c.close()


def test_redis_restarted_under_async_traffic_leaves_none_unanswered(workdir):
    d = os.path.join(workdir, "async-rs")
    r = Redis(d).start()
    k = load = r2 = None
    try:
        r.cli("SET", "route:alice", "192.0.2.10:5060")
        assert r.cli("SAVE") == "OK"
        k = Kamailio(d + "-k", cfg=ASYNC_CFG, defines={
            "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port,
            "RETRY_INTERVAL": "200"}).start()
        load = callers.Callers(k, ["alice"], callers=4, timeout=2.0).start()
        time.sleep(1.0)
        r.proc.kill()
        r.proc.wait(5)
        r.proc = None
        time.sleep(1.0)
        r2 = Redis(d, port=r.port).start()
        time.sleep(1.5)
        results = load.stop()
        load = None
        unanswered, _ = callers.summarize("async: redis restarted", results)
        assert unanswered == 0
        codes = [code for _, code, _ in results]
        assert set(codes) <= {302, 503}, set(codes)
        assert codes[-1] == 302 and codes.count(302) > 20
    finally:
        if load:
            load.stop()
        if k:
            k.stop()
        for x in (r2, r):
            if x and x.proc:
                x.stop()


def test_proxy_mode_forwards_with_failover(workdir, uas_pool):
    bad, good = uas_pool("reject", 503), uas_pool("answer")
    with redis_and_kamailio(workdir, "async-px", cfg=ASYNC_CFG, PROXY=None) as (r, k):
        r.cli("RPUSH", "route:dave", "127.0.0.1:%d" % bad.port, "127.0.0.1:%d" % good.port)
        from harness import sipua
        uac = sipua.UAC(k.port)
        try:
            ok = uac.invite("dave")
            assert ok is not None and ok.code == 200
        finally:
            uac.close()
        assert len(bad.requests("INVITE")) == 1 and len(good.requests("INVITE")) == 1
        assert sip.request(k.port, user="nobody").code == 404


def test_kemi_resumes_in_the_named_function(workdir):
    with redis_and_kamailio(workdir, "async-kemi", cfg=os.path.join(CFG_DIR, "kemi_lua.cfg"),
                            KEMI_SCRIPT='"%s"' % os.path.join(CFG_DIR, "kemi.lua")) as (r, k):
        r.cli("SET", "route:alice", "192.0.2.10:5060")
        got = sip.request(k.port, user="alice", headers=["X-Mode: async"])
        assert got.code == 302 and got.contact_uris() == ["sip:alice@192.0.2.10:5060"]
        assert got.header("x-rc") == ["1"]
        got = sip.request(k.port, user="x", headers=["X-Mode: async-key", "X-Key: alice"])
        assert got.code == 302 and got.contact_uris() == ["sip:x@192.0.2.10:5060"]
        got = sip.request(k.port, user="nobody", headers=["X-Mode: async"])
        assert got.code == 404 and got.header("x-rc") == ["-1"]


def test_many_lookups_in_flight_each_get_their_own_answer(ak):
    r, k = ak
    for i in range(40):
        r.cli("SET", "route:m%d" % i, "192.0.2.%d" % (i + 1))
    calls = [Call(k.port, "m%d" % i) for i in range(40)]
    try:
        for c in calls:   # all at once: lookups pipelined on one connection
            c.send()
        got = [[x.contact_uris() for x in c.answers(3, until_final=1) if x.code >= 200]
               for c in calls]
        assert got == [[["sip:m%d@192.0.2.%d" % (i, i + 1)]] for i in range(40)]
    finally:
        for c in calls:
            c.close()


def test_shutdown_with_lookups_in_flight(workdir, paused):
    """Kamailio's own shutdown: with lookups in flight it stops at SIGTERM,
    within its own kill timeout, without a route run once shutdown has
    begun and without an error logged."""
    with redis_and_kamailio(workdir, "async-stop", cfg=ASYNC_CFG, COMMAND_TIMEOUT="5000") as (r, k):
        r.cli("SET", "route:sd", "192.0.2.16")
        assert sip.request(k.port, user="sd").code == 302
        calls = [Call(k.port, "sd") for _ in range(3)]
        try:
            paused.pause(r)
            for c in calls:
                c.send()
            time.sleep(0.3)
            proc = k.proc
            proc.terminate()
            proc.wait(10)   # a hang raises here
            assert proc.returncode == 0, proc.returncode
            k.stop()
            finals = [x.code for c in calls for x in c.answers(1, until_final=1)
                      if x.code >= 200]
            assert finals == [], finals
        finally:
            paused.resume()
            for c in calls:
                c.close()
        log = k.log()
        tail = log[log.index("Thank you for flying"):]
        assert " ERROR: " not in tail, tail[:2000]
        assert "async I/O" not in tail, tail[:2000]


def test_sip_lookup_and_prefix_matching_in_the_resume_route(workdir):
    cfg = os.path.join(CFG_DIR, "functions.cfg")
    with redis_and_kamailio(workdir, "async-fn", cfg=cfg, PREFIX_MATCH="1",
                            PREFIX_DEFAULT_KEY='"default"') as (r, k):
        r.cli("RPUSH", "route:+4930", "sip:berlin@192.0.2.30", "192.0.2.31")
        r.cli("SET", "route:default", "sip:any@192.0.2.99")
        before = lookups(k)
        got = sip.request(k.port, "MESSAGE", "x", headers=["X-Async-Lookup: +493012345"])
        assert got.code == 200, got
        assert got.header("x-rc") == ["1"] and got.header("x-async-rc") == ["1"]
        assert got.header("x-count") == ["2"] and got.header("x-matched") == ["+4930"]
        assert got.header("x-uri0") == ["sip:berlin@192.0.2.30"]
        got = sip.request(k.port, "MESSAGE", "x", headers=["X-Async-Lookup: +1555"])
        assert got.header("x-matched") == ["default"], got
        # one script call per request: sip_lookup() in the route did not ask again
        assert lookups(k) - before == 2


def test_kemi_forward_and_lookup_resumed(workdir):
    from harness import sipua
    with redis_and_kamailio(workdir, "async-kemi2", cfg=os.path.join(CFG_DIR, "kemi_lua.cfg"),
                            KEMI_SCRIPT='"%s"' % os.path.join(CFG_DIR, "kemi.lua")) as (r, k):
        bad, good = sipua.UAS("reject", 503), sipua.UAS("answer")
        try:
            r.cli("RPUSH", "route:kim", "127.0.0.1:%d" % bad.port, "127.0.0.1:%d" % good.port)
            got = sip.request(k.port, "MESSAGE", "kim", headers=["X-Mode: async-forward"], timeout=5)
            assert got is not None and got.code == 200
            assert len(bad.requests("MESSAGE")) == 1 and len(good.requests("MESSAGE")) == 1
        finally:
            bad.stop()
            good.stop()
        got = sip.request(k.port, "MESSAGE", "x", headers=["X-Mode: async-lookup", "X-Key: kim"])
        assert got.code == 200 and got.header("x-rc") == ["1"] and got.header("x-count") == ["2"]
        assert got.header("x-uri0") == ["sip:x@127.0.0.1:%d" % bad.port]


def test_cache_answers_in_the_worker_and_is_filled_by_the_io_process(workdir):
    with redis_and_kamailio(workdir, "async-cache", cfg=ASYNC_CFG, CACHE_SIZE="1000") as (r, k):
        assert wait_until(lambda: k.cache_state() == "active", 15)
        r.cli("SET", "route:cc", "192.0.2.17")
        before, hits = lookups(k), k.stats()["cache_hits"]
        # misses are suspended and asked by the I/O process, which stores the
        # answer; hits are answered in the worker, Redis not asked. As in
        # test_cache: at most a miss and a bypass per worker (2) before its
        # own subscription is up
        for _ in range(12):
            assert sip.request(k.port, user="cc").contact_uris() == ["sip:cc@192.0.2.17"]
        assert 1 <= lookups(k) - before <= 4
        assert k.stats()["cache_hits"] - hits >= 8
        # a change invalidates the entry: the next request asks again
        r.cli("SET", "route:cc", "192.0.2.18")
        assert wait_until(lambda: sip.request(k.port, user="cc").contact_uris()
                          == ["sip:cc@192.0.2.18"], 5)
        assert lookups(k) - before >= 2


def delay_proxy(workdir, redis_port, one_way_ms):
    """bench/delay_proxy.py in front of redis: Redis as if on another host."""
    port = free_port()
    log_path = os.path.join(workdir, "delay-proxy-%d.log" % port)
    p = spawn([sys.executable, os.path.join(ROOT, "bench", "delay_proxy.py"),
               "--listen", str(port), "--to", str(redis_port),
               "--delay-ms", str(one_way_ms)], log_path)

    def ready():
        with open(log_path) as f:
            return "ready" in f.read()
    assert wait_until(lambda: p.poll() is not None or ready(), 10) and ready()
    return p, port


def send_round(k, slow_delay_us):
    """24 async lookups, the first 4 with a resume route that sleeps
    slow_delay_us (0: none) and sent at once, the others 3 ms apart (sent
    while the first ones' answers are on their way). Every one must be
    answered with its own target; returns the others' times in ms, sorted."""
    calls = []
    try:
        for i in range(24):
            c = Call(k.port, "x")
            c.key, c.slow = "slow%d" % i, i < 4
            calls.append(c)
        for c in calls:
            headers = ["X-Async-Lookup: " + c.key]
            if c.slow and slow_delay_us:
                headers.append("X-Slow: %d" % slow_delay_us)
            c.sent = time.monotonic()
            c.s.sendto(sip.build_request(
                "MESSAGE", c.ruri, c.local, "UDP", headers, call_id=c.call_id,
                from_tag=c.from_tag, branch=c.branch), ("127.0.0.1", k.port))
            if not c.slow or c.key == "slow3":
                time.sleep(0.003)
        finals = finals_of(calls, 5)
        others = []
        for c in calls:
            assert c in finals and finals[c].code == 200, (c.key, finals.get(c))
            got = finals[c]
            assert got.header("x-async-rc") == ["1"], (c.key, got.raw)
            assert got.header("x-uri0") == ["sip:x@192.0.2.%d" % (int(c.key[4:]) + 1)]
            if not c.slow:
                others.append((c.answered - c.sent) * 1000)
        return sorted(others)
    finally:
        for c in calls:
            c.close()


def test_slow_resume_routes_with_a_distant_redis_cost_no_other_call(workdir):
    """Redis 4 ms away (8 ms round trip), 24 calls a few ms apart, 4 of
    whose resume routes take 150 ms each: every call gets its answer with its
    target, none a -2, and no outage is logged, since the I/O process runs
    no route and judges a deadline only after reading what arrived. The
    other calls' times, against a round without slow routes, are printed."""
    cfg = os.path.join(CFG_DIR, "functions.cfg")
    r = Redis(os.path.join(workdir, "slow-resume-redis")).start()
    proxy, k = None, None
    try:
        proxy, pport = delay_proxy(workdir, r.port, 4)
        k = Kamailio(os.path.join(workdir, "slow-resume-kamailio"), cfg=cfg, defines={
            "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % pport,
            "RESUME_WORKERS": "8"}).start()
        for i in range(24):
            r.cli("SET", "route:slow%d" % i, "192.0.2.%d" % (i + 1))
        plain = send_round(k, 0)
        slow = send_round(k, 150000)
        assert "async lookups answer -2" not in k.log()
        print("slow resume routes: the 20 other calls, median/worst ms: %.0f/%.0f "
              "without slow routes, %.0f/%.0f with 4 of 150 ms"
              % (plain[10], plain[-1], slow[10], slow[-1]))
    finally:
        if k:
            k.stop()
        if proxy:
            stop_process(proxy)
        r.stop()


def test_another_key_in_the_resume_route_is_looked_up(workdir):
    """sip_lookup(key) with another key than the async lookup's, in its
    resume route, looks that key up: never the async lookup's targets."""
    cfg = os.path.join(CFG_DIR, "functions.cfg")
    with redis_and_kamailio(workdir, "async-other", cfg=cfg) as (r, k):
        r.cli("SET", "route:first", "sip:first@192.0.2.1")
        r.cli("SET", "route:second", "sip:second@192.0.2.2")
        got = sip.request(k.port, "MESSAGE", "x", headers=[
            "X-Async-Lookup: first", "X-Other-Key: second"])
        assert got.code == 200, got
        assert got.header("x-async-rc") == ["1"], got.raw
        assert got.header("x-uri0") == ["sip:second@192.0.2.2"], got.raw
        assert got.header("x-matched") == ["second"], got.raw
        got = sip.request(k.port, "MESSAGE", "x", headers=[
            "X-Async-Lookup: first", "X-Other-Key: none"])
        assert got.header("x-rc") == ["-1"] and got.header("x-count") == ["0"], got.raw


def test_every_resume_runs_in_an_async_worker(workdir):
    """A lookup Redis answers and a cache hit take the same way: tm resumes
    both in one of the core's async workers, never inline in the SIP
    worker."""
    cfg = os.path.join(CFG_DIR, "functions.cfg")
    with redis_and_kamailio(workdir, "async-where", cfg=cfg, CACHE_SIZE="100") as (r, k):
        r.cli("SET", "route:where", "sip:where@192.0.2.5")
        workers = {str(p) for p, d in k.processes().items() if "Async Task Worker" in d}
        assert workers, k.processes()
        assert wait_until(lambda: k.cache_state() == "active", 5)
        before, hits = lookups(k), k.stats()["cache_hits"]
        for _ in range(8):
            got = sip.request(k.port, "MESSAGE", "x", headers=["X-Async-Lookup: where"])
            assert got.code == 200 and got.header("x-uri0") == ["sip:where@192.0.2.5"]
            assert got.header("x-pid")[0] in workers, (got.raw, k.processes())
        # both ways were taken: Redis asked, and the cache answered (as in
        # test_cache: a miss and a bypass per worker before its own
        # subscription is up)
        assert lookups(k) - before >= 1 and k.stats()["cache_hits"] - hits >= 4


def io_processes(k):
    return [d for d in k.processes().values() if d.startswith("redisroute async I/O")]


def test_no_io_process_unless_the_cfg_calls_sip_lookup_async(workdir):
    """Nothing forked that nobody uses: a cfg without sip_lookup_async()
    has no I/O process and no connection of one; the async cfg has one."""
    with redis_and_kamailio(workdir, "no-async") as (r, k):
        assert sip.request(k.port, user="nobody").code == 404
        assert io_processes(k) == [], k.processes()
        assert k.status()["async_workers"] == "0"
    with redis_and_kamailio(workdir, "with-async", cfg=ASYNC_CFG) as (r, k):
        assert io_processes(k) == ["redisroute async I/O 0"], k.processes()


def test_kemi_async_is_off_unless_switched_on(workdir):
    """KEMI: the module cannot see the script's calls; without modparam
    async_workers, sip_lookup_async() answers -4 and says why once."""
    with redis_and_kamailio(workdir, "kemi-off", cfg=os.path.join(CFG_DIR, "kemi_lua.cfg"),
                            KEMI_SCRIPT='"%s"' % os.path.join(CFG_DIR, "kemi.lua"),
                            KEMI_ASYNC_WORKERS="-1") as (r, k):
        r.cli("SET", "route:off", "192.0.2.7")
        assert io_processes(k) == [], k.processes()
        for _ in range(5):
            got = sip.request(k.port, user="off", headers=["X-Mode: async"])
            assert got.code == 500 and got.header("x-rc") == ["-4"], got.raw
        assert k.log().count("sip_lookup_async() is off") == 1, k.log()[-3000:]
