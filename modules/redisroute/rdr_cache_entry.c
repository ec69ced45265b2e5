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
 */

#include <stddef.h>
#include <string.h>

#include "rdr_cache_entry.h"

/* a negative answer keeps no targets, whatever res holds */
static int rdr_entry_ntargets(int ret, const rdr_result_t *res)
{
	return ret == RDR_OK ? res->n : 0;
}

int rdr_entry_size(
		const str *pkey, const str *user, int ret, const rdr_result_t *res)
{
	int n = rdr_entry_ntargets(ret, res);

	return offsetof(rdr_cache_entry_t, data) + pkey->len + user->len
		   + res->key.len + rdr_targets_size(res->t, n, 0);
}

void rdr_entry_store(rdr_cache_entry_t *e, unsigned int hash, const str *pkey,
		const str *user, int sips, int ret, const rdr_result_t *res)
{
	int n = rdr_entry_ntargets(ret, res);
	char *p;

	e->hash = hash;
	e->keylen = (short)pkey->len;
	e->userlen = (short)user->len;
	e->matchedlen = (short)res->key.len;
	e->sips = (char)sips;
	e->ret = (signed char)ret;
	e->n = (short)n;
	e->list = (char)res->list;
	e->targetslen = rdr_targets_size(res->t, n, 0);
	p = e->data;
	memcpy(p, pkey->s, pkey->len);
	p += pkey->len;
	memcpy(p, user->s, user->len);
	p += user->len;
	memcpy(p, res->key.s, res->key.len);
	p += res->key.len;
	rdr_targets_write(p, res->t, n, 0);
}

void rdr_entry_load(const rdr_cache_entry_t *e, rdr_result_t *res)
{
	const char *p = e->data + e->keylen + e->userlen;

	memcpy(res->key_buf, p, e->matchedlen);
	res->key_buf[e->matchedlen] = '\0';
	res->key.s = res->key_buf;
	res->key.len = e->matchedlen;
	res->list = e->list;
	p += e->matchedlen;
	/* written by rdr_entry_store() from a valid result: it reads back */
	rdr_targets_read(p, p + e->targetslen, e->n, 0, res);
}

int rdr_entry_matches(const rdr_cache_entry_t *e, unsigned int h,
		const str *pkey, const str *user, int sips)
{
	return e->hash == h && e->keylen == pkey->len && e->userlen == user->len
		   && e->sips == sips && memcmp(e->data, pkey->s, pkey->len) == 0
		   && memcmp(e->data + pkey->len, user->s, user->len) == 0;
}

int rdr_entry_is_key(
		const rdr_cache_entry_t *e, unsigned int h, const str *pkey)
{
	return e->hash == h && e->keylen == pkey->len
		   && memcmp(e->data, pkey->s, pkey->len) == 0;
}
