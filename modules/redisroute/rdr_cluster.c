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
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_ops.h"
#include "core/dprint.h"
#include "core/locking.h"

#include "rdr_slot.h"
#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_eval.h"
#include "rdr_stats.h"

#if RDR_CGROUP_KEYS_MAX != RDR_CANDIDATES_MAX
#error "RDR_CGROUP_KEYS_MAX must equal RDR_CANDIDATES_MAX"
#endif

/* a MOVED makes the map be read again at once, but not more often than this
 * while a reshard moves slot after slot */
#define RDR_MAP_MIN_INTERVAL_MS 100

/* when this process reads the slot map again */
typedef enum rdr_map_reload
{
	RDR_MAP_RELOAD_NONE, /* not wanted */
	RDR_MAP_RELOAD_NOW,	 /* at the next lookup: no map yet, or a reconnect */
	RDR_MAP_RELOAD_AT,	 /* once at_ms has passed: a MOVED, a failure */
} rdr_map_reload_t;

typedef struct rdr_cnode_shared
{
	char addr[RDR_URL_HOST_MAX + 8];
	rdr_updown_t state;
	int slots;
	/* bumped by each new connection's first answer, in any process; atomic
	 * (rdr_cnode_retry_due) */
	int recoveries;
} rdr_cnode_shared_t;

typedef struct rdr_cluster_shared
{
	gen_lock_t lock; /* first: see rdr_shared_new() */
	int nnodes;
	int slots;
	long map_loads;
	char error[128];
	rdr_cnode_shared_t node[RDR_CLUSTER_NODES_MAX];
} rdr_cluster_shared_t;

/* per process: a node seen in a slot map, a redirect or the seeds */
typedef struct rdr_cnode
{
	char host[RDR_URL_HOST_MAX];
	int port;
	redisContext *ctx;
	int answered; /* ctx has had an answer */
	long long next_attempt_ms;
	/* the shared row's recoveries at this process's last failure */
	int recoveries_seen;
	int shared; /* index in the shared table, -1 when that is full */
	int slots;	/* slots it serves in this process's map */
	int seed;
} rdr_cnode_t;

/* per lookup: where one group of candidate keys (rdr_slot.h) went, and
 * what came back */
typedef struct rdr_group
{
	rdr_cgroup_t *cg;
	int node; /* -1: no node serves the slot */
	int sent;
	/* the keys the reply is about, cg->keys[first..first + nasked - 1]: all
	 * of them, or the one a split has come to */
	int first;
	int nasked;
	int kind;		   /* the command sent (rdr_eval_choose()) */
	redisReply *reply; /* NULL: no answer */
} rdr_group_t;

static rdr_cluster_shared_t *_rdr_cl = NULL;

static rdr_cnode_t _rdr_nodes[RDR_CLUSTER_NODES_MAX];
static int _rdr_nnodes = 0;
static unsigned char _rdr_slot_node[RDR_SLOTS]; /* node index + 1, 0: none */
static unsigned char _rdr_new_map[RDR_SLOTS];
static int _rdr_map_loaded = 0;
static struct
{
	rdr_map_reload_t when;
	long long at_ms; /* RDR_MAP_RELOAD_AT only */
} _rdr_map_due = {RDR_MAP_RELOAD_NONE, 0};
static long long _rdr_map_last_ms = 0;
static unsigned int _rdr_map_version = 0; /* bumped by every map installed */
/* one lookup's groups: the sync lookup's, or each of an async batch's */
typedef struct rdr_clookup
{
	rdr_cgroup_t cgroups[RDR_CANDIDATES_MAX];
	rdr_group_t groups[RDR_CANDIDATES_MAX];
	int ng;
} rdr_clookup_t;
static rdr_clookup_t _rdr_clookups[RDR_CLUSTER_BATCH_MAX];

static void rdr_map_reload_at(long long at_ms)
{
	_rdr_map_due.when = RDR_MAP_RELOAD_AT;
	_rdr_map_due.at_ms = at_ms;
}

/* The same unless a reload is wanted already: failures one after the other
 * do not push it ever later. */
static void rdr_map_reload_after(long long at_ms)
{
	if(_rdr_map_due.when == RDR_MAP_RELOAD_NONE)
		rdr_map_reload_at(at_ms);
}

int rdr_cluster_init(void)
{
	_rdr_cl = rdr_shared_new(sizeof(*_rdr_cl), "cluster state");
	return _rdr_cl != NULL ? 0 : -1;
}

static void rdr_cnode_close(rdr_cnode_t *n)
{
	if(n->ctx != NULL) {
		redisFree(n->ctx);
		n->ctx = NULL;
	}
}

