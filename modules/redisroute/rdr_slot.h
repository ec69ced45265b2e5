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
 * redisroute - Redis Cluster key slots (CRC16, hash tags), MOVED/ASK
 * redirect replies, and a cluster lookup's candidate keys grouped by slot
 * (which group's answer wins).
 * Pure: libc only; the unit tests and fuzzers link it with rdr_syntax.c and
 * nothing else.
 */

#ifndef _RDR_SLOT_H_
#define _RDR_SLOT_H_

#include <stddef.h>

/*
 * Redis Cluster key slots and redirect replies (pure: libc only)
 */

#define RDR_SLOTS 16384

/* The cluster slot of a key: CRC16 (XMODEM) of the key, or of the part
 * between the first '{' and the next '}' when that part is not empty. */
unsigned int rdr_key_slot(const char *key, int len);

#define RDR_REDIRECT_MOVED 1
#define RDR_REDIRECT_ASK 2

/* Parses an error reply "MOVED <slot> <host>:<port>" or "ASK <slot>
 * <host>:<port>" (the host may be an IPv6 address without brackets, or empty
 * for "the node that answered"). Returns RDR_REDIRECT_MOVED or
 * RDR_REDIRECT_ASK with slot, host (NUL-terminated, at most host_size - 1
 * bytes) and port set, or 0 when s is no well-formed redirect. */
int rdr_redirect_parse(const char *s, int len, int *slot, char *host,
		int host_size, int *port);

/*
 * Redis Cluster: one lookup's candidate keys grouped by slot,
 * and which group's answer the lookup takes (pure: libc only)
 *
 * A script may only touch keys of one slot, so rdr_cluster.c runs it
 * once per group of candidates sharing a slot; the groups answer apart, and
 * rdr_cgroup_pick() decides what the lookup as a whole found.
 */

/* redisroute.h's RDR_CANDIDATES_MAX (which needs the Kamailio core);
 * rdr_cluster.c checks that both agree */
#define RDR_CGROUP_KEYS_MAX 33

/* the candidate keys of one hash slot, in the lookup's order (best first) */
typedef struct rdr_cgroup
{
	unsigned int slot;
	int nkeys;
	int cand[RDR_CGROUP_KEYS_MAX]; /* index of each key in the lookup's keys */
	const char *keys[RDR_CGROUP_KEYS_MAX];
	size_t klens[RDR_CGROUP_KEYS_MAX];
} rdr_cgroup_t;

/* Groups keys (at most RDR_CGROUP_KEYS_MAX) by slot into groups, which has
 * room for nkeys groups: the groups in the order of their first key, the
 * keys of each in their order in keys. Returns the number of groups. */
int rdr_cgroup_by_slot(int nkeys, const char **keys, const size_t *klens,
		rdr_cgroup_t *groups);

/* what one group's script call came to, or what the lookup did */
typedef enum rdr_cgroup_state
{
	RDR_CGROUP_FAILED, /* no answer: node down, an error reply, too many hops */
	RDR_CGROUP_NONE,   /* none of its keys exists */
	RDR_CGROUP_FOUND,  /* one exists (the group's best existing key) */
} rdr_cgroup_state_t;

typedef struct rdr_cgroup_answer
{
	rdr_cgroup_state_t state;
	int found; /* RDR_CGROUP_FOUND: the key's index in the lookup's keys */
} rdr_cgroup_answer_t;

typedef struct rdr_cgroup_pick
{
	/* FOUND, NONE when every group found none, or FAILED */
	rdr_cgroup_state_t state;
	/* FOUND: the group that found the key; NONE: 0; FAILED: the failed
	 * group that holds the best candidate (its reply may tell why) */
	int group;
	int found; /* FOUND: the key's index in the lookup's keys; else -1 */
} rdr_cgroup_pick_t;

/* The lookup's outcome from the answers of its ng (>= 1) groups: the best
 * key found wins (the lowest index: candidates are best first), unless a
 * group holding a better candidate failed, which fails the lookup rather
 * than routing on a shorter prefix; groups that fail holding only worse
 * candidates do not matter. */
rdr_cgroup_pick_t rdr_cgroup_pick(
		int ng, const rdr_cgroup_t *groups, const rdr_cgroup_answer_t *answers);

#endif
