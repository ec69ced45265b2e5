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
 * redisroute - unit tests for rdr_syntax.c (check framework): the hex digits,
 * decimal numbers and host names shared by rdr_url.c, rdr_targets.c and
 * rdr_slot.c, the one host rule with its two uses (RDR_HOST_SIP for route
 * targets, RDR_HOST_RESOLVER for Redis hosts), and sip_redirect's reply code
 */

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "test_util.h"

#include "rdr_syntax.h"
#include "rdr_targets.h"
#include "rdr_url.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int name_ok(const char *s, int use)
{
	return rdr_host_name_ok(s, (int)strlen(s), use);
}

static int ipv6_ok(const char *s)
{
	return rdr_host_ipv6_ok(s, (int)strlen(s));
}

/*
 * hex digits and decimal numbers
 */

START_TEST(test_hex_digit)
{
	int c, n = 0;

	for(c = 0; c < 256; c++) {
		int v = rdr_hex_digit(c);
		if(c >= '0' && c <= '9')
			ck_assert_int_eq(v, c - '0');
		else if(c >= 'a' && c <= 'f')
			ck_assert_int_eq(v, c - 'a' + 10);
		else if(c >= 'A' && c <= 'F')
			ck_assert_int_eq(v, c - 'A' + 10);
		else
			ck_assert_int_eq(v, -1);
		n += (v >= 0);
	}
	ck_assert_int_eq(n, 22);
	ck_assert_int_eq(rdr_hex_digit(-1), -1);
}
END_TEST

START_TEST(test_decimal)
{
	ck_assert_int_eq(rdr_decimal("0", 1, 1), 0);
	ck_assert_int_eq(rdr_decimal("5060", 4, 5), 5060);
	ck_assert_int_eq(rdr_decimal("05060", 5, 5), 5060);
	ck_assert_int_eq(rdr_decimal("65535", 5, 5), 65535);
	ck_assert_int_eq(rdr_decimal("999999999", 9, 9), 999999999);
	/* only len bytes are read */
	ck_assert_int_eq(rdr_decimal("12x", 2, 5), 12);
}
END_TEST

typedef struct decimal_bad
{
	const char *s;
	int len; /* -1: strlen(s) */
	int max_digits;
} decimal_bad_t;

static const decimal_bad_t decimal_bad[] = {
		{"", -1, 5},
		{"1", 0, 5},
		{"1", -5, 5},
		{"050600", -1, 5}, /* more digits than max_digits */
		{"1234567890", -1, 9},
		{"1", -1, 10}, /* max_digits above 9 could overflow an int */
		{"+1", -1, 5},
		{"-1", -1, 5},
		{" 1", -1, 5},
		{"1 ", -1, 5},
		{"1a", -1, 5},
		{"0x10", -1, 5},
		{"1\0"
		 "2",
				3, 5},
};

START_TEST(test_decimal_bad)
{
	const decimal_bad_t *c = &decimal_bad[_i];
	int len = c->len == -1 ? (int)strlen(c->s) : c->len;

	ck_assert_msg(rdr_decimal(c->s, len, c->max_digits) == -1,
			"case %d \"%s\" accepted", _i, c->s);
}
END_TEST

/*
 * sip_redirect's reply code
 */

START_TEST(test_code)
{
	ck_assert_int_eq(rdr_code_parse("302", 3), 302);
	ck_assert_int_eq(rdr_code_parse("300", 3), 300);
	ck_assert_int_eq(rdr_code_parse("399", 3), 399);
	ck_assert_int_eq(rdr_code_parse("301", 3), 301);
	/* only len bytes are read */
	ck_assert_int_eq(rdr_code_parse("3020", 3), 302);
}
END_TEST

static const char *const code_bad[] = {"299", "400", "000", "999", "30", "3020",
		"30x", "", " 302", "302 ", "+302", "+30", "-30", "3 2", "0302"};

START_TEST(test_code_bad)
{
	const char *c = code_bad[_i];

	ck_assert_msg(rdr_code_parse(c, (int)strlen(c)) == -1,
			"case %d \"%s\" accepted", _i, c);
}
END_TEST

