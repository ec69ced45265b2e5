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
 * redisroute - unit tests for rdr_targets.c (check framework): what kind of
 * answer the lookup script's reply is, and which raw entries it yields, in
 * order, with a sorted set's scores as q-values; the replies are built by
 * hand, as hiredis would, without a Redis server
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "test_util.h"

#include "rdr_targets.h"

/* the replies of one test: taken from here, never freed */
#define POOL 512
static redisReply pool[POOL];
static redisReply *slots[POOL];
static int npool, nslots;

static redisReply *node(int type)
{
	redisReply *r;

	ck_assert_int_lt(npool, POOL);
	r = &pool[npool++];
	memset(r, 0, sizeof(*r));
	r->type = type;
	return r;
}

static redisReply *S(const char *s)
{
	redisReply *r = node(REDIS_REPLY_STRING);

	r->str = (char *)s;
	r->len = strlen(s);
	return r;
}

static redisReply *I(long long v)
{
	redisReply *r = node(REDIS_REPLY_INTEGER);

	r->integer = v;
	return r;
}

static redisReply *NIL(void)
{
	return node(REDIS_REPLY_NIL);
}

/* an array of the n replies that follow */
static redisReply *A(int n, ...)
{
	redisReply *r = node(REDIS_REPLY_ARRAY);
	va_list ap;
	int i;

	ck_assert_int_le(nslots + n, POOL);
	r->elements = (size_t)n;
	r->element = &slots[nslots];
	va_start(ap, n);
	for(i = 0; i < n; i++)
		slots[nslots++] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

/* the script's answer {type, entries, index} (index 1-based, as Lua's) */
static redisReply *answer(const char *type, redisReply *entries)
{
	return A(3, S(type), entries, I(1));
}

static void setup(void)
{
	npool = nslots = 0;
}

static rdr_reply_kind_t kind(const redisReply *r, int matched, int ncand)
{
	rdr_reply_t it;

	return rdr_reply_open(&it, r, matched, ncand, 8);
}

/* the entries of r, taking every one (accepted stays 0) */
static int entries(const redisReply *r, int max, rdr_reply_entry_t *out)
{
	rdr_reply_t it;
	int n = 0;

	rdr_reply_open(&it, r, 0, 1, max);
	while(n < 64 && rdr_reply_next(&it, 0, &out[n]))
		n++;
	return n;
}

static void assert_entry(const rdr_reply_entry_t *e, const char *s, int q)
{
	if(s == NULL) {
		ck_assert_ptr_null(e->s);
		ck_assert_int_eq(e->len, 0);
	} else {
		ck_assert_int_eq(e->len, (int)strlen(s));
		ck_assert_mem_eq(e->s, s, e->len);
	}
	ck_assert_int_eq(e->q, q);
}

/*
 * kinds
 */

START_TEST(test_kinds)
{
	rdr_reply_t it;

	ck_assert_int_eq(kind(A(1, S("none")), -1, 1), RDR_REPLY_NONE);
	/* 'none' needs no index: matched is not looked at */
	ck_assert_int_eq(kind(A(3, S("none"), A(0), I(1)), -1, 1), RDR_REPLY_NONE);
	ck_assert_int_eq(kind(answer("string", A(1, S("h.example.com"))), 0, 1),
			RDR_REPLY_STRING);
	ck_assert_int_eq(
			kind(answer("list", A(2, S("a"), S("b"))), 0, 1), RDR_REPLY_LIST);
	ck_assert_int_eq(
			kind(answer("zset", A(2, S("a"), S("1"))), 0, 1), RDR_REPLY_ZSET);
	ck_assert_int_eq(rdr_reply_open(&it, answer("hash", A(0)), 0, 1, 8),
			RDR_REPLY_WRONG_TYPE);
	ck_assert_int_eq(it.type_len, 4);
	ck_assert_mem_eq(it.type, "hash", 4);
	ck_assert_int_eq(it.untyped, 0);
	ck_assert_int_eq(
			kind(answer("set", A(1, S("a"))), 0, 1), RDR_REPLY_WRONG_TYPE);
	ck_assert_int_eq(kind(answer("stream", A(0)), 0, 1), RDR_REPLY_WRONG_TYPE);
	/* type names are exact */
	ck_assert_int_eq(
			kind(answer("List", A(1, S("a"))), 0, 1), RDR_REPLY_WRONG_TYPE);
	ck_assert_int_eq(
			kind(answer("lists", A(1, S("a"))), 0, 1), RDR_REPLY_WRONG_TYPE);
	ck_assert_int_eq(
			kind(answer("", A(1, S("a"))), 0, 1), RDR_REPLY_WRONG_TYPE);
	ck_assert_int_eq(kind(A(1, S("nonex")), 0, 1), RDR_REPLY_MALFORMED);
}
END_TEST

/* a route type without entries is no route; an odd sorted set is not empty */
START_TEST(test_empty)
{
	rdr_reply_entry_t e[64];

	ck_assert_int_eq(kind(answer("list", A(0)), 0, 1), RDR_REPLY_EMPTY);
	ck_assert_int_eq(kind(answer("zset", A(0)), 0, 1), RDR_REPLY_EMPTY);
	ck_assert_int_eq(kind(answer("string", A(0)), 0, 1), RDR_REPLY_EMPTY);
	ck_assert_int_eq(kind(answer("zset", A(1, S("a"))), 0, 1), RDR_REPLY_ZSET);
	ck_assert_int_eq(entries(answer("zset", A(1, S("a"))), 8, e), 0);
	ck_assert_int_eq(entries(answer("list", A(0)), 8, e), 0);
	/* the empty string is an entry (rejected later, as empty) */
	ck_assert_int_eq(entries(answer("string", A(1, S(""))), 8, e), 1);
	assert_entry(&e[0], "", -1);
	ck_assert_ptr_nonnull(e[0].s);
}
END_TEST

/*
 * malformed replies
 */

START_TEST(test_malformed_untyped)
{
	redisReply *cases[7];
	rdr_reply_t it;
	int i;

	cases[0] = S("none");
	cases[1] = I(1);
	cases[2] = NIL();
	cases[3] = A(0);
	cases[4] = A(1, I(1));
	cases[5] = A(3, A(0), A(0), I(1));
	cases[6] = A(3, NIL(), A(1, S("a")), I(1));
	for(i = 0; i < 7; i++) {
		ck_assert_int_eq(
				rdr_reply_open(&it, cases[i], 0, 1, 8), RDR_REPLY_MALFORMED);
		ck_assert_int_eq(it.untyped, 1);
		ck_assert_int_eq(rdr_reply_next(&it, 0, &(rdr_reply_entry_t){0}), 0);
	}
}
END_TEST

START_TEST(test_malformed_shape)
{
	redisReply *cases[8];
	rdr_reply_t it;
	int i;

	cases[0] = A(1, S("list"));						  /* missing elements */
	cases[1] = A(2, S("list"), A(1, S("a")));		  /* no index */
	cases[2] = A(3, S("list"), S("a"), I(1));		  /* entries not an array */
	cases[3] = A(3, S("list"), NIL(), I(1));		  /* entries nil */
	cases[4] = A(3, S("list"), A(1, S("a")), S("1")); /* index a string */
	cases[5] = A(3, S("list"), A(1, S("a")), NIL());
	/* a type that holds no route, of the wrong shape, is malformed first */
	cases[6] = A(2, S("hash"), A(0));
	cases[7] = A(3, S("zset"), I(1), A(1, S("a")));
	for(i = 0; i < 8; i++) {
		ck_assert_msg(
				rdr_reply_open(&it, cases[i], 0, 1, 8) == RDR_REPLY_MALFORMED,
				"case %d", i);
		ck_assert_int_eq(it.untyped, 0);
	}
}
END_TEST

/* the matched index, as rdr_conn_eval() or rdr_cluster_eval() passes it:
 * in [0, ncand) */
START_TEST(test_matched_range)
{
	redisReply *r = answer("list", A(1, S("a")));

	ck_assert_int_eq(kind(r, -1, 3), RDR_REPLY_MALFORMED);
	ck_assert_int_eq(kind(r, 3, 3), RDR_REPLY_MALFORMED);
	ck_assert_int_eq(kind(r, 4, 3), RDR_REPLY_MALFORMED);
	ck_assert_int_eq(kind(r, 0, 0), RDR_REPLY_MALFORMED);
	ck_assert_int_eq(kind(r, 0, 3), RDR_REPLY_LIST);
	ck_assert_int_eq(kind(r, 2, 3), RDR_REPLY_LIST);
	/* the reply's own index is not what counts */
	ck_assert_int_eq(
			kind(A(3, S("list"), A(1, S("a")), I(99)), 0, 1), RDR_REPLY_LIST);
	/* nor for a type that holds no route */
	ck_assert_int_eq(kind(answer("hash", A(0)), -1, 1), RDR_REPLY_MALFORMED);
}
END_TEST

/*
 * entries
 */

START_TEST(test_list_entries)
{
	rdr_reply_entry_t e[64];

	ck_assert_int_eq(entries(answer("list", A(3, S("a.example.com"),
													S("sip:b@c"), S("d:5060"))),
							 8, e),
			3);
	assert_entry(&e[0], "a.example.com", -1);
	assert_entry(&e[1], "sip:b@c", -1);
	assert_entry(&e[2], "d:5060", -1);
	ck_assert_int_eq(entries(answer("string", A(1, S("h"))), 8, e), 1);
	assert_entry(&e[0], "h", -1);
}
END_TEST

/* an entry that is not a string is yielded, as such, in its place */
START_TEST(test_not_strings)
{
	rdr_reply_entry_t e[64];

	ck_assert_int_eq(
			entries(answer("list", A(4, S("a"), I(7), NIL(), A(0))), 8, e), 4);
	assert_entry(&e[0], "a", -1);
	assert_entry(&e[1], NULL, -1);
	assert_entry(&e[2], NULL, -1);
	assert_entry(&e[3], NULL, -1);
	ck_assert_int_eq(
			entries(answer("zset", A(4, I(1), S("1"), S("b"), S("0.5"))), 8, e),
			2);
	assert_entry(&e[0], NULL, 1000);
	assert_entry(&e[1], "b", 500);
}
END_TEST

START_TEST(test_zset_scores)
{
	rdr_reply_entry_t e[64];

	ck_assert_int_eq(
			entries(answer("zset", A(10, S("a"), S("1"), S("b"), S("0.5"),
										   S("c"), S("0"), S("d"), S("0.125"),
										   S("e"), S("0.0004"))),
					8, e),
			5);
	assert_entry(&e[0], "a", 1000);
	assert_entry(&e[1], "b", 500);
	assert_entry(&e[2], "c", 0);
	assert_entry(&e[3], "d", 125);
	assert_entry(&e[4], "e", 0);
}
END_TEST

/* a score outside [0, 1], not a number or not a string: the entry is
 * yielded with RDR_REPLY_Q_BAD, and the next ones still are */
START_TEST(test_zset_bad_scores)
{
	rdr_reply_entry_t e[64];
	int i;

	ck_assert_int_eq(
			entries(answer("zset", A(16, S("a"), S("2"), S("b"), S("-0.5"),
										   S("c"), S("1.5"), S("d"), S("x"),
										   S("e"), S(""), S("f"), I(1), S("g"),
										   NIL(), S("h"), S("inf"))),
					8, e),
			8);
	for(i = 0; i < 8; i++) {
		char name[2] = {(char)('a' + i), '\0'};
		assert_entry(&e[i], name, RDR_REPLY_Q_BAD);
	}
	ck_assert_int_eq(
			entries(answer("zset", A(4, S("a"), S("nan"), S("b"), S("1"))), 8,
					e),
			2);
	assert_entry(&e[0], "a", RDR_REPLY_Q_BAD);
	assert_entry(&e[1], "b", 1000);
}
END_TEST

/* a sorted set's odd last element is no entry */
START_TEST(test_zset_odd)
{
	rdr_reply_entry_t e[64];

	ck_assert_int_eq(
			entries(answer("zset", A(3, S("a"), S("1"), S("b"))), 8, e), 1);
	assert_entry(&e[0], "a", 1000);
}
END_TEST

/*
 * bounds: the entries end when max_targets are accepted, whatever was
 * rejected on the way; a reply holds at most the fetch limit itself
 */

START_TEST(test_max_targets)
{
	redisReply *r =
			answer("list", A(5, S("a"), S("b"), S("c"), S("d"), S("e")));
	rdr_reply_entry_t e;
	rdr_reply_t it;
	int accepted = 0, seen = 0;

	/* every entry taken: two of them */
	rdr_reply_open(&it, r, 0, 1, 2);
	while(rdr_reply_next(&it, accepted, &e)) {
		seen++;
		accepted++;
	}
	ck_assert_int_eq(seen, 2);
	/* the first two rejected: four seen to accept two */
	rdr_reply_open(&it, r, 0, 1, 2);
	accepted = seen = 0;
	while(rdr_reply_next(&it, accepted, &e)) {
		if(++seen > 2)
			accepted++;
	}
	ck_assert_int_eq(seen, 4);
	ck_assert_int_eq(accepted, 2);
	assert_entry(&e, "d", -1);
	/* none accepted: all five, then nothing more */
	rdr_reply_open(&it, r, 0, 1, 2);
	seen = 0;
	while(rdr_reply_next(&it, 0, &e))
		seen++;
	ck_assert_int_eq(seen, 5);
	ck_assert_int_eq(rdr_reply_next(&it, 0, &e), 0);
	/* max_targets 0 yields nothing */
	rdr_reply_open(&it, r, 0, 1, 0);
	ck_assert_int_eq(rdr_reply_next(&it, 0, &e), 0);
}
END_TEST

/* the fetch limit's worth of entries, list and sorted set, read to the end */
START_TEST(test_fetch_limit)
{
	static char names[64][4];
	redisReply *list = node(REDIS_REPLY_ARRAY), *zset;
	rdr_reply_entry_t e[64];
	int i, n;

	list->elements = 64;
	list->element = &slots[nslots];
	for(i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "h%d", i);
		slots[nslots++] = S(names[i]);
	}
	n = entries(answer("list", list), 64, e);
	ck_assert_int_eq(n, 64);
	for(i = 0; i < 64; i++)
		assert_entry(&e[i], names[i], -1);
	zset = node(REDIS_REPLY_ARRAY);
	zset->elements = 128;
	zset->element = &slots[nslots];
	for(i = 0; i < 64; i++) {
		slots[nslots++] = S(names[i]);
		slots[nslots++] = S(i % 2 ? "0.5" : "7");
	}
	n = entries(answer("zset", zset), 64, e);
	ck_assert_int_eq(n, 64);
	for(i = 0; i < 64; i++)
		assert_entry(&e[i], names[i], i % 2 ? 500 : RDR_REPLY_Q_BAD);
}
END_TEST

