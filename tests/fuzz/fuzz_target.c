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
 * redisroute - libFuzzer harness for rdr_targets.c (hostile route targets)
 *
 * Input layout (see tests/fuzz/README):
 *
 *   byte 0   flags: bit 0  sips
 *                   bit 1  split user/raw at the LAST NUL instead of the first
 *                          (so that either side can carry NUL bytes)
 *                   bit 2  pass a negative out_size
 *                   bit 3  pass user = NULL (with its length)
 *   byte 1   out_size selector: 0..127 -> out_size 0..127,
 *            128..254 -> 128 + (b - 128) * 9 (128..1262, around RDR_URI_MAX),
 *            255 -> 4096
 *   rest     user NUL raw  (no NUL: empty user, everything is raw)
 *
 * The raw part is also fed to rdr_qvalue_parse(), and bytes 0-1 pick a q for
 * the rdr_qvalue_format() -> rdr_qvalue_parse() round trip.
 *
 * Any violated invariant calls abort() after printing what went wrong.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdr_targets.h"

#define CANARY_LEN 64
#define CANARY_BYTE 0xA5

#define FAIL(...)                                                  \
	do {                                                           \
		fprintf(stderr, "fuzz_target: invariant violated: ");      \
		fprintf(stderr, __VA_ARGS__);                              \
		fprintf(stderr, "\n");                                     \
		abort();                                                   \
	} while(0)

