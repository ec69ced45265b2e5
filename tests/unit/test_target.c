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
 * redisroute - unit tests for rdr_targets.c (check framework)
 *
 * Targets come from Redis and are hostile: every rejection is checked with
 * its exact error code, every acceptance with its exact output and length.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "test_util.h"

#include "rdr_targets.h"

/* out buffers are RDR_URI_MAX + 1 bytes, the size rdr_lookup.c uses */
#define OUT_SIZE (RDR_URI_MAX + 1)

static int build_n(const char *raw, int raw_len, const char *user, int sips,
		char *out, int out_size)
{
	return rdr_target_build(raw, raw_len, user, user ? (int)strlen(user) : 0,
			sips, out, out_size);
}

static int build(const char *raw, const char *user, int sips, char *out)
{
	return build_n(raw, (int)strlen(raw), user, sips, out, OUT_SIZE);
}

/*
 * full sip:/sips: URIs are used as they are
 */

typedef struct full_case
{
	const char *raw;
	const char *user;
	int sips;
} full_case_t;

static const full_case_t full_cases[] = {
		{"sip:bob@example.com", "alice", 0},
		{"sips:bob@example.com:5061;transport=tls", "alice", 0},
		/* the scheme is matched case-insensitively and kept verbatim */
		{"SIP:bob@h", "alice", 0},
		{"Sip:bob@h", NULL, 0},
		{"SIPS:bob@h", NULL, 0},
		{"sIpS:bob@h", NULL, 1},
		/* the R-URI's user and the sips flag do not touch a full URI */
		{"sip:bob@h", "alice", 1},
		{"sip:h", "alice", 0},
		{"sip:[2001:db8::1]:5060", "alice", 0},
		{"sip:bob@192.0.2.10:5060;transport=tcp?subject=x&priority=urgent",
				"alice", 0},
		/* valid escapes, upper and lower case hex */
		{"sip:a%41%2b%2F@h", "alice", 0},
		/* the last three bytes may be an escape */
		{"sip:h%41", NULL, 0},
		{"sip:-_.!~*'();/?:@&=+$,[]", NULL, 0},
};

START_TEST(test_full_uri_verbatim)
{
	const full_case_t *c = &full_cases[_i];
	char out[OUT_SIZE];
	int ret;

	memset(out, 'X', sizeof(out));
	ret = build(c->raw, c->user, c->sips, out);
	ck_assert_int_eq(ret, (int)strlen(c->raw));
	ck_assert_str_eq(out, c->raw);
}
END_TEST

/*
 * bare host, host:port, [ipv6], [ipv6]:port get the R-URI's user and scheme
 */

typedef struct bare_case
{
	const char *raw;
	const char *user;
	int sips;
	const char *expect;
} bare_case_t;

static const bare_case_t bare_cases[] = {
		{"192.0.2.10:5060", "alice", 0, "sip:alice@192.0.2.10:5060"},
		{"192.0.2.10:5060", "alice", 1, "sips:alice@192.0.2.10:5060"},
		{"192.0.2.10", "alice", 0, "sip:alice@192.0.2.10"},
		{"192.0.2.10", "", 0, "sip:192.0.2.10"},
		{"192.0.2.10", NULL, 0, "sip:192.0.2.10"},
		{"192.0.2.10", "", 1, "sips:192.0.2.10"},
		{"proxy.example.com", "bob", 0, "sip:bob@proxy.example.com"},
		{"Proxy-1.Example.COM:5080", "bob", 0,
				"sip:bob@Proxy-1.Example.COM:5080"},
		/* FQDN with its trailing dot */
		{"example.com.", "bob", 0, "sip:bob@example.com."},
		{"localhost", "bob", 0, "sip:bob@localhost"},
		{"h:1", "bob", 0, "sip:bob@h:1"},
		{"h:65535", "bob", 0, "sip:bob@h:65535"},
		{"h:05060", "bob", 0, "sip:bob@h:05060"},
		{"[2001:db8::1]", "alice", 0, "sip:alice@[2001:db8::1]"},
		{"[2001:db8::1]:5060", "alice", 0, "sip:alice@[2001:db8::1]:5060"},
		{"[::1]:5070", "", 1, "sips:[::1]:5070"},
		{"[::1]", NULL, 0, "sip:[::1]"},
		{"[::ffff:192.0.2.1]:5060", "alice", 0,
				"sip:alice@[::ffff:192.0.2.1]:5060"},
		{"[2001:DB8:0:0:0:0:0:1]", "alice", 0,
				"sip:alice@[2001:DB8:0:0:0:0:0:1]"},
		/* users with characters RFC 3261 allows in the user part */
		{"h", "+15551234567;npdi", 0, "sip:+15551234567;npdi@h"},
		{"h", "a%20b", 0, "sip:a%20b@h"},
		{"h", "user:password", 0, "sip:user:password@h"},
};

