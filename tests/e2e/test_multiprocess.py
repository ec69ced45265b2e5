"""State across Kamailio's processes: what one process knows must never be
read as another process's, and forked loops follow runtime config changes."""

import os
import re

import sip
from conftest import CFG_DIR, Kamailio, redis_and_kamailio, wait_until


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
        # one's id there, and saw no result: call two's lookup was not here
        line = "failure route: mi=%d uri0=" % (udp_id + 1)
        assert wait_until(lambda: line in k.log(), 5), k.log()[-2000:]
        seen = k.log().split(line, 1)[1].split("\n", 1)[0]
        assert seen == "<null>", "call two's failure route read " + seen
