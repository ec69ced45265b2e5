#!/bin/sh
# Runs kamailio under valgrind's memcheck, for `make memcheck`.
#
#   REDISROUTE_KAMAILIO_WRAPPER=tests/memcheck/vgkamailio.sh  (conftest.py)
#   vgkamailio.sh kamailio -f cfg ...     ->  valgrind ... kamailio
#                                             --loadmodule=memcheck_shim.so -f cfg ...
#
# Environment:
#   MEMCHECK_LOGDIR         where vg.<pid>.log go, one per process (required)
#   MEMCHECK_SHIM           memcheck_shim.so (pkg -> system malloc, shm
#                           canaries; see shim/memcheck_shim.c); empty: none
#   MEMCHECK_VALGRIND_OPTS  more valgrind options, e.g. --track-origins=yes
#
# Kamailio forks its workers (no exec): memcheck follows forks by itself and
# %p gives each process its own log; --trace-children=yes also follows an
# exec, should a module run one. No --error-exitcode: kamailio's own exit
# status is what the tests look at; tests/memcheck/vgreport.py judges the logs.
set -e
here=$(cd "$(dirname "$0")" && pwd)
: "${MEMCHECK_LOGDIR:?MEMCHECK_LOGDIR: where to put the valgrind logs}"
mkdir -p "$MEMCHECK_LOGDIR"
prog=$1
shift
if [ -n "${MEMCHECK_SHIM:-}" ]; then
	set -- "--loadmodule=$MEMCHECK_SHIM" "$@"
fi
# shellcheck disable=SC2086
exec valgrind --tool=memcheck --trace-children=yes \
	--log-file="$MEMCHECK_LOGDIR/vg.%p.log" \
	--suppressions="$here/kamailio.supp" \
	--num-callers=40 --error-limit=no --keep-debuginfo=yes --vgdb=no \
	--leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite --gen-suppressions=all \
	${MEMCHECK_VALGRIND_OPTS:-} \
	"$prog" "$@"
