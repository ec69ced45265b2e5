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

#ifndef _RDR_CACHE_SYNC_H_
#define _RDR_CACHE_SYNC_H_

#include <hiredis/hiredis.h>

#include "core/str.h"

/*
 * the cache's invalidation: the notifier process and each
 * worker's own subscription
 *
 * By default Redis client-side caching (CLIENT TRACKING BCAST PREFIX on the
 * key prefix, RESP2 redirect to the subscribed connection itself): no server
 * configuration, and Redis signals FLUSHALL and FLUSHDB. Keyspace
 * notifications (cache_invalidation "keyspace") remain for servers without
 * tracking, set on the server by its operator (the module only checks them).
 * While the notifier is not subscribed, the cache is empty and bypassed.
 */

#define RDR_INVALIDATE_TRACKING 0 /* "tracking" */
#define RDR_INVALIDATE_KEYSPACE 1 /* "keyspace" */

/* The mode a cache_invalidation value names; -1 for none. */
int rdr_notify_mode_parse(const str *s);
/* The mode's name, for the status RPC. */
const char *rdr_notify_mode_name(void);

/* In mod_init: what the subscriptions watch: the gateways under gw_prefix,
 * and with routes (the cache is on) the routes under prefix (each
 * process's own subscription, opened when first needed). */
int rdr_notify_setup(const str *prefix, const str *gw_prefix, int db,
		int retry_interval_ms, int mode, int routes);
/* In mod_init, when the cache is on: registers the notifier process. */
int rdr_notify_init(void);
/* In child_init(PROC_MAIN): forks the process. */
int rdr_notify_fork(void);

/* In a worker, before it uses the cache or the gateways: applies the
 * invalidations waiting
 * on this worker's own subscription (opened on first use). With tracking,
 * Redis queues a BCAST invalidation after the command that made the change
 * and writes it before its answer to that command's client (the client it
 * queued last is written first), so once that client has its answer the
 * invalidation is in this worker's socket: the next request cannot be
 * served a stale entry, however late the notifier process gets the CPU.
 * (Keyspace notifications are queued during the command, before its
 * answer, so they are written after it: a request sent at once may still
 * see the old entry.) Returns 1
 * when the cache may be used, 0 when this worker's subscription is not up
 * (then it bypasses the cache). */
int rdr_notify_worker_sync(void);

/* When this process's newest subscription began (rdr_conn_now_ms()): the
 * replica (cache_preload) is used once the notifier has applied everything
 * received after it. */
long long rdr_notify_worker_since(void);

/* A process's own listener of what its subscription reports, beside the
 * cache and the gateways (the health process): fn(key) for a key that
 * changed, fn(NULL) when anything may have (a flush, a new subscription). */
void rdr_notify_set_listener(void (*fn)(const str *key));

/* For rdr_cache_sync.c: subscribes ctx (a connection of its own, or
 * NULL: this process's) for invalidations in the configured mode; 0, or -1
 * with why set to Redis's refusal. */
int rdr_notify_subscribe_on(redisContext *ctx, char *why, int whylen);
/* Applies one message of such a subscription (pongs and confirmations are
 * ignored). */
void rdr_notify_apply(const redisReply *r);

/*
 * the cache's subscriptions in cluster mode: one per master
 *
 * Each master only tells of the keys it holds, so a process that uses the
 * cache holds one tracking subscription per master of its slot map
 * (rdr_notify_subscribe_on() on a connection of its own to that master). The
 * set follows the map: a master that joins gets one, a master that leaves
 * loses its own, and any change of the set empties the cache (what moved is
 * then read again). The cache may be used only while every master has its
 * subscription up.
 */

/* In a worker, before it uses the cache: follows the map, applies what
 * waits on every subscription, never waiting. 1 when the cache may be used. */
int rdr_notify_cluster_sync(void);

/* The notifier's loop in cluster mode: keeps its own set, sets the cache
 * active while every master's subscription is up. Never returns. */
void rdr_notify_cluster_loop(void);

#endif
