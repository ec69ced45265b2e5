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
 * redisroute - the cache's invalidation: the notifier process and each
 * worker's subscription (CLIENT TRACKING, or keyspace notifications); with
 * Redis Cluster, one subscription per master
 */

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/ut.h"

#include "rdr_cache.h"
#include "rdr_cache_sync.h"
#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_gw.h"
#include "rdr_replica.h"
#include "rdr_stats.h"
#include "redisroute.h"

/*
 * the cache's notifier process
 */

#define RDR_TRACKING_CHANNEL "__redis__:invalidate"

static char _rdr_notify_pattern[64 + 2 * RDR_PREFIX_MAX];
static char _rdr_notify_gw_pattern[64 + 2 * RDR_PREFIX_MAX];
static char _rdr_notify_prefix[RDR_PREFIX_MAX + 1]; /* BCAST PREFIX */
static char _rdr_notify_gw_prefix[RDR_PREFIX_MAX + 1]; /* and the gateways' */
/* 1: the routes are watched too (the cache is on) */
static int _rdr_notify_routes = 0;
/* per process: who else hears of the changed keys (the health process) */
static void (*_rdr_notify_listener)(const str *key) = NULL;

void rdr_notify_set_listener(void (*fn)(const str *key))
{
	_rdr_notify_listener = fn;
}

/* Anything may have changed: a flush, a new subscription. */
static void rdr_notify_everything(void)
{
	rdr_gw_subscribed();
	if(_rdr_notify_listener != NULL)
		_rdr_notify_listener(NULL);
}
static int _rdr_notify_retry_ms = 1000;
static int _rdr_notify_mode = RDR_INVALIDATE_TRACKING;
/* the notifier process counts the invalidations (every process applies
 * each one to the shared cache; it counts it once) */
static int _rdr_notify_counts = 0;

/* FLUSHALL, FLUSHDB and SWAPDB change keys without any keyspace
 * notification; Redis counts them in INFO commandstats, which an extra
 * connection (the subscribed one takes no INFO) reads every
 * RDR_NOTIFY_FLUSH_CHECK_MS */
#define RDR_NOTIFY_FLUSH_CHECK_MS 500
static redisContext *_rdr_notify_stats = NULL;
static long long _rdr_notify_flushes = 0;
static long long _rdr_notify_checked_ms = 0;

/* The keyspace channel pattern of the keys under prefix, into out. */
static void rdr_notify_pattern(const str *prefix, int db, char *out, int size)
{
	int i, n;

	n = snprintf(out, size, "__keyspace@%d__:", db);
	/* the prefix is matched literally: escape the glob characters */
	for(i = 0; i < prefix->len && n < size - 3; i++) {
		if(strchr("*?[]\\", prefix->s[i]) != NULL)
			out[n++] = '\\';
		out[n++] = prefix->s[i];
	}
	out[n++] = '*';
	out[n] = '\0';
}

int rdr_notify_setup(const str *prefix, const str *gw_prefix, int db,
		int retry_interval_ms, int mode, int routes)
{
	_rdr_notify_mode = mode;
	_rdr_notify_routes = routes;
	memcpy(_rdr_notify_prefix, prefix->s, prefix->len);
	_rdr_notify_prefix[prefix->len] = '\0';
	memcpy(_rdr_notify_gw_prefix, gw_prefix->s, gw_prefix->len);
	_rdr_notify_gw_prefix[gw_prefix->len] = '\0';
	rdr_notify_pattern(
			prefix, db, _rdr_notify_pattern, sizeof(_rdr_notify_pattern));
	rdr_notify_pattern(gw_prefix, db, _rdr_notify_gw_pattern,
			sizeof(_rdr_notify_gw_pattern));
	_rdr_notify_retry_ms = retry_interval_ms > 0 ? retry_interval_ms : 1000;
	return 0;
}

int rdr_notify_init(void)
{
	rdr_pubsub_proc_register();
	return 0;
}

