#!/usr/bin/env bash
# debian-root.sh SUITE: the committed tree's `make test` inside a fresh
# Debian root of SUITE (trixie: make test-debian13, bookworm:
# make test-debian12), as a new user on a fresh machine of that release
# would run it.
#
# The root is built with mmdebstrap from the Debian mirror this machine's apt
# already uses, cached in build/root-SUITE/ and reused while it is younger
# than ROOT_MAX_AGE_DAYS (default 7; 0 builds it anew). The committed tree
# (HEAD, not the work tree) is cloned into it afresh each run. /proc, /sys,
# /dev, /dev/pts and /dev/shm are bind-mounted for the run and unmounted on
# any exit, failure included.
#
# Inside, as root, with CI passed through:
#   make test                          the whole suite (on Redis)
#   trixie also: make e2e REDIS_SERVER=valkey-server E2E_TESTS="..."
#                                      redirect, forward, cache, sentinel and
#                                      cluster tests on Valkey
#                make intree-check     the module built inside the Kamailio
#                                      6.0 SDK with its CMake and its make
# ROOT_STEPS overrides what runs inside (a shell command, run in the clone).
#
# Environment: ROOT_MIRROR (default: the mirror apt serves base-files from).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
suite=${1:?usage: debian-root.sh SUITE (trixie, bookworm)}
root=$top/build/root-$suite
max_age_days=${ROOT_MAX_AGE_DAYS:-7}
valkey_tests="test_redirect.py test_forward.py test_cache.py test_sentinel.py test_cluster.py test_tls.py test_acl.py test_route_types.py test_async.py"
case $suite in
	bookworm) default_steps="make test" ;; # Debian 12 has no Valkey
	*) default_steps="make test && make e2e REDIS_SERVER=valkey-server E2E_TESTS='$valkey_tests' && make intree-check" ;;
esac
steps=${ROOT_STEPS:-$default_steps}
stamp=$root/.redisroute-root

say() { echo "$suite: $*"; }

if [ "$(id -u)" -ne 0 ]; then
	say "needs root (mmdebstrap, chroot, mounts)" >&2
	exit 1
fi

# Mount points under the root, deepest first.
mounts_under_root() {
	awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

unmount_all() {
	local m
	for m in $(mounts_under_root); do
		umount "$m" 2>/dev/null || umount -l "$m" || true
	done
}

# The Debian mirror apt installs this machine's base system from.
default_mirror() {
	local uri
	uri=$(apt-cache policy base-files 2>/dev/null |
		awk '$1 ~ /^[0-9]+$/ && $2 ~ /^(https?|file):/ { print $2; exit }')
	if [ -z "$uri" ]; then
		say "apt serves base-files from no mirror here; set ROOT_MIRROR" >&2
		return 1
	fi
	echo "$uri"
}

root_is_fresh() {
	[ -f "$stamp" ] || return 1
	[ "$max_age_days" -gt 0 ] || return 1
	[ -n "$(find "$stamp" -mtime -"$max_age_days" 2>/dev/null)" ]
}

build_root() {
	local mirror
	mirror=${ROOT_MIRROR:-$(default_mirror)}
	# a root left by an aborted run: never delete through a live bind mount
	unmount_all
	if [ -n "$(mounts_under_root)" ]; then
		say "$root still has mounts; not removing it" >&2
		exit 1
	fi
	rm -rf --one-file-system "$root"
	mkdir -p "$(dirname "$root")"
	command -v mmdebstrap >/dev/null || bash "$top/scripts/deps.sh" mmdebstrap
	say "building a $suite root from $mirror in $root"
	mmdebstrap --quiet --variant=apt --include=git,make,ca-certificates \
		"$suite" "$root" "$mirror"
	# Package scripts must not start services here: the root shares this
	# machine's network, and the tests start their own servers.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	date -u +%FT%TZ >"$stamp"
}

if root_is_fresh; then
	say "reusing $root (built $(cat "$stamp"))"
else
	build_root
fi

trap unmount_all EXIT
# a signal, or a closed stdout (SIGPIPE: the tee of .ci/run gone), must still
# reach the EXIT trap that unmounts
trap 'exit 130' INT TERM HUP PIPE

cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
clone=$root/root/redisroute
rm -rf "$clone"
git clone -q "$top" "$clone"
say "cloned $(git -C "$top" rev-parse --short HEAD) into $clone"

for m in proc sys dev dev/pts dev/shm; do
	mkdir -p "$root/$m"
	mount --bind "/$m" "$root/$m"
done

start=$(date +%s)
set +e
chroot "$root" /usr/bin/env -i \
	HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
	bash -c "cd /root/redisroute && $steps"
rc=$?
set -e
say "$( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") in $(($(date +%s) - start)) s"
exit "$rc"
