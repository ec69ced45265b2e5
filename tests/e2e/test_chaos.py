"""Chaos under load, with figures: sipp calls the redirect server at a fixed
rate while Redis is killed and restarted, or while Redis Sentinel fails the
master over. Every INVITE must get a final answer (302, or 503 "Routing
Unavailable" while there is no Redis), no answer may take long (no worker
stuck on a dead Redis), and routing must come back soon after Redis does.

The caller is tests/e2e/sipp/chaos_uac.xml: one INVITE per call, sent once
(-nr), 302 or 503 accepted, no final answer within 2 s counted as
unanswered; each call logs its send and answer times, so that every answer
sits on a time line next to the moments the test killed, restarted or failed
Redis over.

Each test appends its figures, as a row of a markdown table, to
build/chaos-figures.md (the first chaos test of a session starts the file
afresh) and prints them. Columns: scenario | load (calls/s) | sent | 302 |
503 | unanswered | longest answer (ms) | Redis back -> routing back (ms) |
retry_interval. "Redis back" is the moment the restarted redis-server
answers with the route (kill/restart), or the moment the route was changed
on the freshly promoted master (failover); "routing back" is the first 302
(with the new route, for the failover) answered after that.

Every process is started here and stopped by its PID in a finally block;
traffic goes to 127.0.0.1 only; every wait is bounded."""

import csv
import glob
import os
import re
import subprocess
import threading
import time

import pytest

import conftest
from conftest import ROOT, Kamailio, Redis, free_port, stop_process, wait_until
from harness import sip
from harness.rcluster import resp
from harness.servers import Sentinel, SentinelGroup

MASTER = Sentinel.MASTER

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, "sipp", "chaos_uac.xml")
FIGURES = os.path.join(ROOT, "build", "chaos-figures.md")

RATE = 200                 # calls per second, fixed
ANSWER_TIMEOUT = 2.0       # no final answer within this (chaos_uac.xml): unanswered
# No answer may take longer: command_timeout is 250 ms, connect_timeout
# 500 ms, so even a worker that waited on a dead Redis answers well within
# this; the rest is slack for a loaded 2-core machine.
LONGEST_ANSWER_LIMIT = 1.5
WORKERS = 4
DEFAULT_RETRY_INTERVAL = 1000

