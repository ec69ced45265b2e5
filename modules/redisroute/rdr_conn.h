/*
 * Copyright (C) 2026 The redisroute developers
 * Contact: the redisroute issue tracker (README, section "Contact")
 *
 * This file is part of redisroute, a Kamailio module.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * redisroute is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or
 * (at your option) any later version
 *
 * redisroute is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
 * GNU General Public License for more details.
 *
 * You should have received a copy of the GNU General Public License
 * along with this program; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA  02110-1301  USA
 */

/*
 * redisroute - the per-process Redis connection: timeouts, down/retry, the
 * shared up/down state and recovery, the master the sentinel watcher
 * published; and reading a subscribed (pub/sub) connection in the module's
 * processes that do (the cache's notifier, the sentinel watcher)
 */

#ifndef _RDR_CONN_H_
#define _RDR_CONN_H_

#include <hiredis/hiredis.h>
#include <time.h>

#include "redisroute.h"

/*
 * Three ways of talking to Redis, each for a reason:
 *  - rdr_conn_command() (here): one blocking command at a time, bounded by
 *    command_timeout; what a SIP worker's sip_lookup() waits on, and what
 *    the notifier, the RPC and the sentinel watcher use. Simple, and a
 *    worker has nothing else to do meanwhile.
 *  - the async I/O process (rdr_async_io.c): a connection opened here like
 *    any other, whose socket is then made non-blocking (O_NONBLOCK, and
 *    REDIS_BLOCK cleared so hiredis takes EAGAIN for no error) to pipeline
 *    every worker's lookups on one socket; hiredis's own async API would
 *    need an event library for that one socket.
 *  - the cluster's batch (rdr_cluster_eval_batch(), rdr_cluster.c):
 *    blocking, but every master gets its share of many lookups in one write
 *    before the answers are read, because MOVED, ASK and the slot map make
 *    a lookup's nodes known only as its replies come back.
 */

/*
 * the per-process Redis connection
 *
 * Each Kamailio process has its own connection, opened in child_init (or on
 * first use, in a process forked without it). A transport failure or a
 * timeout drops it and marks it down; it is retried at most every
 * retry_interval ms, so that while Redis is down a request costs no network
 * wait at all. Recovery is shared: once any process has had an answer on a
 * new connection, every process whose connection is down retries at its
 * next request, unless the shared up/down state says Redis is down again.
 * That state also serves logging (one line per outage and per recovery) and
 * the status RPC.
 *
 * With Redis Sentinel, the sentinel watcher process asks the sentinels where
 * the master is and publishes it here; every connect goes to the published
 * master and checks with ROLE that it really is the master. A SIP worker
 * never asks a sentinel itself: a master that fails or is no master is
 * reported to the watcher (rdr_conn_request_rediscovery), and a change the
 * watcher publishes makes every process reconnect.
 *
 * In cluster mode this file only configures and opens connections; the
 * per-node connections and the slot map are rdr_cluster.c's.
 */

/* Shared state of the module's files (the connection's, the cluster's):
 * size bytes of zeroed shared memory that start with a gen_lock_t, which is
 * initialised. NULL on failure, logged ("cannot init the <what> lock").
 * rdr_shared_free() destroys the lock and frees the block (NULL: nothing). */
void *rdr_shared_new(size_t size, const char *what);
void rdr_shared_free(void *shared);

/* An up/down state shared between processes. Only the process that flips
 * it logs, so an outage gives one line, not one per process or request.
 * rdr_updown_set_down and rdr_updown_set_up are called with the lock that
 * guards the state held; up is an int, read atomically without the lock. */
typedef struct rdr_updown
{
	int up; /* 1 up, 0 down, -1 not tried yet */
	long long down_since_ms;
	long outages;
} rdr_updown_t;

/* 1 when this call took it down (the caller logs the outage). */
int rdr_updown_set_down(rdr_updown_t *s, long long now_ms);
/* 1 when up; without the lock (an atomic read), for fast paths. */
int rdr_updown_is_up(rdr_updown_t *s);
/* Returns the state it was in; *down_for_ms: how long it was down. */
int rdr_updown_set_up(
		rdr_updown_t *s, long long now_ms, long long *down_for_ms);

