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

#include "rr_cache.h"
#include "rr_cluster.h"
#include "rr_conn.h"
#include "rr_notify.h"
#include "rr_notify_cluster.h"
#include "rr_pubsub.h"

typedef struct rr_csub
{
	rr_hostport_t node;
	redisContext *ctx;
	long long next_ms; /* when it may be opened again after a failure */
} rr_csub_t;

typedef struct rr_csubs
{
	rr_csub_t sub[RR_CLUSTER_NODES_MAX];
	int n;
	unsigned int version; /* the map the set follows */
	int reconnects;		  /* the reconnect_all it has followed */
} rr_csubs_t;

static void rr_csub_close(rr_csub_t *s, int failed)
{
	if(s->ctx != NULL)
		redisFree(s->ctx);
	s->ctx = NULL;
	s->next_ms =
			failed ? rr_conn_now_ms() + rr_conn_cfg()->retry_interval_ms : 0;
}

/* Opens s unless it failed less than retry_interval ago. 0 when it is up
 * (a fresh subscription: nothing cached so far is vouched for by it). */
static int rr_csub_open(rr_csub_t *s)
{
	char err[128], why[160];

	if(s->ctx != NULL)
		return 0;
	if(rr_conn_now_ms() < s->next_ms)
		return -1;
	s->ctx = rr_conn_open_host(s->node.host, s->node.port, err, sizeof(err));
	if(s->ctx == NULL || rr_notify_subscribe_on(s->ctx, why, sizeof(why)) < 0) {
		rr_csub_close(s, 1);
		return -1;
	}
	rr_cache_flush();
	return 0;
}

/* Makes the set that of the map's masters. A change empties the cache. */
static void rr_csubs_follow(rr_csubs_t *set)
{
	rr_hostport_t masters[RR_CLUSTER_NODES_MAX];
	rr_csub_t kept[RR_CLUSTER_NODES_MAX];
	unsigned int version;
	int i, j, n, changed = 0;

	if(rr_conn_reconnects() != set->reconnects) {
		/* redisroute.reconnect: every subscription is opened again */
		set->reconnects = rr_conn_reconnects();
		for(i = 0; i < set->n; i++)
			rr_csub_close(&set->sub[i], 0);
	}
	n = rr_cluster_masters(masters, RR_CLUSTER_NODES_MAX, &version);
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
		rr_csub_close(&set->sub[j], 0);
	}
	changed |= (n != set->n);
	memcpy(set->sub, kept, sizeof(kept));
	set->n = n;
	if(changed)
		rr_cache_flush(); /* masters joined or left: slots moved */
}

/* Applies what is readable on the set, waiting at most wait_ms for the
 * first of it (0: never waits). A subscription that fails is closed. */
static void rr_csubs_read(rr_csubs_t *set, int wait_ms)
{
	struct pollfd pfd[RR_CLUSTER_NODES_MAX];
	int idx[RR_CLUSTER_NODES_MAX];
	int i, n, rounds;

	for(rounds = 0; rounds < 64; rounds++) {
		n = 0;
		for(i = 0; i < set->n; i++) {
			redisContext *c = set->sub[i].ctx;
			if(c == NULL)
				continue;
			if(rr_pubsub_take_buffered(c, rr_notify_apply) < 0) {
				rr_csub_close(&set->sub[i], 1);
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
				rr_csub_close(&set->sub[idx[i]], 1);
		}
	}
}

/* 1 when every master of the set has its subscription up. */
static int rr_csubs_up(rr_csubs_t *set)
{
	int i, up = set->n > 0;

	for(i = 0; i < set->n; i++)
		if(rr_csub_open(&set->sub[i]) < 0)
			up = 0;
	return up;
}

static rr_csubs_t _rr_worker_subs;
static int _rr_worker_subs_up = 0; /* as counted in the status */

/* Counts this worker's set, all up or not, for the status RPC. */
static int rr_notify_cluster_count(int up)
{
	if(up != _rr_worker_subs_up)
		rr_cache_worker_sub(up ? 1 : -1);
	_rr_worker_subs_up = up;
	return up;
}

int rr_notify_cluster_sync(void)
{
	rr_csubs_follow(&_rr_worker_subs);
	if(!rr_csubs_up(&_rr_worker_subs))
		return rr_notify_cluster_count(0);
	rr_csubs_read(&_rr_worker_subs, 0);
	return rr_notify_cluster_count(rr_csubs_up(&_rr_worker_subs));
}

void rr_notify_cluster_loop(void)
{
	static rr_csubs_t set;
	int was = 0, up;

	for(;;) {
		cfg_update();
		rr_cache_sweep();
		rr_csubs_follow(&set);
		up = rr_csubs_up(&set);
		if(up != was) {
			/* entries from before the subscriptions may be stale */
			rr_cache_flush();
			rr_cache_set_active(up);
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
			rr_csubs_read(&set, 0);
			sleep_us((unsigned int)rr_conn_cfg()->retry_interval_ms * 1000 / 4
					 + 1000);
			continue;
		}
		rr_csubs_read(&set, 1000);
	}
}
