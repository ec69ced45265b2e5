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
 * redisroute - the gateways' health (rdr_health.h): the lease, the probes,
 * the observations written to Redis, and each node's health process that
 * follows them into shared memory
 */

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/fmsg.h"
#include "core/kemi.h"
#include "core/locking.h"
#include "core/mem/mem.h"
#include "core/mem/shm_mem.h"
#include "core/pt.h"
#include "core/route.h"
#include "core/ut.h"
#include "core/xavp.h"
#include "modules/tm/tm_load.h"

#include "rdr_cache_sync.h"
#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_gw.h"
#include "rdr_gw_record.h"
#include "rdr_health.h"
#include "rdr_stats.h"
#include "redisroute.h"

#define RDR_PASSIVE_RING 256
#define RDR_ALIVE_RANGES 32
/* the gateways known to the whole fleet are found again this often */
#define RDR_DISCOVER_MS 30000
/* how often the health process reads its subscription */
#define RDR_FOLLOW_MS 100
/* a probe not answered this long after it was sent has failed: half the
 * interval, at most RDR_PROBE_WAIT_MAX_MS, so that a silent gateway is down
 * within probe_interval x probe_failures + 1 s */
#define RDR_PROBE_WAIT_MAX_MS 800

typedef struct rdr_probe
{
	char name[RDR_GW_NAME_MAX + 1];
	int namelen;
	unsigned int round; /* the round it was sent in */
	int code;			/* its final reply; 0: none yet */
	int faked;			/* tm made the reply up (timeout, send failure) */
} rdr_probe_t;

typedef struct rdr_health_shared
{
	gen_lock_t lock;
	unsigned int round;
	int nprobes;
	int ring_head;
	int ring_len;
	struct
	{
		char name[RDR_GW_NAME_MAX + 1];
		int len;
	} ring[RDR_PASSIVE_RING];
	int probing;
	int rights;
	char prober[96];
	rdr_probe_t probe[];
} rdr_health_shared_t;

static rdr_health_shared_t *_rdr_hs = NULL;
static rdr_health_cfg_t _rdr_hcfg;
static int _rdr_health_max = 0;
static char _rdr_from_buf[256];
static str _rdr_from = {_rdr_from_buf, 0};
static char _rdr_cb_buf[64];
static str _rdr_event_cb = {_rdr_cb_buf, 0};
static int _rdr_alive_any = 1;
static struct
{
	int lo, hi;
} _rdr_alive[RDR_ALIVE_RANGES];
static int _rdr_nalive = 0;
static tm_api_t _rdr_health_tmb;
static int _rdr_event_down = -1, _rdr_event_up = -1;
static int (*_rdr_keep_answer)(const char *packed, int len) = NULL;

/* the health process's own state (pkg, one process) */
static char _rdr_node[96];
static str _rdr_lease_key = {NULL, 0};
static char _rdr_lease_buf[RDR_PREFIX_MAX + 16];
/* the gateways it knows (found, named here, or with a health key) */
static char (*_rdr_known)[RDR_GW_NAME_MAX + 1] = NULL;
static int _rdr_nknown = 0;
/* and their health as this process last read it (RDR_HEALTH_*, since) */
static struct
{
	int health;
	long long since;
} *_rdr_known_health = NULL;
/* health keys to read again; all: every known one */
static char (*_rdr_dirty)[RDR_GW_NAME_MAX + 1] = NULL;
static int _rdr_ndirty = 0;
static int _rdr_dirty_all = 1;
static long long _rdr_discovered_ms = -RDR_DISCOVER_MS;
static int _rdr_leader = 0;
static long long _rdr_conclude_ms = 0; /* when the round's probes fail */
static int _rdr_rights_said = 0;

/*
 * parameters and start-up
 */

/* probe_alive_replies: "any", or a comma list of codes and classes
 * ("200,404,5xx"). 0, or -1 when it is not one. */
static int rdr_alive_parse(const str *s)
{
	const char *p = s->s, *end = s->s + s->len;
	char tok[8];
	int n;

	if(s->len == 3 && memcmp(s->s, "any", 3) == 0) {
		_rdr_alive_any = 1;
		return 0;
	}
	_rdr_alive_any = 0;
	_rdr_nalive = 0;
	while(p < end) {
		const char *comma = memchr(p, ',', end - p);
		int len = (int)((comma ? comma : end) - p);
		if(len != 3 || _rdr_nalive == RDR_ALIVE_RANGES)
			return -1;
		memcpy(tok, p, 3);
		tok[3] = '\0';
		if(tok[0] < '1' || tok[0] > '6')
			return -1;
		if(tok[1] == 'x' && tok[2] == 'x') {
			_rdr_alive[_rdr_nalive].lo = (tok[0] - '0') * 100;
			_rdr_alive[_rdr_nalive].hi = (tok[0] - '0') * 100 + 99;
		} else if(tok[1] >= '0' && tok[1] <= '9' && tok[2] >= '0'
				  && tok[2] <= '9') {
			n = atoi(tok);
			_rdr_alive[_rdr_nalive].lo = _rdr_alive[_rdr_nalive].hi = n;
		} else {
			return -1;
		}
		_rdr_nalive++;
		p += len + (comma ? 1 : 0);
	}
	return _rdr_nalive > 0 ? 0 : -1;
}

