#!/usr/bin/env bash
# Install, with apt-get, whatever the build, `make run` and `make test` need and
# this machine lacks. Idempotent: a machine that has everything is left alone.
# With arguments: those packages instead; the one installer every target
# calls (make fuzz, bench, docs, deb-lint, memcheck, scripts/debian-root.sh).
# REDIS_SERVER=valkey-server: Valkey's server, cli and sentinel instead of
# Redis's (the tests run against whichever REDIS_SERVER names).
set -eu

case ${REDIS_SERVER:-redis-server} in
	valkey-server) server_packages=(valkey-server valkey-tools valkey-sentinel) ;;
	*) server_packages=(redis-server redis-tools redis-sentinel) ;;
esac

default_packages=(
	kamailio                  # the SIP server the module loads into
	kamailio-lua-modules      # app_lua, for the KEMI tests
	kamailio-tls-modules      # tls.so, loaded beside the module in a TLS test
	libhiredis-dev            # Redis client library
	libssl-dev openssl        # TLS where hiredis has hiredis_ssl; test certificates
	"${server_packages[@]}"   # routing table (server, cli, sentinel)
	strace                    # the cluster test that checks one round trip per lookup
	sip-tester                # sipp
	python3-pytest            # end-to-end test runner (/usr/bin/python3)
	check                     # unit-test framework for the pure C parts
	pkg-config gcc libc6-dev make   # building (libc6-dev: only a recommend of gcc)
	dpkg-dev                  # dpkg-buildflags, dpkg-source (SDK fetch)
	xsltproc docbook-xsl docbook-xml lynx libxml2-utils   # module docs (make docs)
	ca-certificates
)
if [ $# -gt 0 ]; then
	packages=("$@")
else
	packages=("${default_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
	p=${p%%#*}
	[ -n "$p" ] || continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; run as root, or install: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian's packages start their services where an init system runs; the
# tests and `make run` start their own, so stop any the install started.
for svc in redis-server redis-sentinel valkey-server valkey-sentinel kamailio; do
	if command -v service >/dev/null 2>&1; then
		service "$svc" stop >/dev/null 2>&1 || true
	fi
done
