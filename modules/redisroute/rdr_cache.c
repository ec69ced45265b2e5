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
 * redisroute - the shared-memory cache of lookups, kept coherent with Redis:
 * epochs, sweep, eviction clock; in prefix mode, the change notes an answer
 * is checked against
 */

#include <stddef.h>
#include <string.h>
#include <time.h>

#include "core/atomic_ops.h"
#include "core/dprint.h"
#include "core/hashes.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"

#include "rdr_cache.h"
#include "rdr_cache_entry.h"
#include "rdr_conn.h"
#include "rdr_stats.h"

/*
 * shared-memory cache of lookups, kept coherent with Redis
 */

#define RDR_CACHE_LOCKS 256

typedef struct rdr_cache_bucket
{
	rdr_cache_entry_t *first;
	unsigned int gen; /* bumped by every invalidation of the bucket */
} rdr_cache_bucket_t;

typedef struct rdr_cache
{
	unsigned int nbuckets; /* power of two */
	int size;
	int ttl;
	int prefix_mode;
	atomic_t entries;
	atomic_t active; /* the notifier's subscription is up */
	/* the epoch: a flush bumps it, and every entry stored before is stale
	 * (dropped when met, by the sweep or by eviction): O(1), no bucket walk */
	atomic_t flushes;
	atomic_t hand;		  /* the eviction clock's next bucket */
	atomic_t worker_subs; /* workers whose own subscription is up */
	gen_lock_set_t *locks;
	rdr_cache_bucket_t buckets[];
} rdr_cache_t;

static rdr_cache_t *_rdr_cache = NULL;

/* the core's string hash (core/hashes.h), as its own hash tables use it */
static unsigned int rdr_cache_hash(const str *s)
{
	return get_hash1_raw(s->s, s->len);
}

/* n locks in shared memory (the buckets', the change notes'), or NULL after
 * logging what they were for */
static gen_lock_set_t *rdr_cache_locks_new(int n, const char *what)
{
	gen_lock_set_t *locks = lock_set_alloc(n);

	if(locks == NULL || lock_set_init(locks) == NULL) {
		LM_ERR("cannot allocate the %s\n", what);
		if(locks != NULL)
			lock_set_dealloc(locks);
		return NULL;
	}
	return locks;
}

