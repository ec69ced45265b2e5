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
 * redisroute - RPC commands (kamcmd redisroute.*)
 */

#include "core/dprint.h"
#include "core/rpc.h"

#include "rr_async.h"
#include "rr_cache.h"
#include "rr_cluster.h"
#include "rr_conn.h"
#include "rr_lookup.h"
#include "rr_notify.h"
#include "rr_rpc.h"
#include "rr_slot.h"

static const char *rr_rpc_status_doc[] = {
		"Redis address, state (up, down, unknown), time down, outages and "
		"the last error.",
		0};

static rr_cluster_status_t _rr_rpc_cs;

static const char *rr_rpc_state_name(int up)
{
	return up == 1 ? "up" : (up == 0 ? "down" : "unknown");
}

/* Cluster mode: up when every master of the map is up, down when none is
 * (or there is no map), else partial. */
static const char *rr_rpc_cluster_state(void)
{
	rr_cluster_status_t *cs = &_rr_rpc_cs;
	int i, up = 0, down = 0;

	rr_cluster_get_status(cs);
	for(i = 0; i < cs->nnodes; i++) {
		if(cs->node[i].slots == 0)
			continue;
		if(cs->node[i].up == 1)
			up++;
		else
			down++;
	}
	if(cs->slots == 0 || up == 0)
		return cs->map_loads == 0 && cs->error[0] == '\0' ? "unknown" : "down";
	return down == 0 && cs->slots == RR_SLOTS ? "up" : "partial";
}

/* Cluster mode: the map's coverage and each node's state. */
static void rr_rpc_cluster_status(rpc_t *rpc, void *h)
{
	rr_cluster_status_t *cs = &_rr_rpc_cs;
	void *nodes, *n;
	int i;

	rpc->struct_add(h, "dds", "cluster_slots", cs->slots, "cluster_map_loads",
			(int)cs->map_loads, "cluster_last_error",
			cs->error[0] ? cs->error : "none");
	if(rpc->struct_add(h, "[", "cluster_nodes", &nodes) < 0)
		return;
	for(i = 0; i < cs->nnodes; i++) {
		const rr_cluster_node_status_t *ns = &cs->node[i];
		if(rpc->array_add(nodes, "{", &n) < 0)
			return;
		rpc->struct_add(n, "ssddd", "address", ns->addr, "state",
				rr_rpc_state_name(ns->up), "slots", ns->slots, "down_ms",
				(int)ns->down_ms, "outages", (int)ns->outages);
	}
}

static void rr_rpc_status(rpc_t *rpc, void *c)
{
	rr_conn_status_t st;
	rr_cache_info_t ci;
	const char *state;
	int aw, ap, ad, af;
	void *h;

	rr_conn_get_status(&st);
	if(rr_conn_cfg()->cluster)
		state = rr_rpc_cluster_state();
	else
		state = rr_rpc_state_name(st.up);
	if(rpc->add(c, "{", &h) < 0) {
		rpc->fault(c, 500, "Internal error creating the reply");
		return;
	}
	rpc->struct_add(h, "sssdd", "server", rr_conn_address(), "state", state,
			"last_error", st.error[0] ? st.error : "none", "down_ms",
			(int)st.down_ms, "outages", (int)st.outages);
	if(st.master[0] != '\0')
		rpc->struct_add(h, "s", "master", st.master);
	rpc->struct_add(h, "s", "tls", st.tls);
	if(rr_conn_cfg()->cluster)
		rr_rpc_cluster_status(rpc, h);
	rr_cache_get_info(&ci);
	rpc->struct_add(h, "sdd", "cache",
			!ci.enabled ? "off" : (ci.active ? "active" : "bypassed"),
			"cache_entries", ci.entries, "cache_size", ci.size);
	if(ci.enabled)
		rpc->struct_add(h, "sd", "cache_invalidation", rr_notify_mode_name(),
				"cache_worker_subscriptions", ci.worker_subs);
	rr_async_get_status(&aw, &ap, &ad, &af);
	rpc->struct_add(h, "dddd", "async_workers", aw, "async_pending", ap,
			"async_down", ad, "async_refused", af);
}

static const char *rr_rpc_cache_flush_doc[] = {
		"Empties the lookup cache (it is refilled from Redis on demand).", 0};

static void rr_rpc_cache_flush(rpc_t *rpc, void *c)
{
	rr_cache_info_t ci;

	rr_cache_get_info(&ci);
	if(!ci.enabled) {
		rpc->fault(c, 400, "The cache is off (cache_size 0)");
		return;
	}
	rr_cache_clear();
	rpc->add(c, "d", ci.entries);
}

static const char *rr_rpc_lookup_doc[] = {
		"Resolves a key (without the prefix) now and lists its targets in "
		"order, as full URIs; a bare host takes the key as user.",
		0};

static void rr_rpc_lookup(rpc_t *rpc, void *c)
{
	static rr_result_t res;
	str key = STR_NULL;
	int i, ret;

	if(rpc->scan(c, "S", &key) < 1) {
		rpc->fault(c, 400,
				"Missing key (a key of digits: kamcmd "
				"redisroute.lookup s:+4930...)");
		return;
	}
	ret = rr_lookup(&key, &key, 0, &res);
	switch(ret) {
		case RR_OK:
			break;
		case RR_NO_ROUTE:
			rpc->fault(c, 404, "No route");
			return;
		case RR_BAD_DATA:
			rpc->fault(c, 500, "Bad route data");
			return;
		default:
			rpc->fault(c, 503, "Redis unavailable");
			return;
	}
	if(rr_lookup_prefix_mode()) {
		void *h;
		if(rpc->add(c, "{", &h) < 0)
			return;
		rpc->struct_add(h, "S", "matched", &res.key);
	}
	for(i = 0; i < res.n; i++) {
		if(rpc->add(c, "S", &res.t[i].uri) < 0)
			return;
	}
}

static const char *rr_rpc_reconnect_doc[] = {
		"Makes every process reconnect to Redis on its next lookup (with "
		"sentinels: ask them for the master again; cluster: read the slot "
		"map again).",
		0};

static void rr_rpc_reconnect(rpc_t *rpc, void *c)
{
	rr_conn_reconnect_all();
	rr_conn_request_rediscovery();
	rpc->add(c, "s", "ok");
}

/* clang-format off */
rpc_export_t rr_rpc_cmds[] = {
	{"redisroute.status", rr_rpc_status, rr_rpc_status_doc, 0},
	{"redisroute.lookup", rr_rpc_lookup, rr_rpc_lookup_doc, 0},
	{"redisroute.reconnect", rr_rpc_reconnect, rr_rpc_reconnect_doc, 0},
	{"redisroute.cache_flush", rr_rpc_cache_flush, rr_rpc_cache_flush_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */
