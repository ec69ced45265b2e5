"""The Redis Cluster test helper (rcluster.py) on its own, without kamailio:
the cluster comes up with every slot covered, keyslot() agrees with the
server, writes land where reads find them, a manual slot migration gives
ASK and then MOVED, a password works, and a node can go down and come back."""

import pytest

from harness.rcluster import SLOTS, RedisCluster, RespError, crc16, keyslot, resp


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One cluster shared by the tests that do not reshard it."""
    c = RedisCluster(str(tmp_path_factory.mktemp("rcluster-shared")))
    try:
        yield c.start()
    finally:
        c.stop()


@pytest.fixture
def own_cluster(tmp_path):
    """A cluster of the test's own, for tests that reshard it or kill nodes."""
    c = RedisCluster(str(tmp_path / "rcluster"))
    try:
        yield c.start()
    finally:
        c.stop()


def _other_master(c, port):
    """A port of a master other than `port`."""
    return next(p for p in c.ports if p != port)


def test_cluster_up_all_slots_covered(cluster):
    assert len(cluster.ports) == 3 and len(set(cluster.ports)) == 3
    ids = [i for _, i in cluster.nodes]
    assert len(set(ids)) == 3
    for port, node_id in cluster.nodes:
        assert cluster.command(port, "CLUSTER", "MYID").decode() == node_id
        info = cluster.cluster_info(port)
        assert info["cluster_state"] == "ok"
        assert info["cluster_slots_assigned"] == str(SLOTS)
        assert info["cluster_known_nodes"] == "3"
        covered = set()
        for start, end, host, mport, mid in cluster.slots(port):
            assert host == "127.0.0.1"
            assert cluster.node_id(mport) == mid
            covered.update(range(start, end + 1))
        assert covered == set(range(SLOTS))
    # each master owns a part of the slots
    assert {cluster.owner(s) for s in (0, SLOTS // 2, SLOTS - 1)} == set(cluster.ports)
    assert "cluster_state:ok" in cluster.cli(cluster.ports[1], "CLUSTER", "INFO")


KEYS = ["", "a", "foo", "123456789", "route:+493012345", "ключ", "x" * 300,
        "{user1000}.following", "{user1000}.followers",
        "{}", "{", "}", "}{", "a{b}c", "a{b", "a}b{c}", "{}a", "{a}",
        "{}{b}", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "a{ }b",
        "{route}:1", "{route}:2"]


def test_keyslot_matches_cluster_keyslot(cluster):
    assert crc16(b"123456789") == 0x31C3
    assert keyslot("foo") == 12182
    assert keyslot("a{b}c") == keyslot("b")
    assert keyslot("{}{b}") == keyslot("{}{b}".encode()) != keyslot("b")
    assert keyslot("foo{{bar}}zap") == keyslot("{bar")
    port = cluster.ports[0]
    for key in KEYS:
        assert cluster.keyslot(key) == cluster.command(port, "CLUSTER", "KEYSLOT", key), key
        assert 0 <= keyslot(key) < SLOTS


def test_writes_land_on_owner_and_cli_c_reads_them(cluster):
    keys = {"route:%d" % i: "sip:u%d@127.0.0.1" % i for i in range(12)}
    for k, v in keys.items():
        assert cluster.set(k, v) == "OK"
    for k, v in keys.items():
        owner = cluster.owner(keyslot(k))
        assert cluster.cli(owner, "GET", k) == v
        assert cluster.cli_c("GET", k) == v
    # they are spread: more than one master holds some
    assert len({cluster.owner(keyslot(k)) for k in keys}) > 1
    assert cluster.rpush("{r}list", "a", "b", "c") == 3
    assert cluster.cli_c("LRANGE", "{r}list", 0, -1).split("\n") == ["a", "b", "c"]
    assert cluster.delete("{r}list") == 1
    for k in keys:
        assert cluster.delete(k) == 1
    assert cluster.cli_c("EXISTS", "route:1") == "0"


def test_migration_ask_then_moved(own_cluster):
    c = own_cluster
    k1, k2 = "{rt}:one", "{rt}:two"
    slot = keyslot(k1)
    assert keyslot(k2) == slot
    c.set(k1, "v1")
    c.rpush(k2, "x", "y")
    src = c.owner(slot)
    dst = _other_master(c, src)

    assert c.migrate_slot_begin(slot, dst) == src
    assert c.migrate_keys(slot, dst, keys=[k1]) == [k1]
    # k1 is gone from the source: it answers ASK (the slot is migrating)
    out = c.cli(src, "GET", k1, check=False)
    assert out.startswith("ASK %d 127.0.0.1:%d" % (slot, dst)), out
    # k2 has not moved: the source still serves it
    assert c.cli(src, "LRANGE", k2, 0, -1).split("\n") == ["x", "y"]
    # the destination serves k1 only to a client that says ASKING
    out = c.cli(dst, "GET", k1, check=False)
    assert out.startswith("MOVED %d 127.0.0.1:%d" % (slot, src)), out
    with pytest.raises(RespError) as e:
        c.command(dst, "GET", k1)
    assert e.value.kind == "MOVED"
    # clients following redirects find both keys mid-migration
    assert c.cli_c("GET", k1) == "v1"
    assert c.get(k1) == b"v1"
    # a new key of the slot, written mid-migration, goes to the destination
    assert c.set("{rt}:three", "v3") == "OK"

    assert sorted(c.migrate_keys(slot, dst)) == [k2]
    c.migrate_slot_end(slot, dst)
    assert all(c.owner(slot, via=p) == dst for p in c.ports)
    out = c.cli(src, "GET", k1, check=False)
    assert out.startswith("MOVED %d 127.0.0.1:%d" % (slot, dst)), out
    assert c.cli(dst, "GET", k1) == "v1"
    assert c.cli(dst, "GET", "{rt}:three") == "v3"
    assert c.cli_c("LRANGE", k2, 0, -1).split("\n") == ["x", "y"]
    assert c.command(src, "CLUSTER", "COUNTKEYSINSLOT", slot) == 0
    assert c.command(dst, "CLUSTER", "COUNTKEYSINSLOT", slot) == 3
    assert c.wait_ok(5)

    # and back again in one go
    assert sorted(c.migrate_slot(slot, src)) == sorted([k1, k2, "{rt}:three"])
    assert c.owner(slot) == src
    assert c.cli_c("GET", k1) == "v1"


def test_password(tmp_path):
    c = RedisCluster(str(tmp_path / "rcluster-pw"), password="s3cr;et pw")
    procs = []
    try:
        c.start()
        procs = [c.procs[p] for p in c.ports]
        port = c.ports[0]
        (r,) = resp(port, ("GET", "x"))             # no AUTH
        assert isinstance(r, RespError) and r.kind == "NOAUTH"
        with pytest.raises(RespError):
            resp(port, ("PING",), password="wrong")
        assert c.cluster_info(port)["cluster_state"] == "ok"
        assert c.set("{pw}k", "v") == "OK"
        assert c.cli_c("GET", "{pw}k") == "v"
        # MIGRATE needs AUTH <password> towards the destination
        slot = keyslot("{pw}k")
        src = c.owner(slot)
        dst = _other_master(c, src)
        assert c.migrate_slot(slot, dst) == ["{pw}k"]
        assert c.cli(dst, "GET", "{pw}k") == "v"
        assert c.cli(src, "GET", "{pw}k", check=False).startswith("MOVED")
    finally:
        c.stop()
    assert procs and all(p.poll() is not None for p in procs)


def test_node_down_and_back(tmp_path):
    # node timeout 1 s rather than 2 s: this test waits for it a few times
    c = RedisCluster(str(tmp_path / "rcluster-down"), node_timeout_ms=1000)
    try:
        c.start()
        _node_down_and_back(c)
    finally:
        c.stop()


def _node_down_and_back(c):
    victim = c.ports[2]
    others = c.ports[:2]
    key = next("k%d" % i for i in range(1000) if c.owner(keyslot("k%d" % i)) == victim)
    c.set(key, "v")
    c.stop_node(victim)
    assert not c.is_up(victim) and c.live_ports == others
    # without replicas the cluster loses coverage: the survivors say fail
    # once the node timeout has passed and they agree it has failed
    assert c.wait_state("fail", timeout=10), [c.cluster_info(p) for p in others]
    out = c.cli(others[0], "GET", "anything", check=False)
    assert out.startswith("CLUSTERDOWN"), out
    c.restart_node(victim)
    assert c.wait_ok(15)
    assert c.node_id(victim) == c.command(victim, "CLUSTER", "MYID").decode()
    # save "" and appendonly no: the restarted node's data is gone
    assert c.cli_c("GET", key) == ""


def test_single_master(tmp_path):
    """redis-cli --cluster create wants 3 masters: 1 or 2 are set up by hand."""
    c = RedisCluster(str(tmp_path / "rcluster-one"), masters=1)
    try:
        c.start()
        (port,) = c.ports
        ((start, end, host, mport, mid),) = c.slots(port)
        assert (start, end, mport, mid) == (0, SLOTS - 1, port, c.node_id(port))
        # a lone node was never MEET-ed, so it does not know its own IP:
        # redis 7.0 gives an empty host (clients use the address they dialled)
        assert host in ("", "127.0.0.1")
        assert c.set("k", "v") == "OK" and c.cli_c("GET", "k") == "v"
    finally:
        c.stop()