/* route_types' plain commands: GETRANGE, LRANGE, ZREVRANGE WITHSCORES */
static redisReply *ERR(const char *s)
{
	redisReply *r = node(REDIS_REPLY_ERROR);

	r->str = (char *)s;
	r->len = strlen(s);
	return r;
}

static int plain_entries(const redisReply *r, rdr_reply_kind_t type,
		rdr_reply_entry_t *out, rdr_reply_kind_t *kind)
{
	rdr_reply_t it;
	int n = 0;

	*kind = rdr_reply_open_plain(&it, r, type, 8);
	while(n < 64 && rdr_reply_next(&it, 0, &out[n]))
		n++;
	return n;
}

START_TEST(test_plain_kinds)
{
	rdr_reply_entry_t e[64];
	rdr_reply_kind_t k;

	ck_assert_int_eq(
			plain_entries(S("192.0.2.1:5060"), RDR_REPLY_STRING, e, &k), 1);
	ck_assert_int_eq(k, RDR_REPLY_STRING);
	assert_entry(&e[0], "192.0.2.1:5060", -1);
	ck_assert_int_eq(plain_entries(A(2, S("sip:a@x"), S("sip:b@y")),
							 RDR_REPLY_LIST, e, &k),
			2);
	ck_assert_int_eq(k, RDR_REPLY_LIST);
	assert_entry(&e[1], "sip:b@y", -1);
	ck_assert_int_eq(
			plain_entries(A(4, S("sip:a@x"), S("1"), S("sip:b@y"), S("0.5")),
					RDR_REPLY_ZSET, e, &k),
			2);
	ck_assert_int_eq(k, RDR_REPLY_ZSET);
	assert_entry(&e[1], "sip:b@y", 500);
}
END_TEST

