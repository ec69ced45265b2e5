"""`make run`, the newcomer's first command, as the README gives it: it
starts a redis-server and kamailio with etc/kamailio.cfg, which answers SIP
at once; a route set with the server's own cli is redirected to. Ports are
ephemeral here (RUN_SIP_PORT, RUN_REDIS_PORT), and the whole `make run` is
stopped by its PID as Ctrl-C would stop it."""

import os
import signal
import subprocess

from harness import sip
from conftest import REDIS_CLI, ROOT, free_port, wait_until


def test_make_run_answers_sip_and_redirects(workdir):
    sip_port, redis_port = free_port(), free_port()
    ctl = os.path.join(workdir, "make-run-ctl")
    log = open(os.path.join(workdir, "make-run.log"), "wb")
    env = dict(os.environ, RUN_SIP_PORT=str(sip_port), RUN_REDIS_PORT=str(redis_port),
               RUN_CTL="unix:" + ctl)
    proc = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)

    def cli(*args):
        return subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(redis_port)]
                              + list(args), capture_output=True, text=True, timeout=10)
    try:
        assert wait_until(lambda: proc.poll() is not None
                          or sip.request(sip_port, "OPTIONS", user=None, timeout=0.3)
                          is not None, 120, 0.2), "make run did not answer SIP"
        assert proc.poll() is None
        assert sip.request(sip_port, "OPTIONS", user=None).code == 200
        assert cli("SET", "route:alice", "192.0.2.10:5060").stdout.strip() == "OK"
        r = sip.request(sip_port, user="alice")
        assert r.code == 302 and r.contacts() == ["<sip:alice@192.0.2.10:5060>"]
        assert sip.request(sip_port, user="nobody").code == 404
        status = subprocess.run(["kamcmd", "-s", "unix:" + ctl, "redisroute.status"],
                                capture_output=True, text=True, timeout=10).stdout
        assert "127.0.0.1:%d" % redis_port in status and "up" in status
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()
    # Ctrl-C stopped both servers it started
    assert wait_until(lambda: cli("PING").returncode != 0, 10)
    assert sip.request(sip_port, "OPTIONS", user=None, timeout=0.3) is None