/* How many FLUSHALL, FLUSHDB and SWAPDB Redis has run (with tracking, which
 * signals the first two itself: SWAPDB only); -1 on failure, -2 when INFO
 * is refused. */
static long long rdr_notify_flush_count(void)
{
	static const char *names[] = {"cmdstat_swapdb:calls=",
			"cmdstat_flushall:calls=", "cmdstat_flushdb:calls="};
	int nnames = _rdr_notify_mode == RDR_INVALIDATE_TRACKING ? 1 : 3;
	const char *argv[2] = {"INFO", "commandstats"};
	redisReply *r;
	long long total = 0;
	int i;

	if(_rdr_notify_stats == NULL)
		return -1;
	r = redisCommandArgv(_rdr_notify_stats, 2, argv, NULL);
	if(r != NULL && r->type == REDIS_REPLY_ERROR) {
		LM_DBG("cache: INFO commandstats refused: %.*s\n", (int)r->len, r->str);
		freeReplyObject(r);
		return -2;
	}
	if(r == NULL || r->type != REDIS_REPLY_STRING) {
		if(r)
			freeReplyObject(r);
		return -1;
	}
	for(i = 0; i < nnames; i++) {
		const char *p = strstr(r->str, names[i]);
		if(p)
			total += atoll(p + strlen(names[i]));
	}
	freeReplyObject(r);
	return total;
}

/* Empties the cache (one epoch: O(1)), counted once; every gateway is read
 * again. */
static void rdr_notify_flush(const char *why)
{
	rdr_cache_flush();
	rdr_replica_heard(NULL);
	rdr_gw_flush();
	if(_rdr_notify_listener != NULL)
		_rdr_notify_listener(NULL);
	if(_rdr_notify_counts) {
		rdr_stats_inc(RDR_STAT_CACHE_FLUSHES);
		LM_INFO("cache: emptied after %s\n", why);
	}
}

/* rdr_pubsub_listen()'s stop(): a reconnect was asked for, or the INFO
 * connection failed (1); empties the cache after a flush (0). */
static int rdr_notify_check(void)
{
	long long now, n;

	if(rdr_conn_reconnect_pending())
		return 1;
	now = rdr_conn_now_ms();
	if(now - _rdr_notify_checked_ms < RDR_NOTIFY_FLUSH_CHECK_MS)
		return 0;
	_rdr_notify_checked_ms = now;
	rdr_cache_sweep();
	if(_rdr_notify_stats == NULL)
		return 0; /* tracking without INFO rights: no SWAPDB watch */
	n = rdr_notify_flush_count();
	if(n < 0)
		return 1;
	if(n != _rdr_notify_flushes) {
		_rdr_notify_flushes = n;
		rdr_notify_flush(_rdr_notify_mode == RDR_INVALIDATE_TRACKING
								 ? "SWAPDB"
								 : "FLUSHALL, FLUSHDB or SWAPDB");
	}
	return 0;
}

static void rdr_notify_drop_stats(void)
{
	if(_rdr_notify_stats != NULL)
		redisFree(_rdr_notify_stats);
	_rdr_notify_stats = NULL;
}

/* The INFO connection beside the subscription. Keyspace notifications need
 * it (FLUSHALL, FLUSHDB and SWAPDB send none); with tracking only SWAPDB
 * does, so without INFO rights the cache goes on, not watching SWAPDB (said
 * once). Returns 0, or -1 when the cache cannot be active. */
static int rdr_notify_open_stats(void)
{
	static int no_info_said = 0;

	_rdr_notify_stats = rdr_conn_open_extra();
	_rdr_notify_flushes = rdr_notify_flush_count();
	_rdr_notify_checked_ms = rdr_conn_now_ms();
	if(_rdr_notify_flushes >= 0)
		return 0;
	rdr_notify_drop_stats();
	if(_rdr_notify_flushes == -2
			&& _rdr_notify_mode == RDR_INVALIDATE_TRACKING) {
		if(!no_info_said)
			LM_WARN("cache: INFO is refused, so a SWAPDB (which client-side "
					"caching does not signal) is not seen: run kamcmd "
					"redisroute.cache_flush after one\n");
		no_info_said = 1;
		return 0;
	}
	return -1;
}

