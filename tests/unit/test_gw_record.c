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
 * redisroute - unit tests for rdr_gw_record.c (check framework): a
 * gateway's hash fields are hostile input; every rule and its boundaries,
 * and the target a record makes for a Request-URI user
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "test_util.h"

#include "rdr_gw_record.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* out buffers are RDR_URI_MAX + 1 bytes, the size rdr_lookup.c uses */
#define OUT_SIZE (RDR_URI_MAX + 1)

static rdr_gw_record_t rec;

/* The fields, NULL for an absent one, their lengths from strlen(). */
static int parse(const char *uri, const char *strip, const char *prefix,
		const char *weight, const char *attrs, const char *drain)
{
	const char *f[RDR_GWF_COUNT] = {uri, strip, prefix, weight, attrs, drain};
	int flen[RDR_GWF_COUNT], i;

	for(i = 0; i < RDR_GWF_COUNT; i++)
		flen[i] = f[i] != NULL ? (int)strlen(f[i]) : 0;
	memset(&rec, 0x5a, sizeof(rec));
	return rdr_gw_record_parse(f, flen, &rec);
}

/* field i set to s (len bytes, NULs allowed), uri "h" */
static int parse_field(int i, const char *s, int len)
{
	const char *f[RDR_GWF_COUNT] = {"h", NULL, NULL, NULL, NULL, NULL};
	int flen[RDR_GWF_COUNT] = {1, 0, 0, 0, 0, 0};

	f[i] = s;
	flen[i] = len;
	memset(&rec, 0x5a, sizeof(rec));
	return rdr_gw_record_parse(f, flen, &rec);
}

START_TEST(test_field_names)
{
	ck_assert_str_eq(rdr_gw_fields[RDR_GWF_URI], "uri");
	ck_assert_str_eq(rdr_gw_fields[RDR_GWF_STRIP], "strip");
	ck_assert_str_eq(rdr_gw_fields[RDR_GWF_PREFIX], "prefix");
	ck_assert_str_eq(rdr_gw_fields[RDR_GWF_WEIGHT], "weight");
	ck_assert_str_eq(rdr_gw_fields[RDR_GWF_ATTRS], "attrs");
	ck_assert_str_eq(rdr_gw_fields[RDR_GWF_DRAIN], "drain");
}
END_TEST

/*
 * NAME: 1-64 of A-Z a-z 0-9 . _ -
 */

START_TEST(test_name)
{
	char *n64 = repeat('a', 64), *n65 = repeat('a', 65);

	ck_assert_int_eq(rdr_gw_name_ok("a", 1), 1);
	ck_assert_int_eq(rdr_gw_name_ok("carrierA", 8), 1);
	ck_assert_int_eq(rdr_gw_name_ok("Az09._-", 7), 1);
	ck_assert_int_eq(rdr_gw_name_ok(".", 1), 1);
	ck_assert_int_eq(rdr_gw_name_ok(n64, 64), 1);
	ck_assert_int_eq(rdr_gw_name_ok(n65, 65), 0);
	ck_assert_int_eq(rdr_gw_name_ok("", 0), 0);
	ck_assert_int_eq(rdr_gw_name_ok("a", -1), 0);
	ck_assert_int_eq(rdr_gw_name_ok(NULL, 1), 0);
	ck_assert_int_eq(rdr_gw_name_ok("a b", 3), 0);
	ck_assert_int_eq(rdr_gw_name_ok("@a", 2), 0);
	ck_assert_int_eq(rdr_gw_name_ok("a:b", 3), 0);
	ck_assert_int_eq(rdr_gw_name_ok("a/b", 3), 0);
	ck_assert_int_eq(rdr_gw_name_ok("a\0b", 3), 0);
	ck_assert_int_eq(rdr_gw_name_ok("a\r\n", 3), 0);
	ck_assert_int_eq(rdr_gw_name_ok("\xc3\xa9", 2), 0);
	ck_assert_int_eq(rdr_gw_name_ok("a*", 2), 0);
	/* only len bytes are looked at */
	ck_assert_int_eq(rdr_gw_name_ok("ab cd", 2), 1);
	free(n64);
	free(n65);
}
END_TEST

