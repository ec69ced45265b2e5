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
 * redisroute - the lookup script: its text, its SHA1, its argv, and the
 * checks of Redis's replies to it. A leaf: the one-server eval
 * (rdr_conn.c), the cluster's (rdr_cluster.c) and the async I/O process
 * (rdr_async_io.c) all send it.
 */

#include <stdio.h>
#include <string.h>

#include "core/atomic_ops.h"
#include "core/dprint.h"
#include "rdr_syntax.h"
#include "core/mem/shm_mem.h"

#include "rdr_eval.h"
#include "rdr_targets.h"

/* KEYS = the candidate keys, best first (one key for an exact lookup; the
 * longest prefix first, then the default key, for a prefix lookup);
 * ARGV[1] = entries to read; ARGV[2] = longest entry kept whole (longer ones
 * are cut to ARGV[2] + 1 bytes, still too long, so they are rejected on our
 * side). Returns {'none'} when no candidate exists, else {type, {entries},
 * index of the key}; a sorted set's entries alternate member and score,
 * highest score first; a type that holds no route comes with no entries. */
static const char _rdr_script[] =
		"local n = tonumber(ARGV[1])\n"
		"local m = tonumber(ARGV[2])\n"
		"for k = 1, #KEYS do\n"
		"  local t = redis.call('TYPE', KEYS[k]).ok\n"
		"  if t ~= 'none' then\n"
		"    local v\n"
		"    if t == 'string' then v = {redis.call('GETRANGE', KEYS[k], 0, "
		"m)}\n"
		"    elseif t == 'list' then v = redis.call('LRANGE', KEYS[k], 0, n - "
		"1)\n"
		"    elseif t == 'zset' then\n"
		"      v = redis.call('ZREVRANGE', KEYS[k], 0, n - 1, 'WITHSCORES')\n"
		"    else return {t, {}, k} end\n"
		"    for i = 1, #v do\n"
		"      if #v[i] > m then v[i] = string.sub(v[i], 1, m + 1) end\n"
		"    end\n"
		"    return {t, v, k}\n"
		"  end\n"
		"end\n"
		"return {'none'}\n";

static char _rdr_fetch_arg[16];		 /* ARGV[1] */
static char _rdr_fetch_last_arg[16]; /* a plain LRANGE/ZREVRANGE's stop */
static char _rdr_maxlen_arg[16];
/* a plain command in RESP, around its key: "*<n>\r\n$<len>\r\n<name>\r\n"
 * before "$<klen>\r\n<key>\r\n", its fixed arguments after; formatted
 * once (index: kind - RDR_REPLY_STRING) */
static char _rdr_plain_head[3][40];
static int _rdr_plain_headlen[3];
static char _rdr_plain_tail[3][64];
static int _rdr_plain_taillen[3];
/* "1" .. "33": the numkeys argument, formatted once, not per lookup */
static char _rdr_numkeys_arg[RDR_CANDIDATES_MAX + 1][4]; /* ARGV[2] */
static char _rdr_sha[41] = {0}; /* per process: SHA1 of the loaded script */
/* per process: 1 while the server takes EVALSHA_RO and EVAL_RO (Redis 7,
 * Valkey), which need only read access to the keys (an ACL's %R~) and run
 * on replicas too; 0 once one answered "unknown command" (Redis 6) */
static int _rdr_eval_ro = 1;
/* route_types: 0 for the script, else the one type (RDR_REPLY_STRING, _LIST,
 * _ZSET) whose plain command an exact lookup sends instead */
static int _rdr_plain = 0;

/* The keys' types, learned: an exact lookup of a key whose type is known
 * sends that type's plain command, which costs Redis a third of the
 * script; a key of unknown type gets the type most keys have (once one
 * clearly dominates what this process saw), else the script, whose reply
 * says the type. A wrong guess (the key changed type, or its hint was
 * evicted) answers WRONGTYPE and the lookup runs the script at once.
 * Shared memory, one word per slot: the key's hash with its low 2 bits
 * replaced by the type (1 string, 2 list, 3 sorted set), 0 empty. */
#define RDR_HINT_SLOTS 65536
static atomic_t *_rdr_hints = NULL;
/* per process: the types the answers had, for the default guess */
static unsigned int _rdr_seen[4];
static unsigned int _rdr_seen_total = 0;
static int _rdr_guess = 0; /* the type guessed for unknown keys, 0: none */

