"""Processes of our own: ports, bounded waits, starting and stopping by PID,
and what /proc says about a process tree's CPU time."""

import os
import signal
import socket
import subprocess
import time


class Failed(RuntimeError):
    """A process did not start, or did not answer as it should."""


_running = []  # every process spawn() started that stop_process() has not stopped


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise Failed("no free port")


def wait_until(pred, timeout, interval=0.05):
    """Polls pred until it is true or `timeout` seconds have passed; the
    last answer of pred."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def spawn(cmd, log=None, new_session=False, **kw):
    """Starts cmd with no standard input, its output appended to the file
    `log` (or discarded). new_session: in a session (and process group) of
    its own, which stop_process may SIGKILL whole."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=new_session, **kw)
    finally:
        if log:
            out.close()  # the child has its own copy
    _running.append(proc)
    return proc


def _kill(proc):
    """SIGKILL: the whole process group when proc leads one of its own (it
    was started in a session of its own), else the process alone."""
    try:
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass


def stop_process(proc, timeout=5):
    """Stops a process we started, by its PID: SIGTERM, then after `timeout`
    seconds SIGKILL."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.wait(5)
    forget(proc)


def forget(proc):
    """proc is no longer stop_all()'s to stop (it has ended, or was waited for)."""
    if proc in _running:
        _running.remove(proc)


def stop_all(timeout=5):
    """Stops every process spawn() started and nothing stopped yet."""
    for proc in list(_running):
        try:
            stop_process(proc, timeout)
        except Exception:
            pass


def descendants(pid):
    """pid and all its descendants (kamailio -DD forks every process itself)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
            ppid = int(s[s.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ns(pids):
    """CPU time (ns) of all threads of pids, from /proc/<pid>/task/*/schedstat."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total


def udp_bound(port):
    """True when some process has 127.0.0.1:port open (UDP)."""
    needle = ":%04X" % port
    try:
        with open("/proc/net/udp") as f:
            return any(l.split()[1].endswith(needle) and l.split()[1].startswith("0100007F")
                       for l in f.readlines()[1:])
    except OSError:
        return False
