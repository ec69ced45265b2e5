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
 * redisroute - unit tests for rdr_select.c (check framework): the order of
 * targets of equal priority (as stored, weighted random, weighted
 * rendezvous on the Call-ID) and the q-values that keep it. The shares
 * measured are printed.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "test_util.h"

#include "rdr_select.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define DRAWS 10000
/* a share within 2 percentage points of w / sum */
#define TOLERANCE 0.02

/* a fixed random sequence (splitmix64), so that runs repeat */
static uint64_t rnd_state;

static uint64_t test_rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* n items of prio 0, ids "gw<i>" (or names), weights w */
static void items(
		rdr_select_item_t *it, const char *const *ids, const int *w, int n)
{
	int i;

	for(i = 0; i < n; i++) {
		it[i].prio = 0;
		it[i].weight = w[i];
		it[i].id = ids[i];
		it[i].idlen = (int)strlen(ids[i]);
	}
}

static uint64_t call_seed(int i)
{
	char callid[64];
	int len = snprintf(callid, sizeof(callid), "%08x-%d@192.0.2.%d",
			(unsigned)i * 2654435761u, i, i % 256);

	return rdr_select_seed(callid, len);
}

static void assert_permutation(const int *order, int n)
{
	int seen[RDR_SELECT_MAX] = {0}, i;

	for(i = 0; i < n; i++) {
		ck_assert_int_ge(order[i], 0);
		ck_assert_int_lt(order[i], n);
		ck_assert_int_eq(seen[order[i]], 0);
		seen[order[i]] = 1;
	}
}

START_TEST(test_parse_and_name)
{
	ck_assert_int_eq(rdr_select_parse("order", 5), RDR_SELECT_ORDER);
	ck_assert_int_eq(rdr_select_parse("weight", 6), RDR_SELECT_WEIGHT);
	ck_assert_int_eq(rdr_select_parse("hash", 4), RDR_SELECT_HASH);
	ck_assert_int_eq(rdr_select_parse("Order", 5), -1);
	ck_assert_int_eq(rdr_select_parse("HASH", 4), -1);
	ck_assert_int_eq(rdr_select_parse("orde", 4), -1);
	ck_assert_int_eq(rdr_select_parse("orderx", 6), -1);
	ck_assert_int_eq(rdr_select_parse("hash ", 5), -1);
	ck_assert_int_eq(rdr_select_parse("hash\0", 5), -1);
	ck_assert_int_eq(rdr_select_parse("", 0), -1);
	ck_assert_int_eq(rdr_select_parse("hash", -1), -1);
	ck_assert_int_eq(rdr_select_parse(NULL, 4), -1);
	/* only len bytes */
	ck_assert_int_eq(rdr_select_parse("hashes", 4), RDR_SELECT_HASH);
	ck_assert_str_eq(rdr_select_name(RDR_SELECT_ORDER), "order");
	ck_assert_str_eq(rdr_select_name(RDR_SELECT_WEIGHT), "weight");
	ck_assert_str_eq(rdr_select_name(RDR_SELECT_HASH), "hash");
	ck_assert_str_eq(rdr_select_name(3), "unknown");
	ck_assert_str_eq(rdr_select_name(-1), "unknown");
}
END_TEST

START_TEST(test_seed)
{
	const char *a = "a84b4c76e66710@pc33.atlanta.com";

	ck_assert_uint_eq(rdr_select_seed(a, (int)strlen(a)),
			rdr_select_seed(a, (int)strlen(a)));
	ck_assert_uint_ne(rdr_select_seed(a, (int)strlen(a)),
			rdr_select_seed(a, (int)strlen(a) - 1));
	ck_assert_uint_ne(rdr_select_seed("a", 1), rdr_select_seed("b", 1));
	/* any bytes */
	ck_assert_uint_ne(rdr_select_seed("a\0b", 3), rdr_select_seed("a\0c", 3));
	/* no Call-ID: the empty one's */
	ck_assert_uint_eq(rdr_select_seed(NULL, 5), rdr_select_seed("", 0));
	ck_assert_uint_eq(rdr_select_seed("x", -1), rdr_select_seed("", 0));
}
END_TEST

