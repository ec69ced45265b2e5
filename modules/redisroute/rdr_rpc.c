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

#include <stdio.h>

#include "core/dprint.h"
#include "core/rpc.h"

#include "rdr_async.h"
#include "rdr_cache.h"
#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_gw.h"
#include "rdr_health.h"
#include "rdr_gw_record.h"
#include "rdr_lookup.h"
#include "rdr_cache_sync.h"
#include "rdr_replica.h"
#include "rdr_rpc.h"
#include "rdr_slot.h"

static const char *rdr_rpc_status_doc[] = {
		"Redis address, state (up, down, unknown), time down, outages and "
		"the last error.",
		0};

static rdr_cluster_status_t _rdr_rpc_cs;

static const char *rdr_rpc_state_name(int up)
{
	return up == 1 ? "up" : (up == 0 ? "down" : "unknown");
}

/* Cluster mode: up when every master of the map is up, down when none is
 * (or there is no map), else partial. */
static const char *rdr_rpc_cluster_state(void)
{
	rdr_cluster_status_t *cs = &_rdr_rpc_cs;
	int i, up = 0, down = 0;

	rdr_cluster_get_status(cs);
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
	return down == 0 && cs->slots == RDR_SLOTS ? "up" : "partial";
}

/* Cluster mode: the map's coverage and each node's state. */
static void rdr_rpc_cluster_status(rpc_t *rpc, void *h)
{
	rdr_cluster_status_t *cs = &_rdr_rpc_cs;
	void *nodes, *n;
	int i;

	rpc->struct_add(h, "dds", "cluster_slots", cs->slots, "cluster_map_loads",
			(int)cs->map_loads, "cluster_last_error",
			cs->error[0] ? cs->error : "none");
	if(rpc->struct_add(h, "[", "cluster_nodes", &nodes) < 0)
		return;
	for(i = 0; i < cs->nnodes; i++) {
		const rdr_cluster_node_status_t *ns = &cs->node[i];
		if(rpc->array_add(nodes, "{", &n) < 0)
			return;
		rpc->struct_add(n, "ssddd", "address", ns->addr, "state",
				rdr_rpc_state_name(ns->up), "slots", ns->slots, "down_ms",
				(int)ns->down_ms, "outages", (int)ns->outages);
	}
}

static void rdr_rpc_status(rpc_t *rpc, void *c)
{
	rdr_conn_status_t st;
	rdr_cache_info_t ci;
	const char *state;
	int aw, ap, ad, af;
	void *h;

	rdr_conn_get_status(&st);
	if(rdr_conn_cfg()->cluster)
		state = rdr_rpc_cluster_state();
	else
		state = rdr_rpc_state_name(st.up);
	if(rpc->add(c, "{", &h) < 0) {
		rpc->fault(c, 500, "Internal error creating the reply");
		return;
	}
	rpc->struct_add(h, "sssdd", "server", rdr_conn_address(), "state", state,
			"last_error", st.error[0] ? st.error : "none", "down_ms",
			(int)st.down_ms, "outages", (int)st.outages);
	if(st.master[0] != '\0')
		rpc->struct_add(h, "s", "master", st.master);
	rpc->struct_add(h, "s", "tls", st.tls);
	if(rdr_conn_cfg()->cluster)
		rdr_rpc_cluster_status(rpc, h);
	rdr_cache_get_info(&ci);
	rpc->struct_add(h, "sdd", "cache",
			!ci.enabled ? "off" : (ci.active ? "active" : "bypassed"),
			"cache_entries", ci.entries, "cache_size", ci.size);
	if(ci.enabled)
		rpc->struct_add(h, "sd", "cache_invalidation", rdr_notify_mode_name(),
				"cache_worker_subscriptions", ci.worker_subs);
	if(ci.enabled && rdr_replica_enabled()) {
		rdr_replica_info_t ri;
		rdr_replica_get_info(&ri);
		rpc->struct_add(h, "sdddd", "cache_preload",
				rdr_replica_state_name(ri.state), "cache_preload_keys", ri.keys,
				"cache_preload_unknown", ri.unknown, "cache_preload_loads",
				(int)ri.loads, "cache_preload_load_ms", (int)ri.last_load_ms);
	} else {
		rpc->struct_add(h, "s", "cache_preload", "off");
	}
	rpc->struct_add(h, "s", "selection", rdr_gw_selection_name());
	{
		rdr_health_status_t hs;
		rdr_health_get_status(&hs);
		if(hs.on)
			rpc->struct_add(h, "sdd", "prober", hs.prober[0] ? hs.prober : "none",
					"probing", hs.probing, "probe_rights", hs.rights);
	}
	rdr_async_get_status(&aw, &ap, &ad, &af);
	rpc->struct_add(h, "dddd", "async_workers", aw, "async_pending", ap,
			"async_down", ad, "async_refused", af);
}

static const char *rdr_rpc_cache_flush_doc[] = {
		"Empties the lookup cache (it is refilled from Redis on demand).", 0};

