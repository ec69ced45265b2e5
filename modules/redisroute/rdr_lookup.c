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
 * redisroute - one lookup: key -> Redis -> validated target list
 *
 * Whatever the key's type, a lookup is one round trip: a small Lua script,
 * loaded once per connection and called with EVALSHA, reads the type and the
 * entries together and truncates over-long entries, so that a hostile value
 * can neither cost a second trip nor a large transfer. When the table holds
 * one type only (route_types), an exact lookup sends that type's plain read
 * command instead, which costs Redis less than the script (rdr_eval.h).
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/dprint.h"
#include "core/hashes.h"
#include "core/parser/parse_uri.h"

#include "redisroute.h"
#include "rdr_cache.h"
#include "rdr_conn.h"
#include "rdr_eval.h"
#include "rdr_lookup.h"
#include "rdr_cache_sync.h"
#include "rdr_cluster.h"
#include "rdr_gw.h"
#include "rdr_gw_record.h"
#include "rdr_replica.h"
#include "rdr_select.h"
#include "rdr_targets.h"
#include "rdr_stats.h"

#if RDR_URI_MAX != MAX_URI_SIZE
#error "RDR_URI_MAX must equal Kamailio's MAX_URI_SIZE"
#endif

static char _rdr_prefix[RDR_PREFIX_MAX];
static int _rdr_prefix_len = 0;
static int _rdr_max_targets = 8;
static int _rdr_cluster = 0; /* lookups go to a Redis Cluster */
static rdr_prefix_cfg_t _rdr_pfx;
static char _rdr_default_key[RDR_KEY_MAX];

/* per process: recently reported bad targets, so that a bad entry in a busy
 * key is logged once, not once per request */
#define RDR_BAD_LOG_SLOTS 32
#define RDR_BAD_LOG_SECONDS 300
static struct
{
	unsigned int hash;
	time_t when;
} _rdr_bad_log[RDR_BAD_LOG_SLOTS];

int rdr_lookup_init(const str *prefix, int max_targets,
		const rdr_prefix_cfg_t *pfx, int cluster)
{
	if(prefix->len < 0 || prefix->len >= RDR_PREFIX_MAX) {
		LM_ERR("key_prefix longer than %d bytes\n", RDR_PREFIX_MAX - 1);
		return -1;
	}
	if(prefix->len > 0)
		memcpy(_rdr_prefix, prefix->s, prefix->len);
	_rdr_prefix_len = prefix->len;
	_rdr_max_targets = max_targets;
	_rdr_cluster = cluster;
	rdr_eval_init();
	memset(&_rdr_pfx, 0, sizeof(_rdr_pfx));
	if(pfx != NULL && pfx->on) {
		_rdr_pfx = *pfx;
		if(pfx->min_length < 1 || pfx->max_length < pfx->min_length
				|| pfx->max_length > RDR_CANDIDATES_MAX - 1
				|| pfx->default_key.len > RDR_KEY_MAX) {
			LM_ERR("prefix matching needs 1 <= prefix_min_length <= "
				   "prefix_max_length <= %d and a default key of at most %d "
				   "bytes\n",
					RDR_CANDIDATES_MAX - 1, RDR_KEY_MAX);
			return -1;
		}
		if(pfx->default_key.len > 0)
			memcpy(_rdr_default_key, pfx->default_key.s, pfx->default_key.len);
		_rdr_pfx.default_key.s = _rdr_default_key;
	}
	return 0;
}

int rdr_lookup_prefix_mode(void)
{
	return _rdr_pfx.on;
}

/* Logs a rejected target unless this process reported it recently. The
 * target is printed escaped: it may hold CR/LF or other control bytes. */
