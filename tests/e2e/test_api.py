"""redisroute's C API (modules/redisroute/api.h) end to end: tests/apimod's
apitest module binds with redisroute_load_api() and looks up through
api.lookup() from its own script function, apitest_lookup(key), in
tests/e2e/cfg/api.cfg; routes set with redis-cli, the 302 it answers read off
the wire. apitest.so is built by `make apimod` (make e2e and make test)."""

import os

import pytest

from harness import sip
from conftest import (Kamailio, ROOT, CFG_DIR, redis_and_kamailio,
                      wait_until)

API_CFG = os.path.join(CFG_DIR, "api.cfg")
APIMOD_DIR = os.path.join(ROOT, "tests", "apimod")


@pytest.fixture(scope="module")
def api_kamailio(workdir):
    assert os.path.exists(os.path.join(APIMOD_DIR, "apitest.so")), \
        "tests/apimod/apitest.so missing: run make apimod"
    with redis_and_kamailio(workdir, "api", cfg=API_CFG,
                            module_dirs=[APIMOD_DIR]) as (r, k):
        yield r, k


@pytest.fixture
def api(api_kamailio):
    r, k = api_kamailio
    r.cli("FLUSHALL")
    return r, k


def invite(k, user="alice", **kw):
    resp = sip.request(k.port, user=user, **kw)
    assert resp is not None, "no answer from kamailio"
    return resp


def test_string_route_redirects(api):
    r, k = api
    r.cli("SET", "route:alice", "192.0.2.10:5060")
    resp = invite(k, "alice")
    assert (resp.code, resp.reason) == (302, "Moved Temporarily")
    # a bare host completed with the R-URI user the caller passed
    assert resp.contact_uris() == ["sip:alice@192.0.2.10:5060"]
    assert resp.header("x-api-key") == ["alice"]


def test_list_route_in_order(api):
    r, k = api
    r.cli("RPUSH", "route:bob", "sip:bob@pbx1.example.com", "192.0.2.7",
          "bad host")
    resp = invite(k, "bob")
    assert resp.code == 302
    # validated as for sip_redirect(): the bad entry is dropped
    assert resp.contact_uris() == ["sip:bob@pbx1.example.com", "sip:bob@192.0.2.7"]


def test_sips_flag_and_a_key_other_than_the_user(api):
    r, k = api
    r.cli("SET", "route:team", "192.0.2.30")
    resp = sip.request(k.port, ruri="sips:hank@127.0.0.1:%d" % k.port,
                       transport="tcp", headers=["X-Key: team"])
    assert resp is not None and resp.code == 302
    assert resp.contact_uris() == ["sips:hank@192.0.2.30"]
    assert resp.header("x-api-key") == ["team"]


def test_return_codes_and_statistics(api):
    r, k = api
    before = k.stats()
    resp = invite(k, "nobody")
    assert (resp.code, resp.header("x-rc")) == (480, ["-1"])
    r.cli("SET", "route:bad", "bad host")
    assert invite(k, "bad").header("x-rc") == ["-3"]
    r.cli("HSET", "route:hash", "a", "b")
    assert invite(k, "hash").header("x-rc") == ["-3"]
    # lookups through the API count like the script functions'
    after = k.stats()
    assert after["lookups"] - before["lookups"] == 3
    assert after["misses"] - before["misses"] == 1
    assert after["bad_data"] - before["bad_data"] == 2


def test_redis_down_is_minus_two(workdir):
    with redis_and_kamailio(workdir, "api-down", cfg=API_CFG,
                            module_dirs=[APIMOD_DIR]) as (r, k):
        r.cli("SET", "route:alice", "192.0.2.10")
        assert invite(k, "alice").code == 302
        r.stop()
        resp = invite(k, "alice")
        assert (resp.code, resp.header("x-rc")) == (480, ["-2"])


def test_without_redisroute_the_binding_fails(workdir):
    k = Kamailio(os.path.join(workdir, "api-unbound"), cfg=API_CFG,
                 defines={"NO_REDISROUTE": None}, module_dirs=[APIMOD_DIR])
    k.start(expect_ready=False)
    try:
        assert wait_until(lambda: k.proc.poll() is not None, 15)
        assert k.proc.returncode != 0
        log = k.log()
    finally:
        k.stop()
    assert "cannot find bind_redisroute" in log, log[-2000:]
