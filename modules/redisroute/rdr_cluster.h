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
 * redisroute - Redis Cluster: the slot map and one connection per master
 *
 * Each process keeps its own slot map (CLUSTER SLOTS) and opens one
 * connection per master it routes to. A lookup's candidate keys are grouped
 * by hash slot, since a script may only touch keys of one slot: one EVALSHA
 * per group, and every group is written to its node before any reply is
 * read, so a prefix lookup costs one round trip however many nodes hold its
 * candidates. MOVED and ASK are followed at most RDR_CLUSTER_REDIRECTS_MAX
 * times per group; a MOVED also makes the process read the slot map again. Each
 * node's up/down state is shared between processes, for logging (one line
 * per outage) and for the status RPC.
 */

#ifndef _RDR_CLUSTER_H_
#define _RDR_CLUSTER_H_

#include <hiredis/hiredis.h>

#include "rdr_url.h"

#define RDR_CLUSTER_NODES_MAX 64

/* In mod_init: the shared node table. */
int rdr_cluster_init(void);
/* In child_init: reads the slot map and connects to every master. */
void rdr_cluster_child_init(void);
void rdr_cluster_destroy(void);

/* Runs the lookup (the script, or for one key of a known type its plain
 * command: *kind) over keys as if one node held them all: returns
 * the reply of the group holding the best existing key, with *matched its
 * index in keys (the reply itself, untouched, counts in its group's keys),
 * or a {'none'} reply with *matched -1. Returns an error reply or NULL
 * (caller: unavailable) when a node that holds a better candidate than any
 * found cannot answer. */
redisReply *rdr_cluster_eval(int nkeys, const char **keys,
		const size_t *klens, int *matched, int *kind);

/* One lookup of a batch: its keys in, the reply and *matched as
 * rdr_cluster_eval() gives them out. */
typedef struct rdr_cluster_lookup
{
	int nkeys;
	const char **keys;
	const size_t *klens;
	redisReply *reply;
	int matched;
	int kind; /* the command the reply answers (rdr_eval_choose()) */
} rdr_cluster_lookup_t;

/* The most lookups one batch pipelines. */
#define RDR_CLUSTER_BATCH_MAX 16

/* MOVED, ASK and TRYAGAIN replies one lookup follows per slot group: a
 * reshard moves a slot once; more is a loop */
#define RDR_CLUSTER_REDIRECTS_MAX 5

/* rdr_cluster_eval() over n lookups at once (at most RDR_CLUSTER_BATCH_MAX;
 * returns how many it did): every node gets its share of all of them in
 * one write, then the answers are read in order. For the async I/O
 * process. The third way of talking to Redis (rdr_conn.h): blocking, but
 * batched, since a redirect (MOVED, ASK) decides a lookup's next node only
 * when its reply is read. */
int rdr_cluster_eval_batch(int n, rdr_cluster_lookup_t *lk);

/* One command (argv-style) on the master of key's slot, following MOVED,
 * ASK and TRYAGAIN as a lookup does: its reply (maybe an error reply), or
 * NULL when that node cannot answer. The caller frees the reply. For the
 * reads of a gateway (rdr_gw.c). */
redisReply *rdr_cluster_command(const char *key, size_t klen, int argc,
		const char **argv, const size_t *lens);

/* This process's masters (the nodes that serve slots in its map), the map
 * read first when that is due: at most max into out. Returns how many, or
 * -1 without a map; *version changes whenever this process installs a new
 * map. For the cache's subscriptions, one per master. */
int rdr_cluster_masters(rdr_hostport_t *out, int max, unsigned int *version);

typedef struct rdr_cluster_node_status
{
	char addr[RDR_URL_HOST_MAX + 8];
	int up;	   /* 1 up, 0 down, -1 not tried yet */
	int slots; /* slots it serves in the newest map a process read */
	long outages;
	long down_ms;
} rdr_cluster_node_status_t;

typedef struct rdr_cluster_status
{
	int nnodes;
	int slots; /* slots served in the newest map */
	long map_loads;
	char error[128];
	rdr_cluster_node_status_t node[RDR_CLUSTER_NODES_MAX];
} rdr_cluster_status_t;

void rdr_cluster_get_status(rdr_cluster_status_t *st);

#endif