void rdr_lookup_report(
		const str *key, const char *raw, int raw_len, const char *why)
{
	str value = {(char *)raw, raw_len};
	/* the core's hash of both strings, each ended on its own (core/hashes.h) */
	unsigned int h = get_hash2_raw(key, &value);
	unsigned int slot = h % RDR_BAD_LOG_SLOTS;
	time_t now = rdr_conn_now_s();
	char shown[128];
	int i, n = 0;

	if(_rdr_bad_log[slot].hash == h
			&& now - _rdr_bad_log[slot].when < RDR_BAD_LOG_SECONDS)
		return;
	_rdr_bad_log[slot].hash = h;
	_rdr_bad_log[slot].when = now;
	for(i = 0; i < raw_len && n < (int)sizeof(shown) - 8; i++) {
		unsigned char c = (unsigned char)raw[i];
		if(c >= 0x20 && c < 0x7f && c != '\\')
			shown[n++] = (char)c;
		else
			n += snprintf(shown + n, sizeof(shown) - n, "\\x%02x", c);
	}
	shown[n] = '\0';
	LM_WARN("bad route data in key '%.*s%.*s': '%s%s' (%d bytes) rejected: "
			"%s\n",
			_rdr_prefix_len, _rdr_prefix, key->len, key->s, shown,
			i < raw_len ? "..." : "", raw_len, why);
}

/* Validates one raw entry and appends it to res: a target, or "@NAME", a
 * gateway resolved later (rdr_gw_resolve()). */
static void rdr_add_target(const str *key, const rdr_reply_entry_t *e,
		const str *ruri_user, int sips, rdr_result_t *res)
{
	rdr_target_t *t;
	struct sip_uri puri;
	int len;

	if(e->s == NULL) {
		rdr_lookup_report(key, "", 0, "not a string");
		return;
	}
	t = rdr_result_slot(res, res->n);
	if(e->len > 0 && e->s[0] == '@') {
		if(!rdr_gw_name_ok(e->s + 1, e->len - 1)) {
			rdr_lookup_report(key, e->s, e->len,
					"not a gateway name (@ and 1-64 of A-Z a-z 0-9 . _ -)");
			return;
		}
		memcpy(t->uri.s, e->s, e->len);
		t->uri.s[e->len] = '\0';
		t->uri.len = e->len;
		t->q = e->q;
		res->refs++;
		res->n++;
		return;
	}
	len = rdr_target_build(
			e->s, e->len, ruri_user->s, ruri_user->len, sips, t->uri.s, RDR_URI_MAX);
	if(len < 0) {
		rdr_lookup_report(key, e->s, e->len, rdr_target_strerror(len));
		return;
	}
	/* A full URI: the final word is Kamailio's own URI parser. A bare
	 * host was checked part by part (host, port, the user's characters);
	 * a user holding '@' (none from a parsed Request-URI; the C API's may)
	 * goes to the parser too. */
	if((rdr_target_is_uri(e->s, e->len)
			   || (ruri_user->len > 0
					   && memchr(ruri_user->s, '@', ruri_user->len) != NULL))
			&& (parse_uri(t->uri.s, len, &puri) < 0 || puri.host.len <= 0
					|| (puri.type != SIP_URI_T
							&& puri.type != SIPS_URI_T))) {
		rdr_lookup_report(key, e->s, e->len, "unparsable SIP URI");
		return;
	}
	t->uri.len = len;
	t->q = e->q;
	res->n++;
}

/* Turns an opened reply (got: its kind) into validated targets: the one
 * path of Redis's answers and the replica's (rdr_replica.c keeps the
 * entries the script returned, raw); key: the key that exists (NULL when
 * none does); rtype: the reply's hiredis type, for the log. */
