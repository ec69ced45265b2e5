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
		/* plain targets: no gateway, no attrs */
		ck_assert_int_eq(v.t[i].gw.len, 0);
		ck_assert_str_eq(v.t[i].gw.s, "");
		ck_assert_int_eq(v.t[i].attrs.len, 0);
		ck_assert_str_eq(v.t[i].attrs.s, "");
	}
	ck_assert_int_eq(v.refs, 0);
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

	char *gw = repeat('g', RDR_GW_NAME_MAX);
	char *attrs = repeat('a', RDR_GW_ATTRS_MAX);

	fill(&res, "", RDR_TARGETS_MAX, NULL);
	res.key.len = RDR_KEY_MAX;
	memset(res.key_buf, 'm', RDR_KEY_MAX);
	for(i = 0; i < RDR_TARGETS_MAX; i++) {
		memset(res.buf[i], 'u', RDR_URI_MAX - 1);
		res.buf[i][RDR_URI_MAX - 1] = '\0';
		res.t[i].uri.len = RDR_URI_MAX - 1;
		res.t[i].q = 1000;
		set_gw(&res, i, gw, attrs);
	}
	len = rdr_result_pack(buf, sizeof(buf), &lkey, 1, &res);
	/* RDR_PACKED_MAX counts RDR_URI_MAX per URI, whose NUL is in there */
	ck_assert_int_eq(len, (int)RDR_PACKED_MAX - RDR_TARGETS_MAX);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq(v.n, RDR_TARGETS_MAX);
	ck_assert_int_eq(v.t[RDR_TARGETS_MAX - 1].gw.len, RDR_GW_NAME_MAX);
	ck_assert_int_eq(v.t[RDR_TARGETS_MAX - 1].attrs.len, RDR_GW_ATTRS_MAX);
	free(gw);
	free(attrs);
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

/* the slot of target i: its own buffers, empty gw and attrs */
START_TEST(test_result_slot)
{
	static rdr_result_t res;
	rdr_target_t *t;
	int i;

	memset(&res, 0x5a, sizeof(res));
	for(i = 0; i < RDR_TARGETS_MAX; i++) {
		t = rdr_result_slot(&res, i);
		ck_assert_ptr_eq(t, &res.t[i]);
		ck_assert_ptr_eq(t->uri.s, res.buf[i]);
		ck_assert_int_eq(t->uri.len, 0);
		ck_assert_ptr_eq(t->gw.s, res.gw_buf[i]);
		ck_assert_int_eq(t->gw.len, 0);
		ck_assert_str_eq(t->gw.s, "");
		ck_assert_ptr_eq(t->attrs.s, res.attrs_buf[i]);
		ck_assert_int_eq(t->attrs.len, 0);
		ck_assert_str_eq(t->attrs.s, "");
	}
	t = &res.t[0];
	t->uri.len = snprintf(t->uri.s, RDR_URI_MAX, "@gw");
	ck_assert_int_eq(rdr_target_is_ref(t), 1);
	t->uri.len = snprintf(t->uri.s, RDR_URI_MAX, "sip:h");
	ck_assert_int_eq(rdr_target_is_ref(t), 0);
	t->uri.len = 0;
	ck_assert_int_eq(rdr_target_is_ref(t), 0);
}
END_TEST

/* gateways, resolved and not, and the list flag travel packed; the view's
 * strings are C strings; from the view back into a result of its own */
START_TEST(test_gateways_round_trip)
{
	static rdr_result_t res, back;
	rdr_view_t v;
	str lkey = S("+4930123");
	int len, i;

	fill_mixed(&res, 7);
	res.list = 1;
	ck_assert_int_eq(res.refs, 2);
	len = rdr_result_pack(buf, sizeof(buf), &lkey, 1, &res);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq(v.n, 7);
	ck_assert_int_eq(v.refs, 2);
	ck_assert_int_eq(v.list, 1);
	for(i = 0; i < 7; i++) {
		ck_assert_int_eq(v.t[i].uri.len, res.t[i].uri.len);
		ck_assert_str_eq(v.t[i].uri.s, res.t[i].uri.s);
		ck_assert_int_eq(v.t[i].gw.len, res.t[i].gw.len);
		ck_assert_str_eq(v.t[i].gw.s, res.t[i].gw.s);
		ck_assert_int_eq(v.t[i].attrs.len, res.t[i].attrs.len);
		ck_assert_str_eq(v.t[i].attrs.s, res.t[i].attrs.s);
		ck_assert_int_eq(v.t[i].q, res.t[i].q);
	}
	ck_assert_str_eq(v.t[1].gw.s, "carrierA");
	ck_assert_str_eq(v.t[1].attrs.s, "region=eu;cost=3");
	ck_assert_str_eq(v.t[2].uri.s, "@carrier-B.2");

	memset(&back, 0x5a, sizeof(back));
	rdr_result_from_view(&v, &back);
	ck_assert_int_eq(back.list, 1);
	ck_assert_int_eq(back.key.len, 5);
	ck_assert_ptr_eq(back.key.s, back.key_buf);
	ck_assert_str_eq(back.key.s, "+4930");
	assert_same_targets(&res, &back);

	/* not a list: kept too */
	res.list = 0;
	len = rdr_result_pack(buf, sizeof(buf), &lkey, 1, &res);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq(v.list, 0);
}
END_TEST

/* the one target encoding, with NULs (packed) and without (the cache):
 * written, read back into a result's own buffers, refs counted again */
