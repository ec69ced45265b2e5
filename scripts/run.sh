#!/usr/bin/env bash
# `make run`: a redis-server on 127.0.0.1:6379 (unless one answers already)
# and kamailio in the foreground with etc/kamailio.cfg on 127.0.0.1:5060.
# Ctrl-C stops both (only the redis-server this script started).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

moddir=$(dirname "$(dpkg -L kamailio | grep '/modules/sl.so$')")
redis_pid=""
kamailio_pid=""

cleanup() {
	[ -n "$kamailio_pid" ] && kill "$kamailio_pid" 2>/dev/null || true
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	echo "run: using the redis-server already answering on 127.0.0.1:6379"
else
	mkdir -p build/redis
	redis-server --bind 127.0.0.1 --port 6379 --dir "$top/build/redis" \
		--save "" --appendonly no --daemonize no \
		--logfile "$top/build/redis/redis.log" &
	redis_pid=$!
	for _ in $(seq 1 50); do
		redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "run: started redis-server on 127.0.0.1:6379 (pid $redis_pid, log build/redis/redis.log)"
fi

mkdir -p /var/run/kamailio
cat <<MSG
run: kamailio on 127.0.0.1:5060 (udp, tcp) with etc/kamailio.cfg. Try:
       redis-cli SET route:alice 192.0.2.10:5060
       sipp -sn uac -s alice -m 1 127.0.0.1:5060      (302 -> Contact <sip:alice@192.0.2.10:5060>)
       kamcmd redisroute.status
     Ctrl-C stops it.
MSG
kamailio -f etc/kamailio.cfg -L "$top/modules/redisroute:$moddir" -DD -E -m 64 -M 8 &
kamailio_pid=$!
wait "$kamailio_pid"