/*
 * uri
 */

START_TEST(test_defaults)
{
	ck_assert_int_eq(
			parse("198.51.100.10:5060", NULL, NULL, NULL, NULL, NULL), 0);
	ck_assert_str_eq(rec.uri, "198.51.100.10:5060");
	ck_assert_int_eq(rec.urilen, 18);
	ck_assert_int_eq(rec.bare, 1);
	ck_assert_int_eq(rec.strip, 0);
	ck_assert_int_eq(rec.prefixlen, 0);
	ck_assert_str_eq(rec.prefix, "");
	ck_assert_int_eq(rec.weight, 1);
	ck_assert_int_eq(rec.attrslen, 0);
	ck_assert_str_eq(rec.attrs, "");
	ck_assert_int_eq(rec.drain, 0);
}
END_TEST

START_TEST(test_all_fields)
{
	ck_assert_int_eq(
			parse("gw.example.com", "2", "+44", "700", "region=eu", "1"), 0);
	ck_assert_int_eq(rec.bare, 1);
	ck_assert_int_eq(rec.strip, 2);
	ck_assert_str_eq(rec.prefix, "+44");
	ck_assert_int_eq(rec.prefixlen, 3);
	ck_assert_int_eq(rec.weight, 700);
	ck_assert_str_eq(rec.attrs, "region=eu");
	ck_assert_int_eq(rec.attrslen, 9);
	ck_assert_int_eq(rec.drain, 1);
}
END_TEST

START_TEST(test_missing)
{
	const int flen[RDR_GWF_COUNT] = {0};
	const char *none[RDR_GWF_COUNT] = {NULL};

	/* no hash, or one without uri, whatever else it holds */
	ck_assert_int_eq(parse(NULL, NULL, NULL, NULL, NULL, NULL), RDR_GW_MISSING);
	ck_assert_int_eq(parse(NULL, "1", "0", "5", "x", "0"), RDR_GW_MISSING);
	ck_assert_int_eq(
			parse(NULL, "bad", "bad prefix", "0", "\n", "x"), RDR_GW_MISSING);
	ck_assert_int_eq(rdr_gw_record_parse(NULL, flen, &rec), RDR_GW_MISSING);
	ck_assert_int_eq(rdr_gw_record_parse(none, NULL, &rec), RDR_GW_MISSING);
	ck_assert_int_eq(rdr_gw_record_parse(none, flen, NULL), RDR_GW_MISSING);
}
END_TEST

typedef struct uri_case
{
	const char *uri;
	int bare; /* -1: refused */
} uri_case_t;

static const uri_case_t uri_cases[] = {
		{"198.51.100.10", 1},
		{"198.51.100.10:5060", 1},
		{"gw.example.com", 1},
		{"gw.example.com.", 1},
		{"[2001:db8::1]", 1},
		{"[2001:db8::1]:5060", 1},
		{"[::ffff:192.0.2.1]:5061", 1},
		{"h:65535", 1},
		{"sip:gw@198.51.100.10", 0},
		{"sips:gw@example.com:5061;transport=tls", 0},
		{"SIP:gw@h", 0},
		{"sIpS:h", 0},
		{"sip:h;lr?x=%41", 0},
		/* refused */
		{"", -1},
		{"sip:", -1},
		{"SIPS:", -1},
		{"h:0", -1},
		{"h:65536", -1},
		{"h:", -1},
		{"h:+5060", -1},
		{"2001:db8::1", -1},
		{"[2001:db8::1", -1},
		{"[::g]", -1},
		{"gw_1.example.com", -1},
		{"-h", -1},
		{"a..b", -1},
		{"bob@h", -1},
		{"h ", -1},
		{" h", -1},
		{"h\r\n", -1},
		{"sip:h\r\nX: y", -1},
		{"sip:h\t", -1},
		{"sip:<h>", -1},
		{"sip:\"h\"", -1},
		{"sip:h\\", -1},
		{"sip:h\x7f", -1},
		{"sip:h\xc3\xa9", -1},
		{"sip:a%4", -1},
		{"sip:a%zz@h", -1},
		{"http://h", -1},
		{"@gw", -1},
};