FIGURES_HEADER = (
    "| scenario | load (calls/s) | sent | 302 | 503 | unanswered "
    "| longest answer (ms) | Redis back -> routing back (ms) | retry_interval |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
_figures_started = False

# Figures of kamailio under valgrind (make memcheck runs the suite with
# REDISROUTE_KAMAILIO_WRAPPER) would be meaningless, its answers too slow for
# the load, and its table would replace the real one.
pytestmark = pytest.mark.skipif(
    bool(getattr(conftest, "KAMAILIO_WRAPPER", None)),
    reason="timing under load: not with kamailio under a wrapper (valgrind)")


# ---- figures ------------------------------------------------------------------

def record_figures(scenario, res, back_ms, retry_interval):
    """Appends one row to build/chaos-figures.md (the session's first row
    starts the file afresh) and prints the table so far."""
    global _figures_started
    retry = "%d ms%s" % (retry_interval, " (default)"
                         if retry_interval == DEFAULT_RETRY_INTERVAL else "")
    row = "| %s | %d | %d | %d | %d | %d | %.0f | %s | %s |\n" % (
        scenario, RATE, res["sent"], res["302"], res["503"], res["unanswered"],
        res["longest"] * 1000, "-" if back_ms is None else "%.0f" % back_ms,
        retry)
    os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
    if not _figures_started:
        with open(FIGURES, "w") as f:
            f.write(FIGURES_HEADER)
        _figures_started = True
    with open(FIGURES, "a") as f:
        f.write(row)
    with open(FIGURES) as f:
        print("\n" + FIGURES + ":\n" + f.read())


# ---- the load -----------------------------------------------------------------

class Load:
    """sipp calling user@kamailio at RATE calls/s for `seconds`, in the
    background (bounded by -m), with one log line per call."""

    def __init__(self, d, port, user, seconds):
        self.d = os.path.join(d, "sipp")
        os.makedirs(self.d, exist_ok=True)
        self.calls = RATE * seconds
        self.seconds = seconds
        self.calls_log = os.path.join(self.d, "calls.log")
        self.stat = os.path.join(self.d, "stat.csv")
        self.errors = os.path.join(self.d, "errors.log")
        self.cmd = ["sipp", "-sf", SCENARIO, "-s", user,
                    "-r", str(RATE), "-rp", "1000", "-m", str(self.calls),
                    "-l", str(RATE * 10), "-nr", "-nostdin",
                    "-timeout", "%ds" % (seconds + 20),
                    "-i", "127.0.0.1", "-p", str(free_port()),
                    "-trace_logs", "-log_file", self.calls_log,
                    "-trace_stat", "-stf", self.stat, "-fd", "3600",
                    "-trace_err", "-error_file", self.errors,
                    "-trace_error_codes",
                    "127.0.0.1:%d" % port]
        self.proc = None
        self.started = None

    def start(self):
        self.out = open(os.path.join(self.d, "sipp.out"), "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.out,
                                     stderr=subprocess.STDOUT, cwd=self.d)
        self.started = time.time()
        return self

    def at(self, offset):
        """Sleeps until `offset` seconds after the load started (bounded)."""
        delay = self.started + offset - time.time()
        if delay > 0:
            time.sleep(min(delay, offset))

    def wait(self):
        """Waits for sipp to finish its calls; returns its exit code."""
        try:
            return self.proc.wait(self.seconds + ANSWER_TIMEOUT + 30)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("sipp did not finish its %d calls in time; see %s"
                                 % (self.calls, self.d))
        finally:
            self.out.close()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc)

    def results(self):
        """The calls, as the caller saw them."""
        answers, unanswered = [], []
        with open(self.calls_log, errors="replace") as f:
            for line in f:
                w = line.split()
                if not w:
                    continue
                if w[0] == "TIMEOUT":
                    unanswered.append(float(w[1]) + float(w[2]) / 1e6)
                elif w[0] in ("302", "503"):
                    sent = float(w[1]) + float(w[2]) / 1e6
                    answered = float(w[3]) + float(w[4]) / 1e6
                    answers.append((sent, answered, int(w[0]), w[5]))
        with open(self.stat, newline="") as f:
            rows = [r for r in csv.reader(f, delimiter=";") if r]
        stats = dict(zip(rows[0], rows[-1]))
        # answers sipp did not expect (any code but 302 and 503) fail the call
        other_codes = _error_codes(self.d)
        answers.sort()
        res = {
            "sent": int(stats["OutgoingCall(C)"]),
            "302": sum(1 for a in answers if a[2] == 302),
            "503": sum(1 for a in answers if a[2] == 503),
            "unanswered": len(unanswered),
            "failed": int(stats["FailedCall(C)"]),
            "other_codes": other_codes,
            "longest": max((a[1] - a[0] for a in answers), default=0.0),
            "answers": answers,
            "unanswered_at": unanswered,
            "dir": self.d,
        }
        return res


