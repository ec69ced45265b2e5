"""The default lookup (route_types "any") learns each key's type: an exact
lookup of a key of known type is that type's plain read command (GETRANGE,
LRANGE, ZREVRANGE), which costs Redis a third of the lookup script; a key of
unknown type is read as the type most keys have once one dominates, else by
the script; a wrong guess (WRONGTYPE) runs the script at once. What a user
sees on the wire never depends on which command was sent; what Redis counts
(INFO commandstats, errorstats) shows the cost."""

from conftest import redis_and_kamailio
from harness import sip


def invite(k, user):
    r = sip.request(k.port, user=user)
    assert r is not None, "no answer from kamailio"
    return r


def scripts(r):
    return r.calls("evalsha_ro") + r.calls("evalsha") + r.calls("eval_ro") + r.calls("eval")


def wrongtype(r):
    for line in r.cli("INFO", "errorstats").splitlines():
        if line.startswith("errorstat_WRONGTYPE:"):
            return int(line.split("count=")[1].split(",")[0])
    return 0


def test_a_table_of_strings_is_read_with_getrange_once_learned(workdir):
    # one worker: the guess for keys not seen yet is per process
    with redis_and_kamailio(workdir, "tl-strings", WORKERS="1") as (r, k):
        for i in range(40):
            r.cli("SET", "route:u%d" % i, "192.0.2.%d:5060" % (i + 1))
        for i in range(20):   # the first answers teach the type most keys have
            assert invite(k, "u%d" % i).contact_uris() == ["sip:u%d@192.0.2.%d:5060" % (i, i + 1)]
        s0, g0 = scripts(r), r.calls("getrange")
        for i in range(20, 40):   # never looked up before: guessed as strings
            assert invite(k, "u%d" % i).contact_uris() == ["sip:u%d@192.0.2.%d:5060" % (i, i + 1)]
        assert scripts(r) - s0 == 0
        assert r.calls("getrange") - g0 == 20
        assert wrongtype(r) == 0
        # a missing key is no route, as with the script
        assert invite(k, "nobody").code == 404


def test_a_key_that_changes_type_is_answered_right_at_once(workdir):
    with redis_and_kamailio(workdir, "tl-change", WORKERS="1") as (r, k):
        for i in range(20):
            r.cli("SET", "route:s%d" % i, "192.0.2.1")
            invite(k, "s%d" % i)
        r.cli("SET", "route:bob", "192.0.2.7")
        assert invite(k, "bob").contact_uris() == ["sip:bob@192.0.2.7"]
        # the same key, now a list: the GETRANGE guessed answers WRONGTYPE,
        # the script answers at once, in the same request
        r.cli("DEL", "route:bob")
        r.cli("RPUSH", "route:bob", "192.0.2.8", "192.0.2.9")
        w0 = wrongtype(r)
        assert invite(k, "bob").contacts() == ["<sip:bob@192.0.2.8>;q=1",
                                               "<sip:bob@192.0.2.9>;q=0.5"]
        assert wrongtype(r) - w0 == 1
        # learned: its next lookups are LRANGE, no error, no script
        s0, l0 = scripts(r), r.calls("lrange")
        for _ in range(5):
            assert invite(k, "bob").contact_uris() == ["sip:bob@192.0.2.8", "sip:bob@192.0.2.9"]
        assert (scripts(r) - s0, r.calls("lrange") - l0, wrongtype(r) - w0) == (0, 5, 1)
        # and a sorted set likewise
        r.cli("DEL", "route:bob")
        r.cli("ZADD", "route:bob", "1", "192.0.2.10", "0.5", "192.0.2.11")
        assert invite(k, "bob").contacts() == ["<sip:bob@192.0.2.10>;q=1",
                                               "<sip:bob@192.0.2.11>;q=0.5"]
        z0 = r.calls("zrevrange")
        assert invite(k, "bob").contact_uris() == ["sip:bob@192.0.2.10", "sip:bob@192.0.2.11"]
        assert r.calls("zrevrange") - z0 == 1


def test_a_mixed_table_answers_every_type_and_errs_once_per_minority_key(workdir):
    with redis_and_kamailio(workdir, "tl-mixed", WORKERS="2") as (r, k):
        want = {}
        for i in range(30):
            kind = ("string", "list", "zset")[i % 3]
            key, user = "route:m%d" % i, "m%d" % i
            if kind == "string":
                r.cli("SET", key, "192.0.2.%d" % i)
                want[user] = ["sip:%s@192.0.2.%d" % (user, i)]
            elif kind == "list":
                r.cli("RPUSH", key, "192.0.2.%d" % i, "198.51.100.%d" % i)
                want[user] = ["sip:%s@192.0.2.%d" % (user, i), "sip:%s@198.51.100.%d" % (user, i)]
            else:
                r.cli("ZADD", key, "0.5", "198.51.100.%d" % i, "1", "192.0.2.%d" % i)
                want[user] = ["sip:%s@192.0.2.%d" % (user, i), "sip:%s@198.51.100.%d" % (user, i)]
        for _ in range(3):
            for user, uris in want.items():
                assert invite(k, user).contact_uris() == uris, user
        # no type dominates: unknown keys went to the script, never a wrong
        # guess; once learned, the plain commands answer
        assert wrongtype(r) == 0
        s0 = scripts(r)
        for user, uris in want.items():
            assert invite(k, user).contact_uris() == uris, user
        assert scripts(r) - s0 == 0


def test_prefix_matching_reads_its_candidates_with_the_script(workdir):
    with redis_and_kamailio(workdir, "tl-prefix", PREFIX_MATCH="1") as (r, k):
        r.cli("SET", "route:+4930", "192.0.2.30")
        for _ in range(5):
            invite(k, "+4930123")
        s0, g0 = scripts(r), r.calls("getrange")
        assert invite(k, "+4930123").contact_uris() == ["sip:+4930123@192.0.2.30"]
        assert scripts(r) - s0 == 1
