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
 * redisroute - unit tests for rdr_slot.c (check framework): a cluster
 * lookup's candidate keys grouped by slot, and the answer the lookup takes
 */

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "test_util.h"

#include "rdr_slot.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int group_keys(const char **keys, int nkeys, rdr_cgroup_t *groups)
{
	size_t klens[RDR_CGROUP_KEYS_MAX];
	int i;

	for(i = 0; i < nkeys; i++)
		klens[i] = strlen(keys[i]);
	return rdr_cgroup_by_slot(nkeys, keys, klens, groups);
}

static unsigned int tag_slot(const char *tag)
{
	return rdr_key_slot(tag, (int)strlen(tag));
}

START_TEST(test_group_one_slot)
{
	const char *keys[] = {"{r}4930", "{r}493", "{r}49"};
	rdr_cgroup_t g[RDR_CGROUP_KEYS_MAX];
	int i;

	ck_assert_int_eq(group_keys(keys, N(keys), g), 1);
	ck_assert_uint_eq(g[0].slot, tag_slot("r"));
	ck_assert_int_eq(g[0].nkeys, 3);
	for(i = 0; i < 3; i++) {
		ck_assert_int_eq(g[0].cand[i], i);
		ck_assert_ptr_eq(g[0].keys[i], keys[i]);
		ck_assert_uint_eq(g[0].klens[i], strlen(keys[i]));
	}
}
END_TEST

START_TEST(test_group_several_slots)
{
	/* interleaved: each group in the order of its first key, its keys in
	 * the lookup's order */
	const char *keys[] = {"{a}1", "{b}1", "{a}2", "{c}1", "{b}2", "{a}3"};
	rdr_cgroup_t g[RDR_CGROUP_KEYS_MAX];

	ck_assert_int_eq(group_keys(keys, N(keys), g), 3);
	ck_assert_uint_eq(g[0].slot, tag_slot("a"));
	ck_assert_uint_eq(g[1].slot, tag_slot("b"));
	ck_assert_uint_eq(g[2].slot, tag_slot("c"));
	ck_assert_int_eq(g[0].nkeys, 3);
	ck_assert_int_eq(g[0].cand[0], 0);
	ck_assert_int_eq(g[0].cand[1], 2);
	ck_assert_int_eq(g[0].cand[2], 5);
	ck_assert_ptr_eq(g[0].keys[2], keys[5]);
	ck_assert_int_eq(g[1].nkeys, 2);
	ck_assert_int_eq(g[1].cand[0], 1);
	ck_assert_int_eq(g[1].cand[1], 4);
	ck_assert_ptr_eq(g[1].keys[1], keys[4]);
	ck_assert_int_eq(g[2].nkeys, 1);
	ck_assert_int_eq(g[2].cand[0], 3);
}
END_TEST

START_TEST(test_group_klens)
{
	/* prefix candidates all point into one buffer: only klens bytes count */
	const char *buf = "route:4930";
	const char *keys[] = {buf, buf, buf};
	size_t klens[] = {10, 9, 8};
	rdr_cgroup_t g[RDR_CGROUP_KEYS_MAX];
	int ng, j, i, seen = 0;

	ng = rdr_cgroup_by_slot(3, keys, klens, g);
	for(i = 0; i < 3; i++) {
		unsigned int slot = rdr_key_slot(buf, (int)klens[i]);
		for(j = 0; j < ng && g[j].slot != slot; j++)
			continue;
		ck_assert_int_lt(j, ng);
		seen += g[j].nkeys;
	}
	ck_assert_int_eq(ng, 3); /* "route:4930", "route:493", "route:49" */
	ck_assert_int_eq(seen, 3);
	ck_assert_uint_eq(g[1].klens[0], 9);
}
END_TEST

START_TEST(test_group_none_and_most)
{
	char names[RDR_CGROUP_KEYS_MAX][8];
	const char *keys[RDR_CGROUP_KEYS_MAX];
	rdr_cgroup_t g[RDR_CGROUP_KEYS_MAX];
	int i, j, ng, total = 0;

	ck_assert_int_eq(group_keys(keys, 0, g), 0);
	/* as many keys as a lookup may have: each key once, in its slot's
	 * group, in order */
	for(i = 0; i < RDR_CGROUP_KEYS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "{%d}", i % 20);
		keys[i] = names[i];
	}
	ng = group_keys(keys, RDR_CGROUP_KEYS_MAX, g);
	ck_assert_int_le(ng, 20);
	for(j = 0; j < ng; j++) {
		for(i = 0; i < g[j].nkeys; i++) {
			ck_assert_uint_eq(
					rdr_key_slot(g[j].keys[i], (int)g[j].klens[i]), g[j].slot);
			ck_assert_ptr_eq(g[j].keys[i], keys[g[j].cand[i]]);
			if(i > 0)
				ck_assert_int_lt(g[j].cand[i - 1], g[j].cand[i]);
		}
		total += g[j].nkeys;
	}
	ck_assert_int_eq(total, RDR_CGROUP_KEYS_MAX);
}
END_TEST

/* rdr_cgroup_pick: groups as lists of candidate indexes (ended by -1) */
/* answers; clang-format would spread each over four lines */
/* clang-format off */
#define FOUND(i) {RDR_CGROUP_FOUND, i}
#define NONE {RDR_CGROUP_NONE, -1}
#define FAILED {RDR_CGROUP_FAILED, -1}
/* clang-format on */
#define END -1