int rdr_eval_hints_init(void)
{
	int i;

	_rdr_hints = shm_malloc(RDR_HINT_SLOTS * sizeof(atomic_t));
	if(_rdr_hints == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	for(i = 0; i < RDR_HINT_SLOTS; i++)
		atomic_set(&_rdr_hints[i], 0);
	return 0;
}

void rdr_eval_hints_destroy(void)
{
	if(_rdr_hints != NULL)
		shm_free(_rdr_hints);
	_rdr_hints = NULL;
}

/* RDR_REPLY_STRING/_LIST/_ZSET <-> 1/2/3 */
static inline unsigned int rdr_kind_bits(int kind)
{
	return (unsigned int)(kind - RDR_REPLY_STRING + 1);
}

static inline int rdr_bits_kind(unsigned int bits)
{
	return (int)bits + RDR_REPLY_STRING - 1;
}

static unsigned int rdr_key_hash(const char *key, size_t len)
{
	return rdr_hash32(key, (int)len);
}

int rdr_eval_choose(int nkeys, const char *key, size_t klen)
{
	unsigned int h, v;

	if(_rdr_plain)
		return _rdr_plain;
	if(nkeys != 1 || _rdr_hints == NULL)
		return 0; /* several candidates: the script, in one trip */
	h = rdr_key_hash(key, klen);
	v = (unsigned int)atomic_get(&_rdr_hints[h % RDR_HINT_SLOTS]);
	if(v != 0 && (v & ~3u) == (h & ~3u))
		return rdr_bits_kind(v & 3u);
	return _rdr_guess;
}

/* What this process saw: the guess for unknown keys is the type of at least
 * 15 in 16 of the last answers, once there are 16. */
static void rdr_eval_seen(int kind)
{
	unsigned int b = rdr_kind_bits(kind), i;

	_rdr_seen[b]++;
	if(++_rdr_seen_total >= 1024) {
		for(i = 1; i < 4; i++)
			_rdr_seen[i] /= 2;
		_rdr_seen_total = _rdr_seen[1] + _rdr_seen[2] + _rdr_seen[3];
	}
	_rdr_guess = 0;
	if(_rdr_seen_total >= 16)
		for(i = 1; i < 4; i++)
			if(_rdr_seen[i] * 16 >= _rdr_seen_total * 15)
				_rdr_guess = rdr_bits_kind(i);
}

void rdr_eval_learn(
		int kind, const redisReply *r, const char *key, size_t klen)
{
	unsigned int h;
	int found = 0;

	if(_rdr_plain || _rdr_hints == NULL || r == NULL)
		return;
	if(kind != 0) {
		/* a plain command's answer: the key has that type (or is gone) */
		if(!rdr_eval_none(kind, r) && r->type != REDIS_REPLY_ERROR)
			found = kind;
	} else if(r->type == REDIS_REPLY_ARRAY && r->elements >= 3
			  && r->element[0]->type == REDIS_REPLY_STRING) {
		const char *t = r->element[0]->str;
		found = strcmp(t, "string") == 0
						? RDR_REPLY_STRING
						: (strcmp(t, "list") == 0
										? RDR_REPLY_LIST
										: (strcmp(t, "zset") == 0 ? RDR_REPLY_ZSET
																  : 0));
	}
	if(found == 0)
		return;
	rdr_eval_seen(found);
	/* the guess covers the keys of the type most have: only the others
	 * take a slot, so that few of them share one */
	if(found == _rdr_guess && kind == found)
		return;
	h = rdr_key_hash(key, klen);
	atomic_set(&_rdr_hints[h % RDR_HINT_SLOTS],
			(int)((h & ~3u) | rdr_kind_bits(found)));
}

int rdr_eval_wrong_guess(int kind, const redisReply *r)
{
	return kind != 0 && !_rdr_plain && rdr_reply_is_error(r, "WRONGTYPE");
}

static void rdr_eval_plain_init(void);

void rdr_eval_init(void)
{
	int i;

	for(i = 0; i <= RDR_CANDIDATES_MAX; i++)
		snprintf(_rdr_numkeys_arg[i], sizeof(_rdr_numkeys_arg[i]), "%d", i);
	snprintf(_rdr_fetch_arg, sizeof(_rdr_fetch_arg), "%d", RDR_FETCH_MAX);
	snprintf(_rdr_fetch_last_arg, sizeof(_rdr_fetch_last_arg), "%d",
			RDR_FETCH_MAX - 1);
	snprintf(_rdr_maxlen_arg, sizeof(_rdr_maxlen_arg), "%d", RDR_URI_MAX - 1);
	rdr_eval_plain_init();
}

void rdr_eval_set_plain(int kind)
{
	_rdr_plain = kind;
}

int rdr_eval_plain(void)
{
	return _rdr_plain;
}

/* The plain command of route_types over its one key: the same bounds as the
 * script's (a string cut to the longest entry kept + 1 bytes, at most
 * RDR_FETCH_MAX entries). */
static int rdr_eval_plain_argv(int kind, const char *key, size_t klen,
		const char **argv, size_t *lens)
{
	int i, argc = 0;

	argv[argc++] = kind == RDR_REPLY_STRING
						   ? "GETRANGE"
						   : (kind == RDR_REPLY_LIST ? "LRANGE" : "ZREVRANGE");
	argv[argc++] = key;
	argv[argc++] = "0";
	argv[argc++] =
			kind == RDR_REPLY_STRING ? _rdr_maxlen_arg : _rdr_fetch_last_arg;
	if(kind == RDR_REPLY_ZSET)
		argv[argc++] = "WITHSCORES";
	for(i = 0; i < argc; i++)
		if(i != 1)
			lens[i] = strlen(argv[i]);
	lens[1] = klen;
	return argc;
}

int rdr_eval_argv(int kind, int eval, int nkeys, const char **keys,
		const size_t *klens, const char **argv, size_t *lens)
{
	int i, argc = 0;

	if(kind)
		return rdr_eval_plain_argv(kind, keys[0], klens[0], argv, lens);
	if(!eval && _rdr_sha[0] == '\0')
		eval = 1;
	if(_rdr_eval_ro)
		argv[argc] = eval ? "EVAL_RO" : "EVALSHA_RO";
	else
		argv[argc] = eval ? "EVAL" : "EVALSHA";
	lens[argc] = strlen(argv[argc]);
	argc++;
	argv[argc] = eval ? _rdr_script : _rdr_sha;
	lens[argc++] = eval ? sizeof(_rdr_script) - 1 : 40;
	argv[argc] = _rdr_numkeys_arg[nkeys];
	lens[argc++] = strlen(_rdr_numkeys_arg[nkeys]);
	for(i = 0; i < nkeys; i++) {
		argv[argc] = keys[i];
		lens[argc++] = klens[i];
	}
	argv[argc] = _rdr_fetch_arg;
	lens[argc++] = strlen(_rdr_fetch_arg);
	argv[argc] = _rdr_maxlen_arg;
	lens[argc++] = strlen(_rdr_maxlen_arg);
	return argc;
}

/* Writes v in decimal at p; returns the end. */
static char *rdr_eval_put_uint(char *p, size_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while(v != 0);
	while(n > 0)
		*p++ = tmp[--n];
	return p;
}

/* Formats argv as RESP into buf (size bytes); -1 when it does not fit. */
static int rdr_eval_resp(
		int argc, const char **argv, const size_t *lens, char *buf, size_t size)
{
	char *p = buf, *end = buf + size;
	int i;

	/* "*<argc>\r\n", then "$<len>\r\n<arg>\r\n" each: 24 bytes bound
	 * the decimal and the separators */
	if(end - p < 24)
		return -1;
	*p++ = '*';
	p = rdr_eval_put_uint(p, (size_t)argc);
	*p++ = '\r';
	*p++ = '\n';
	for(i = 0; i < argc; i++) {
		if((size_t)(end - p) < lens[i] + 32)
			return -1;
		*p++ = '$';
		p = rdr_eval_put_uint(p, lens[i]);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, argv[i], lens[i]);
		p += lens[i];
		*p++ = '\r';
		*p++ = '\n';
	}
	return (int)(p - buf);
}

