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
 * redisroute - the lookup script's reply, read without the core (pure: libc
 * and hiredis's reply type only)
 *
 * The script (rdr_eval.c) answers {'none'} or {type, {entries}, index}. What
 * kind of answer it is and which raw entries it holds, in order, with a
 * sorted set's scores as q-values, is decided here; rdr_lookup.c turns the
 * entries into targets (rdr_target_build, the core's parse_uri) and logs the
 * bad ones. Nothing here calls hiredis: the unit tests build replies by hand.
 */

#ifndef _RDR_REPLY_H_
#define _RDR_REPLY_H_

#include <stddef.h>

#include <hiredis/hiredis.h>

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
} rdr_reply_t;

/* Classifies r, the script's reply; matched: the backend's index of the key
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

/* route_types: "any" (0: the script reads every type), or one of "string",
 * "list", "zset" (that kind); -1 for anything else. */
int rdr_route_types_parse(const char *s, int len);

/* The next raw entry into *e, in the reply's order; accepted: how many
 * targets the caller has taken so far. Returns 0 when there is none left or
 * accepted reached max_targets (the reply itself holds at most the script's
 * fetch limit, RDR_FETCH_MAX entries), else 1. */
int rdr_reply_next(rdr_reply_t *it, int accepted, rdr_reply_entry_t *e);

#endif
