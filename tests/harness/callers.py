"""Callers under load: a few threads, each sending INVITEs one after the other
(a closed loop), recording every answer and how long it took. For the stall
tests: no request may go unanswered while a Redis node, a sentinel or a
cluster node hangs."""

import threading
import time

from . import sip

# what the stall tests measured, printed at the end of the run (conftest)
REPORT = []


class Callers:
    """callers threads send INVITEs for users (round robin) to k until stop();
    each waits at most `timeout` s for an answer, then `pause` s before the
    next call. Bounded: at most 20,000 requests and 60 s in all."""

    def __init__(self, k, users, callers=4, timeout=2.0, pause=0.01, headers=None):
        self.k, self.users, self.timeout, self.headers = k, users, timeout, headers
        self.pause = pause
        self.results = []  # (user, code or None, seconds)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,))
                        for i in range(callers)]

    def _run(self, first):
        deadline = time.monotonic() + 60
        for i in range(first, 20000, len(self.threads)):
            if self.done.is_set() or time.monotonic() > deadline:
                return
            user = self.users[i % len(self.users)]
            t0 = time.monotonic()
            resp = sip.request(self.k.port, user=user, timeout=self.timeout,
                               headers=self.headers)
            took = time.monotonic() - t0
            with self.lock:
                self.results.append((user, resp.code if resp else None, took))
            self.done.wait(self.pause)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(70)
            assert not t.is_alive()
        return list(self.results)


def summarize(name, results):
    """Records and returns (unanswered, longest answer in ms) of a run."""
    unanswered = sum(1 for _, code, _ in results if code is None)
    longest = max((took for _, code, took in results if code is not None), default=0)
    REPORT.append("%s: %d requests, %d unanswered, longest answer %.0f ms"
                  % (name, len(results), unanswered, longest * 1000))
    return unanswered, longest * 1000
