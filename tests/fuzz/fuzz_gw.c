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
 * redisroute - libFuzzer harness for rdr_gw_record.c (a gateway's hash
 * fields, hostile input from Redis, and the target it makes for a hostile
 * Request-URI user) and rdr_select.c (the order of equal-priority targets,
 * the q-values that keep it)
 *
 * Input layout:
 *
 *   byte 0   flags: bit 0     sips
 *                   bit 1     user = NULL (with its length)
 *                   bits 2-3  selection mode: 0 order, 1 weight, 2 hash,
 *                             3 weight without rnd (as hash)
 *                   bit 4     a negative out_size
 *   byte 1   out_size selector: 0..127 -> 0..127, 128..254 -> 128 +
 *            (b - 128) * 9 (128..1262, around RDR_URI_MAX), 255 -> 4096
 *   byte 2   presence mask: bit i set = field i (uri, strip, prefix,
 *            weight, attrs, drain) is present when its part is there
 *   byte 3   the separator byte
 *   rest     uri SEP strip SEP prefix SEP weight SEP attrs SEP drain SEP
 *            user SEP selection bytes (missing parts: absent fields, no
 *            user, no selection bytes)
 *
 * Every part is an exact-size heap copy, so that ASan sees a read past it.
 * The uri part is also a gateway NAME for rdr_gw_name_ok(). The selection
 * bytes make items (3 bytes each: prio, weight high, weight low; the id is
 * those 3 bytes) for rdr_select_order() with a seed from the user, and
 * q-values (each byte: -1..254 x 4) for rdr_select_spread_q().
 *
 * Any violated invariant calls abort() after printing what went wrong.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdr_gw_record.h"
#include "rdr_select.h"

#define CANARY_LEN 64
#define CANARY_BYTE 0xA5
#define PARTS 8 /* 6 fields, the user, the selection bytes */
#define ITEMS_MAX (RDR_SELECT_MAX + 8)

#define FAIL(...)                                         \
	do {                                                  \
		fprintf(stderr, "fuzz_gw: invariant violated: "); \
		fprintf(stderr, __VA_ARGS__);                     \
		fprintf(stderr, "\n");                            \
		abort();                                          \
	} while(0)

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

static int pick_out_size(uint8_t b)
{
	if(b < 128)
		return b;
	if(b < 255)
		return 128 + (b - 128) * 9;
	return 4096;
}

/* the NAME rule, written again the obvious way */
static int name_ref(const char *s, int len)
{
	int i;

	if(len < 1 || len > 64)
		return 0;
	for(i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				   || (c >= '0' && c <= '9') || c == '.' || c == '_'
				   || c == '-'))
			return 0;
	}
	return 1;
}

static void check_record(const rdr_gw_record_t *rec)
{
	int i;

	if(rec->urilen <= 0 || rec->urilen >= RDR_URI_MAX
			|| (int)strlen(rec->uri) != rec->urilen)
		FAIL("uri length %d", rec->urilen);
	if(rec->bare
			== (prefix_icase(rec->uri, rec->urilen, "sip:")
					|| prefix_icase(rec->uri, rec->urilen, "sips:")))
		FAIL("bare %d for \"%s\"", rec->bare, rec->uri);
	if(rec->strip < 0 || rec->strip > RDR_GW_STRIP_MAX
			|| (!rec->bare && rec->strip != 0))
		FAIL("strip %d (bare %d)", rec->strip, rec->bare);
	if(rec->prefixlen < 0 || rec->prefixlen > RDR_GW_PREFIX_MAX
			|| (int)strlen(rec->prefix) != rec->prefixlen
			|| (!rec->bare && rec->prefixlen != 0))
		FAIL("prefix length %d", rec->prefixlen);
	if(rec->weight < 1 || rec->weight > RDR_GW_WEIGHT_MAX)
		FAIL("weight %d", rec->weight);
	if(rec->attrslen < 0 || rec->attrslen > RDR_GW_ATTRS_MAX
			|| (int)strlen(rec->attrs) != rec->attrslen)
		FAIL("attrs length %d", rec->attrslen);
	for(i = 0; i < rec->attrslen; i++) {
		unsigned char c = (unsigned char)rec->attrs[i];
		if(c < 0x20 || c == 0x7f)
			FAIL("attrs byte 0x%02x", c);
	}
	if(rec->drain != 0 && rec->drain != 1)
		FAIL("drain %d", rec->drain);
}