/* nothing: a missing key (GETRANGE "" for a string, an empty array for a
 * list or sorted set); another type: WRONGTYPE; else malformed */
START_TEST(test_plain_none_wrong_malformed)
{
	rdr_reply_entry_t e[64];
	rdr_reply_kind_t k;

	ck_assert_int_eq(plain_entries(S(""), RDR_REPLY_STRING, e, &k), 0);
	ck_assert_int_eq(k, RDR_REPLY_NONE);
	ck_assert_int_eq(plain_entries(A(0), RDR_REPLY_LIST, e, &k), 0);
	ck_assert_int_eq(k, RDR_REPLY_NONE);
	ck_assert_int_eq(plain_entries(A(0), RDR_REPLY_ZSET, e, &k), 0);
	ck_assert_int_eq(k, RDR_REPLY_NONE);
	ck_assert_int_eq(plain_entries(ERR("WRONGTYPE Operation against a key "
									   "holding the wrong kind of value"),
							 RDR_REPLY_LIST, e, &k),
			0);
	ck_assert_int_eq(k, RDR_REPLY_WRONG_TYPE);
	/* a string where an array belongs and the reverse, other errors */
	ck_assert_int_eq(plain_entries(S("x"), RDR_REPLY_LIST, e, &k), 0);
	ck_assert_int_eq(k, RDR_REPLY_MALFORMED);
	ck_assert_int_eq(plain_entries(A(1, S("x")), RDR_REPLY_STRING, e, &k), 0);
	ck_assert_int_eq(k, RDR_REPLY_MALFORMED);
	ck_assert_int_eq(plain_entries(ERR("LOADING"), RDR_REPLY_STRING, e, &k), 0);
	ck_assert_int_eq(k, RDR_REPLY_MALFORMED);
	ck_assert_int_eq(plain_entries(NIL(), RDR_REPLY_STRING, e, &k), 0);
	ck_assert_int_eq(k, RDR_REPLY_MALFORMED);
	ck_assert_int_eq(plain_entries(I(1), RDR_REPLY_ZSET, e, &k), 0);
	ck_assert_int_eq(k, RDR_REPLY_MALFORMED);
}
END_TEST

