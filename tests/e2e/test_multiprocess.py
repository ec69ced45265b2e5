"""State across Kamailio's processes: what one process knows must never be
read as another process's, and forked loops follow runtime config changes."""

import contextlib
import os
import re
import socket

from harness import rcluster, sip
from conftest import CFG_DIR, Kamailio, Redis, cache_state, redis_and_kamailio, wait_until


def message_id(resp):
    m = re.match(r"\d+$", (resp.header("x-mi") or [""])[0])
    assert m, resp.raw
    return int(m.group(0))


def test_failure_route_in_another_process_never_sees_another_calls_targets(
        workdir, uas_pool):
    """msg->id counts per process. Call one's lookup is done by the UDP worker
    with id N; call two comes over TCP to the TCP worker, which gives it id
    N + 1, and is relayed over UDP, so its failure_route runs in the UDP
    worker, on tm's copy of the request with id N (tm's faked requests take
    the id less one). There, $redisroute(...) must not be call one's
    result."""
    uas = uas_pool("reject", 503)
    with redis_and_kamailio(workdir, "failure-pv",
                            cfg=os.path.join(CFG_DIR, "failure_pv.cfg")) as (r, k):
        r.cli("SET", "route:one", "192.0.2.1")
        r.cli("SET", "route:two", "127.0.0.1:%d" % uas.port)
        udp_id = message_id(sip.request(k.port, "OPTIONS", user="probe"))
        one = sip.request(k.port, user="one", headers=["X-Mode: lookup"])
        assert one.code == 404 and one.header("x-uri0") == ["sip:one@192.0.2.1"]
        assert message_id(one) == udp_id + 1
        # the TCP worker's next message gets call one's id + 1
        for _ in range(udp_id + 3):
            tcp_id = message_id(sip.request(k.port, "OPTIONS", user="probe",
                                            transport="tcp"))
            if tcp_id >= udp_id + 1:
                break
        assert tcp_id == udp_id + 1, (tcp_id, udp_id)
        two = sip.request(k.port, user="two", transport="tcp", timeout=5.0)
        assert two is not None and two.code == 500, two
        assert len(uas.requests("INVITE")) == 1
        # the failure route ran in the UDP worker, on a request with call
        # one's id there, and saw call two's own answer, which travels with
        # its transaction
        line = "failure route: mi=%d uri0=" % (udp_id + 1)
        assert wait_until(lambda: line in k.log(), 5), k.log()[-2000:]
        seen = k.log().split(line, 1)[1].split("\n", 1)[0]
        assert seen == "sip:two@127.0.0.1:%d" % uas.port, \
            "call two's failure route read " + seen


@contextlib.contextmanager
def silent_target_and_kamailio(workdir, name):
    """A UDP port nobody answers on, and kamailio with failure_pv.cfg: (r, k,
    the port, the PIDs of the core's timer processes, where tm runs a
    failure route when fr_timer expires; never a SIP worker)."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        with redis_and_kamailio(workdir, name,
                                cfg=os.path.join(CFG_DIR, "failure_pv.cfg")) as (r, k):
            timers = {str(p) for p, d in k.processes().items() if "timer" in d}
            assert timers, k.processes()
            yield r, k, silent.getsockname()[1], timers
    finally:
        silent.close()


def test_failure_route_run_by_tms_timer_sees_the_lookup(workdir):
    """sip_lookup(); $ru = $redisroute(uri); t_on_failure(); t_relay() to a
    target that never answers: fr_timer expires and tm's timer process runs
    the failure route, where $redisroute(...) is the call's lookup."""
    with silent_target_and_kamailio(workdir, "failure-timer") as (r, k, port, timers):
        r.cli("RPUSH", "route:tm", "127.0.0.1:%d" % port, "sip:backup@127.0.0.1:9")
        calls = []
        for _ in range(6):
            resp = sip.request(k.port, user="tm", headers=["X-Mode: timer"],
                               timeout=5.0)
            assert resp is not None and resp.code == 504, resp
            calls.append(resp.header("call-id")[0])
        pattern = re.compile(r"timer failure: ci=(\S+) pid=(\d+) rc=(\S+) count=(\S+) "
                             r"uri0=(\S+) uri1=(\S+)")
        seen = {m.group(1): m.groups()[1:] for m in pattern.finditer(k.log())}
        for ci in calls:
            assert ci in seen, (ci, seen)
            assert seen[ci][0] in timers, (seen[ci], k.processes())
            assert seen[ci][1:] == ("1", "2", "sip:tm@127.0.0.1:%d" % port,
                                    "sip:backup@127.0.0.1:9"), (ci, seen[ci])