/* the target of rec for user, and what it must be */
static void check_target(const rdr_gw_record_t *rec, const char *user,
		int user_len, int sips, int out_size, int alloc_size)
{
	unsigned char *out = malloc((size_t)alloc_size + CANARY_LEN);
	char *want;
	int ret, i, wlen = 0, rest, bad = 0;

	if(out == NULL)
		abort();
	memset(out, CANARY_BYTE, (size_t)alloc_size + CANARY_LEN);
	ret = rdr_gw_record_target(
			rec, user, user_len, sips, (char *)out, out_size);
	for(i = 0; i < CANARY_LEN; i++) {
		if(out[alloc_size + i] != CANARY_BYTE)
			FAIL("wrote past out_size %d (canary byte %d)", alloc_size, i);
	}

	/* what it is when it is anything */
	if(user == NULL || user_len < 0)
		user_len = 0;
	rest = user_len > rec->strip ? user_len - rec->strip : 0;
	want = malloc((size_t)rec->urilen + rec->prefixlen + rest + 8);
	if(want == NULL)
		abort();
	if(!rec->bare) {
		memcpy(want, rec->uri, rec->urilen);
		wlen = rec->urilen;
	} else {
		const char *scheme = sips ? "sips:" : "sip:";
		wlen = (int)strlen(scheme);
		memcpy(want, scheme, wlen);
		memcpy(want + wlen, rec->prefix, rec->prefixlen);
		wlen += rec->prefixlen;
		if(rest > 0) {
			memcpy(want + wlen, user + rec->strip, rest);
			wlen += rest;
		}
		if(rec->prefixlen + rest > 0)
			want[wlen++] = '@';
		memcpy(want + wlen, rec->uri, rec->urilen);
		wlen += rec->urilen;
	}
	want[wlen] = '\0';
	for(i = 0; i < wlen; i++) {
		unsigned char c = (unsigned char)want[i];
		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
				   || (c >= '0' && c <= '9')
				   || (c != 0 && strchr("-_.!~*'()%;/?:@&=+$,[]", c))))
			bad = 1;
	}

	if(ret < 0) {
		if(ret < RDR_TGT_BAD_ESCAPE)
			FAIL("unknown error %d", ret);
		if(ret == RDR_TGT_TOO_LONG && wlen < out_size && wlen < RDR_URI_MAX)
			FAIL("\"%s\" (%d bytes) too long for out_size %d", want, wlen,
					out_size);
		/* the record is valid: only the user can make a bad character */
		if(ret == RDR_TGT_BAD_CHAR && !bad)
			FAIL("\"%s\" refused for a bad character", want);
		if(ret != RDR_TGT_TOO_LONG && ret != RDR_TGT_BAD_CHAR
				&& ret != RDR_TGT_BAD_ESCAPE)
			FAIL("error %d for a valid record", ret);
		free(want);
		free(out);
		return;
	}
	if(ret >= out_size || ret >= RDR_URI_MAX)
		FAIL("returned %d for out_size %d", ret, out_size);
	if(strlen((char *)out) != (size_t)ret)
		FAIL("returned %d, strlen %zu", ret, strlen((char *)out));
	for(i = 0; i < ret; i++) {
		unsigned char c = out[i];
		if(c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"'
				|| c == '\\')
			FAIL("forbidden byte 0x%02x at %d in \"%s\"", c, i, (char *)out);
	}
	if(!prefix_icase((char *)out, ret, "sip:")
			&& !prefix_icase((char *)out, ret, "sips:"))
		FAIL("\"%s\" is no sip:/sips: URI", (char *)out);
	if(ret != wlen || memcmp(out, want, wlen) != 0)
		FAIL("built \"%s\", not \"%s\"", (char *)out, want);
	free(want);
	free(out);
}

