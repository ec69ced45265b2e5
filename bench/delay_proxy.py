#!/usr/bin/python3
"""A TCP proxy on loopback that delays every byte by a fixed one-way delay,
both ways, for the bench's async table: Redis as if it were on another host.

  delay_proxy.py --listen PORT --to PORT --delay-ms D

Order is kept per direction (one queue each, one timer); D = 0 forwards at
once. Prints "ready" once it listens; stopped by its PID."""

import argparse
import asyncio
import collections
import sys


class Pipe:
    """One direction of one connection: what was read, forwarded D later."""

    def __init__(self, loop, writer, delay):
        self.loop, self.writer, self.delay = loop, writer, delay
        self.queue = collections.deque()
        self.timer = None

    def push(self, data):
        if self.delay <= 0:
            self.writer.write(data)
            return
        self.queue.append((self.loop.time() + self.delay, data))
        if self.timer is None:
            self.timer = self.loop.call_at(self.queue[0][0], self.flush)

    def flush(self):
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            self.writer.write(self.queue.popleft()[1])
        if self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self.flush)


async def pump(reader, pipe):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            pipe.push(data)
    except (ConnectionError, OSError):
        pass
    # the other side's close, delayed like the data
    pipe.loop.call_later(max(pipe.delay, 0), pipe.writer.close)


async def serve(args):
    loop = asyncio.get_running_loop()
    delay = args.delay_ms / 1000.0

    async def handle(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection("127.0.0.1", args.to)
        except OSError:
            cwriter.close()
            return
        for w in (cwriter, swriter):
            sock = w.get_extra_info("socket")
            if sock is not None:
                import socket
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pump(creader, Pipe(loop, swriter, delay)),
                             pump(sreader, Pipe(loop, cwriter, delay)))

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    asyncio.run(serve(ap.parse_args()))


if __name__ == "__main__":
    main()
