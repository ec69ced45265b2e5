#!/usr/bin/env bash
# Fetch and configure the Kamailio source matching the installed kamailio
# package: the module SDK. Debian ships no headers for modules, and a module
# built against another version or other flags is refused at start-up.
# Usage: fetch-sdk.sh BUILD_DIR   -> prints nothing; BUILD_DIR/kamailio-src is
# the configured tree (its src/ is COREPATH).
set -eu

build=${1:?usage: fetch-sdk.sh BUILD_DIR}
mkdir -p "$build"
build=$(cd "$build" && pwd)

version=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null || true)
if [ -z "$version" ]; then
	echo "fetch-sdk: the kamailio package is not installed (run make deps)" >&2
	exit 1
fi
upstream=${version#*:}
upstream=${upstream%-*}
dest="$build/kamailio-$version"
stamp="$dest/.redisroute-configured"

if [ ! -f "$dest/src/Makefile.defs" ]; then
	# A deb-src entry for the suites this machine already uses.
	if ! apt-get source --print-uris "kamailio=$version" >/dev/null 2>&1; then
		src=/etc/apt/sources.list.d/redisroute-deb-src.sources
		echo "fetch-sdk: adding deb-src entries in $src"
		if [ "$(id -u)" -ne 0 ]; then
			echo "fetch-sdk: not root; add a deb-src entry for kamailio $version" >&2
			exit 1
		fi
		: >"$src"
		for f in /etc/apt/sources.list.d/*.sources; do
			[ "$f" = "$src" ] && continue
			grep -q '^URIs:.*debian' "$f" || continue
			awk 'BEGIN{RS=""; ORS="\n\n"} /Types:[^\n]*deb/ && /URIs:[^\n]*debian/ {
				sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" >>"$src"
		done
		if [ -f /etc/apt/sources.list ]; then
			grep -E '^deb[[:space:]]' /etc/apt/sources.list |
				sed 's/^deb[[:space:]]/deb-src /' >/etc/apt/sources.list.d/redisroute-deb-src.list || true
		fi
		apt-get update -q >/dev/null
	fi
	work="$build/sdk-download"
	rm -rf "$work" "$dest"
	mkdir -p "$work"
	(cd "$work" && apt-get source --download-only "kamailio=$version" >/dev/null 2>&1 ||
		{ echo "fetch-sdk: apt-get source kamailio=$version failed" >&2; exit 1; })
	# Unpack with Debian's patches applied: some change the build flags.
	dsc=$(ls "$work"/kamailio_*.dsc | head -n 1)
	dpkg-source --no-check -x "$dsc" "$dest" >/dev/null
	rm -rf "$work"
fi

# Configure it the way debian/rules does (it exports
# DEB_BUILD_MAINT_OPTIONS = hardening=+all), so the module's compile flags
# match the packaged binary's; again whenever those flags change.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
# from the tree itself, as a package build would (-ffile-prefix-map)
cd "$dest"
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) -DVERSION_NODATE"
ldflags="$(dpkg-buildflags --get LDFLAGS)"
configured="$cflags|$ldflags"
if [ "$(cat "$stamp" 2>/dev/null)" != "$configured" ]; then
	make -C "$dest" cfg quiet=silent prefix=/usr cfg_target=/etc/kamailio/ \
		FLAVOUR=kamailio group_include=kstandard \
		CC_EXTRA_OPTS="$cflags" LD_EXTRA_OPTS="$ldflags" >/dev/null
	printf '%s' "$configured" >"$stamp"
fi
ln -sfn "kamailio-$version" "$build/kamailio-src"
