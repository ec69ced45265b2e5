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
 * redisroute - the gateways: the gw:NAME hashes a route names as @NAME, kept
 * in shared memory and coherent with Redis through the same client-side
 * caching subscriptions as the cache (rdr_cache_sync.c), resolved into
 * targets (strip, prefix, attrs, drain), then the targets of equal
 * priority ordered by the selection parameter (rdr_select.c)
 *
 * A gateway is read from Redis (HMGET) the first time a process needs it,
 * after a change, and while this process's subscription is not up (then it
 * cannot vouch for what is in shared memory); otherwise resolving costs no
 * round trip. Each entry carries the sequence number taken before the read
 * that filled it; an invalidation, a flush and a process's (re)subscription
 * each take a newer one, and an entry serves a process only when it was
 * read after all three.
 */

#ifndef _RDR_GW_H_
#define _RDR_GW_H_

#include <hiredis/hiredis.h>
#include <stdint.h>

#include "core/str.h"

#include "rdr_gw_record.h"
#include "rdr_targets.h"

/* In mod_init: gw_prefix (non-empty), the selection mode (RDR_SELECT_*),
 * at most max gateways in shared memory; max_targets: the most targets an
 * answer keeps once resolved. */
int rdr_gw_init(const str *prefix, int selection, int max, int max_targets);
void rdr_gw_destroy(void);

/* gw_prefix, for the subscriptions. */
const str *rdr_gw_prefix(void);

/* From a subscription: key (with gw_prefix) changed; a key that is no
 * gateway's is ignored. */
void rdr_gw_invalidate(const char *key, int len);
/* From a subscription: FLUSHALL, FLUSHDB, SWAPDB: every gateway changed. */
void rdr_gw_flush(void);
/* This process's subscription came up: what was read before it is not
 * vouched for by it. */
void rdr_gw_subscribed(void);

/* Resolves res's gateways (rc: the lookup's code; only RDR_OK has targets)
 * for a request whose R-URI user is user (sips: its scheme), then orders
 * targets of equal priority by the selection parameter (seed: the Call-ID's,
 * rdr_select_seed()) and sets their q-values. vouched: this process's
 * subscription is up and applied (shared memory may be trusted). Returns
 * the answer's code: RDR_OK with targets left; else RDR_NO_ROUTE when a
 * drained gateway was left out, RDR_UNAVAILABLE when a gateway could not be
 * read, RDR_BAD_DATA. */
int rdr_gw_resolve(int rc, rdr_result_t *res, const str *user, int sips,
		uint64_t seed, int vouched);

/* 1 when rdr_gw_resolve() has anything to do for res. */
int rdr_gw_needed(int rc, const rdr_result_t *res);

/* One gateway as the RPC lists it. */
typedef struct rdr_gw_info
{
	char name[RDR_GW_NAME_MAX + 1];
	int err; /* 0 valid, < 0 rdr_gw_err, 1 never read */
	char uri[RDR_URI_MAX];
	int strip;
	char prefix[40];
	int weight;
	char attrs[RDR_GW_ATTRS_MAX + 1];
	int drain;
	long age_s; /* seconds since it was read */
	int health; /* RDR_HEALTH_* */
	long long health_since_ms;
} rdr_gw_info_t;

/* The gateways in shared memory: calls fn for each (out of lock). Returns
 * how many. */
int rdr_gw_list(void (*fn)(const rdr_gw_info_t *gw, void *arg), void *arg);

/* A gateway's health as this node knows it (rdr_health.c sets it). */
#define RDR_HEALTH_UNKNOWN 0
#define RDR_HEALTH_UP 1
#define RDR_HEALTH_DOWN 2

/* all_down: 1 ("all") makes an answer whose targets are all down gateways
 * use them all; 0 ("no_route"): it has no route. */
void rdr_gw_set_all_down(int open);
/* probe_interval: a gateway's health key is read with it. */
void rdr_gw_set_health_on(int on);

/* From the health process: gateway name's health and the unix ms of its
 * last transition, when this node's routes named it. Returns the health it
 * had (RDR_HEALTH_*), -1 when it is not in the table. */
int rdr_gw_set_health(
		const char *name, int len, int health, long long since_ms);

/* Reads gateway name from Redis now (the health process: its probe URI).
 * 0 with rec filled, a negative enum rdr_gw_err, or RDR_GW_UNAVAILABLE. */
#define RDR_GW_UNAVAILABLE -100
int rdr_gw_read_record(const char *name, int len, rdr_gw_record_t *rec);

/* One command (argv-style) on the node of key (Redis Cluster) or this
 * process's connection: its reply, or NULL when unavailable. */
redisReply *rdr_gw_command(
		const char *key, int klen, int argc, const char **argv,
		const size_t *lens);

/* gw_prefix + name + ":health", NUL-terminated, into buf (at least
 * RDR_PREFIX_MAX + RDR_GW_NAME_MAX + 8 bytes); returns its length. */
int rdr_gw_health_key(const char *name, int len, char *buf);

/* Reads gateway name's health key: *health RDR_HEALTH_* (UNKNOWN without
 * the key), the unix ms of its last transition, and who saw it (by, bylen
 * bytes; bylen 0: not wanted). 0, or -1 when Redis did not answer it. */
int rdr_gw_read_health(const char *name, int len, int *health,
		long long *since_ms, char *by, int bylen);

/* The selection mode (RDR_SELECT_*). */
int rdr_gw_selection(void);
/* The selection mode's name, for the status RPC. */
const char *rdr_gw_selection_name(void);

#endif
