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

#ifndef _RDR_CACHE_CHANGES_H_
#define _RDR_CACHE_CHANGES_H_

#include <stddef.h>

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

#endif
