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
 * redisroute - unit tests for rdr_cache_entry.c (check framework): the block
 * one cached answer is kept in (its size, writing and reading it back) and
 * which lookups it answers
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "result_util.h"
#include "test_util.h"

#include "rdr_cache_entry.h"

/* stores (pkey, user, sips, ret, in) in a block of the computed size */
static rdr_cache_entry_t *store(const char *pkey, const char *user, int sips,
		int ret, const rdr_result_t *in, int *size)
{
	str k = S(pkey), u = S(user);
	rdr_cache_entry_t *e;

	*size = rdr_entry_size(&k, &u, ret, in);
	e = malloc(*size);
	ck_assert_ptr_nonnull(e);
	rdr_entry_store(e, 1234u, &k, &u, sips, ret, in);
	return e;
}

static void assert_same(const rdr_result_t *a, const rdr_result_t *b)
{
	ck_assert_int_eq(a->key.len, b->key.len);
	ck_assert_ptr_eq(b->key.s, b->key_buf);
	ck_assert_mem_eq(a->key.s, b->key.s, a->key.len);
	ck_assert_int_eq(b->key_buf[b->key.len], '\0');
	ck_assert_int_eq(a->list, b->list);
	assert_same_targets(a, b);
}

/* 0, 1, a few and RDR_TARGETS_MAX targets, without and with q-values */
static const int round_trip_n[] = {0, 1, 3, RDR_TARGETS_MAX};

START_TEST(test_round_trip)
{
	int qs[RDR_TARGETS_MAX], i, size, n = round_trip_n[_i / 2];
	rdr_result_t in, out;
	rdr_cache_entry_t *e;

	for(i = 0; i < RDR_TARGETS_MAX; i++)
		qs[i] = 1000 - i * 31;
	fill(&in, "+4930", n, (_i % 2) ? qs : NULL);
	e = store("rr:+49301234", "alice", 1, RDR_OK, &in, &size);
	ck_assert_int_eq(e->hash, 1234u);
	ck_assert_int_eq(e->ret, RDR_OK);
	ck_assert_int_eq(e->n, n);
	ck_assert_int_eq(e->sips, 1);
	memset(&out, 0x5a, sizeof(out));
	rdr_entry_load(e, &out);
	assert_same(&in, &out);
	free(e);
}
END_TEST

START_TEST(test_q_values_kept)
{
	const int qs[] = {-1, 0, 1, 500, 999, 1000};
	rdr_result_t in, out;
	rdr_cache_entry_t *e;
	int size, i;

	fill(&in, "k", 6, qs);
	e = store("k", "", 0, RDR_OK, &in, &size);
	rdr_entry_load(e, &out);
	for(i = 0; i < 6; i++)
		ck_assert_int_eq(out.t[i].q, qs[i]);
	free(e);
}
END_TEST

/* the header, the three strings, then per target two ints, two lengths
 * (gw, attrs) and the strings */
START_TEST(test_size)
{
	const int qs[] = {1000, 500};
	rdr_result_t in;
	rdr_cache_entry_t *e;
	int size, hdr = (int)offsetof(rdr_cache_entry_t, data);

	fill(&in, "", 0, NULL);
	e = store("", "", 0, RDR_OK, &in, &size);
	ck_assert_int_eq(size, hdr);
	free(e);

	fill(&in, "abc", 2, qs);
	e = store("rr:abcd", "bob", 0, RDR_OK, &in, &size);
	ck_assert_int_eq(size, hdr + 7 + 3 + 3 + 2 * (2 * (int)sizeof(int) + 2)
								   + in.t[0].uri.len + in.t[1].uri.len);
	free(e);

	/* a gateway's name and attrs; no NULs */
	set_gw(&in, 1, "gw1", "a=b");
	e = store("rr:abcd", "bob", 0, RDR_OK, &in, &size);
	ck_assert_int_eq(size, hdr + 7 + 3 + 3 + 2 * (int)RDR_TARGET_HDR
								   + in.t[0].uri.len + in.t[1].uri.len + 3 + 3);
	free(e);
}
END_TEST

