#!/usr/bin/env bash
# `make run`: a redis-server on 127.0.0.1:6379 (unless one answers already)
# and kamailio in the foreground with etc/kamailio.cfg on 127.0.0.1:5060.
# Ctrl-C stops both (only the redis-server this script started).
#
# Environment: RUN_SIP_PORT (5060), RUN_REDIS_PORT (6379), RUN_CTL (kamcmd's
# socket, unix:/var/run/kamailio/kamailio_ctl), REDIS_SERVER (redis-server;
# valkey-server for Valkey, with its valkey-cli).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

sip_port=${RUN_SIP_PORT:-5060}
redis_port=${RUN_REDIS_PORT:-6379}
ctl=${RUN_CTL:-unix:/var/run/kamailio/kamailio_ctl}
server=${REDIS_SERVER:-redis-server}
cli=${server%-server}-cli

moddir=$(sh scripts/moddir.sh)
redis_pid=""
kamailio_pid=""

cleanup() {
	[ -n "$kamailio_pid" ] && kill "$kamailio_pid" 2>/dev/null || true
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if "$cli" -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
	echo "run: using the $server already answering on 127.0.0.1:$redis_port"
else
	mkdir -p build/redis
	"$server" --bind 127.0.0.1 --port "$redis_port" --dir "$top/build/redis" \
		--save "" --appendonly no --daemonize no \
		--logfile "$top/build/redis/redis.log" &
	redis_pid=$!
	for _ in $(seq 1 50); do
		"$cli" -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "run: started $server on 127.0.0.1:$redis_port (pid $redis_pid, log build/redis/redis.log)"
fi

mkdir -p /var/run/kamailio
cat <<MSG
run: kamailio on 127.0.0.1:$sip_port (udp, tcp) with etc/kamailio.cfg. Try:
       $cli -p $redis_port SET route:alice 192.0.2.10:5060
       sipp -sf tests/e2e/sipp/redirect_uac.xml -s alice -m 1 127.0.0.1:$sip_port
                               (302 -> Contact <sip:alice@192.0.2.10:5060>)
       kamcmd -s $ctl redisroute.status
     Ctrl-C stops it.
MSG
kamailio -f etc/kamailio.cfg -L "$top/modules/redisroute:$moddir" -DD -E -m 64 -M 8 \
	-A "SIP_PORT=$sip_port" -A "REDIS_SERVER=\"redis://127.0.0.1:$redis_port/0\"" \
	-A "CTL_SOCKET=\"$ctl\"" &
kamailio_pid=$!
wait "$kamailio_pid"
