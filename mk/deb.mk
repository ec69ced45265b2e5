# make deb - a Debian binary package of the module.
#
#   make deb        build, then build/deb/kamailio-redisroute-module_<version>_<arch>.deb
#   make deb-lint   the same, then lintian on it (installs lintian if missing)
#
# The package depends on the exact kamailio version the module was built
# against (kamailio refuses a module of another version) and installs
# redisroute.so into Debian's kamailio module directory, so a cfg loads it
# with a plain loadmodule "redisroute.so". Made by packaging/build-deb.sh with
# dpkg-deb from a hand-written DEBIAN/control (packaging/control.in); see the
# script for how version, Depends and paths are derived, and which variables
# (DEB_UPSTREAM_VERSION, DEB_REVISION, DEB_MAINTAINER) override them.
#
#   apt-get install ./build/deb/kamailio-redisroute-module_*.deb

DEB_OUT := $(CURDIR)/$(BUILD)/deb

.PHONY: deb deb-lint

deb: build
	@bash packaging/build-deb.sh "$(DEB_OUT)" "$(COREPATH)"

deb-lint: deb
	@bash scripts/deps.sh lintian
	lintian --display-info --pedantic $(DEB_OUT)/kamailio-redisroute-module_*.deb
