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
 * redisroute - the gateways: shared memory, their reads from Redis, and the
 * resolution of a lookup's @NAME targets (rdr_gw.h)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic_ops.h"
#include "core/dprint.h"
#include "rdr_syntax.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"
#include "core/parser/parse_uri.h"

#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_gw.h"
#include "rdr_gw_record.h"
#include "rdr_select.h"
#include "rdr_stats.h"
#include "redisroute.h"

#define RDR_GW_BUCKETS 256
#define RDR_GW_NEVER 1 /* an entry made, not read yet */

typedef struct rdr_gw_entry
{
	struct rdr_gw_entry *next;
	unsigned int hash;
	int namelen;
	char name[RDR_GW_NAME_MAX + 1];
	int err;			 /* 0: rec is valid; < 0 rdr_gw_err; RDR_GW_NEVER */
	unsigned int loaded; /* the sequence number taken before its read */
	unsigned int inval;	 /* the one taken at its last invalidation */
	unsigned int logged; /* the content last logged as bad (0: none) */
	time_t read_s;		 /* when it was read (rdr_conn_now_s()) */
	int health;			 /* RDR_HEALTH_*: the node's health process's */
	long long health_since_ms; /* unix ms of its last transition */
	rdr_gw_record_t rec;
} rdr_gw_entry_t;

typedef struct rdr_gw_table
{
	gen_lock_t lock;
	atomic_t seq;	  /* the sequence numbers */
	atomic_t flushed; /* the one taken at the last flush */
	int count;
	int max;
	int full_said;
	int unvouched_said; /* "read at each use" was logged */
	rdr_gw_entry_t *bucket[RDR_GW_BUCKETS];
} rdr_gw_table_t;

static rdr_gw_table_t *_rdr_gw = NULL;
static char _rdr_gw_prefix_buf[RDR_PREFIX_MAX + 1];
static str _rdr_gw_prefix = {_rdr_gw_prefix_buf, 0};
static int _rdr_gw_selection = RDR_SELECT_ORDER;
static int _rdr_gw_max_targets = RDR_TARGETS_MAX;
/* all_down "all": when every target is a down gateway, use them all */
static int _rdr_gw_all_down_open = 0;
/* probe_interval: a gateway's health is read with it */
static int _rdr_gw_health = 0;
/* per process: the sequence number taken when its subscription came up */
static unsigned int _rdr_gw_sub_since = 0;
static int _rdr_gw_sub_ever = 0;
static uint64_t _rdr_gw_rnd_state = 0;

/* a is newer than b, across the counter's wrap */
static inline int rdr_seq_after(unsigned int a, unsigned int b)
{
	return (int)(a - b) > 0;
}

static unsigned int rdr_gw_next_seq(void)
{
	return (unsigned int)atomic_add(&_rdr_gw->seq, 1);
}

