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
 * redisroute - unit tests for rdr_slot.c (check framework)
 *
 * The expected slots are what redis-server 7.0 answers to CLUSTER KEYSLOT.
 */

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "test_util.h"

#include "rdr_slot.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct slot_case
{
	const char *key;
	unsigned int slot;
} slot_case_t;

static const slot_case_t slot_cases[] = {
		{"", 0},
		{"foo", 12182},
		{"bar", 5061},
		{"123456789", 12739}, /* the CRC16-XMODEM check value 0x31c3 */
		{"route:+4930", 14640},
		/* hash tags: the first {...} with something inside */
		{"{user1000}.following", 3443},
		{"user1000", 3443},
		{"a{b}c{d}", 3300},
		/* no tag: "{}" is empty, an unclosed '{' is no tag */
		{"a{}b", 13694},
		{"{}", 15257},
		{"a{b", 13340},
		{"{", 4092},
		{"}{x}", 16287},
};

START_TEST(test_key_slot)
{
	const slot_case_t *c = &slot_cases[_i];

	ck_assert_msg(rdr_key_slot(c->key, (int)strlen(c->key)) == c->slot,
			"slot of '%s': %u, expected %u", c->key,
			rdr_key_slot(c->key, (int)strlen(c->key)), c->slot);
}
END_TEST

START_TEST(test_key_slot_len_respected)
{
	/* only len bytes count: "foo" inside a longer buffer, no NUL needed */
	ck_assert_uint_eq(rdr_key_slot("foobar", 3), 12182);
	/* a tag closed only beyond len is no tag */
	ck_assert_uint_eq(rdr_key_slot("a{b}", 3), 13340);
}
END_TEST

START_TEST(test_key_slot_binary)
{
	/* keys are binary: a NUL byte is hashed like any other */
	ck_assert_uint_ne(rdr_key_slot("a\0b", 3), rdr_key_slot("a", 1));
	ck_assert_uint_lt(rdr_key_slot("\xff\xfe", 2), RDR_SLOTS);
}
END_TEST

typedef struct redirect_case
{
	const char *s;
	int kind;
	int slot;
	const char *host;
	int port;
} redirect_case_t;

static const redirect_case_t redirect_cases[] = {
		{"MOVED 3999 127.0.0.1:6381", RDR_REDIRECT_MOVED, 3999, "127.0.0.1",
				6381},
		{"ASK 0 10.0.0.1:7000", RDR_REDIRECT_ASK, 0, "10.0.0.1", 7000},
		{"MOVED 16383 redis-2.example.com:6379", RDR_REDIRECT_MOVED, 16383,
				"redis-2.example.com", 6379},
		/* IPv6 without brackets: the port follows the last colon */
		{"MOVED 1 ::1:7001", RDR_REDIRECT_MOVED, 1, "::1", 7001},
		{"ASK 2 2001:db8::5:6379", RDR_REDIRECT_ASK, 2, "2001:db8::5", 6379},
		/* empty host: the node that answered */
		{"MOVED 5 :7002", RDR_REDIRECT_MOVED, 5, "", 7002},
		/* rejected */
		{"MOVED 16384 h:1", 0, 0, NULL, 0},
		{"MOVED -1 h:1", 0, 0, NULL, 0},
		{"MOVED 1 h:0", 0, 0, NULL, 0},
		{"MOVED 1 h:65536", 0, 0, NULL, 0},
		{"MOVED 1 h:123456", 0, 0, NULL, 0},
		{"MOVED 1 h", 0, 0, NULL, 0},
		{"MOVED 1 h:", 0, 0, NULL, 0},
		{"MOVED 1", 0, 0, NULL, 0},
		{"MOVED  1 h:1", 0, 0, NULL, 0},
		{"MOVED 1 h:1 ", 0, 0, NULL, 0},
		{"MOVED 1 h\r\n:1", 0, 0, NULL, 0},
		{"MOVED 1 [::1]:1", 0, 0, NULL, 0},
		{"MOVED 000001 h:1", 0, 0, NULL, 0},
		{"moved 1 h:1", 0, 0, NULL, 0},
		{"ASKING 1 h:1", 0, 0, NULL, 0},
		{"TRYAGAIN Multiple keys request during rehashing of slot", 0, 0, NULL,
				0},
		{"CLUSTERDOWN The cluster is down", 0, 0, NULL, 0},
		{"", 0, 0, NULL, 0},
};

START_TEST(test_redirect)
{
	const redirect_case_t *c = &redirect_cases[_i];
	char host[64];
	int slot = -7, port = -7;
	int kind = rdr_redirect_parse(
			c->s, (int)strlen(c->s), &slot, host, sizeof(host), &port);

	ck_assert_msg(
			kind == c->kind, "'%s': kind %d, expected %d", c->s, kind, c->kind);
	if(c->kind == 0)
		return;
	ck_assert_int_eq(slot, c->slot);
	ck_assert_str_eq(host, c->host);
	ck_assert_int_eq(port, c->port);
}
END_TEST

START_TEST(test_redirect_host_bound)
{
	char host[8];
	int slot, port;

	/* "1234567" fits 8 bytes with its NUL, "12345678" does not */
	ck_assert_int_eq(rdr_redirect_parse("ASK 1 1234567:1", 15, &slot, host,
							 sizeof(host), &port),
			RDR_REDIRECT_ASK);
	ck_assert_str_eq(host, "1234567");
	ck_assert_int_eq(rdr_redirect_parse("ASK 1 12345678:1", 16, &slot, host,
							 sizeof(host), &port),
			0);
	/* only len bytes are read */
	ck_assert_int_eq(rdr_redirect_parse(
							 "ASK 1 h:12", 9, &slot, host, sizeof(host), &port),
			RDR_REDIRECT_ASK);
	ck_assert_int_eq(port, 1);
	ck_assert_int_eq(rdr_redirect_parse(NULL, 5, &slot, host, 8, &port), 0);
}
END_TEST

static Suite *slot_suite(void)
{
	Suite *s = suite_create("rdr_slot");
	TCase *tc;

	tc = tcase_create("key_slot");
	tcase_add_loop_test(tc, test_key_slot, 0, N(slot_cases));
	tcase_add_test(tc, test_key_slot_len_respected);
	tcase_add_test(tc, test_key_slot_binary);
	suite_add_tcase(s, tc);

	tc = tcase_create("redirect");
	tcase_add_loop_test(tc, test_redirect, 0, N(redirect_cases));
	tcase_add_test(tc, test_redirect_host_bound);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(slot_suite());
}