START_TEST(test_uri)
{
	const uri_case_t *c = &uri_cases[_i];
	int ret = parse(c->uri, NULL, NULL, NULL, NULL, NULL);

	if(c->bare < 0) {
		ck_assert_msg(ret == RDR_GW_BAD_URI, "uri \"%s\": %d", c->uri, ret);
		return;
	}
	ck_assert_msg(ret == 0, "uri \"%s\": %d", c->uri, ret);
	ck_assert_str_eq(rec.uri, c->uri);
	ck_assert_int_eq(rec.urilen, (int)strlen(c->uri));
	ck_assert_int_eq(rec.bare, c->bare);
}
END_TEST

START_TEST(test_uri_lengths)
{
	char uri[RDR_URI_MAX + 2];
	const char *f[RDR_GWF_COUNT] = {uri, NULL, NULL, NULL, NULL, NULL};
	int flen[RDR_GWF_COUNT] = {0};

	/* a full URI of RDR_URI_MAX - 1 bytes is the longest */
	memset(uri, 'a', sizeof(uri));
	memcpy(uri, "sip:", 4);
	uri[RDR_URI_MAX - 1] = '\0';
	ck_assert_int_eq(parse(uri, NULL, NULL, NULL, NULL, NULL), 0);
	ck_assert_int_eq(rec.urilen, RDR_URI_MAX - 1);
	ck_assert_int_eq(rec.uri[RDR_URI_MAX - 1], '\0');
	flen[0] = RDR_URI_MAX;
	ck_assert_int_eq(rdr_gw_record_parse(f, flen, &rec), RDR_GW_BAD_URI);
	flen[0] = RDR_URI_MAX + 1;
	ck_assert_int_eq(rdr_gw_record_parse(f, flen, &rec), RDR_GW_BAD_URI);
	flen[0] = INT_MAX;
	ck_assert_int_eq(rdr_gw_record_parse(f, flen, &rec), RDR_GW_BAD_URI);
	flen[0] = -1;
	ck_assert_int_eq(rdr_gw_record_parse(f, flen, &rec), RDR_GW_BAD_URI);
	/* only flen bytes are taken: "sip:a" of the longer buffer */
	flen[0] = 5;
	ck_assert_int_eq(rdr_gw_record_parse(f, flen, &rec), 0);
	ck_assert_str_eq(rec.uri, "sip:a");
	/* a NUL inside */
	ck_assert_int_eq(parse_field(RDR_GWF_URI, "h\0evil", 6), RDR_GW_BAD_URI);
}
END_TEST

/*
 * strip: 0-64, bare hosts only
 */

typedef struct num_case
{
	const char *s;
	int v; /* -1: refused */
} num_case_t;

static const num_case_t strip_cases[] = {
		{"0", 0},
		{"1", 1},
		{"63", 63},
		{"64", 64},
		{"007", 7},
		{"000000064", 64},
		{"65", -1},
		{"100", -1},
		{"999999999", -1},
		{"0000000001", -1}, /* 10 digits */
		{"99999999999999999999", -1},
		{"", -1},
		{"-1", -1},
		{"+5", -1},
		{" 5", -1},
		{"5 ", -1},
		{"5\n", -1},
		{"0x10", -1},
		{"1e1", -1},
		{"1.0", -1},
		{"a", -1},
};

START_TEST(test_strip)
{
	const num_case_t *c = &strip_cases[_i];
	int ret = parse("h", c->s, NULL, NULL, NULL, NULL);

	if(c->v < 0) {
		ck_assert_msg(ret == RDR_GW_BAD_STRIP, "strip \"%s\": %d", c->s, ret);
		return;
	}
	ck_assert_msg(ret == 0, "strip \"%s\": %d", c->s, ret);
	ck_assert_int_eq(rec.strip, c->v);
}
END_TEST