int rdr_gw_init(const str *prefix, int selection, int max, int max_targets)
{
	_rdr_gw_max_targets = max_targets;
	if(prefix->len <= 0 || prefix->len > RDR_PREFIX_MAX) {
		LM_ERR("modparam gw_prefix must be 1 to %d bytes\n", RDR_PREFIX_MAX);
		return -1;
	}
	memcpy(_rdr_gw_prefix_buf, prefix->s, prefix->len);
	_rdr_gw_prefix.len = prefix->len;
	_rdr_gw_selection = selection;
	_rdr_gw = shm_malloc(sizeof(*_rdr_gw));
	if(_rdr_gw == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(_rdr_gw, 0, sizeof(*_rdr_gw));
	if(lock_init(&_rdr_gw->lock) == NULL) {
		LM_ERR("cannot initialize the gateways' lock\n");
		shm_free(_rdr_gw);
		_rdr_gw = NULL;
		return -1;
	}
	atomic_set(&_rdr_gw->seq, 1);
	atomic_set(&_rdr_gw->flushed, 0);
	_rdr_gw->max = max;
	return 0;
}

void rdr_gw_destroy(void)
{
	rdr_gw_entry_t *e, *n;
	int i;

	if(_rdr_gw == NULL)
		return;
	for(i = 0; i < RDR_GW_BUCKETS; i++) {
		for(e = _rdr_gw->bucket[i]; e != NULL; e = n) {
			n = e->next;
			shm_free(e);
		}
	}
	lock_destroy(&_rdr_gw->lock);
	shm_free(_rdr_gw);
	_rdr_gw = NULL;
}

void rdr_gw_set_all_down(int open)
{
	_rdr_gw_all_down_open = open;
}

void rdr_gw_set_health_on(int on)
{
	_rdr_gw_health = on;
}

const str *rdr_gw_prefix(void)
{
	return &_rdr_gw_prefix;
}

int rdr_gw_selection(void)
{
	return _rdr_gw_selection;
}

const char *rdr_gw_selection_name(void)
{
	return rdr_select_name(_rdr_gw_selection);
}

static unsigned int rdr_gw_hash(const char *s, int len)
{
	return rdr_hash32(s, len);
}

/* The entry of name, under the lock; with make, created when missing (NULL
 * when the table is full). */
static rdr_gw_entry_t *rdr_gw_find(const char *name, int len, int make)
{
	unsigned int h = rdr_gw_hash(name, len);
	rdr_gw_entry_t *e, **b = &_rdr_gw->bucket[h % RDR_GW_BUCKETS];

	for(e = *b; e != NULL; e = e->next)
		if(e->hash == h && e->namelen == len && memcmp(e->name, name, len) == 0)
			return e;
	if(!make)
		return NULL;
	if(_rdr_gw->count >= _rdr_gw->max) {
		if(!_rdr_gw->full_said)
			LM_WARN("gateways_max (%d) gateways are in shared memory: '%.*s' "
					"and any other new one is read from Redis at each use\n",
					_rdr_gw->max, len, name);
		_rdr_gw->full_said = 1;
		return NULL;
	}
	e = shm_malloc(sizeof(*e));
	if(e == NULL) {
		SHM_MEM_ERROR;
		return NULL;
	}
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->namelen = len;
	memcpy(e->name, name, len);
	e->err = RDR_GW_NEVER;
	e->next = *b;
	*b = e;
	_rdr_gw->count++;
	return e;
}

void rdr_gw_invalidate(const char *key, int len)
{
	rdr_gw_entry_t *e;
	const char *name = key + _rdr_gw_prefix.len;
	int nlen = len - _rdr_gw_prefix.len;

	if(_rdr_gw == NULL || nlen <= 0 || nlen > RDR_GW_NAME_MAX
			|| memcmp(key, _rdr_gw_prefix.s, _rdr_gw_prefix.len) != 0)
		return;
	lock_get(&_rdr_gw->lock);
	e = rdr_gw_find(name, nlen, 0);
	if(e != NULL)
		e->inval = rdr_gw_next_seq();
	lock_release(&_rdr_gw->lock);
}

void rdr_gw_flush(void)
{
	if(_rdr_gw != NULL)
		atomic_set(&_rdr_gw->flushed, (int)rdr_gw_next_seq());
}

void rdr_gw_subscribed(void)
{
	if(_rdr_gw == NULL)
		return;
	_rdr_gw_sub_since = rdr_gw_next_seq();
	_rdr_gw_sub_ever = 1;
}

/* 1 when e may serve this process (under the lock): read, and after its
 * last invalidation, the last flush and this process's subscription. */
static int rdr_gw_fresh(const rdr_gw_entry_t *e, int vouched)
{
	return vouched && _rdr_gw_sub_ever && e->err != RDR_GW_NEVER
		   && rdr_seq_after(e->loaded, e->inval)
		   && rdr_seq_after(
				   e->loaded, (unsigned int)atomic_get(&_rdr_gw->flushed))
		   && rdr_seq_after(e->loaded, _rdr_gw_sub_since);
}

/*
 * reading a gateway from Redis
 */

/* what one read gave: the record or why not; unavailable: no answer */
typedef struct rdr_gw_read
{
	char name[RDR_GW_NAME_MAX + 1];
	int namelen;
	unsigned int ticket;
	int err;
	int unavailable;
	unsigned int content; /* a hash of what was read, for the log */
	int health;			  /* RDR_HEALTH_*, with probe_interval */
	long long health_since_ms;
	rdr_gw_record_t rec;
} rdr_gw_read_t;

redisReply *rdr_gw_command(
		const char *key, int klen, int argc, const char **argv,
		const size_t *lens)
{
	if(rdr_conn_cfg()->cluster)
		return rdr_cluster_command(key, klen, argc, argv, lens);
	return rdr_conn_command(argc, argv, lens);
}

int rdr_gw_health_key(const char *name, int len, char *buf)
{
	memcpy(buf, _rdr_gw_prefix.s, _rdr_gw_prefix.len);
	memcpy(buf + _rdr_gw_prefix.len, name, len);
	memcpy(buf + _rdr_gw_prefix.len + len, ":health", 8); /* with its NUL */
	return _rdr_gw_prefix.len + len + 7;
}

int rdr_gw_read_health(const char *name, int len, int *health,
		long long *since_ms, char *by, int bylen)
{
	char key[RDR_PREFIX_MAX + RDR_GW_NAME_MAX + 8];
	const char *argv[5] = {"HMGET", key, "state", "since", "by"};
	size_t lens[5] = {5, 0, 5, 5, 2};
	redisReply *r;

	*health = RDR_HEALTH_UNKNOWN;
	*since_ms = 0;
	if(bylen > 0)
		by[0] = '\0';
	lens[1] = (size_t)rdr_gw_health_key(name, len, key);
	r = rdr_gw_command(key, (int)lens[1], 5, argv, lens);
	if(r == NULL)
		return -1;
	if(r->type == REDIS_REPLY_ERROR) {
		LM_ERR("cannot read %s: %.*s\n", key, (int)r->len, r->str);
		freeReplyObject(r);
		return -1;
	}
	if(r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
		const redisReply *st = r->element[0];
		if(st->type == REDIS_REPLY_STRING)
			*health = (st->len == 4 && memcmp(st->str, "down", 4) == 0)
							  ? RDR_HEALTH_DOWN
							  : RDR_HEALTH_UP;
		if(r->element[1]->type == REDIS_REPLY_STRING)
			*since_ms = atoll(r->element[1]->str);
		if(r->element[2]->type == REDIS_REPLY_STRING && bylen > 0)
			snprintf(by, bylen, "%.*s", (int)r->element[2]->len,
					r->element[2]->str);
	}
	freeReplyObject(r);
	return 0;
}

/* HMGET gw_prefix+NAME uri strip prefix weight attrs drain, into rd. */
static void rdr_gw_fetch(rdr_gw_read_t *rd)
{
	char key[RDR_PREFIX_MAX + RDR_GW_NAME_MAX + 1];
	const char *argv[2 + RDR_GWF_COUNT];
	size_t lens[2 + RDR_GWF_COUNT];
	const char *f[RDR_GWF_COUNT];
	int flen[RDR_GWF_COUNT];
	redisReply *r;
	size_t i;
	int klen;

	memcpy(key, _rdr_gw_prefix.s, _rdr_gw_prefix.len);
	memcpy(key + _rdr_gw_prefix.len, rd->name, rd->namelen);
	klen = _rdr_gw_prefix.len + rd->namelen;
	argv[0] = "HMGET";
	lens[0] = 5;
	argv[1] = key;
	lens[1] = (size_t)klen;
	for(i = 0; i < RDR_GWF_COUNT; i++) {
		argv[2 + i] = rdr_gw_fields[i];
		lens[2 + i] = strlen(rdr_gw_fields[i]);
	}
	rd->unavailable = 0;
	rd->content = 0;
	rdr_stats_inc(RDR_STAT_GATEWAY_READS);
	rd->health = RDR_HEALTH_UNKNOWN;
	r = rdr_gw_command(key, klen, 2 + RDR_GWF_COUNT, argv, lens);
	if(r == NULL) {
		rd->unavailable = 1;
		return;
	}
	if(r->type == REDIS_REPLY_ERROR) {
		if(r->len >= 9 && memcmp(r->str, "WRONGTYPE", 9) == 0) {
			/* a key of another type: no gateway */
			rd->err = RDR_GW_MISSING;
			rd->content = 0x57524f4e; /* the same log line once */
		} else {
			if(rdr_conn_note_error("error reply", r->str, (int)r->len))
				LM_ERR("redis refused to read gateway '%.*s': %.*s (said "
					   "once while it lasts)\n",
						klen, key, (int)r->len, r->str);
			rd->unavailable = 1;
		}
		freeReplyObject(r);
		return;
	}
	if(r->type != REDIS_REPLY_ARRAY || r->elements != RDR_GWF_COUNT) {
		LM_ERR("unexpected reply to HMGET %.*s\n", klen, key);
		rd->unavailable = 1;
		freeReplyObject(r);
		return;
	}
	rd->content = 2166136261u;
	for(i = 0; i < RDR_GWF_COUNT; i++) {
		const redisReply *v = r->element[i];
		if(v->type == REDIS_REPLY_STRING) {
			f[i] = v->str;
			flen[i] = (int)v->len;
			rd->content = (rd->content ^ rdr_gw_hash(v->str, (int)v->len))
						  * 16777619u;
		} else {
			f[i] = NULL;
			flen[i] = 0;
			rd->content = (rd->content ^ (unsigned int)i) * 16777619u;
		}
	}
	rd->err = rdr_gw_record_parse(f, flen, &rd->rec);
	if(rd->err == 0) {
		/* the core's parser has the final word, with a stand-in user */
		char uri[RDR_URI_MAX];
		struct sip_uri puri;
		int len = rdr_gw_record_target(
				&rd->rec, "x", 1, 0, uri, sizeof(uri));
		if(len < 0 || parse_uri(uri, len, &puri) < 0 || puri.host.len <= 0)
			rd->err = RDR_GW_BAD_URI;
	}
	if(rd->content == 0)
		rd->content = 1;
	freeReplyObject(r);
	/* with probe_interval, its health too: a gateway a node meets for the
	 * first time is not taken for up while the fleet knows it is down */
	if(_rdr_gw_health && rd->err == 0)
		rdr_gw_read_health(rd->name, rd->namelen, &rd->health,
				&rd->health_since_ms, NULL, 0);
}

/* Stores a read (unless the gateway changed since its ticket: then it
 * serves this request only) and logs a bad gateway once per content. */
static void rdr_gw_store(rdr_gw_read_t *rd)
{
	rdr_gw_entry_t *e;
	int say = 0;

	if(rd->unavailable)
		return;
	lock_get(&_rdr_gw->lock);
	e = rdr_gw_find(rd->name, rd->namelen, 1);
	if(e != NULL) {
		if(!rdr_seq_after(e->inval, rd->ticket)
				&& !rdr_seq_after((unsigned int)atomic_get(&_rdr_gw->flushed),
						rd->ticket)
				&& (e->err == RDR_GW_NEVER
						|| rdr_seq_after(rd->ticket, e->loaded))) {
			e->err = rd->err;
			e->loaded = rd->ticket;
			e->read_s = rdr_conn_now_s();
			if(rd->err == 0) {
				memcpy(&e->rec, &rd->rec, sizeof(e->rec));
				if(_rdr_gw_health) {
					e->health = rd->health;
					e->health_since_ms = rd->health_since_ms;
				}
			}
		}
		if(rd->err < 0 && e->logged != rd->content) {
			e->logged = rd->content;
			say = 1;
		} else if(rd->err == 0) {
			e->logged = 0;
		}
	} else {
		say = rd->err < 0;
	}
	lock_release(&_rdr_gw->lock);
	if(say)
		LM_WARN("bad route data in gateway '%.*s%.*s': %s; the routes that "
				"name @%.*s leave it out\n",
				_rdr_gw_prefix.len, _rdr_gw_prefix.s, rd->namelen, rd->name,
				rdr_gw_strerror(rd->err), rd->namelen, rd->name);
}

/*
 * resolving a lookup's answer
 */

/* what became of one target */
#define RDR_T_KEEP 0
#define RDR_T_DROP_BAD 1
#define RDR_T_DROP_DRAIN 2
#define RDR_T_DROP_UNAVAILABLE 3
#define RDR_T_READ 4 /* to be read from Redis */
#define RDR_T_DOWN 5 /* built, but its gateway is down (all_down) */

/* Makes target t (its gw already holds the NAME) from a valid record;
 * health: the entry's RDR_HEALTH_*. */
static int rdr_gw_make(const rdr_gw_record_t *rec, int health,
		rdr_target_t *t, const str *user, int sips, int *weight)
{
	int len;

	if(rec->drain)
		return RDR_T_DROP_DRAIN;
	len = rdr_gw_record_target(
			rec, user->s, user->len, sips, t->uri.s, RDR_URI_MAX);
	if(len < 0) {
		/* the user (from the message) does not make a URI with it */
		LM_DBG("gateway %.*s: no target for user '%.*s': %s\n", t->gw.len,
				t->gw.s, user->len, user->s, rdr_target_strerror(len));
		return RDR_T_DROP_BAD;
	}
	t->uri.len = len;
	memcpy(t->attrs.s, rec->attrs, rec->attrslen + 1);
	t->attrs.len = rec->attrslen;
	*weight = rec->weight;
	return health == RDR_HEALTH_DOWN ? RDR_T_DOWN : RDR_T_KEEP;
}

/* Moves the name of target t ("@NAME") into its gw. */
static void rdr_gw_take_name(rdr_target_t *t)
{
	memcpy(t->gw.s, t->uri.s + 1, t->uri.len - 1);
	t->gw.len = t->uri.len - 1;
	t->gw.s[t->gw.len] = '\0';
}

static uint64_t rdr_gw_rnd(void)
{
	uint64_t x = _rdr_gw_rnd_state;

	if(x == 0)
		x = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL)
			^ 0x9E3779B97F4A7C15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	_rdr_gw_rnd_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Orders the targets (selection) and sets their q-values. */
static void rdr_gw_order(rdr_result_t *res, const int *weight, uint64_t seed)
{
	rdr_select_item_t it[RDR_TARGETS_MAX];
	rdr_target_t sorted[RDR_TARGETS_MAX];
	int order[RDR_TARGETS_MAX], q[RDR_TARGETS_MAX];
	int i;

	if(_rdr_gw_selection != RDR_SELECT_ORDER && res->n > 1) {
		for(i = 0; i < res->n; i++) {
			it[i].prio = res->list ? 0 : res->t[i].q;
			it[i].weight = weight[i];
			it[i].id = res->t[i].gw.len > 0 ? res->t[i].gw.s : res->t[i].uri.s;
			it[i].idlen = res->t[i].gw.len > 0 ? res->t[i].gw.len
											   : res->t[i].uri.len;
		}
		rdr_select_order(_rdr_gw_selection, it, res->n, seed,
				_rdr_gw_selection == RDR_SELECT_WEIGHT ? rdr_gw_rnd : NULL,
				order);
		for(i = 0; i < res->n; i++)
			sorted[i] = res->t[order[i]];
		memcpy(res->t, sorted, res->n * sizeof(rdr_target_t));
	}
	/* max_targets counts what is left, in the chosen order */
	if(res->n > _rdr_gw_max_targets)
		res->n = _rdr_gw_max_targets;
	if(_rdr_gw_selection != RDR_SELECT_ORDER && res->n > 1) {
		if(!res->list) {
			for(i = 0; i < res->n; i++)
				q[i] = res->t[i].q;
			rdr_select_spread_q(q, res->n);
			for(i = 0; i < res->n; i++)
				res->t[i].q = q[i];
		}
	}
	/* a list's q-values are its (new) positions' */
	if(res->list)
		for(i = 0; i < res->n; i++)
			res->t[i].q = rdr_list_qvalue(i, res->n);
}

int rdr_gw_needed(int rc, const rdr_result_t *res)
{
	return rc == RDR_OK
		   && (res->refs > 0 || res->n > _rdr_gw_max_targets
				   || (_rdr_gw_selection != RDR_SELECT_ORDER && res->n > 1));
}

int rdr_gw_resolve(int rc, rdr_result_t *res, const str *user, int sips,
		uint64_t seed, int vouched)
{
	static rdr_gw_read_t reads[RDR_TARGETS_MAX];
	int fate[RDR_TARGETS_MAX], weight[RDR_TARGETS_MAX];
	int health[RDR_TARGETS_MAX];
	int i, j, n, nreads = 0, drained = 0, unavailable = 0, down = 0, keep;
	rdr_gw_entry_t *e;
	rdr_target_t *t;

	if(!rdr_gw_needed(rc, res))
		return rc;
	for(i = 0; i < res->n; i++) {
		fate[i] = RDR_T_KEEP;
		weight[i] = 1;
	}
	if(res->refs > 0 && !vouched && !_rdr_gw->unvouched_said) {
		_rdr_gw->unvouched_said = 1;
		LM_WARN("a process has no invalidation subscription (CLIENT "
				"TRACKING refused, or Redis unreachable for it): it reads each "
				"gateway from Redis at each use until it has one (said once)\n");
	}
	if(res->refs > 0) {
		/* what shared memory holds, in one pass under the lock */
		lock_get(&_rdr_gw->lock);
		for(i = 0; i < res->n; i++) {
			t = &res->t[i];
			if(!rdr_target_is_ref(t))
				continue;
			rdr_gw_take_name(t);
			e = rdr_gw_find(t->gw.s, t->gw.len, 1);
			if(e != NULL && rdr_gw_fresh(e, vouched))
				fate[i] = e->err == 0 ? rdr_gw_make(&e->rec, e->health, t,
									 user, sips, &weight[i])
									  : RDR_T_DROP_BAD;
			else
				fate[i] = RDR_T_READ;
			health[i] = e != NULL ? e->health : RDR_HEALTH_UNKNOWN;
		}
		lock_release(&_rdr_gw->lock);
		/* the others from Redis, each once, then kept */
		for(i = 0; i < res->n; i++) {
			if(fate[i] != RDR_T_READ)
				continue;
			t = &res->t[i];
			for(j = 0; j < nreads; j++)
				if(reads[j].namelen == t->gw.len
						&& memcmp(reads[j].name, t->gw.s, t->gw.len) == 0)
					break;
			if(j == nreads) {
				memcpy(reads[j].name, t->gw.s, t->gw.len + 1);
				reads[j].namelen = t->gw.len;
				reads[j].ticket = rdr_gw_next_seq();
				rdr_gw_fetch(&reads[j]);
				rdr_gw_store(&reads[j]);
				nreads++;
			}
			if(reads[j].unavailable)
				fate[i] = RDR_T_DROP_UNAVAILABLE;
			else if(reads[j].err < 0)
				fate[i] = RDR_T_DROP_BAD;
			else
				fate[i] = rdr_gw_make(&reads[j].rec,
						_rdr_gw_health ? reads[j].health : health[i], t, user,
						sips, &weight[i]);
		}
	}
	for(i = 0; i < res->n; i++) {
		drained += fate[i] == RDR_T_DROP_DRAIN;
		unavailable += fate[i] == RDR_T_DROP_UNAVAILABLE;
		down += fate[i] == RDR_T_DOWN;
	}
	/* the down gateways stay out, unless every target is one and all_down
	 * says "all" (fail open) */
	keep = RDR_T_KEEP;
	if(down > 0 && _rdr_gw_all_down_open) {
		for(i = 0; i < res->n && fate[i] != RDR_T_KEEP; i++)
			;
		if(i == res->n)
			keep = RDR_T_DOWN;
	}
	/* what is left, in order */
	for(i = 0, n = 0; i < res->n; i++) {
		if(fate[i] == keep) {
			if(n != i) {
				res->t[n] = res->t[i];
				weight[n] = weight[i];
			}
			n++;
		}
	}
	res->n = n;
	res->refs = 0;
	if(n == 0) {
		if(unavailable > 0)
			return RDR_UNAVAILABLE;
		return drained > 0 || down > 0 ? RDR_NO_ROUTE : RDR_BAD_DATA;
	}
	rdr_gw_order(res, weight, seed);
	return RDR_OK;
}

int rdr_gw_list(void (*fn)(const rdr_gw_info_t *gw, void *arg), void *arg)
{
	rdr_gw_info_t info;
	rdr_gw_entry_t *e;
	time_t now = rdr_conn_now_s();
	int i, n = 0;

	if(_rdr_gw == NULL)
		return 0;
	for(i = 0; i < RDR_GW_BUCKETS; i++) {
		lock_get(&_rdr_gw->lock);
		e = _rdr_gw->bucket[i];
		lock_release(&_rdr_gw->lock);
		/* entries are never freed while the module runs: the chain can
		 * be walked, each read under the lock */
		for(; e != NULL; e = e->next) {
			lock_get(&_rdr_gw->lock);
			memset(&info, 0, sizeof(info));
			memcpy(info.name, e->name, e->namelen);
			info.err = e->err;
			if(e->err == 0) {
				memcpy(info.uri, e->rec.uri, e->rec.urilen + 1);
				info.strip = e->rec.strip;
				memcpy(info.prefix, e->rec.prefix, e->rec.prefixlen + 1);
				info.weight = e->rec.weight;
				memcpy(info.attrs, e->rec.attrs, e->rec.attrslen + 1);
				info.drain = e->rec.drain;
			}
			info.age_s = e->err == RDR_GW_NEVER ? -1 : (long)(now - e->read_s);
			info.health = e->health;
			info.health_since_ms = e->health_since_ms;
			lock_release(&_rdr_gw->lock);
			fn(&info, arg);
			n++;
		}
	}
	return n;
}

int rdr_gw_set_health(
		const char *name, int len, int health, long long since_ms)
{
	rdr_gw_entry_t *e;
	int was = -1;

	if(_rdr_gw == NULL)
		return -1;
	lock_get(&_rdr_gw->lock);
	/* only the gateways this node's routes named: the others would take
	 * gateways_max's places */
	e = rdr_gw_find(name, len, 0);
	if(e != NULL) {
		was = e->health;
		e->health = health;
		e->health_since_ms = since_ms;
	}
	lock_release(&_rdr_gw->lock);
	return was;
}

int rdr_gw_read_record(const char *name, int len, rdr_gw_record_t *rec)
{
	static rdr_gw_read_t rd;

	if(len <= 0 || len > RDR_GW_NAME_MAX)
		return RDR_GW_MISSING;
	memcpy(rd.name, name, len);
	rd.name[len] = '\0';
	rd.namelen = len;
	rd.ticket = rdr_gw_next_seq();
	rdr_gw_fetch(&rd);
	if(rd.unavailable)
		return RDR_GW_UNAVAILABLE;
	if(rd.err == 0)
		memcpy(rec, &rd.rec, sizeof(*rec));
	return rd.err;
}