START_TEST(test_code_len)
{
	ck_assert_int_eq(rdr_code_parse("302", 0), -1);
	ck_assert_int_eq(rdr_code_parse("302", 2), -1);
	ck_assert_int_eq(rdr_code_parse("302", -3), -1);
	ck_assert_int_eq(rdr_code_parse("3\0"
									"2",
							 3),
			-1);
}
END_TEST

/*
 * host names: what both uses accept, and where they part
 */

/* where the two uses agree, and where they part: '_' and the label
 * structure (a SIP host is an RFC 3261/1123 hostname, a Redis host whatever
 * getaddrinfo() may resolve) */
typedef struct name_case
{
	const char *s;
	int sip;	  /* RDR_HOST_SIP accepts it */
	int resolver; /* RDR_HOST_RESOLVER accepts it */
} name_case_t;

static const name_case_t name_cases[] = {
		{"h", 1, 1},
		{"localhost", 1, 1},
		{"127.0.0.1", 1, 1},
		{"redis.example.com", 1, 1},
		{"redis.example.com.", 1, 1}, /* FQDN */
		{"a-b.c-d", 1, 1},
		{"A1.B2", 1, 1},
		{"xn--bcher-kva.example", 1, 1},
		{"0", 1, 1},
		/* SIP refuses, the resolver takes */
		{"my_host-1.local", 0, 1},
		{"project_redis_1", 0, 1},
		{"_redis._tcp.example.com", 0, 1},
		{"-bad.com", 0, 1},
		{"bad.-com", 0, 1},
		{"bad-.com", 0, 1},
		{"host-", 0, 1},
		{"a..b", 0, 1},
		{".a", 0, 1},
		{".", 0, 1},
		{"a..", 0, 1},
		/* no host name for either */
		{"", 0, 0},
		{"h x", 0, 0},
		{"h!x", 0, 0},
		{"h:1", 0, 0},
		{"h/x", 0, 0},
		{"h@x", 0, 0},
		{"h%41", 0, 0},
		{"[::1]", 0, 0},
		{"caf\xc3\xa9.com", 0, 0},
		{"h\r\n", 0, 0},
		{"h\tx", 0, 0},
};

START_TEST(test_names)
{
	const name_case_t *c = &name_cases[_i];

	ck_assert_msg(name_ok(c->s, RDR_HOST_SIP) == c->sip,
			"RDR_HOST_SIP on \"%s\": expected %d", c->s, c->sip);
	ck_assert_msg(name_ok(c->s, RDR_HOST_RESOLVER) == c->resolver,
			"RDR_HOST_RESOLVER on \"%s\": expected %d", c->s, c->resolver);
}
END_TEST

/* only len bytes are read */
START_TEST(test_name_len_respected)
{
	ck_assert_int_eq(rdr_host_name_ok("host_x", 4, RDR_HOST_SIP), 1);
	ck_assert_int_eq(rdr_host_name_ok("host x", 4, RDR_HOST_RESOLVER), 1);
	ck_assert_int_eq(rdr_host_name_ok("host", 0, RDR_HOST_SIP), 0);
	ck_assert_int_eq(rdr_host_name_ok("host", 0, RDR_HOST_RESOLVER), 0);
}
END_TEST

/* SIP: labels of at most 63 characters, names of at most 253; the resolver
 * use leaves lengths to the caller's buffer */
START_TEST(test_name_lengths)
{
	char host[300];
	char *l63 = repeat('a', 63);
	char *l64 = repeat('a', 64);
	char *l255 = repeat('h', RDR_URL_HOST_MAX - 1);
	int i;

	ck_assert_int_eq(name_ok(l63, RDR_HOST_SIP), 1);
	ck_assert_int_eq(name_ok(l64, RDR_HOST_SIP), 0);
	snprintf(host, sizeof(host), "%s.com", l64);
	ck_assert_int_eq(name_ok(host, RDR_HOST_SIP), 0);
	ck_assert_int_eq(name_ok(host, RDR_HOST_RESOLVER), 1);
	ck_assert_int_eq(name_ok(l255, RDR_HOST_SIP), 0);
	ck_assert_int_eq(name_ok(l255, RDR_HOST_RESOLVER), 1);

	for(i = 0; i < 253; i++)
		host[i] = (i % 2) ? '.' : 'a';
	host[253] = '\0';
	ck_assert_int_eq(name_ok(host, RDR_HOST_SIP), 1);
	host[253] = 'b';
	host[254] = '\0';
	ck_assert_int_eq(name_ok(host, RDR_HOST_SIP), 0);
	ck_assert_int_eq(name_ok(host, RDR_HOST_RESOLVER), 1);

	free(l63);
	free(l64);
	free(l255);
}
END_TEST

