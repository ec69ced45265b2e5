"""The Debian package, as an operator uses it: `make deb`, then
`apt-get install ./kamailio-redisroute-module_*.deb`, then kamailio started
with a cfg that says loadmodule "redisroute.so" with no path and no -L, so
the module comes from Debian's module directory like sl.so does.

This changes the real system (it installs and removes a package), so it needs
root and fails, rather than skips, without it. The package is removed again
whatever happens, and a redisroute.so that `make install` had put in the
module directory before is put back."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from harness import sip
from conftest import DEBIAN_MODULE_DIR, ROOT, Kamailio, Redis

PACKAGE = "kamailio-redisroute-module"
INSTALLED_SO = os.path.join(DEBIAN_MODULE_DIR, "redisroute.so")
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
# another apt/dpkg run (an install elsewhere on the machine) may hold the lock
APT_LOCK = ["-o", "DPkg::Lock::Timeout=120"]

CFG = """#!KAMAILIO
debug=2
children=2
listen=udp:127.0.0.1:SIP_PORT
auto_aliases=no
dns=no
rev_dns=no

loadmodule "ctl.so"
loadmodule "kex.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "redisroute.so"

modparam("ctl", "binrpc", CTL_SOCKET)
modparam("redisroute", "server", REDIS_SERVER)

request_route {
	if ($rm == "ACK") {
		exit;
	}
	if ($rU == $null) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (sip_redirect()) {
		exit;
	}
	sl_send_reply("404", "Not Found");
}
"""


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def package_status(name):
    r = run(["dpkg-query", "-W", "-f=${Status}", name])
    return r.stdout.strip() if r.returncode == 0 else ""


def build_deb():
    r = run(["make", "-C", ROOT, "deb"], timeout=300)
    assert r.returncode == 0, "make deb failed:\n%s\n%s" % (r.stdout[-3000:], r.stderr[-3000:])
    paths = re.findall(r"^deb: (/\S+\.deb)$", r.stdout, re.M)
    assert len(paths) == 1, "make deb named no .deb:\n" + r.stdout[-3000:]
    assert os.path.isfile(paths[0]), paths[0]
    return paths[0]


def remove_package():
    return run(["apt-get", "remove", "-y"] + APT_LOCK + [PACKAGE],
               env=APT_ENV, timeout=180)


class DebianKamailio(Kamailio):
    """kamailio exactly as a Debian user starts it: Debian's default module
    path (no -L), the cfg's defines given with -A as conftest does, never
    under a wrapper."""

    def __init__(self, workdir, cfg, redis_port):
        super().__init__(workdir, cfg, workers=None, own_module=False, wrapper=(),
                         defines={"REDIS_SERVER": '"redis://127.0.0.1:%d/0"' % redis_port})

    def mapped_redisroute(self):
        """Every redisroute.so file mapped by the running kamailio."""
        with open("/proc/%d/maps" % self.proc.pid) as f:
            return {line.split(None, 5)[5].strip() for line in f
                    if len(line.split(None, 5)) == 6 and
                    line.rstrip().endswith("/redisroute.so")}


def test_deb_installs_and_kamailio_loads_it_from_debian_module_dir():
    if os.geteuid() != 0:
        pytest.fail("test_deb.py installs and removes a package with apt-get: "
                    "run it as root (uid is %d)" % os.geteuid())
    status = package_status(PACKAGE)
    if status and status.split()[-1] not in ("not-installed", "config-files"):
        pytest.fail("%s is already installed (%s); this test installs and then "
                    "removes it: remove it first (apt-get remove %s)"
                    % (PACKAGE, status, PACKAGE))

    kamailio_version = run(["dpkg-query", "-W", "-f=${Version}", "kamailio"]).stdout.strip()
    assert kamailio_version, "the kamailio package is not installed"
    deb = build_deb()

    tmp = tempfile.mkdtemp(prefix="redisroute-deb-")
    # a module copied there by `make install` (owned by no package) is
    # replaced by the package's and deleted with it: put it back afterwards
    backup = None
    if os.path.exists(INSTALLED_SO):
        backup = os.path.join(tmp, "redisroute.so.make-install")
        shutil.copy2(INSTALLED_SO, backup)

    redis = kamailio = None
    removal = None
    try:
        r = run(["apt-get", "install", "-y"] + APT_LOCK + [os.path.abspath(deb)],
                env=APT_ENV, timeout=180)
        assert r.returncode == 0, "apt-get install %s failed:\n%s\n%s" % (
            deb, r.stdout[-3000:], r.stderr[-3000:])

        # the exact kamailio it was built against, and the derived libraries
        r = run(["dpkg", "-s", PACKAGE])
        assert r.returncode == 0, r.stderr
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", r.stdout, re.M))
        assert fields["Status"] == "install ok installed"
        depends = [d.strip() for d in fields["Depends"].split(",")]
        assert "kamailio (= %s)" % kamailio_version in depends, fields["Depends"]
        assert any(d.startswith("libhiredis") for d in depends), fields["Depends"]
        assert any(d.startswith("libc6") for d in depends), fields["Depends"]

        # in Debian's module directory, next to sl.so, owned by the package
        assert os.path.isfile(INSTALLED_SO)
        assert oct(os.stat(INSTALLED_SO).st_mode & 0o7777) == "0o644"
        owner = run(["dpkg", "-S", INSTALLED_SO]).stdout
        assert owner.startswith(PACKAGE + ":"), owner
        listing = run(["dpkg", "-L", PACKAGE]).stdout.splitlines()
        assert INSTALLED_SO in listing
        doc = "/usr/share/doc/%s/" % PACKAGE
        for f in ("README.md", "doc/building.md", "modules/redisroute/README",
                  "copyright", "changelog.Debian.gz",
                  "examples/kamailio.cfg", "examples/kamailio-proxy.cfg"):
            assert doc + f in listing, f

        redis = Redis(os.path.join(tmp, "redis")).start()
        redis.cli("SET", "route:alice", "192.0.2.10:5060")
        cfg = os.path.join(tmp, "kamailio.cfg")
        with open(cfg, "w") as f:
            f.write(CFG)
        kamailio = DebianKamailio(tmp, cfg, redis.port)
        assert "-L" not in kamailio.command()
        kamailio.start()

        r = sip.request(kamailio.port, "INVITE", user="alice")
        assert r is not None, "no answer to the INVITE:\n" + kamailio.log()[-3000:]
        assert (r.code, r.reason) == (302, "Moved Temporarily")
        assert r.contact_uris() == ["sip:alice@192.0.2.10:5060"]

        # the module kamailio runs is the packaged file, and nothing else
        assert kamailio.mapped_redisroute() == {INSTALLED_SO}
        rc, out = kamailio.kamcmd("redisroute.status")
        assert rc == 0, out
        assert str(redis.port) in out, out
    finally:
        if kamailio is not None:
            kamailio.stop()
        if redis is not None:
            redis.stop()
        removal = remove_package()
        gone = not os.path.exists(INSTALLED_SO)
        if backup:
            shutil.copy2(backup, INSTALLED_SO)
        shutil.rmtree(tmp, ignore_errors=True)

    assert removal.returncode == 0, "apt-get remove %s failed:\n%s\n%s" % (
        PACKAGE, removal.stdout[-3000:], removal.stderr[-3000:])
    assert gone, INSTALLED_SO + " left behind by apt-get remove"
    status = package_status(PACKAGE)
    assert status == "" or "not-installed" in status, status
