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
 * redisroute - the packed form of an answer (pure: libc and the core's str
 * type only, so that the unit tests and the fuzzer link it)
 */

#include <stddef.h>
#include <string.h>

#include "rdr_result.h"

/* a negative answer keeps no targets, whatever res holds */
static int rdr_packed_ntargets(int rc, const rdr_result_t *res)
{
	return rc == RDR_OK ? res->n : 0;
}

int rdr_result_pack(
		char *buf, int size, const str *lkey, int rc, const rdr_result_t *res)
{
	static str never = {"", 0};
	rdr_packed_hdr_t h;
	int i, n = rdr_packed_ntargets(rc, res);
	int len;
	char *p;

	/* a longer key never matches: kept as none */
	if(lkey->len < 0 || lkey->len > RDR_KEY_MAX)
		lkey = &never;
	if(res->key.len > RDR_KEY_MAX || n < 0 || n > RDR_TARGETS_MAX)
		return -1;
	len = sizeof(h) + lkey->len + res->key.len;
	for(i = 0; i < n; i++)
		len += 2 * sizeof(int) + res->t[i].uri.len + 1;
	if(len > size)
		return -1;
	h.rc = rc;
	h.n = (short)n;
	h.next = 1;
	h.lkeylen = (short)lkey->len;
	h.keylen = (short)res->key.len;
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	memcpy(p, lkey->s, lkey->len);
	p += lkey->len;
	memcpy(p, res->key.s, res->key.len);
	p += res->key.len;
	/* the ints are copied, not assigned: p is not aligned */
	for(i = 0; i < n; i++) {
		memcpy(p, &res->t[i].uri.len, sizeof(int));
		memcpy(p + sizeof(int), &res->t[i].q, sizeof(int));
		p += 2 * sizeof(int);
		memcpy(p, res->t[i].uri.s, res->t[i].uri.len);
		p += res->t[i].uri.len;
		*p++ = '\0';
	}
	return len;
}

int rdr_result_view(const char *buf, int len, rdr_view_t *v)
{
	rdr_packed_hdr_t h;
	const char *p, *end = buf + len;
	int i, ulen, q;

	if(buf == NULL || len < (int)sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if(h.n < 0 || h.n > RDR_TARGETS_MAX || h.lkeylen < 0
			|| h.lkeylen > RDR_KEY_MAX || h.keylen < 0 || h.keylen > RDR_KEY_MAX
			|| h.next < 0 || len - (int)sizeof(h) < h.lkeylen + h.keylen)
		return -1;
	p = buf + sizeof(h);
	v->rc = h.rc;
	v->next = h.next;
	v->lkey.s = (char *)p;
	v->lkey.len = h.lkeylen;
	p += h.lkeylen;
	v->key.s = (char *)p;
	v->key.len = h.keylen;
	p += h.keylen;
	for(i = 0; i < h.n; i++) {
		if(end - p < (long)(2 * sizeof(int)))
			return -1;
		memcpy(&ulen, p, sizeof(int));
		memcpy(&q, p + sizeof(int), sizeof(int));
		p += 2 * sizeof(int);
		if(ulen <= 0 || ulen >= RDR_URI_MAX || end - p < ulen + 1
				|| p[ulen] != '\0')
			return -1;
		v->t[i].uri.s = (char *)p;
		v->t[i].uri.len = ulen;
		v->t[i].q = q;
		p += ulen + 1;
	}
	v->n = h.n;
	return p == end ? 0 : -1;
}

void rdr_result_set_next(char *buf, int next)
{
	short s = (short)next;

	memcpy(buf + offsetof(rdr_packed_hdr_t, next), &s, sizeof(s));
}