START_TEST(test_strip_prefix_full_uri)
{
	/* on a full URI, strip and prefix mean nothing: set, even to "0" or
	 * "", they are refused */
	ck_assert_int_eq(
			parse("sip:gw@h", "1", NULL, NULL, NULL, NULL), RDR_GW_BAD_STRIP);
	ck_assert_int_eq(
			parse("sip:gw@h", "0", NULL, NULL, NULL, NULL), RDR_GW_BAD_STRIP);
	ck_assert_int_eq(
			parse("sips:gw@h", "64", NULL, NULL, NULL, NULL), RDR_GW_BAD_STRIP);
	ck_assert_int_eq(parse("sip:gw@h", NULL, "0044", NULL, NULL, NULL),
			RDR_GW_BAD_PREFIX);
	ck_assert_int_eq(
			parse("SIP:gw@h", NULL, "", NULL, NULL, NULL), RDR_GW_BAD_PREFIX);
	/* strip is looked at first */
	ck_assert_int_eq(
			parse("sip:gw@h", "1", "0044", NULL, NULL, NULL), RDR_GW_BAD_STRIP);
	/* without them, a full URI is fine with the other fields */
	ck_assert_int_eq(parse("sip:gw@h", NULL, NULL, "5", "a=b", "0"), 0);
	ck_assert_int_eq(rec.bare, 0);
	/* and a bare host takes "0" and "" */
	ck_assert_int_eq(parse("h", "0", "", NULL, NULL, NULL), 0);
	ck_assert_int_eq(rec.strip, 0);
	ck_assert_int_eq(rec.prefixlen, 0);
}
END_TEST

/*
 * prefix: at most 32 URI user characters
 */

static const char *const prefix_ok[] = {
		"0044",
		"+49",
		"abcXYZ019",
		"-_.!~*'()",
		"&=+$,;?/",
		"%41",
		"%2b%2F",
		"a%41b",
};

static const char *const prefix_bad[] = {
		"#",
		" ",
		"0 44",
		"00\r\n",
		"\t",
		"@",
		":",
		"<",
		">",
		"\"",
		"\\",
		"[",
		"]",
		"{",
		"|",
		"^",
		"`",
		"\x7f",
		"\xc3\xa9",
		"%",
		"%4",
		"a%",
		"%zz",
		"%g1",
		"%1g",
};

START_TEST(test_prefix_ok)
{
	const char *p = prefix_ok[_i];
	int ret = parse("h", NULL, p, NULL, NULL, NULL);
	ck_assert_msg(ret == 0, "prefix \"%s\": %d", p, ret);
	ck_assert_str_eq(rec.prefix, p);
	ck_assert_int_eq(rec.prefixlen, (int)strlen(p));
}
END_TEST

START_TEST(test_prefix_bad)
{
	const char *p = prefix_bad[_i];
	int ret = parse("h", NULL, p, NULL, NULL, NULL);

	ck_assert_msg(ret == RDR_GW_BAD_PREFIX, "prefix \"%s\": %d", p, ret);
}
END_TEST

START_TEST(test_prefix_lengths)
{
	char *p32 = repeat('9', 32), *p33 = repeat('9', 33);
	char esc[40];

	ck_assert_int_eq(parse("h", NULL, p32, NULL, NULL, NULL), 0);
	ck_assert_int_eq(rec.prefixlen, 32);
	ck_assert_str_eq(rec.prefix, p32);
	ck_assert_int_eq(
			parse("h", NULL, p33, NULL, NULL, NULL), RDR_GW_BAD_PREFIX);
	/* 32 bytes, escapes counted as the three characters they are */
	snprintf(esc, sizeof(esc), "%%41%s", p32 + 3);
	ck_assert_int_eq(parse("h", NULL, esc, NULL, NULL, NULL), 0);
	snprintf(esc, sizeof(esc), "%%41%s", p32 + 2);
	ck_assert_int_eq(
			parse("h", NULL, esc, NULL, NULL, NULL), RDR_GW_BAD_PREFIX);
	/* empty: no prefix */
	ck_assert_int_eq(parse("h", NULL, "", NULL, NULL, NULL), 0);
	ck_assert_int_eq(rec.prefixlen, 0);
	/* a NUL inside; a negative length */
	ck_assert_int_eq(parse_field(RDR_GWF_PREFIX,
							 "00\0"
							 "44",
							 5),
			RDR_GW_BAD_PREFIX);
	ck_assert_int_eq(parse_field(RDR_GWF_PREFIX, "00", -1), RDR_GW_BAD_PREFIX);
	ck_assert_int_eq(
			parse_field(RDR_GWF_PREFIX, p33, INT_MAX), RDR_GW_BAD_PREFIX);
	free(p32);
	free(p33);
}
END_TEST

