#!/usr/bin/env bash
# Builds the binary package kamailio-redisroute-module from the module already
# built by `make build`, with dpkg-deb (no debhelper, no debian/ source
# package): the staged tree and its DEBIAN/control are made here.
#
# Usage: build-deb.sh OUT_DIR [COREPATH]
#   OUT_DIR   where the .deb is written (the staging tree goes below it)
#   COREPATH  the Kamailio tree's src/ the module was built against (the
#             SDK); its debian/changelog names the kamailio version. Without
#             it, or without a debian/changelog, the installed kamailio's.
#
# Everything is derived, nothing about this machine is hard-coded:
#   version       the module's git tag (v1.2.3 -> 1.2.3, 1.2.3+git<n>.<sha>
#                 after it), else 0.1.0+git<commit date>.<sha>; then the
#                 kamailio it was built against (no epoch, '-' -> '.') and
#                 the Debian revision:
#                 0.1.0+git20261123.022e533+kamailio5.6.3.2-1
#                 (the kamailio part is not in the revision: lintian wants
#                 that of at most three dot-separated parts)
#   Depends       kamailio (= <exact version built against>), and the shared
#                 libraries' packages as dpkg-shlibdeps finds them
#                 (libhiredis0.14, libc6), or `dpkg -S` of what ldd lists
#   module dir    the directory of kamailio's own sl.so (scripts/moddir.sh)
#   Architecture  the installed kamailio's
# Overrides (environment): DEB_UPSTREAM_VERSION, DEB_REVISION (default 1),
# DEB_MAINTAINER, SOURCE_DATE_EPOCH.
set -euo pipefail

PACKAGE=kamailio-redisroute-module
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:?usage: build-deb.sh OUT_DIR [COREPATH]}
corepath=${2:-}
module="$root/modules/redisroute/redisroute.so"

die() { echo "deb: $*" >&2; exit 1; }

[ -f "$module" ] || die "$module is missing; run make build"
for tool in dpkg-deb dpkg-query strip gzip md5sum; do
	command -v "$tool" >/dev/null || die "$tool not found"
done

git_() { git -C "$root" "$@" 2>/dev/null; }

# ---- the kamailio the module was built against ---------------------------
installed=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null || true)
[ -n "$installed" ] || die "the kamailio package is not installed"
kver=
if [ -n "$corepath" ] && [ -r "$corepath/../debian/changelog" ]; then
	kver=$(dpkg-parsechangelog -l "$corepath/../debian/changelog" -S Version 2>/dev/null || true)
fi
if [ -z "$kver" ]; then
	kver=$installed
	echo "deb: no debian/changelog in the Kamailio tree; assuming it is the installed kamailio $kver" >&2
elif [ "$kver" != "$installed" ]; then
	echo "deb: warning: built against kamailio $kver but $installed is installed;" \
		"the package will not install on this machine" >&2
fi
arch=$(dpkg-query -W -f='${Architecture}' kamailio)
moddir=$(sh "$root/scripts/moddir.sh") && [ -d "$moddir" ] || die "kamailio's module directory not found (scripts/moddir.sh)"

# ---- version -------------------------------------------------------------
sha=$(git_ rev-parse --short=7 HEAD || true)
if [ -n "${DEB_UPSTREAM_VERSION:-}" ]; then
	upstream=$DEB_UPSTREAM_VERSION
elif desc=$(git_ describe --tags --match 'v[0-9]*' --match '[0-9]*'); then
	desc=${desc#v}
	if [[ $desc =~ ^(.*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
		upstream="${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
	else
		upstream=$desc
	fi
elif [ -n "$sha" ]; then
	upstream="0.1.0+git$(TZ=UTC git_ log -1 --date=format-local:%Y%m%d --format=%cd HEAD).$sha"
else
	upstream=0.1.0
fi
# the kamailio suffix: no epoch, '-' -> '.' (5.6.3-2 -> 5.6.3.2)
ksuffix=${kver#*:}
ksuffix=${ksuffix//-/.}
version="${upstream}+kamailio${ksuffix}-${DEB_REVISION:-1}"
dpkg --validate-version "$version" >/dev/null 2>&1 || die "invalid version '$version'"

maintainer=${DEB_MAINTAINER:-$(git_ log -1 --format='%an <%ae>' HEAD || true)}
maintainer=${maintainer:-redisroute maintainers <root@localhost>}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git_ log -1 --format=%ct HEAD || date +%s)}

# ---- staging tree --------------------------------------------------------
# Laid out as debian/<package>/ so that dpkg-shlibdeps sees the module where
# it expects a package's files.
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage="$out/debian/$PACKAGE"
doc="$stage/usr/share/doc/$PACKAGE"
rm -rf "$out/debian"
umask 022
install -d "$stage/DEBIAN" "$stage$moddir" "$doc/examples" \
	"$stage/usr/share/lintian/overrides"
: >"$out/debian/control"

install -m 0644 "$module" "$stage$moddir/redisroute.so"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$stage$moddir/redisroute.so"

install -m 0644 "$root/README.md" "$doc/README.md"
# the README's links: the doc/ pages and the module's reference, at the same
# relative paths
install -d "$doc/doc" "$doc/modules/redisroute"
install -m 0644 "$root"/doc/*.md "$doc/doc/"
install -m 0644 "$root/modules/redisroute/README" "$doc/modules/redisroute/README"
install -m 0644 "$here/copyright" "$doc/copyright"
install -m 0644 "$root/etc/kamailio.cfg" "$doc/examples/kamailio.cfg"
install -m 0644 "$root/etc/kamailio-proxy.cfg" "$doc/examples/kamailio-proxy.cfg"
install -m 0644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/$PACKAGE"
{
	printf '%s (%s) unstable; urgency=medium\n\n' redisroute "$version"
	printf '  * redisroute%s built against kamailio %s.\n\n' \
		"${sha:+ git commit $sha}" "$kver"
	printf ' -- %s  %s\n' "$maintainer" "$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

# ---- dependencies --------------------------------------------------------
shlibs=$(cd "$out" && dpkg-shlibdeps -O "$stage$moddir/redisroute.so" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p' || true)
if [ -z "$shlibs" ]; then
	# no dpkg-dev: the packages owning the libraries the module links
	shlibs=$(ldd "$module" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
		while read -r lib; do
			dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true
		done | cut -d: -f1 | sort -u | paste -sd, | sed 's/,/, /g')
fi
[ -n "$shlibs" ] || die "could not derive the shared library dependencies"
depends="kamailio (= $kver), $shlibs"

# ---- control, md5sums, build ---------------------------------------------
find "$stage" -path "$stage/DEBIAN" -prune -o -type f -print0 | xargs -0 chmod 0644
find "$stage" -type d -print0 | xargs -0 chmod 0755
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@PACKAGE@|$PACKAGE|" -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
	-e "s|@MAINTAINER@|$maintainer|" -e "s|@INSTALLED_SIZE@|$installed_size|" \
	-e "s|@DEPENDS@|$depends|" "$here/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) \
	>"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
find "$stage" -print0 | xargs -0 touch -h -d "@$SOURCE_DATE_EPOCH"

deb="$out/${PACKAGE}_${version#*:}_${arch}.deb"
rm -f "$out/${PACKAGE}"_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "deb: $deb"
echo "deb:   Depends: $depends"
echo "deb:   $moddir/redisroute.so"
