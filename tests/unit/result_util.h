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
 * helpers of the tests of a lookup's result (rdr_targets.h): the packed
 * answer's and the cache entry's
 */

#ifndef _RESULT_UTIL_H_
#define _RESULT_UTIL_H_

#include <stdio.h>
#include <string.h>

#include "rdr_targets.h"

static inline str S(const char *s)
{
	str r = {(char *)s, (int)strlen(s)};
	return r;
}

/* res with the matched key and n targets "sip:t<i>@h<i*37>" of q qs[i]
 * (qs NULL: -1, no q) */
static inline void fill(
		rdr_result_t *res, const char *matched, int n, const int *qs)
{
	int i;

	memset(res, 0, sizeof(*res));
	res->key.s = res->key_buf;
	res->key.len = snprintf(res->key_buf, sizeof(res->key_buf), "%s", matched);
	for(i = 0; i < n; i++) {
		res->t[i].uri.s = res->buf[i];
		res->t[i].uri.len = snprintf(
				res->buf[i], RDR_URI_MAX, "sip:t%d@h%d.example.com", i, i * 37);
		res->t[i].q = qs != NULL ? qs[i] : -1;
	}
	res->n = n;
}

#endif