def _error_codes(d):
    """The codes of the answers sipp did not expect (-trace_error_codes)."""
    codes = []
    for path in glob.glob(os.path.join(d, "*_error_codes.csv")):
        with open(path, errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split(";")
                if len(parts) >= 3:
                    codes += [c for c in parts[2].split(",") if c.strip()]
    return codes


# ---- helpers ----------------------------------------------------------------

def _decoded(v):
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    if isinstance(v, list):
        return [_decoded(x) for x in v]
    return v


def redis_cmd(port, *args, timeout=0.2):
    """One command over a fresh connection, for fast polling: the reply
    (str, int, list; an error reply as an Exception), or None when Redis does
    not answer."""
    try:
        return _decoded(resp(port, args, timeout=timeout)[0])
    except (OSError, ValueError):
        return None


def redis_role(port):
    r = redis_cmd(port, "ROLE")
    return r[0] if isinstance(r, list) and r else None


def sip_workers(k):
    """{pid: description} of kamailio's SIP workers (udp and tcp receivers)."""
    return {pid: dsc for pid, dsc in k.processes().items() if "receiver" in dsc}


# what a process blocked on a Redis socket shows in /proc/PID/wchan
# (reading a reply, connecting); an idle SIP worker waits for SIP instead
REDIS_WAITS = ("wait_woken", "sk_wait_data", "inet_wait_for_connect",
               "sk_stream_wait_connect")


def assert_no_worker_stuck(k, workers_before):
    """Every SIP worker is still there and, within a second, seen idle
    (waiting for SIP, not for Redis), and all of them answer at once."""
    workers = sip_workers(k)
    assert sorted(workers) == sorted(workers_before), (workers_before, workers)
    busy = set(workers)
    for _ in range(20):
        for pid in list(busy):
            try:
                with open("/proc/%d/wchan" % pid) as f:
                    wchan = f.read().strip()
            except OSError:
                raise AssertionError("worker %d (%s) is gone" % (pid, workers[pid]))
            if wchan not in REDIS_WAITS:
                busy.discard(pid)
        if not busy:
            break
        time.sleep(0.05)
    assert not busy, "workers stuck on Redis: %s\n%s" % (
        {p: workers[p] for p in busy}, k.log()[-3000:])

    # a burst over UDP and TCP: every answer a 302, fast
    answers = [None] * (4 * WORKERS + 2 * WORKERS)

    def one(i):
        t0 = time.monotonic()
        r = sip.request(k.port, user="alice", timeout=ANSWER_TIMEOUT,
                        transport="udp" if i < 4 * WORKERS else "tcp")
        answers[i] = (r.code if r else None, time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(answers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(ANSWER_TIMEOUT + 3)
    assert all(a is not None and a[0] == 302 for a in answers), answers
    assert max(a[1] for a in answers) < LONGEST_ANSWER_LIMIT, answers


def log_lines(k, *words):
    return [l for l in k.log().splitlines() if any(w in l for w in words)]


def show(title, res, extra):
    print("\n%s: sent %d, 302 %d, 503 %d, unanswered %d, other %d %s, "
          "longest answer %.1f ms; %s; sipp files in %s" % (
              title, res["sent"], res["302"], res["503"], res["unanswered"],
              res["failed"], res["other_codes"], res["longest"] * 1000,
              ", ".join("%s %s" % kv for kv in extra.items()), res["dir"]))


def assert_every_invite_answered(res, seconds):
    assert res["sent"] == RATE * seconds, res["sent"]
    assert res["unanswered"] == 0, (
        "%d INVITEs unanswered within %.0f s, sent at %s" % (
            res["unanswered"], ANSWER_TIMEOUT, res["unanswered_at"][:20]))
    assert res["failed"] == 0 and not res["other_codes"], (
        "%d calls failed (answers other than 302/503: %s); see %s" % (
            res["failed"], res["other_codes"][:20], res["dir"]))
    assert res["302"] + res["503"] == res["sent"], res
    assert res["longest"] < LONGEST_ANSWER_LIMIT, (
        "an answer took %.0f ms" % (res["longest"] * 1000))


# ---- A: Redis killed and restarted --------------------------------------------

KILL_AT, RESTART_AT, A_SECONDS = 3.0, 6.0, 12


@pytest.mark.parametrize("retry_interval", [DEFAULT_RETRY_INTERVAL, 200])
def test_redis_killed_and_restarted_under_load(private_dir, retry_interval):
    target = "192.0.2.10:5060"
    contact = "sip:alice@" + target
    rdir = os.path.join(private_dir, "redis")
    redis = Redis(rdir)
    redis2 = None
    k = None
    load = None
    try:
        redis.start()
        redis.cli("SET", "route:alice", target)
        # the restarted redis-server loads this dump: it has the route from
        # its first answer on, as a persistent Redis would
        assert redis.cli("SAVE") == "OK"
        k = Kamailio(os.path.join(private_dir, "kamailio"), workers=WORKERS, defines={
            "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % redis.port,
            "RETRY_INTERVAL": str(retry_interval)}).start()
        for transport in ("udp", "tcp") * WORKERS:
            r = sip.request(k.port, user="alice", transport=transport)
            assert r is not None and r.code == 302, r
        workers = sip_workers(k)
        assert len(workers) == 2 * WORKERS, workers

        load = Load(private_dir, k.port, "alice", A_SECONDS).start()

        load.at(KILL_AT)
        killed = time.time()
        redis.proc.kill()            # SIGKILL: no goodbye to the clients
        redis.proc.wait(5)
        redis.proc = None

        load.at(RESTART_AT)
        restarted = time.time()
        redis2 = Redis(rdir, port=redis.port)
        starter = threading.Thread(target=redis2.start)
        starter.start()
        redis_back = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if redis_cmd(redis.port, "GET", "route:alice") == target:
                redis_back = time.time()
                break
            time.sleep(0.002)
        starter.join(15)
        assert redis_back is not None, "the restarted redis-server did not answer"

        rc = load.wait()
        res = load.results()

        answers = res["answers"]
        before = [a for a in answers if a[1] < killed]
        during = [a for a in answers if killed <= a[1] < restarted]
        after = [a for a in answers if a[1] >= restarted]
        first_302 = min((a[1] for a in after if a[2] == 302), default=None)
        last_503 = max((a[1] for a in after if a[2] == 503), default=None)
        back_ms = None if first_302 is None else max(0.0, first_302 - redis_back) * 1000
        all_back_ms = 0.0 if last_503 is None else max(0.0, last_503 - redis_back) * 1000
        record_figures("Redis SIGKILLed at %.0f s, restarted at %.0f s "
                       "(same port, route from its RDB file)" % (KILL_AT, RESTART_AT),
                       res, back_ms, retry_interval)
        show("kill/restart, retry_interval %d ms" % retry_interval, res, {
            "503 while down": sum(1 for a in during if a[2] == 503),
            "redis back after restart (ms)": "%.0f" % ((redis_back - restarted) * 1000),
            "redis back -> first 302 (ms)": back_ms,
            "redis back -> last 503 (ms)": "%.0f" % all_back_ms,
            "sipp exit": rc})
        print("\n".join(log_lines(k, "is down", "reachable again")))

        assert_every_invite_answered(res, A_SECONDS)
        # the outage was seen, by callers and in the log, and only then
        assert [a for a in before if a[2] != 302] == [], "503 before the kill"
        assert any(a[2] == 503 for a in during), "no 503 while Redis was down"
        assert all(a[2] == 503 for a in during if a[0] > killed + 0.1), \
            "a 302 while Redis was down"
        assert all(a[3] == contact for a in answers if a[2] == 302), \
            {a[3] for a in answers if a[2] == 302}
        # routing is back, for every worker, within the retry interval
        limit_ms = retry_interval + 1000
        assert first_302 is not None, "no 302 after Redis came back"
        assert back_ms <= limit_ms, "first 302 %.0f ms after Redis was back" % back_ms
        assert all_back_ms <= limit_ms, \
            "a 503 %.0f ms after Redis was back" % all_back_ms
        assert after[-1][2] == 302
        assert log_lines(k, "is down ("), k.log()[-3000:]
        assert log_lines(k, "is reachable again after"), k.log()[-3000:]
        assert_no_worker_stuck(k, workers)
        rc, out = k.kamcmd("redisroute.status")
        assert re.search(r"(?m)^\s*state: up$", out), out
    finally:
        if load:
            load.stop()
        if k:
            k.stop()
        for r in (redis2, redis):
            if r is not None:
                r.stop()


# ---- B: Sentinel failover -------------------------------------------------------

FAILOVER_AT, B_SECONDS = 3.0, 20
# After SENTINEL FAILOVER the old master stays up and stays a master until
# the sentinels turn it into a replica of the new one, about 10 s after the
# switch; only then does it drop its clients. The module does not wait for
# that: its sentinel watcher hears +switch-master (published about a second
# after the promotion) and every worker reconnects through the sentinels.
DEMOTION_LIMIT = 15.0
# from the route change on the new master to every worker serving it
SWITCH_LIMIT = 3.0


def test_sentinel_failover_under_load(private_dir):
    old_target, new_target = "192.0.2.1:5060", "192.0.2.2:5060"
    old_contact, new_contact = "sip:alice@" + old_target, "sip:alice@" + new_target
    group = SentinelGroup(private_dir)
    master, replica = group.master, group.replica
    k = None
    load = None
    try:
        # the sentinels know each other: the switch reaches all of them
        sentinels = group.start(acquainted=True).sentinels
        master.cli("SET", "route:alice", old_target)
        assert wait_until(lambda: replica.cli("GET", "route:alice") == old_target, 5)

        k = Kamailio(os.path.join(private_dir, "kamailio"), workers=WORKERS,
                     defines=group.kamailio_defines()).start()
        for transport in ("udp", "tcp") * WORKERS:
            r = sip.request(k.port, user="alice", transport=transport)
            assert r is not None and r.code == 302 and r.contact_uris() == [old_contact], r
        workers = sip_workers(k)
        assert len(workers) == 2 * WORKERS, workers

        load = Load(private_dir, k.port, "alice", B_SECONDS).start()

        load.at(FAILOVER_AT)
        failover = time.time()
        assert sentinels[0].cli("SENTINEL", "FAILOVER", MASTER) == "OK"
        promoted = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if redis_role(replica.port) == "master":
                promoted = time.time()
                break
            time.sleep(0.005)
        assert promoted is not None, "the replica was not promoted"
        # the operator changes the route on the new master
        assert redis_cmd(replica.port, "SET", "route:alice", new_target) == "OK"
        route_changed = time.time()
        switched = wait_until(lambda: all(s.master_port() == replica.port
                                          for s in sentinels), 10)
        switched_at = time.time()
        # the sentinels demote the old master (still up) to a replica
        demoted = None
        deadline = time.monotonic() + DEMOTION_LIMIT
        while time.monotonic() < deadline and load.proc.poll() is None:
            if redis_role(master.port) == "slave":
                demoted = time.time()
                break
            time.sleep(0.005)

        rc = load.wait()
        res = load.results()

        answers = res["answers"]
        after = [a for a in answers if a[1] >= route_changed]
        first_new = min((a[1] for a in after if a[3] == new_contact), default=None)
        last_not_new = max((a[1] for a in after if a[3] != new_contact), default=None)
        back_ms = None if first_new is None else max(0.0, first_new - route_changed) * 1000
        all_back_ms = 0.0 if last_not_new is None else \
            max(0.0, last_not_new - route_changed) * 1000
        record_figures("Sentinel failover at %.0f s (SENTINEL FAILOVER; the old "
                       "master, still up, demoted by the sentinels %s later), "
                       "route changed on the new master" % (
                           FAILOVER_AT, "%.1f s" % (demoted - failover)
                           if demoted else "not"),
                       res, back_ms, DEFAULT_RETRY_INTERVAL)
        show("sentinel failover", res, {
            "promoted after (ms)": "%.0f" % ((promoted - failover) * 1000),
            "all sentinels name the new master (s)": "%s %.1f" % (
                switched, switched_at - failover),
            "old master demoted after the change (ms)": "%.0f" % (
                (demoted - route_changed) * 1000) if demoted else None,
            "old master demoted -> first new-route 302 (ms)": "%.0f" % (
                (first_new - demoted) * 1000) if demoted and first_new else None,
            "route changed -> first new-route 302 (ms)": back_ms,
            "route changed -> last old-route/503 answer (ms)": "%.0f" % all_back_ms,
            "old-route 302 after the change": sum(
                1 for a in after if a[3] == old_contact),
            "503": res["503"], "sipp exit": rc})
        print("\n".join(log_lines(k, "is down", "reachable again", "moved to")))

        assert_every_invite_answered(res, B_SECONDS)
        assert switched, "the sentinels did not all name the new master"
        assert all(a[3] in (old_contact, new_contact) for a in answers if a[2] == 302), \
            {a[3] for a in answers if a[2] == 302}
        assert all(a[3] == old_contact for a in answers if a[1] < failover), \
            "before the failover: not the old route"
        assert demoted is not None, (
            "the sentinels did not demote the old master within %.0f s of the "
            "switch, during the load" % DEMOTION_LIMIT)
        # routing is served from the new master, by every worker, within
        # seconds of the switch: long before the old master is demoted
        assert first_new is not None, "the new master's route was never served"
        late = [a for a in answers if a[1] > route_changed + SWITCH_LIMIT
                and a[3] != new_contact]
        assert not late, (
            "%d answers not from the new master more than %.1f s after the "
            "route changed on it, the first at +%.0f ms: %s" % (
                len(late), SWITCH_LIMIT, (late[0][1] - route_changed) * 1000,
                late[0]))
        assert log_lines(k, "+switch-master"), k.log()[-3000:]
        assert after[-1][3] == new_contact
        assert log_lines(k, "moved to 127.0.0.1:%d (sentinel failover)" % replica.port), \
            k.log()[-3000:]
        assert_no_worker_stuck(k, workers)
        for _ in range(4):
            r = sip.request(k.port, user="alice")
            assert r is not None and r.contact_uris() == [new_contact], r
    finally:
        if load:
            load.stop()
        if k:
            k.stop()
        group.stop()


# ---- C: one worker's recovery is every worker's -------------------------------

SHARED_RETRY_INTERVAL = 5000  # ms: a worker's own gate would show for seconds
STAGGER = 2.5                 # s between the UDP and the TCP workers' outages


def worker_of(k, call_id):
    """The PID of the worker whose 503 for call_id was logged (the cfg's
    "redis unavailable" warning, its log prefix names the Call-ID)."""
    for line in k.log().splitlines():
        if call_id in line and "redis unavailable" in line:
            m = re.search(r"\((\d+)\)", line)
            if m:
                return int(m.group(1))
    return None


def until_each_failed(k, pids, transport, limit=60):
    """Sends bursts of requests over transport until each worker in pids has
    answered one with 503 (bounded: `limit` bursts, 10 s); returns {pid:
    time.monotonic() of its first 503}."""
    failed = {}
    deadline = time.monotonic() + 10
    for _ in range(limit):
        if set(failed) >= set(pids) or time.monotonic() > deadline:
            break
        answers = [None] * len(pids)

        def one(i):
            r = sip.request(k.port, user="alice", transport=transport, timeout=1.0)
            answers[i] = (r, time.monotonic())

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(pids))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(3)
        for r, at in (a for a in answers if a is not None):
            assert r is not None and r.code == 503, r
            pid = worker_of(k, r.header("call-id")[0])
            assert pid in pids, (pid, pids)
            failed.setdefault(pid, at)
    assert set(failed) == set(pids), (
        "not every %s worker answered 503: %s of %s" % (transport, failed, pids))
    return failed


def test_one_workers_recovery_opens_every_workers_retry(private_dir):
    """Issue #21 item 6: once one worker has reconnected after an outage, the
    others retry at their next request instead of answering 503 until their
    own retry_interval has passed. The UDP workers see the outage first, the
    TCP workers STAGGER s later, so that the TCP workers' own gates open
    seconds after the UDP workers'; Redis comes back, the first 302 comes
    from a UDP worker whose gate opened, and from then on every request, over
    UDP and TCP, is answered 302 at once: long before any TCP worker's own
    gate."""
    target = "192.0.2.10:5060"
    rdir = os.path.join(private_dir, "redis")
    redis = Redis(rdir)
    redis2 = None
    k = None
    try:
        redis.start()
        redis.cli("SET", "route:alice", target)
        assert redis.cli("SAVE") == "OK"  # the restarted server loads it
        k = Kamailio(os.path.join(private_dir, "kamailio"), workers=WORKERS, defines={
            "REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % redis.port,
            "RETRY_INTERVAL": str(SHARED_RETRY_INTERVAL)}).start()
        procs = sip_workers(k)
        udp = {p for p, d in procs.items() if d.startswith("udp receiver")}
        tcp = {p for p, d in procs.items() if d.startswith("tcp receiver")}
        assert len(udp) == WORKERS and len(tcp) == WORKERS, procs
        for transport in ("udp", "tcp") * WORKERS:
            r = sip.request(k.port, user="alice", transport=transport)
            assert r is not None and r.code == 302, r

        redis.stop()
        udp_failed = until_each_failed(k, udp, "udp")
        time.sleep(STAGGER)
        tcp_failed = until_each_failed(k, tcp, "tcp")
        # every worker has seen the outage: each waits for its own gate
        # (its first 503 + retry_interval) or for another's recovery
        tcp_gate = min(tcp_failed.values()) + SHARED_RETRY_INTERVAL / 1000.0
        redis2 = Redis(rdir, port=redis.port).start()

        # the first UDP worker's gate opens: the first 302 (bounded)
        first_302 = None
        deadline = min(udp_failed.values()) + SHARED_RETRY_INTERVAL / 1000.0 + 3
        while first_302 is None and time.monotonic() < deadline:
            r = sip.request(k.port, user="alice", timeout=1.0)
            assert r is not None and r.code in (302, 503), r
            if r.code == 302:
                first_302 = time.monotonic()
            else:
                time.sleep(0.02)
        assert first_302 is not None, "no 302 after Redis came back"
        assert first_302 < tcp_gate - 1.0, (
            "the first 302 came too late to tell: %.1f s before the TCP "
            "workers' gates" % (tcp_gate - first_302))

        # every later request, to every worker, is routed
        codes = []
        for i in range(40):
            transport = ("udp", "tcp")[i % 2]
            r = sip.request(k.port, user="alice", transport=transport, timeout=1.0)
            codes.append((transport, r.code if r else None))
        done = time.monotonic()
        print("\nshared recovery: first 302 %.0f ms before the TCP workers' own "
              "gates; 40 requests in %.0f ms after it: %d 302, %d 503 (%d over TCP)"
              % ((tcp_gate - first_302) * 1000, (done - first_302) * 1000,
                 sum(1 for _, c in codes if c == 302),
                 sum(1 for _, c in codes if c == 503),
                 sum(1 for t, c in codes if c == 503 and t == "tcp")))
        assert done < tcp_gate, "the requests were not all sent before the gates"
        assert codes == [(t, 302) for t, _ in codes], codes
        # the requests reached every TCP worker (tcp_main hands connections
        # round robin) and a UDP one at least: each has its connection again
        clients = len(redis2.cli("CLIENT", "LIST").splitlines()) - 1  # not ours
        assert clients >= WORKERS + 1, redis2.cli("CLIENT", "LIST")
        _, out = k.kamcmd("redisroute.status")
        assert re.search(r"(?m)^\s*state: up$", out), out
    finally:
        if k:
            k.stop()
        for r in (redis2, redis):
            if r is not None:
                r.stop()