/* 1 when a probe's final reply says the gateway is alive. */
static int rdr_alive(int code, int faked)
{
	int i;

	if(code <= 0 || faked)
		return 0;
	if(_rdr_alive_any)
		return code >= 200 && code <= 699 && code != 408;
	for(i = 0; i < _rdr_nalive; i++)
		if(code >= _rdr_alive[i].lo && code <= _rdr_alive[i].hi)
			return 1;
	return 0;
}

int rdr_health_init(const rdr_health_cfg_t *cfg, int gateways_max,
		int (*keep_answer)(const char *packed, int len))
{
	const str *gp = rdr_gw_prefix();

	_rdr_hcfg = *cfg;
	if(cfg->interval_s == 0)
		return 0;
	if(cfg->interval_s < 1 || cfg->interval_s > 3600 || cfg->failures < 1
			|| cfg->failures > 100 || cfg->successes < 1
			|| cfg->successes > 100) {
		LM_ERR("probe_interval must be 1-3600 s, probe_failures and "
			   "probe_successes 1-100\n");
		return -1;
	}
	if(rdr_alive_parse(&cfg->alive) < 0) {
		LM_ERR("bad modparam probe_alive_replies '%.*s': \"any\" or codes "
			   "and classes such as \"200,404,5xx\"\n",
				cfg->alive.len, cfg->alive.s);
		return -1;
	}
	if(cfg->from.len <= 4 || cfg->from.len >= (int)sizeof(_rdr_from_buf)
			|| strncasecmp(cfg->from.s, "sip", 3) != 0) {
		LM_ERR("bad modparam probe_from: a sip: URI of at most %d bytes\n",
				(int)sizeof(_rdr_from_buf) - 1);
		return -1;
	}
	memcpy(_rdr_from_buf, cfg->from.s, cfg->from.len);
	_rdr_from.len = cfg->from.len;
	if(cfg->event_callback.len >= (int)sizeof(_rdr_cb_buf)) {
		LM_ERR("modparam event_callback is too long\n");
		return -1;
	}
	if(cfg->event_callback.len > 0)
		memcpy(_rdr_cb_buf, cfg->event_callback.s, cfg->event_callback.len);
	_rdr_event_cb.len = cfg->event_callback.len;
	if(load_tm_api(&_rdr_health_tmb) != 0) {
		LM_ERR("probe_interval needs the tm module (loadmodule \"tm.so\" "
			   "before redisroute)\n");
		return -1;
	}
	_rdr_keep_answer = keep_answer;
	rdr_gw_set_health_on(1);
	_rdr_event_down = route_lookup(&event_rt, "redisroute:gateway-down");
	if(_rdr_event_down >= 0 && event_rt.rlist[_rdr_event_down] == NULL)
		_rdr_event_down = -1;
	_rdr_event_up = route_lookup(&event_rt, "redisroute:gateway-up");
	if(_rdr_event_up >= 0 && event_rt.rlist[_rdr_event_up] == NULL)
		_rdr_event_up = -1;
	_rdr_health_max = gateways_max;
	_rdr_hs = shm_malloc(
			sizeof(*_rdr_hs) + (size_t)gateways_max * sizeof(rdr_probe_t));
	if(_rdr_hs == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(_rdr_hs, 0, sizeof(*_rdr_hs));
	_rdr_hs->rights = 1;
	if(lock_init(&_rdr_hs->lock) == NULL) {
		LM_ERR("cannot initialize the health lock\n");
		return -1;
	}
	/* gw_prefix + ":prober": no gateway's NAME holds a ':' */
	memcpy(_rdr_lease_buf, gp->s, gp->len);
	memcpy(_rdr_lease_buf + gp->len, ":prober", 7);
	_rdr_lease_key.s = _rdr_lease_buf;
	_rdr_lease_key.len = gp->len + 7;
	rdr_pubsub_proc_register();
	return 0;
}

int rdr_health_enabled(void)
{
	return _rdr_hs != NULL;
}

int rdr_health_passive_on(void)
{
	return _rdr_hs != NULL && _rdr_hcfg.passive;
}

void rdr_health_get_status(rdr_health_status_t *st)
{
	memset(st, 0, sizeof(*st));
	if(_rdr_hs == NULL)
		return;
	st->on = 1;
	lock_get(&_rdr_hs->lock);
	st->probing = _rdr_hs->probing;
	st->rights = _rdr_hs->rights;
	memcpy(st->prober, _rdr_hs->prober, sizeof(st->prober));
	lock_release(&_rdr_hs->lock);
}

/*
 * the passive signal
 */

void rdr_health_passive(const str *name, int code)
{
	int i;

	if(_rdr_hs == NULL || !_rdr_hcfg.passive || (code != 408 && code != 503)
			|| name->len <= 0 || name->len > RDR_GW_NAME_MAX)
		return;
	lock_get(&_rdr_hs->lock);
	/* a full ring forgets its oldest */
	if(_rdr_hs->ring_len == RDR_PASSIVE_RING) {
		_rdr_hs->ring_head = (_rdr_hs->ring_head + 1) % RDR_PASSIVE_RING;
		_rdr_hs->ring_len--;
	}
	i = (_rdr_hs->ring_head + _rdr_hs->ring_len) % RDR_PASSIVE_RING;
	memcpy(_rdr_hs->ring[i].name, name->s, name->len);
	_rdr_hs->ring[i].len = name->len;
	_rdr_hs->ring_len++;
	lock_release(&_rdr_hs->lock);
}

/*
 * talking to Redis from the health process
 */

/* One command on key's node (rdr_gw_command()). */
static redisReply *rdr_health_cmd(
		const str *key, int argc, const char **argv, const size_t *lens)
{
	return rdr_gw_command(key->s, key->len, argc, argv, lens);
}

/* A refused write (an ACL without the rights, in a script too; a
 * replica): this node does not probe, and asks again every
 * RDR_RIGHTS_RECHECK_MS (a failover's READONLY passes). Said once while it
 * lasts. 1 when r is one. */
#define RDR_RIGHTS_RECHECK_MS 60000
static long long _rdr_refused_ms = 0;

static int rdr_health_refused(const redisReply *r)
{
	if(r == NULL || r->type != REDIS_REPLY_ERROR
			|| (strncmp(r->str, "NOPERM", 6) != 0
					&& strncmp(r->str, "READONLY", 8) != 0
					&& strstr(r->str, "can't run this command") == NULL
					&& strstr(r->str, "no permissions") == NULL))
		return 0;
	lock_get(&_rdr_hs->lock);
	_rdr_hs->rights = 0;
	_rdr_hs->probing = 0;
	lock_release(&_rdr_hs->lock);
	_rdr_refused_ms = rdr_conn_now_ms();
	if(!_rdr_rights_said)
		LM_ERR("health: probing needs write access to %.*s*:health and "
			   "%.*s, which Redis refuses (%.*s): this node does not probe "
			   "(it still leaves down gateways out; it asks again every %d "
			   "s)\n",
				rdr_gw_prefix()->len, rdr_gw_prefix()->s, _rdr_lease_key.len,
				_rdr_lease_key.s, (int)r->len, r->str,
				RDR_RIGHTS_RECHECK_MS / 1000);
	_rdr_rights_said = 1;
	return 1;
}

/* 1 when this node may try to write (its rights not refused lately). */
static int rdr_health_may_write(void)
{
	if(_rdr_hs->rights)
		return 1;
	if(rdr_conn_now_ms() - _rdr_refused_ms < RDR_RIGHTS_RECHECK_MS)
		return 0;
	lock_get(&_rdr_hs->lock);
	_rdr_hs->rights = 1;
	lock_release(&_rdr_hs->lock);
	return 1;
}

static long long rdr_wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Renews or takes the lease. 1 when this node holds it, 0 when another
 * does, -1 when Redis did not say. */
static int rdr_health_lease(void)
{
	static const char script[] =
			"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
			"  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return ARGV[1]\n"
			"end\n"
			"if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then\n"
			"  return ARGV[1]\n"
			"end\n"
			"return redis.call('GET', KEYS[1]) or ''\n";
	char ttl[24];
	const char *argv[6];
	size_t lens[6];
	redisReply *r;
	int mine = 0;

	snprintf(ttl, sizeof(ttl), "%d", 3000 * _rdr_hcfg.interval_s);
	argv[0] = "EVAL";
	argv[1] = script;
	argv[2] = "1";
	argv[3] = _rdr_lease_key.s;
	argv[4] = _rdr_node;
	argv[5] = ttl;
	lens[0] = 4;
	lens[1] = sizeof(script) - 1;
	lens[2] = 1;
	lens[3] = (size_t)_rdr_lease_key.len;
	lens[4] = strlen(_rdr_node);
	lens[5] = strlen(ttl);
	r = rdr_health_cmd(&_rdr_lease_key, 6, argv, lens);
	if(r == NULL)
		return -1; /* Redis unavailable: nobody may count on this node */
	if(rdr_health_refused(r)) {
		freeReplyObject(r);
		return 0;
	}
	if(r->type == REDIS_REPLY_STRING) {
		if(_rdr_rights_said)
			LM_NOTICE("health: Redis takes this node's writes again\n");
		_rdr_rights_said = 0;
		mine = (r->len == lens[4] && memcmp(r->str, _rdr_node, r->len) == 0);
		lock_get(&_rdr_hs->lock);
		snprintf(_rdr_hs->prober, sizeof(_rdr_hs->prober), "%.*s",
				(int)r->len, r->str);
		_rdr_hs->probing = mine;
		lock_release(&_rdr_hs->lock);
	} else if(r->type == REDIS_REPLY_ERROR) {
		LM_ERR("health: the lease %.*s: %.*s\n", _rdr_lease_key.len,
				_rdr_lease_key.s, (int)r->len, r->str);
	}
	freeReplyObject(r);
	if(mine != _rdr_leader)
		LM_NOTICE("health: this node (%s) %s the probing of the gateways\n",
				_rdr_node, mine ? "takes over" : "hands over");
	_rdr_leader = mine;
	return mine;
}

/* One observation of gateway name: answered (ok) or not, written to its
 * health key by one script, which counts and flips the state. */
static void rdr_health_observe(const char *name, int len, int ok)
{
	/* it writes only what changes, and renews the key's life only past
	 * half of it: a steady gateway's key changes every few intervals (its
	 * life), not at each probe, so the nodes read it that seldom. The
	 * counts stay at what flipped the state (fails = probe_failures on a
	 * down gateway) until the other kind of observation comes. */
	static const char script[] =
			"local k = KEYS[1]\n"
			"local h = redis.call('HMGET', k, 'state', 'fails', 'oks')\n"
			"local st, f, o = h[1], tonumber(h[2]) or 0, tonumber(h[3]) or 0\n"
			"local ch = false\n"
			"if not st then st = 'up' ch = true\n"
			"  redis.call('HSET', k, 'state', 'up', 'since', ARGV[5]) end\n"
			"if ARGV[1] == '1' then\n"
			"  if f ~= 0 then f = 0 ch = true end\n"
			"  if st == 'down' then o = o + 1 ch = true\n"
			"    if o >= tonumber(ARGV[3]) then\n"
			"      redis.call('HSET', k, 'state', 'up', 'since', ARGV[5]) end end\n"
			"else\n"
			"  if o ~= 0 then o = 0 ch = true end\n"
			"  if st ~= 'down' then f = f + 1 ch = true\n"
			"    if f >= tonumber(ARGV[2]) then\n"
			"      redis.call('HSET', k, 'state', 'down', 'since', ARGV[5]) end end\n"
			"end\n"
			"if ch then redis.call('HSET', k, 'fails', f, 'oks', o, 'checked', "
			"ARGV[5], 'by', ARGV[6]) end\n"
			"if ch or redis.call('PTTL', k) < tonumber(ARGV[4]) / 2 then\n"
			"  redis.call('PEXPIRE', k, ARGV[4]) end\n"
			"return 1\n";
	char key[RDR_PREFIX_MAX + RDR_GW_NAME_MAX + 8];
	char fails[12], oks[12], ttl[24], now[24];
	const char *argv[9];
	size_t lens[9];
	str k;
	redisReply *r;
	int i;

	k.s = key;
	k.len = rdr_gw_health_key(name, len, key);
	snprintf(fails, sizeof(fails), "%d", _rdr_hcfg.failures);
	snprintf(oks, sizeof(oks), "%d", _rdr_hcfg.successes);
	snprintf(ttl, sizeof(ttl), "%lld",
			(long long)(_rdr_hcfg.failures + 2) * _rdr_hcfg.interval_s * 1000);
	snprintf(now, sizeof(now), "%lld", rdr_wall_ms());
	argv[0] = "EVAL";
	argv[1] = script;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = ok ? "1" : "0";
	argv[5] = fails;
	argv[6] = oks;
	argv[7] = ttl;
	argv[8] = now;
	for(i = 0; i < 9; i++)
		lens[i] = strlen(argv[i]);
	lens[1] = sizeof(script) - 1;
	lens[3] = (size_t)k.len;
	/* the node that observed it last */
	{
		const char *full[10];
		size_t flens[10];
		memcpy(full, argv, sizeof(argv));
		memcpy(flens, lens, sizeof(lens));
		full[9] = _rdr_node;
		flens[9] = strlen(_rdr_node);
		r = rdr_health_cmd(&k, 10, full, flens);
	}
	if(r == NULL)
		return;
	if(!rdr_health_refused(r) && r->type == REDIS_REPLY_ERROR)
		LM_ERR("health: cannot write %.*s: %.*s\n", k.len, k.s, (int)r->len,
				r->str);
	freeReplyObject(r);
}

/*
 * the gateways the health process knows
 */

static int rdr_known_find(const char *name, int len)
{
	int i;

	for(i = 0; i < _rdr_nknown; i++)
		if((int)strlen(_rdr_known[i]) == len
				&& memcmp(_rdr_known[i], name, len) == 0)
			return i;
	return -1;
}

static void rdr_known_add(const char *name, int len)
{
	if(len <= 0 || len > RDR_GW_NAME_MAX || !rdr_gw_name_ok(name, len)
			|| rdr_known_find(name, len) >= 0
			|| _rdr_nknown >= _rdr_health_max)
		return;
	memcpy(_rdr_known[_rdr_nknown], name, len);
	_rdr_known[_rdr_nknown][len] = '\0';
	_rdr_known_health[_rdr_nknown].health = RDR_HEALTH_UNKNOWN;
	_rdr_known_health[_rdr_nknown].since = 0;
	_rdr_nknown++;
}

static void rdr_dirty_add(const char *name, int len);

/* A gateway of this node's table: its health as known, into the table; a
 * new one is known from now on, its health read. */
static void rdr_known_from_table(const rdr_gw_info_t *gw, void *arg)
{
	int len = (int)strlen(gw->name);
	int i = rdr_known_find(gw->name, len);

	if(i < 0) {
		rdr_known_add(gw->name, len);
		rdr_dirty_add(gw->name, len);
		return;
	}
	if(gw->health != _rdr_known_health[i].health)
		rdr_gw_set_health(gw->name, len, _rdr_known_health[i].health,
				_rdr_known_health[i].since);
}

/* A SCAN reply's keys: the gateways' names (gw_prefix + NAME, not their
 * health keys) are known. Returns the next cursor, or -1. */
static long long rdr_scan_take(const redisReply *r)
{
	const str *gp = rdr_gw_prefix();
	const redisReply *keys;
	size_t i;

	if(r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
			|| r->element[0]->type != REDIS_REPLY_STRING
			|| r->element[1]->type != REDIS_REPLY_ARRAY)
		return -1;
	keys = r->element[1];
	for(i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];
		if(k->type == REDIS_REPLY_STRING && (int)k->len > gp->len
				&& memcmp(k->str, gp->s, gp->len) == 0)
			rdr_known_add(k->str + gp->len, (int)k->len - gp->len);
	}
	return atoll(r->element[0]->str);
}

