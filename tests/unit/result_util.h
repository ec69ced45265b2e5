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

#include <check.h>

#include "rdr_targets.h"

static inline str S(const char *s)
{
	str r = {(char *)s, (int)strlen(s)};
	return r;
}

/* res with the matched key and n plain targets "sip:t<i>@h<i*37>" of q
 * qs[i] (qs NULL: -1, no q), each in its own buffers (rdr_result_slot()) */
static inline void fill(
		rdr_result_t *res, const char *matched, int n, const int *qs)
{
	int i;

	memset(res, 0, sizeof(*res));
	rdr_result_clear(res);
	res->key.len = snprintf(res->key_buf, sizeof(res->key_buf), "%s", matched);
	for(i = 0; i < n; i++) {
		rdr_target_t *t = rdr_result_slot(res, i);
		t->uri.len = snprintf(
				t->uri.s, RDR_URI_MAX, "sip:t%d@h%d.example.com", i, i * 37);
		t->q = qs != NULL ? qs[i] : -1;
	}
	res->n = n;
}

/* target i names the gateway name, not resolved yet: "@name" */
static inline void set_ref(rdr_result_t *res, int i, const char *name)
{
	rdr_target_t *t = &res->t[i];

	t->uri.len = snprintf(t->uri.s, RDR_URI_MAX, "@%s", name);
	res->refs++;
}

/* target i comes from the gateway gw, with attrs ("" for none) */
static inline void set_gw(
		rdr_result_t *res, int i, const char *gw, const char *attrs)
{
	rdr_target_t *t = &res->t[i];

	t->gw.len = snprintf(t->gw.s, RDR_GW_NAME_MAX + 1, "%s", gw);
	t->attrs.len = snprintf(t->attrs.s, RDR_GW_ATTRS_MAX + 1, "%s", attrs);
}

/* n targets of every kind: plain, resolved gateways with and without
 * attrs, references not resolved yet (refs: 2 when n >= 5) */
static inline void fill_mixed(rdr_result_t *res, int n)
{
	int i;

	fill(res, "+4930", n, NULL);
	for(i = 0; i < n; i++) {
		switch(i % 5) {
			case 1:
				set_gw(res, i, "carrierA", "region=eu;cost=3");
				break;
			case 2:
				set_ref(res, i, "carrier-B.2");
				break;
			case 3:
				set_gw(res, i, "c_3", "");
				break;
			case 4:
				set_ref(res, i, "x");
				break;
		}
		res->t[i].q = 1000 - i;
	}
}

/* b, read back, holds what a holds, in its own buffers, NUL-terminated */
static inline void assert_same_targets(
		const rdr_result_t *a, const rdr_result_t *b)
{
	int i;

	ck_assert_int_eq(a->n, b->n);
	ck_assert_int_eq(a->refs, b->refs);
	for(i = 0; i < a->n; i++) {
		const rdr_target_t *x = &a->t[i], *y = &b->t[i];
		ck_assert_int_eq(x->uri.len, y->uri.len);
		ck_assert_ptr_eq(y->uri.s, b->buf[i]);
		ck_assert_mem_eq(x->uri.s, y->uri.s, x->uri.len);
		ck_assert_int_eq(y->uri.s[y->uri.len], '\0');
		ck_assert_int_eq(x->gw.len, y->gw.len);
		ck_assert_ptr_eq(y->gw.s, b->gw_buf[i]);
		if(x->gw.len > 0)
			ck_assert_mem_eq(x->gw.s, y->gw.s, x->gw.len);
		ck_assert_int_eq(y->gw.s[y->gw.len], '\0');
		ck_assert_int_eq(x->attrs.len, y->attrs.len);
		ck_assert_ptr_eq(y->attrs.s, b->attrs_buf[i]);
		if(x->attrs.len > 0)
			ck_assert_mem_eq(x->attrs.s, y->attrs.s, x->attrs.len);
		ck_assert_int_eq(y->attrs.s[y->attrs.len], '\0');
		ck_assert_int_eq(x->q, y->q);
	}
}

#endif