static void rdr_rpc_cache_flush(rpc_t *rpc, void *c)
{
	rdr_cache_info_t ci;

	rdr_cache_get_info(&ci);
	if(!ci.enabled) {
		rpc->fault(c, 400, "The cache is off (cache_size 0)");
		return;
	}
	rdr_cache_clear();
	/* cache_preload: loaded again from scratch */
	rdr_replica_flush();
	rpc->add(c, "d", ci.entries);
}

static const char *rdr_rpc_lookup_doc[] = {
		"Resolves a key (without the prefix) now and lists its targets in "
		"order, as full URIs; a bare host takes the key as user. A "
		"gateway's target comes as {uri, gw, attrs}.",
		0};

static void rdr_rpc_lookup(rpc_t *rpc, void *c)
{
	static rdr_result_t res;
	str key = STR_NULL;
	int i, ret;

	if(rpc->scan(c, "S", &key) < 1) {
		rpc->fault(c, 400,
				"Missing key (a key of digits: kamcmd "
				"redisroute.lookup s:+4930...)");
		return;
	}
	ret = rdr_lookup(&key, &key, 0, 0, &res);
	switch(ret) {
		case RDR_OK:
			break;
		case RDR_NO_ROUTE:
			rpc->fault(c, 404, "No route");
			return;
		case RDR_BAD_DATA:
			rpc->fault(c, 500, "Bad route data");
			return;
		default:
			rpc->fault(c, 503, "Redis unavailable");
			return;
	}
	if(rdr_lookup_prefix_mode()) {
		void *h;
		if(rpc->add(c, "{", &h) < 0)
			return;
		rpc->struct_add(h, "S", "matched", &res.key);
	}
	for(i = 0; i < res.n; i++) {
		void *t;
		if(res.t[i].gw.len == 0) {
			if(rpc->add(c, "S", &res.t[i].uri) < 0)
				return;
			continue;
		}
		if(rpc->add(c, "{", &t) < 0)
			return;
		rpc->struct_add(t, "SSS", "uri", &res.t[i].uri, "gw", &res.t[i].gw,
				"attrs", &res.t[i].attrs);
	}
}

static const char *rdr_rpc_gateways_doc[] = {
		"Lists the gateways this node holds in shared memory (those its "
		"routes named since start): name, state, uri, strip, prefix, weight, "
		"attrs, drain, and seconds since read.",
		0};

typedef struct rdr_rpc_gw_ctx
{
	rpc_t *rpc;
	void *c;
} rdr_rpc_gw_ctx_t;

static void rdr_rpc_gateway(const rdr_gw_info_t *gw, void *arg)
{
	rdr_rpc_gw_ctx_t *x = arg;
	char state[96];
	void *h;

	if(gw->err == 0)
		snprintf(state, sizeof(state), "valid");
	else if(gw->err > 0)
		snprintf(state, sizeof(state), "not read yet");
	else if(gw->err == RDR_GW_MISSING)
		snprintf(state, sizeof(state), "missing");
	else
		snprintf(state, sizeof(state), "invalid: %s", rdr_gw_strerror(gw->err));
	if(x->rpc->add(x->c, "{", &h) < 0)
		return;
	x->rpc->struct_add(h, "sssdsdsdd", "name", gw->name, "state", state, "uri",
			gw->uri, "strip", gw->strip, "prefix", gw->prefix, "weight",
			gw->weight, "attrs", gw->attrs, "drain", gw->drain, "age_s",
			(int)gw->age_s);
	if(rdr_health_enabled())
		x->rpc->struct_add(h, "sd", "health",
				gw->health == RDR_HEALTH_DOWN
						? "down"
						: (gw->health == RDR_HEALTH_UP ? "up" : "unknown"),
				"health_since", (int)(gw->health_since_ms / 1000));
}

static void rdr_rpc_gateways(rpc_t *rpc, void *c)
{
	rdr_rpc_gw_ctx_t x = {rpc, c};

	rdr_gw_list(rdr_rpc_gateway, &x);
}

static const char *rdr_rpc_reconnect_doc[] = {
		"Makes every process reconnect to Redis on its next lookup (with "
		"sentinels: ask them for the master again; cluster: read the slot "
		"map again).",
		0};

static void rdr_rpc_reconnect(rpc_t *rpc, void *c)
{
	rdr_conn_reconnect_all();
	rdr_conn_request_rediscovery();
	rpc->add(c, "s", "ok");
}

/* clang-format off */
rpc_export_t rdr_rpc_cmds[] = {
	{"redisroute.status", rdr_rpc_status, rdr_rpc_status_doc, 0},
	{"redisroute.lookup", rdr_rpc_lookup, rdr_rpc_lookup_doc, 0},
	{"redisroute.gateways", rdr_rpc_gateways, rdr_rpc_gateways_doc, RET_ARRAY},
	{"redisroute.reconnect", rdr_rpc_reconnect, rdr_rpc_reconnect_doc, 0},
	{"redisroute.cache_flush", rdr_rpc_cache_flush, rdr_rpc_cache_flush_doc, 0},
	{0, 0, 0, 0}
};
/* clang-format on */