/* SCAN over one connection (ctx NULL: this process's own), bounded. */
static void rdr_scan_node(redisContext *ctx, const char *pattern)
{
	const char *argv[8];
	char cursor[24] = "0";
	redisReply *r;
	long long next;
	int calls;

	argv[0] = "SCAN";
	argv[2] = "MATCH";
	argv[3] = pattern;
	argv[4] = "COUNT";
	argv[5] = "1000";
	argv[6] = "TYPE";
	argv[7] = "hash";
	for(calls = 0; calls < 10000; calls++) {
		argv[1] = cursor;
		r = ctx != NULL ? redisCommandArgv(ctx, 8, argv, NULL)
						: rdr_conn_command(8, argv, NULL);
		if(r != NULL && r->type == REDIS_REPLY_ERROR) {
			static int said = 0;
			if(!said)
				LM_ERR("health: SCAN refused (%.*s): only the gateways this "
					   "node's routes name are probed (said once)\n",
						(int)r->len, r->str);
			said = 1;
			freeReplyObject(r);
			return;
		}
		next = rdr_scan_take(r);
		if(r != NULL)
			freeReplyObject(r);
		if(next <= 0)
			return;
		snprintf(cursor, sizeof(cursor), "%lld", next);
	}
}

/* The gateways of the fleet: found with SCAN (every RDR_DISCOVER_MS at
 * most; in cluster mode on every master), and those this node's routes
 * named. */