void rdr_cluster_destroy(void)
{
	int i;

	for(i = 0; i < _rdr_nnodes; i++)
		rdr_cnode_close(&_rdr_nodes[i]);
	rdr_shared_free(_rdr_cl);
	_rdr_cl = NULL;
}

/* The node's row in the shared table, added if new; -1 when it is full. */
static int rdr_cluster_shared_row(const char *host, int port)
{
	char addr[RDR_URL_HOST_MAX + 8];
	int i;

	rdr_hostport_print(host, port, addr, sizeof(addr));
	lock_get(&_rdr_cl->lock);
	for(i = 0; i < _rdr_cl->nnodes; i++)
		if(strcmp(_rdr_cl->node[i].addr, addr) == 0)
			break;
	if(i == _rdr_cl->nnodes) {
		if(i == RDR_CLUSTER_NODES_MAX) {
			i = -1;
		} else {
			memcpy(_rdr_cl->node[i].addr, addr, strlen(addr) + 1);
			_rdr_cl->node[i].state.up = -1;
			_rdr_cl->nnodes++;
		}
	}
	lock_release(&_rdr_cl->lock);
	return i;
}

/* The node's index in this process's table, added if new (a row that serves
 * no slot and is no seed is reused when the table is full); -1 if full. */
static int rdr_cnode_find(const char *host, int port)
{
	int i, spare = -1;

	for(i = 0; i < _rdr_nnodes; i++) {
		if(_rdr_nodes[i].port == port && strcmp(_rdr_nodes[i].host, host) == 0)
			return i;
		if(spare < 0 && _rdr_nodes[i].slots == 0 && !_rdr_nodes[i].seed)
			spare = i;
	}
	if(strlen(host) >= sizeof(_rdr_nodes[0].host))
		return -1;
	if(_rdr_nnodes < RDR_CLUSTER_NODES_MAX) {
		i = _rdr_nnodes++;
	} else if(spare >= 0) {
		i = spare;
		rdr_cnode_close(&_rdr_nodes[i]);
	} else {
		LM_ERR("more than %d cluster nodes: %s:%d ignored\n",
				RDR_CLUSTER_NODES_MAX, host, port);
		return -1;
	}
	memset(&_rdr_nodes[i], 0, sizeof(_rdr_nodes[i]));
	strcpy(_rdr_nodes[i].host, host);
	_rdr_nodes[i].port = port;
	_rdr_nodes[i].shared = rdr_cluster_shared_row(host, port);
	return i;
}

/* Records the last error for the status RPC; 1 when it differs from the
 * one before, so that a persistent error is logged once, not per attempt. */
static int rdr_cluster_note_error(const char *addr, const char *detail)
{
	char text[sizeof(_rdr_cl->error)];
	int changed;

	snprintf(text, sizeof(text), "%s: %s", addr, detail);
	/* shared memory gets the string only, never this stack's garbage past
	 * it */
	lock_get(&_rdr_cl->lock);
	changed = strcmp(_rdr_cl->error, text) != 0;
	if(changed)
		memcpy(_rdr_cl->error, text, strlen(text) + 1);
	lock_release(&_rdr_cl->lock);
	return changed;
}

/* Drops the node's connection until retry_interval has passed; the first
 * process to see an outage logs it. A node that fails may have been failed
 * over: the map is read again, at most once per retry_interval. */
static void rdr_cnode_down(int i, const char *why)
{
	rdr_cnode_t *n = &_rdr_nodes[i];
	const rdr_conn_cfg_t *cfg = rdr_conn_cfg();
	long long now = rdr_conn_now_ms();
	char addr[RDR_URL_HOST_MAX + 8];
	char detail[128];
	int log_it = 0;

	/* why may be the context's own errstr: copied before it is freed */
	snprintf(detail, sizeof(detail), "%s", why);
	rdr_cnode_close(n);
	n->next_attempt_ms = now + cfg->retry_interval_ms;
	if(n->shared >= 0)
		n->recoveries_seen =
				mb_atomic_get_int(&_rdr_cl->node[n->shared].recoveries);
	rdr_map_reload_after(now + cfg->retry_interval_ms);
	rdr_hostport_print(n->host, n->port, addr, sizeof(addr));
	rdr_cluster_note_error(addr, detail);
	if(n->shared >= 0) {
		lock_get(&_rdr_cl->lock);
		log_it = rdr_updown_set_down(&_rdr_cl->node[n->shared].state, now);
		lock_release(&_rdr_cl->lock);
	}
	if(log_it)
		LM_ERR("redis cluster node %s is down (%s); lookups of its slots fail "
			   "with -2, retrying every %d ms\n",
				addr, detail, cfg->retry_interval_ms);
}