/* Notifications are on when the flags hold K (keyspace channel) and every
 * class of change: a key can change type, be deleted, renamed, expire or be
 * evicted. */
static int rdr_notify_flags_ok(const char *flags)
{
	const char *c;

	if(strchr(flags, 'K') == NULL)
		return 0;
	if(strchr(flags, 'A') != NULL)
		return 1;
	for(c = "g$lshzxet"; *c; c++) {
		if(strchr(flags, *c) == NULL)
			return 0;
	}
	return 1;
}

int rdr_notify_mode_parse(const str *s)
{
	static const char *names[] = {"tracking", "keyspace"};
	int i;

	for(i = 0; i < 2; i++) {
		if(s->len == (int)strlen(names[i])
				&& strncmp(s->s, names[i], s->len) == 0)
			return i;
	}
	return -1;
}

const char *rdr_notify_mode_name(void)
{
	return _rdr_notify_mode == RDR_INVALIDATE_TRACKING ? "tracking"
													   : "keyspace";
}

/* Keyspace notifications: checks that they are on, with CONFIG GET where it
 * is allowed (refused: the operator's word is taken). A routing module never
 * changes a shared server's configuration. Returns 0, or -1 (logged once
 * while it lasts). */
static int rdr_notify_enable(void)
{
	static int refused_logged = 0;
	const char *get[3] = {"CONFIG", "GET", "notify-keyspace-events"};
	char flags[64];
	redisReply *r;

	r = rdr_conn_command(3, get, NULL);
	if(r == NULL)
		return -1;
	if(r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return 0; /* no right to look: notify-keyspace-events is trusted */
	}
	flags[0] = '\0';
	if(r->type == REDIS_REPLY_ARRAY && r->elements == 2
			&& r->element[1]->type == REDIS_REPLY_STRING)
		snprintf(flags, sizeof(flags) - 4, "%s", r->element[1]->str);
	freeReplyObject(r);
	if(rdr_notify_flags_ok(flags)) {
		refused_logged = 0;
		return 0;
	}
	if(!refused_logged)
		LM_ERR("cache: notify-keyspace-events is '%s' on the server; "
			   "cache_invalidation \"keyspace\" needs KA there (CONFIG SET "
			   "notify-keyspace-events KA, or redis.conf), or use the default "
			   "\"tracking\", which needs nothing: until then the cache is "
			   "bypassed\n",
				flags);
	refused_logged = 1;
	return -1;
}

/* A set-up command on ctx, or on this process's own connection (NULL). */
static redisReply *rdr_notify_cmd(
		redisContext *ctx, int argc, const char **argv)
{
	return ctx != NULL ? redisCommandArgv(ctx, argc, argv, NULL)
					   : rdr_conn_command(argc, argv, NULL);
}

/* 1 when r is the confirmation of a (p)subscription. */
static int rdr_notify_subscribed(const redisReply *r, const char *kind)
{
	return r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3
		   && r->element[0]->type == REDIS_REPLY_STRING
		   && strcmp(r->element[0]->str, kind) == 0;
}

/* The BCAST PREFIX arguments for the routes and the gateways: none when
 * key_prefix is empty (every key); Redis refuses overlapping prefixes, so
 * when one starts the other, the shorter only. Returns how many of out. */