static int rdr_parse_opened(const str *key, rdr_reply_t *it,
		rdr_reply_kind_t got, int rtype, const str *ruri_user, int sips,
		rdr_result_t *res)
{
	rdr_reply_entry_t e;
	int i;

	switch(got) {
		case RDR_REPLY_MALFORMED:
			if(it->untyped)
				LM_ERR("unexpected reply type %d from the lookup script\n",
						rtype);
			else
				LM_ERR("unexpected reply from the lookup script\n");
			return RDR_UNAVAILABLE;
		case RDR_REPLY_NONE:
		case RDR_REPLY_EMPTY:
			return RDR_NO_ROUTE;
		case RDR_REPLY_WRONG_TYPE:
			if(it->type == NULL)
				rdr_lookup_report(key, "", 0,
						"not the one Redis type route_types names");
			else
				rdr_lookup_report(key, it->type, it->type_len,
						"this Redis type holds no route (string, list or "
						"sorted set expected)");
			return RDR_BAD_DATA;
		default:
			break;
	}
	while(rdr_reply_next(it, res->n, &e)) {
		if(e.q == RDR_REPLY_Q_BAD) {
			rdr_lookup_report(key, e.s != NULL ? e.s : "", e.len,
					"score is not a q-value in [0, 1]");
			continue;
		}
		rdr_add_target(key, &e, ruri_user, sips, res);
	}
	/* max_targets counts the targets an answer ends with: with gateways (some
	 * may be left out) or a selection (which chooses among them all), they
	 * are counted once resolved and ordered (rdr_gw_resolve()) */
	if(res->refs == 0 && rdr_gw_selection() == RDR_SELECT_ORDER
			&& res->n > _rdr_max_targets)
		res->n = _rdr_max_targets;
	/* a list's order reaches a 3xx follower only as q-values: equal q
	 * leaves the order to the client (RFC 3261 8.1.3.4), and Kamailio's
	 * uac_redirect reverses it */
	if(it->kind == RDR_REPLY_LIST) {
		res->list = 1;
		for(i = 0; i < res->n; i++)
			res->t[i].q = rdr_list_qvalue(i, res->n);
	}
	return res->n > 0 ? RDR_OK : RDR_BAD_DATA;
}

/* Turns the script's reply into validated targets; matched: the eval's
 * index in cand of the key that exists (-1: none). */
static int rdr_parse_reply(const str *cand, int ncand, int matched, int kind,
		const redisReply *r, const str *ruri_user, int sips, rdr_result_t *res)
{
	rdr_reply_t it;
	rdr_reply_kind_t got;

	if(kind)
		got = rdr_reply_open_plain(
				&it, r, (rdr_reply_kind_t)kind, RDR_TARGETS_MAX);
	else
		got = rdr_reply_open(&it, r, matched, ncand, RDR_TARGETS_MAX);
	return rdr_parse_opened(matched >= 0 ? &cand[matched] : NULL, &it, got,
			r->type, ruri_user, sips, res);
}

/* The lookup from the replica (cache_preload): 0 when it cannot answer
 * (loading, a candidate being reloaded, this worker's subscription newer
 * than what the notifier applied), else the answer, built from the raw
 * entries exactly as from Redis's. */
static int rdr_lookup_replica(rdr_lookup_state_t *st, const str *ruri_user,
		int sips, rdr_result_t *res)
{
	rdr_reply_t it;
	int got, m = -1, ret;

	got = rdr_replica_get(st->ncand, st->pkeys, st->plens,
			rdr_notify_worker_since(), &m, &it);
	if(got == RDR_REPLICA_MISS)
		return 0;
	rdr_stats_inc(RDR_STAT_CACHE_HITS);
	if(got == RDR_REPLICA_NONE)
		return RDR_NO_ROUTE;
	ret = rdr_parse_opened(
			&st->cand[m], &it, it.kind, REDIS_REPLY_ARRAY, ruri_user, sips, res);
	if(ret == RDR_OK || ret == RDR_BAD_DATA) {
		memcpy(res->key_buf, st->cand[m].s, st->cand[m].len);
		res->key.len = st->cand[m].len;
		res->key_buf[res->key.len] = '\0';
	}
	return ret;
}

/* Counts a lookup's outcome. */
static void rdr_count(int ret)
{
	switch(ret) {
		case RDR_OK:
			rdr_stats_inc(RDR_STAT_HITS);
			break;
		case RDR_NO_ROUTE:
			rdr_stats_inc(RDR_STAT_MISSES);
			break;
		case RDR_BAD_DATA:
			rdr_stats_inc(RDR_STAT_BAD_DATA);
			break;
		default:
			rdr_stats_inc(RDR_STAT_ERRORS);
	}
}