static void rdr_health_discover(void)
{
	const str *gp = rdr_gw_prefix();
	char pattern[2 * RDR_PREFIX_MAX + 2];
	rdr_hostport_t masters[RDR_CLUSTER_NODES_MAX];
	unsigned int version;
	char err[128];
	int i, n = 0;

	rdr_gw_list(rdr_known_from_table, NULL);
	if(rdr_conn_now_ms() - _rdr_discovered_ms < RDR_DISCOVER_MS)
		return;
	_rdr_discovered_ms = rdr_conn_now_ms();
	/* the prefix is matched literally: its glob characters escaped */
	for(i = 0; i < gp->len; i++) {
		if(strchr("*?[]\\", gp->s[i]) != NULL)
			pattern[n++] = '\\';
		pattern[n++] = gp->s[i];
	}
	pattern[n++] = '*';
	pattern[n] = '\0';
	if(!rdr_conn_cfg()->cluster) {
		rdr_scan_node(NULL, pattern);
		return;
	}
	n = rdr_cluster_masters(masters, RDR_CLUSTER_NODES_MAX, &version);
	for(i = 0; i < n; i++) {
		redisContext *c = rdr_conn_open_host(
				masters[i].host, masters[i].port, err, sizeof(err));
		if(c == NULL)
			continue;
		rdr_scan_node(c, pattern);
		redisFree(c);
	}
}

