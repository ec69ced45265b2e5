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

#include <string.h>

#include "rdr_slot.h"
#include "rdr_syntax.h"

/*
 * Redis Cluster key slots and redirect replies (pure: libc only)
 * Depends on libc only: the unit tests and fuzzers link it with rdr_syntax.c
 * (decimal numbers) and nothing else.
 */

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as the Redis
 * Cluster specification defines the key hash */
static unsigned short rdr_crc16(const char *s, int len)
{
	unsigned short crc = 0;
	int i, b;

	for(i = 0; i < len; i++) {
		crc ^= (unsigned short)((unsigned char)s[i] << 8);
		for(b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (unsigned short)((crc << 1) ^ 0x1021)
								 : (unsigned short)(crc << 1);
	}
	return crc;
}

unsigned int rdr_key_slot(const char *key, int len)
{
	const char *open, *close;

	open = len > 0 ? memchr(key, '{', len) : NULL;
	if(open != NULL) {
		int rest = len - (int)(open - key) - 1;
		close = rest > 0 ? memchr(open + 1, '}', rest) : NULL;
		/* "{}" hashes the whole key */
		if(close != NULL && close > open + 1)
			return rdr_crc16(open + 1, (int)(close - open - 1))
				   & (RDR_SLOTS - 1);
	}
	return rdr_crc16(key, len) & (RDR_SLOTS - 1);
}

int rdr_redirect_parse(
		const char *s, int len, int *slot, char *host, int host_size, int *port)
{
	const char *p, *end, *sp, *colon;
	int kind, hlen;

	if(s == NULL || len <= 0 || host == NULL || host_size <= 0)
		return 0;
	end = s + len;
	if(len > 6 && memcmp(s, "MOVED ", 6) == 0) {
		kind = RDR_REDIRECT_MOVED;
		p = s + 6;
	} else if(len > 4 && memcmp(s, "ASK ", 4) == 0) {
		kind = RDR_REDIRECT_ASK;
		p = s + 4;
	} else {
		return 0;
	}
	sp = memchr(p, ' ', end - p);
	if(sp == NULL)
		return 0;
	*slot = rdr_decimal(p, (int)(sp - p), 5);
	if(*slot < 0 || *slot >= RDR_SLOTS)
		return 0;
	p = sp + 1;
	/* the port follows the last colon: IPv6 hosts come without brackets */
	colon = NULL;
	for(sp = p; sp < end; sp++) {
		if(*sp == ':')
			colon = sp;
		else if((unsigned char)*sp <= ' ' || *sp == '[' || *sp == ']')
			return 0;
	}
	if(colon == NULL)
		return 0;
	*port = rdr_decimal(colon + 1, (int)(end - colon - 1), 5);
	if(*port < 1 || *port > 65535)
		return 0;
	hlen = (int)(colon - p);
	if(hlen >= host_size)
		return 0;
	memcpy(host, p, hlen);
	host[hlen] = '\0';
	return kind;
}

/*
 * Redis Cluster: candidate keys grouped by slot, and the
 * lookup's winning answer. Depends on libc only: the unit tests link it with
 * rdr_slot.c and rdr_syntax.c and nothing else.
 */

int rdr_cgroup_by_slot(
		int nkeys, const char **keys, const size_t *klens, rdr_cgroup_t *groups)
{
	int i, j, ng = 0;

	for(i = 0; i < nkeys; i++) {
		unsigned int slot = rdr_key_slot(keys[i], (int)klens[i]);
		rdr_cgroup_t *g;
		for(j = 0; j < ng; j++)
			if(groups[j].slot == slot)
				break;
		g = &groups[j];
		if(j == ng) {
			ng++;
			g->slot = slot;
			g->nkeys = 0;
		}
		g->cand[g->nkeys] = i;
		g->keys[g->nkeys] = keys[i];
		g->klens[g->nkeys] = klens[i];
		g->nkeys++;
	}
	return ng;
}

rdr_cgroup_pick_t rdr_cgroup_pick(
		int ng, const rdr_cgroup_t *groups, const rdr_cgroup_answer_t *answers)
{
	rdr_cgroup_pick_t p = {RDR_CGROUP_NONE, 0, -1};
	int j, best_g = -1, failed_g = -1;

	for(j = 0; j < ng; j++) {
		const rdr_cgroup_answer_t *a = &answers[j];
		/* a group's best candidate is its first */
		if(a->state == RDR_CGROUP_FAILED) {
			if(failed_g < 0 || groups[j].cand[0] < groups[failed_g].cand[0])
				failed_g = j;
		} else if(a->state == RDR_CGROUP_FOUND
				  && (best_g < 0 || a->found < answers[best_g].found)) {
			best_g = j;
		}
	}
	if(best_g >= 0
			&& (failed_g < 0
					|| answers[best_g].found < groups[failed_g].cand[0])) {
		p.state = RDR_CGROUP_FOUND;
		p.group = best_g;
		p.found = answers[best_g].found;
	} else if(failed_g >= 0) {
		p.state = RDR_CGROUP_FAILED;
		p.group = failed_g;
	}
	return p;
}