typedef struct rdr_conn_status
{
	int up;			 /* 1 up, 0 down, -1 not tried yet */
	long down_ms;	 /* how long it has been down, 0 when up */
	char error[128]; /* last error seen by any process */
	long outages;	 /* outages since start */
	char master[RDR_URL_HOST_MAX + 8]; /* with sentinels: current master */
	/* "off", "on, verified <name>", or "on, handshake failed: <why>" */
	char tls[RDR_URL_HOST_MAX + 32];
} rdr_conn_status_t;

/* In mod_init: copies the configuration, allocates the shared state. */
int rdr_conn_init(const rdr_conn_cfg_t *cfg);
/* In child_init: first connect attempt; a failure is not fatal. */
void rdr_conn_child_init(void);

/* One server's lookup (the master the sentinels name, with Sentinel): the
 * lookup's command over the candidate keys, as rdr_eval_choose() says
 * (*kind: what it was at the end; a wrong guess of a key's type is sent
 * again as the script). Returns its reply (maybe an error reply), or NULL
 * when Redis is unavailable; the caller frees it. *matched: the index in
 * keys of the key that exists, -1 when the reply names none. Waits at most
 * command_timeout (twice after a wrong guess). (In cluster mode,
 * rdr_cluster_eval() instead: rdr_lookup.c chooses.) */
redisReply *rdr_conn_eval(int nkeys, const char **keys, const size_t *klens,
		int *matched, int *kind);
void rdr_conn_destroy(void);

/* The blocking way (see above): sends one command (argv-style) and returns
 * its reply, or NULL when Redis
 * is unavailable (down and not yet due for a retry, connect failure,
 * timeout, I/O error). An error reply from Redis is returned as a reply of
 * type REDIS_REPLY_ERROR; the caller frees any reply with freeReplyObject. */
redisReply *rdr_conn_command(
		int argc, const char **argv, const size_t *argvlen);

/* Records an error reply (Redis answered, but with an error) for the status
 * RPC without dropping the connection. 1 when it differs from the last error
 * recorded by any process (the caller logs it: one line while the same
 * error lasts, not one per request). */
int rdr_conn_note_error(const char *what, const char *detail, int detail_len);

/* What went wrong on ctx after a failed command, for a log or the status
 * RPC: its errstr, or "no reply" when hiredis left none. */
const char *rdr_conn_errstr(const redisContext *ctx);

/* This process's connection (NULL when down), for the notifier's
 * subscribed reads. */
redisContext *rdr_conn_context(void);

/* An extra connection, beside this process's own and set up like it (same
 * node, AUTH, db), for what cannot share that one: the cache's subscriptions
 * (a subscribed connection takes no other command) and the notifier's INFO
 * reads beside its subscription. For the caller to use and redisFree(); NULL
 * on failure, which the status RPC shows as "second connection: ..." but
 * which is no outage of this process's own. */
redisContext *rdr_conn_open_extra(void);

/* Opens a connection: to host:port, or to the unix socket path when path is
 * not NULL, with the connect and command timeouts, then the TLS handshake
 * when tls is 1 (bounded by the connect timeout), then AUTH [user]
 * password unless password is empty. Every reconnect comes here again, so
 * each redoes the handshake, AUTH and SELECT (never redisReconnect, which
 * loses the TLS context). Every connection the module opens, to
 * Redis and to the sentinels, is opened here; the callers differ only in the
 * credentials (the server URL's user and password, or sentinel_password) and
 * in how they word a failure. Returns the context, or NULL with *stage set
 * to what failed and detail to why ("Connection refused", "WRONGPASS ..."). */
#define RDR_DIAL_CONNECT 1 /* the connect, or setting the command timeout */
#define RDR_DIAL_AUTH 2
#define RDR_DIAL_TLS 3
redisContext *rdr_conn_dial(const char *host, int port, const char *path,
		int tls, const char *user, const char *password, int *stage,
		char *detail, int detail_len);

/* "connect", "TLS" or "AUTH": an RDR_DIAL_* stage in a log's words. */
const char *rdr_conn_stage_name(int stage);

/* A connection to one node (cluster mode): connect and command timeouts,
 * AUTH with the server URL's credentials. NULL with err set on failure. */
redisContext *rdr_conn_open_host(
		const char *host, int port, char *err, int errlen);

/* 1 once per redisroute.reconnect not yet followed by this process (cluster
 * mode: the caller drops its connections). */
int rdr_conn_reconnect_take(void);