/* The keys one lookup tries, best first, without and with key_prefix (the
 * prefixed ones all point into buf). Returns how many. */
static int rdr_candidates(
		const str *key, char *buf, str *cand, const char **pkeys, size_t *plens)
{
	int n = 0, l;

	memcpy(buf, _rdr_prefix, _rdr_prefix_len);
	memcpy(buf + _rdr_prefix_len, key->s, key->len);
	if(!_rdr_pfx.on) {
		cand[0] = *key;
		pkeys[0] = buf;
		plens[0] = _rdr_prefix_len + key->len;
		return 1;
	}
	l = key->len < _rdr_pfx.max_length ? key->len : _rdr_pfx.max_length;
	for(; l >= _rdr_pfx.min_length; l--) {
		cand[n].s = key->s;
		cand[n].len = l;
		pkeys[n] = buf;
		plens[n] = _rdr_prefix_len + l;
		n++;
	}
	if(_rdr_pfx.default_key.len > 0) {
		char *d = buf + _rdr_prefix_len + key->len;
		memcpy(d, _rdr_prefix, _rdr_prefix_len);
		memcpy(d + _rdr_prefix_len, _rdr_pfx.default_key.s,
				_rdr_pfx.default_key.len);
		cand[n] = _rdr_pfx.default_key;
		pkeys[n] = d;
		plens[n] = _rdr_prefix_len + _rdr_pfx.default_key.len;
		n++;
	}
	return n;
}

int rdr_lookup_rekey(const str *key, rdr_lookup_state_t *st)
{
	st->ncand = rdr_candidates(key, st->buf, st->cand, st->pkeys, st->plens);
	/* the cache is keyed by the whole lookup key */
	st->pkey.s = st->buf;
	st->pkey.len = _rdr_prefix_len + key->len;
	return st->ncand;
}

int rdr_lookup_begin(const str *key, const str *ruri_user, int sips,
		rdr_result_t *res, rdr_lookup_state_t *st)
{
	int ret;

	rdr_result_clear(res);
	st->ncand = 0;
	st->kind = 0;
	st->use_cache = 0;
	/* defined without the cache too: an async lookup sends it along */
	memset(&st->ticket, 0, sizeof(st->ticket));
	rdr_stats_inc(RDR_STAT_LOOKUPS);
	if(key == NULL || key->len <= 0 || key->len > RDR_KEY_MAX) {
		/* an empty or over-long key never matches: no Redis trip */
		LM_DBG("lookup key empty or longer than %d bytes: no route\n",
				RDR_KEY_MAX);
		rdr_stats_inc(RDR_STAT_MISSES);
		return RDR_NO_ROUTE;
	}
	if(rdr_lookup_rekey(key, st) == 0) {
		/* shorter than prefix_min_length and no default key */
		rdr_stats_inc(RDR_STAT_MISSES);
		return RDR_NO_ROUTE;
	}

	st->use_cache = rdr_cache_enabled() && rdr_notify_worker_sync();
	if(st->use_cache && rdr_replica_enabled()) {
		ret = rdr_lookup_replica(st, ruri_user, sips, res);
		if(ret != 0) {
			rdr_count(ret);
			return ret;
		}
	}
	if(st->use_cache) {
		rdr_cache_cands_t cands;
		cands.n = st->ncand;
		cands.keys = st->pkeys;
		cands.lens = st->plens;
		ret = rdr_cache_get(
				&st->pkey, ruri_user, sips, &cands, res, &st->ticket);
		if(ret != 0) {
			rdr_count(ret);
			return ret;
		}
	}
	return 0;
}