/* a plain LRANGE's entries that are no strings, and max_targets */
START_TEST(test_plain_bounds)
{
	rdr_reply_entry_t e[64];
	rdr_reply_kind_t k;
	rdr_reply_t it;
	int n = 0;

	ck_assert_int_eq(
			plain_entries(A(2, I(7), S("sip:b@y")), RDR_REPLY_LIST, e, &k), 2);
	ck_assert_ptr_null(e[0].s);
	assert_entry(&e[1], "sip:b@y", -1);
	rdr_reply_open_plain(&it, A(3, S("a"), S("b"), S("c")), RDR_REPLY_LIST, 2);
	while(n < 64 && rdr_reply_next(&it, n, &e[n]))
		n++;
	ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(test_route_types_parse)
{
	ck_assert_int_eq(rdr_route_types_parse("any", 3), 0);
	ck_assert_int_eq(rdr_route_types_parse("string", 6), RDR_REPLY_STRING);
	ck_assert_int_eq(rdr_route_types_parse("list", 4), RDR_REPLY_LIST);
	ck_assert_int_eq(rdr_route_types_parse("zset", 4), RDR_REPLY_ZSET);
	ck_assert_int_eq(rdr_route_types_parse("strings", 7), -1);
	ck_assert_int_eq(rdr_route_types_parse("str", 3), -1);
	ck_assert_int_eq(rdr_route_types_parse("", 0), -1);
	ck_assert_int_eq(rdr_route_types_parse("hash", 4), -1);
	ck_assert_int_eq(rdr_route_types_parse("String", 6), -1);
}
END_TEST

/* cache_preload keeps a reply's entries raw (rdr_reply_raw_write) and a
 * lookup reads them back (rdr_reply_open_raw) through rdr_reply_next: the
 * same entries, bad scores and non-strings included, in the same order */
START_TEST(test_raw_round_trip)
{
	static char buf[RDR_FETCH_MAX * (8 + RDR_URI_MAX)];
	rdr_reply_t it, back;
	rdr_reply_entry_t e;
	int n, len;

	setup();
	ck_assert_int_eq(rdr_reply_open(&it,
							 answer("zset", A(6, S("a.example"), S("0.5"),
													S("b.example"), S("7"),
													I(3), S("1"))),
							 0, 1, RDR_FETCH_MAX),
			RDR_REPLY_ZSET);
	len = rdr_reply_raw_write(&it, buf, sizeof(buf), &n);
	ck_assert_int_eq(n, 3);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(rdr_reply_open_raw(&back, RDR_REPLY_ZSET, NULL, 0, buf,
							 len, n, RDR_TARGETS_MAX),
			RDR_REPLY_ZSET);
	ck_assert(rdr_reply_next(&back, 0, &e));
	ck_assert_int_eq(e.len, 9);
	ck_assert(memcmp(e.s, "a.example", 9) == 0);
	ck_assert_int_eq(e.q, 500);
	ck_assert(rdr_reply_next(&back, 1, &e));
	ck_assert_int_eq(e.q, RDR_REPLY_Q_BAD);
	ck_assert(rdr_reply_next(&back, 2, &e));
	ck_assert(e.s == NULL);
	ck_assert_int_eq(e.len, 0);
	ck_assert(!rdr_reply_next(&back, 3, &e));
	/* too small a buffer: refused, not cut */
	ck_assert_int_eq(rdr_reply_open(&it, answer("list", A(1, S("x"))), 0, 1,
							 RDR_FETCH_MAX),
			RDR_REPLY_LIST);
	ck_assert_int_eq(rdr_reply_raw_write(&it, buf, 4, &n), -1);
	/* a block cut short ends the entries, never reads past it */
	ck_assert_int_eq(rdr_reply_open(&it, answer("list", A(1, S("xyz"))), 0, 1,
							 RDR_FETCH_MAX),
			RDR_REPLY_LIST);
	len = rdr_reply_raw_write(&it, buf, sizeof(buf), &n);
	rdr_reply_open_raw(&back, RDR_REPLY_LIST, NULL, 0, buf, len - 1, n, 8);
	ck_assert(!rdr_reply_next(&back, 0, &e));
}
END_TEST

static Suite *reply_suite(void)
{
	Suite *s = suite_create("rdr_reply");
	TCase *tc;

	tc = tcase_create("kinds");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_malformed_untyped);
	tcase_add_test(tc, test_malformed_shape);
	tcase_add_test(tc, test_matched_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("entries");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_list_entries);
	tcase_add_test(tc, test_not_strings);
	tcase_add_test(tc, test_zset_scores);
	tcase_add_test(tc, test_zset_bad_scores);
	tcase_add_test(tc, test_zset_odd);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_max_targets);
	tcase_add_test(tc, test_fetch_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("plain");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_plain_kinds);
	tcase_add_test(tc, test_plain_none_wrong_malformed);
	tcase_add_test(tc, test_plain_bounds);
	tcase_add_test(tc, test_route_types_parse);
	tcase_add_test(tc, test_raw_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(reply_suite());
}