START_TEST(test_order_identity)
{
	static const char *const ids[] = {"a", "b", "c", "d", "e"};
	static const int w[] = {1, 1000, 500, 3, 1000};
	rdr_select_item_t it[5];
	int order[5], i;

	items(it, ids, w, 5);
	rnd_state = 1;
	rdr_select_order(RDR_SELECT_ORDER, it, 5, 12345, test_rnd, order);
	for(i = 0; i < 5; i++)
		ck_assert_int_eq(order[i], i);
	/* an unknown mode: as stored */
	rdr_select_order(7, it, 5, 12345, test_rnd, order);
	for(i = 0; i < 5; i++)
		ck_assert_int_eq(order[i], i);
	ck_assert_uint_eq(rnd_state, 1);
}
END_TEST

/* runs of equal prio stay where they are; within each, a permutation */
START_TEST(test_runs_in_place)
{
	static const int prio[] = {1000, 1000, 500, 500, 500, 300, 0, 0};
	static const char *const ids[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
	static const int w[] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const int run_start[] = {0, 0, 2, 2, 2, 5, 6, 6};
	static const int run_end[] = {2, 2, 5, 5, 5, 6, 8, 8};
	rdr_select_item_t it[8];
	int order[8], s, i, mode, moved = 0;

	items(it, ids, w, 8);
	for(i = 0; i < 8; i++)
		it[i].prio = prio[i];
	for(mode = RDR_SELECT_WEIGHT; mode <= RDR_SELECT_HASH; mode++) {
		rnd_state = 7;
		for(s = 0; s < 200; s++) {
			rdr_select_order(mode, it, 8, call_seed(s), test_rnd, order);
			assert_permutation(order, 8);
			for(i = 0; i < 8; i++) {
				ck_assert_int_ge(order[i], run_start[i]);
				ck_assert_int_lt(order[i], run_end[i]);
				moved += order[i] != i;
			}
		}
	}
	ck_assert_int_gt(moved, 0);
}
END_TEST

START_TEST(test_hash_stable)
{
	static const char *const ids[] = {
			"carrierA", "carrierB", "carrierC", "sip:x@192.0.2.1"};
	static const int w[] = {50, 30, 20, 10};
	rdr_select_item_t it[4];
	int a[4], b[4], first[24] = {0}, s, kinds = 0, i;

	items(it, ids, w, 4);
	for(s = 0; s < 2000; s++) {
		uint64_t seed = call_seed(s);
		rdr_select_order(RDR_SELECT_HASH, it, 4, seed, NULL, a);
		rdr_select_order(RDR_SELECT_HASH, it, 4, seed, NULL, b);
		ck_assert_mem_eq(a, b, sizeof(a));
		/* hash never calls rnd; weight without rnd is hash */
		rdr_select_order(RDR_SELECT_HASH, it, 4, seed, test_rnd, b);
		ck_assert_mem_eq(a, b, sizeof(a));
		rdr_select_order(RDR_SELECT_WEIGHT, it, 4, seed, NULL, b);
		ck_assert_mem_eq(a, b, sizeof(a));
		first[a[0] * 4 + a[1]]++;
	}
	/* and seeds differ: every (first, second) pair shows up */
	for(i = 0; i < 16; i++)
		kinds += first[i] > 0;
	ck_assert_int_eq(kinds, 12);
}
END_TEST

/* the share of being first over DRAWS seeds (hash) or rnd draws (weight)
 * is w / sum, give or take TOLERANCE */
static void shares(int mode, const int *w, int n, double *got)
{
	static const char *const ids[] = {"carrierA", "carrierB", "carrierC"};
	rdr_select_item_t it[3];
	int order[3], count[3] = {0}, d, i, sum = 0;

	items(it, ids, w, n);
	rnd_state = 42;
	for(d = 0; d < DRAWS; d++) {
		rdr_select_order(mode, it, n, call_seed(d), test_rnd, order);
		count[order[0]]++;
	}
	for(i = 0; i < n; i++)
		sum += w[i];
	printf("  %-6s weights", rdr_select_name(mode));
	for(i = 0; i < n; i++)
		printf(" %d", w[i]);
	printf(": first");
	for(i = 0; i < n; i++) {
		got[i] = (double)count[i] / DRAWS;
		printf(" %.2f%% (w/sum %.2f%%)", 100.0 * got[i], 100.0 * w[i] / sum);
	}
	printf("\n");
	for(i = 0; i < n; i++) {
		double want = (double)w[i] / sum;
		ck_assert_msg(got[i] > want - TOLERANCE && got[i] < want + TOLERANCE,
				"%s: item %d first in %.4f, not %.4f", rdr_select_name(mode), i,
				got[i], want);
	}
}

START_TEST(test_shares)
{
	static const int w2[] = {70, 30}, w3[] = {50, 30, 20};
	int mode = _i == 0 ? RDR_SELECT_HASH : RDR_SELECT_WEIGHT;
	double got[3];

	shares(mode, w2, 2, got);
	shares(mode, w3, 3, got);
}
END_TEST

/* rendezvous: with carrierA gone, a seed whose first was B or C keeps it,
 * and B and C share A's part in proportion to their weights (30:20) */
START_TEST(test_hash_removal)
{
	static const char *const ids[] = {"carrierA", "carrierB", "carrierC"};
	static const int w[] = {50, 30, 20};
	rdr_select_item_t it[3];
	int all[3], rest[2], d, count[2] = {0}, kept = 0;
	double share[2];

	items(it, ids, w, 3);
	for(d = 0; d < DRAWS; d++) {
		uint64_t seed = call_seed(d);
		rdr_select_order(RDR_SELECT_HASH, it, 3, seed, NULL, all);
		rdr_select_order(RDR_SELECT_HASH, it + 1, 2, seed, NULL, rest);
		if(all[0] != 0) {
			ck_assert_int_eq(rest[0] + 1, all[0]);
			kept++;
		}
		/* and the rest keep their relative order */
		ck_assert_int_eq(rest[0] + 1, all[0] != 0 ? all[0] : all[1]);
		count[rest[0]]++;
	}
	share[0] = (double)count[0] / DRAWS;
	share[1] = (double)count[1] / DRAWS;
	printf("  hash   weights 50 30 20, carrierA removed: B first %.2f%% "
		   "(60.00%%), C %.2f%% (40.00%%); %d of %d Call-IDs kept their "
		   "first\n",
			100.0 * share[0], 100.0 * share[1], kept, DRAWS);
	ck_assert(share[0] > 0.6 - TOLERANCE && share[0] < 0.6 + TOLERANCE);
	ck_assert(share[1] > 0.4 - TOLERANCE && share[1] < 0.4 + TOLERANCE);
}
END_TEST

/* a weight outside 1..1000 is the nearest bound */
START_TEST(test_weight_bounds)
{
	static const char *const ids[] = {"a", "b", "c"};
	static const int in[] = {0, -5, 5000}, bounded[] = {1, 1, 1000};
	rdr_select_item_t x[3], y[3];
	int a[3], b[3], s;

	items(x, ids, in, 3);
	items(y, ids, bounded, 3);
	for(s = 0; s < 100; s++) {
		rdr_select_order(RDR_SELECT_HASH, x, 3, call_seed(s), NULL, a);
		rdr_select_order(RDR_SELECT_HASH, y, 3, call_seed(s), NULL, b);
		ck_assert_mem_eq(a, b, sizeof(a));
	}
}
END_TEST

/* equal scores (the same id twice) keep their input order */
START_TEST(test_ties_stable)
{
	static const char *const ids[] = {"same", "same", "same"};
	static const int w[] = {5, 5, 5};
	rdr_select_item_t it[3];
	int order[3], s;

	items(it, ids, w, 3);
	for(s = 0; s < 100; s++) {
		rdr_select_order(RDR_SELECT_HASH, it, 3, call_seed(s), NULL, order);
		ck_assert_int_eq(order[0], 0);
		ck_assert_int_eq(order[1], 1);
		ck_assert_int_eq(order[2], 2);
	}
}
END_TEST

START_TEST(test_bounds)
{
	rdr_select_item_t it[RDR_SELECT_MAX + 1];
	int order[RDR_SELECT_MAX + 1], i, moved = 0;

	for(i = 0; i <= RDR_SELECT_MAX; i++) {
		it[i].prio = 0;
		it[i].weight = 1;
		it[i].id = (const char *)&it[i]; /* distinct bytes */
		it[i].idlen = (int)sizeof(it[i]);
	}
	/* 64: reordered */
	rdr_select_order(RDR_SELECT_HASH, it, RDR_SELECT_MAX, 99, NULL, order);
	assert_permutation(order, RDR_SELECT_MAX);
	for(i = 0; i < RDR_SELECT_MAX; i++)
		moved += order[i] != i;
	ck_assert_int_gt(moved, 0);
	/* 65: as stored */
	rdr_select_order(RDR_SELECT_HASH, it, RDR_SELECT_MAX + 1, 99, NULL, order);
	for(i = 0; i <= RDR_SELECT_MAX; i++)
		ck_assert_int_eq(order[i], i);
	/* nothing, one */
	order[0] = -7;
	rdr_select_order(RDR_SELECT_HASH, it, 0, 99, NULL, order);
	ck_assert_int_eq(order[0], -7);
	rdr_select_order(RDR_SELECT_WEIGHT, it, 1, 99, test_rnd, order);
	ck_assert_int_eq(order[0], 0);
	/* no items: as stored; no order: nothing written */
	rdr_select_order(RDR_SELECT_HASH, NULL, 3, 99, NULL, order);
	for(i = 0; i < 3; i++)
		ck_assert_int_eq(order[i], i);
	rdr_select_order(RDR_SELECT_HASH, it, 3, 99, NULL, NULL);
	/* a NULL id or a negative length is the empty id */
	it[0].id = NULL;
	it[0].idlen = 4;
	it[1].id = "";
	it[1].idlen = 0;
	rdr_select_order(RDR_SELECT_HASH, it, 2, 99, NULL, order);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 1);
}
END_TEST