typedef struct pick_case
{
	const char *name;
	int ng;
	int cand[4][5];
	rdr_cgroup_answer_t answer[4];
	rdr_cgroup_pick_t want;
} pick_case_t;

static const pick_case_t pick_cases[] = {
		{"one group found", 1, {{0, 1, 2, END}}, {FOUND(1)},
				{RDR_CGROUP_FOUND, 0, 1}},
		{"one group none", 1, {{0, 1, 2, END}}, {NONE},
				{RDR_CGROUP_NONE, 0, -1}},
		{"one group failed", 1, {{0, 1, 2, END}}, {FAILED},
				{RDR_CGROUP_FAILED, 0, -1}},
		{"several groups: the best key wins", 3,
				{{0, 3, END}, {1, 4, END}, {2, END}},
				{FOUND(3), FOUND(1), FOUND(2)}, {RDR_CGROUP_FOUND, 1, 1}},
		{"several groups: the last group holds the best key", 3,
				{{1, 3, END}, {2, 4, END}, {0, END}},
				{FOUND(3), FOUND(2), FOUND(0)}, {RDR_CGROUP_FOUND, 2, 0}},
		{"the best candidate missing: the next one wins", 2,
				{{0, 3, END}, {1, 2, END}}, {NONE, FOUND(2)},
				{RDR_CGROUP_FOUND, 1, 2}},
		{"the best candidate missing, its group finds a worse one", 2,
				{{0, 2, END}, {1, 3, END}}, {FOUND(2), FOUND(3)},
				{RDR_CGROUP_FOUND, 0, 2}},
		{"a better group unavailable: the lookup fails", 2,
				{{0, 2, END}, {1, 3, END}}, {FAILED, FOUND(1)},
				{RDR_CGROUP_FAILED, 0, -1}},
		/* group 1 could hold key 1 or 2, better than group 0's 3 */
		{"a group with a better key than the one found unavailable", 2,
				{{0, 3, END}, {1, 2, END}}, {FOUND(3), FAILED},
				{RDR_CGROUP_FAILED, 1, -1}},
		{"a worse group unavailable: it does not matter", 2,
				{{0, 2, END}, {3, 4, END}}, {FOUND(2), FAILED},
				{RDR_CGROUP_FOUND, 0, 2}},
		{"a worse group unavailable, interleaved", 2,
				{{0, 2, END}, {1, 3, END}}, {FOUND(0), FAILED},
				{RDR_CGROUP_FOUND, 0, 0}},
		{"all none", 3, {{0, 3, END}, {1, END}, {2, 4, END}},
				{NONE, NONE, NONE}, {RDR_CGROUP_NONE, 0, -1}},
		{"none found, one group unavailable", 3,
				{{0, 3, END}, {1, END}, {2, 4, END}}, {NONE, NONE, FAILED},
				{RDR_CGROUP_FAILED, 2, -1}},
		/* the failed group with the best candidate, in whatever order */
		{"all unavailable", 3, {{2, END}, {0, 3, END}, {1, END}},
				{FAILED, FAILED, FAILED}, {RDR_CGROUP_FAILED, 1, -1}},
};

START_TEST(test_pick)
{
	const pick_case_t *c = &pick_cases[_i];
	rdr_cgroup_t groups[4];
	rdr_cgroup_pick_t p;
	int j, k;

	memset(groups, 0, sizeof(groups));
	for(j = 0; j < c->ng; j++)
		for(k = 0; c->cand[j][k] != END; k++)
			groups[j].cand[groups[j].nkeys++] = c->cand[j][k];
	p = rdr_cgroup_pick(c->ng, groups, c->answer);
	ck_assert_msg(p.state == c->want.state && p.group == c->want.group
						  && p.found == c->want.found,
			"%s: state %d group %d found %d, expected %d %d %d", c->name,
			p.state, p.group, p.found, c->want.state, c->want.group,
			c->want.found);
}
END_TEST

START_TEST(test_group_then_pick)
{
	/* a prefix lookup over two slots: "{b}" holds the longest existing
	 * key, "{a}"'s longer candidate does not exist */
	const char *keys[] = {"{a}4930", "{b}493", "{a}49", "{b}4"};
	rdr_cgroup_t g[RDR_CGROUP_KEYS_MAX];
	rdr_cgroup_answer_t a[2] = {FOUND(2), FOUND(1)};
	rdr_cgroup_pick_t p;

	ck_assert_int_eq(group_keys(keys, N(keys), g), 2);
	p = rdr_cgroup_pick(2, g, a);
	ck_assert_int_eq(p.state, RDR_CGROUP_FOUND);
	ck_assert_int_eq(p.group, 1);
	ck_assert_int_eq(p.found, 1);
}
END_TEST

static Suite *cgroup_suite(void)
{
	Suite *s = suite_create("rdr_cgroup");
	TCase *tc;

	tc = tcase_create("by_slot");
	tcase_add_test(tc, test_group_one_slot);
	tcase_add_test(tc, test_group_several_slots);
	tcase_add_test(tc, test_group_klens);
	tcase_add_test(tc, test_group_none_and_most);
	suite_add_tcase(s, tc);

	tc = tcase_create("pick");
	tcase_add_loop_test(tc, test_pick, 0, N(pick_cases));
	tcase_add_test(tc, test_group_then_pick);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cgroup_suite());
}