START_TEST(test_bare_target)
{
	const bare_case_t *c = &bare_cases[_i];
	char out[OUT_SIZE];
	int ret;

	memset(out, 'X', sizeof(out));
	ret = build(c->raw, c->user, c->sips, out);
	ck_assert_int_eq(ret, (int)strlen(c->expect));
	ck_assert_str_eq(out, c->expect);
}
END_TEST

/* a negative length or a NULL user with a length means "no user" */
START_TEST(test_bare_user_missing)
{
	char out[OUT_SIZE];
	int ret;

	ret = rdr_target_build("h:5060", 6, "alice", -1, 0, out, sizeof(out));
	ck_assert_int_eq(ret, 10);
	ck_assert_str_eq(out, "sip:h:5060");

	ret = rdr_target_build("h:5060", 6, NULL, 5, 1, out, sizeof(out));
	ck_assert_int_eq(ret, 11);
	ck_assert_str_eq(out, "sips:h:5060");

	/* only user_len bytes of the user are used */
	ret = rdr_target_build("h", 1, "alice>junk", 5, 0, out, sizeof(out));
	ck_assert_int_eq(ret, 11);
	ck_assert_str_eq(out, "sip:alice@h");
}
END_TEST

/* only raw_len bytes of the target are read */
START_TEST(test_raw_len_respected)
{
	char out[OUT_SIZE];
	int ret;

	ret = rdr_target_build(
			"sip:bob@h\r\nX: y", 9, NULL, 0, 0, out, sizeof(out));
	ck_assert_int_eq(ret, 9);
	ck_assert_str_eq(out, "sip:bob@h");

	ret = rdr_target_build("h:5060 junk", 6, "al", 2, 0, out, sizeof(out));
	ck_assert_int_eq(ret, 13);
	ck_assert_str_eq(out, "sip:al@h:5060");
}
END_TEST

/*
 * rejections, each with its exact error code
 */

typedef struct reject_case
{
	const char *raw;
	int len; /* -1: strlen(raw) */
	const char *user;
	int err;
} reject_case_t;