/*
 * q-values in the chosen order
 */

typedef struct spread_case
{
	int n;
	int in[8];
	int out[8];
} spread_case_t;

static const spread_case_t spread_cases[] = {
		{3, {1000, 1000, 500}, {1000, 750, 500}},
		{2, {1000, 1000}, {1000, 500}},
		{3, {500, 500, 500}, {500, 334, 167}},
		{3, {1000, 999, 999}, {1000, 999, 500}},
		{5, {1000, 800, 800, 800, 200}, {1000, 800, 600, 400, 200}},
		{4, {900, 900, 100, 100}, {900, 500, 100, 50}},
		{1, {700}, {700}},
		{3, {700, 600, 500}, {700, 600, 500}},
		/* no q: left alone */
		{3, {-1, -1, -1}, {-1, -1, -1}},
		{3, {1000, 1000, -1}, {1000, 500, -1}},
		/* nothing between Q and L to spread over */
		{3, {1, 1, 0}, {1, 1, 0}},
		{3, {0, 0, 0}, {0, 0, 0}},
		{4, {3, 3, 3, 2}, {3, 3, 3, 2}},
		/* q out of order: the run still descends, to 0 */
		{3, {500, 500, 700}, {500, 250, 700}},
		{0, {0}, {0}},
};

START_TEST(test_spread_q)
{
	const spread_case_t *c = &spread_cases[_i];
	int q[8], i;

	memcpy(q, c->in, sizeof(q));
	rdr_select_spread_q(q, c->n);
	for(i = 0; i < c->n; i++)
		ck_assert_msg(q[i] == c->out[i], "case %d: q[%d] %d, not %d", _i, i,
				q[i], c->out[i]);
}
END_TEST