static uint64_t rnd_state;

static uint64_t fuzz_rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void check_order(int mode, const uint8_t *b, size_t len, uint64_t seed)
{
	rdr_select_item_t it[ITEMS_MAX];
	int order[ITEMS_MAX], again[ITEMS_MAX], seen[ITEMS_MAX];
	int n = (int)(len / 3), i, start, end;
	uint64_t (*rnd)(void) = fuzz_rnd;

	if(n > ITEMS_MAX)
		n = ITEMS_MAX;
	if(mode == 3) {
		mode = RDR_SELECT_WEIGHT;
		rnd = NULL;
	}
	for(i = 0; i < n; i++) {
		it[i].prio = b[3 * i] >> 5;
		/* -50 .. 1049: outside 1..1000 too */
		it[i].weight = (b[3 * i + 1] << 8 | b[3 * i + 2]) % 1100 - 50;
		it[i].id = (const char *)b + 3 * i;
		it[i].idlen = 3;
	}
	rnd_state = seed;
	rdr_select_order(mode, it, n, seed, rnd, order);
	memset(seen, 0, sizeof(seen));
	for(i = 0; i < n; i++) {
		if(order[i] < 0 || order[i] >= n || seen[order[i]]++)
			FAIL("order[] is no permutation of 0..%d (order[%d] %d)", n - 1, i,
					order[i]);
	}
	/* as stored: more than RDR_SELECT_MAX, or order */
	if(n > RDR_SELECT_MAX || mode == RDR_SELECT_ORDER) {
		for(i = 0; i < n; i++) {
			if(order[i] != i)
				FAIL("order[%d] %d (mode %d, n %d)", i, order[i], mode, n);
		}
	}
	/* each run of equal prio stays in place */
	for(start = 0; start < n; start = end) {
		for(end = start + 1; end < n && it[end].prio == it[start].prio; end++)
			;
		for(i = start; i < end; i++) {
			if(order[i] < start || order[i] >= end)
				FAIL("order[%d] %d left its run [%d, %d)", i, order[i], start,
						end);
		}
	}
	/* hash: the same seed, the same order */
	if(mode == RDR_SELECT_HASH || rnd == NULL) {
		rdr_select_order(mode, it, n, seed, rnd, again);
		if(n > 0 && memcmp(order, again, n * sizeof(int)) != 0)
			FAIL("hash: another order for the same seed");
	}
}

static int cmp_desc(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x < y) - (x > y);
}