START_TEST(test_targets_write_read)
{
	static rdr_result_t res, back;
	static char tb[RDR_PACKED_MAX];
	const char *end;
	char *p;
	int nul, size, cut;

	for(nul = 0; nul <= 1; nul++) {
		fill_mixed(&res, 10);
		size = rdr_targets_size(res.t, 10, nul);
		p = rdr_targets_write(tb, res.t, 10, nul);
		ck_assert_int_eq(p - tb, size);
		memset(&back, 0x5a, sizeof(back));
		end = rdr_targets_read(tb, tb + size, 10, nul, &back);
		ck_assert_ptr_eq(end, tb + size);
		assert_same_targets(&res, &back);
		ck_assert_int_eq(back.refs, 4);
		/* fewer than written: reads those */
		end = rdr_targets_read(tb, tb + size, 3, nul, &back);
		ck_assert_ptr_nonnull(end);
		ck_assert_int_eq(back.n, 3);
		ck_assert_int_eq(back.refs, 1);
		/* every truncation is refused */
		for(cut = 0; cut < size; cut++)
			ck_assert_ptr_null(rdr_targets_read(tb, tb + cut, 10, nul, &back));
		/* counts out of bounds */
		ck_assert_ptr_null(rdr_targets_read(tb, tb + size, -1, nul, &back));
		ck_assert_ptr_null(rdr_targets_read(
				tb, tb + size, RDR_TARGETS_MAX + 1, nul, &back));
	}
	/* no targets */
	ck_assert_int_eq(rdr_targets_size(res.t, 0, 1), 0);
	ck_assert_ptr_eq(rdr_targets_read(tb, tb, 0, 1, &back), tb);
	ck_assert_int_eq(back.n, 0);
	ck_assert_int_eq(back.refs, 0);
}
END_TEST

/* a target's header with a gw length over RDR_GW_NAME_MAX, a URI length
 * out of range, a missing NUL after gw or attrs, a refs count that
 * disagrees: refused by the view (and the reader) */
START_TEST(test_hostile_gateways_refused)
{
	static rdr_result_t res, back;
	rdr_view_t v;
	str lkey = S("k");
	const int t0 = (int)sizeof(rdr_packed_hdr_t) + 1 + 5;
	const int gwlen_at = t0 + 2 * (int)sizeof(int);
	int len, ulen, bad;
	short refs;

	/* one resolved gateway "carrierA" with attrs, then a reference */
	fill_mixed(&res, 3);
	res.t[0] = res.t[1];
	res.t[0].uri.s = res.buf[0];
	memcpy(res.buf[0], res.buf[1], res.t[1].uri.len + 1);
	res.t[0].gw.s = res.gw_buf[0];
	memcpy(res.gw_buf[0], res.gw_buf[1], res.t[1].gw.len + 1);
	res.t[0].attrs.s = res.attrs_buf[0];
	memcpy(res.attrs_buf[0], res.attrs_buf[1], res.t[1].attrs.len + 1);
	len = rdr_result_pack(buf, sizeof(buf), &lkey, 1, &res);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	ck_assert_int_eq((unsigned char)buf[gwlen_at], 8);
	ck_assert_int_eq((unsigned char)buf[gwlen_at + 1], 16);

	/* the refs count disagrees */
	memcpy(&refs, buf + offsetof(rdr_packed_hdr_t, refs), sizeof(refs));
	ck_assert_int_eq(refs, 1);
	refs = 0;
	memcpy(buf + offsetof(rdr_packed_hdr_t, refs), &refs, sizeof(refs));
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	refs = 2;
	memcpy(buf + offsetof(rdr_packed_hdr_t, refs), &refs, sizeof(refs));
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	refs = 1;
	memcpy(buf + offsetof(rdr_packed_hdr_t, refs), &refs, sizeof(refs));
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);

	/* a gw length past RDR_GW_NAME_MAX */
	buf[gwlen_at] = (char)(RDR_GW_NAME_MAX + 1);
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	ck_assert_ptr_null(rdr_targets_read(buf + t0, buf + len, 3, 1, &back));
	buf[gwlen_at] = 8;
	ck_assert_ptr_nonnull(rdr_targets_read(buf + t0, buf + len, 3, 1, &back));
	/* lengths shifted by one: a NUL is not where it should be */
	buf[gwlen_at] = 7;
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	buf[gwlen_at] = 8;
	buf[gwlen_at + 1] = 17;
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	buf[gwlen_at + 1] = 16;
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	/* the NUL after the gw, then after the attrs */
	ulen = res.t[0].uri.len;
	buf[gwlen_at + 2 + ulen + 1 + 8] = 'x';
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	buf[gwlen_at + 2 + ulen + 1 + 8] = '\0';
	buf[gwlen_at + 2 + ulen + 1 + 9 + 16] = 'x';
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	buf[gwlen_at + 2 + ulen + 1 + 9 + 16] = '\0';
	ck_assert_int_eq(rdr_result_view(buf, len, &v), 0);
	/* URI lengths out of range */
	bad = 0;
	memcpy(buf + t0, &bad, sizeof(int));
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	bad = RDR_URI_MAX;
	memcpy(buf + t0, &bad, sizeof(int));
	ck_assert_int_eq(rdr_result_view(buf, len, &v), -1);
	bad = -1;
	memcpy(buf + t0, &bad, sizeof(int));
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
	tcase_add_test(tc, test_result_slot);
	tcase_add_test(tc, test_gateways_round_trip);
	tcase_add_test(tc, test_targets_write_read);
	tcase_add_test(tc, test_hostile_gateways_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(result_suite());
}
