"""A real Redis Cluster of our own on 127.0.0.1, for end-to-end tests.

    c = RedisCluster(workdir, masters=3, password=None).start()
    try:
        slot = c.keyslot("route:1234")
        c.set("route:1234", "sip:a@b")
        c.migrate_slot(slot, dst_port)      # begin + keys + end
        c.stop_node(port)                   # "node down"
    finally:
        c.stop()

Every redis-server started here is stopped by its PID (procs.stop_process);
every wait is bounded in count and time. Structured queries (CLUSTER SLOTS,
MIGRATE, ...) go through a tiny RESP client on a socket; `cli` and `cli_c`
run redis-cli as an operator would. Python 3 standard library only."""

import os
import signal
import socket
import subprocess

from .procs import forget, free_port, spawn, stop_process, wait_until
from .servers import REDIS_CLI, REDIS_SERVER

SLOTS = 16384


# -- hash slots ------------------------------------------------------------

def crc16(data):
    """CRC16-XMODEM (poly 0x1021, init 0), the one Redis Cluster uses."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def keyslot(key):
    """The cluster hash slot of `key` (str, utf-8 encoded, or bytes): the
    hash tag is what lies between the first '{' and the first '}' after it,
    when that is not empty; otherwise the whole key is hashed."""
    if isinstance(key, str):
        key = key.encode()
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end != -1 and end != start + 1:
            key = key[start + 1:end]
    return crc16(key) % SLOTS


# -- a minimal RESP2 client --------------------------------------------------

class RespError(Exception):
    """An error reply (-ERR ..., -MOVED ..., -ASK ..., -NOAUTH ...)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    @property
    def kind(self):
        return self.message.split(" ", 1)[0]


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, bytes):
            b = a
        elif isinstance(a, str):
            b = a.encode()
        else:
            b = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def read_reply(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed mid-reply")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode(errors="replace")
    if kind == b"-":
        return RespError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        if len(data) != n + 2:
            raise ConnectionError("connection closed mid-reply")
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [read_reply(f) for _ in range(n)]
    raise ConnectionError("unexpected RESP type %r" % line[:20])


def resp(port, *commands, password=None, timeout=5.0):
    """Sends each command (a tuple of arguments) on one connection to
    127.0.0.1:port and returns the replies, in order; error replies come back
    as RespError objects (not raised). Bulk strings are bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rb")
        if password is not None:
            s.sendall(encode(["AUTH", password]))
            r = read_reply(f)
            if isinstance(r, RespError):
                raise r
        s.sendall(b"".join(encode(list(c)) for c in commands))
        return [read_reply(f) for _ in commands]


def _text(v):
    return v.decode(errors="replace") if isinstance(v, bytes) else v


# -- the cluster -----------------------------------------------------------

class RedisCluster:
    """`masters` redis-server processes in cluster mode on 127.0.0.1, each
    with `replicas` replicas (3 masters or more), all 16384 slots assigned
    by `redis-cli --cluster create`."""

    def __init__(self, workdir, masters=3, password=None, args=(),
                 node_timeout_ms=2000, replicas=0, tls=None):
        if masters < 1:
            raise ValueError("masters must be >= 1")
        if replicas and masters < 3:
            raise ValueError("replicas need at least 3 masters")
        self.replicas = replicas
        self.workdir = workdir
        self.node_timeout_ms = node_timeout_ms
        self.masters = masters
        self.password = password
        self.args = [str(a) for a in args]
        self.ports = []
        # tls (harness.tls.Certs): each node has a TLS port beside its plain
        # one, and the bus, replication and MIGRATE speak TLS (tls-cluster);
        # a TLS client sees the TLS ports in CLUSTER SLOTS and MOVED, the
        # harness keeps the plain ones
        self.tls = tls
        self.tls_ports = {}       # port -> its TLS port
        self.procs = {}           # port -> Popen (None once stopped)
        self._ids = {}            # port -> node id
        self._migrating = {}      # slot -> source port, between begin and end

    # life cycle ------------------------------------------------------------

    def _pick_ports(self, count=None, taken=()):
        """Ports free for us and for their cluster bus (port + 10000)."""
        count = count or self.masters * (1 + self.replicas)
        ports = []
        for _ in range(200):
            if len(ports) == count:
                return ports
            p = free_port()
            used = ports + list(taken)
            if p in used or p + 10000 > 65535 or p + 10000 in used \
                    or any(p == q + 10000 for q in used):
                continue
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                t.bind(("127.0.0.1", p + 10000))
            except OSError:
                continue
            finally:
                t.close()
            ports.append(p)
        raise RuntimeError("no free ports for %d cluster nodes" % self.masters)

    def node_dir(self, port):
        return os.path.join(self.workdir, "node-%d" % port)

    def _server_cmd(self, port):
        d = self.node_dir(port)
        cmd = [REDIS_SERVER,
               "--cluster-enabled", "yes",
               "--cluster-config-file", os.path.join(d, "nodes.conf"),
               "--cluster-node-timeout", str(self.node_timeout_ms),
               "--save", "", "--appendonly", "no",
               "--bind", "127.0.0.1", "--port", str(port), "--dir", d,
               "--logfile", os.path.join(d, "redis.log")]
        if self.password is not None:
            cmd += ["--requirepass", self.password, "--masterauth", self.password]
        if self.tls:
            tls_port = self.tls_ports.setdefault(port, free_port())
            # the bus stays at port + 10000 (else it would follow the TLS port)
            cmd += self.tls.server_args(tls_port) + ["--tls-cluster", "yes",
                                                     "--tls-replication", "yes",
                                                     "--cluster-port", str(port + 10000)]
        return cmd + self.args

    def _spawn(self, port):
        os.makedirs(self.node_dir(port), exist_ok=True)
        self.procs[port] = spawn(self._server_cmd(port),
                                 os.path.join(self.node_dir(port), "redis.out"))
        proc = self.procs[port]
        wait_until(lambda: proc.poll() is not None or self._pingable(port), 10)
        if not self._pingable(port):
            raise RuntimeError("redis-server did not answer PING on %d (exit %s):\n%s"
                               % (port, proc.poll(), self.log(port)[-2000:]))

    def start(self, timeout=15):
        """Starts the nodes, creates the cluster and waits (at most
        `timeout` s) until every node says cluster_state:ok and its CLUSTER
        SLOTS covers all 16384 slots. Stops everything on failure."""
        os.makedirs(self.workdir, exist_ok=True)
        try:
            self.ports = self._pick_ports()
            for p in self.ports:
                self._spawn(p)
            for p in self.ports:
                self._ids[p] = _text(self.command(p, "CLUSTER", "MYID"))
            if self.masters >= 3:
                self._create_with_redis_cli()
            else:
                self._create_by_hand()
            if not self.wait_ok(timeout):
                raise RuntimeError("cluster did not converge in %ss: %s"
                                   % (timeout, self._state_summary()))
        except BaseException:
            self.stop()
            raise
        return self

    def _create_with_redis_cli(self):
        r = subprocess.run(
            [REDIS_CLI] + self._auth_args() + ["--cluster", "create"]
            + ["127.0.0.1:%d" % p for p in self.ports]
            + ["--cluster-replicas", str(self.replicas), "--cluster-yes"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=60)
        if r.returncode != 0 or "[OK] All 16384 slots covered" not in r.stdout:
            raise RuntimeError("redis-cli --cluster create failed (%d):\n%s%s"
                               % (r.returncode, r.stdout[-3000:], r.stderr[-2000:]))

    def _create_by_hand(self):
        # redis-cli --cluster create wants at least 3 masters; for 1 or 2, the
        # same steps by hand: slots in equal ranges, distinct config epochs,
        # then MEET.
        n = len(self.ports)
        for i, p in enumerate(self.ports):
            first, last = SLOTS * i // n, SLOTS * (i + 1) // n - 1
            self.command(p, "CLUSTER", "ADDSLOTSRANGE", first, last)
            self.command(p, "CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for p in self.ports[1:]:
            self.command(p, "CLUSTER", "MEET", "127.0.0.1", self.ports[0])

    def add_master(self, timeout=15):
        """Starts one more node and has it join as a master without slots
        (CLUSTER MEET); returns its port once every live node knows it."""
        port = self._pick_ports(1, taken=self.ports)[0]
        self.ports.append(port)
        self._spawn(port)
        self._ids[port] = _text(self.command(port, "CLUSTER", "MYID"))
        self.command(self.ports[0], "CLUSTER", "MEET", "127.0.0.1", port)
        known = lambda: all(self._ids[port] in _text(self.command(p, "CLUSTER", "NODES"))
                            for p in self.live_ports)
        settled = lambda: self._state(port) == "ok" and self._covers_all(port)
        if not wait_until(known, timeout, 0.1) or not wait_until(settled, timeout, 0.1):
            raise RuntimeError("node %d did not join the cluster" % port)
        return port

    def client_port(self, port):
        """The port a client of the module's kind is given: the TLS one."""
        return self.tls_ports.get(port, port)

    def stop(self):
        """Stops every node we started, by its PID."""
        for port in list(self.procs):
            proc = self.procs[port]
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)     # in case it was paused
            stop_process(proc)
            self.procs[port] = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop_node(self, port):
        """Stops one node (SIGTERM, then SIGKILL) by its PID: "node down".
        Its nodes.conf stays, so restart_node brings it back as it was.
        The others flag it PFAIL after node_timeout_ms, FAIL once a majority
        of masters agree; without replicas its slots are then uncovered and
        every node answers CLUSTERDOWN (cluster-require-full-coverage yes)."""
        stop_process(self.procs.get(port))
        self.procs[port] = None

    def kill_node(self, port):
        """SIGKILL one node: a crash, no goodbye."""
        proc = self.procs.get(port)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)
            forget(proc)
        self.procs[port] = None

    def restart_node(self, port):
        """Starts a stopped node again on its port, with its nodes.conf (same
        node id, same slots, no data: save "" and appendonly no); does not
        wait for the cluster to say ok (use wait_ok). The others clear the
        FAIL flag of a master with slots only 2 x node_timeout_ms after they
        set it, and a node going from fail to ok waits a rejoin delay too."""
        if self.is_up(port):
            raise RuntimeError("node %d is running" % port)
        self._spawn(port)

    def pause_node(self, port):
        """SIGSTOP: the node hangs, its sockets stay open."""
        os.kill(self.procs[port].pid, signal.SIGSTOP)

    def resume_node(self, port):
        os.kill(self.procs[port].pid, signal.SIGCONT)

    def is_up(self, port):
        proc = self.procs.get(port)
        return proc is not None and proc.poll() is None

    @property
    def live_ports(self):
        return [p for p in self.ports if self.is_up(p)]

    # identity --------------------------------------------------------------

    @property
    def nodes(self):
        """[(port, node_id)] for every node, in port order of creation."""
        return [(p, self._ids[p]) for p in self.ports]

    def node_id(self, port):
        return self._ids[port]

    def port_of(self, node_id):
        for p, i in self._ids.items():
            if i == node_id:
                return p
        raise KeyError(node_id)

    def log(self, port):
        try:
            with open(os.path.join(self.node_dir(port), "redis.log"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # talking to nodes ------------------------------------------------------

    def _auth_args(self):
        if self.password is None:
            return []
        return ["-a", self.password, "--no-auth-warning"]

    def _pingable(self, port):
        if not self.is_up(port):
            return False
        try:
            (r,) = resp(port, ("PING",), timeout=1.0)
        except OSError:
            return False
        return r == "PONG" or (isinstance(r, RespError) and r.kind == "NOAUTH")

    def command(self, port, *args, timeout=5.0):
        """One command on one node over RESP; error replies are raised as
        RespError, bulk strings are bytes."""
        (r,) = resp(port, args, password=self.password, timeout=timeout)
        if isinstance(r, RespError):
            raise r
        return r

    def cli(self, port, *args, check=True):
        """redis-cli -h 127.0.0.1 -p port --raw [auth] args...; its stdout,
        stripped. Beware: redis-cli 7.0 exits 0 on an error reply and prints
        it on stdout without "(error)", e.g. "ASK 1234 127.0.0.1:30001" or
        "MOVED ...", so check=True only catches redis-cli's own failures
        (cannot connect, ...). check=False returns stdout + stderr whatever
        the exit code."""
        return self._cli(["-h", "127.0.0.1", "-p", str(port)], args, check)

    def cli_c(self, *args, check=True):
        """redis-cli -c (following MOVED/ASK) against the first live node."""
        return self._cli(["-c", "-h", "127.0.0.1", "-p", str(self.live_ports[0])],
                         args, check)

    def _cli(self, where, args, check):
        r = subprocess.run([REDIS_CLI] + where + self._auth_args() + ["--raw"]
                           + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=10)
        if check:
            if r.returncode != 0:
                raise RuntimeError("redis-cli %s %s failed (%d): %s%s"
                                   % (" ".join(where), args, r.returncode,
                                      r.stdout, r.stderr))
            return r.stdout.strip()
        return (r.stdout + r.stderr).strip()

    # cluster state ---------------------------------------------------------

    def cluster_info(self, port):
        text = _text(self.command(port, "CLUSTER", "INFO"))
        info = {}
        for line in text.splitlines():
            k, _, v = line.strip().partition(":")
            if k:
                info[k] = v
        return info

    def slots(self, port):
        """CLUSTER SLOTS of one node as [(start, end, master_host,
        master_port, master_id)]."""
        out = []
        for entry in self.command(port, "CLUSTER", "SLOTS"):
            master = entry[2]
            out.append((entry[0], entry[1], _text(master[0]), master[1],
                        _text(master[2])))
        return sorted(out)

    def _covers_all(self, port):
        try:
            ranges = self.slots(port)
        except (OSError, RespError):
            return False
        covered = set()
        for start, end, _h, mport, _id in ranges:
            if mport not in self.ports:
                return False
            covered.update(range(start, end + 1))
        return len(covered) == SLOTS

    def _state(self, port):
        try:
            return self.cluster_info(port).get("cluster_state")
        except (OSError, RespError):
            return None

    def wait_ok(self, timeout=15):
        """Waits until every live node says cluster_state:ok and its CLUSTER
        SLOTS covers all slots."""
        return wait_until(lambda: all(self._state(p) == "ok" and self._covers_all(p)
                                      for p in self.live_ports),
                          timeout, 0.1)

    def wait_state(self, state, ports=None, timeout=15):
        """Waits until each of `ports` (default: the live nodes) says
        cluster_state:<state> ("ok" or "fail")."""
        return wait_until(lambda: all(self._state(p) == state
                                      for p in (ports or self.live_ports)),
                          timeout, 0.1)

    def _state_summary(self):
        return ", ".join("%d=%s/%s" % (p, self._state(p), self._covers_all(p))
                         for p in self.ports)

    def owner(self, slot, via=None):
        """Port of the master owning `slot`, as CLUSTER SLOTS of `via` (or of
        the first live node that answers) says."""
        for p in ([via] if via else self.live_ports):
            try:
                ranges = self.slots(p)
            except (OSError, RespError):
                continue
            for start, end, _h, mport, _id in ranges:
                if start <= slot <= end:
                    return mport
            raise LookupError("slot %d is not assigned (per node %d)" % (slot, p))
        raise RuntimeError("no node answered CLUSTER SLOTS")

    def keyslot(self, key):
        return keyslot(key)

    @property
    def master_ports(self):
        """Ports of the nodes that serve slots now."""
        for p in self.live_ports:
            try:
                return sorted({r[3] for r in self.slots(p)})
            except (OSError, RespError):
                continue
        raise RuntimeError("no node answered CLUSTER SLOTS")

    # data ------------------------------------------------------------------

    def key_command(self, key, *args):
        """Runs a command about `key` on the master owning its slot, following
        MOVED and ASK (with ASKING) like a cluster client; at most 5 hops."""
        port = self.owner(keyslot(key))
        asking = False
        for _ in range(5):
            cmds = ([("ASKING",)] if asking else []) + [args]
            r = resp(port, *cmds, password=self.password)[-1]
            if not isinstance(r, RespError):
                return r
            if r.kind not in ("MOVED", "ASK"):
                raise r
            port = int(r.message.split()[2].rsplit(":", 1)[1])
            asking = r.kind == "ASK"
        raise RuntimeError("too many redirects for %r" % key)

    def set(self, key, value):
        return self.key_command(key, "SET", key, value)

    def get(self, key):
        return self.key_command(key, "GET", key)

    def rpush(self, key, *values):
        return self.key_command(key, "RPUSH", key, *values)

    def delete(self, key):
        return self.key_command(key, "DEL", key)

    # resharding ------------------------------------------------------------

    def _src_dst(self, slot, dst_port):
        src = self._migrating.get(slot) or self.owner(slot)
        if src == dst_port:
            raise ValueError("slot %d is already on %d" % (slot, dst_port))
        if dst_port not in self.ports:
            raise ValueError("%d is not a node of this cluster" % dst_port)
        return src, dst_port

    def migrate_slot_begin(self, slot, dst_port):
        """IMPORTING on the destination, then MIGRATING on the source."""
        src, dst = self._src_dst(slot, dst_port)
        self.command(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", self._ids[src])
        self.command(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", self._ids[dst])
        self._migrating[slot] = src
        return src

    def _migrate_auth(self):
        # MIGRATE authenticates to the target with AUTH <password> (the
        # default user; AUTH2 <user> <password> for an ACL user).
        return [] if self.password is None else ["AUTH", self.password]

    def migrate_keys(self, slot, dst_port, keys=None, batch=1000, replace=False):
        """MIGRATEs the slot's keys (all of them, per CLUSTER GETKEYSINSLOT,
        or just `keys`) from the source to dst_port; returns the keys moved
        (as str). MIGRATE replies NOKEY when none of the keys exists."""
        src, dst = self._src_dst(slot, dst_port)
        moved = []

        def migrate(ks):
            # with tls-cluster, MIGRATE speaks TLS: the TLS port
            r = self.command(src, "MIGRATE", "127.0.0.1", self.client_port(dst), "", 0, 5000,
                             *((["REPLACE"] if replace else []) + self._migrate_auth()
                               + ["KEYS"] + list(ks)))
            if r not in ("OK", "NOKEY"):
                raise RuntimeError("MIGRATE: %r" % r)
            moved.extend(k.decode(errors="replace") if isinstance(k, bytes) else k
                         for k in ks)

        if keys is not None:
            if keys:
                for k in keys:
                    if keyslot(k) != slot:
                        raise ValueError("%r is not in slot %d" % (k, slot))
                migrate(list(keys))
            return moved
        for _ in range(1000):
            ks = self.command(src, "CLUSTER", "GETKEYSINSLOT", slot, batch)
            if not ks:
                return moved
            migrate(ks)
        raise RuntimeError("slot %d still has keys after 1000 batches" % slot)

    def migrate_slot_end(self, slot, dst_port, timeout=10):
        """CLUSTER SETSLOT slot NODE dst on the destination, the source, then
        the other live masters; waits until every live node's CLUSTER SLOTS
        says dst owns the slot."""
        src, dst = self._src_dst(slot, dst_port)
        dst_id = self._ids[dst]
        for p in [dst, src] + [p for p in self.live_ports if p not in (src, dst)]:
            self.command(p, "CLUSTER", "SETSLOT", slot, "NODE", dst_id)
        if not wait_until(lambda: all(self._owner_or_none(slot, p) == dst
                                      for p in self.live_ports), timeout, 0.1):
            raise RuntimeError("slot %d not on %d everywhere after %ss: %s"
                               % (slot, dst, timeout,
                                  {p: self._owner_or_none(slot, p)
                                   for p in self.live_ports}))
        self._migrating.pop(slot, None)

    def _owner_or_none(self, slot, port):
        try:
            return self.owner(slot, via=port)
        except (OSError, RespError, LookupError, RuntimeError):
            return None

    def migrate_slot(self, slot, dst_port):
        """The whole manual resharding of one slot; returns the keys moved."""
        self.migrate_slot_begin(slot, dst_port)
        moved = self.migrate_keys(slot, dst_port)
        self.migrate_slot_end(slot, dst_port)
        return moved