static void check_spread(const uint8_t *b, size_t len)
{
	int q[ITEMS_MAX], orig[ITEMS_MAX];
	int n = (int)(len < ITEMS_MAX ? len : ITEMS_MAX), i, j, end, lo;

	for(i = 0; i < n; i++)
		q[i] = b[i] == 255 ? -1 : b[i] * 4;
	/* any order: no crash, -1 left alone, nothing above its run's value */
	memcpy(orig, q, sizeof(int) * n);
	rdr_select_spread_q(q, n);
	for(i = 0; i < n; i++) {
		if((orig[i] < 0 && q[i] != orig[i]) || q[i] > orig[i]
				|| (orig[i] >= 0 && q[i] < 0))
			FAIL("unsorted: q[%d] %d from %d", i, q[i], orig[i]);
	}
	/* non-increasing (the caller's order): non-increasing still, each run
	 * keeps its first value and stays above the next value */
	for(i = 0; i < n; i++)
		q[i] = orig[i];
	qsort(q, n, sizeof(int), cmp_desc);
	memcpy(orig, q, sizeof(int) * n);
	rdr_select_spread_q(q, n);
	for(i = 1; i < n; i++) {
		if(q[i] > q[i - 1])
			FAIL("q[%d] %d above q[%d] %d", i, q[i], i - 1, q[i - 1]);
	}
	for(i = 0; i < n; i = end) {
		for(end = i + 1; end < n && orig[end] == orig[i]; end++)
			;
		if(orig[i] < 0) {
			for(j = i; j < end; j++) {
				if(q[j] != -1)
					FAIL("-1 at %d became %d", j, q[j]);
			}
			continue;
		}
		if(q[i] != orig[i])
			FAIL("run at %d: first %d, not %d", i, q[i], orig[i]);
		lo = end < n && orig[end] >= 0 ? orig[end] : 0;
		for(j = i; j < end; j++) {
			if(q[j] > orig[i] || (orig[i] > lo && q[j] <= lo)
					|| (orig[i] == lo && q[j] != lo))
				FAIL("run [%d, %d) of %d before %d: q[%d] %d", i, end, orig[i],
						lo, j, q[j]);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p, *end, *sep;
	const uint8_t *part[PARTS];
	size_t plen[PARTS];
	char *copy[PARTS];
	const char *f[RDR_GWF_COUNT];
	int flen[RDR_GWF_COUNT];
	rdr_gw_record_t rec;
	int nparts = 0, i, ret, out_size, alloc_size, user_len;
	uint8_t flags, mask, sepc;
	const char *user;

	if(size < 4)
		return 0;
	flags = data[0];
	alloc_size = pick_out_size(data[1]);
	out_size = (flags & 16) ? -alloc_size : alloc_size;
	mask = data[2];
	sepc = data[3];
	p = data + 4;
	end = data + size;
	while(nparts < PARTS) {
		sep = nparts < PARTS - 1 ? memchr(p, sepc, end - p) : NULL;
		part[nparts] = p;
		plen[nparts] = sep ? (size_t)(sep - p) : (size_t)(end - p);
		nparts++;
		if(sep == NULL)
			break;
		p = sep + 1;
	}
	for(i = 0; i < PARTS; i++) {
		if(i < nparts) {
			copy[i] = dup_exact(part[i], plen[i]);
		} else {
			copy[i] = NULL;
			plen[i] = 0;
		}
	}

	/* the uri part as a NAME */
	if(rdr_gw_name_ok(copy[0], (int)plen[0]) != name_ref(copy[0], (int)plen[0]))
		FAIL("rdr_gw_name_ok disagrees on %zu bytes", plen[0]);

	for(i = 0; i < RDR_GWF_COUNT; i++) {
		f[i] = (copy[i] != NULL && (mask & (1 << i))) ? copy[i] : NULL;
		flen[i] = f[i] != NULL ? (int)plen[i] : 0;
	}
	memset(&rec, 0x5a, sizeof(rec));
	ret = rdr_gw_record_parse(f, flen, &rec);
	if(ret < 0) {
		if(ret < RDR_GW_BAD_DRAIN)
			FAIL("unknown error %d", ret);
		if(strcmp(rdr_gw_strerror(ret), "invalid gateway") == 0)
			FAIL("no text for error %d", ret);
		if((ret == RDR_GW_MISSING) != (f[RDR_GWF_URI] == NULL))
			FAIL("missing %d with uri %p", ret, (void *)f[RDR_GWF_URI]);
	} else {
		if(ret != 0)
			FAIL("returned %d", ret);
		check_record(&rec);
		if(memcmp(rec.uri, f[RDR_GWF_URI], rec.urilen) != 0)
			FAIL("uri not kept as it is");
		user = (flags & 2) ? NULL : copy[6];
		user_len = (int)plen[6];
		check_target(&rec, user, user_len, flags & 1, out_size, alloc_size);
	}

	/* selection: items and q-values from the last part (exact copy) */
	check_order((flags >> 2) & 3, (const uint8_t *)copy[7], plen[7],
			rdr_select_seed(copy[6], (int)plen[6]));
	check_spread((const uint8_t *)copy[7], plen[7]);

	for(i = 0; i < PARTS; i++)
		free(copy[i]);
	return 0;
}