/*
 * following the health keys into shared memory
 */

/* The subscription's listener: a health key that changed is read again;
 * NULL (a flush, a new subscription): every known one. */
static void rdr_health_listen(const str *key)
{
	const str *gp = rdr_gw_prefix();
	const char *name;
	int len;

	if(key == NULL) {
		_rdr_dirty_all = 1;
		return;
	}
	len = key->len - gp->len - 7;
	if(len <= 0 || memcmp(key->s, gp->s, gp->len) != 0
			|| memcmp(key->s + key->len - 7, ":health", 7) != 0)
		return;
	name = key->s + gp->len;
	if(!rdr_gw_name_ok(name, len))
		return;
	rdr_known_add(name, len);
	rdr_dirty_add(name, len);
}

static void rdr_dirty_add(const char *name, int len)
{
	if(_rdr_ndirty < _rdr_health_max) {
		memcpy(_rdr_dirty[_rdr_ndirty], name, len);
		_rdr_dirty[_rdr_ndirty][len] = '\0';
		_rdr_ndirty++;
	} else {
		_rdr_dirty_all = 1;
	}
}

/* Runs event_route[redisroute:gateway-down|up] (or the KEMI callback) with
 * the gateway as the request's answer: $redisroute(gw), (uri), (attrs). */
static void rdr_health_event(int down, const char *name, int len)
{
	static rdr_result_t res;
	static char packed[RDR_PACKED_MAX];
	const char *evname = down ? "redisroute:gateway-down"
							  : "redisroute:gateway-up";
	int rt = down ? _rdr_event_down : _rdr_event_up;
	rdr_gw_record_t rec;
	struct run_act_ctx ctx;
	sr_kemi_eng_t *keng = NULL;
	rdr_target_t *t;
	sip_msg_t *fmsg;
	str ev, lkey = {(char *)name, len};
	int backup, plen, ulen;

	if(_rdr_event_cb.len > 0) {
		keng = sr_kemi_eng_get();
		if(keng == NULL)
			return;
	} else if(rt < 0) {
		return;
	}
	rdr_result_clear(&res);
	t = rdr_result_slot(&res, 0);
	memcpy(t->gw.s, name, len);
	t->gw.s[len] = '\0';
	t->gw.len = len;
	t->q = -1;
	if(rdr_gw_read_record(name, len, &rec) == 0) {
		ulen = rec.bare ? snprintf(t->uri.s, RDR_URI_MAX, "sip:%s", rec.uri)
						: snprintf(t->uri.s, RDR_URI_MAX, "%s", rec.uri);
		t->uri.len = ulen < RDR_URI_MAX ? ulen : RDR_URI_MAX - 1;
		memcpy(t->attrs.s, rec.attrs, rec.attrslen + 1);
		t->attrs.len = rec.attrslen;
	} else {
		/* gone or invalid since: its name only */
		t->uri.len = snprintf(t->uri.s, RDR_URI_MAX, "sip:%.*s", len, name);
	}
	res.n = 1;
	plen = rdr_result_pack(packed, sizeof(packed), &lkey, RDR_OK, &res);
	if(faked_msg_init() < 0)
		return;
	fmsg = faked_msg_next();
	if(plen > 0 && _rdr_keep_answer != NULL)
		_rdr_keep_answer(packed, plen);
	backup = get_route_type();
	set_route_type(REQUEST_ROUTE);
	init_run_actions_ctx(&ctx);
	if(keng != NULL) {
		ev.s = (char *)evname;
		ev.len = strlen(evname);
		if(sr_kemi_route(keng, fmsg, EVENT_ROUTE, &_rdr_event_cb, &ev) < 0)
			LM_ERR("health: the KEMI event callback failed for %s\n", evname);
	} else {
		run_top_route(event_rt.rlist[rt], fmsg, &ctx);
	}
	set_route_type(backup);
	xavp_reset_list();
}

