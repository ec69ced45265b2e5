#!/bin/sh
# The module's layout check: no two of its files call each other.
#
# Reads the module's object files (modules/redisroute/*.o, left by make
# build) with nm: a file "calls" another when it uses (undefined symbol) a
# symbol the other defines (a function, or data: a parameter read across
# files counts too). Fails when two files use each other (A uses a symbol
# of B and B one of A), and lists each such pair with the symbols each way.
# make test runs it after make build; make layout-check alone.
#
#   sh tests/unit/layout_check.sh [objdir]

dir=${1:-$(dirname "$0")/../../modules/redisroute}
# the objects of the sources there are (not those a renamed file left)
set --
for c in "$dir"/*.c; do
	[ -f "${c%.c}.o" ] && set -- "$@" "${c%.c}.o"
done
if [ $# -eq 0 ]; then
	echo "layout_check: no object files in $dir (run make build first)" >&2
	exit 2
fi

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

for o in "$@"; do
	f=$(basename "$o" .o)
	# functions defined (global text symbols): "symbol file"
	nm -g --defined-only "$o" | awk -v f="$f" '$2 ~ /^[TDBRC]$/ { print $3, f }'
done | sort > "$tmp/defs"
for o in "$@"; do
	f=$(basename "$o" .o)
	nm -u "$o" | awk -v f="$f" '{ print $2, f }'
done | sort > "$tmp/uses"

# caller callee symbol, for every use of a function another file defines
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3, $1 }' \
	| sort -u > "$tmp/calls"

# pairs that call each other
awk '{ e[$1 " " $2] = 1 }
	END { for(k in e) { split(k, p, " ");
		if(p[1] < p[2] && ((p[2] " " p[1]) in e)) print p[1], p[2] } }' \
	"$tmp/calls" | sort > "$tmp/mutual"

files=$(awk '{ print $1; print $2 }' "$tmp/calls" | sort -u | wc -l)
edges=$(awk '{ print $1, $2 }' "$tmp/calls" | sort -u | wc -l)
if [ -s "$tmp/mutual" ]; then
	while read -r a b; do
		echo "layout_check: $a and $b call each other:"
		echo "  $a -> $b: $(awk -v a="$a" -v b="$b" '$1 == a && $2 == b { printf "%s ", $3 }' "$tmp/calls")"
		echo "  $b -> $a: $(awk -v a="$a" -v b="$b" '$1 == b && $2 == a { printf "%s ", $3 }' "$tmp/calls")"
	done < "$tmp/mutual"
	exit 1
fi
echo "layout_check: $files files, $edges calling pairs, none calls back"