static int rdr_notify_prefixes(const char **out)
{
	const char *a = _rdr_notify_prefix, *b = _rdr_notify_gw_prefix;
	size_t la = strlen(a), lb = strlen(b);

	out[0] = "PREFIX";
	if(!_rdr_notify_routes) {
		/* no cache: the gateways only */
		out[1] = b;
		return 2;
	}
	if(la == 0)
		return 0;
	if(la <= lb && strncmp(a, b, la) == 0) {
		out[1] = a;
		return 2;
	}
	if(lb < la && strncmp(a, b, lb) == 0) {
		out[1] = b;
		return 2;
	}
	out[1] = a;
	out[2] = "PREFIX";
	out[3] = b;
	return 4;
}

/* Client-side caching, RESP2 style, on one connection: BCAST tracking of the
 * key prefix, redirected to this very connection, then subscribed to the
 * invalidation channel. Redis sends a BCAST invalidation after the command
 * that changed the key, before it answers that command's client, and a flush
 * message on FLUSHALL and FLUSHDB; no server configuration is needed.
 * Returns 0, or -1 with why set to Redis's refusal (empty: no answer). */
static int rdr_notify_track(redisContext *ctx, char *why, int whylen)
{
	const char *id_argv[2] = {"CLIENT", "ID"};
	const char *track[6] = {
			"CLIENT", "TRACKING", "on", "REDIRECT", NULL, "BCAST"};
	const char *track_argv[10];
	int argc;
	const char *sub[2] = {"SUBSCRIBE", RDR_TRACKING_CHANNEL};
	char id[24];
	redisReply *r;
	int ok;

	why[0] = '\0';
	r = rdr_notify_cmd(ctx, 2, id_argv);
	if(r == NULL || r->type != REDIS_REPLY_INTEGER) {
		if(r != NULL && r->type == REDIS_REPLY_ERROR)
			snprintf(why, whylen, "CLIENT ID: %.*s", (int)r->len, r->str);
		if(r)
			freeReplyObject(r);
		return -1;
	}
	snprintf(id, sizeof(id), "%lld", r->integer);
	freeReplyObject(r);
	memcpy(track_argv, track, sizeof(track));
	track_argv[4] = id;
	argc = 6 + rdr_notify_prefixes(track_argv + 6);
	r = rdr_notify_cmd(ctx, argc, track_argv);
	ok = (r != NULL && r->type == REDIS_REPLY_STATUS);
	if(!ok && r != NULL && r->type == REDIS_REPLY_ERROR)
		snprintf(why, whylen, "CLIENT TRACKING: %.*s", (int)r->len, r->str);
	if(r)
		freeReplyObject(r);
	if(!ok)
		return -1;
	r = rdr_notify_cmd(ctx, 2, sub);
	ok = rdr_notify_subscribed(r, "subscribe");
	if(!ok && r != NULL && r->type == REDIS_REPLY_ERROR)
		snprintf(why, whylen, "SUBSCRIBE: %.*s", (int)r->len, r->str);
	if(r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/* Keyspace notifications (cache_invalidation "keyspace"): PSUBSCRIBE to the
 * prefix's keyspace channel. Returns 0, or -1 with why set. */
static int rdr_notify_psubscribe(redisContext *ctx, char *why, int whylen)
{
	const char *argv[3] = {"PSUBSCRIBE", _rdr_notify_gw_pattern,
			_rdr_notify_pattern};
	/* the second confirmation is read later, as a message, and ignored;
	 * without the cache, the gateways only */
	redisReply *r = rdr_notify_cmd(ctx, _rdr_notify_routes ? 3 : 2, argv);
	int ok = rdr_notify_subscribed(r, "psubscribe");

	why[0] = '\0';
	if(!ok && r != NULL && r->type == REDIS_REPLY_ERROR)
		snprintf(why, whylen, "PSUBSCRIBE %.64s: %.*s", _rdr_notify_pattern,
				(int)r->len, r->str);
	if(r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/* Subscribes ctx (NULL: this process's own connection) for invalidations.
 * Returns 0, or -1 with why set. */
int rdr_notify_subscribe_on(redisContext *ctx, char *why, int whylen)
{
	if(_rdr_notify_mode == RDR_INVALIDATE_TRACKING)
		return rdr_notify_track(ctx, why, whylen);
	return rdr_notify_psubscribe(ctx, why, whylen);
}

/* The notifier's subscription, on its own connection; a refusal is logged
 * once while it lasts. */
static int rdr_notify_subscribe(void)
{
	static char refused[160];
	char why[160];

	if(_rdr_notify_mode != RDR_INVALIDATE_TRACKING && rdr_notify_enable() < 0)
		return -1;
	if(rdr_notify_subscribe_on(NULL, why, sizeof(why)) == 0) {
		refused[0] = '\0';
		return 0;
	}
	if(why[0] != '\0' && strcmp(why, refused) != 0) {
		LM_ERR("cache: %s; the cache is bypassed until it is allowed%s\n", why,
				_rdr_notify_mode == RDR_INVALIDATE_TRACKING
						? " (a server without client-side caching, before "
						  "Redis 6, needs cache_invalidation \"keyspace\")"
						: "");
		snprintf(refused, sizeof(refused), "%s", why);
	}
	return -1;
}

/* One key changed: a route's (the cache) or a gateway's. */
static void rdr_notify_key(const str *key)
{
	rdr_cache_invalidate(key);
	rdr_replica_heard(key);
	rdr_gw_invalidate(key->s, key->len);
	if(_rdr_notify_listener != NULL)
		_rdr_notify_listener(key);
}

/* ["message", "__redis__:invalidate", [key, ...] or nil]: drop the keys,
 * or everything (nil: FLUSHALL, FLUSHDB). */
static void rdr_notify_handle_tracking(const redisReply *r)
{
	const redisReply *keys;
	size_t i;
	str key;

	if(r->type != REDIS_REPLY_ARRAY || r->elements != 3
			|| r->element[0]->type != REDIS_REPLY_STRING
			|| strcmp(r->element[0]->str, "message") != 0)
		return; /* pong, subscription confirmations */
	keys = r->element[2];
	if(keys->type == REDIS_REPLY_NIL) {
		rdr_notify_flush("FLUSHALL or FLUSHDB");
		return;
	}
	if(keys->type != REDIS_REPLY_ARRAY || keys->elements == 0)
		return;
	if(_rdr_notify_counts)
		rdr_stats_add(RDR_STAT_CACHE_INVALIDATIONS, (long)keys->elements);
	for(i = 0; i < keys->elements; i++) {
		if(keys->element[i]->type != REDIS_REPLY_STRING)
			continue;
		key.s = keys->element[i]->str;
		key.len = (int)keys->element[i]->len;
		rdr_notify_key(&key);
	}
}

/* pmessage <pattern> __keyspace@<db>__:<key> <event>: drop <key>. */
void rdr_notify_apply(const redisReply *r)
{
	const redisReply *ch = NULL;
	const char *sep;
	str key;

	if(_rdr_notify_mode == RDR_INVALIDATE_TRACKING) {
		rdr_notify_handle_tracking(r);
		return;
	}
	if(rdr_pubsub_payload(r, &ch) == NULL)
		return; /* pong, subscription confirmations */
	sep = strstr(ch->str, "__:");
	if(sep == NULL)
		return;
	if(_rdr_notify_counts)
		rdr_stats_inc(RDR_STAT_CACHE_INVALIDATIONS);
	key.s = (char *)sep + 3;
	key.len = (int)(ch->len - (key.s - ch->str));
	rdr_notify_key(&key);
}

/* The listener's idle moments (cache_preload): everything received before
 * t0_ms is applied, which a worker's newer subscription waits for; then a
 * round of loading. Returns how long to wait for the next message. */
static int rdr_notify_idle(long long t0_ms)
{
	rdr_replica_drained(t0_ms);
	if(rdr_replica_step())
		return 0;
	/* drained is renewed at least this often when quiet */
	return rdr_replica_enabled() ? 100 : 1000;
}

static void rdr_notify_loop(void)
{
	int lost_logged = 0;

	_rdr_notify_counts = 1;
	if(rdr_conn_cfg()->cluster)
		rdr_notify_cluster_loop(); /* one subscription per master */
	for(;;) {
		cfg_update();
		rdr_cache_sweep();
		if(rdr_notify_subscribe() < 0) {
			rdr_conn_reset();
			sleep_us((unsigned int)_rdr_notify_retry_ms * 1000);
			continue;
		}
		if(rdr_notify_open_stats() < 0) {
			rdr_conn_reset();
			sleep_us((unsigned int)_rdr_notify_retry_ms * 1000);
			continue;
		}
		/* entries from before the subscription may be stale */
		rdr_cache_flush();
		rdr_cache_set_active(1);
		rdr_replica_set_active(1);
		if(_rdr_notify_mode == RDR_INVALIDATE_TRACKING)
			LM_NOTICE("cache: active, invalidated by Redis client-side "
					  "caching (CLIENT TRACKING BCAST PREFIX %s)\n",
					_rdr_notify_prefix);
		else
			LM_NOTICE("cache: active, invalidated by keyspace notifications "
					  "on %s\n",
					_rdr_notify_pattern);
		lost_logged = 0;
		/* a failover (redisroute.reconnect, +switch-master) ends the
		 * subscription too: the new master's changes are not on it */
		rdr_pubsub_listen_idle(rdr_conn_context(), rdr_notify_apply,
				rdr_notify_check, rdr_notify_idle);
		rdr_cache_set_active(0);
		rdr_replica_set_active(0);
		rdr_cache_flush();
		rdr_notify_drop_stats();
		if(!lost_logged)
			LM_ERR("cache: lost the invalidation subscription; the "
				   "cache is empty and bypassed until it is back\n");
		lost_logged = 1;
		rdr_conn_reset();
	}
}

/* per worker: its own subscription, when it may next try to open it, and
 * the reconnects (failover, redisroute.reconnect) it has followed */
static redisContext *_rdr_wsub = NULL;
static long long _rdr_wsub_next_ms = 0;
static int _rdr_wsub_reconnects = 0;
/* per process: when its newest subscription began (the replica waits for
 * the notifier to have drained after it) */
static long long _rdr_wsub_since_ms = 0;

long long rdr_notify_worker_since(void)
{
	return _rdr_wsub_since_ms;
}

static void rdr_notify_worker_close(void)
{
	if(_rdr_wsub != NULL) {
		redisFree(_rdr_wsub);
		rdr_cache_worker_sub(-1);
	}
	_rdr_wsub = NULL;
	_rdr_wsub_next_ms = rdr_conn_now_ms() + _rdr_notify_retry_ms;
}

static int rdr_notify_worker_open(void)
{
	char why[160];

	if(rdr_conn_now_ms() < _rdr_wsub_next_ms)
		return -1;
	_rdr_wsub_reconnects = rdr_conn_reconnects();
	_rdr_wsub = rdr_conn_open_extra();
	if(_rdr_wsub == NULL) {
		rdr_notify_worker_close();
		return -1;
	}
	rdr_cache_worker_sub(1);
	/* a refusal is the notifier's to say (the same rights) */
	if(rdr_notify_subscribe_on(_rdr_wsub, why, sizeof(why)) < 0) {
		rdr_notify_worker_close();
		return -1;
	}
	/* A change made before this subscription began reached only the other
	 * processes, which may not have applied it yet: nothing cached so far
	 * can be vouched for by this worker. (Only on a (re)subscription, e.g.
	 * after an outage.) */
	rdr_cache_flush();
	rdr_notify_everything();
	_rdr_wsub_since_ms = rdr_conn_now_ms();
	return 0;
}

int rdr_notify_worker_sync(void)
{
	if(rdr_conn_cfg()->cluster)
		return rdr_notify_cluster_sync();
	if(_rdr_wsub != NULL && rdr_conn_reconnects() != _rdr_wsub_reconnects) {
		/* a failover: the subscription moves to the new master at once */
		rdr_notify_worker_close();
		_rdr_wsub_next_ms = 0;
	}
	if(_rdr_wsub == NULL && rdr_notify_worker_open() < 0)
		return 0;
	/* only what is already there: never wait */
	if(rdr_pubsub_drain(_rdr_wsub, rdr_notify_apply) < 0) {
		rdr_notify_worker_close();
		return 0;
	}
	return 1;
}

int rdr_notify_fork(void)
{
	return rdr_pubsub_proc_fork("redisroute cache notifier", rdr_notify_loop);
}

/*
 * the cache's subscriptions in cluster mode
 */

typedef struct rdr_csub
{
	rdr_hostport_t node;
	redisContext *ctx;
	long long next_ms; /* when it may be opened again after a failure */
} rdr_csub_t;

typedef struct rdr_csubs
{
	rdr_csub_t sub[RDR_CLUSTER_NODES_MAX];
	int n;
	unsigned int version; /* the map the set follows */
	int reconnects;		  /* the reconnect_all it has followed */
} rdr_csubs_t;

static void rdr_csub_close(rdr_csub_t *s, int failed)
{
	if(s->ctx != NULL)
		redisFree(s->ctx);
	s->ctx = NULL;
	s->next_ms =
			failed ? rdr_conn_now_ms() + rdr_conn_cfg()->retry_interval_ms : 0;
}

/* Opens s unless it failed less than retry_interval ago. 0 when it is up
 * (a fresh subscription: nothing cached so far is vouched for by it). */
static int rdr_csub_open(rdr_csub_t *s)
{
	char err[128], why[160];

	if(s->ctx != NULL)
		return 0;
	if(rdr_conn_now_ms() < s->next_ms)
		return -1;
	s->ctx = rdr_conn_open_host(s->node.host, s->node.port, err, sizeof(err));
	if(s->ctx == NULL
			|| rdr_notify_subscribe_on(s->ctx, why, sizeof(why)) < 0) {
		rdr_csub_close(s, 1);
		return -1;
	}
	rdr_cache_flush();
	rdr_notify_everything();
	_rdr_wsub_since_ms = rdr_conn_now_ms();
	return 0;
}

/* Makes the set that of the map's masters. A change empties the cache. */
static void rdr_csubs_follow(rdr_csubs_t *set)
{
	rdr_hostport_t masters[RDR_CLUSTER_NODES_MAX];
	rdr_csub_t kept[RDR_CLUSTER_NODES_MAX];
	unsigned int version;
	int i, j, n, changed = 0;

	if(rdr_conn_reconnects() != set->reconnects) {
		/* redisroute.reconnect: every subscription is opened again */
		set->reconnects = rdr_conn_reconnects();
		for(i = 0; i < set->n; i++)
			rdr_csub_close(&set->sub[i], 0);
	}
	n = rdr_cluster_masters(masters, RDR_CLUSTER_NODES_MAX, &version);
	if(n < 0 || version == set->version)
		return;
	set->version = version;
	memset(kept, 0, sizeof(kept));
	for(i = 0; i < n; i++) {
		kept[i].node = masters[i];
		for(j = 0; j < set->n; j++) {
			if(set->sub[j].ctx != NULL
					&& set->sub[j].node.port == masters[i].port
					&& strcmp(set->sub[j].node.host, masters[i].host) == 0) {
				kept[i].ctx = set->sub[j].ctx;
				set->sub[j].ctx = NULL;
				break;
			}
		}
		changed |= (j == set->n);
	}
	for(j = 0; j < set->n; j++) {
		changed |= (set->sub[j].ctx != NULL);
		rdr_csub_close(&set->sub[j], 0);
	}
	changed |= (n != set->n);
	memcpy(set->sub, kept, sizeof(kept));
	set->n = n;
	if(changed) {
		/* masters joined or left: slots moved */
		rdr_cache_flush();
		rdr_replica_flush();
		rdr_notify_everything();
	}
}

/* Applies what is readable on the set, waiting at most wait_ms for the
 * first of it (0: never waits). A subscription that fails is closed.
 * Returns 1 when it stopped because nothing was left to read. */
static int rdr_csubs_read(rdr_csubs_t *set, int wait_ms)
{
	struct pollfd pfd[RDR_CLUSTER_NODES_MAX];
	int idx[RDR_CLUSTER_NODES_MAX];
	int i, n, rounds;

	for(rounds = 0; rounds < 64; rounds++) {
		n = 0;
		for(i = 0; i < set->n; i++) {
			redisContext *c = set->sub[i].ctx;
			if(c == NULL)
				continue;
			if(rdr_pubsub_take_buffered(c, rdr_notify_apply) < 0) {
				rdr_csub_close(&set->sub[i], 1);
				continue;
			}
			pfd[n].fd = c->fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if(n == 0 || poll(pfd, n, rounds == 0 ? wait_ms : 0) <= 0)
			return n > 0;
		for(i = 0; i < n; i++) {
			if(pfd[i].revents != 0
					&& redisBufferRead(set->sub[idx[i]].ctx) != REDIS_OK)
				rdr_csub_close(&set->sub[idx[i]], 1);
		}
	}
	return 0;
}

/* 1 when every master of the set has its subscription up. */
static int rdr_csubs_up(rdr_csubs_t *set)
{
	int i, up = set->n > 0;

	for(i = 0; i < set->n; i++)
		if(rdr_csub_open(&set->sub[i]) < 0)
			up = 0;
	return up;
}

static rdr_csubs_t _rdr_worker_subs;
static int _rdr_worker_subs_up = 0; /* as counted in the status */

/* Counts this worker's set, all up or not, for the status RPC. */
static int rdr_notify_cluster_count(int up)
{
	if(up != _rdr_worker_subs_up)
		rdr_cache_worker_sub(up ? 1 : -1);
	_rdr_worker_subs_up = up;
	return up;
}

int rdr_notify_cluster_sync(void)
{
	rdr_csubs_follow(&_rdr_worker_subs);
	if(!rdr_csubs_up(&_rdr_worker_subs))
		return rdr_notify_cluster_count(0);
	rdr_csubs_read(&_rdr_worker_subs, 0);
	return rdr_notify_cluster_count(rdr_csubs_up(&_rdr_worker_subs));
}

void rdr_notify_cluster_loop(void)
{
	static rdr_csubs_t set;
	int was = 0, up, busy = 0;
	long long t0;

	for(;;) {
		cfg_update();
		rdr_cache_sweep();
		rdr_csubs_follow(&set);
		up = rdr_csubs_up(&set);
		if(up != was) {
			/* entries from before the subscriptions may be stale */
			rdr_cache_flush();
			rdr_cache_set_active(up);
			rdr_replica_set_active(up);
			if(up)
				LM_NOTICE("cache: active, invalidated by Redis client-side "
						  "caching on each of %d cluster masters\n",
						set.n);
			else
				LM_ERR("cache: a cluster master's invalidation subscription "
					   "is down; the cache is empty and bypassed until it "
					   "is back\n");
			was = up;
		}
		if(set.n == 0 || !up) {
			rdr_csubs_read(&set, 0);
			sleep_us((unsigned int)rdr_conn_cfg()->retry_interval_ms * 1000 / 4
					 + 1000);
			continue;
		}
		if(!rdr_replica_enabled()) {
			rdr_csubs_read(&set, 1000);
			continue;
		}
		/* cache_preload: what was received before t0 is applied once
		 * nothing is left to read; then a round of loading */
		rdr_csubs_read(&set, busy ? 0 : 100);
		t0 = rdr_conn_now_ms();
		if(rdr_csubs_read(&set, 0))
			rdr_replica_drained(t0);
		busy = rdr_replica_step();
	}
}
