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
 * redisroute - the cache's subscriptions in cluster mode
 */

#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/ut.h"

#include "rdr_cache.h"
#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_notify.h"
#include "rdr_notify_cluster.h"
#include "rdr_pubsub.h"

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
	if(changed)
		rdr_cache_flush(); /* masters joined or left: slots moved */
}

/* Applies what is readable on the set, waiting at most wait_ms for the
 * first of it (0: never waits). A subscription that fails is closed. */
static void rdr_csubs_read(rdr_csubs_t *set, int wait_ms)
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
			return;
		for(i = 0; i < n; i++) {
			if(pfd[i].revents != 0
					&& redisBufferRead(set->sub[idx[i]].ctx) != REDIS_OK)
				rdr_csub_close(&set->sub[idx[i]], 1);
		}
	}
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
	int was = 0, up;

	for(;;) {
		cfg_update();
		rdr_cache_sweep();
		rdr_csubs_follow(&set);
		up = rdr_csubs_up(&set);
		if(up != was) {
			/* entries from before the subscriptions may be stale */
			rdr_cache_flush();
			rdr_cache_set_active(up);
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
		rdr_csubs_read(&set, 1000);
	}
}