/*
 * weight: 1-1000, default 1
 */

static const num_case_t weight_cases[] = {
		{"1", 1},
		{"2", 2},
		{"999", 999},
		{"1000", 1000},
		{"0005", 5},
		{"0", -1},
		{"00", -1},
		{"1001", -1},
		{"4294967297", -1},
		{"", -1},
		{"+5", -1},
		{" 5", -1},
		{"5 ", -1},
		{"-5", -1},
		{"5.0", -1},
		{"1e3", -1},
		{"five", -1},
};

START_TEST(test_weight)
{
	const num_case_t *c = &weight_cases[_i];
	int ret = parse("h", NULL, NULL, c->s, NULL, NULL);

	if(c->v < 0) {
		ck_assert_msg(ret == RDR_GW_BAD_WEIGHT, "weight \"%s\": %d", c->s, ret);
		return;
	}
	ck_assert_msg(ret == 0, "weight \"%s\": %d", c->s, ret);
	ck_assert_int_eq(rec.weight, c->v);
}
END_TEST

/*
 * attrs: at most 255 bytes, no control character
 */

START_TEST(test_attrs)
{
	char *a255 = repeat('x', 255), *a256 = repeat('x', 256);
	char s[4];
	int c, ret;

	ck_assert_int_eq(parse("h", NULL, NULL, NULL, a255, NULL), 0);
	ck_assert_int_eq(rec.attrslen, 255);
	ck_assert_str_eq(rec.attrs, a255);
	ck_assert_int_eq(
			parse("h", NULL, NULL, NULL, a256, NULL), RDR_GW_BAD_ATTRS);
	ck_assert_int_eq(parse_field(RDR_GWF_ATTRS, a256, -1), RDR_GW_BAD_ATTRS);
	ck_assert_int_eq(parse("h", NULL, NULL, NULL, "", NULL), 0);
	ck_assert_int_eq(rec.attrslen, 0);
	/* spaces, quotes, anything printable, and UTF-8 */
	ck_assert_int_eq(parse("h", NULL, NULL, NULL,
							 "a=1; b=\"two words\" <x> \\ {}", NULL),
			0);
	ck_assert_int_eq(parse("h", NULL, NULL, NULL, "r\xc3\xa9gion", NULL), 0);
	ck_assert_str_eq(rec.attrs, "r\xc3\xa9gion");
	/* every control character, first, inside and last */
	for(c = 0; c < 256; c++) {
		int bad = c < 0x20 || c == 0x7f;
		s[0] = 'a';
		s[1] = (char)c;
		s[2] = 'b';
		ret = parse_field(RDR_GWF_ATTRS, s, 3);
		ck_assert_msg(
				ret == (bad ? RDR_GW_BAD_ATTRS : 0), "byte 0x%02x: %d", c, ret);
		ret = parse_field(RDR_GWF_ATTRS, s + 1, 1);
		ck_assert_int_eq(ret, bad ? RDR_GW_BAD_ATTRS : 0);
	}
	free(a255);
	free(a256);
}
END_TEST

/*
 * drain: "0" or "1"
 */

