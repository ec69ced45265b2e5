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

#ifndef _RDR_CACHE_H_
#define _RDR_CACHE_H_

#include <stddef.h>

#include "core/str.h"

#include "rdr_targets.h"

/*
 * what changed, for the cache in prefix mode
 *
 * With prefix_match, a change of route:+4930 alters the answer for every
 * number that starts with +4930, whichever key those lookups matched. Rather
 * than empty the cache at each change, each change is noted here with a
 * sequence number, and a cached answer is used only when none of its
 * lookup's candidate keys changed since it was stored.
 *
 * The notes are a direct-mapped table of the keys' 64-bit hashes: a key
 * that lands on a slot held by another key evicts it, and the slot keeps the
 * newest sequence number it evicted, so that an evicted change still counts
 * (a false "changed" costs one Redis lookup, never a stale answer). With
 * twice as many slots as the cache has buckets, unrelated changes seldom
 * invalidate anything.
 */

/* In mod_init: nslots (a power of two) notes in shared memory. */
int rdr_changes_init(unsigned int nslots);
void rdr_changes_destroy(void);

/* The current sequence number: a lookup takes it before it asks Redis, and
 * its answer is stored with it. */
unsigned int rdr_changes_now(void);

/* The key (prefix included) changed. */
void rdr_changes_note(const char *key, size_t len);

/* 1 when none of the n keys changed after since. */
int rdr_changes_none_since(
		unsigned int since, int n, const char **keys, const size_t *lens);

/*
 * shared-memory cache of lookups, kept coherent with Redis
 *
 * Off by default (cache_size 0). Entries are invalidated from Redis
 * (client-side caching, rdr_cache_sync.c): by the notifier process,
 * and by each worker, from its own subscription, before it reads the cache.
 * While the notifier's subscription is not up the cache is empty and
 * bypassed, and a worker whose own is not up bypasses it, so a change made
 * with redis-cli is seen by the next request either way. cache_ttl bounds an
 * entry's life in case a notification is lost without the subscription
 * noticing.
 */

/* In mod_init: size entries at most (0: no cache), ttl seconds (0: none);
 * prefix_mode: answers are checked against the changes of their candidate
 * keys (rdr_cache.h). */
int rdr_cache_init(int size, int ttl, int prefix_mode);
void rdr_cache_destroy(void);
int rdr_cache_enabled(void);

/* What rdr_cache_get() hands to rdr_cache_put(): the cache's state before
 * Redis was asked. */
typedef struct rdr_cache_ticket
{
	unsigned int gen;	/* the bucket's generation and the flush count */
	unsigned int since; /* prefix mode: the changes' sequence number */
} rdr_cache_ticket_t;

/* The candidate keys of a lookup (prefix mode: each prefix tried, and the
 * default key), with the key prefix. */
typedef struct rdr_cache_cands
{
	int n;
	const char **keys;
	const size_t *lens;
} rdr_cache_cands_t;

/* Looks up the prefixed key for this R-URI user and scheme. Returns the
 * cached return code (RDR_OK with res filled, RDR_NO_ROUTE, RDR_BAD_DATA), or 0
 * on a miss (prefix mode: also when one of cands changed since the answer
 * was stored); *t receives the state to give rdr_cache_put(). */
int rdr_cache_get(const str *pkey, const str *user, int sips,
		const rdr_cache_cands_t *cands, rdr_result_t *res,
		rdr_cache_ticket_t *t);

/* Stores a Redis answer, unless the key was invalidated since the
 * rdr_cache_get() that returned t (the answer may predate the change). */
void rdr_cache_put(const str *pkey, const str *user, int sips, int ret,
		const rdr_result_t *res, const rdr_cache_ticket_t *t);

/* From an invalidation (the notifier's or a worker's own subscription):
 * the key changed. In prefix mode the change is noted (every lookup it is a
 * candidate of), O(1), without emptying the cache. */
void rdr_cache_invalidate(const str *pkey);
/* Drops every entry: a new epoch, O(1); the stale entries are freed when
 * met, by the sweep or by eviction. */
void rdr_cache_flush(void);

/* Frees the expired and stale entries of the next 1/RDR_CACHE_SWEEP_PARTS of
 * the buckets: the notifier calls it about every second, so an entry is
 * freed at most about 16 s after its time, read again or not. */
#define RDR_CACHE_SWEEP_PARTS 16
void rdr_cache_sweep(void);
/* A flush that also frees every entry now (the RPC: an operator's request,
 * which may take its time, and whose entry count must read 0 after). */
void rdr_cache_clear(void);
/* From the notifier: 1 when its subscription is up (the cache is used), 0
 * when not (bypassed). */
void rdr_cache_set_active(int active);
/* A worker's own subscription(s) came up (1) or went down (-1): counted for
 * the status RPC. */
void rdr_cache_worker_sub(int delta);

typedef struct rdr_cache_info
{
	int enabled; /* configured */
	int active;	 /* subscription up: the cache is used */
	int entries;
	int size;
	int worker_subs; /* workers whose own subscription is up */
} rdr_cache_info_t;
void rdr_cache_get_info(rdr_cache_info_t *info);

#endif
