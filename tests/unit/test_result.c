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
 * redisroute - unit tests for rdr_targets.c (check framework): the packed
 * form an answer travels in, with the request and from an async I/O
 * process, written and read back, and hostile blocks refused
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "result_util.h"
#include "test_util.h"

#include "rdr_targets.h"

static const int qs[] = {0, -1, 200, 300, 400};

static char buf[RDR_PACKED_MAX];

START_TEST(test_round_trip)
{
	rdr_result_t res;
	rdr_view_t v;
	str lkey = S("+4930123");
	int len, i;

	fill(&res, "+4930", 5, qs);
	len = rdr_result_pack(buf, sizeof(buf), &lkey, 1, &res);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq(v.rc, 1);
	ck_assert_int_eq(v.n, 5);
	ck_assert_int_eq(v.next, 1);
	ck_assert_int_eq(v.lkey.len, lkey.len);
	ck_assert(memcmp(v.lkey.s, "+4930123", lkey.len) == 0);
	ck_assert_int_eq(v.key.len, 5);
	ck_assert(memcmp(v.key.s, "+4930", 5) == 0);
	for(i = 0; i < 5; i++) {
		ck_assert_int_eq(v.t[i].uri.len, res.t[i].uri.len);
		ck_assert_str_eq(v.t[i].uri.s, res.t[i].uri.s);
		ck_assert_int_eq(v.t[i].q, res.t[i].q);
	}
	rdr_result_set_next(buf, 3);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq(v.next, 3);
}
END_TEST

START_TEST(test_a_negative_answer_keeps_no_targets)
{
	rdr_result_t res;
	rdr_view_t v;
	str lkey = S("bob");
	int len;

	fill(&res, "", 3, NULL); /* stale targets of another lookup */
	len = rdr_result_pack(buf, sizeof(buf), &lkey, -2, &res);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq(v.rc, -2);
	ck_assert_int_eq(v.n, 0);
	ck_assert_int_eq(v.key.len, 0);
}
END_TEST

START_TEST(test_a_key_longer_than_any_is_kept_as_none)
{
	rdr_result_t res;
	rdr_view_t v;
	char *k = repeat('k', RDR_KEY_MAX + 1);
	str lkey = S(k);
	int len;

	fill(&res, "", 0, NULL);
	len = rdr_result_pack(buf, sizeof(buf), &lkey, -1, &res);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq(v.lkey.len, 0);
	free(k);
}
END_TEST

START_TEST(test_the_largest_answer_fits)
{
	rdr_result_t res;
	rdr_view_t v;
	char *k = repeat('k', RDR_KEY_MAX);
	str lkey = S(k);
	int len, i;

	memset(&res, 0, sizeof(res));
	res.key.s = res.key_buf;
	res.key.len = RDR_KEY_MAX;
	memset(res.key_buf, 'm', RDR_KEY_MAX);
	for(i = 0; i < RDR_TARGETS_MAX; i++) {
		memset(res.buf[i], 'u', RDR_URI_MAX - 1);
		res.buf[i][RDR_URI_MAX - 1] = '\0';
		res.t[i].uri.s = res.buf[i];
		res.t[i].uri.len = RDR_URI_MAX - 1;
		res.t[i].q = 1000;
	}
	res.n = RDR_TARGETS_MAX;
	len = rdr_result_pack(buf, sizeof(buf), &lkey, 1, &res);
	ck_assert_int_eq(len, (int)RDR_PACKED_MAX - RDR_TARGETS_MAX);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq(v.n, RDR_TARGETS_MAX);
	/* and a buffer a byte too short is refused, not overrun */
	ck_assert_int_eq(rdr_result_pack(buf, len - 1, &lkey, 1, &res), -1);
	free(k);
}
END_TEST

START_TEST(test_hostile_blocks_are_refused)
{
	rdr_result_t res;
	rdr_view_t v;
	str lkey = S("alice");
	int len, cut;
	short bad;

	fill(&res, "alice", 2, NULL);
	len = rdr_result_pack(buf, sizeof(buf), &lkey, 1, &res);
	/* every truncation */
	for(cut = 0; cut < len; cut++)
		ck_assert_int_eq(rdr_result_view(buf, cut, &v), -1);
	ck_assert_int_eq(rdr_result_view(NULL, len, &v), -1);
	/* trailing bytes */
	ck_assert_int_eq(rdr_result_view(buf, len + 1, &v), -1);
	/* a target count past the bound */
	bad = RDR_TARGETS_MAX + 1;
	memcpy(buf + offsetof(rdr_packed_hdr_t, n), &bad, sizeof(bad));
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	/* a missing NUL after a URI */
	len = rdr_result_pack(buf, sizeof(buf), &lkey, 1, &res);
	buf[len - 1] = 'x';
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
}
END_TEST

static Suite *result_suite(void)
{
	Suite *s = suite_create("rdr_result");
	TCase *tc = tcase_create("packed");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_a_negative_answer_keeps_no_targets);
	tcase_add_test(tc, test_a_key_longer_than_any_is_kept_as_none);
	tcase_add_test(tc, test_the_largest_answer_fits);
	tcase_add_test(tc, test_hostile_blocks_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(result_suite());
}
