#!/usr/bin/env bash
# `make bench`'s extra dependencies, installed with apt-get when missing
# (make deps, run first, installs kamailio, redis, sipp, ...):
#   kamailio-redis-modules  ndb_redis, for the hand-written config (b)
#   valgrind                callgrind, for the instructions per request
#   python3-matplotlib      the PNG chart (the bench runs without it)
set -eu

packages=(kamailio-redis-modules valgrind python3-matplotlib)
missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bench deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "bench deps: not root; run as root, or install: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
