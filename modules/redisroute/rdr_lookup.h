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
 */

#ifndef _RDR_LOOKUP_H_
#define _RDR_LOOKUP_H_

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "core/str.h"

#include "rdr_cache.h"
#include "redisroute.h"
#include "rdr_targets.h"

/* In mod_init, after the connection is configured; cluster: lookups go to
 * a Redis Cluster (the server URL's ?cluster=1), else to one server. */
int rdr_lookup_init(const str *prefix, int max_targets,
		const rdr_prefix_cfg_t *pfx, int cluster);

/* Resolves key (without the prefix) into res; with prefix matching, the
 * longest existing prefix of key wins, then the default key. ruri_user and
 * sips are what a bare-host target (and a gateway's) is completed with;
 * seed orders targets of equal priority (selection "hash": the Call-ID's,
 * rdr_select_seed()). Gateways are resolved (rdr_gw.h). Returns RDR_OK,
 * RDR_NO_ROUTE, RDR_UNAVAILABLE or RDR_BAD_DATA, and counts the statistics. */
int rdr_lookup(const str *key, const str *ruri_user, int sips, uint64_t seed,
		rdr_result_t *res);

/* The gateways of an answer made elsewhere (rdr_lookup_begin() and
 * rdr_lookup_end(), e.g. by an async I/O process): resolved and ordered as
 * rdr_lookup() does; synced: this process applied its subscription just
 * now (the cache was used). Returns the answer's code. */
int rdr_lookup_gateways(int rc, rdr_result_t *res, const str *ruri_user,
		int sips, uint64_t seed, int synced);

/* One lookup in two halves, around a command sent by the caller (an I/O
 * process pipelines them): the candidate keys, and the cache's state. */
typedef struct rdr_lookup_state
{
	char buf[2 * (RDR_PREFIX_MAX + RDR_KEY_MAX)];
	str cand[RDR_CANDIDATES_MAX];
	const char *pkeys[RDR_CANDIDATES_MAX]; /* with key_prefix, into buf */
	size_t plens[RDR_CANDIDATES_MAX];
	int ncand;
	int kind; /* the command Redis answered (rdr_eval_choose()): the caller
			   * of rdr_lookup_end() sets it */
	str pkey; /* the whole lookup key with key_prefix: the cache's key */
	int use_cache;
	rdr_cache_ticket_t ticket;
} rdr_lookup_state_t;

/* The first half, counted in the statistics (the answers of both halves
 * still name their gateways: rdr_lookup_gateways()): 0 when Redis must be asked
 * for st's candidate keys (st->pkeys, st->plens, st->ncand), else the
 * lookup's answer (a cache hit, a key that never matches). */
int rdr_lookup_begin(const str *key, const str *ruri_user, int sips,
		rdr_result_t *res, rdr_lookup_state_t *st);

/* st's candidate keys for key (at most RDR_KEY_MAX bytes), nothing else
 * (an I/O process rebuilds them from the key; the cache ticket comes from
 * the worker's rdr_lookup_begin()): returns how many (0: key is too short
 * for any). */
int rdr_lookup_rekey(const str *key, rdr_lookup_state_t *st);

/* The second half: Redis's reply r to the lookup command over st's keys
 * (NULL: no answer), matched as rdr_conn_eval() or rdr_cluster_eval() says, into res;
 * counts the outcome and fills the cache. r stays the caller's. */
int rdr_lookup_end(rdr_lookup_state_t *st, redisReply *r, int matched,
		const str *ruri_user, int sips, rdr_result_t *res);

/* 1 when prefix matching is on. */
int rdr_lookup_prefix_mode(void);

/* Logs bad route data of key (a rejected target, a wrong type): once per
 * (key, value) and process every few minutes, not once per request. */
void rdr_lookup_report(
		const str *key, const char *raw, int raw_len, const char *why);

#endif