START_TEST(test_drain)
{
	static const char *const bad[] = {
			"", "2", "01", "00", "10", "true", "yes", " 1", "1 ", "-1", "+1"};
	int i, ret;

	ck_assert_int_eq(parse("h", NULL, NULL, NULL, NULL, NULL), 0);
	ck_assert_int_eq(rec.drain, 0);
	ck_assert_int_eq(parse("h", NULL, NULL, NULL, NULL, "0"), 0);
	ck_assert_int_eq(rec.drain, 0);
	ck_assert_int_eq(parse("h", NULL, NULL, NULL, NULL, "1"), 0);
	ck_assert_int_eq(rec.drain, 1);
	for(i = 0; i < N(bad); i++) {
		ret = parse("h", NULL, NULL, NULL, NULL, bad[i]);
		ck_assert_msg(ret == RDR_GW_BAD_DRAIN, "drain \"%s\": %d", bad[i], ret);
	}
	ck_assert_int_eq(parse_field(RDR_GWF_DRAIN, "1\0", 2), RDR_GW_BAD_DRAIN);
	ck_assert_int_eq(parse_field(RDR_GWF_DRAIN, "1", -1), RDR_GW_BAD_DRAIN);
	ck_assert_int_eq(parse_field(RDR_GWF_DRAIN, "1", 0), RDR_GW_BAD_DRAIN);
}
END_TEST

/* the first problem in field order is the one reported; a negative length
 * is its field's problem */
START_TEST(test_first_problem)
{
	ck_assert_int_eq(parse("h:0", "65", "@", "0", "\n", "x"), RDR_GW_BAD_URI);
	ck_assert_int_eq(parse("h", "65", "@", "0", "\n", "x"), RDR_GW_BAD_STRIP);
	ck_assert_int_eq(parse("h", "64", "@", "0", "\n", "x"), RDR_GW_BAD_PREFIX);
	ck_assert_int_eq(parse("h", "64", "1", "0", "\n", "x"), RDR_GW_BAD_WEIGHT);
	ck_assert_int_eq(parse("h", "64", "1", "1", "\n", "x"), RDR_GW_BAD_ATTRS);
	ck_assert_int_eq(parse("h", "64", "1", "1", "a", "x"), RDR_GW_BAD_DRAIN);
	ck_assert_int_eq(parse("h", "64", "1", "1", "a", "1"), 0);
	ck_assert_int_eq(parse_field(RDR_GWF_STRIP, "1", -1), RDR_GW_BAD_STRIP);
	ck_assert_int_eq(parse_field(RDR_GWF_WEIGHT, "1", -1), RDR_GW_BAD_WEIGHT);
}
END_TEST

START_TEST(test_strerror)
{
	static const int errs[] = {RDR_GW_MISSING, RDR_GW_BAD_URI, RDR_GW_BAD_STRIP,
			RDR_GW_BAD_PREFIX, RDR_GW_BAD_WEIGHT, RDR_GW_BAD_ATTRS,
			RDR_GW_BAD_DRAIN};
	int i, j;

	for(i = 0; i < N(errs); i++) {
		ck_assert_str_ne(rdr_gw_strerror(errs[i]), "invalid gateway");
		for(j = 0; j < i; j++)
			ck_assert_str_ne(
					rdr_gw_strerror(errs[i]), rdr_gw_strerror(errs[j]));
	}
	ck_assert_str_eq(rdr_gw_strerror(0), "invalid gateway");
	ck_assert_str_eq(rdr_gw_strerror(-8), "invalid gateway");
}
END_TEST

/*
 * the target for a Request-URI user
 */

typedef struct target_case
{
	const char *uri;
	const char *strip;
	const char *prefix;
	const char *user; /* NULL: none */
	int sips;
	const char *want; /* NULL: refused with err */
	int err;
} target_case_t;