/* gateways: resolved ones keep their name and attrs, references stay
 * references (a cached route is resolved after the cache), and the list
 * flag is kept */
START_TEST(test_gateways_round_trip)
{
	static const int ns[] = {1, 2, 3, 5, 7, RDR_TARGETS_MAX};
	rdr_result_t in, out;
	rdr_cache_entry_t *e;
	int size, k, i, refs;

	for(k = 0; k < (int)(sizeof(ns) / sizeof(ns[0])); k++) {
		fill_mixed(&in, ns[k]);
		in.list = k % 2;
		e = store("rr:+49301234", "alice", 0, RDR_OK, &in, &size);
		memset(&out, 0x5a, sizeof(out));
		rdr_entry_load(e, &out);
		assert_same(&in, &out);
		for(i = refs = 0; i < ns[k]; i++)
			refs += out.t[i].uri.s[0] == '@';
		ck_assert_int_eq(out.refs, refs);
		ck_assert_int_eq(refs, ns[k] / 5 * 2 + (ns[k] % 5 > 2));
		free(e);
	}
}
END_TEST

/* the longest gateway name and attrs, on the longest URIs */
START_TEST(test_gateways_longest)
{
	rdr_result_t in, out;
	rdr_cache_entry_t *e;
	char *gw = repeat('g', RDR_GW_NAME_MAX);
	char *attrs = repeat('a', RDR_GW_ATTRS_MAX);
	int size, i;

	fill(&in, "k", RDR_TARGETS_MAX, NULL);
	for(i = 0; i < RDR_TARGETS_MAX; i++) {
		memset(in.buf[i], 'a' + i % 26, RDR_URI_MAX - 1);
		memcpy(in.buf[i], "sip:", 4);
		in.buf[i][RDR_URI_MAX - 1] = '\0';
		in.t[i].uri.len = RDR_URI_MAX - 1;
		set_gw(&in, i, gw, attrs);
	}
	e = store("k", "u", 0, RDR_OK, &in, &size);
	rdr_entry_load(e, &out);
	assert_same(&in, &out);
	ck_assert_int_eq(out.t[RDR_TARGETS_MAX - 1].gw.len, RDR_GW_NAME_MAX);
	ck_assert_int_eq(out.t[RDR_TARGETS_MAX - 1].attrs.len, RDR_GW_ATTRS_MAX);
	free(e);
	free(gw);
	free(attrs);
}
END_TEST

/* a negative answer keeps its matched key and no targets, whatever the
 * result still holds */
START_TEST(test_negative_answers)
{
	static const int rets[] = {RDR_NO_ROUTE, RDR_BAD_DATA};
	rdr_result_t in, out;
	rdr_cache_entry_t *e;
	int size, i;

	for(i = 0; i < 2; i++) {
		fill(&in, i == 0 ? "" : "rr:k", 4, NULL);
		e = store("rr:k", "u", 0, rets[i], &in, &size);
		ck_assert_int_eq(size,
				(int)offsetof(rdr_cache_entry_t, data) + 4 + 1 + in.key.len);
		ck_assert_int_eq(e->ret, rets[i]);
		ck_assert_int_eq(e->n, 0);
		memset(&out, 0x5a, sizeof(out));
		rdr_entry_load(e, &out);
		ck_assert_int_eq(out.n, 0);
		ck_assert_int_eq(out.key.len, in.key.len);
		ck_assert_mem_eq(out.key.s, in.key.s, in.key.len);
		ck_assert_int_eq(out.key_buf[out.key.len], '\0');
		free(e);
	}
}
END_TEST

