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
 * redisroute - the replica (cache_preload): every key under key_prefix
 * loaded into shared memory in the background (the notifier process) and
 * kept coherent by the cache's subscriptions (rdr_replica.h says how)
 */

#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "core/atomic_ops.h"
#include "core/dprint.h"
#include "core/hashes.h"
#include "core/locking.h"
#include "core/mem/mem.h"
#include "core/mem/shm_mem.h"

#include "redisroute.h"
#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_eval.h"
#include "rdr_replica.h"
#include "rdr_targets.h"

#define RDR_REP_LOCKS 1024
/* an entry's kind while it is being read again */
#define RDR_REP_UNKNOWN (-1)
/* keys one round reads: a SCAN's COUNT, and the most reads pipelined */
#define RDR_REP_BATCH 1000
/* keys one round reads again through the cluster (one round trip each) */
#define RDR_REP_CLUSTER_RELOADS 64
/* buckets one round frees the entries of a past epoch from */
#define RDR_REP_SWEEP 16384
/* the notifier's own queue of keys to read again; beyond it, the UNKNOWN
 * entries are found by walking the buckets */
#define RDR_REP_QUEUE 4096
#define RDR_REP_KEY_MAX (RDR_PREFIX_MAX + RDR_KEY_MAX)
/* a value as the script returns it, at most */
#define RDR_REP_VALUE_MAX (RDR_FETCH_MAX * (2 * (int)sizeof(int) + RDR_URI_MAX))

typedef struct rdr_rep_entry
{
	struct rdr_rep_entry *next;
	unsigned int hash;
	unsigned int epoch; /* the replica's epoch when stored */
	short keylen;
	signed char kind; /* rdr_reply_kind_t, or RDR_REP_UNKNOWN */
	unsigned char typelen; /* RDR_REPLY_WRONG_TYPE: the type's name */
	short n;			   /* raw entries */
	int vallen;
	char data[]; /* the key, the type's name, the raw entries */
} rdr_rep_entry_t;

typedef struct rdr_rep_bucket
{
	rdr_rep_entry_t *first;
	unsigned int gen; /* bumped by every invalidation of the bucket */
} rdr_rep_bucket_t;

typedef struct rdr_replica
{
	unsigned int nbuckets; /* power of two */
	int max_keys;
	atomic_t active;	/* the notifier's subscriptions are up */
	atomic_t epoch;		/* bumped by a flush */
	atomic_t complete;	/* epoch + 1 once a whole load finished in it */
	atomic_t too_large; /* epoch + 1 when the load was refused in it */
	atomic_t keys;
	atomic_t unknown;
	atomic_t loads;
	atomic_t last_load_ms;
	long long drained_ms; /* __atomic: the notifier's last drained read */
	gen_lock_set_t *locks;
	rdr_rep_bucket_t buckets[];
} rdr_replica_t;

static rdr_replica_t *_rep = NULL;
static char _rep_prefix[RDR_PREFIX_MAX];
static int _rep_prefix_len = 0;
/* SCAN's MATCH: the prefix, glob characters escaped, then '*' */
static char _rep_match[2 * RDR_PREFIX_MAX + 2];

/* per process (a worker): the changes it heard from its own subscription,
 * when, until the notifier has applied them (drained after that): a lookup
 * that touches one asks Redis. Direct-mapped by the key's hash; a note
 * evicted before that counts as a change of everything, as a flush heard
 * does (_rep_heard_all). Only the notifier writes the replica, so a
 * worker's late reading of a change never undoes the notifier's reload. */
#define RDR_REP_HEARD 1024
static struct
{
	unsigned int h;
	long long t;
} _rep_heard[RDR_REP_HEARD];
static long long _rep_heard_all = 0;

/* per process: what one lookup copied out of its entry */
static char _rep_copy[256 + RDR_REP_VALUE_MAX];

/*
 * the table
 */

