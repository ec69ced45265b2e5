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
 * redisroute - the order of targets of equal priority (the selection
 * parameter): as stored, weighted random, or weighted rendezvous hashing on
 * the Call-ID; and the q-values that make a 3xx follower keep that order.
 * Pure: libc and libm only.
 */

#ifndef _RDR_SELECT_H_
#define _RDR_SELECT_H_

#include <stdint.h>

#define RDR_SELECT_ORDER 0	/* "order": as stored (the default) */
#define RDR_SELECT_WEIGHT 1 /* "weight": random, weighted */
#define RDR_SELECT_HASH 2	/* "hash": weighted rendezvous on the Call-ID */

/* the most items rdr_select_order() reorders (RDR_FETCH_MAX); a weight is
 * taken as 1..RDR_SELECT_WEIGHT_MAX (rdr_gw_record.h's RDR_GW_WEIGHT_MAX) */
#define RDR_SELECT_MAX 64
#define RDR_SELECT_WEIGHT_MAX 1000

/* "order", "weight", "hash" -> RDR_SELECT_*; -1 for anything else. */
int rdr_select_parse(const char *s, int len);
/* RDR_SELECT_* -> its name. */
const char *rdr_select_name(int mode);

/* One target as selection sees it. */
typedef struct rdr_select_item
{
	int prio;	/* equal prio = equal priority; the items come sorted by
				 * prio, highest first (a sorted set's q; a list's all 0) */
	int weight; /* 1..1000 */
	const char *id; /* what is hashed with the seed: the gateway's NAME, or
					 * a plain target's URI */
	int idlen;
} rdr_select_item_t;

/* A 64-bit seed from a Call-ID (any bytes; the same bytes, the same seed). */
uint64_t rdr_select_seed(const char *callid, int len);

/* Writes into order[0 .. n-1] the indexes of it[] in the chosen order. Runs
 * of equal prio keep their place among the others; within a run:
 * RDR_SELECT_ORDER keeps the input order; RDR_SELECT_WEIGHT and _HASH draw
 * without replacement, each item first with probability weight / (sum of
 * the run's weights): for _WEIGHT from rnd (a uniform random 64-bit value
 * per call; NULL: the seed is used as for _HASH), for _HASH from a hash of
 * (seed, id) per item (weighted rendezvous hashing: the same seed and ids,
 * the same order; an item that leaves shares its place in proportion to
 * the others' weights). n <= RDR_SELECT_MAX: with more items, or an
 * unknown mode, order[] is the input order. A weight outside 1..1000 is
 * taken as the nearest bound. */
void rdr_select_order(int mode, const rdr_select_item_t *it, int n,
		uint64_t seed, uint64_t (*rnd)(void), int *order);

/* q-values (thousandths) in the chosen order, so that a 3xx follower that
 * tries the highest q first keeps that order. q[0 .. n-1] holds each
 * target's q in the new order (non-increasing, runs of equal q where equal
 * priority was reordered; -1: none, left alone); each run of k equal
 * values Q followed by a lower value L (or 0 after the last run) becomes
 * Q - floor(j * (Q - L) / k) for j = 0 .. k-1: the first keeps Q, all stay
 * above L, and they are strictly descending when Q - L >= k. A run
 * followed by -1, or (q out of order) by a higher value, spreads down to
 * 0. */
void rdr_select_spread_q(int *q, int n);

#endif
