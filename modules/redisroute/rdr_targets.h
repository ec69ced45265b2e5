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

#ifndef _RDR_TARGETS_H_
#define _RDR_TARGETS_H_

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "core/str.h"

#include "redisroute.h"

/*
 * target parsing and validation (pure: libc only)
 *
 * A route target read from Redis is hostile input. These functions turn one
 * raw target into the URI that may go on the wire, or say why it must not.
 */

/* Kamailio's MAX_URI_SIZE (core/config.h), checked at compile time in
 * rdr_lookup.c so that the two cannot drift apart. It counts the terminating
 * NUL: the core (append_branch) takes URIs of at most RDR_URI_MAX - 1 bytes,
 * and so do we. */
#define RDR_URI_MAX 1024

enum rdr_target_err
{
	RDR_TGT_EMPTY = -1,		/* zero-length target */
	RDR_TGT_TOO_LONG = -2,	/* RDR_URI_MAX bytes or more once built */
	RDR_TGT_BAD_CHAR = -3,	/* control char, CR/LF, space, non-ASCII, <>"... */
	RDR_TGT_BAD_HOST = -4,	/* bare target is not host, host:port, [v6]:port */
	RDR_TGT_BAD_PORT = -5,	/* port not in 1..65535 */
	RDR_TGT_BAD_URI = -6,	/* sip:/sips: URI without anything after it */
	RDR_TGT_BAD_ESCAPE = -7 /* '%' not followed by two hex digits */
};

/* Builds the URI for one raw target into out (NUL-terminated).
 * A full sip:/sips: URI is used as it is; a bare host, host:port or
 * [ipv6]:port gets the Request-URI's user and scheme (sips when sips != 0).
 * Returns the URI's length, or a negative enum rdr_target_err. */
int rdr_target_build(const char *raw, int raw_len, const char *user,
		int user_len, int sips, char *out, int out_size);

/* 1 when raw is a full sip: or sips: URI (used as it is), 0 when it is a
 * bare host that rdr_target_build() completes. */
int rdr_target_is_uri(const char *raw, int raw_len);

/* Human-readable reason for a negative rdr_target_build() result. */
const char *rdr_target_strerror(int err);

/* Parses a sorted-set score as an RFC 3261 q-value. Returns thousandths
 * (0..1000, rounded), or -1 when the score is not a number in [0, 1]. */
int rdr_qvalue_parse(const char *s, int len);

/* Writes q (thousandths) as a q-value with at most 3 decimals and no
 * trailing zeros ("1", "0.8", "0.125") into out (>= 6 bytes, NUL-terminated).
 * Returns the length written. */
int rdr_qvalue_format(int q, char *out);

/* The q-value (thousandths) of the i-th of n targets of a list, head first:
 * (n - i) / n rounded to thousandths, so 1, 0.5 for two targets and
 * 1, 0.667, 0.333 for three. Strictly descending and above 0 for
 * n <= 1000; returns -1 for i outside [0, n). */
int rdr_list_qvalue(int i, int n);

/*
 * the lookup script's reply, read without the core (pure: libc
 * and hiredis's reply type only)
 *
 * The script (rdr_eval.c) answers {'none'} or {type, {entries}, index}. What
 * kind of answer it is and which raw entries it holds, in order, with a
 * sorted set's scores as q-values, is decided here; rdr_lookup.c turns the
 * entries into targets (rdr_target_build, the core's parse_uri) and logs the
 * bad ones. Nothing here calls hiredis: the unit tests build replies by hand.
 */

typedef enum rdr_reply_kind
{
	RDR_REPLY_MALFORMED = 0, /* not the script's shape, or no key in range */
	RDR_REPLY_NONE,			 /* no candidate key exists */
	RDR_REPLY_WRONG_TYPE,	 /* the key's type holds no route */
	RDR_REPLY_EMPTY,		 /* a string, list or sorted set, no entries */
	RDR_REPLY_STRING,
	RDR_REPLY_LIST,
	RDR_REPLY_ZSET
} rdr_reply_kind_t;

/* an entry's q when its sorted-set score is not a q-value in [0, 1] */
#define RDR_REPLY_Q_BAD -2

typedef struct rdr_reply_entry
{
	const char *s; /* the raw entry; NULL when it is not a string */
	int len;	   /* 0 when it is not a string */
	int q;		   /* sorted set: thousandths or RDR_REPLY_Q_BAD; else -1 */
} rdr_reply_entry_t;

