#!/usr/bin/env python3
"""make bench's cache_preload load measurement: a redis-server holding
BENCH_PRELOAD_KEYS (default 1,000,000) string routes, a kamailio with
cache_size above that and cache_preload 1; how long the replica takes to be
complete (the notifier's own count, cache_preload_load_ms, and the wall
clock from start-up) and the shared memory it takes (kamcmd core.shmmem,
used before and after the load). Writes preload.md into --out."""

import argparse
import os
import re
import socket
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(BENCH), "tests"))

from harness import servers  # noqa: E402
from harness.procs import wait_until  # noqa: E402


def load(port, n):
    """SET route:+49<9 digits> 192.0.2.x for n keys, pipelined."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        f = s.makefile("rb")
        for start in range(0, n, 10000):
            buf = []
            for i in range(start, min(n, start + 10000)):
                k, v = "route:+49%09d" % i, "192.0.2.%d:5060" % (i % 250 + 1)
                buf.append("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
                    len(k), k, len(v), v))
            s.sendall("".join(buf).encode())
            for _ in range(len(buf)):
                f.readline()


def shm_used(k):
    rc, out = k.kamcmd("core.shmmem")
    m = re.search(r"used:\s*(\d+)", out)
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="build/bench")
    ap.add_argument("--keys", type=int,
                    default=int(os.environ.get("BENCH_PRELOAD_KEYS", "1000000")))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    # absolute: redis-server changes into its own directory before it
    # opens the log file the harness names
    work = tempfile.mkdtemp(prefix="preload-", dir=os.path.abspath(a.out))
    r = servers.Redis(os.path.join(work, "redis")).start()
    k = k0 = None
    try:
        load(r.port, a.keys)
        size = str(a.keys + a.keys // 4)
        common = {"REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % r.port, "CACHE_SIZE": size}
        # the same cache without preload: the shared memory the table adds
        k0 = servers.Kamailio(os.path.join(work, "k0"), defines=common)
        k0.shm_mb = 1024
        k0.start()
        time.sleep(1)
        base = shm_used(k0)
        k0.stop()
        k0 = None
        k = servers.Kamailio(os.path.join(work, "k"), defines=dict(common, CACHE_PRELOAD="1"))
        k.shm_mb = 1024
        t0 = time.monotonic()
        k.start()
        ok = wait_until(lambda: k.status().get("cache_preload") == "complete", 600, 0.05)
        wall = time.monotonic() - t0
        st = k.status()
        used = shm_used(k)
        lines = ["## cache_preload: loading %s keys" % "{:,}".format(a.keys), "",
                 "| keys loaded | load time (notifier) | start to complete | shm used | "
                 "shm used without preload | per key |", "|---:|---:|---:|---:|---:|---:|",
                 "| %s | %.2f s | %.2f s | %.1f MB | %.1f MB | %.0f bytes |" % (
                     "{:,}".format(int(st.get("cache_preload_keys", 0))),
                     int(st.get("cache_preload_load_ms", 0)) / 1000.0, wall,
                     used / 1e6, base / 1e6, (used - base) / max(1, a.keys)),
                 "", "Keys like `route:+49000000123`, a string `192.0.2.x:5060` each; "
                 "cache_size %s; kamailio -m 1024 (its default allocator); redis-server on the "
                 "same cores.%s" % (size, "" if ok else " NOT COMPLETE after 600 s.")]
        text = "\n".join(lines) + "\n"
        with open(os.path.join(a.out, "preload.md"), "w") as f:
            f.write(text)
        print(text)
    finally:
        for x in (k0, k):
            if x:
                x.stop()
        r.stop()


if __name__ == "__main__":
    main()
