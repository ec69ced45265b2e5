/*
 * Copyright (C) 2026 redisroute authors
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
 * redisroute - one lookup: key -> Redis -> validated target list
 */

#ifndef _RR_LOOKUP_H_
#define _RR_LOOKUP_H_

#include <hiredis/hiredis.h>

#include "core/str.h"

#include "rr_target.h"

/* return codes shared by every script function (README.md's "Return codes",
 * the docbook's Functions) */
#define RR_OK 1
#define RR_NO_ROUTE -1
#define RR_UNAVAILABLE -2
#define RR_BAD_DATA -3
#define RR_NOT_APPLICABLE -4
#define RR_RELAY_FAILED -5

/* hard bounds: max_targets may not exceed RR_TARGETS_MAX; at most
 * RR_FETCH_MAX entries of one key are read, invalid ones included */
#define RR_TARGETS_MAX 32
#define RR_FETCH_MAX 64
#define RR_KEY_MAX 256
#define RR_PREFIX_MAX 128
/* prefix matching: the most candidate keys one lookup tries (the longest
 * prefixes, then the default key) */
#define RR_CANDIDATES_MAX 33

typedef struct rr_target
{
	str uri; /* NUL-terminated, points into the result's own buffer */
	int q;	 /* q-value in thousandths, -1 when the key has no scores */
} rr_target_t;

typedef struct rr_result
{
	int n;
	str key; /* the key that matched, without key_prefix (prefix matching:
			  * a prefix of the lookup key, or the default key) */
	char key_buf[RR_KEY_MAX + 1];
	rr_target_t t[RR_TARGETS_MAX];
	char buf[RR_TARGETS_MAX][RR_URI_MAX];
} rr_result_t;

typedef struct rr_prefix_cfg
{
	int on;			 /* 0: exact key only */
	int max_length;	 /* longest prefix tried (the key is cut to it) */
	int min_length;	 /* shortest prefix tried */
	str default_key; /* tried last; empty: none */
} rr_prefix_cfg_t;

/* In mod_init, after the connection is configured. */
int rr_lookup_init(
		const str *prefix, int max_targets, const rr_prefix_cfg_t *pfx);

/* Resolves key (without the prefix) into res; with prefix matching, the
 * longest existing prefix of key wins, then the default key. ruri_user and
 * sips are what a bare-host target is completed with. Returns RR_OK,
 * RR_NO_ROUTE, RR_UNAVAILABLE or RR_BAD_DATA, and counts the statistics. */
int rr_lookup(const str *key, const str *ruri_user, int sips, rr_result_t *res);

/* 1 when prefix matching is on. */
int rr_lookup_prefix_mode(void);

/* The lookup script, for rr_cluster.c. argv and lens need room for
 * RR_SCRIPT_ARGV_MAX entries. */
#define RR_SCRIPT_ARGV_MAX (RR_CANDIDATES_MAX + 5)
/* EVALSHA (EVAL when eval is set, or when no node has loaded the script
 * yet) over keys; returns argc. */
int rr_lookup_script_argv(int eval, int nkeys, const char **keys,
		const size_t *klens, const char **argv, size_t *lens);
/* SCRIPT LOAD of the script; returns argc. */
int rr_lookup_script_load_argv(const char **argv, size_t *lens);
/* Records the SHA1 a SCRIPT LOAD replied; -1 when r is no SHA1. */
int rr_lookup_script_loaded(const redisReply *r);
/* 1 when r is an error reply starting with prefix ("NOSCRIPT", ...). */
int rr_reply_is_error(const redisReply *r, const char *prefix);

/* Logs bad route data of key (a rejected target, a wrong type): once per
 * (key, value) and process every few minutes, not once per request. */
void rr_lookup_report(
		const str *key, const char *raw, int raw_len, const char *why);

#endif