typedef struct rdr_reply
{
	rdr_reply_kind_t kind;
	int untyped;	  /* malformed: not even an array led by a type name */
	const char *type; /* the type name (not NUL-terminated), or NULL */
	int type_len;
	const redisReply *v;   /* the entries (string, list, sorted set) */
	const redisReply *one; /* or the one entry of a plain GETRANGE */
	size_t n;			   /* entries to read: a sorted set's are pairs */
	size_t next;		   /* the next one rdr_reply_next() reads */
	int max_targets;
	const char *raw;	 /* or the raw entries a replica kept */
	const char *raw_end; /* (rdr_reply_raw_write()'s encoding) */
} rdr_reply_t;

/* Classifies r, the script's reply; matched: the eval's index of the key
 * that exists (-1: none) among ncand candidates. max_targets: how many
 * accepted targets end the entries (rdr_reply_next). Returns it->kind. */
rdr_reply_kind_t rdr_reply_open(rdr_reply_t *it, const redisReply *r,
		int matched, int ncand, int max_targets);

/* Classifies r, the reply of the one plain command route_types `type`
 * (RDR_REPLY_STRING, _LIST or _ZSET) sends for an exact lookup instead of
 * the script: GETRANGE, LRANGE or ZREVRANGE WITHSCORES. Nothing (an empty
 * string or array) is RDR_REPLY_NONE: GETRANGE answers "" for a missing key
 * and for an empty string alike. A WRONGTYPE error is RDR_REPLY_WRONG_TYPE
 * (it->type NULL: the plain command does not say which type it met). */
rdr_reply_kind_t rdr_reply_open_plain(rdr_reply_t *it, const redisReply *r,
		rdr_reply_kind_t type, int max_targets);

/* The entries of an opened reply, as the lookup would read them (every
 * entry, none of them judged: a sorted set's bad score stays
 * RDR_REPLY_Q_BAD, an entry that is no string stays one), written into out
 * (size bytes) as {int len, -1 for no string; int q; len bytes}, unaligned,
 * so that the replica (rdr_replica.c) keeps a key's value as the script
 * returned it and a lookup reads it back with rdr_reply_open_raw() through
 * the same rdr_reply_next(). An entry longer than RDR_URI_MAX bytes is cut
 * to RDR_URI_MAX (still too long: rejected when built, as the script's cut
 * ones are). Returns the bytes written, or -1 when they do not fit; *n: how
 * many entries. it is read to its end. */
int rdr_reply_raw_write(rdr_reply_t *it, char *out, int size, int *n);

/* Opens n raw entries (len bytes at raw, as rdr_reply_raw_write() wrote
 * them) of a key of that kind; type: the type name for
 * RDR_REPLY_WRONG_TYPE (may be NULL). Returns kind. */
rdr_reply_kind_t rdr_reply_open_raw(rdr_reply_t *it, rdr_reply_kind_t kind,
		const char *type, int type_len, const char *raw, int len, int n,
		int max_targets);

/* route_types: "any" (0: the script reads every type), or one of "string",
 * "list", "zset" (that kind); -1 for anything else. */
int rdr_route_types_parse(const char *s, int len);

/* The next raw entry into *e, in the reply's order; accepted: how many
 * targets the caller has taken so far. Returns 0 when there is none left or
 * accepted reached max_targets (the reply itself holds at most the script's
 * fetch limit, RDR_FETCH_MAX entries), else 1. */
int rdr_reply_next(rdr_reply_t *it, int accepted, rdr_reply_entry_t *e);

/*
 * a lookup's result: the validated targets of one key
 */

typedef struct rdr_target
{
	str uri; /* NUL-terminated, points into the result's own buffer; before
			  * the gateways are resolved (rdr_gw_resolve()), "@NAME" names
			  * a gateway */
	int q;	 /* q-value in thousandths, -1 when the key has no scores */
	str gw;	 /* the gateway's NAME; len 0 for a plain target */
	str attrs; /* the gateway's attrs; len 0 when none */
} rdr_target_t;

/* 1 when t names a gateway not resolved yet (every built URI starts with
 * "sip"). */
static inline int rdr_target_is_ref(const rdr_target_t *t)
{
	return t->uri.len > 0 && t->uri.s[0] == '@';
}

typedef struct rdr_result
{
	int n;
	int list; /* the targets come from a list: their q-values are its
			   * positions', set again once gateways are resolved */
	int refs; /* how many of t[] are gateways not resolved yet */
	str key; /* the key that matched, without key_prefix (prefix matching:
			  * a prefix of the lookup key, or the default key) */
	char key_buf[RDR_KEY_MAX + 1];
	rdr_target_t t[RDR_TARGETS_MAX];
	char buf[RDR_TARGETS_MAX][RDR_URI_MAX];
	char gw_buf[RDR_TARGETS_MAX][RDR_GW_NAME_MAX + 1];
	char attrs_buf[RDR_TARGETS_MAX][RDR_GW_ATTRS_MAX + 1];
} rdr_result_t;