/* The plain commands' fixed parts, in RESP, once. */
static void rdr_eval_plain_init(void)
{
	static const char key[] = "K";
	const char *argv[6];
	size_t lens[6];
	char buf[128];
	int k, argc, len, at;

	for(k = 0; k < 3; k++) {
		argc = rdr_eval_plain_argv(
				RDR_REPLY_STRING + k, key, 1, argv, lens);
		len = rdr_eval_resp(argc, argv, lens, buf, sizeof(buf));
		/* the key's argument, "$1\r\nK\r\n", splits the command */
		at = (int)(strstr(buf, "$1\r\nK\r\n") - buf);
		memcpy(_rdr_plain_head[k], buf, at);
		_rdr_plain_headlen[k] = at;
		memcpy(_rdr_plain_tail[k], buf + at + 7, len - at - 7);
		_rdr_plain_taillen[k] = len - at - 7;
	}
}

int rdr_eval_format(int kind, int nkeys, const char **keys,
		const size_t *klens, char *buf, size_t size)
{
	const char *argv[RDR_SCRIPT_ARGV_MAX];
	size_t lens[RDR_SCRIPT_ARGV_MAX];
	char *p = buf;
	int argc, k;

	if(kind) {
		/* the hot path: the fixed parts copied, the key's length written */
		k = kind - RDR_REPLY_STRING;
		if(size < (size_t)_rdr_plain_headlen[k] + _rdr_plain_taillen[k]
						  + klens[0] + 32)
			return -1;
		memcpy(p, _rdr_plain_head[k], _rdr_plain_headlen[k]);
		p += _rdr_plain_headlen[k];
		*p++ = '$';
		p = rdr_eval_put_uint(p, klens[0]);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, keys[0], klens[0]);
		p += klens[0];
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, _rdr_plain_tail[k], _rdr_plain_taillen[k]);
		p += _rdr_plain_taillen[k];
		return (int)(p - buf);
	}
	if(_rdr_sha[0] == '\0')
		return -1; /* EVAL: its script is long, hiredis formats it */
	argc = rdr_eval_argv(0, 0, nkeys, keys, klens, argv, lens);
	return rdr_eval_resp(argc, argv, lens, buf, size);
}

