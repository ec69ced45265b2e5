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
 * loaded into shared memory in the background and kept coherent by the
 * cache's subscriptions, so that a lookup, exact or by prefix, needs no
 * Redis round trip at all once it is complete
 */

#ifndef _RDR_REPLICA_H_
#define _RDR_REPLICA_H_

#include <stddef.h>

#include "core/str.h"

#include "rdr_targets.h"

/*
 * What it holds: per Redis key (key_prefix included) the key's type and its
 * raw entries as the lookup script returns them (at most RDR_FETCH_MAX,
 * over-long ones cut as the script cuts them), or UNKNOWN: invalidated, to
 * be read again. Targets are built per request from the raw entries by the
 * code that builds them from Redis's reply (rdr_lookup.c), so a bare host
 * takes each request's user and a @NAME stays a gateway.
 *
 * Who writes it: the notifier process loads it (SCAN MATCH <key_prefix>*,
 * then the lookup script per key, pipelined, a bounded batch per round, so
 * that it applies invalidations between batches; with Redis Cluster, every
 * master); every process that applies an invalidation marks the key
 * UNKNOWN, and the notifier reads the UNKNOWN keys again at its next round.
 * A read is stored only when no invalidation of its bucket and no flush
 * came since it was sent (a ticket, as the cache's), else the key is left
 * UNKNOWN and read again.
 *
 * When it answers: a key found (known) answers at once; "no such key" is an
 * answer only once the replica is complete (a whole SCAN finished, the
 * subscription up the whole time); a candidate UNKNOWN sends the lookup to
 * Redis as without it. A flush (FLUSHALL, FLUSHDB, SWAPDB, a lost
 * subscription, a failover, a change of the cluster's masters,
 * redisroute.cache_flush) empties it, O(1) (an epoch), and it loads again.
 * No entry expires: cache_ttl does not apply to it. A worker uses it only
 * once the notifier has applied everything its subscription had received
 * after the worker's own subscription began (rdr_replica_get()'s since).
 */

/* In mod_init (cache_preload 1, cache_size > 0): at most max_keys keys;
 * prefix: key_prefix (only its keys are kept). */
int rdr_replica_init(int max_keys, const str *prefix);
void rdr_replica_destroy(void);
int rdr_replica_enabled(void);

#define RDR_REPLICA_MISS 0 /* cannot answer: ask Redis */
#define RDR_REPLICA_NONE 1 /* no candidate exists: no route */
#define RDR_REPLICA_FOUND 2

/* The lookup of the candidate keys (best first, key_prefix included):
 * RDR_REPLICA_FOUND with *matched the index of the best one that exists and
 * it opened over its entries (valid until this process's next call),
 * RDR_REPLICA_NONE, or RDR_REPLICA_MISS. since_ms: when this process's own
 * subscription began (rdr_conn_now_ms()); the replica is used only when the
 * notifier drained its own after that. Never waits. */
int rdr_replica_get(int ncand, const char **keys, const size_t *lens,
		long long since_ms, int *matched, rdr_reply_t *it);

/* From any process applying its subscription: the key changed (NULL:
 * everything may have, a FLUSHALL, a SWAPDB). In the notifier the key
 * becomes UNKNOWN and is read again (NULL: a flush); in a worker, which
 * may read its subscription well after the notifier, the replica is left
 * alone, and this process's lookups of it ask Redis until the notifier has
 * drained past the moment it heard. */
void rdr_replica_heard(const str *key);
/* From any process: everything may have changed (an epoch, O(1)); loaded
 * again from scratch. */
void rdr_replica_flush(void);

/*
 * the loader, in the notifier process
 */

/* The notifier's subscriptions are all up (1; the replica loads from
 * scratch) or one went down (0: emptied, not used, its connections closed).
 * Marks the calling process as the loader. */
void rdr_replica_set_active(int active);
/* The notifier applied every invalidation it had received before t0_ms. */
void rdr_replica_drained(long long t0_ms);
/* One bounded round of loading (a SCAN batch and its reads, the UNKNOWN
 * keys read again, freeing what a flush left): 1 when more work is
 * waiting (call again soon), 0 when idle. */
int rdr_replica_step(void);

#define RDR_REPLICA_S_OFF 0
#define RDR_REPLICA_S_LOADING 1
#define RDR_REPLICA_S_COMPLETE 2
#define RDR_REPLICA_S_TOO_LARGE 3

typedef struct rdr_replica_info
{
	int state; /* RDR_REPLICA_S_* */
	int keys;
	int unknown; /* keys waiting to be read again */
	long loads;	 /* full loads completed */
	long last_load_ms;
} rdr_replica_info_t;
void rdr_replica_get_info(rdr_replica_info_t *info);
const char *rdr_replica_state_name(int state);

#endif