/* No targets, no key: before a lookup writes into r. */
static inline void rdr_result_clear(rdr_result_t *r)
{
	r->n = 0;
	r->list = 0;
	r->refs = 0;
	r->key.s = r->key_buf;
	r->key.len = 0;
}

/* Points target i's strings at r's own buffers (uri, gw, attrs; the gw and
 * attrs empty). */
static inline rdr_target_t *rdr_result_slot(rdr_result_t *r, int i)
{
	rdr_target_t *t = &r->t[i];

	t->uri.s = r->buf[i];
	t->uri.len = 0;
	t->gw.s = r->gw_buf[i];
	t->gw.len = 0;
	t->gw.s[0] = '\0';
	t->attrs.s = r->attrs_buf[i];
	t->attrs.len = 0;
	t->attrs.s[0] = '\0';
	return t;
}

/*
 * The packed form of an answer: what travels with a request (an XAVP that
 * tm keeps with the transaction, so that a failure route in tm's timer
 * process reads it) and from an async I/O process to the process that
 * resumes the request (there before its gateways are resolved). One block:
 * rdr_packed_hdr_t, the lookup key asked for, the key that matched, then n
 * targets as rdr_targets_write() writes them, with NULs.
 */
typedef struct rdr_packed_hdr
{
	int rc;		   /* the lookup's return code */
	short n;	   /* targets (0 unless rc is RDR_OK) */
	short next;	   /* sip_forward_next(): the target it relays to next */
	short lkeylen; /* the lookup key asked for, without key_prefix */
	short keylen;  /* the key that matched (rdr_result_t.key) */
	short list;	   /* rdr_result_t.list */
	short refs;	   /* rdr_result_t.refs */
} rdr_packed_hdr_t;

/* One target's encoded header: {int len; int q; gw len; attrs len}. */
#define RDR_TARGET_HDR (2 * sizeof(int) + 2)

/* The largest packed answer. */
#define RDR_PACKED_MAX                                                  \
	(sizeof(rdr_packed_hdr_t) + 2 * RDR_KEY_MAX                         \
			+ RDR_TARGETS_MAX                                           \
					  * (RDR_TARGET_HDR + RDR_URI_MAX + RDR_GW_NAME_MAX \
							  + RDR_GW_ATTRS_MAX + 3))

/* A packed answer read in place: every str points into the block. */
typedef struct rdr_view
{
	int rc;
	int n;
	int next;
	int list;
	int refs;
	str lkey;
	str key;
	rdr_target_t t[RDR_TARGETS_MAX];
} rdr_view_t;

/* The one encoding of a list of targets, which the packed answer and a cache
 * entry (rdr_cache_entry.c) share: each target as {int uri length; int q;
 * unsigned char gw length; unsigned char attrs length; the URI; the gw; the
 * attrs}, and with nul a NUL after each string (the packed answer's, so
 * that its views are C strings). rdr_targets_size(): the bytes t[0..n-1]
 * take; rdr_targets_write(): writes them at p (need not be aligned),
 * returns the end; rdr_targets_read(): reads n of them from p (end: the
 * block's end) into res's own buffers, returns the end, or NULL when they
 * do not fit or are not valid. */
int rdr_targets_size(const rdr_target_t *t, int n, int nul);
char *rdr_targets_write(char *p, const rdr_target_t *t, int n, int nul);
const char *rdr_targets_read(
		const char *p, const char *end, int n, int nul, rdr_result_t *res);

/* Packs rc and res (its targets only for RDR_OK) for the lookup key lkey
 * into buf (size bytes), with next 1. Returns the length, or -1 when it
 * does not fit. */
int rdr_result_pack(
		char *buf, int size, const str *lkey, int rc, const rdr_result_t *res);

/* Reads a packed answer of len bytes into v (pointers into buf). Returns
 * 0, or -1 when the block is not a whole, consistent packed answer. */
int rdr_result_view(const char *buf, int len, rdr_view_t *v);

/* Sets the packed answer's next target (sip_forward_next()). */
void rdr_result_set_next(char *buf, int next);

/* Copies a view's answer into res (its own buffers): the async resume
 * resolves the gateways of an answer handed on packed. */
void rdr_result_from_view(const rdr_view_t *v, rdr_result_t *res);

#endif