def test_answer_before_and_after_the_transaction_is_made(workdir):
    """sip_lookup(key1) before t_newtran(), sip_lookup(key2) after it: the
    first answer is read before and after the transaction is made, the
    second replaces it, and the failure route that tm's timer runs (another
    process) reads the second: the answer kept before the transaction went
    into it, and nothing of it is left to shadow the later one."""
    with silent_target_and_kamailio(workdir, "failure-twice") as (r, k, port, timers):
        r.cli("SET", "route:first", "192.0.2.7")
        r.cli("SET", "route:second", "127.0.0.1:%d" % port)
        calls = []
        for _ in range(4):
            resp = sip.request(k.port, user="tw", timeout=5.0,
                               headers=["X-Mode: twice", "X-Key1: first",
                                        "X-Key2: second"])
            assert resp is not None and resp.code == 504, resp
            calls.append(resp.header("call-id")[0])
        first = "key=first uri0=sip:tw@192.0.2.7"
        second = "key=second uri0=sip:tw@127.0.0.1:%d" % port
        log = k.log()
        for ci in calls:
            for step, want in (("first", first), ("moved", first), ("second", second)):
                assert "twice %s: ci=%s %s" % (step, ci, want) in log, (step, ci, log[-3000:])
            m = re.search(r"twice failure: ci=%s pid=(\d+) (.*)" % re.escape(ci), log)
            assert m, (ci, log[-3000:])
            assert m.group(1) in timers and m.group(2) == second, m.groups()


def debug_lines_of(k, pid, text):
    return [line for line in k.log().splitlines()
            if "(%d) DEBUG:" % pid in line and text in line]


def set_debug(k, level):
    rc, out = k.kamcmd("cfg.set_now_int", "core", "debug", str(level))
    assert rc == 0 and "error" not in out, out


def forked_pid(k, description):
    pids = [p for p, d in k.processes().items() if d == description]
    assert len(pids) == 1, k.processes()
    return pids[0]


def test_cache_notifier_follows_runtime_config_changes(workdir):
    """kamcmd cfg.set_now_int core debug 3 reaches the notifier's loop: its
    keepalive of the idle subscription is logged at DEBUG from then on."""
    with redis_and_kamailio(workdir, "cfg-update", CACHE_SIZE="1000") as (r, k):
        notifier = forked_pid(k, "redisroute cache notifier")
        assert not debug_lines_of(k, notifier, "keepalive PING")
        set_debug(k, 3)
        try:
            assert wait_until(lambda: debug_lines_of(k, notifier, "keepalive PING"), 5)
        finally:
            set_debug(k, 2)


class HeldConnection:
    """A RESP connection of our own, kept open: it counts as a client."""

    def __init__(self, port, password):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.f = self.sock.makefile("rb")
        assert self.cmd("AUTH", password) == "OK"

    def cmd(self, *args):
        self.sock.sendall(rcluster.encode(list(args)))
        return rcluster.read_reply(self.f)

    def close(self):
        self.f.close()
        self.sock.close()


def test_a_refused_second_connection_is_no_outage(workdir):
    """The cache notifier's second connection is refused (maxclients) while
    its own subscription connection still gets in: a status error, never
    "Redis is down" (that once marked the main connection down)."""
    r = Redis(os.path.join(workdir, "side-refused-redis"),
              args=["--requirepass", "pw"]).start()
    k = Kamailio(os.path.join(workdir, "side-refused-kamailio"), defines={
        "REDIS_SERVER": '"redis://:pw@127.0.0.1:%d/0"' % r.port,
        "CACHE_SIZE": "1000", "RETRY_INTERVAL": "200"})
    held = None
    try:
        k.start()
        assert wait_until(lambda: cache_state(k) == "active", 10)
        r.cli("SET", "route:alice", "192.0.2.1")
        assert sip.request(k.port, user="alice").code == 302
        k.kamcmd("redisroute.status")  # the RPC process's connection, if any
        held = HeldConnection(r.port, "pw")
        clients = int(re.search(rb"connected_clients:(\d+)", held.cmd("INFO", "clients")).group(1))
        pubsub = len(held.cmd("CLIENT", "LIST", "TYPE", "pubsub").splitlines())
        assert pubsub >= 1
        # after the kill, the notifier drops its second connection and gets
        # its subscription back; the second connection is one too many
        assert held.cmd("CONFIG", "SET", "maxclients", clients - pubsub) == "OK"
        assert held.cmd("CLIENT", "KILL", "TYPE", "pubsub") == pubsub
        assert wait_until(lambda: "max number of clients" in k.kamcmd("redisroute.status")[1], 10)
        rc, status = k.kamcmd("redisroute.status")
        assert "state: up" in status and "second connection" in status, status
        assert " is down " not in k.log()
        assert held.cmd("CONFIG", "SET", "maxclients", "10000") == "OK"
        assert wait_until(lambda: cache_state(k) == "active", 10)
        assert sip.request(k.port, user="alice").contact_uris() == ["sip:alice@192.0.2.1"]
    finally:
        if held:
            held.close()
        k.stop()
        r.stop()
