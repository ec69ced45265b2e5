#!/bin/sh
# Prints Debian's kamailio module directory: the directory of the kamailio
# package's own sl.so (/usr/lib/x86_64-linux-gnu/kamailio/modules on amd64).
# The one place that knows how to find it: the Makefile (make install),
# scripts/run.sh, packaging/build-deb.sh and, through
# tests/harness/servers.py, the tests and the bench ask this script.
# Exits 1, saying why on stderr, when kamailio is not installed.
sl=$(dpkg -L kamailio 2>/dev/null | grep -m 1 '/modules/sl\.so$')
if [ -z "$sl" ]; then
	echo "moddir: kamailio's module directory not found (dpkg -L kamailio: is the kamailio package installed?)" >&2
	exit 1
fi
dirname "$sl"