/* every run of k equal Q before L: the first keeps Q, all above L */
START_TEST(test_spread_q_runs)
{
	int q[64], k, lo, hi, j;

	for(k = 1; k <= 32; k++) {
		for(hi = 1; hi <= 1000; hi += 37) {
			for(lo = 0; lo < hi; lo += 41) {
				for(j = 0; j < k; j++)
					q[j] = hi;
				q[k] = lo;
				rdr_select_spread_q(q, k + 1);
				ck_assert_int_eq(q[0], hi);
				ck_assert_int_eq(q[k], lo);
				for(j = 1; j < k; j++) {
					ck_assert_int_le(q[j], q[j - 1]);
					ck_assert_int_gt(q[j], lo);
					if(hi - lo >= k)
						ck_assert_int_lt(q[j], q[j - 1]);
				}
			}
		}
	}
	rdr_select_spread_q(NULL, 3);
}
END_TEST

static Suite *select_suite(void)
{
	Suite *s = suite_create("rdr_select");
	TCase *tc;

	tc = tcase_create("order");
	tcase_add_test(tc, test_parse_and_name);
	tcase_add_test(tc, test_seed);
	tcase_add_test(tc, test_order_identity);
	tcase_add_test(tc, test_runs_in_place);
	tcase_add_test(tc, test_hash_stable);
	tcase_add_loop_test(tc, test_shares, 0, 2);
	tcase_add_test(tc, test_hash_removal);
	tcase_add_test(tc, test_weight_bounds);
	tcase_add_test(tc, test_ties_stable);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("q");
	tcase_add_loop_test(tc, test_spread_q, 0, N(spread_cases));
	tcase_add_test(tc, test_spread_q_runs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* the shares are printed from the tests: in order, not buffered away
	 * by check's fork */
	setvbuf(stdout, NULL, _IONBF, 0);
	return run_suite(select_suite());
}