/* Milliseconds on CLOCK_MONOTONIC: the one clock of every interval, retry
 * and timeout the module keeps (never the wall clock, which may jump). */
long long rdr_conn_now_ms(void);

/* Shared recovery, also for a connection kept beside this process's own
 * (the async I/O process's): the token to keep when it fails; whether
 * another connection has answered since that token, Redis being up again
 * (then retry at once rather than after retry_interval); and, for a new
 * connection's first answer, telling the others. */
int rdr_conn_recovery_token(void);
int rdr_conn_recovered_since(int token);
void rdr_conn_recovered(void);

/* Whole seconds on the same clock (cache TTLs, log rate limits): one
 * clock_gettime(), as cheap as time(). Only differences are meaningful. */
time_t rdr_conn_now_s(void);

/* Sentinel mode, for the watcher: publishes the master the sentinels name;
 * a change is logged and makes every process reconnect. */
void rdr_conn_publish_master(const char *host, int port);
/* Sentinel mode, for the watcher: why no master could be asked (shown by
 * the workers' errors while none is known). */
void rdr_conn_master_unknown(const char *why);
/* Sentinel mode: asks the watcher to ask the sentinels again (the published
 * master failed, or is no master); never waits. */
void rdr_conn_request_rediscovery(void);
/* How many rediscoveries were asked for since start (the watcher compares). */
int rdr_conn_rediscovery_requests(void);

/* Drops this process's connection and retries at once on next use. */
void rdr_conn_reset(void);

/* Makes every process drop its connection and reconnect (with sentinels:
 * ask them again) on its next lookup, without waiting for retry_interval. */
void rdr_conn_reconnect_all(void);
/* 1 when this process has not yet followed the last reconnect_all. */
int rdr_conn_reconnect_pending(void);
/* How many reconnect_all since start (atomic), for a connection kept beside
 * this process's own (a worker's cache subscription) to follow them too. */
int rdr_conn_reconnects(void);

void rdr_conn_get_status(rdr_conn_status_t *st);
const rdr_conn_cfg_t *rdr_conn_cfg(void);

/* "host:port[/db]" or "unix:/path", without credentials. */
const char *rdr_conn_address(void);

/*
 * reading a subscribed Redis connection (pub/sub), and the
 * module's processes that do it (the cache notifier, the sentinel watcher)
 */

/* Reads ctx, subscribed, until it fails, stays silent for 3 s (it is PINGed
 * every second of silence, and Redis answers PINGs while subscribed) or
 * stop() returns non-zero; hands every message to on_message. For the
 * module's forked processes: it calls cfg_update() between reads. */
void rdr_pubsub_listen(redisContext *ctx,
		void (*on_message)(const redisReply *), int (*stop)(void));

/* The same, where the caller has work of its own between reads (the
 * cache_preload loader): idle(t0_ms) is called whenever nothing is left to
 * read at t0_ms, every message before it applied, and returns how long to
 * wait for the next one (0: it has more to do at once). */
void rdr_pubsub_listen_idle(redisContext *ctx,
		void (*on_message)(const redisReply *), int (*stop)(void),
		int (*idle)(long long t0_ms));

/* Hands every message hiredis already holds for ctx (one read may bring
 * several) to on_message, reading nothing. Returns how many, or -1 when ctx
 * has failed. */
int rdr_pubsub_take_buffered(
		redisContext *ctx, void (*on_message)(const redisReply *));

/* Hands every message already readable on ctx to on_message, never
 * waiting. Returns 0, or -1 when ctx has failed. */
int rdr_pubsub_drain(redisContext *ctx, void (*on_message)(const redisReply *));

/* One listening process of the module: rdr_pubsub_proc_register() in
 * mod_init, rdr_pubsub_proc_fork() in child_init(PROC_MAIN). The process is
 * forked without the modules' child_init (it opens what it uses itself),
 * follows runtime config changes, and runs loop(), which does not return.
 * rdr_pubsub_proc_fork() returns 0 in the main process, -1 when the fork
 * fails. */
void rdr_pubsub_proc_register(void);
int rdr_pubsub_proc_fork(char *desc, void (*loop)(void));

/* The payload of a pushed message: ["message", channel, payload] or
 * ["pmessage", pattern, channel, payload]; NULL for anything else (pongs,
 * subscription confirmations). *channel is set when not NULL. */
const redisReply *rdr_pubsub_payload(
		const redisReply *r, const redisReply **channel);

#endif