/* exact-size heap copy, so that ASan sees any read past the slice */
static char *dup_exact(const uint8_t *p, size_t n)
{
	char *d = malloc(n ? n : 1);
	if(d == NULL)
		abort();
	if(n)
		memcpy(d, p, n);
	return d;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int prefix_icase(const char *s, size_t len, const char *p)
{
	size_t i, n = strlen(p);

	if(len < n)
		return 0;
	for(i = 0; i < n; i++) {
		if(lower((unsigned char)s[i]) != p[i])
			return 0;
	}
	return 1;
}

static void check_canary(const unsigned char *c, const char *what)
{
	int i;

	for(i = 0; i < CANARY_LEN; i++) {
		if(c[i] != CANARY_BYTE)
			FAIL("%s wrote past out_size (canary byte %d is 0x%02x)", what, i,
					c[i]);
	}
}

static void check_qvalue_roundtrip(int q)
{
	unsigned char buf[6 + CANARY_LEN];
	int len, back;

	memset(buf, CANARY_BYTE, sizeof(buf));
	len = rdr_qvalue_format(q, (char *)buf);
	check_canary(buf + 6, "rdr_qvalue_format");
	if(len < 1 || len > 5 || (size_t)len != strlen((char *)buf))
		FAIL("rdr_qvalue_format(%d) returned %d for \"%s\"", q, len,
				(char *)buf);
	back = rdr_qvalue_parse((char *)buf, len);
	if(q >= 0 && q <= 1000 && back != q)
		FAIL("rdr_qvalue_format(%d) = \"%s\" parses back as %d", q,
				(char *)buf, back);
	if(q < 0 && back != 0)
		FAIL("rdr_qvalue_format(%d) = \"%s\" (expected \"0\")", q, (char *)buf);
	if(q > 1000 && back != 1000)
		FAIL("rdr_qvalue_format(%d) = \"%s\" (expected \"1\")", q,
				(char *)buf);
	if(len > 1 && buf[len - 1] == '0')
		FAIL("rdr_qvalue_format(%d) = \"%s\" has a trailing zero", q,
				(char *)buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int q;

	(void)argc;
	(void)argv;
	/* the whole domain once, then sampled per input */
	for(q = -2; q <= 1002; q++)
		check_qvalue_roundtrip(q);
	return 0;
}

static int pick_out_size(uint8_t b)
{
	if(b < 128)
		return b;
	if(b < 255)
		return 128 + (b - 128) * 9;
	return 4096;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t flags, sel;
	const uint8_t *rest, *sep;
	size_t rest_len, user_len, raw_len;
	char *user, *raw;
	unsigned char *out;
	int out_size, alloc_size, sips, ret, i;

	if(size < 2)
		return 0;
	flags = data[0];
	sel = data[1];
	rest = data + 2;
	rest_len = size - 2;

	sep = NULL;
	if(flags & 2) {
		for(i = (int)rest_len - 1; i >= 0; i--) {
			if(rest[i] == 0) {
				sep = rest + i;
				break;
			}
		}
	} else {
		sep = memchr(rest, 0, rest_len);
	}
	if(sep != NULL) {
		user_len = (size_t)(sep - rest);
		raw_len = rest_len - user_len - 1;
		user = dup_exact(rest, user_len);
		raw = dup_exact(sep + 1, raw_len);
	} else {
		user_len = 0;
		raw_len = rest_len;
		user = dup_exact(rest, 0);
		raw = dup_exact(rest, raw_len);
	}

	sips = flags & 1;
	out_size = pick_out_size(sel);
	alloc_size = out_size;
	if(flags & 4)
		out_size = -out_size;

	out = malloc((size_t)alloc_size + CANARY_LEN);
	if(out == NULL)
		abort();
	memset(out, CANARY_BYTE, (size_t)alloc_size + CANARY_LEN);

	ret = rdr_target_build(raw, (int)raw_len, (flags & 8) ? NULL : user,
			(int)user_len, sips, (char *)out, out_size);

	check_canary(out + alloc_size, "rdr_target_build");

	if(ret < 0) {
		if(ret < RDR_TGT_BAD_ESCAPE)
			FAIL("rdr_target_build returned unknown error %d", ret);
		if(strcmp(rdr_target_strerror(ret), "invalid target") == 0)
			FAIL("no text for error %d", ret);
	} else {
		size_t n;
		int full;

		if(out_size <= 0)
			FAIL("success (%d) with out_size %d", ret, out_size);
		if(ret >= out_size)
			FAIL("returned %d >= out_size %d", ret, out_size);
		if(ret >= RDR_URI_MAX)
			FAIL("returned %d >= RDR_URI_MAX", ret);
		if(raw_len == 0)
			FAIL("success on an empty target");
		n = strlen((char *)out);
		if(n != (size_t)ret)
			FAIL("returned %d but strlen(out) is %zu", ret, n);
		for(n = 0; n < (size_t)ret; n++) {
			unsigned char c = out[n];
			if(c < 0x21 || c >= 0x7f || c == '<' || c == '>' || c == '"'
					|| c == '\\')
				FAIL("forbidden byte 0x%02x at %zu in \"%s\"", c, n,
						(char *)out);
		}
		if(!prefix_icase((char *)out, (size_t)ret, "sip:")
				&& !prefix_icase((char *)out, (size_t)ret, "sips:"))
			FAIL("output \"%s\" is not a sip:/sips: URI", (char *)out);

		/* a full URI is used verbatim; a bare host gets scheme and user */
		full = prefix_icase(raw, raw_len, "sip:")
			   || prefix_icase(raw, raw_len, "sips:");
		if(full) {
			if((size_t)ret != raw_len || memcmp(out, raw, raw_len) != 0)
				FAIL("full URI not copied verbatim: \"%s\"", (char *)out);
		} else {
			const char *scheme = sips ? "sips:" : "sip:";
			size_t sl = strlen(scheme);
			size_t ul = (flags & 8) ? 0 : user_len;
			size_t want = sl + ul + (ul ? 1 : 0) + raw_len;
			if((size_t)ret != want || memcmp(out, scheme, sl) != 0
					|| (ul && (memcmp(out + sl, user, ul) != 0
									  || out[sl + ul] != '@'))
					|| memcmp(out + ret - raw_len, raw, raw_len) != 0)
				FAIL("bare target built as \"%s\" (user %zu bytes, raw %zu "
					 "bytes, sips %d)",
						(char *)out, ul, raw_len, sips);
		}
	}

	/* q-values: the raw part as a Redis score */
	ret = rdr_qvalue_parse(raw, (int)raw_len);
	if(ret != -1 && (ret < 0 || ret > 1000))
		FAIL("rdr_qvalue_parse returned %d", ret);
	check_qvalue_roundtrip(((int)data[0] << 8 | data[1]) % 1005 - 2);

	free(out);
	free(user);
	free(raw);
	return 0;
}