int rdr_eval_ro_unknown(const redisReply *r)
{
	if(!_rdr_eval_ro || r == NULL || r->type != REDIS_REPLY_ERROR
			|| strstr(r->str, "unknown command") == NULL
			|| strstr(r->str, "_RO") == NULL)
		return 0;
	_rdr_eval_ro = 0;
	LM_INFO("redis has no EVALSHA_RO (before 7.0): EVALSHA from now on, "
			"which needs write access to the keys in an ACL\n");
	return 1;
}

int rdr_eval_load_argv(const char **argv, size_t *lens)
{
	argv[0] = "SCRIPT";
	lens[0] = 6;
	argv[1] = "LOAD";
	lens[1] = 4;
	argv[2] = _rdr_script;
	lens[2] = sizeof(_rdr_script) - 1;
	return 3;
}

int rdr_eval_is_loaded(void)
{
	return _rdr_sha[0] != '\0';
}

int rdr_eval_loaded(const redisReply *r)
{
	if(r == NULL || r->type != REDIS_REPLY_STRING || r->len != 40)
		return -1;
	memcpy(_rdr_sha, r->str, 40);
	_rdr_sha[40] = '\0';
	return 0;
}

int rdr_eval_none(int kind, const redisReply *r)
{
	if(r == NULL)
		return 0;
	if(kind)
		return (r->type == REDIS_REPLY_STRING && r->len == 0)
			   || (r->type == REDIS_REPLY_ARRAY && r->elements == 0);
	return r->type == REDIS_REPLY_ARRAY && r->elements == 1
		   && r->element[0]->type == REDIS_REPLY_STRING
		   && r->element[0]->len == 4
		   && memcmp(r->element[0]->str, "none", 4) == 0;
}

int rdr_eval_matched(int kind, const redisReply *r, int nkeys)
{
	const redisReply *k;

	if(kind)
		return r != NULL && nkeys == 1
							   && ((r->type == REDIS_REPLY_STRING && r->len > 0)
									   || (r->type == REDIS_REPLY_ARRAY
											   && r->elements > 0))
					   ? 0
					   : -1;
	if(r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return -1;
	k = r->element[2];
	if(k->type != REDIS_REPLY_INTEGER || k->integer < 1 || k->integer > nkeys)
		return -1;
	return (int)k->integer - 1;
}

int rdr_reply_is_error(const redisReply *r, const char *prefix)
{
	size_t len = strlen(prefix);

	return r != NULL && r->type == REDIS_REPLY_ERROR && r->len >= len
		   && memcmp(r->str, prefix, len) == 0;
}