static void rdr_cnode_up(int i)
{
	rdr_cnode_t *n = &_rdr_nodes[i];
	rdr_cnode_shared_t *s;
	long long down_for;
	int was;

	if(n->shared < 0)
		return;
	s = &_rdr_cl->node[n->shared];
	if(rdr_updown_is_up(&s->state)) /* the common case, without the lock */
		return;
	lock_get(&_rdr_cl->lock);
	was = rdr_updown_set_up(&s->state, rdr_conn_now_ms(), &down_for);
	lock_release(&_rdr_cl->lock);
	if(was == 0)
		LM_NOTICE("redis cluster node %s is reachable again after %lld ms\n",
				s->addr, down_for);
	else if(was == -1)
		LM_INFO("connected to redis cluster node %s\n", s->addr);
}

/* A new connection to the node has answered: the node is back for the other
 * processes too. */
static void rdr_cnode_answered(int i)
{
	rdr_cnode_t *n = &_rdr_nodes[i];

	if(n->answered)
		return;
	n->answered = 1;
	if(n->shared >= 0)
		mb_atomic_inc_int(&_rdr_cl->node[n->shared].recoveries);
}

/* Whether this process tries the node again now: once its own
 * retry_interval has passed, or as soon as another process has had an
 * answer from the node on a new connection since this one failed, unless
 * the node is known down again (its shared state, taken down by every
 * failure). The same rule as rdr_conn.c's: a restarted node is back for
 * every worker at its next lookup, and a node known down costs no network
 * wait. */
static int rdr_cnode_retry_due(int i)
{
	rdr_cnode_t *n = &_rdr_nodes[i];
	rdr_cnode_shared_t *s;

	if(rdr_conn_now_ms() >= n->next_attempt_ms)
		return 1;
	if(n->shared < 0)
		return 0;
	s = &_rdr_cl->node[n->shared];
	return mb_atomic_get_int(&s->recoveries) != n->recoveries_seen
		   && rdr_updown_is_up(&s->state);
}

/* The node's connection, opened if needed (and the lookup script loaded into
 * it); NULL while the node is down. */
static redisContext *rdr_cnode_ctx(int i)
{
	rdr_cnode_t *n = &_rdr_nodes[i];
	const char *argv[3];
	size_t lens[3];
	char err[128];
	redisReply *r;

	if(n->ctx != NULL)
		return n->ctx;
	if(!rdr_cnode_retry_due(i))
		return NULL;
	n->ctx = rdr_conn_open_host(n->host, n->port, err, sizeof(err));
	if(n->ctx == NULL) {
		rdr_cnode_down(i, err);
		return NULL;
	}
	n->answered = 0;
	if(rdr_eval_plain()) {
		/* route_types: plain commands, no script to load */
		rdr_cnode_up(i);
		return n->ctx;
	}
	r = redisCommandArgv(n->ctx, rdr_eval_load_argv(argv, lens), argv, lens);
	if(r == NULL) {
		rdr_cnode_down(i, rdr_conn_errstr(n->ctx));
		return NULL;
	}
	/* an error (NOPERM) surfaces with the first lookup */
	rdr_eval_loaded(r);
	freeReplyObject(r);
	rdr_cnode_answered(i);
	rdr_cnode_up(i);
	return n->ctx;
}

/* Reads one CLUSTER SLOTS reply of node `from` into _rdr_new_map. Returns the
 * number of slots served, or -1 when the reply is malformed. */
static int rdr_cluster_parse_slots(int from, const redisReply *r)
{
	size_t i;
	int served = 0;

	memset(_rdr_new_map, 0, sizeof(_rdr_new_map));
	if(r->type != REDIS_REPLY_ARRAY)
		return -1;
	for(i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i], *m;
		const char *host;
		long long s, first, last;
		int node;

		if(e->type != REDIS_REPLY_ARRAY || e->elements < 3
				|| e->element[0]->type != REDIS_REPLY_INTEGER
				|| e->element[1]->type != REDIS_REPLY_INTEGER
				|| e->element[2]->type != REDIS_REPLY_ARRAY)
			return -1;
		first = e->element[0]->integer;
		last = e->element[1]->integer;
		m = e->element[2]; /* the master; replicas follow */
		if(first < 0 || last < first || last >= RDR_SLOTS || m->elements < 2
				|| m->element[0]->type != REDIS_REPLY_STRING
				|| m->element[1]->type != REDIS_REPLY_INTEGER
				|| m->element[1]->integer < 1 || m->element[1]->integer > 65535)
			return -1;
		host = m->element[0]->str;
		if(m->element[0]->len == 0)
			host = _rdr_nodes[from].host; /* "the node you asked" */
		else if(m->element[0]->len == 1 && host[0] == '?')
			continue; /* endpoint unknown (no hostname announced) */
		else if(m->element[0]->len >= RDR_URL_HOST_MAX
				|| memchr(host, '\0', m->element[0]->len) != NULL)
			return -1;
		node = rdr_cnode_find(host, (int)m->element[1]->integer);
		if(node < 0)
			continue;
		/* not to be reused for another node of this same map */
		if(_rdr_nodes[node].slots == 0)
			_rdr_nodes[node].slots = 1;
		for(s = first; s <= last; s++)
			_rdr_new_map[s] = (unsigned char)(node + 1);
		served += (int)(last - first + 1);
	}
	return served;
}