/* Reads gateway name's health key into shared memory; a transition is
 * logged, counted and its event route run. */
static void rdr_health_read(const char *name, int len)
{
	int health, was, i;
	long long since;
	char by[96];

	if(rdr_gw_read_health(name, len, &health, &since, by, sizeof(by)) < 0)
		return;
	i = rdr_known_find(name, len);
	if(i < 0)
		return;
	was = _rdr_known_health[i].health;
	_rdr_known_health[i].health = health;
	_rdr_known_health[i].since = since;
	rdr_gw_set_health(name, len, health, since);
	if((was == RDR_HEALTH_DOWN) == (health == RDR_HEALTH_DOWN))
		return;
	if(health == RDR_HEALTH_DOWN) {
		rdr_stats_inc(RDR_STAT_GATEWAY_DOWNS);
		LM_NOTICE("health: gateway '%.*s%.*s' is down (since %lld ms, seen by "
				  "%s): left out of every answer\n",
				rdr_gw_prefix()->len, rdr_gw_prefix()->s, len, name, since,
				by[0] ? by : "?");
	} else {
		rdr_stats_inc(RDR_STAT_GATEWAY_UPS);
		LM_NOTICE("health: gateway '%.*s%.*s' is up again%s\n",
				rdr_gw_prefix()->len, rdr_gw_prefix()->s, len, name,
				health == RDR_HEALTH_UNKNOWN ? " (its health expired)" : "");
	}
	rdr_health_event(health == RDR_HEALTH_DOWN, name, len);
}

