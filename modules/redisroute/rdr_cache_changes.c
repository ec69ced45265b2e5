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
 * redisroute - what changed, for the cache in prefix mode
 */

#include <string.h>

#include "core/atomic_ops.h"
#include "core/dprint.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"

#include "rdr_cache_changes.h"

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
	_rdr_changes->locks = lock_set_alloc(RDR_CHANGES_LOCKS);
	if(_rdr_changes->locks == NULL
			|| lock_set_init(_rdr_changes->locks) == NULL) {
		LM_ERR("cannot allocate the cache's change locks\n");
		if(_rdr_changes->locks != NULL)
			lock_set_dealloc(_rdr_changes->locks);
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
