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
 * redisroute - one cache entry's layout and match rule (pure: libc and the
 * core's str type only)
 *
 * An entry is one block: the header, then its variable part. rdr_cache.c
 * computes the size here, allocates the block in shared memory and keeps it
 * in a bucket under the bucket's lock; what is in the block is written, read
 * back and compared here, so that the unit tests can check it without the
 * core.
 */

#ifndef _RDR_CACHE_ENTRY_H_
#define _RDR_CACHE_ENTRY_H_

#include <time.h>

#include "rdr_targets.h"

/* One cached answer. Entries of the same Redis key share a bucket, whatever
 * the R-URI user they were resolved for, so that invalidating a key is one
 * bucket's work. The variable part holds the key, the user, the key that
 * matched, then the n targets as rdr_targets_write() writes them (the
 * packed answer's encoding, without its NULs): a gateway there is still its
 * "@NAME", resolved after the cache (rdr_gw.c), so that a gateway's change
 * leaves the routes that name it cached. */
typedef struct rdr_cache_entry
{
	struct rdr_cache_entry *next;
	unsigned int hash;
	unsigned int epoch; /* the cache's flush count when stored */
	unsigned int since; /* prefix mode: rdr_changes_now() before the lookup */
	time_t expires;		/* rdr_conn_now_s() seconds; 0: never */
	short keylen;
	short userlen;
	short matchedlen;
	char sips;
	signed char ret;
	char list; /* rdr_result_t.list */
	short n;
	int targetslen; /* the targets' bytes, at the end of data */
	char data[];
} rdr_cache_entry_t;

/* The size of the block that holds the answer ret (res's targets only for
 * RDR_OK) for pkey and user. */
int rdr_entry_size(
		const str *pkey, const str *user, int ret, const rdr_result_t *res);

/* Writes the answer into e, a block of rdr_entry_size() bytes: everything but
 * next, epoch, since and expires, which are the cache's. hash: pkey's hash. */
void rdr_entry_store(rdr_cache_entry_t *e, unsigned int hash, const str *pkey,
		const str *user, int sips, int ret, const rdr_result_t *res);

/* Copies e's matched key and targets into res; e->ret is the return code. */
void rdr_entry_load(const rdr_cache_entry_t *e, rdr_result_t *res);

/* 1 when e is the answer for (pkey, user, sips), h being pkey's hash. */
int rdr_entry_matches(const rdr_cache_entry_t *e, unsigned int h,
		const str *pkey, const str *user, int sips);

/* 1 when e is an answer for pkey, for any user and scheme (invalidation). */
int rdr_entry_is_key(
		const rdr_cache_entry_t *e, unsigned int h, const str *pkey);

#endif