/* Applies what the subscription said since the last time. */
static void rdr_health_follow(void)
{
	int i;

	rdr_notify_worker_sync();
	if(_rdr_dirty_all) {
		_rdr_dirty_all = 0;
		_rdr_ndirty = 0;
		for(i = 0; i < _rdr_nknown; i++)
			rdr_health_read(_rdr_known[i], (int)strlen(_rdr_known[i]));
		return;
	}
	for(i = 0; i < _rdr_ndirty; i++)
		rdr_health_read(_rdr_dirty[i], (int)strlen(_rdr_dirty[i]));
	_rdr_ndirty = 0;
}

/*
 * probing (the lease holder only)
 */

/* tm: a probe's final reply (any process: the one that got the reply, or
 * tm's timer for a timeout). */
static void rdr_probe_done(struct cell *t, int type, struct tmcb_params *ps)
{
	uintptr_t p = (uintptr_t)*ps->param;
	unsigned int round = (unsigned int)((p >> 20) & 0xfff);
	int idx = (int)(p & 0xfffff);

	if(_rdr_hs == NULL || idx >= _rdr_health_max)
		return;
	lock_get(&_rdr_hs->lock);
	if((_rdr_hs->probe[idx].round & 0xfff) == round) {
		_rdr_hs->probe[idx].code = ps->code;
		_rdr_hs->probe[idx].faked = (ps->rpl == FAKED_REPLY);
	}
	lock_release(&_rdr_hs->lock);
}

/* The last round's answers become observations: one not answered by now
 * counts as failed. */
static void rdr_probe_conclude(void)
{
	rdr_probe_t p;
	int i, n;

	lock_get(&_rdr_hs->lock);
	n = _rdr_hs->nprobes;
	_rdr_hs->nprobes = 0;
	lock_release(&_rdr_hs->lock);
	for(i = 0; i < n; i++) {
		lock_get(&_rdr_hs->lock);
		p = _rdr_hs->probe[i];
		_rdr_hs->probe[i].round = 0;
		lock_release(&_rdr_hs->lock);
		rdr_health_observe(p.name, p.namelen, rdr_alive(p.code, p.faked));
	}
}

/* Sends one OPTIONS to every known gateway. */
static void rdr_probe_round(void)
{
	static str method = str_init("OPTIONS");
	static str hdrs = str_init("Max-Forwards: 70\r\n");
	char uri[RDR_URI_MAX + 4];
	rdr_gw_record_t rec;
	uac_req_t uac_r;
	str ruri;
	unsigned int round;
	int i, n = 0, len;

	lock_get(&_rdr_hs->lock);
	round = ++_rdr_hs->round & 0xfffffff;
	if(round == 0)
		round = _rdr_hs->round = 1;
	lock_release(&_rdr_hs->lock);
	for(i = 0; i < _rdr_nknown && n < _rdr_health_max; i++) {
		len = (int)strlen(_rdr_known[i]);
		if(rdr_gw_read_record(_rdr_known[i], len, &rec) != 0)
			continue; /* missing or invalid: no target to probe */
		ruri.s = uri;
		ruri.len = rec.bare ? snprintf(uri, sizeof(uri), "sip:%s", rec.uri)
							: snprintf(uri, sizeof(uri), "%s", rec.uri);
		lock_get(&_rdr_hs->lock);
		memcpy(_rdr_hs->probe[n].name, _rdr_known[i], len + 1);
		_rdr_hs->probe[n].namelen = len;
		_rdr_hs->probe[n].round = round;
		_rdr_hs->probe[n].code = 0;
		_rdr_hs->probe[n].faked = 0;
		_rdr_hs->nprobes = n + 1;
		lock_release(&_rdr_hs->lock);
		/* the round's low 12 bits and the slot fit a 32-bit pointer: a
		 * reply 4096 rounds late is not to be feared */
		set_uac_req(&uac_r, &method, &hdrs, 0, 0, TMCB_LOCAL_COMPLETED,
				rdr_probe_done,
				(void *)(uintptr_t)(((round & 0xfffu) << 20) | (unsigned)n));
		rdr_stats_inc(RDR_STAT_GATEWAY_PROBES);
		if(_rdr_health_tmb.t_request(&uac_r, &ruri, &ruri, &_rdr_from, 0)
				< 0) {
			/* not sent: a failed observation at the round's end */
			LM_DBG("health: cannot send OPTIONS to %.*s\n", ruri.len, ruri.s);
		}
		n++;
	}
}