int rdr_replica_init(int max_keys, const str *prefix)
{
	unsigned int n = 64;
	size_t size;
	int i, m = 0;

	if(prefix->len >= RDR_PREFIX_MAX)
		return -1;
	while(n < (unsigned int)max_keys && n < (1u << 24))
		n <<= 1;
	size = sizeof(rdr_replica_t) + n * sizeof(rdr_rep_bucket_t);
	_rep = shm_malloc(size);
	if(_rep == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(_rep, 0, size);
	_rep->nbuckets = n;
	_rep->max_keys = max_keys;
	_rep->locks = lock_set_alloc(RDR_REP_LOCKS);
	if(_rep->locks == NULL || lock_set_init(_rep->locks) == NULL) {
		LM_ERR("cannot allocate the cache_preload locks\n");
		if(_rep->locks != NULL)
			lock_set_dealloc(_rep->locks);
		shm_free(_rep);
		_rep = NULL;
		return -1;
	}
	memcpy(_rep_prefix, prefix->s, prefix->len);
	_rep_prefix_len = prefix->len;
	for(i = 0; i < prefix->len; i++) {
		if(strchr("*?[]\\", prefix->s[i]) != NULL)
			_rep_match[m++] = '\\';
		_rep_match[m++] = prefix->s[i];
	}
	_rep_match[m++] = '*';
	_rep_match[m] = '\0';
	return 0;
}

void rdr_replica_destroy(void)
{
	rdr_rep_entry_t *e, *next;
	unsigned int i;

	if(_rep == NULL)
		return;
	for(i = 0; i < _rep->nbuckets; i++) {
		for(e = _rep->buckets[i].first; e != NULL; e = next) {
			next = e->next;
			shm_free(e);
		}
	}
	lock_set_destroy(_rep->locks);
	lock_set_dealloc(_rep->locks);
	shm_free(_rep);
	_rep = NULL;
}

int rdr_replica_enabled(void)
{
	return _rep != NULL;
}

static unsigned int rdr_rep_hash(const char *key, size_t len)
{
	return get_hash1_raw(key, (int)len);
}

#define RDR_REP_LOCK(b) lock_set_get(_rep->locks, (b) % RDR_REP_LOCKS)
#define RDR_REP_UNLOCK(b) lock_set_release(_rep->locks, (b) % RDR_REP_LOCKS)

/* The entry of key in bucket b (its lock held) stored in epoch; *prevp: the
 * link to it. Entries of past epochs met on the way are freed. */
static rdr_rep_entry_t *rdr_rep_find(unsigned int b, unsigned int h,
		const char *key, size_t len, unsigned int epoch,
		rdr_rep_entry_t ***prevp)
{
	rdr_rep_entry_t *e, **prev = &_rep->buckets[b].first;

	while((e = *prev) != NULL) {
		if(e->epoch != epoch) {
			*prev = e->next;
			shm_free(e);
			continue;
		}
		if(e->hash == h && e->keylen == (short)len
				&& memcmp(e->data, key, len) == 0) {
			if(prevp != NULL)
				*prevp = prev;
			return e;
		}
		prev = &e->next;
	}
	return NULL;
}

/* A block for key, UNKNOWN (no value), or NULL without memory. */
static rdr_rep_entry_t *rdr_rep_new(
		unsigned int h, const char *key, size_t len, int typelen, int vallen)
{
	rdr_rep_entry_t *e = shm_malloc(sizeof(*e) + len + typelen + vallen);

	if(e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->keylen = (short)len;
	e->kind = RDR_REP_UNKNOWN;
	e->typelen = (unsigned char)typelen;
	e->vallen = vallen;
	memcpy(e->data, key, len);
	return e;
}

/* Makes key UNKNOWN in bucket b (lock held) with the block u (freed when
 * not needed). */
static void rdr_rep_unknown_locked(unsigned int b, rdr_rep_entry_t *u,
		unsigned int epoch)
{
	rdr_rep_entry_t *e, **prev = NULL;

	e = rdr_rep_find(b, u->hash, u->data, u->keylen, epoch, &prev);
	if(e != NULL && e->kind == RDR_REP_UNKNOWN) {
		shm_free(u);
		return;
	}
	u->epoch = epoch;
	if(e != NULL) {
		u->next = e->next;
		*prev = u;
		shm_free(e);
	} else {
		u->next = _rep->buckets[b].first;
		_rep->buckets[b].first = u;
		atomic_inc(&_rep->keys);
	}
	atomic_inc(&_rep->unknown);
}

/* 1 while the replica may hold keys of the current epoch. */
static int rdr_rep_in_use(unsigned int epoch)
{
	return atomic_get(&_rep->active)
		   && (unsigned int)atomic_get(&_rep->too_large) != epoch + 1;
}

int rdr_replica_get(int ncand, const char **keys, const size_t *lens,
		long long since_ms, int *matched, rdr_reply_t *it)
{
	unsigned int epoch, h, b;
	rdr_rep_entry_t *e;
	long long drained;
	int k, complete, kind = 0, typelen = 0, vallen = 0, n = 0;

	if(_rep == NULL || !atomic_get(&_rep->active))
		return RDR_REPLICA_MISS;
	/* an invalidation this worker's subscription brought before it began
	 * may not be applied yet: only once the notifier drained after that */
	drained = __atomic_load_n(&_rep->drained_ms, __ATOMIC_ACQUIRE);
	if(drained <= since_ms || drained <= _rep_heard_all)
		return RDR_REPLICA_MISS;
	epoch = (unsigned int)atomic_get(&_rep->epoch);
	complete = (unsigned int)atomic_get(&_rep->complete) == epoch + 1;
	for(k = 0; k < ncand; k++) {
		if(lens[k] > RDR_REP_KEY_MAX)
			return RDR_REPLICA_MISS;
		h = rdr_rep_hash(keys[k], lens[k]);
		/* this process heard of a change the notifier has not applied */
		if(_rep_heard[h % RDR_REP_HEARD].h == h
				&& _rep_heard[h % RDR_REP_HEARD].t >= drained)
			return RDR_REPLICA_MISS;
		b = h & (_rep->nbuckets - 1);
		RDR_REP_LOCK(b);
		e = rdr_rep_find(b, h, keys[k], lens[k], epoch, NULL);
		if(e != NULL && e->kind != RDR_REP_UNKNOWN) {
			kind = e->kind;
			typelen = e->typelen;
			vallen = e->vallen;
			n = e->n;
			memcpy(_rep_copy, e->data + e->keylen, typelen + vallen);
		}
		RDR_REP_UNLOCK(b);
		if(e == NULL) {
			/* no such key: an answer only once the whole table is in */
			if(!complete)
				return RDR_REPLICA_MISS;
			continue;
		}
		if(kind == 0)
			return RDR_REPLICA_MISS; /* being read again: Redis knows */
		*matched = k;
		rdr_reply_open_raw(it, (rdr_reply_kind_t)kind,
				typelen > 0 ? _rep_copy : NULL, typelen, _rep_copy + typelen,
				vallen, n, RDR_TARGETS_MAX);
		return RDR_REPLICA_FOUND;
	}
	return complete ? RDR_REPLICA_NONE : RDR_REPLICA_MISS;
}

/*
 * invalidations, flushes
 */

/* the loader's queue of keys to read again (the notifier process's own) */
static int _rep_loader = 0;
static char *_rep_queue[RDR_REP_QUEUE];
static int _rep_qhead = 0, _rep_qlen = 0;
static int _rep_overflow = 0; /* keys were left out of the queue */

static void rdr_rep_queue(const char *key, size_t len)
{
	char *k;

	if(_rep_qlen >= RDR_REP_QUEUE) {
		_rep_overflow = 1;
		return;
	}
	k = pkg_malloc(len + 1);
	if(k == NULL) {
		_rep_overflow = 1;
		return;
	}
	memcpy(k, key, len);
	k[len] = '\0';
	_rep_queue[(_rep_qhead + _rep_qlen++) % RDR_REP_QUEUE] = k;
}

static void rdr_rep_queue_clear(void)
{
	while(_rep_qlen > 0) {
		pkg_free(_rep_queue[_rep_qhead]);
		_rep_qhead = (_rep_qhead + 1) % RDR_REP_QUEUE;
		_rep_qlen--;
	}
	_rep_overflow = 0;
}

/* key is UNKNOWN; bump: an invalidation (a read sent before it is not
 * stored). */
static void rdr_rep_mark_unknown(const char *key, size_t len, int bump)
{
	unsigned int h = rdr_rep_hash(key, len), b, epoch;
	rdr_rep_entry_t *u = rdr_rep_new(h, key, len, 0, 0);

	b = h & (_rep->nbuckets - 1);
	RDR_REP_LOCK(b);
	if(bump)
		_rep->buckets[b].gen++;
	epoch = (unsigned int)atomic_get(&_rep->epoch);
	if(u != NULL)
		rdr_rep_unknown_locked(b, u, epoch);
	else if(rdr_rep_find(b, h, key, len, epoch, NULL) != NULL)
		/* no memory for the mark: the key's old value must go anyway */
		rdr_replica_flush();
	RDR_REP_UNLOCK(b);
}

void rdr_replica_heard(const str *key)
{
	unsigned int epoch, h, i;
	long long now;

	if(_rep == NULL)
		return;
	if(!_rep_loader) {
		now = rdr_conn_now_ms();
		if(key == NULL) {
			_rep_heard_all = now;
			return;
		}
		h = rdr_rep_hash(key->s, (size_t)key->len);
		i = h % RDR_REP_HEARD;
		if(_rep_heard[i].h != h && _rep_heard[i].t > _rep_heard_all
				&& _rep_heard[i].t
						   >= __atomic_load_n(
								   &_rep->drained_ms, __ATOMIC_ACQUIRE))
			_rep_heard_all = _rep_heard[i].t;
		_rep_heard[i].h = h;
		_rep_heard[i].t = now;
		return;
	}
	if(key == NULL) {
		rdr_replica_flush();
		return;
	}
	if(key->len < _rep_prefix_len
			|| key->len > RDR_REP_KEY_MAX
			|| memcmp(key->s, _rep_prefix, _rep_prefix_len) != 0)
		return;
	epoch = (unsigned int)atomic_get(&_rep->epoch);
	if(!rdr_rep_in_use(epoch))
		return;
	rdr_rep_mark_unknown(key->s, (size_t)key->len, 1);
	if(_rep_loader)
		rdr_rep_queue(key->s, (size_t)key->len);
}

void rdr_replica_flush(void)
{
	/* the entries of past epochs are freed by the loader's sweep, or when
	 * met; a read sent before is not stored (its ticket holds the epoch) */
	if(_rep == NULL)
		return;
	atomic_inc(&_rep->epoch);
	/* the counts are the new epoch's (another process counting between
	 * the two may leave them off by one: they are for the status) */
	atomic_set(&_rep->keys, 0);
	atomic_set(&_rep->unknown, 0);
}

void rdr_replica_drained(long long t0_ms)
{
	if(_rep != NULL)
		__atomic_store_n(&_rep->drained_ms, t0_ms, __ATOMIC_RELEASE);
}

/*
 * the loader (the notifier process)
 */

typedef struct rdr_rep_loader
{
	unsigned int epoch; /* the epoch loaded */
	int started;
	int scanning;
	int node; /* the node scanned */
	int nnodes;
	rdr_hostport_t nodes[RDR_CLUSTER_NODES_MAX];
	redisContext *ctx[RDR_CLUSTER_NODES_MAX];
	int scripted[RDR_CLUSTER_NODES_MAX]; /* SCRIPT LOAD answered there */
	char cursor[32];
	unsigned int sweep; /* the next bucket freed of past epochs */
	unsigned int walk;	/* the next bucket looked for UNKNOWN keys */
	long long started_ms;
	long long next_try_ms; /* after a failed connection */
	int too_big;
} rdr_rep_loader_t;

static rdr_rep_loader_t _ld;
static char _rep_value[RDR_REP_VALUE_MAX];

static void rdr_rep_close(void)
{
	int i;

	for(i = 0; i < RDR_CLUSTER_NODES_MAX; i++) {
		if(_ld.ctx[i] != NULL)
			redisFree(_ld.ctx[i]);
		_ld.ctx[i] = NULL;
		_ld.scripted[i] = 0;
	}
}

void rdr_replica_set_active(int active)
{
	if(_rep == NULL)
		return;
	_rep_loader = 1;
	rdr_replica_flush();
	atomic_set(&_rep->active, active ? 1 : 0);
	if(!active) {
		rdr_rep_close();
		rdr_rep_queue_clear();
		_ld.started = 0;
	}
}

/* The ticket of a read of key: its bucket's state before it is sent. */
static unsigned int rdr_rep_ticket(const char *key, size_t len)
{
	unsigned int b = rdr_rep_hash(key, len) & (_rep->nbuckets - 1), t;

	RDR_REP_LOCK(b);
	t = _rep->buckets[b].gen + (unsigned int)atomic_get(&_rep->epoch);
	RDR_REP_UNLOCK(b);
	return t;
}

/* 1 when r is an error that reading the key again fixes: a script this
 * server lost (SCRIPT FLUSH, a failover), a server without EVALSHA_RO, a
 * slot that moved. */
static int rdr_rep_retry_error(const redisReply *r, int node)
{
	if(rdr_reply_is_error(r, "NOSCRIPT")) {
		if(node >= 0)
			_ld.scripted[node] = 0;
		return 1;
	}
	/* the first answer without EVALSHA_RO switches; the rest of its batch
	 * say the same */
	return rdr_eval_ro_unknown(r) || rdr_reply_is_error(r, "ERR unknown command")
		   || rdr_reply_is_error(r, "MOVED")
		   || rdr_reply_is_error(r, "ASK") || rdr_reply_is_error(r, "TRYAGAIN");
}

/* Stores the script's reply r to the read of key sent with ticket t. */
static void rdr_rep_store(const char *key, size_t len, unsigned int t,
		const redisReply *r, int node)
{
	unsigned int h = rdr_rep_hash(key, len), b, epoch;
	rdr_rep_entry_t *e = NULL, *old, **prev = NULL;
	rdr_reply_t it;
	rdr_reply_kind_t kind;
	int vallen = 0, n = 0, typelen = 0, known;

	if(r == NULL || r->type == REDIS_REPLY_ERROR) {
		if(r != NULL && !rdr_rep_retry_error(r, node)) {
			/* left UNKNOWN: its lookups ask Redis, and hear the error */
			rdr_rep_mark_unknown(key, len, 0);
			return;
		}
		rdr_rep_mark_unknown(key, len, 0);
		rdr_rep_queue(key, len);
		return;
	}
	kind = rdr_reply_open(&it, r, 0, 1, RDR_FETCH_MAX);
	if(kind == RDR_REPLY_MALFORMED) {
		rdr_rep_mark_unknown(key, len, 0);
		return;
	}
	if(kind != RDR_REPLY_NONE) {
		if(kind == RDR_REPLY_WRONG_TYPE)
			typelen = it.type_len > 255 ? 255 : it.type_len;
		else if(kind != RDR_REPLY_EMPTY)
			vallen = rdr_reply_raw_write(
					&it, _rep_value, sizeof(_rep_value), &n);
		if(vallen < 0) {
			rdr_rep_mark_unknown(key, len, 0);
			return;
		}
		e = rdr_rep_new(h, key, len, typelen, vallen);
		if(e == NULL) {
			LM_DBG("cache_preload: no shared memory for '%.*s'\n", (int)len,
					key);
			rdr_rep_mark_unknown(key, len, 0);
			return;
		}
		e->kind = (signed char)kind;
		e->n = (short)n;
		if(typelen > 0)
			memcpy(e->data + len, it.type, typelen);
		if(vallen > 0)
			memcpy(e->data + len + typelen, _rep_value, vallen);
	}
	b = h & (_rep->nbuckets - 1);
	RDR_REP_LOCK(b);
	epoch = (unsigned int)atomic_get(&_rep->epoch);
	if(t != _rep->buckets[b].gen + epoch) {
		/* an invalidation or a flush since the read was sent */
		RDR_REP_UNLOCK(b);
		if(e != NULL)
			shm_free(e);
		if(epoch == _ld.epoch) {
			rdr_rep_mark_unknown(key, len, 0);
			rdr_rep_queue(key, len);
		}
		return;
	}
	old = rdr_rep_find(b, h, key, len, epoch, &prev);
	known = old != NULL;
	if(old != NULL) {
		if(old->kind == RDR_REP_UNKNOWN)
			atomic_dec(&_rep->unknown);
		*prev = old->next;
		shm_free(old);
	}
	if(e != NULL) {
		if(!known && atomic_get(&_rep->keys) >= _rep->max_keys) {
			RDR_REP_UNLOCK(b);
			shm_free(e);
			_ld.too_big = 1;
			return;
		}
		e->epoch = epoch;
		e->next = _rep->buckets[b].first;
		_rep->buckets[b].first = e;
		if(!known)
			atomic_inc(&_rep->keys);
	} else if(known) {
		atomic_dec(&_rep->keys); /* gone since the SCAN */
	}
	RDR_REP_UNLOCK(b);
}

/* This node's connection, opened (and the script loaded) when needed. */
static redisContext *rdr_rep_conn(int node)
{
	const char *argv[3];
	size_t lens[3];
	char err[128];
	redisReply *r;
	int argc;

	if(_ld.ctx[node] == NULL) {
		if(rdr_conn_now_ms() < _ld.next_try_ms)
			return NULL;
		if(rdr_conn_cfg()->cluster)
			_ld.ctx[node] = rdr_conn_open_host(_ld.nodes[node].host,
					_ld.nodes[node].port, err, sizeof(err));
		else
			_ld.ctx[node] = rdr_conn_open_extra();
		if(_ld.ctx[node] == NULL) {
			_ld.next_try_ms =
					rdr_conn_now_ms() + rdr_conn_cfg()->retry_interval_ms;
			return NULL;
		}
	}
	if(!_ld.scripted[node]) {
		argc = rdr_eval_load_argv(argv, lens);
		r = redisCommandArgv(_ld.ctx[node], argc, argv, lens);
		if(r == NULL || rdr_eval_loaded(r) < 0) {
			if(r != NULL)
				LM_ERR("cache_preload: SCRIPT LOAD refused: %.*s\n",
						r->type == REDIS_REPLY_ERROR ? (int)r->len : 0,
						r->type == REDIS_REPLY_ERROR ? r->str : "");
			if(r != NULL)
				freeReplyObject(r);
			redisFree(_ld.ctx[node]);
			_ld.ctx[node] = NULL;
			_ld.next_try_ms =
					rdr_conn_now_ms() + rdr_conn_cfg()->retry_interval_ms;
			return NULL;
		}
		freeReplyObject(r);
		_ld.scripted[node] = 1;
	}
	return _ld.ctx[node];
}

static void rdr_rep_fail(int node)
{
	LM_INFO("cache_preload: connection lost while loading: %s\n",
			_ld.ctx[node] != NULL ? rdr_conn_errstr(_ld.ctx[node]) : "-");
	if(_ld.ctx[node] != NULL)
		redisFree(_ld.ctx[node]);
	_ld.ctx[node] = NULL;
	_ld.scripted[node] = 0;
	_ld.next_try_ms = rdr_conn_now_ms() + rdr_conn_cfg()->retry_interval_ms;
}

/* Reads n keys on node with the lookup script, pipelined, and stores them.
 * 0, or -1 when the connection failed (the keys not stored are queued). */
static int rdr_rep_read(int node, int n, const char **keys, const size_t *lens)
{
	static unsigned int tickets[RDR_REP_BATCH];
	const char *argv[RDR_SCRIPT_ARGV_MAX];
	size_t alens[RDR_SCRIPT_ARGV_MAX];
	redisContext *ctx = rdr_rep_conn(node);
	void *v;
	int i, j, argc;

	if(ctx == NULL)
		goto failed;
	for(i = 0; i < n; i++) {
		tickets[i] = rdr_rep_ticket(keys[i], lens[i]);
		argc = rdr_eval_argv(0, 0, 1, &keys[i], &lens[i], argv, alens);
		if(redisAppendCommandArgv(ctx, argc, argv, alens) != REDIS_OK)
			goto failed;
	}
	for(i = 0; i < n; i++) {
		v = NULL;
		if(redisGetReply(ctx, &v) != REDIS_OK || v == NULL) {
			rdr_rep_fail(node);
			for(j = i; j < n; j++) {
				rdr_rep_mark_unknown(keys[j], lens[j], 0);
				rdr_rep_queue(keys[j], lens[j]);
			}
			return -1;
		}
		rdr_rep_store(keys[i], lens[i], tickets[i], (redisReply *)v, node);
		freeReplyObject(v);
	}
	return 0;
failed:
	if(ctx != NULL)
		rdr_rep_fail(node);
	for(j = 0; j < n; j++) {
		rdr_rep_mark_unknown(keys[j], lens[j], 0);
		rdr_rep_queue(keys[j], lens[j]);
	}
	return -1;
}

/* One SCAN of the node being scanned, and the reads of what it named.
 * 0, or -1 when its connection failed. */
static int rdr_rep_scan(void)
{
	static const char *keys[RDR_REP_BATCH];
	static size_t lens[RDR_REP_BATCH];
	const char *argv[6] = {"SCAN", _ld.cursor, "MATCH", _rep_match, "COUNT",
			"1000"};
	redisContext *ctx = rdr_rep_conn(_ld.node);
	redisReply *r;
	size_t i;
	int n = 0, rc;

	if(ctx == NULL)
		return -1;
	r = redisCommandArgv(ctx, 6, argv, NULL);
	if(r == NULL) {
		rdr_rep_fail(_ld.node);
		return -1;
	}
	if(r->type != REDIS_REPLY_ARRAY || r->elements != 2
			|| r->element[0]->type != REDIS_REPLY_STRING
			|| r->element[0]->len >= sizeof(_ld.cursor)
			|| r->element[1]->type != REDIS_REPLY_ARRAY) {
		LM_ERR("cache_preload: unexpected SCAN reply%s%.*s; retrying\n",
				r->type == REDIS_REPLY_ERROR ? ": " : "",
				r->type == REDIS_REPLY_ERROR ? (int)r->len : 0,
				r->type == REDIS_REPLY_ERROR ? r->str : "");
		freeReplyObject(r);
		_ld.next_try_ms = rdr_conn_now_ms() + rdr_conn_cfg()->retry_interval_ms;
		return -1;
	}
	/* COUNT is a hint: one reply may name more keys than a batch holds */
	rc = 0;
	for(i = 0; i < r->element[1]->elements && rc == 0; i++) {
		const redisReply *k = r->element[1]->element[i];
		/* a key no lookup can name is not kept */
		if(k->type == REDIS_REPLY_STRING && k->len <= RDR_REP_KEY_MAX
				&& k->len >= (size_t)_rep_prefix_len) {
			keys[n] = k->str;
			lens[n++] = k->len;
		}
		if(n == RDR_REP_BATCH || (i + 1 == r->element[1]->elements && n > 0)) {
			rc = rdr_rep_read(_ld.node, n, keys, lens);
			n = 0;
		}
	}
	if(rc == 0) {
		memcpy(_ld.cursor, r->element[0]->str, r->element[0]->len);
		_ld.cursor[r->element[0]->len] = '\0';
		if(strcmp(_ld.cursor, "0") == 0)
			_ld.node++; /* this node done: the next one from cursor 0 */
	}
	freeReplyObject(r);
	return rc;
}

/* Reads the queued keys again: pipelined on the one server, one by one
 * (following MOVED) on a cluster. */
static void rdr_rep_reload(void)
{
	static const char *keys[RDR_REP_BATCH];
	static size_t lens[RDR_REP_BATCH];
	static char *taken[RDR_REP_BATCH];
	const char *argv[RDR_SCRIPT_ARGV_MAX];
	size_t alens[RDR_SCRIPT_ARGV_MAX];
	redisReply *r;
	unsigned int t;
	int n = 0, i, argc, max;

	max = rdr_conn_cfg()->cluster ? RDR_REP_CLUSTER_RELOADS : RDR_REP_BATCH;
	while(_rep_qlen > 0 && n < max) {
		taken[n] = _rep_queue[_rep_qhead];
		_rep_qhead = (_rep_qhead + 1) % RDR_REP_QUEUE;
		_rep_qlen--;
		keys[n] = taken[n];
		lens[n] = strlen(taken[n]);
		n++;
	}
	if(!rdr_conn_cfg()->cluster) {
		rdr_rep_read(0, n, keys, lens);
	} else {
		for(i = 0; i < n; i++) {
			t = rdr_rep_ticket(keys[i], lens[i]);
			/* EVAL: the node is the cluster's choice, its script cache
			 * unknown */
			argc = rdr_eval_argv(0, 1, 1, &keys[i], &lens[i], argv, alens);
			r = rdr_cluster_command(keys[i], lens[i], argc, argv, alens);
			if(r == NULL) {
				rdr_rep_mark_unknown(keys[i], lens[i], 0);
				rdr_rep_queue(keys[i], lens[i]);
				break;
			}
			rdr_rep_store(keys[i], lens[i], t, r, -1);
			freeReplyObject(r);
		}
		for(i++; i < n; i++)
			rdr_rep_queue(keys[i], lens[i]);
	}
	for(i = 0; i < n; i++)
		pkg_free(taken[i]);
}

/* Frees the entries of past epochs in the next RDR_REP_SWEEP buckets.
 * 1 while buckets are left. */
static int rdr_rep_sweep(void)
{
	unsigned int i, epoch = (unsigned int)atomic_get(&_rep->epoch);

	for(i = 0; i < RDR_REP_SWEEP && _ld.sweep < _rep->nbuckets; i++) {
		RDR_REP_LOCK(_ld.sweep);
		rdr_rep_find(_ld.sweep, 0, "", 0, epoch, NULL);
		RDR_REP_UNLOCK(_ld.sweep);
		_ld.sweep++;
	}
	return _ld.sweep < _rep->nbuckets;
}

/* The queue overflowed: finds UNKNOWN keys in the next buckets. 1 while
 * buckets are left. */
static int rdr_rep_walk(void)
{
	unsigned int i, epoch = (unsigned int)atomic_get(&_rep->epoch);
	rdr_rep_entry_t *e;

	if(_ld.walk == 0)
		_rep_overflow = 0;
	for(i = 0; i < RDR_REP_SWEEP && _ld.walk < _rep->nbuckets
			   && _rep_qlen < RDR_REP_QUEUE;
			i++) {
		RDR_REP_LOCK(_ld.walk);
		for(e = _rep->buckets[_ld.walk].first; e != NULL; e = e->next)
			if(e->epoch == epoch && e->kind == RDR_REP_UNKNOWN)
				rdr_rep_queue(e->data, e->keylen);
		RDR_REP_UNLOCK(_ld.walk);
		_ld.walk++;
	}
	if(_ld.walk < _rep->nbuckets)
		return 1;
	_ld.walk = 0;
	return 0;
}

/* A new load from scratch for epoch. */
static void rdr_rep_start(unsigned int epoch)
{
	unsigned int version;
	int n = 1;

	if(rdr_conn_cfg()->cluster) {
		n = rdr_cluster_masters(_ld.nodes, RDR_CLUSTER_NODES_MAX, &version);
		if(n < 0)
			n = 0;
		/* a master set of its own: the connections follow it */
		rdr_rep_close();
	}
	_ld.nnodes = n;
	_ld.epoch = epoch;
	_ld.started = 1;
	_ld.scanning = 1;
	_ld.node = 0;
	_ld.too_big = 0;
	strcpy(_ld.cursor, "0");
	_ld.sweep = 0;
	_ld.walk = 0;
	_ld.started_ms = rdr_conn_now_ms();
	rdr_rep_queue_clear();
	LM_INFO("cache_preload: loading every key under '%.*s' in the "
			"background\n",
			_rep_prefix_len, _rep_prefix);
}

/* More keys than cache_size: the replica gives way to the lazy cache. */
static void rdr_rep_refuse(void)
{
	unsigned int epoch;

	LM_ERR("cache_preload: more than cache_size (%d) keys under '%.*s': "
		   "the table is not preloaded, the cache stays a lazy cache (raise "
		   "cache_size, and -m, to preload it)\n",
			_rep->max_keys, _rep_prefix_len, _rep_prefix);
	rdr_replica_flush();
	epoch = (unsigned int)atomic_get(&_rep->epoch);
	atomic_set(&_rep->too_large, (int)(epoch + 1));
	_ld.epoch = epoch;
	_ld.scanning = 0;
	_ld.sweep = 0;
	rdr_rep_queue_clear();
	rdr_rep_close();
}

int rdr_replica_step(void)
{
	unsigned int epoch;
	long long now;
	int more;

	if(_rep == NULL || !_rep_loader || !atomic_get(&_rep->active))
		return 0;
	epoch = (unsigned int)atomic_get(&_rep->epoch);
	if(!_ld.started || epoch != _ld.epoch)
		rdr_rep_start(epoch);
	more = rdr_rep_sweep();
	if((unsigned int)atomic_get(&_rep->too_large) == epoch + 1)
		return more;
	now = rdr_conn_now_ms();
	if(now < _ld.next_try_ms)
		return more;
	if(_ld.scanning) {
		if(_ld.node < _ld.nnodes)
			rdr_rep_scan();
		if(_ld.too_big) {
			rdr_rep_refuse();
			return 1;
		}
		if(_ld.node >= _ld.nnodes) {
			_ld.scanning = 0;
			if((unsigned int)atomic_get(&_rep->epoch) == epoch) {
				atomic_set(&_rep->complete, (int)(epoch + 1));
				atomic_inc(&_rep->loads);
				atomic_set(&_rep->last_load_ms,
						(int)(rdr_conn_now_ms() - _ld.started_ms));
				LM_INFO("cache_preload: complete, %d keys loaded in %lld "
						"ms\n",
						atomic_get(&_rep->keys),
						rdr_conn_now_ms() - _ld.started_ms);
			}
		}
		return 1;
	}
	if(_rep_qlen > 0) {
		rdr_rep_reload();
		return 1;
	}
	if(_rep_overflow || _ld.walk > 0)
		return rdr_rep_walk() || more || _rep_qlen > 0;
	return more;
}

const char *rdr_replica_state_name(int state)
{
	switch(state) {
		case RDR_REPLICA_S_LOADING:
			return "loading";
		case RDR_REPLICA_S_COMPLETE:
			return "complete";
		case RDR_REPLICA_S_TOO_LARGE:
			return "too large";
		default:
			return "off";
	}
}

void rdr_replica_get_info(rdr_replica_info_t *info)
{
	unsigned int epoch;

	memset(info, 0, sizeof(*info));
	if(_rep == NULL)
		return;
	epoch = (unsigned int)atomic_get(&_rep->epoch);
	if((unsigned int)atomic_get(&_rep->too_large) == epoch + 1)
		info->state = RDR_REPLICA_S_TOO_LARGE;
	else if(atomic_get(&_rep->active)
			&& (unsigned int)atomic_get(&_rep->complete) == epoch + 1)
		info->state = RDR_REPLICA_S_COMPLETE;
	else
		info->state = RDR_REPLICA_S_LOADING;
	info->keys = atomic_get(&_rep->keys) > 0 ? atomic_get(&_rep->keys) : 0;
	info->unknown =
			atomic_get(&_rep->unknown) > 0 ? atomic_get(&_rep->unknown) : 0;
	info->loads = atomic_get(&_rep->loads);
	info->last_load_ms = atomic_get(&_rep->last_load_ms);
}