/* the rule as the callers apply it: rdr_target_build() for SIP, rdr_url_parse()
 * and rdr_hostports_parse() for Redis */
START_TEST(test_name_callers)
{
	char out[RDR_URI_MAX + 1];
	rdr_server_url_t url;
	rdr_hostport_t hp[RDR_SENTINELS_MAX];
	const char *err = NULL;
	const char *in = "redis_1:26379,sentinel-2";

	ck_assert_int_eq(rdr_target_build("gw_1.example.com", 16, "alice", 5, 0,
							 out, sizeof(out)),
			RDR_TGT_BAD_HOST);
	ck_assert_int_eq(rdr_target_build("gw-1.example.com", 16, "alice", 5, 0,
							 out, sizeof(out)),
			(int)strlen("sip:alice@gw-1.example.com"));

	ck_assert_int_eq(rdr_url_parse("redis://redis_1:6380", 20, &url, &err), 0);
	ck_assert_str_eq(url.host, "redis_1");
	ck_assert_int_eq(url.port, 6380);
	ck_assert_int_eq(rdr_hostports_parse(in, (int)strlen(in), 26379, hp,
							 RDR_SENTINELS_MAX, NULL, &err),
			2);
	ck_assert_str_eq(hp[0].host, "redis_1");
	ck_assert_str_eq(hp[1].host, "sentinel-2");
}
END_TEST

/*
 * IPv6 addresses (between the brackets): one rule for both uses
 */

typedef struct ipv6_case
{
	const char *s;
	int ok;
} ipv6_case_t;

static const ipv6_case_t ipv6_cases[] = {
		{"::", 1}, {"::1", 1}, {"2001:db8::1", 1}, {"2001:DB8::A", 1},
		{"::ffff:192.0.2.1", 1}, {"fe80:0:0:0:0:0:0:1", 1},
		{"0000:0000:0000:0000:0000:ffff:192.168.100.200", 1}, /* 45 */
		{"", 0}, {":", 0}, {"1:2", 0}, /* one colon: no IPv6 address */
		{"ab", 0}, {"zz", 0}, {"::g", 0}, {"example.com", 0}, {"::1%eth0", 0},
		{"[::1]", 0}, {" ::1", 0},
		{"0000:0000:0000:0000:0000:ffff:192.168.100.2000", 0}, /* 46 */
};

START_TEST(test_ipv6)
{
	const ipv6_case_t *c = &ipv6_cases[_i];

	ck_assert_msg(ipv6_ok(c->s) == c->ok, "\"%s\": expected %d", c->s, c->ok);
}
END_TEST

START_TEST(test_ipv6_len_respected)
{
	ck_assert_int_eq(rdr_host_ipv6_ok("::1]", 3), 1);
	ck_assert_int_eq(rdr_host_ipv6_ok("::1", 2), 1);
	ck_assert_int_eq(rdr_host_ipv6_ok("::1", 1), 0);
}
END_TEST

static Suite *syntax_suite(void)
{
	Suite *s = suite_create("rdr_syntax");
	TCase *tc;

	tc = tcase_create("numbers");
	tcase_add_test(tc, test_hex_digit);
	tcase_add_test(tc, test_decimal);
	tcase_add_loop_test(tc, test_decimal_bad, 0, N(decimal_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("reply_code");
	tcase_add_test(tc, test_code);
	tcase_add_loop_test(tc, test_code_bad, 0, N(code_bad));
	tcase_add_test(tc, test_code_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("host_names");
	tcase_add_loop_test(tc, test_names, 0, N(name_cases));
	tcase_add_test(tc, test_name_len_respected);
	tcase_add_test(tc, test_name_lengths);
	tcase_add_test(tc, test_name_callers);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv6");
	tcase_add_loop_test(tc, test_ipv6, 0, N(ipv6_cases));
	tcase_add_test(tc, test_ipv6_len_respected);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(syntax_suite());
}
