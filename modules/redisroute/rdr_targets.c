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
 * redisroute - a Redis reply's entries -> validated targets: the lookup's
 * reply (its kind, raw entries, sorted-set q-values), one target parsed and
 * validated, q-values, and the packed answer kept with the request (XAVP) and
 * handed from the async I/O process to resume.
 * Pure: libc, hiredis's reply type and the core's str type only; the unit
 * tests and fuzzers link it with rdr_syntax.c and nothing else.
 */

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rdr_syntax.h"
#include "rdr_targets.h"

/*
 * target parsing and validation (pure: libc only)
 * Depends on libc only: the unit tests and fuzzers link it with rdr_syntax.c
 * (hex digits, numbers, host names) and nothing else.
 */

/* Characters that may appear in a SIP URI (RFC 3261 25.1): unreserved,
 * reserved and '%' for escapes, '[' ']' for IPv6 references. Everything
 * else - controls, space, CR/LF, '<', '>', '"', '\\', non-ASCII - could break
 * out of a Contact header or a Request-URI and is refused. */
static unsigned char _rdr_uri_chars[256];
static int _rdr_uri_chars_made = 0;

/* The table of the characters above, made once: a lookup per character
 * instead of a search. */
static void rdr_uri_chars_make(void)
{
	const char *p;
	int c;

	for(c = 0; c < 256; c++)
		_rdr_uri_chars[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
							|| (c >= '0' && c <= '9');
	for(p = "-_.!~*'()%;/?:@&=+$,[]"; *p; p++)
		_rdr_uri_chars[(unsigned char)*p] = 1;
	_rdr_uri_chars_made = 1;
}

static inline int rdr_uri_char_ok(unsigned char c)
{
	return _rdr_uri_chars[c];
}

/* Checks a whole URI's characters and escapes. */
static int rdr_uri_chars_check(const char *s, int len)
{
	int i;

	for(i = 0; i < len; i++) {
		if(!rdr_uri_char_ok((unsigned char)s[i]))
			return RDR_TGT_BAD_CHAR;
		if(s[i] == '%') {
			if(i + 2 >= len || rdr_hex_digit((unsigned char)s[i + 1]) < 0
					|| rdr_hex_digit((unsigned char)s[i + 2]) < 0)
				return RDR_TGT_BAD_ESCAPE;
		}
	}
	return 0;
}

static int rdr_prefix_icase(const char *s, int len, const char *prefix)
{
	int n = (int)strlen(prefix);
	int i;

	if(len < n)
		return 0;
	for(i = 0; i < n; i++) {
		char c = s[i];
		if(c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if(c != prefix[i])
			return 0;
	}
	return 1;
}

/* Port: 1 to 5 digits, 1..65535. */
static int rdr_port_check(const char *s, int len)
{
	int port = rdr_decimal(s, len, 5);

	return (port >= 1 && port <= 65535) ? 0 : RDR_TGT_BAD_PORT;
}

/* Validates a bare host, host:port, [ipv6] or [ipv6]:port. */
static int rdr_bare_check(const char *s, int len)
{
	const char *colon;
	int hlen;

	if(s[0] == '[') {
		const char *end = memchr(s, ']', len);
		if(end == NULL)
			return RDR_TGT_BAD_HOST;
		if(!rdr_host_ipv6_ok(s + 1, (int)(end - s) - 1))
			return RDR_TGT_BAD_HOST;
		hlen = (int)(end - s) + 1;
		if(hlen == len)
			return 0;
		if(s[hlen] != ':')
			return RDR_TGT_BAD_HOST;
		return rdr_port_check(s + hlen + 1, len - hlen - 1);
	}
	colon = memchr(s, ':', len);
	hlen = colon ? (int)(colon - s) : len;
	/* a SIP host: RFC 3261's hostname, no '_' (rdr_syntax.h) */
	if(!rdr_host_name_ok(s, hlen, RDR_HOST_SIP))
		return RDR_TGT_BAD_HOST;
	if(colon == NULL)
		return 0;
	/* a second colon means an unbracketed IPv6 address or garbage */
	if(memchr(colon + 1, ':', len - hlen - 1) != NULL)
		return RDR_TGT_BAD_HOST;
	return rdr_port_check(colon + 1, len - hlen - 1);
}

int rdr_target_build(const char *raw, int raw_len, const char *user,
		int user_len, int sips, char *out, int out_size)
{
	int len, ret, i;
	const char *scheme;

	if(!_rdr_uri_chars_made)
		rdr_uri_chars_make();
	if(raw == NULL || raw_len <= 0)
		return RDR_TGT_EMPTY;
	/* at most RDR_URI_MAX - 1 bytes plus the NUL */
	if(out_size > RDR_URI_MAX)
		out_size = RDR_URI_MAX;
	if(raw_len >= out_size)
		return RDR_TGT_TOO_LONG;
	/* control characters, CR/LF and spaces are refused before anything
	 * else looks at the target */
	for(i = 0; i < raw_len; i++) {
		if(!rdr_uri_char_ok((unsigned char)raw[i]))
			return RDR_TGT_BAD_CHAR;
	}

	if(rdr_prefix_icase(raw, raw_len, "sip:")
			|| rdr_prefix_icase(raw, raw_len, "sips:")) {
		int slen = (raw[3] == ':') ? 4 : 5;
		if(raw_len == slen)
			return RDR_TGT_BAD_URI;
		ret = rdr_uri_chars_check(raw, raw_len);
		if(ret < 0)
			return ret;
		memcpy(out, raw, raw_len);
		out[raw_len] = '\0';
		return raw_len;
	}

	ret = rdr_bare_check(raw, raw_len);
	if(ret < 0)
		return ret;

	scheme = sips ? "sips:" : "sip:";
	if(user_len < 0 || (user_len > 0 && user == NULL))
		user_len = 0;
	/* the user comes from the SIP message: hostile too (the scheme and the
	 * host were checked above) */
	ret = rdr_uri_chars_check(user, user_len);
	if(ret < 0)
		return ret;
	len = (int)strlen(scheme) + user_len + (user_len > 0 ? 1 : 0) + raw_len;
	if(len >= out_size)
		return RDR_TGT_TOO_LONG;
	len = 0;
	memcpy(out, scheme, strlen(scheme));
	len += (int)strlen(scheme);
	if(user_len > 0) {
		memcpy(out + len, user, user_len);
		len += user_len;
		out[len++] = '@';
	}
	memcpy(out + len, raw, raw_len);
	len += raw_len;
	out[len] = '\0';
	return len;
}

int rdr_target_is_uri(const char *raw, int raw_len)
{
	return raw != NULL
		   && (rdr_prefix_icase(raw, raw_len, "sip:")
				   || rdr_prefix_icase(raw, raw_len, "sips:"));
}

const char *rdr_target_strerror(int err)
{
	switch(err) {
		case RDR_TGT_EMPTY:
			return "empty target";
		case RDR_TGT_TOO_LONG:
			return "target too long";
		case RDR_TGT_BAD_CHAR:
			return "forbidden character in target";
		case RDR_TGT_BAD_HOST:
			return "not a sip URI, host, host:port or [ipv6]:port";
		case RDR_TGT_BAD_PORT:
			return "port not in 1..65535";
		case RDR_TGT_BAD_URI:
			return "URI has nothing after its scheme";
		case RDR_TGT_BAD_ESCAPE:
			return "bad %-escape";
		default:
			return "invalid target";
	}
}

int rdr_qvalue_parse(const char *s, int len)
{
	char buf[64];
	char *end;
	double q;

	if(s == NULL || len <= 0 || len >= (int)sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	q = strtod(buf, &end);
	if(end == buf || *end != '\0' || !isfinite(q) || q < 0.0 || q > 1.0)
		return -1;
	return (int)(q * 1000.0 + 0.5);
}

int rdr_qvalue_format(int q, char *out)
{
	int len;

	if(q <= 0) {
		out[0] = '0';
		out[1] = '\0';
		return 1;
	}
	if(q >= 1000) {
		out[0] = '1';
		out[1] = '\0';
		return 1;
	}
	out[0] = '0';
	out[1] = '.';
	out[2] = (char)('0' + q / 100);
	out[3] = (char)('0' + (q / 10) % 10);
	out[4] = (char)('0' + q % 10);
	len = 5;
	while(out[len - 1] == '0')
		len--;
	out[len] = '\0';
	return len;
}

int rdr_list_qvalue(int i, int n)
{
	if(n <= 0 || i < 0 || i >= n)
		return -1;
	return (1000 * (n - i) + n / 2) / n;
}

/*
 * the lookup script's reply, read without the core (pure: libc
 * and hiredis's reply type only)
 */

static int rdr_is_string(const redisReply *e)
{
	return e != NULL && e->type == REDIS_REPLY_STRING;
}

static int rdr_type_is(const rdr_reply_t *it, const char *name)
{
	int len = (int)strlen(name);

	return it->type_len == len && memcmp(it->type, name, len) == 0;
}

/* The shape {type, {entries}, index} and a matched key in range. */
static int rdr_reply_shape_ok(const redisReply *r, int matched, int ncand)
{
	return r->elements >= 3 && r->element[1] != NULL
		   && r->element[1]->type == REDIS_REPLY_ARRAY && r->element[2] != NULL
		   && r->element[2]->type == REDIS_REPLY_INTEGER && matched >= 0
		   && matched < ncand;
}

rdr_reply_kind_t rdr_reply_open(rdr_reply_t *it, const redisReply *r,
		int matched, int ncand, int max_targets)
{
	memset(it, 0, sizeof(*it));
	it->max_targets = max_targets;
	if(r->type != REDIS_REPLY_ARRAY || r->elements < 1
			|| !rdr_is_string(r->element[0])) {
		it->untyped = 1;
		return it->kind = RDR_REPLY_MALFORMED;
	}
	it->type = r->element[0]->str;
	it->type_len = (int)r->element[0]->len;
	/* 'none' comes alone: no entries, no index */
	if(rdr_type_is(it, "none"))
		return it->kind = RDR_REPLY_NONE;
	if(!rdr_reply_shape_ok(r, matched, ncand))
		return it->kind = RDR_REPLY_MALFORMED;
	if(rdr_type_is(it, "string"))
		it->kind = RDR_REPLY_STRING;
	else if(rdr_type_is(it, "list"))
		it->kind = RDR_REPLY_LIST;
	else if(rdr_type_is(it, "zset"))
		it->kind = RDR_REPLY_ZSET;
	else
		return it->kind = RDR_REPLY_WRONG_TYPE;
	it->v = r->element[1];
	if(it->v->elements == 0)
		return it->kind = RDR_REPLY_EMPTY;
	/* member, score pairs; an odd last element is no entry */
	it->n = it->kind == RDR_REPLY_ZSET ? it->v->elements / 2 : it->v->elements;
	return it->kind;
}

rdr_reply_kind_t rdr_reply_open_plain(rdr_reply_t *it, const redisReply *r,
		rdr_reply_kind_t type, int max_targets)
{
	memset(it, 0, sizeof(*it));
	it->max_targets = max_targets;
	if(r->type == REDIS_REPLY_ERROR && r->len >= 9
			&& memcmp(r->str, "WRONGTYPE", 9) == 0)
		return it->kind = RDR_REPLY_WRONG_TYPE;
	if(type == RDR_REPLY_STRING && r->type == REDIS_REPLY_STRING) {
		if(r->len == 0)
			return it->kind = RDR_REPLY_NONE;
		it->one = r;
		it->n = 1;
		return it->kind = RDR_REPLY_STRING;
	}
	if((type != RDR_REPLY_LIST && type != RDR_REPLY_ZSET)
			|| r->type != REDIS_REPLY_ARRAY) {
		it->untyped = 1;
		return it->kind = RDR_REPLY_MALFORMED;
	}
	if(r->elements == 0)
		return it->kind = RDR_REPLY_NONE;
	it->v = r;
	it->n = type == RDR_REPLY_ZSET ? r->elements / 2 : r->elements;
	return it->kind = type;
}

int rdr_reply_raw_write(rdr_reply_t *it, char *out, int size, int *n)
{
	rdr_reply_entry_t e;
	int len, used = 0;

	*n = 0;
	it->max_targets = RDR_FETCH_MAX;
	while(*n < RDR_FETCH_MAX && rdr_reply_next(it, 0, &e)) {
		len = e.s == NULL ? -1 : (e.len > RDR_URI_MAX ? RDR_URI_MAX : e.len);
		if(size - used < (int)(2 * sizeof(int)) + (len > 0 ? len : 0))
			return -1;
		memcpy(out + used, &len, sizeof(int));
		memcpy(out + used + sizeof(int), &e.q, sizeof(int));
		used += 2 * sizeof(int);
		if(len > 0) {
			memcpy(out + used, e.s, len);
			used += len;
		}
		(*n)++;
	}
	return used;
}

rdr_reply_kind_t rdr_reply_open_raw(rdr_reply_t *it, rdr_reply_kind_t kind,
		const char *type, int type_len, const char *raw, int len, int n,
		int max_targets)
{
	memset(it, 0, sizeof(*it));
	it->max_targets = max_targets;
	it->type = type;
	it->type_len = type != NULL ? type_len : 0;
	it->raw = raw;
	it->raw_end = raw + (len > 0 ? len : 0);
	it->n = n > 0 ? (size_t)n : 0;
	return it->kind = kind;
}

int rdr_route_types_parse(const char *s, int len)
{
	static const struct
	{
		const char *name;
		int kind;
	} names[] = {{"any", 0}, {"string", RDR_REPLY_STRING},
			{"list", RDR_REPLY_LIST}, {"zset", RDR_REPLY_ZSET}};
	size_t i;

	for(i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if(len == (int)strlen(names[i].name)
				&& memcmp(s, names[i].name, len) == 0)
			return names[i].kind;
	return -1;
}

/* The next entry of a raw reply; 0 at its end or when the rest is not
 * whole (what a replica wrote is trusted no further than that). */
static int rdr_reply_next_raw(rdr_reply_t *it, rdr_reply_entry_t *e)
{
	long left = (long)(it->raw_end - it->raw) - (long)(2 * sizeof(int));
	int len, q;

	if(left < 0)
		return 0;
	memcpy(&len, it->raw, sizeof(int));
	memcpy(&q, it->raw + sizeof(int), sizeof(int));
	if(len > RDR_URI_MAX || (len > 0 && left < len))
		return 0;
	it->raw += 2 * sizeof(int);
	e->s = len >= 0 ? it->raw : NULL;
	e->len = len > 0 ? len : 0;
	e->q = q;
	it->raw += len > 0 ? len : 0;
	it->next++;
	return 1;
}

int rdr_reply_next(rdr_reply_t *it, int accepted, rdr_reply_entry_t *e)
{
	const redisReply *raw, *score;

	if(it->next >= it->n || accepted >= it->max_targets)
		return 0;
	if(it->raw != NULL)
		return rdr_reply_next_raw(it, e);
	if(it->one != NULL) {
		raw = it->one;
		e->q = -1;
	} else if(it->kind == RDR_REPLY_ZSET) {
		raw = it->v->element[2 * it->next];
		score = it->v->element[2 * it->next + 1];
		e->q = rdr_is_string(score)
					   ? rdr_qvalue_parse(score->str, (int)score->len)
					   : -1;
		if(e->q < 0)
			e->q = RDR_REPLY_Q_BAD;
	} else {
		raw = it->v->element[it->next];
		e->q = -1;
	}
	it->next++;
	e->s = rdr_is_string(raw) ? raw->str : NULL;
	e->len = rdr_is_string(raw) ? (int)raw->len : 0;
	return 1;
}

/*
 * the packed form of an answer (pure: libc and the core's str
 * type only, so that the unit tests and the fuzzer link it)
 */

int rdr_targets_size(const rdr_target_t *t, int n, int nul)
{
	int i, size = 0;

	for(i = 0; i < n; i++)
		size += RDR_TARGET_HDR + t[i].uri.len + t[i].gw.len + t[i].attrs.len
				+ (nul ? 3 : 0);
	return size;
}

/* Writes s (len bytes), and a NUL with nul; returns the end. */
static char *rdr_put(char *p, const char *s, int len, int nul)
{
	if(len > 0)
		memcpy(p, s, len);
	p += len;
	if(nul)
		*p++ = '\0';
	return p;
}

char *rdr_targets_write(char *p, const rdr_target_t *t, int n, int nul)
{
	int i;

	/* the ints are copied, not assigned: p is not aligned */
	for(i = 0; i < n; i++) {
		memcpy(p, &t[i].uri.len, sizeof(int));
		memcpy(p + sizeof(int), &t[i].q, sizeof(int));
		p[2 * sizeof(int)] = (char)(unsigned char)t[i].gw.len;
		p[2 * sizeof(int) + 1] = (char)(unsigned char)t[i].attrs.len;
		p += RDR_TARGET_HDR;
		p = rdr_put(p, t[i].uri.s, t[i].uri.len, nul);
		p = rdr_put(p, t[i].gw.s, t[i].gw.len, nul);
		p = rdr_put(p, t[i].attrs.s, t[i].attrs.len, nul);
	}
	return p;
}

/* Reads len bytes (and a NUL with nul) at *p into out (NUL-terminated);
 * 0, or -1 when they are not there. */
static int rdr_take(const char **p, const char *end, int len, int nul,
		char *out, str *s)
{
	if(end - *p < len + nul || (nul && (*p)[len] != '\0'))
		return -1;
	memcpy(out, *p, len);
	out[len] = '\0';
	s->s = out;
	s->len = len;
	*p += len + nul;
	return 0;
}

const char *rdr_targets_read(
		const char *p, const char *end, int n, int nul, rdr_result_t *res)
{
	int i, ulen, glen, alen;
	rdr_target_t *t;

	nul = nul ? 1 : 0;
	res->n = 0;
	res->refs = 0;
	if(n < 0 || n > RDR_TARGETS_MAX)
		return NULL;
	for(i = 0; i < n; i++) {
		if(end - p < (long)RDR_TARGET_HDR)
			return NULL;
		t = rdr_result_slot(res, i);
		memcpy(&ulen, p, sizeof(int));
		memcpy(&t->q, p + sizeof(int), sizeof(int));
		glen = (unsigned char)p[2 * sizeof(int)];
		alen = (unsigned char)p[2 * sizeof(int) + 1];
		p += RDR_TARGET_HDR;
		if(ulen <= 0 || ulen >= RDR_URI_MAX || glen > RDR_GW_NAME_MAX
				|| rdr_take(&p, end, ulen, nul, res->buf[i], &t->uri) < 0
				|| rdr_take(&p, end, glen, nul, res->gw_buf[i], &t->gw) < 0
				|| rdr_take(&p, end, alen, nul, res->attrs_buf[i], &t->attrs)
						   < 0)
			return NULL;
		res->refs += rdr_target_is_ref(t);
		res->n++;
	}
	return p;
}

/* a negative answer keeps no targets, whatever res holds */
static int rdr_packed_ntargets(int rc, const rdr_result_t *res)
{
	return rc == RDR_OK ? res->n : 0;
}

int rdr_result_pack(
		char *buf, int size, const str *lkey, int rc, const rdr_result_t *res)
{
	static str never = {"", 0};
	rdr_packed_hdr_t h;
	int n = rdr_packed_ntargets(rc, res);
	int len;
	char *p;

	/* a longer key never matches: kept as none */
	if(lkey->len < 0 || lkey->len > RDR_KEY_MAX)
		lkey = &never;
	if(res->key.len > RDR_KEY_MAX || n < 0 || n > RDR_TARGETS_MAX)
		return -1;
	len = sizeof(h) + lkey->len + res->key.len + rdr_targets_size(res->t, n, 1);
	if(len > size)
		return -1;
	h.rc = rc;
	h.n = (short)n;
	h.next = 1;
	h.lkeylen = (short)lkey->len;
	h.keylen = (short)res->key.len;
	h.list = (short)res->list;
	h.refs = (short)(n > 0 ? res->refs : 0);
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	memcpy(p, lkey->s, lkey->len);
	p += lkey->len;
	memcpy(p, res->key.s, res->key.len);
	p += res->key.len;
	rdr_targets_write(p, res->t, n, 1);
	return len;
}

/* Views one string of *len bytes at *p, followed by its NUL; 0, or -1 when
 * it is not there. */
static int rdr_view_str(const char **p, const char *end, int len, str *s)
{
	if(len < 0 || end - *p < len + 1 || (*p)[len] != '\0')
		return -1;
	s->s = (char *)*p;
	s->len = len;
	*p += len + 1;
	return 0;
}

int rdr_result_view(const char *buf, int len, rdr_view_t *v)
{
	rdr_packed_hdr_t h;
	const char *p, *end = buf + len;
	int i, ulen, refs = 0;

	if(buf == NULL || len < (int)sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if(h.n < 0 || h.n > RDR_TARGETS_MAX || h.lkeylen < 0
			|| h.lkeylen > RDR_KEY_MAX || h.keylen < 0 || h.keylen > RDR_KEY_MAX
			|| h.next < 0 || len - (int)sizeof(h) < h.lkeylen + h.keylen)
		return -1;
	p = buf + sizeof(h);
	v->rc = h.rc;
	v->next = h.next;
	v->list = h.list;
	v->lkey.s = (char *)p;
	v->lkey.len = h.lkeylen;
	p += h.lkeylen;
	v->key.s = (char *)p;
	v->key.len = h.keylen;
	p += h.keylen;
	for(i = 0; i < h.n; i++) {
		rdr_target_t *t = &v->t[i];
		if(end - p < (long)RDR_TARGET_HDR)
			return -1;
		memcpy(&ulen, p, sizeof(int));
		memcpy(&t->q, p + sizeof(int), sizeof(int));
		t->gw.len = (unsigned char)p[2 * sizeof(int)];
		t->attrs.len = (unsigned char)p[2 * sizeof(int) + 1];
		p += RDR_TARGET_HDR;
		if(ulen <= 0 || ulen >= RDR_URI_MAX || t->gw.len > RDR_GW_NAME_MAX
				|| rdr_view_str(&p, end, ulen, &t->uri) < 0
				|| rdr_view_str(&p, end, t->gw.len, &t->gw) < 0
				|| rdr_view_str(&p, end, t->attrs.len, &t->attrs) < 0)
			return -1;
		refs += rdr_target_is_ref(t);
	}
	if(refs != h.refs)
		return -1;
	v->refs = refs;
	v->n = h.n;
	return p == end ? 0 : -1;
}

void rdr_result_from_view(const rdr_view_t *v, rdr_result_t *res)
{
	int i;

	rdr_result_clear(res);
	memcpy(res->key_buf, v->key.s, v->key.len);
	res->key_buf[v->key.len] = '\0';
	res->key.len = v->key.len;
	res->list = v->list;
	for(i = 0; i < v->n; i++) {
		rdr_target_t *t = rdr_result_slot(res, i);
		memcpy(t->uri.s, v->t[i].uri.s, v->t[i].uri.len + 1);
		t->uri.len = v->t[i].uri.len;
		memcpy(t->gw.s, v->t[i].gw.s, v->t[i].gw.len + 1);
		t->gw.len = v->t[i].gw.len;
		memcpy(t->attrs.s, v->t[i].attrs.s, v->t[i].attrs.len + 1);
		t->attrs.len = v->t[i].attrs.len;
		t->q = v->t[i].q;
		res->refs += rdr_target_is_ref(t);
	}
	res->n = v->n;
}

void rdr_result_set_next(char *buf, int next)
{
	short s = (short)next;

	memcpy(buf + offsetof(rdr_packed_hdr_t, next), &s, sizeof(s));
}