int rdr_lookup_end(rdr_lookup_state_t *st, redisReply *r, int matched,
		const str *ruri_user, int sips, rdr_result_t *res)
{
	int ret;

	/* res may have served other lookups since rdr_lookup_begin() (an I/O
	 * process answers many between the two halves of one) */
	rdr_result_clear(res);
	if(r == NULL) {
		rdr_stats_inc(RDR_STAT_ERRORS);
		return RDR_UNAVAILABLE;
	}
	if(st->kind && rdr_reply_is_error(r, "WRONGTYPE")) {
		/* route_types: the key holds another type, bad route data */
		matched = 0;
	} else if(r->type == REDIS_REPLY_ERROR) {
		/* Redis answered, with an error (NOPERM: a right the ACL user
		 * lacks, named by Redis; LOADING, ...): it stays connected, the
		 * lookup fails. Said once while the same error lasts. */
		if(rdr_conn_note_error("error reply", r->str, (int)r->len))
			LM_ERR("redis refused the lookup of '%.*s': %.*s (said once while "
				   "it lasts; lookups answer -2)\n",
					st->pkey.len, st->pkey.s, (int)r->len, r->str);
		else
			LM_DBG("redis error for key '%.*s': %.*s\n", st->pkey.len,
					st->pkey.s, (int)r->len, r->str);
		rdr_stats_inc(RDR_STAT_ERRORS);
		return RDR_UNAVAILABLE;
	}
	ret = rdr_parse_reply(
			st->cand, st->ncand, matched, st->kind, r, ruri_user, sips, res);
	if(ret == RDR_OK || ret == RDR_BAD_DATA) {
		memcpy(res->key_buf, st->cand[matched].s, st->cand[matched].len);
		res->key.len = st->cand[matched].len;
		res->key_buf[res->key.len] = '\0';
	}
	rdr_count(ret);
	if(st->use_cache && ret != RDR_UNAVAILABLE)
		rdr_cache_put(&st->pkey, ruri_user, sips, ret, res, &st->ticket);
	return ret;
}

int rdr_lookup_gateways(int rc, rdr_result_t *res, const str *ruri_user,
		int sips, uint64_t seed, int synced)
{
	if(!rdr_gw_needed(rc, res))
		return rc;
	/* the subscription's news first, unless the lookup just applied them
	 * (a cache that was used) */
	if(!synced && res->refs > 0)
		synced = rdr_notify_worker_sync();
	return rdr_gw_resolve(rc, res, ruri_user, sips, seed, synced);
}

static int rdr_lookup_untimed(const str *key, const str *ruri_user, int sips,
		uint64_t seed, rdr_result_t *res)
{
	rdr_lookup_state_t st;
	redisReply *r;
	int ret, matched = -1;

	ret = rdr_lookup_begin(key, ruri_user, sips, res, &st);
	if(ret != 0)
		return rdr_lookup_gateways(
				ret, res, ruri_user, sips, seed, st.use_cache);
	/* Where the lookup goes, as the server URL says (?cluster=1): the master
	 * of each key's slot, which runs the script per slot (matched then
	 * counts in all the candidate keys); or one server, directly or the
	 * master the sentinels name. */
	if(_rdr_cluster)
		r = rdr_cluster_eval(
				st.ncand, st.pkeys, st.plens, &matched, &st.kind);
	else
		r = rdr_conn_eval(st.ncand, st.pkeys, st.plens, &matched, &st.kind);
	ret = rdr_lookup_end(&st, r, matched, ruri_user, sips, res);
	if(r != NULL)
		freeReplyObject(r);
	return rdr_lookup_gateways(ret, res, ruri_user, sips, seed, st.use_cache);
}

int rdr_lookup(const str *key, const str *ruri_user, int sips, uint64_t seed,
		rdr_result_t *res)
{
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = rdr_lookup_untimed(key, ruri_user, sips, seed, res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rdr_stats_latency((t1.tv_sec - t0.tv_sec) * 1000000L
					  + (t1.tv_nsec - t0.tv_nsec) / 1000);
	return ret;
}