/* Installs _rdr_new_map and publishes each node's share for the RPC.
 * Returns the number of slots the newest map before it served. */
static int rdr_cluster_install_map(int served)
{
	int i, s, before;

	memcpy(_rdr_slot_node, _rdr_new_map, sizeof(_rdr_slot_node));
	for(i = 0; i < _rdr_nnodes; i++)
		_rdr_nodes[i].slots = 0;
	for(s = 0; s < RDR_SLOTS; s++)
		if(_rdr_slot_node[s])
			_rdr_nodes[_rdr_slot_node[s] - 1].slots++;
	lock_get(&_rdr_cl->lock);
	for(i = 0; i < _rdr_cl->nnodes; i++)
		_rdr_cl->node[i].slots = 0;
	for(i = 0; i < _rdr_nnodes; i++)
		if(_rdr_nodes[i].shared >= 0)
			_rdr_cl->node[_rdr_nodes[i].shared].slots = _rdr_nodes[i].slots;
	before = _rdr_cl->slots;
	_rdr_cl->slots = served;
	_rdr_cl->map_loads++;
	lock_release(&_rdr_cl->lock);
	/* connections to nodes that left the map are not kept */
	for(i = 0; i < _rdr_nnodes; i++)
		if(_rdr_nodes[i].slots == 0)
			rdr_cnode_close(&_rdr_nodes[i]);
	_rdr_map_loaded = 1;
	_rdr_map_version++;
	return before;
}