/* URIs of the longest length a result holds */
START_TEST(test_long_uris)
{
	rdr_result_t in, out;
	rdr_cache_entry_t *e;
	int size, i;

	fill(&in, "k", 2, NULL);
	for(i = 0; i < 2; i++) {
		memset(in.buf[i], 'a' + i, RDR_URI_MAX - 1);
		memcpy(in.buf[i], "sip:", 4);
		in.buf[i][RDR_URI_MAX - 1] = '\0';
		in.t[i].uri.len = RDR_URI_MAX - 1;
	}
	e = store("k", "u", 0, RDR_OK, &in, &size);
	rdr_entry_load(e, &out);
	assert_same(&in, &out);
	free(e);
}
END_TEST

/* an entry answers its own key, user and scheme, and nothing else */
START_TEST(test_matches)
{
	str k = S("rr:k1"), u = S("alice"), other;
	rdr_result_t in;
	rdr_cache_entry_t *e;
	int size;

	fill(&in, "rr:k", 1, NULL);
	e = store("rr:k1", "alice", 1, RDR_OK, &in, &size);
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &k, &u, 1), 1);
	/* each field on its own */
	ck_assert_int_eq(rdr_entry_matches(e, 1235u, &k, &u, 1), 0);
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &k, &u, 0), 0);
	other = S("rr:k2");
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &other, &u, 1), 0);
	other = S("rr:k");
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &other, &u, 1), 0);
	other = S("rr:k11");
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &other, &u, 1), 0);
	other = S("alicE");
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &k, &other, 1), 0);
	other = S("alic");
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &k, &other, 1), 0);
	other = S("");
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &k, &other, 1), 0);
	free(e);
}
END_TEST

/* the key and user are not mixed up where they meet: "ab"+"c" is not
 * "a"+"bc" */
START_TEST(test_matches_boundary)
{
	str k = S("a"), u = S("bc"), k2 = S("ab"), u2 = S("c");
	rdr_result_t in;
	rdr_cache_entry_t *e;
	int size;

	fill(&in, "", 0, NULL);
	e = store("ab", "c", 0, RDR_NO_ROUTE, &in, &size);
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &k, &u, 0), 0);
	ck_assert_int_eq(rdr_entry_matches(e, 1234u, &k2, &u2, 0), 1);
	free(e);
}
END_TEST

/* invalidation: the key and its hash, for any user and scheme */
START_TEST(test_is_key)
{
	str k = S("rr:k1"), other;
	rdr_result_t in;
	rdr_cache_entry_t *e;
	int size;

	fill(&in, "rr:k1", 1, NULL);
	e = store("rr:k1", "alice", 1, RDR_OK, &in, &size);
	ck_assert_int_eq(rdr_entry_is_key(e, 1234u, &k), 1);
	ck_assert_int_eq(rdr_entry_is_key(e, 1235u, &k), 0);
	other = S("rr:k");
	ck_assert_int_eq(rdr_entry_is_key(e, 1234u, &other), 0);
	other = S("rr:k2");
	ck_assert_int_eq(rdr_entry_is_key(e, 1234u, &other), 0);
	/* the key followed by the user's first bytes is another key */
	other = S("rr:k1al");
	ck_assert_int_eq(rdr_entry_is_key(e, 1234u, &other), 0);
	free(e);
}
END_TEST

static Suite *cache_entry_suite(void)
{
	Suite *s = suite_create("rdr_cache_entry");
	TCase *tc;

	tc = tcase_create("layout");
	tcase_add_loop_test(tc, test_round_trip, 0,
			2 * (int)(sizeof(round_trip_n) / sizeof(round_trip_n[0])));
	tcase_add_test(tc, test_q_values_kept);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_negative_answers);
	tcase_add_test(tc, test_long_uris);
	tcase_add_test(tc, test_gateways_round_trip);
	tcase_add_test(tc, test_gateways_longest);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_test(tc, test_matches);
	tcase_add_test(tc, test_matches_boundary);
	tcase_add_test(tc, test_is_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cache_entry_suite());
}