/* One interval's work: the lease, then (holding it) the last round's
 * observations and the next round. */
static void rdr_health_tick(void)
{
	int was = _rdr_leader;

	if(!rdr_health_may_write() || rdr_health_lease() != 1) {
		/* a round that cannot be concluded in time is dropped, not
		 * counted as failed probes */
		lock_get(&_rdr_hs->lock);
		_rdr_hs->nprobes = 0;
		_rdr_hs->probing = 0;
		lock_release(&_rdr_hs->lock);
		_rdr_leader = 0;
		/* the gateways this node's routes name: their health is followed */
		rdr_gw_list(rdr_known_from_table, NULL);
		return;
	}
	if(was)
		rdr_probe_conclude(); /* if it was not yet */
	rdr_health_discover();
	rdr_probe_round();
	_rdr_conclude_ms = rdr_conn_now_ms()
					   + (_rdr_hcfg.interval_s * 500 < RDR_PROBE_WAIT_MAX_MS
									   ? _rdr_hcfg.interval_s * 500
									   : RDR_PROBE_WAIT_MAX_MS);
	rdr_gw_list(rdr_known_from_table, NULL);
}

/* The passive failures reported since the last time. */
static void rdr_health_passives(void)
{
	char name[RDR_GW_NAME_MAX + 1];
	int len;

	for(;;) {
		lock_get(&_rdr_hs->lock);
		if(_rdr_hs->ring_len == 0) {
			lock_release(&_rdr_hs->lock);
			return;
		}
		len = _rdr_hs->ring[_rdr_hs->ring_head].len;
		memcpy(name, _rdr_hs->ring[_rdr_hs->ring_head].name, len);
		_rdr_hs->ring_head = (_rdr_hs->ring_head + 1) % RDR_PASSIVE_RING;
		_rdr_hs->ring_len--;
		lock_release(&_rdr_hs->lock);
		rdr_stats_inc(RDR_STAT_GATEWAY_PASSIVE);
		if(rdr_health_may_write())
			rdr_health_observe(name, len, 0);
	}
}

static void rdr_health_loop(void)
{
	long long next, now, interval = 1000LL * _rdr_hcfg.interval_s;
	char host[64];

	if(gethostname(host, sizeof(host)) != 0)
		strcpy(host, "node");
	host[sizeof(host) - 1] = '\0';
	snprintf(_rdr_node, sizeof(_rdr_node), "%s:%d", host, (int)getpid());
	rdr_notify_set_listener(rdr_health_listen);
	next = rdr_conn_now_ms();
	for(;;) {
		cfg_update();
		rdr_health_follow();
		rdr_health_passives();
		now = rdr_conn_now_ms();
		if(_rdr_leader && _rdr_conclude_ms != 0 && now >= _rdr_conclude_ms) {
			_rdr_conclude_ms = 0;
			rdr_probe_conclude();
		}
		if(now >= next) {
			rdr_health_tick();
			next += interval;
			if(next <= now)
				next = now + interval;
		}
		sleep_us(RDR_FOLLOW_MS * 1000);
	}
}

int rdr_health_fork(void)
{
	int pid;

	if(_rdr_hs == NULL)
		return 0;
	_rdr_known = pkg_malloc(_rdr_health_max * sizeof(*_rdr_known));
	_rdr_known_health =
			pkg_malloc(_rdr_health_max * sizeof(*_rdr_known_health));
	_rdr_dirty = pkg_malloc(_rdr_health_max * sizeof(*_rdr_dirty));
	if(_rdr_known == NULL || _rdr_dirty == NULL || _rdr_known_health == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	/* a timer's rank: the modules' child_init run (tm, our connection) */
	pid = fork_process(PROC_TIMER, "redisroute health", 1);
	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			exit(-1);
		rdr_health_loop();
		exit(0);
	}
	return 0;
}
