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
 * parameter) and the q-values that keep it. Pure: libc and libm only. It
 * runs for every request: no allocation, a hash and a log() per item of a
 * run of two or more.
 */

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rdr_select.h"

static const char *const rdr_select_names[] = {"order", "weight", "hash"};

int rdr_select_parse(const char *s, int len)
{
	int i;

	if(s == NULL || len <= 0)
		return -1;
	for(i = 0; i < (int)(sizeof(rdr_select_names) / sizeof(char *)); i++) {
		if(len == (int)strlen(rdr_select_names[i])
				&& memcmp(s, rdr_select_names[i], len) == 0)
			return i;
	}
	return -1;
}

const char *rdr_select_name(int mode)
{
	if(mode < 0 || mode >= (int)(sizeof(rdr_select_names) / sizeof(char *)))
		return "unknown";
	return rdr_select_names[mode];
}

/* 64-bit FNV-1a of s[0..len) */
static uint64_t rdr_fnv1a64(const char *s, int len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int i;

	for(i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* splitmix64's finalizer: every input bit reaches every output bit */
static uint64_t rdr_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rdr_select_seed(const char *callid, int len)
{
	if(callid == NULL || len < 0)
		len = 0;
	return rdr_mix64(rdr_fnv1a64(callid, len));
}

/* The (seed, id) pair's 64 bits: the id hashed and mixed on its own first,
 * so that ids that differ in a byte differ everywhere before the seed is
 * put in. */
static uint64_t rdr_select_hash(uint64_t seed, const char *id, int idlen)
{
	if(id == NULL || idlen < 0)
		idlen = 0;
	return rdr_mix64(seed ^ rdr_mix64(rdr_fnv1a64(id, idlen)));
}

/* 64 random bits -> u in (0, 1): the top 53 bits, half a step off 0 */
static double rdr_select_unit(uint64_t x)
{
	return ((double)(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void rdr_select_order(int mode, const rdr_select_item_t *it, int n,
		uint64_t seed, uint64_t (*rnd)(void), int *order)
{
	double key[RDR_SELECT_MAX];
	int i, j, v, start, end, w;
	uint64_t x;

	if(order == NULL || n <= 0)
		return;
	for(i = 0; i < n; i++)
		order[i] = i;
	if(it == NULL || n > RDR_SELECT_MAX
			|| (mode != RDR_SELECT_WEIGHT && mode != RDR_SELECT_HASH))
		return;
	if(mode == RDR_SELECT_WEIGHT && rnd == NULL)
		mode = RDR_SELECT_HASH;

	for(start = 0; start < n; start = end) {
		for(end = start + 1; end < n && it[end].prio == it[start].prio; end++)
			;
		if(end - start < 2)
			continue;
		/* Efraimidis-Spirakis: the item of the highest ln(u) / w comes
		 * first, with probability w / (the run's sum); with u from
		 * hash(seed, id) this is weighted rendezvous hashing, and an item
		 * leaving changes no other item's score */
		for(i = start; i < end; i++) {
			w = it[i].weight;
			if(w < 1)
				w = 1;
			else if(w > RDR_SELECT_WEIGHT_MAX)
				w = RDR_SELECT_WEIGHT_MAX;
			x = mode == RDR_SELECT_HASH
						? rdr_select_hash(seed, it[i].id, it[i].idlen)
						: rnd();
			key[i] = log(rdr_select_unit(x)) / (double)w;
		}
		/* insertion sort, highest score first; equal scores keep their
		 * input order */
		for(i = start + 1; i < end; i++) {
			v = order[i];
			for(j = i; j > start && key[order[j - 1]] < key[v]; j--)
				order[j] = order[j - 1];
			order[j] = v;
		}
	}
}

void rdr_select_spread_q(int *q, int n)
{
	long long hi, lo;
	int i, j, k, end;

	if(q == NULL)
		return;
	for(i = 0; i < n; i = end) {
		for(end = i + 1; end < n && q[end] == q[i]; end++)
			;
		k = end - i;
		if(q[i] < 0 || k < 2)
			continue;
		hi = q[i];
		/* the next lower value; 0 after the last run, before a "none"
		 * (-1), and before a higher one (q not in order: the run still
		 * descends) */
		lo = (end < n && q[end] >= 0 && q[end] < q[i]) ? q[end] : 0;
		for(j = 1; j < k; j++)
			q[i + j] = (int)(hi - (j * (hi - lo)) / k);
	}
}
