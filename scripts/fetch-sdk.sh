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

# deb-src twins of the machine's own deb entries that serve kamailio,
# whatever their host (Debian or Ubuntu mirror), from one-line lists and
# deb822 .sources alike; written to $1 in deb822 form.
write_deb_src_entries() {
	local out=$1 uris f
	uris=$(apt-cache policy kamailio | awk '$2 ~ /:\/\// { sub(/\/$/, "", $2); print $2 }' | sort -u)
	if [ -z "$uris" ]; then
		echo "fetch-sdk: apt knows no repository that serves kamailio" >&2
		return 1
	fi
	: >"$out"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [options] URI suite components...
		awk -v uris="$uris" '
			BEGIN { n = split(uris, u, "\n"); for (i = 1; i <= n; i++) ok[u[i]] = 1 }
			$1 != "deb" { next }
			{
				opts = ""; i = 2
				if ($2 ~ /^\[/) { while ($i !~ /\]$/) { opts = opts " " $i; i++ }; opts = opts " " $i; i++ }
				uri = $i; sub(/\/$/, "", uri)
				if (!(uri in ok)) next
				comps = ""; for (j = i + 2; j <= NF; j++) comps = comps " " $j
				signed = ""
				if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
				printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:%s\n", $i, $(i + 1), comps
				if (signed != "") printf "Signed-By: %s\n", signed
				printf "\n"
			}' "$f" >>"$out"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && [ "$f" != "$out" ] || continue
		# stanzas with Types: deb whose URIs serve kamailio, as Types: deb-src
		awk -v uris="$uris" '
			BEGIN { RS = ""; ORS = "\n\n"; n = split(uris, u, "\n"); for (i = 1; i <= n; i++) ok[u[i]] = 1 }
			{
				if ($0 !~ /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/) next
				if ($0 ~ /(^|\n)Enabled:[ \t]*no/) next
				served = 0
				if (match($0, /(^|\n)URIs:[^\n]*/)) {
					m = split(substr($0, RSTART, RLENGTH), w, /[ \t\n]+/)
					for (k = 1; k <= m; k++) { x = w[k]; sub(/\/$/, "", x); if (x in ok) served = 1 }
				}
				if (!served) next
				sub(/Types:[^\n]*/, "Types: deb-src"); print
			}' "$f" >>"$out"
	done
	if [ ! -s "$out" ]; then
		rm -f "$out"
		echo "fetch-sdk: found no deb entry for $uris to derive a deb-src entry from" >&2
		return 1
	fi
}

# apt-get source --download-only, except that a detached upstream signature
# (*.asc) the mirror fails to serve is skipped instead of failing: the build
# does not need it. Every file is checked against the hash apt knows from the
# signed Sources index; the .dsc's own checksums are checked on unpacking.
# Prints the names of the skipped files.
download_source() {
	local work=$1 uri file size hash
	(cd "$work" && apt-get source --print-uris "kamailio=$version") |
		sed -n "s/^'\([^']*\)' \([^ ]*\) \([0-9]*\) \(.*\)$/\1 \2 \3 \4/p" >"$work/uris"
	if [ ! -s "$work/uris" ]; then
		echo "fetch-sdk: apt-get source knows no source for kamailio=$version" >&2
		return 1
	fi
	while read -r uri file size hash; do
		if /usr/lib/apt/apt-helper -oDebug::NoDropPrivs=true download-file "$uri" "$work/$file" "$hash" >"$work/$file.log" 2>&1; then
			continue
		fi
		case $file in
			*.asc) rm -f "$work/$file"; echo "$file" ;;
			*) echo "fetch-sdk: downloading $uri failed:" >&2; cat "$work/$file.log" >&2; return 1 ;;
		esac
	done <"$work/uris"
}

if [ ! -f "$dest/src/Makefile.defs" ]; then
	if ! apt-get source --print-uris "kamailio=$version" >/dev/null 2>&1; then
		src=/etc/apt/sources.list.d/redisroute-deb-src.sources
		echo "fetch-sdk: adding deb-src entries in $src"
		if [ "$(id -u)" -ne 0 ]; then
			echo "fetch-sdk: not root; add a deb-src entry for kamailio $version" >&2
			exit 1
		fi
		write_deb_src_entries "$src"
		apt-get update -q >/dev/null
	fi
	work="$build/sdk-download"
	rm -rf "$work" "$dest"
	mkdir -p "$work"
	skipped=$(download_source "$work")
	dsc=$(ls "$work"/kamailio_*.dsc | head -n 1)
	# Unpack with Debian's patches applied: some change the build flags.
	if [ -z "$skipped" ]; then
		dpkg-source -x "$dsc" "$dest" >"$work/unpack.log" 2>&1 ||
			{ cat "$work/unpack.log" >&2; exit 1; }
	else
		echo "fetch-sdk: skipped" $skipped "(upstream signature the mirror did not serve; the .dsc checksums of the rest are verified)"
		# dpkg-source wants every file of the .dsc: check the ones we have
		# against its Checksums-Sha256, then unpack without its own check.
		printf '%s\n' $skipped >"$work/skipped"
		awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3 { print $1 "  " $3 }' "$dsc" |
			grep -v -F -f "$work/skipped" >"$work/sha256"
		(cd "$work" && sha256sum --quiet -c sha256) ||
			{ echo "fetch-sdk: a source file does not match the .dsc" >&2; exit 1; }
		dpkg-source --no-check -x "$dsc" "$dest" >"$work/unpack.log" 2>&1 ||
			{ cat "$work/unpack.log" >&2; exit 1; }
	fi
	rm -rf "$work" "$build"/kamailio_*.orig.tar.*
fi

# Configure it the way debian/rules does (it exports
# DEB_BUILD_MAINT_OPTIONS = hardening=+all), so the module's compile flags
# match the packaged binary's; again whenever those flags change.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
# from the tree itself, as a package build would (-ffile-prefix-map)
cd "$dest"
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) -DVERSION_NODATE"
ldflags="$(dpkg-buildflags --get LDFLAGS)"
# The core turns on shared pthread mutexes (a compile flag checked at module
# load) only when it finds libssl >= 1.1 at configure time, as Debian's build
# does: take the installed binary's word for it, not this machine's libssl-dev.
if kamailio -v 2>/dev/null | grep -q 'TLS_PTHREAD_MUTEX_SHARED'; then
	mutex_shared=1
else
	mutex_shared=0
fi
configured="$cflags|$ldflags|$mutex_shared"
if [ "$(cat "$stamp" 2>/dev/null)" != "$configured" ]; then
	make -C "$dest" cfg quiet=silent prefix=/usr cfg_target=/etc/kamailio/ \
		FLAVOUR=kamailio group_include=kstandard LIBSSL_SET_MUTEX_SHARED=$mutex_shared \
		CC_EXTRA_OPTS="$cflags" LD_EXTRA_OPTS="$ldflags" >/dev/null
	printf '%s' "$configured" >"$stamp"
fi
ln -sfn "kamailio-$version" "$build/kamailio-src"