/* Asks one node for the slot map: 0 when it is installed. */
static int rdr_cluster_load_from(int i)
{
	const char *argv[2] = {"CLUSTER", "SLOTS"};
	redisContext *ctx = rdr_cnode_ctx(i);
	redisReply *r;
	int served;

	if(ctx == NULL)
		return -1;
	r = redisCommandArgv(ctx, 2, argv, NULL);
	if(r == NULL) {
		rdr_cnode_down(i, rdr_conn_errstr(ctx));
		return -1;
	}
	rdr_cnode_answered(i);
	served = rdr_cluster_parse_slots(i, r);
	if(served <= 0) {
		char addr[RDR_URL_HOST_MAX + 8];
		const char *why =
				r->type == REDIS_REPLY_ERROR
						? r->str
						: (served == 0 ? "no slot served" : "malformed reply");
		rdr_hostport_print(
				_rdr_nodes[i].host, _rdr_nodes[i].port, addr, sizeof(addr));
		if(rdr_cluster_note_error(addr, why))
			LM_ERR("redis cluster: no slot map from %s (CLUSTER SLOTS: %s); "
				   "lookups fail with -2 until there is one\n",
					addr, why);
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	if(rdr_cluster_install_map(served) != served && served < RDR_SLOTS)
		LM_WARN("redis cluster serves %d of %d slots: lookups of the others "
				"fail with -2\n",
				served, RDR_SLOTS);
	return 0;
}

/* Reads the slot map from the first node that answers: connected nodes
 * first, then the others, then the seeds. */
static int rdr_cluster_load_map(void)
{
	int i, pass;

	_rdr_map_last_ms = rdr_conn_now_ms();
	_rdr_map_due.when = RDR_MAP_RELOAD_NONE;
	for(pass = 0; pass < 2; pass++)
		for(i = 0; i < _rdr_nnodes; i++)
			if((_rdr_nodes[i].ctx != NULL) == (pass == 0)
					&& rdr_cluster_load_from(i) == 0)
				return 0;
	/* nothing answered: try again after retry_interval */
	rdr_map_reload_at(_rdr_map_last_ms + rdr_conn_cfg()->retry_interval_ms);
	return -1;
}

/* The seeds: the server URL's node and cluster_seeds. */
static void rdr_cluster_add_seeds(void)
{
	const rdr_conn_cfg_t *cfg = rdr_conn_cfg();
	int i, n;

	n = rdr_cnode_find(cfg->url.host, cfg->url.port);
	if(n >= 0)
		_rdr_nodes[n].seed = 1;
	for(i = 0; i < cfg->ncluster_seeds; i++) {
		n = rdr_cnode_find(
				cfg->cluster_seeds[i].host, cfg->cluster_seeds[i].port);
		if(n >= 0)
			_rdr_nodes[n].seed = 1;
	}
}

/* Makes sure this process has a slot map, reading it when a MOVED, a node
 * failure or redisroute.reconnect asked for it. 0 when there is a map. */
static int rdr_cluster_ensure_map(void)
{
	int i;

	if(_rdr_nnodes == 0)
		rdr_cluster_add_seeds();
	if(rdr_conn_reconnect_take()) {
		for(i = 0; i < _rdr_nnodes; i++) {
			rdr_cnode_close(&_rdr_nodes[i]);
			_rdr_nodes[i].next_attempt_ms = 0;
		}
		_rdr_map_due.when = RDR_MAP_RELOAD_NOW;
	}
	if(!_rdr_map_loaded && _rdr_map_due.when == RDR_MAP_RELOAD_NONE)
		_rdr_map_due.when = RDR_MAP_RELOAD_NOW;
	if(_rdr_map_due.when == RDR_MAP_RELOAD_NOW
			|| (_rdr_map_due.when == RDR_MAP_RELOAD_AT
					&& rdr_conn_now_ms() >= _rdr_map_due.at_ms))
		rdr_cluster_load_map();
	return _rdr_map_loaded ? 0 : -1;
}

int rdr_cluster_masters(rdr_hostport_t *out, int max, unsigned int *version)
{
	int i, n = 0;

	if(rdr_cluster_ensure_map() < 0)
		return -1;
	for(i = 0; i < _rdr_nnodes && n < max; i++) {
		if(_rdr_nodes[i].slots == 0)
			continue;
		memcpy(out[n].host, _rdr_nodes[i].host, sizeof(out[n].host));
		out[n].port = _rdr_nodes[i].port;
		n++;
	}
	*version = _rdr_map_version;
	return n;
}

void rdr_cluster_child_init(void)
{
	int i;

	if(rdr_cluster_ensure_map() < 0)
		return;
	for(i = 0; i < _rdr_nnodes; i++)
		if(_rdr_nodes[i].slots > 0)
			rdr_cnode_ctx(i);
}

/* Groups the keys by slot, each group bound for its slot's node. */
static int rdr_cluster_group(
		rdr_clookup_t *l, int nkeys, const char **keys, const size_t *klens)
{
	int j, ng = rdr_cgroup_by_slot(nkeys, keys, klens, l->cgroups);

	for(j = 0; j < ng; j++) {
		rdr_group_t *g = &l->groups[j];
		g->cg = &l->cgroups[j];
		g->node = (int)_rdr_slot_node[g->cg->slot] - 1;
		g->sent = 0;
		g->first = 0;
		g->nasked = g->cg->nkeys;
		/* one key: the plain command of its type, when known */
		g->kind = rdr_eval_choose(
				g->cg->nkeys, g->cg->keys[0], g->cg->klens[0]);
		g->reply = NULL;
	}
	return ng;
}

/* Appends one group's script call to its node's output buffer. */
static void rdr_group_append(rdr_group_t *g)
{
	static char raw[RDR_EVAL_FORMAT_MAX];
	const char *argv[RDR_SCRIPT_ARGV_MAX];
	size_t lens[RDR_SCRIPT_ARGV_MAX];
	redisContext *ctx;
	int argc, len;

	if(g->node < 0) {
		/* a gap in the map: it may have been filled since */
		rdr_map_reload_after(
				_rdr_map_last_ms + rdr_conn_cfg()->retry_interval_ms);
		return;
	}
	ctx = rdr_cnode_ctx(g->node);
	if(ctx == NULL)
		return;
	/* pre-formatted when it can be: no allocation in hiredis */
	len = rdr_eval_format(g->kind, g->cg->nkeys, g->cg->keys, g->cg->klens,
			raw, sizeof(raw));
	if(len >= 0) {
		g->sent = (redisAppendFormattedCommand(ctx, raw, (size_t)len)
				   == REDIS_OK);
		return;
	}
	argc = rdr_eval_argv(
			g->kind, 0, g->cg->nkeys, g->cg->keys, g->cg->klens, argv, lens);
	g->sent = (redisAppendCommandArgv(ctx, argc, argv, lens) == REDIS_OK);
}

/* Writes every node's buffered commands, so that all nodes work on the
 * lookups at the same time. */
static void rdr_cluster_flush(void)
{
	int i, done;
	redisContext *ctx;

	for(i = 0; i < _rdr_nnodes; i++) {
		if((ctx = _rdr_nodes[i].ctx) == NULL)
			continue;
		done = 0;
		while(!done) {
			if(redisBufferWrite(ctx, &done) == REDIS_ERR) {
				rdr_cnode_down(i, ctx->errstr);
				break;
			}
		}
	}
}

/* Reads one group's pipelined reply; the connection is gone if an earlier
 * group on the same node failed. */
static void rdr_group_read(rdr_group_t *g)
{
	redisContext *ctx;
	void *r = NULL;

	if(!g->sent || (ctx = _rdr_nodes[g->node].ctx) == NULL)
		return;
	if(redisGetReply(ctx, &r) != REDIS_OK || r == NULL) {
		rdr_cnode_down(g->node, rdr_conn_errstr(ctx));
		return;
	}
	rdr_cnode_answered(g->node); /* route_types: maybe its first answer */
	g->reply = r;
}

/* Sends the group again, after a redirect, synchronously (every pipelined
 * reply has been read by now). */
static redisReply *rdr_group_resend(
		rdr_group_t *g, int node, int asking, int eval)
{
	const char *argv[RDR_SCRIPT_ARGV_MAX];
	size_t lens[RDR_SCRIPT_ARGV_MAX];
	const char *ask[1] = {"ASKING"};
	redisContext *ctx = rdr_cnode_ctx(node);
	void *r = NULL;
	int argc;

	if(ctx == NULL)
		return NULL;
	argc = rdr_eval_argv(g->kind, eval, g->nasked, g->cg->keys + g->first,
			g->cg->klens + g->first, argv, lens);
	/* ASKING holds for the next command only: both go in one write */
	if((asking && redisAppendCommandArgv(ctx, 1, ask, NULL) != REDIS_OK)
			|| redisAppendCommandArgv(ctx, argc, argv, lens) != REDIS_OK)
		goto failed;
	if(asking) {
		if(redisGetReply(ctx, &r) != REDIS_OK || r == NULL)
			goto failed;
		freeReplyObject(r);
		r = NULL;
	}
	if(redisGetReply(ctx, &r) != REDIS_OK || r == NULL)
		goto failed;
	return r;
failed:
	rdr_cnode_down(node, rdr_conn_errstr(ctx));
	return NULL;
}

/* The node a MOVED or ASK names (no host: the node that answered, from);
 * a MOVED also updates the map and has it read again soon. -1 when the
 * node table is full. */
static int rdr_group_redirect(
		int from, int kind, int slot, char *host, int port)
{
	int node;

	if(host[0] == '\0')
		strcpy(host, _rdr_nodes[from].host);
	node = rdr_cnode_find(host, port);
	if(node < 0)
		return -1;
	if(kind == RDR_REDIRECT_ASK) {
		rdr_stats_inc(RDR_STAT_CLUSTER_ASK);
		return node;
	}
	rdr_stats_inc(RDR_STAT_CLUSTER_MOVED);
	_rdr_slot_node[slot] = (unsigned char)(node + 1);
	/* soon, but a reload wanted at once is not postponed */
	if(_rdr_map_due.when != RDR_MAP_RELOAD_NOW)
		rdr_map_reload_at(_rdr_map_last_ms + RDR_MAP_MIN_INTERVAL_MS);
	return node;
}

/* what rdr_group_follow() leaves to its caller */
#define RDR_FOLLOW_DONE 0  /* the reply is final (maybe NULL or an error) */
#define RDR_FOLLOW_SPLIT 1 /* TRYAGAIN over several keys: ask them one by one */

/* Follows MOVED, ASK, TRYAGAIN and NOSCRIPT until the group has a final
 * reply, at most RDR_CLUSTER_REDIRECTS_MAX times. */
static int rdr_group_follow(rdr_group_t *g)
{
	char host[RDR_URL_HOST_MAX];
	int hops = 0, node = g->node, asking = 0, eval = 0;
	int kind, slot, port, noscript, tryagain, ro_unknown;
	redisReply *r;

	while((r = g->reply) != NULL && r->type == REDIS_REPLY_ERROR) {
		if(rdr_eval_wrong_guess(g->kind, r)) {
			/* not the type guessed: the script says which, at once */
			freeReplyObject(r);
			g->kind = 0;
			g->reply = rdr_group_resend(g, node, asking, eval);
			continue;
		}
		kind = rdr_redirect_parse(
				r->str, (int)r->len, &slot, host, sizeof(host), &port);
		noscript = rdr_reply_is_error(r, "NOSCRIPT");
		tryagain = rdr_reply_is_error(r, "TRYAGAIN");
		/* a node without EVALSHA_RO: asked again, with EVALSHA */
		ro_unknown = rdr_eval_ro_unknown(r);
		if(!kind && !noscript && !tryagain && !ro_unknown)
			return RDR_FOLLOW_DONE; /* a final error: the caller reports it */
		if(tryagain && g->nasked > 1) {
			freeReplyObject(r);
			g->reply = NULL;
			return RDR_FOLLOW_SPLIT;
		}
		if(hops++ >= RDR_CLUSTER_REDIRECTS_MAX) {
			LM_ERR("redis cluster: slot %u still redirected after %d hops "
				   "(%.*s)\n",
					g->cg->slot, hops - 1, (int)r->len, r->str);
			return RDR_FOLLOW_DONE;
		}
		if(kind) {
			node = rdr_group_redirect(node, kind, slot, host, port);
			if(node < 0)
				return RDR_FOLLOW_DONE;
			asking = (kind == RDR_REDIRECT_ASK);
		} else if(noscript) {
			eval = 1;
		}
		/* TRYAGAIN of a single key: asked again at once, within the hop
		 * bound; a SIP worker does not sleep for a migration to end */
		freeReplyObject(r);
		g->reply = rdr_group_resend(g, node, asking, eval);
	}
	return RDR_FOLLOW_DONE;
}

/* What a group's reply says: found (which key, as its index in the lookup's
 * keys), none, or no answer of the script's (an error, no reply, a reply of
 * another shape). */
static rdr_cgroup_answer_t rdr_group_answer(const rdr_group_t *g)
{
	const redisReply *r = g->reply;
	rdr_cgroup_answer_t a = {RDR_CGROUP_FAILED, -1};
	int k;

	if(rdr_eval_none(g->kind, r)) {
		a.state = RDR_CGROUP_NONE;
		return a;
	}
	k = rdr_eval_matched(g->kind, r, g->nasked);
	if(k < 0)
		return a;
	a.state = RDR_CGROUP_FOUND;
	a.found = g->cg->cand[g->first + k];
	return a;
}

/* While its slot migrates, a script over several keys gets TRYAGAIN when
 * only some of them are on the node, and most candidates of a prefix lookup
 * never exist: the keys are then asked one by one, best first, each
 * following its own ASK, until one exists. Only while a slot moves. */
static void rdr_group_split(rdr_group_t *g)
{
	int j;

	g->nasked = 1;
	g->kind = 0;
	for(j = 0; j < g->cg->nkeys; j++) {
		if(g->reply != NULL) /* the key before's {'none'} */
			freeReplyObject(g->reply);
		g->first = j;
		g->reply = rdr_group_resend(g, g->node, 0, 0);
		/* one key: a TRYAGAIN is asked again, never split */
		rdr_group_follow(g);
		if(rdr_group_answer(g).state != RDR_CGROUP_NONE)
			break;
	}
}

/* The group's final reply: its redirects followed, its keys asked one by
 * one if its slot is migrating. */
static void rdr_group_settle(rdr_group_t *g)
{
	if(rdr_group_follow(g) == RDR_FOLLOW_SPLIT)
		rdr_group_split(g);
}

/* Groups and appends one lookup's script calls (nothing is written yet). */
static void rdr_clookup_send(
		rdr_clookup_t *l, int nkeys, const char **keys, const size_t *klens)
{
	int j;

	l->ng = rdr_cluster_group(l, nkeys, keys, klens);
	for(j = 0; j < l->ng; j++)
		rdr_group_append(&l->groups[j]);
}

/* Reads one lookup's pipelined replies: every lookup's before any is
 * settled, since settling sends anew on the same connections. */
static void rdr_clookup_read(rdr_clookup_t *l)
{
	int j;

	for(j = 0; j < l->ng; j++)
		rdr_group_read(&l->groups[j]);
}

/* Follows the redirects, picks the answer (rdr_cluster_eval's), frees the
 * rest; *kind: the command the answer came to. */
static redisReply *rdr_clookup_settle(
		rdr_clookup_t *l, int *matched, int *kind)
{
	rdr_cgroup_answer_t answers[RDR_CANDIDATES_MAX];
	rdr_cgroup_pick_t pick;
	redisReply *out;
	int j;

	for(j = 0; j < l->ng; j++)
		rdr_group_settle(&l->groups[j]);
	for(j = 0; j < l->ng; j++)
		answers[j] = rdr_group_answer(&l->groups[j]);

	/* found: the winner's reply; none: the first group's {'none'}; failed:
	 * Redis's error, for the log, or NULL */
	pick = rdr_cgroup_pick(l->ng, l->cgroups, answers);
	out = l->groups[pick.group].reply;
	*matched = pick.found;
	*kind = l->groups[pick.group].kind;
	if(l->ng == 1 && l->groups[0].nasked == 1)
		rdr_eval_learn(l->groups[0].kind, out,
				l->groups[0].cg->keys[l->groups[0].first],
				l->groups[0].cg->klens[l->groups[0].first]);
	for(j = 0; j < l->ng; j++) {
		if(l->groups[j].reply != out && l->groups[j].reply != NULL)
			freeReplyObject(l->groups[j].reply);
		l->groups[j].reply = NULL;
	}
	return out;
}

/* the third of the three ways of talking to Redis (rdr_conn.h): blocking
 * reads, but each master's share of the batch written at once */
int rdr_cluster_eval_batch(int n, rdr_cluster_lookup_t *lk)
{
	int i;

	if(n > RDR_CLUSTER_BATCH_MAX)
		n = RDR_CLUSTER_BATCH_MAX;
	for(i = 0; i < n; i++) {
		lk[i].reply = NULL;
		lk[i].matched = -1;
		lk[i].kind = 0;
	}
	if(rdr_cluster_ensure_map() < 0)
		return n;
	for(i = 0; i < n; i++)
		rdr_clookup_send(
				&_rdr_clookups[i], lk[i].nkeys, lk[i].keys, lk[i].klens);
	rdr_cluster_flush();
	for(i = 0; i < n; i++)
		rdr_clookup_read(&_rdr_clookups[i]);
	for(i = 0; i < n; i++)
		lk[i].reply = rdr_clookup_settle(
				&_rdr_clookups[i], &lk[i].matched, &lk[i].kind);
	return n;
}

redisReply *rdr_cluster_eval(int nkeys, const char **keys,
		const size_t *klens, int *matched, int *kind)
{
	rdr_cluster_lookup_t lk;

	lk.nkeys = nkeys;
	lk.keys = keys;
	lk.klens = klens;
	rdr_cluster_eval_batch(1, &lk);
	*matched = lk.matched;
	*kind = lk.kind;
	return lk.reply;
}

redisReply *rdr_cluster_command(const char *key, size_t klen, int argc,
		const char **argv, const size_t *lens)
{
	char host[RDR_URL_HOST_MAX];
	const char *ask[1] = {"ASKING"};
	redisContext *ctx = NULL;
	redisReply *r;
	void *v = NULL;
	int node, hops, asking = 0, kind, slot, port;

	if(rdr_cluster_ensure_map() < 0)
		return NULL;
	node = (int)_rdr_slot_node[rdr_key_slot(key, (int)klen)] - 1;
	for(hops = 0; hops <= RDR_CLUSTER_REDIRECTS_MAX; hops++) {
		if(node < 0 || (ctx = rdr_cnode_ctx(node)) == NULL)
			return NULL;
		/* ASKING holds for the next command only: both go in one write */
		if((asking && redisAppendCommandArgv(ctx, 1, ask, NULL) != REDIS_OK)
				|| redisAppendCommandArgv(ctx, argc, argv, lens) != REDIS_OK)
			goto failed;
		if(asking) {
			if(redisGetReply(ctx, &v) != REDIS_OK || v == NULL)
				goto failed;
			freeReplyObject(v);
		}
		if(redisGetReply(ctx, &v) != REDIS_OK || v == NULL)
			goto failed;
		rdr_cnode_answered(node);
		r = v;
		if(r->type != REDIS_REPLY_ERROR)
			return r;
		kind = rdr_redirect_parse(
				r->str, (int)r->len, &slot, host, sizeof(host), &port);
		if(!kind && !rdr_reply_is_error(r, "TRYAGAIN"))
			return r; /* a final error: the caller reports it */
		if(kind) {
			node = rdr_group_redirect(node, kind, slot, host, port);
			asking = (kind == RDR_REDIRECT_ASK);
		}
		freeReplyObject(r);
	}
	LM_ERR("redis cluster: '%.*s' still redirected after %d hops\n",
			(int)klen, key, RDR_CLUSTER_REDIRECTS_MAX);
	return NULL;
failed:
	rdr_cnode_down(node, rdr_conn_errstr(ctx));
	return NULL;
}

void rdr_cluster_get_status(rdr_cluster_status_t *st)
{
	long long now = rdr_conn_now_ms();
	int i;

	memset(st, 0, sizeof(*st));
	if(_rdr_cl == NULL)
		return;
	lock_get(&_rdr_cl->lock);
	st->nnodes = _rdr_cl->nnodes;
	st->slots = _rdr_cl->slots;
	st->map_loads = _rdr_cl->map_loads;
	memcpy(st->error, _rdr_cl->error, sizeof(st->error));
	for(i = 0; i < _rdr_cl->nnodes; i++) {
		rdr_cnode_shared_t *s = &_rdr_cl->node[i];
		memcpy(st->node[i].addr, s->addr, sizeof(s->addr));
		st->node[i].up = s->state.up;
		st->node[i].slots = s->slots;
		st->node[i].outages = s->state.outages;
		if(s->state.up == 0)
			st->node[i].down_ms = (long)(now - s->state.down_since_ms);
	}
	lock_release(&_rdr_cl->lock);
}