static const reject_case_t reject_cases[] = {
		/* empty */
		{"", -1, "alice", RDR_TGT_EMPTY},
		{NULL, 5, "alice", RDR_TGT_EMPTY},
		{"sip:a@h", 0, "alice", RDR_TGT_EMPTY},
		{"sip:a@h", -3, "alice", RDR_TGT_EMPTY},
		/* forbidden characters: CR, LF, header injection */
		{"sip:a@b\r", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@b\n", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@b\r\nX: y", -1, "alice", RDR_TGT_BAD_CHAR},
		{"\r\n", -1, "alice", RDR_TGT_BAD_CHAR},
		{"h\r\nX: y", -1, "alice", RDR_TGT_BAD_CHAR},
		{"h:5060\n", -1, "alice", RDR_TGT_BAD_CHAR},
		/* space, tab and other controls */
		{"sip:a b@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{" h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"h ", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@h\t", -1, "alice", RDR_TGT_BAD_CHAR},
		{"h\tx", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@h\x01", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@h\x1b", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@h\x7f", -1, "alice", RDR_TGT_BAD_CHAR},
		/* NUL byte inside */
		{"sip:a\0b@h", 9, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@h\0", 8, "alice", RDR_TGT_BAD_CHAR},
		{"ho\0st", 5, "alice", RDR_TGT_BAD_CHAR},
		/* non-ASCII */
		{"sip:caf\xc3\xa9@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"\xc3", -1, "alice", RDR_TGT_BAD_CHAR},
		{"caf\xc3\xa9.com", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@h\xff", -1, "alice", RDR_TGT_BAD_CHAR},
		/* characters that break out of a Contact header */
		{"sip:a@h>", -1, "alice", RDR_TGT_BAD_CHAR},
		{"<sip:a@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a@h>;q=1, <sip:evil@x", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:\"a\"@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"\"h\"", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a\\b@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a{b}@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a|b@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a^b@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a`b@h", -1, "alice", RDR_TGT_BAD_CHAR},
		{"sip:a#b@h", -1, "alice", RDR_TGT_BAD_CHAR},
		/* bad %-escapes */
		{"sip:a%2@h", -1, "alice", RDR_TGT_BAD_ESCAPE},
		{"sip:a%@h", -1, "alice", RDR_TGT_BAD_ESCAPE},
		{"sip:a%zz@h", -1, "alice", RDR_TGT_BAD_ESCAPE},
		{"sip:a%g1@h", -1, "alice", RDR_TGT_BAD_ESCAPE},
		{"sip:a@h%", -1, "alice", RDR_TGT_BAD_ESCAPE},
		{"sip:a@h%4", -1, "alice", RDR_TGT_BAD_ESCAPE},
		{"sip:a%%41@h", -1, "alice", RDR_TGT_BAD_ESCAPE},
		/* a scheme and nothing after it */
		{"sip:", -1, "alice", RDR_TGT_BAD_URI},
		{"sips:", -1, "alice", RDR_TGT_BAD_URI},
		{"SIP:", -1, "alice", RDR_TGT_BAD_URI},
		{"SiPs:", -1, "alice", RDR_TGT_BAD_URI},
		/* bad ports */
		{"h:0", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:00000", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:65536", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:99999", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:abc", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:50a", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:-1", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:+5060", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:", -1, "alice", RDR_TGT_BAD_PORT},
		{"192.0.2.10:", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:123456", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:050600", -1, "alice", RDR_TGT_BAD_PORT},
		{"h:5060;transport=tcp", -1, "alice", RDR_TGT_BAD_PORT},
		{"[::1]:", -1, "alice", RDR_TGT_BAD_PORT},
		{"[::1]:0", -1, "alice", RDR_TGT_BAD_PORT},
		{"[::1]:65536", -1, "alice", RDR_TGT_BAD_PORT},
		{"[::1]:123456", -1, "alice", RDR_TGT_BAD_PORT},
		{"[::1]:abc", -1, "alice", RDR_TGT_BAD_PORT},
		/* unbracketed IPv6 */
		{"::1:5060", -1, "alice", RDR_TGT_BAD_HOST},
		{"::1", -1, "alice", RDR_TGT_BAD_HOST},
		{"2001:db8::1", -1, "alice", RDR_TGT_BAD_HOST},
		{"2001:db8::1:5060", -1, "alice", RDR_TGT_BAD_HOST},
		{"h:5060:1", -1, "alice", RDR_TGT_BAD_HOST},
		/* bad bracketed IPv6 */
		{"[::1", -1, "alice", RDR_TGT_BAD_HOST},
		{"[]", -1, "alice", RDR_TGT_BAD_HOST},
		{"[:]", -1, "alice", RDR_TGT_BAD_HOST},
		{"[1:2]", -1, "alice", RDR_TGT_BAD_HOST},
		{"[zz]", -1, "alice", RDR_TGT_BAD_HOST},
		{"[::g]", -1, "alice", RDR_TGT_BAD_HOST},
		{"[example.com]", -1, "alice", RDR_TGT_BAD_HOST},
		{"[::1]x", -1, "alice", RDR_TGT_BAD_HOST},
		{"[::1]]", -1, "alice", RDR_TGT_BAD_HOST},
		{"[::1]5060", -1, "alice", RDR_TGT_BAD_HOST},
		/* bad host names */
		{"-bad.com", -1, "alice", RDR_TGT_BAD_HOST},
		{"bad.-com", -1, "alice", RDR_TGT_BAD_HOST},
		{"bad-.com", -1, "alice", RDR_TGT_BAD_HOST},
		{"a..b", -1, "alice", RDR_TGT_BAD_HOST},
		{".a", -1, "alice", RDR_TGT_BAD_HOST},
		{".", -1, "alice", RDR_TGT_BAD_HOST},
		{"a..", -1, "alice", RDR_TGT_BAD_HOST},
		{"bob@host", -1, "alice", RDR_TGT_BAD_HOST},
		{"bob@host:5060", -1, "alice", RDR_TGT_BAD_HOST},
		{"host_x", -1, "alice", RDR_TGT_BAD_HOST},
		{"host;transport=tcp", -1, "alice", RDR_TGT_BAD_HOST},
		{"host/path", -1, "alice", RDR_TGT_BAD_HOST},
		{"host?x=y", -1, "alice", RDR_TGT_BAD_HOST},
		{"host%41", -1, "alice", RDR_TGT_BAD_HOST},
		{":5060", -1, "alice", RDR_TGT_BAD_HOST},
		/* other schemes are not host:port */
		{"tel:+15551234567", -1, "alice", RDR_TGT_BAD_PORT},
		{"http://h", -1, "alice", RDR_TGT_BAD_PORT},
		{"sipx:h", -1, "alice", RDR_TGT_BAD_PORT},
		{"si:h", -1, "alice", RDR_TGT_BAD_PORT},
};

START_TEST(test_reject)
{
	const reject_case_t *c = &reject_cases[_i];
	char out[OUT_SIZE];
	int len, ret;

	len = c->len;
	if(len == -1)
		len = (int)strlen(c->raw);
	ret = build_n(c->raw, len, c->user, 0, out, sizeof(out));
	ck_assert_msg(ret == c->err, "case %d: expected %d (%s), got %d (%s)", _i,
			c->err, rdr_target_strerror(c->err), ret, rdr_target_strerror(ret));
}
END_TEST

/* A host label must not end with '-' (RFC 1123 2.1, RFC 3261 hostname
 * grammar). The check exists for labels followed by a '.' ("bad-.com"),
 * and must hold for the last label as well. */
START_TEST(test_reject_last_label_hyphen)
{
	char out[OUT_SIZE];

	ck_assert_int_eq(build("host-", "alice", 0, out), RDR_TGT_BAD_HOST);
	ck_assert_int_eq(build("host-:5060", "alice", 0, out), RDR_TGT_BAD_HOST);
	ck_assert_int_eq(build("example.com-", "alice", 0, out), RDR_TGT_BAD_HOST);
}
END_TEST

/* labels of at most 63 characters, names of at most 253 */
START_TEST(test_host_lengths)
{
	char out[OUT_SIZE];
	char host[300];
	char *l63 = repeat('a', 63);
	char *l64 = repeat('a', 64);
	int i;

	ck_assert_int_eq(build(l63, "", 0, out), 4 + 63);
	snprintf(host, sizeof(host), "%s.com", l63);
	ck_assert_int_eq(build(host, "", 0, out), 4 + 67);
	ck_assert_int_eq(build(l64, "", 0, out), RDR_TGT_BAD_HOST);
	snprintf(host, sizeof(host), "%s.com", l64);
	ck_assert_int_eq(build(host, "", 0, out), RDR_TGT_BAD_HOST);

	/* 127 x "a." minus the last dot: 253 characters */
	for(i = 0; i < 253; i++)
		host[i] = (i % 2) ? '.' : 'a';
	host[253] = '\0';
	ck_assert_int_eq(build(host, "", 0, out), 4 + 253);
	host[253] = 'b';
	host[254] = '\0';
	ck_assert_int_eq(build(host, "", 0, out), RDR_TGT_BAD_HOST);

	free(l63);
	free(l64);
}
END_TEST

/*
 * length limits: out holds RDR_URI_MAX bytes plus the NUL, but Kamailio takes
 * URIs of at most MAX_URI_SIZE - 1 bytes (core/dset.c, append_branch():
 * "too long uri" when len > MAX_URI_SIZE - 1), so a target of exactly
 * RDR_URI_MAX bytes must be refused here rather than break the whole
 * destination set later.
 */

START_TEST(test_uri_max_rejected)
{
	char out[OUT_SIZE];
	char big[2 * RDR_URI_MAX];
	char *raw = repeat('a', RDR_URI_MAX);
	char *user;

	memcpy(raw, "sip:", 4);
	ck_assert_int_eq(build_n(raw, RDR_URI_MAX, NULL, 0, out, sizeof(out)),
			RDR_TGT_TOO_LONG);
	ck_assert_int_eq(build_n(raw, RDR_URI_MAX, NULL, 0, big, sizeof(big)),
			RDR_TGT_TOO_LONG);
	memcpy(raw, "sips:", 5);
	ck_assert_int_eq(build_n(raw, RDR_URI_MAX, NULL, 0, out, sizeof(out)),
			RDR_TGT_TOO_LONG);
	free(raw);

	/* bare host: "sip:" + user + "@h" is exactly RDR_URI_MAX bytes */
	user = repeat('u', RDR_URI_MAX - 6);
	ck_assert_int_eq(build("h", user, 0, out), RDR_TGT_TOO_LONG);
	ck_assert_int_eq(
			build_n("h", 1, user, 0, big, sizeof(big)), RDR_TGT_TOO_LONG);
	/* sips: is one byte longer */
	ck_assert_int_eq(build("h", user + 1, 1, out), RDR_TGT_TOO_LONG);
	free(user);
}
END_TEST

START_TEST(test_full_uri_length_limit)
{
	char out[OUT_SIZE];
	char *raw = repeat('a', RDR_URI_MAX + 1);
	int ret;

	memcpy(raw, "sip:", 4);

	/* RDR_URI_MAX - 1 bytes: accepted, copied whole */
	memset(out, 'X', sizeof(out));
	ret = build_n(raw, RDR_URI_MAX - 1, NULL, 0, out, sizeof(out));
	ck_assert_int_eq(ret, RDR_URI_MAX - 1);
	ck_assert_int_eq((int)strlen(out), RDR_URI_MAX - 1);
	ck_assert_mem_eq(out, raw, RDR_URI_MAX - 1);

	/* RDR_URI_MAX + 1 bytes (what the fetch script cuts longer entries
	 * to): too long */
	ret = build_n(raw, RDR_URI_MAX + 1, NULL, 0, out, sizeof(out));
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);

	free(raw);
}
END_TEST

/* a larger out buffer does not raise the limit */
START_TEST(test_length_limit_big_buffer)
{
	char out[4 * RDR_URI_MAX];
	char *raw = repeat('a', 3 * RDR_URI_MAX);
	int ret;

	memcpy(raw, "sip:", 4);
	ret = build_n(raw, RDR_URI_MAX + 1, NULL, 0, out, sizeof(out));
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
	ret = build_n(raw, 3 * RDR_URI_MAX, NULL, 0, out, sizeof(out));
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
	ret = build_n(raw, RDR_URI_MAX - 1, NULL, 0, out, sizeof(out));
	ck_assert_int_eq(ret, RDR_URI_MAX - 1);
	ck_assert_int_eq((int)strlen(out), RDR_URI_MAX - 1);

	/* bare host: a user that makes the URI RDR_URI_MAX + 1 bytes long */
	raw[RDR_URI_MAX - 5] = '\0';
	ret = build_n("h", 1, raw, 0, out, sizeof(out));
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
	free(raw);
}
END_TEST

/* a small out buffer is never overrun */
START_TEST(test_small_buffer)
{
	char out[32];
	int ret;

	memset(out, 'X', sizeof(out));
	ret = build_n("sip:bob@host", 12, NULL, 0, out, 12);
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
	ck_assert_int_eq(out[12], 'X');
	ret = build_n("sip:bob@host", 12, NULL, 0, out, 13);
	ck_assert_int_eq(ret, 12);
	ck_assert_str_eq(out, "sip:bob@host");

	/* "sip:alice@h" is 11 bytes: needs 12 */
	memset(out, 'X', sizeof(out));
	ret = build_n("h", 1, "alice", 0, out, 11);
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
	ck_assert_int_eq(out[11], 'X');
	ret = build_n("h", 1, "alice", 0, out, 12);
	ck_assert_int_eq(ret, 11);
	ck_assert_str_eq(out, "sip:alice@h");

	ret = build_n("h", 1, NULL, 0, out, 0);
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
}
END_TEST

/* a bare host whose URI goes over the limit because of a long user */
START_TEST(test_bare_long_user)
{
	char out[OUT_SIZE];
	char *user;
	int ret;

	/* "sip:" + user + "@" + "h": 6 + user */
	user = repeat('u', RDR_URI_MAX - 6 - 1);
	memset(out, 'X', sizeof(out));
	ret = build("h", user, 0, out);
	ck_assert_int_eq(ret, RDR_URI_MAX - 1);
	ck_assert_int_eq((int)strlen(out), RDR_URI_MAX - 1);
	ck_assert_int_eq(strncmp(out, "sip:uuu", 7), 0);
	ck_assert_str_eq(out + RDR_URI_MAX - 3, "@h");
	free(user);

	user = repeat('u', RDR_URI_MAX - 5);
	ck_assert_int_eq(build("h", user, 0, out), RDR_TGT_TOO_LONG);
	ck_assert_int_eq(build("h", user + 1, 1, out), RDR_TGT_TOO_LONG);
	free(user);

	user = repeat('u', 1020);
	ck_assert_int_eq(build("192.0.2.10:5060", user, 0, out), RDR_TGT_TOO_LONG);
	ck_assert_int_eq(build("[2001:db8::1]", user, 1, out), RDR_TGT_TOO_LONG);
	free(user);

	user = repeat('u', 5000);
	ck_assert_int_eq(build("h", user, 0, out), RDR_TGT_TOO_LONG);
	free(user);
}
END_TEST

/* the user comes from the SIP message and is hostile as well */
typedef struct user_case
{
	const char *user;
	int len; /* -1: strlen(user) */
	int err;
} user_case_t;

static const user_case_t user_cases[] = {
		{"alice\r\nX: y", -1, RDR_TGT_BAD_CHAR},
		{"\r\n", -1, RDR_TGT_BAD_CHAR},
		{"alice\n", -1, RDR_TGT_BAD_CHAR},
		{"alice>", -1, RDR_TGT_BAD_CHAR},
		{"a>;q=1, <sip:evil", -1, RDR_TGT_BAD_CHAR},
		{"<alice", -1, RDR_TGT_BAD_CHAR},
		{"\"alice\"", -1, RDR_TGT_BAD_CHAR},
		{"al ice", -1, RDR_TGT_BAD_CHAR},
		{"al\tice", -1, RDR_TGT_BAD_CHAR},
		{"al\0ice", 6, RDR_TGT_BAD_CHAR},
		{"caf\xc3\xa9", -1, RDR_TGT_BAD_CHAR},
		{"a%2", -1, RDR_TGT_BAD_ESCAPE},
		{"a%zz", -1, RDR_TGT_BAD_ESCAPE},
		{"a%", -1, RDR_TGT_BAD_ESCAPE},
};

START_TEST(test_hostile_user)
{
	const user_case_t *c = &user_cases[_i];
	char out[OUT_SIZE];
	int len, ret;

	len = c->len == -1 ? (int)strlen(c->user) : c->len;
	ret = rdr_target_build(
			"192.0.2.10:5060", 15, c->user, len, 0, out, sizeof(out));
	ck_assert_msg(
			ret == c->err, "case %d: expected %d, got %d", _i, c->err, ret);
	ret = rdr_target_build("[::1]", 5, c->user, len, 1, out, sizeof(out));
	ck_assert_msg(ret == c->err, "case %d (v6): expected %d, got %d", _i,
			c->err, ret);
}
END_TEST

/*
 * rdr_target_strerror
 */

START_TEST(test_strerror)
{
	static const int errs[] = {RDR_TGT_EMPTY, RDR_TGT_TOO_LONG,
			RDR_TGT_BAD_CHAR, RDR_TGT_BAD_HOST, RDR_TGT_BAD_PORT,
			RDR_TGT_BAD_URI, RDR_TGT_BAD_ESCAPE};
	static const int unknown[] = {0, 1, -8, -100, 12345};
	int n = (int)(sizeof(errs) / sizeof(errs[0]));
	int i, j;

	for(i = 0; i < n; i++) {
		const char *s = rdr_target_strerror(errs[i]);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_gt((int)strlen(s), 0);
		/* each code has its own text, not the fallback */
		ck_assert_str_ne(s, rdr_target_strerror(-100));
		for(j = 0; j < i; j++)
			ck_assert_str_ne(s, rdr_target_strerror(errs[j]));
	}
	for(i = 0; i < (int)(sizeof(unknown) / sizeof(unknown[0])); i++) {
		const char *s = rdr_target_strerror(unknown[i]);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_gt((int)strlen(s), 0);
	}
}
END_TEST

/*
 * q-values
 */

typedef struct q_case
{
	const char *s;
	int q;
} q_case_t;

static const q_case_t q_cases[] = {
		{"1", 1000},
		{"0", 0},
		{"0.5", 500},
		{"0.80000000000000004", 800},
		{"0.1234", 123},
		{"0.9999", 1000},
		{"0.001", 1},
		{"0.0001", 0},
		{"1.0", 1000},
		{"1.000", 1000},
		{"0.0", 0},
		{".5", 500},
		{"1e0", 1000},
		{"5e-1", 500},
		{"1.0001", -1},
		{"1.5", -1},
		{"2", -1},
		{"-0.1", -1},
		{"-1", -1},
		{"nan", -1},
		{"NaN", -1},
		{"-nan", -1},
		{"inf", -1},
		{"-inf", -1},
		{"+inf", -1},
		{"infinity", -1},
		{"", -1},
		{"abc", -1},
		{"0.5x", -1},
		{"0.5 ", -1},
		{"x0.5", -1},
		{".", -1},
		{"1e", -1},
};

START_TEST(test_qvalue_parse)
{
	const q_case_t *c = &q_cases[_i];

	ck_assert_msg(rdr_qvalue_parse(c->s, (int)strlen(c->s)) == c->q,
			"\"%s\": expected %d, got %d", c->s, c->q,
			rdr_qvalue_parse(c->s, (int)strlen(c->s)));
}
END_TEST

START_TEST(test_qvalue_parse_edges)
{
	char *s;

	ck_assert_int_eq(rdr_qvalue_parse(NULL, 3), -1);
	ck_assert_int_eq(rdr_qvalue_parse("0.5", 0), -1);
	ck_assert_int_eq(rdr_qvalue_parse("0.5", -1), -1);

	/* only len bytes are read */
	ck_assert_int_eq(rdr_qvalue_parse("0.5abc", 3), 500);
	ck_assert_int_eq(rdr_qvalue_parse("0.25", 3), 200);
	ck_assert_int_eq(rdr_qvalue_parse("1x", 1), 1000);

	/* a 100-character string is refused */
	s = repeat('0', 100);
	s[1] = '.';
	s[2] = '5';
	ck_assert_int_eq(rdr_qvalue_parse(s, 100), -1);
	free(s);
	s = repeat('x', 100);
	ck_assert_int_eq(rdr_qvalue_parse(s, 100), -1);
	free(s);
}
END_TEST

typedef struct qf_case
{
	int q;
	const char *s;
} qf_case_t;

static const qf_case_t qf_cases[] = {
		{1000, "1"},
		{0, "0"},
		{500, "0.5"},
		{800, "0.8"},
		{125, "0.125"},
		{100, "0.1"},
		{10, "0.01"},
		{1, "0.001"},
		{999, "0.999"},
		{990, "0.99"},
		{900, "0.9"},
		{101, "0.101"},
		{110, "0.11"},
		{-1, "0"},
		{-1000, "0"},
		{1001, "1"},
		{100000, "1"},
};

START_TEST(test_qvalue_format)
{
	const qf_case_t *c = &qf_cases[_i];
	char out[16];
	int ret;

	memset(out, 'X', sizeof(out));
	ret = rdr_qvalue_format(c->q, out);
	ck_assert_int_eq(ret, (int)strlen(c->s));
	ck_assert_str_eq(out, c->s);
	/* out needs no more than 6 bytes */
	ck_assert_int_eq(out[6], 'X');
}
END_TEST

/* every q-value survives format then parse */
START_TEST(test_qvalue_roundtrip)
{
	char out[6];
	int q, len;

	for(q = 0; q <= 1000; q++) {
		len = rdr_qvalue_format(q, out);
		ck_assert_int_eq(len, (int)strlen(out));
		ck_assert_int_le(len, 5);
		ck_assert_msg(rdr_qvalue_parse(out, len) == q, "q %d -> \"%s\" -> %d",
				q, out, rdr_qvalue_parse(out, len));
	}
}
END_TEST

/* the documented list scheme: exact values, strictly descending, above 0 */
START_TEST(test_list_qvalue)
{
	int i, n;
	char out[6];

	ck_assert_int_eq(rdr_list_qvalue(0, 1), 1000);
	ck_assert_int_eq(rdr_list_qvalue(0, 2), 1000);
	ck_assert_int_eq(rdr_list_qvalue(1, 2), 500);
	ck_assert_int_eq(rdr_list_qvalue(1, 3), 667);
	ck_assert_int_eq(rdr_list_qvalue(2, 3), 333);
	ck_assert_int_eq(rdr_list_qvalue(7, 8), 125);
	rdr_qvalue_format(rdr_list_qvalue(1, 3), out);
	ck_assert_str_eq(out, "0.667");
	ck_assert_int_eq(rdr_list_qvalue(-1, 3), -1);
	ck_assert_int_eq(rdr_list_qvalue(3, 3), -1);
	ck_assert_int_eq(rdr_list_qvalue(0, 0), -1);
	for(n = 1; n <= 1000; n++) {
		ck_assert_int_eq(rdr_list_qvalue(0, n), 1000);
		ck_assert_int_gt(rdr_list_qvalue(n - 1, n), 0);
		for(i = 1; i < n; i++)
			ck_assert_msg(rdr_list_qvalue(i, n) < rdr_list_qvalue(i - 1, n),
					"n %d: q[%d] %d not below q[%d] %d", n, i,
					rdr_list_qvalue(i, n), i - 1, rdr_list_qvalue(i - 1, n));
	}
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *target_suite(void)
{
	Suite *s = suite_create("rdr_target");
	TCase *tc;

	tc = tcase_create("build");
	tcase_add_loop_test(tc, test_full_uri_verbatim, 0, N(full_cases));
	tcase_add_loop_test(tc, test_bare_target, 0, N(bare_cases));
	tcase_add_test(tc, test_bare_user_missing);
	tcase_add_test(tc, test_raw_len_respected);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_loop_test(tc, test_reject, 0, N(reject_cases));
	tcase_add_test(tc, test_reject_last_label_hyphen);
	tcase_add_test(tc, test_host_lengths);
	tcase_add_loop_test(tc, test_hostile_user, 0, N(user_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("length");
	tcase_add_test(tc, test_uri_max_rejected);
	tcase_add_test(tc, test_full_uri_length_limit);
	tcase_add_test(tc, test_length_limit_big_buffer);
	tcase_add_test(tc, test_small_buffer);
	tcase_add_test(tc, test_bare_long_user);
	suite_add_tcase(s, tc);

	tc = tcase_create("strerror");
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("qvalue");
	tcase_add_loop_test(tc, test_qvalue_parse, 0, N(q_cases));
	tcase_add_test(tc, test_qvalue_parse_edges);
	tcase_add_loop_test(tc, test_qvalue_format, 0, N(qf_cases));
	tcase_add_test(tc, test_qvalue_roundtrip);
	tcase_add_test(tc, test_list_qvalue);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return run_suite(target_suite());
}
