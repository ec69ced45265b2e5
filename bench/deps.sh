#!/usr/bin/env bash
# `make bench`'s extra dependencies, installed with apt-get when missing
# (make deps, run first, installs kamailio, redis, sipp, ...):
#   kamailio-redis-modules  ndb_redis, for the hand-written config (b)
#   valgrind                callgrind, for the instructions per request
#   python3-matplotlib      the PNG chart (the bench runs without it)
exec bash "$(dirname "$0")/../scripts/deps.sh" kamailio-redis-modules valgrind python3-matplotlib