static const target_case_t target_cases[] = {
		/* the design's example */
		{"198.51.100.10:5060", "1", "0044", "0201234567", 0,
				"sip:0044201234567@198.51.100.10:5060", 0},
		{"198.51.100.10:5060", NULL, NULL, "0201234567", 0,
				"sip:0201234567@198.51.100.10:5060", 0},
		{"198.51.100.10:5060", "3", NULL, "0201234567", 0,
				"sip:1234567@198.51.100.10:5060", 0},
		{"198.51.100.10:5060", NULL, "+", "0201234567", 0,
				"sip:+0201234567@198.51.100.10:5060", 0},
		/* sips: the R-URI's scheme */
		{"gw.example.com", "1", "0044", "0201234567", 1,
				"sips:0044201234567@gw.example.com", 0},
		/* strip as long as the user, longer, or no user: the prefix alone,
		 * or no user at all */
		{"h:5060", "10", "0044", "0201234567", 0, "sip:0044@h:5060", 0},
		{"h:5060", "64", "0044", "0201234567", 0, "sip:0044@h:5060", 0},
		{"198.51.100.10:5060", "10", NULL, "0201234567", 0,
				"sip:198.51.100.10:5060", 0},
		{"h", "9", NULL, "0201234567", 0, "sip:7@h", 0},
		{"h", NULL, "0044", "", 0, "sip:0044@h", 0},
		{"h", NULL, "0044", NULL, 0, "sip:0044@h", 0},
		{"h", "1", NULL, NULL, 1, "sips:h", 0},
		/* IPv6 */
		{"[2001:db8::1]:5060", "1", "00", "0201", 0,
				"sip:00201@[2001:db8::1]:5060", 0},
		{"[2001:db8::1]", NULL, NULL, "alice", 1, "sips:alice@[2001:db8::1]",
				0},
		/* escapes in the prefix and the user stay as they are */
		{"h", NULL, "%2B", "49%2030", 0, "sip:%2B49%2030@h", 0},
		/* a full URI as it is, whatever the user and scheme */
		{"sip:gw@198.51.100.10;transport=tcp", NULL, NULL, "0201234567", 1,
				"sip:gw@198.51.100.10;transport=tcp", 0},
		{"SIPS:gw@h", NULL, NULL, NULL, 0, "SIPS:gw@h", 0},
		/* the user is hostile: forbidden characters are refused after
		 * strip and prefix, as rdr_target_build() refuses them */
		{"h", NULL, NULL, "a b", 0, NULL, RDR_TGT_BAD_CHAR},
		{"h", NULL, "00", "1\r\nVia: x", 0, NULL, RDR_TGT_BAD_CHAR},
		{"h", "1", NULL, "0<sip:x>", 0, NULL, RDR_TGT_BAD_CHAR},
		{"h", NULL, NULL, "\"x\"", 0, NULL, RDR_TGT_BAD_CHAR},
		{"h", NULL, NULL, "x\x7f", 0, NULL, RDR_TGT_BAD_CHAR},
		{"h", NULL, NULL, "\xc3\xa9", 0, NULL, RDR_TGT_BAD_CHAR},
		{"h", NULL, NULL, "a%4", 0, NULL, RDR_TGT_BAD_ESCAPE},
		{"h", NULL, "9", "%zz", 0, NULL, RDR_TGT_BAD_ESCAPE},
		/* what strip removes is not in the URI */
		{"h", "2", NULL, "\r\n123", 0, "sip:123@h", 0},
		/* strip cutting an escape leaves plain characters */
		{"h", "1", NULL, "%41", 0, "sip:41@h", 0},
};

START_TEST(test_target)
{
	const target_case_t *c = &target_cases[_i];
	char out[OUT_SIZE];
	int ret;

	ck_assert_int_eq(parse(c->uri, c->strip, c->prefix, NULL, NULL, NULL), 0);
	ret = rdr_gw_record_target(&rec, c->user,
			c->user != NULL ? (int)strlen(c->user) : 0, c->sips, out,
			sizeof(out));
	if(c->want == NULL) {
		ck_assert_msg(ret == c->err, "case %d: %d, not %d", _i, ret, c->err);
		return;
	}
	ck_assert_msg(ret == (int)strlen(c->want), "case %d: %d", _i, ret);
	ck_assert_str_eq(out, c->want);
}
END_TEST