int rdr_cache_init(int size, int ttl, int prefix_mode)
{
	unsigned int n = 64;

	if(size <= 0)
		return 0;
	while(n < (unsigned int)size && n < (1u << 24))
		n <<= 1;
	_rdr_cache =
			shm_malloc(sizeof(rdr_cache_t) + n * sizeof(rdr_cache_bucket_t));
	if(_rdr_cache == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(_rdr_cache, 0, sizeof(rdr_cache_t) + n * sizeof(rdr_cache_bucket_t));
	_rdr_cache->nbuckets = n;
	_rdr_cache->size = size;
	_rdr_cache->ttl = ttl;
	_rdr_cache->prefix_mode = prefix_mode;
	if(prefix_mode && rdr_changes_init(2 * n) < 0) {
		shm_free(_rdr_cache);
		_rdr_cache = NULL;
		return -1;
	}
	atomic_set(&_rdr_cache->active, 0);
	_rdr_cache->locks = rdr_cache_locks_new(RDR_CACHE_LOCKS, "cache locks");
	if(_rdr_cache->locks == NULL) {
		shm_free(_rdr_cache);
		_rdr_cache = NULL;
		return -1;
	}
	return 0;
}

static void rdr_cache_free_chain(rdr_cache_entry_t *e)
{
	while(e != NULL) {
		rdr_cache_entry_t *next = e->next;
		shm_free(e);
		atomic_dec(&_rdr_cache->entries);
		e = next;
	}
}

void rdr_cache_destroy(void)
{
	unsigned int i;

	if(_rdr_cache == NULL)
		return;
	for(i = 0; i < _rdr_cache->nbuckets; i++)
		rdr_cache_free_chain(_rdr_cache->buckets[i].first);
	if(_rdr_cache->locks) {
		lock_set_destroy(_rdr_cache->locks);
		lock_set_dealloc(_rdr_cache->locks);
	}
	shm_free(_rdr_cache);
	_rdr_cache = NULL;
	rdr_changes_destroy();
}

int rdr_cache_enabled(void)
{
	return _rdr_cache != NULL;
}

/* 1 when e is no answer any more: stored before the last flush, or
 * expired. */
static int rdr_cache_dead(const rdr_cache_entry_t *e, time_t now)
{
	return e->epoch != (unsigned int)atomic_get(&_rdr_cache->flushes)
		   || (e->expires != 0 && e->expires <= now);
}

/* Unlinks and frees the dead entries of bucket b, whose lock is held. */
static void rdr_cache_drop_dead(unsigned int b, time_t now)
{
	rdr_cache_entry_t *e, **prev = &_rdr_cache->buckets[b].first;

	while((e = *prev) != NULL) {
		if(rdr_cache_dead(e, now)) {
			*prev = e->next;
			shm_free(e);
			atomic_dec(&_rdr_cache->entries);
		} else {
			prev = &e->next;
		}
	}
}

int rdr_cache_get(const str *pkey, const str *user, int sips,
		const rdr_cache_cands_t *cands, rdr_result_t *res,
		rdr_cache_ticket_t *t)
{
	unsigned int h, b, since = 0;
	rdr_cache_entry_t *e;
	time_t now;
	int ret = 0;

	t->gen = 0;
	t->since = 0;
	if(_rdr_cache == NULL || !atomic_get(&_rdr_cache->active))
		return 0;
	/* before the entry is read: a change from now on is after it */
	t->since = rdr_changes_now();
	h = rdr_cache_hash(pkey);
	b = h & (_rdr_cache->nbuckets - 1);
	now = rdr_conn_now_s();
	lock_set_get(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
	/* a flush since this get also invalidates: fold its count in */
	t->gen = _rdr_cache->buckets[b].gen
			 + (unsigned int)atomic_get(&_rdr_cache->flushes);
	rdr_cache_drop_dead(b, now);
	for(e = _rdr_cache->buckets[b].first; e != NULL; e = e->next) {
		if(!rdr_entry_matches(e, h, pkey, user, sips))
			continue;
		ret = e->ret;
		since = e->since;
		rdr_entry_load(e, res);
		break;
	}
	lock_set_release(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
	/* prefix mode: a candidate key that changed since (a new longer
	 * prefix, the matched key, the default key) makes it a miss; checked
	 * without the bucket's lock (the change notes have their own) */
	if(ret != 0 && _rdr_cache->prefix_mode
			&& !rdr_changes_none_since(
					since, cands->n, cands->keys, cands->lens)) {
		res->n = 0; /* what was loaded is no answer */
		res->key.len = 0;
		ret = 0;
	}
	rdr_stats_inc(ret ? RDR_STAT_CACHE_HITS : RDR_STAT_CACHE_MISSES);
	return ret;
}

/* The eviction clock: frees the oldest (last) entry of the next non-empty
 * bucket after the shared hand, other than skip; at most
 * RDR_CACHE_EVICT_TRIES buckets are looked at. Dead entries go first. */
#define RDR_CACHE_EVICT_TRIES 16
static void rdr_cache_evict(unsigned int skip)
{
	rdr_cache_entry_t **prev;
	unsigned int b, l;
	int i;

	for(i = 0; i < RDR_CACHE_EVICT_TRIES; i++) {
		b = (unsigned int)atomic_add(&_rdr_cache->hand, 1)
			& (_rdr_cache->nbuckets - 1);
		l = b % RDR_CACHE_LOCKS;
		if(l == skip % RDR_CACHE_LOCKS)
			continue;
		lock_set_get(_rdr_cache->locks, l);
		prev = &_rdr_cache->buckets[b].first;
		if(*prev != NULL) {
			while((*prev)->next != NULL)
				prev = &(*prev)->next;
			shm_free(*prev);
			*prev = NULL;
			atomic_dec(&_rdr_cache->entries);
			lock_set_release(_rdr_cache->locks, l);
			return;
		}
		lock_set_release(_rdr_cache->locks, l);
	}
}

void rdr_cache_put(const str *pkey, const str *user, int sips, int ret,
		const rdr_result_t *res, const rdr_cache_ticket_t *t)
{
	unsigned int h, b;
	rdr_cache_entry_t *e, *old, **prev;
	time_t now;
	int size;

	if(_rdr_cache == NULL || !atomic_get(&_rdr_cache->active))
		return;
	now = rdr_conn_now_s();
	size = rdr_entry_size(pkey, user, ret, res);
	e = shm_malloc(size);
	if(e == NULL) {
		/* a full cache is no error: the lookup was answered anyway */
		LM_DBG("no shared memory for a cache entry\n");
		return;
	}
	h = rdr_cache_hash(pkey);
	rdr_entry_store(e, h, pkey, user, sips, ret, res);
	e->next = NULL;
	e->expires = _rdr_cache->ttl > 0 ? now + _rdr_cache->ttl : 0;

	b = h & (_rdr_cache->nbuckets - 1);
	/* full: make room elsewhere first (no two bucket locks at once) */
	if(atomic_get(&_rdr_cache->entries) >= _rdr_cache->size)
		rdr_cache_evict(b);
	lock_set_get(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
	e->epoch = (unsigned int)atomic_get(&_rdr_cache->flushes);
	e->since = t->since;
	if(t->gen
			!= _rdr_cache->buckets[b].gen
					   + (unsigned int)atomic_get(&_rdr_cache->flushes)) {
		/* the key changed while Redis was being asked */
		lock_set_release(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
		shm_free(e);
		return;
	}
	/* replace an entry for the same key and user; keep the size bound by
	 * dropping this bucket's oldest (last) entry */
	prev = &_rdr_cache->buckets[b].first;
	for(old = *prev; old != NULL; prev = &old->next, old = old->next) {
		if(rdr_entry_matches(old, h, pkey, user, sips)) {
			*prev = old->next;
			shm_free(old);
			atomic_dec(&_rdr_cache->entries);
			break;
		}
	}
	rdr_cache_drop_dead(b, now);
	if(atomic_get(&_rdr_cache->entries) >= _rdr_cache->size) {
		prev = &_rdr_cache->buckets[b].first;
		if(*prev == NULL) {
			lock_set_release(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
			shm_free(e);
			return;
		}
		while((*prev)->next != NULL)
			prev = &(*prev)->next;
		shm_free(*prev);
		*prev = NULL;
		atomic_dec(&_rdr_cache->entries);
	}
	e->next = _rdr_cache->buckets[b].first;
	_rdr_cache->buckets[b].first = e;
	atomic_inc(&_rdr_cache->entries);
	lock_set_release(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
}

void rdr_cache_invalidate(const str *pkey)
{
	unsigned int h, b;
	rdr_cache_entry_t *e, **prev;

	if(_rdr_cache == NULL)
		return;
	if(_rdr_cache->prefix_mode) {
		rdr_changes_note(pkey->s, (size_t)pkey->len);
		return;
	}
	h = rdr_cache_hash(pkey);
	b = h & (_rdr_cache->nbuckets - 1);
	lock_set_get(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
	_rdr_cache->buckets[b].gen++;
	prev = &_rdr_cache->buckets[b].first;
	while((e = *prev) != NULL) {
		if(rdr_entry_is_key(e, h, pkey)) {
			*prev = e->next;
			shm_free(e);
			atomic_dec(&_rdr_cache->entries);
		} else {
			prev = &e->next;
		}
	}
	lock_set_release(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
}

void rdr_cache_flush(void)
{
	/* a new epoch: every entry stored before is stale, and a lookup that
	 * read Redis before this flush does not store its answer after it (its
	 * gen includes the count) */
	if(_rdr_cache != NULL)
		atomic_inc(&_rdr_cache->flushes);
}

/* Frees the dead entries of n buckets from *next on. */
static void rdr_cache_sweep_n(unsigned int *next, unsigned int n)
{
	time_t now = rdr_conn_now_s();
	unsigned int i, b;

	for(i = 0; i < n; i++) {
		b = (*next)++ & (_rdr_cache->nbuckets - 1);
		lock_set_get(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
		rdr_cache_drop_dead(b, now);
		lock_set_release(_rdr_cache->locks, b % RDR_CACHE_LOCKS);
	}
}

void rdr_cache_sweep(void)
{
	static unsigned int next = 0; /* per process: the sweeper's own hand */
	unsigned int n;

	if(_rdr_cache == NULL)
		return;
	n = _rdr_cache->nbuckets / RDR_CACHE_SWEEP_PARTS;
	rdr_cache_sweep_n(&next, n > 0 ? n : 1);
}

void rdr_cache_clear(void)
{
	unsigned int first = 0;

	if(_rdr_cache == NULL)
		return;
	rdr_cache_flush();
	rdr_cache_sweep_n(&first, _rdr_cache->nbuckets);
}

void rdr_cache_set_active(int active)
{
	if(_rdr_cache != NULL)
		atomic_set(&_rdr_cache->active, active ? 1 : 0);
}

void rdr_cache_worker_sub(int delta)
{
	if(_rdr_cache != NULL)
		atomic_add(&_rdr_cache->worker_subs, delta);
}

void rdr_cache_get_info(rdr_cache_info_t *info)
{
	memset(info, 0, sizeof(*info));
	if(_rdr_cache == NULL)
		return;
	info->enabled = 1;
	info->active = atomic_get(&_rdr_cache->active);
	info->entries = atomic_get(&_rdr_cache->entries);
	info->size = _rdr_cache->size;
	info->worker_subs = atomic_get(&_rdr_cache->worker_subs);
}

/*
 * what changed, for the cache in prefix mode
 */

#define RDR_CHANGES_LOCKS 64

typedef struct rdr_change_slot
{
	unsigned long long key; /* hash of the key that changed last; 0: none */
	unsigned int seq;		/* when it changed */
	unsigned int evicted;	/* the newest seq of another key evicted */
} rdr_change_slot_t;

typedef struct rdr_changes
{
	unsigned int nslots;
	atomic_t seq;
	gen_lock_set_t *locks;
	rdr_change_slot_t slots[];
} rdr_changes_t;

static rdr_changes_t *_rdr_changes = NULL;

/* FNV-1a, 64 bits: two keys of the same slot are told apart by it */
static unsigned long long rdr_changes_hash(const char *s, size_t len)
{
	unsigned long long h = 1469598103934665603ULL;
	size_t i;

	for(i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h != 0 ? h : 1;
}

/* a is later than b, in serial-number arithmetic (the counter wraps) */
static int rdr_changes_after(unsigned int a, unsigned int b)
{
	return (int)(a - b) > 0;
}

int rdr_changes_init(unsigned int nslots)
{
	size_t size = sizeof(rdr_changes_t) + nslots * sizeof(rdr_change_slot_t);

	_rdr_changes = shm_malloc(size);
	if(_rdr_changes == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(_rdr_changes, 0, size);
	_rdr_changes->nslots = nslots;
	_rdr_changes->locks =
			rdr_cache_locks_new(RDR_CHANGES_LOCKS, "cache's change locks");
	if(_rdr_changes->locks == NULL) {
		shm_free(_rdr_changes);
		_rdr_changes = NULL;
		return -1;
	}
	return 0;
}

void rdr_changes_destroy(void)
{
	if(_rdr_changes == NULL)
		return;
	lock_set_destroy(_rdr_changes->locks);
	lock_set_dealloc(_rdr_changes->locks);
	shm_free(_rdr_changes);
	_rdr_changes = NULL;
}

unsigned int rdr_changes_now(void)
{
	return _rdr_changes != NULL ? (unsigned int)atomic_get(&_rdr_changes->seq)
								: 0;
}

void rdr_changes_note(const char *key, size_t len)
{
	unsigned long long h;
	unsigned int i;
	rdr_change_slot_t *s;

	if(_rdr_changes == NULL)
		return;
	h = rdr_changes_hash(key, len);
	i = (unsigned int)h & (_rdr_changes->nslots - 1);
	s = &_rdr_changes->slots[i];
	lock_set_get(_rdr_changes->locks, i % RDR_CHANGES_LOCKS);
	if(s->key != 0 && s->key != h && rdr_changes_after(s->seq, s->evicted))
		s->evicted = s->seq;
	s->key = h;
	s->seq = (unsigned int)atomic_add(&_rdr_changes->seq, 1);
	lock_set_release(_rdr_changes->locks, i % RDR_CHANGES_LOCKS);
}

int rdr_changes_none_since(
		unsigned int since, int n, const char **keys, const size_t *lens)
{
	rdr_change_slot_t copy;
	unsigned long long h;
	unsigned int i;
	int k;

	if(_rdr_changes == NULL)
		return 1;
	if((unsigned int)atomic_get(&_rdr_changes->seq) == since)
		return 1; /* nothing changed at all */
	for(k = 0; k < n; k++) {
		h = rdr_changes_hash(keys[k], lens[k]);
		i = (unsigned int)h & (_rdr_changes->nslots - 1);
		lock_set_get(_rdr_changes->locks, i % RDR_CHANGES_LOCKS);
		copy = _rdr_changes->slots[i];
		lock_set_release(_rdr_changes->locks, i % RDR_CHANGES_LOCKS);
		if(copy.key == h ? rdr_changes_after(copy.seq, since)
						 : rdr_changes_after(copy.evicted, since))
			return 0;
	}
	return 1;
}
