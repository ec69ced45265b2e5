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
 * redisroute - the lookup's command: the lookup script (EVALSHA/EVAL over
 * the candidate keys), or, with route_types naming one type, that type's
 * plain read command (GETRANGE, LRANGE or ZREVRANGE) over the one key of an
 * exact lookup.
 *
 * The script's KEYS are the candidate keys, best first; its reply is
 * {'none'}, or {type, {entries}, index of the key that exists}. Per process,
 * the SHA1 of the script once a SCRIPT LOAD answered.
 */

#ifndef _RDR_EVAL_H_
#define _RDR_EVAL_H_

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "redisroute.h"
#include "rdr_targets.h"

/* In mod_init: formats the fixed arguments once. */
void rdr_eval_init(void);
/* In mod_init: the shared table of the keys' types (without route_types).
 * 0, or -1 without memory. */
int rdr_eval_hints_init(void);
void rdr_eval_hints_destroy(void);

/* The command one lookup sends (its "kind"): 0 for the script, or
 * RDR_REPLY_STRING, _LIST or _ZSET for that type's plain read command over
 * the one key of an exact lookup: route_types' type, else the type learned
 * for key, else the type most keys have, else the script. */
int rdr_eval_choose(int nkeys, const char *key, size_t klen);
/* After the final reply r to a lookup of one key sent as kind: learns the
 * key's type. */
void rdr_eval_learn(
		int kind, const redisReply *r, const char *key, size_t klen);
/* 1 when r, the answer to a plain command sent on a guess, is WRONGTYPE:
 * the caller sends the script (kind 0) at once. (With route_types it is
 * bad route data instead.) */
int rdr_eval_wrong_guess(int kind, const redisReply *r);
/* In mod_init: route_types' kind (rdr_route_types_parse), 0 for the
 * script. A plain command takes exactly one key. */
void rdr_eval_set_plain(int kind);
/* route_types' kind, 0 when lookups run the script. */
int rdr_eval_plain(void);
/* Kind 0: EVALSHA_RO (EVAL_RO when eval is set, or when the script is not
 * loaded yet; EVALSHA and EVAL on a server without them) over keys into
 * argv/lens (room for RDR_SCRIPT_ARGV_MAX); returns argc. Another kind:
 * its plain command over keys[0], whatever eval says. */
int rdr_eval_argv(int kind, int eval, int nkeys, const char **keys,
		const size_t *klens, const char **argv, size_t *lens);
/* The same EVALSHA(_RO) command, formatted as RESP into buf (size bytes),
 * for redisAppendFormattedCommand(): the lookup's command costs no
 * allocation and no per-argument formatting in hiredis. Returns its length,
 * or -1 when the script is not loaded yet (EVAL) or buf is too small. */
#define RDR_EVAL_FORMAT_MAX 16384
int rdr_eval_format(int kind, int nkeys, const char **keys,
		const size_t *klens, char *buf, size_t size);
/* 1 when r says the server has no EVALSHA_RO (Redis 6): this process then
 * sends EVALSHA, and the caller sends the lookup again. */
int rdr_eval_ro_unknown(const redisReply *r);
/* SCRIPT LOAD of the script; returns argc. */
int rdr_eval_load_argv(const char **argv, size_t *lens);
/* 1 once this process knows the script's SHA1. */
int rdr_eval_is_loaded(void);
/* Records the SHA1 a SCRIPT LOAD replied; -1 when r is no SHA1. */
int rdr_eval_loaded(const redisReply *r);
/* 1 when r says that no key exists: the script's {'none'}, a plain
 * command's empty string or array. */
int rdr_eval_none(int kind, const redisReply *r);
/* The index in the script's nkeys keys of the key a reply names (its third
 * element, 1-based); -1 when it names none of them. A plain command's
 * non-empty answer names its one key: 0. */
int rdr_eval_matched(int kind, const redisReply *r, int nkeys);
/* 1 when r is an error reply starting with prefix ("NOSCRIPT", ...). */
int rdr_reply_is_error(const redisReply *r, const char *prefix);

#endif