START_TEST(test_target_lengths)
{
	char out[OUT_SIZE + 16], user[2 * RDR_URI_MAX];
	const char *want = "sip:0044201234567@198.51.100.10:5060";
	int wlen = (int)strlen(want), ret, n;

	ck_assert_int_eq(
			parse("198.51.100.10:5060", "1", "0044", NULL, NULL, NULL), 0);
	/* out_size: exactly enough, one byte short; nothing written past it */
	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(
			rdr_gw_record_target(&rec, "0201234567", 10, 0, out, wlen + 1),
			wlen);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(out[wlen + 1], 'X');
	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(rdr_gw_record_target(&rec, "0201234567", 10, 0, out, wlen),
			RDR_TGT_TOO_LONG);
	ck_assert_int_eq(out[wlen], 'X');
	ck_assert_int_eq(rdr_gw_record_target(&rec, "0201234567", 10, 0, out, 0),
			RDR_TGT_TOO_LONG);
	ck_assert_int_eq(rdr_gw_record_target(&rec, "0201234567", 10, 0, out, -5),
			RDR_TGT_TOO_LONG);

	/* the longest URI: RDR_URI_MAX - 1 bytes; one more is too long */
	memset(user, '1', sizeof(user));
	n = RDR_URI_MAX - 1 - (int)strlen("sip:0044@198.51.100.10:5060") + 1;
	ret = rdr_gw_record_target(&rec, user, n, 0, out, OUT_SIZE);
	ck_assert_int_eq(ret, RDR_URI_MAX - 1);
	ck_assert_int_eq((int)strlen(out), RDR_URI_MAX - 1);
	ret = rdr_gw_record_target(&rec, user, n + 1, 0, out, OUT_SIZE);
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
	ret = rdr_gw_record_target(&rec, user, (int)sizeof(user), 0, out, OUT_SIZE);
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
	/* a length no user has: refused before a byte of it is read */
	ret = rdr_gw_record_target(&rec, user, INT_MAX, 0, out, OUT_SIZE);
	ck_assert_int_eq(ret, RDR_TGT_TOO_LONG);
	/* a negative length or no user: no user */
	ck_assert_int_eq(rdr_gw_record_target(&rec, user, -1, 0, out, OUT_SIZE),
			(int)strlen("sip:0044@198.51.100.10:5060"));
	ck_assert_int_eq(rdr_gw_record_target(&rec, NULL, 5, 0, out, OUT_SIZE),
			(int)strlen("sip:0044@198.51.100.10:5060"));
	ck_assert_str_eq(out, "sip:0044@198.51.100.10:5060");
	/* no record */
	ck_assert_int_eq(rdr_gw_record_target(NULL, "1", 1, 0, out, OUT_SIZE),
			RDR_TGT_EMPTY);
}
END_TEST

static Suite *gw_record_suite(void)
{
	Suite *s = suite_create("rdr_gw_record");
	TCase *tc;

	tc = tcase_create("fields");
	tcase_add_test(tc, test_field_names);
	tcase_add_test(tc, test_name);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_all_fields);
	tcase_add_test(tc, test_missing);
	tcase_add_loop_test(tc, test_uri, 0, N(uri_cases));
	tcase_add_test(tc, test_uri_lengths);
	tcase_add_loop_test(tc, test_strip, 0, N(strip_cases));
	tcase_add_test(tc, test_strip_prefix_full_uri);
	tcase_add_loop_test(tc, test_prefix_ok, 0, N(prefix_ok));
	tcase_add_loop_test(tc, test_prefix_bad, 0, N(prefix_bad));
	tcase_add_test(tc, test_prefix_lengths);
	tcase_add_loop_test(tc, test_weight, 0, N(weight_cases));
	tcase_add_test(tc, test_attrs);
	tcase_add_test(tc, test_drain);
	tcase_add_test(tc, test_first_problem);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("target");
	tcase_add_loop_test(tc, test_target, 0, N(target_cases));
	tcase_add_test(tc, test_target_lengths);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(gw_record_suite());
}
