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
 * redisroute - SIP redirect server and routing proxy with the routing table
 * in Redis
 *
 * This file holds only the export tables, the parameters, the module's
 * life cycle and the thin cfg/KEMI/C API wrappers; the data path is
 * rdr_sip.c (SIP) -> rdr_lookup.c (key -> targets) -> rdr_conn.c (Redis),
 * with rdr_targets.c validating every target.
 */

#include <stddef.h>
#include <string.h>

#include "core/dprint.h"
#include "core/kemi.h"
#include "core/mod_fix.h"
#include "core/pt.h"
#include "core/sr_module.h"
#include "core/ut.h"

#include "api.h"
#include "redisroute.h"
#include "rdr_async.h"
#include "rdr_cache.h"
#include "rdr_replica.h"
#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_eval.h"
#include "rdr_gw.h"
#include "rdr_health.h"
#include "rdr_lookup.h"
#include "rdr_select.h"
#include "rdr_cache_sync.h"
#include "rdr_sip.h"
#include "rdr_targets.h"
#include "rdr_rpc.h"
#include "rdr_sentinel.h"
#include "rdr_tls.h"
#include "rdr_stats.h"
#include "rdr_syntax.h"

MODULE_VERSION

static str redisroute_server = str_init("redis://127.0.0.1:6379/0");
static str redisroute_key_prefix = str_init("route:");
int redisroute_redirect_code = 302;
int redisroute_max_targets = 8;
static int redisroute_connect_timeout = 500;
static int redisroute_command_timeout = 250;
static int redisroute_retry_interval = 1000;
static str redisroute_sentinels = STR_NULL;
static str redisroute_sentinel_master = str_init("mymaster");
static str redisroute_sentinel_password = STR_NULL;
static int redisroute_prefix_match = 0;
static int redisroute_prefix_max_length = 16;
static int redisroute_prefix_min_length = 1;
static str redisroute_prefix_default_key = STR_NULL;
static int redisroute_cache_size = 0;
/* "any": the lookup script; "string", "list" or "zset": that type's plain
 * read command for exact lookups */
static str redisroute_route_types = str_init("any");
/* -1: one I/O process when the cfg calls sip_lookup_async(), else none */
static int redisroute_async_workers = -1;
static int redisroute_async_max_pending = 1024;
static int redisroute_cache_ttl = 300;
/* 1: the whole table under key_prefix loaded and kept (rdr_replica.h) */
static int redisroute_cache_preload = 0;
static str redisroute_cache_invalidation = str_init("tracking");
static str redisroute_gw_prefix = str_init("gw:");
static str redisroute_selection = str_init("order");
static int redisroute_failover_shorter_prefix = 0;
static int redisroute_gateways_max = 1024;
static int redisroute_probe_interval = 0;
static int redisroute_probe_failures = 3;
static int redisroute_probe_successes = 2;
static str redisroute_probe_alive_replies = str_init("any");
static str redisroute_probe_from = str_init("sip:redisroute@localhost");
static int redisroute_probe_passive = 1;
static str redisroute_all_down = str_init("no_route");
static str redisroute_event_callback = str_init("");
static str redisroute_cluster_seeds = STR_NULL;
static str redisroute_tls_ca_file = STR_NULL;
static str redisroute_tls_cert_file = STR_NULL;
static str redisroute_tls_key_file = STR_NULL;
static str redisroute_tls_server_name = STR_NULL;
static int redisroute_tls_verify = 1;

static int mod_init(void);
static int child_init(int rank);
static void mod_destroy(void);

static int w_sip_redirect0(sip_msg_t *msg, char *p1, char *p2);
static int w_sip_redirect1(sip_msg_t *msg, char *key, char *p2);
static int w_sip_redirect2(sip_msg_t *msg, char *key, char *code);
static int fixup_sip_redirect2(void **param, int param_no);
static int w_sip_forward0(sip_msg_t *msg, char *p1, char *p2);
static int w_sip_forward1(sip_msg_t *msg, char *key, char *p2);
static int w_sip_forward_next(sip_msg_t *msg, char *p1, char *p2);
static int w_sip_lookup0(sip_msg_t *msg, char *p1, char *p2);
static int w_sip_lookup1(sip_msg_t *msg, char *key, char *p2);

/* clang-format off */
static cmd_export_t cmds[] = {
	{"sip_redirect", (cmd_function)w_sip_redirect0, 0, 0, 0,
		REQUEST_ROUTE | FAILURE_ROUTE},
	{"sip_redirect", (cmd_function)w_sip_redirect1, 1, fixup_spve_null,
		fixup_free_spve_null, REQUEST_ROUTE | FAILURE_ROUTE},
	{"sip_redirect", (cmd_function)w_sip_redirect2, 2, fixup_sip_redirect2,
		fixup_free_spve_spve, REQUEST_ROUTE | FAILURE_ROUTE},
	{"sip_forward", (cmd_function)w_sip_forward0, 0, 0, 0,
		REQUEST_ROUTE | FAILURE_ROUTE},
	{"sip_forward", (cmd_function)w_sip_forward1, 1, fixup_spve_null,
		fixup_free_spve_null, REQUEST_ROUTE | FAILURE_ROUTE},
	{"sip_forward_next", (cmd_function)w_sip_forward_next, 0, 0, 0,
		FAILURE_ROUTE},
	{"sip_lookup", (cmd_function)w_sip_lookup0, 0, 0, 0,
		REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE},
	{"sip_lookup", (cmd_function)w_sip_lookup1, 1, fixup_spve_null,
		fixup_free_spve_null, REQUEST_ROUTE | FAILURE_ROUTE | BRANCH_ROUTE},
	{"sip_lookup_async", (cmd_function)w_sip_lookup_async1, 1, rdr_async_fixup,
		0, REQUEST_ROUTE},
	{"sip_lookup_async", (cmd_function)w_sip_lookup_async2, 2, rdr_async_fixup,
		0, REQUEST_ROUTE},
	/* the C API (api.h): found by find_export(), never called by a script */
	{"bind_redisroute", (cmd_function)bind_redisroute, 0, 0, 0, 0},
	{0, 0, 0, 0, 0, 0}
};

static param_export_t params[] = {
	{"server",           PARAM_STR, &redisroute_server},
	{"key_prefix",       PARAM_STR, &redisroute_key_prefix},
	{"redirect_code",    PARAM_INT, &redisroute_redirect_code},
	{"max_targets",      PARAM_INT, &redisroute_max_targets},
	{"connect_timeout",  PARAM_INT, &redisroute_connect_timeout},
	{"command_timeout",  PARAM_INT, &redisroute_command_timeout},
	{"retry_interval",   PARAM_INT, &redisroute_retry_interval},
	{"sentinels",        PARAM_STR, &redisroute_sentinels},
	{"sentinel_master",  PARAM_STR, &redisroute_sentinel_master},
	{"sentinel_password", PARAM_STR, &redisroute_sentinel_password},
	{"route_types",      PARAM_STR, &redisroute_route_types},
	{"async_workers",    PARAM_INT, &redisroute_async_workers},
	{"async_max_pending", PARAM_INT, &redisroute_async_max_pending},
	{"prefix_match",     PARAM_INT, &redisroute_prefix_match},
	{"prefix_max_length", PARAM_INT, &redisroute_prefix_max_length},
	{"prefix_min_length", PARAM_INT, &redisroute_prefix_min_length},
	{"prefix_default_key", PARAM_STR, &redisroute_prefix_default_key},
	{"cache_size",       PARAM_INT, &redisroute_cache_size},
	{"cache_ttl",        PARAM_INT, &redisroute_cache_ttl},
	{"cache_preload",    PARAM_INT, &redisroute_cache_preload},
	{"cache_invalidation", PARAM_STR, &redisroute_cache_invalidation},
	{"gw_prefix",        PARAM_STR, &redisroute_gw_prefix},
	{"selection",        PARAM_STR, &redisroute_selection},
	{"failover_shorter_prefix", PARAM_INT, &redisroute_failover_shorter_prefix},
	{"gateways_max",     PARAM_INT, &redisroute_gateways_max},
	{"probe_interval",   PARAM_INT, &redisroute_probe_interval},
	{"probe_failures",   PARAM_INT, &redisroute_probe_failures},
	{"probe_successes",  PARAM_INT, &redisroute_probe_successes},
	{"probe_alive_replies", PARAM_STR, &redisroute_probe_alive_replies},
	{"probe_from",       PARAM_STR, &redisroute_probe_from},
	{"probe_passive",    PARAM_INT, &redisroute_probe_passive},
	{"all_down",         PARAM_STR, &redisroute_all_down},
	{"event_callback",   PARAM_STR, &redisroute_event_callback},
	{"cluster_seeds",    PARAM_STR, &redisroute_cluster_seeds},
	{"tls_ca_file",      PARAM_STR, &redisroute_tls_ca_file},
	{"tls_cert_file",    PARAM_STR, &redisroute_tls_cert_file},
	{"tls_key_file",     PARAM_STR, &redisroute_tls_key_file},
	{"tls_server_name",  PARAM_STR, &redisroute_tls_server_name},
	{"tls_verify",       PARAM_INT, &redisroute_tls_verify},
	{0, 0, 0}
};

static pv_export_t mod_pvs[] = {
	{{"redisroute", sizeof("redisroute") - 1}, PVT_OTHER, rdr_pv_get, 0,
		rdr_pv_parse_name, pv_parse_index, 0, 0},
	{{0, 0}, 0, 0, 0, 0, 0, 0, 0}
};

struct module_exports exports = {
	"redisroute",     /* module name */
	DEFAULT_DLFLAGS,  /* dlopen flags */
	cmds,             /* cfg functions */
	params,           /* parameters */
	rdr_rpc_cmds,      /* RPC commands */
	mod_pvs,          /* pseudo-variables */
	0,                /* response handling */
	mod_init,         /* module init */
	child_init,       /* per-process init */
	mod_destroy       /* destroy */
};
/* clang-format on */

static int rdr_check_range(const char *name, int value, int min, int max)
{
	if(value < min || value > max) {
		LM_ERR("modparam %s=%d is out of range (%d..%d)\n", name, value, min,
				max);
		return -1;
	}
	return 0;
}

/* The sentinel parameters, when `sentinels` is set: the `server` URL then
 * gives only the credentials and the db of the master. */
static int rdr_sentinel_cfg(rdr_conn_cfg_t *cfg)
{
	const char *err = NULL;

	if(redisroute_sentinels.s == NULL || redisroute_sentinels.len == 0)
		return 0;
	/* "rediss://h:p,...": TLS to the sentinels */
	cfg->nsentinels = rdr_hostports_parse(redisroute_sentinels.s,
			redisroute_sentinels.len, 26379, cfg->sentinels, RDR_SENTINELS_MAX,
			&cfg->sentinel_tls, &err);
	if(cfg->nsentinels < 0) {
		LM_ERR("bad modparam sentinels '%.*s': %s\n", redisroute_sentinels.len,
				redisroute_sentinels.s, err);
		return -1;
	}
	if(cfg->url.is_unix) {
		LM_ERR("modparam sentinels goes with a redis:// or rediss:// server "
			   "URL, not unix:\n");
		return -1;
	}
	if(redisroute_sentinel_master.len <= 0
			|| redisroute_sentinel_master.len
					   >= (int)sizeof(cfg->sentinel_master)
			|| redisroute_sentinel_password.len
					   >= (int)sizeof(cfg->sentinel_password)) {
		LM_ERR("modparam sentinel_master empty, or sentinel_master or "
			   "sentinel_password too long\n");
		return -1;
	}
	memcpy(cfg->sentinel_master, redisroute_sentinel_master.s,
			redisroute_sentinel_master.len);
	if(redisroute_sentinel_password.len > 0)
		memcpy(cfg->sentinel_password, redisroute_sentinel_password.s,
				redisroute_sentinel_password.len);
	return 0;
}

/* Cluster mode (the server URL's ?cluster=1): the server URL names one node
 * (a seed) and gives the credentials; cluster_seeds may name more nodes to
 * read the map from. */
static int rdr_cluster_cfg(rdr_conn_cfg_t *cfg)
{
	const char *err = NULL;
	int has_seeds = redisroute_cluster_seeds.s != NULL
					&& redisroute_cluster_seeds.len > 0;

	if(!cfg->url.cluster) {
		if(has_seeds) {
			LM_ERR("modparam cluster_seeds needs a server URL with "
				   "?cluster=1\n");
			return -1;
		}
		return 0;
	}
	if(cfg->url.is_unix || cfg->url.db != 0 || cfg->nsentinels > 0) {
		LM_ERR("cluster mode needs a redis:// or rediss://host:port server "
			   "URL without a database number (a cluster has only db 0), and "
			   "does not go with sentinels\n");
		return -1;
	}
	cfg->cluster = 1;
	if(!has_seeds)
		return 0;
	cfg->ncluster_seeds = rdr_hostports_parse(redisroute_cluster_seeds.s,
			redisroute_cluster_seeds.len, 6379, cfg->cluster_seeds,
			RDR_CLUSTER_SEEDS_MAX, NULL, &err);
	if(cfg->ncluster_seeds < 0) {
		LM_ERR("bad modparam cluster_seeds '%.*s': %s\n",
				redisroute_cluster_seeds.len, redisroute_cluster_seeds.s, err);
		return -1;
	}
	return 0;
}

/* Copies a string modparam into out (size bytes). Returns 1 when set, 0
 * when not, -1 (logged) when too long or holding a NUL. */
static int rdr_str_param(const char *name, const str *v, char *out, int size)
{
	if(v->s == NULL || v->len <= 0)
		return 0;
	if(v->len >= size || memchr(v->s, '\0', v->len) != NULL) {
		LM_ERR("modparam %s is too long (at most %d bytes) or holds a NUL\n",
				name, size - 1);
		return -1;
	}
	memcpy(out, v->s, v->len);
	out[v->len] = '\0';
	return 1;
}

/* The tls_* parameters: they need a rediss:// server or sentinels,
 * and a build with TLS. */
static int rdr_tls_setup(const rdr_conn_cfg_t *cfg)
{
	rdr_tls_cfg_t tls;
	int set = 0, n, cert, key;

	memset(&tls, 0, sizeof(tls));
	tls.verify = redisroute_tls_verify;
	if((n = rdr_str_param("tls_ca_file", &redisroute_tls_ca_file, tls.ca_file,
				sizeof(tls.ca_file)))
			< 0)
		return -1;
	set |= n;
	if((cert = rdr_str_param("tls_cert_file", &redisroute_tls_cert_file,
				tls.cert_file, sizeof(tls.cert_file)))
					< 0
			|| (key = rdr_str_param("tls_key_file", &redisroute_tls_key_file,
						tls.key_file, sizeof(tls.key_file)))
					   < 0
			|| (n = rdr_str_param("tls_server_name",
						&redisroute_tls_server_name, tls.server_name,
						sizeof(tls.server_name)))
					   < 0)
		return -1;
	set |= cert | key | n | (redisroute_tls_verify != 1);
	if(cert != key) {
		LM_ERR("modparam tls_cert_file and tls_key_file go together\n");
		return -1;
	}
	if(!cfg->url.tls && !cfg->sentinel_tls) {
		if(set) {
			LM_ERR("the tls_* modparams need a rediss:// server URL or "
				   "rediss:// sentinels\n");
			return -1;
		}
		return 0;
	}
	if(!rdr_tls_available()) {
		LM_ERR("%s: TLS needs hiredis 1.0 or later with hiredis_ssl; this "
			   "module is built against hiredis %d.%d without it\n",
				cfg->url.tls ? "rediss:// server URL" : "rediss:// sentinels",
				HIREDIS_MAJOR, HIREDIS_MINOR);
		return -1;
	}
	return rdr_tls_init(&tls);
}

/* the sentinel watcher publishes the master through the connection code */
static const rdr_sentinel_report_t rdr_sentinel_to_conn = {
		rdr_conn_publish_master, rdr_conn_master_unknown,
		rdr_conn_rediscovery_requests};

/* gw_prefix, selection and gateways_max. */
static int rdr_gateways_setup(void)
{
	int selection = rdr_select_parse(
			redisroute_selection.s, redisroute_selection.len);

	if(selection < 0) {
		LM_ERR("bad modparam selection '%.*s': order, weight or hash\n",
				redisroute_selection.len, redisroute_selection.s);
		return -1;
	}
	if(redisroute_gw_prefix.len <= 0 || redisroute_gw_prefix.len > RDR_PREFIX_MAX
			|| memchr(redisroute_gw_prefix.s, '\0', redisroute_gw_prefix.len)
					   != NULL) {
		LM_ERR("modparam gw_prefix must be 1 to %d bytes\n", RDR_PREFIX_MAX);
		return -1;
	}
	return rdr_gw_init(&redisroute_gw_prefix, selection,
			redisroute_gateways_max, redisroute_max_targets);
}

/* probe_*, all_down and event_callback: the gateways' health. */
static int rdr_health_setup(void)
{
	rdr_health_cfg_t hc;

	if(redisroute_all_down.len == 3
			&& memcmp(redisroute_all_down.s, "all", 3) == 0)
		rdr_gw_set_all_down(1);
	else if(redisroute_all_down.len == 8
			&& memcmp(redisroute_all_down.s, "no_route", 8) == 0)
		rdr_gw_set_all_down(0);
	else {
		LM_ERR("bad modparam all_down '%.*s': no_route or all\n",
				redisroute_all_down.len, redisroute_all_down.s);
		return -1;
	}
	if(rdr_check_range("probe_passive", redisroute_probe_passive, 0, 1) < 0)
		return -1;
	memset(&hc, 0, sizeof(hc));
	hc.interval_s = redisroute_probe_interval;
	hc.failures = redisroute_probe_failures;
	hc.successes = redisroute_probe_successes;
	hc.alive = redisroute_probe_alive_replies;
	hc.from = redisroute_probe_from;
	hc.passive = redisroute_probe_passive;
	hc.event_callback = redisroute_event_callback;
	if(hc.event_callback.s == NULL)
		hc.event_callback.len = 0;
	return rdr_health_init(&hc, redisroute_gateways_max, rdr_answer_keep);
}

static int mod_init(void)
{
	rdr_conn_cfg_t cfg;
	rdr_prefix_cfg_t pfx;
	const char *err = NULL;
	int bad = 0, route_types, mode;

	memset(&cfg, 0, sizeof(cfg));
	if(rdr_url_parse(redisroute_server.s, redisroute_server.len, &cfg.url, &err)
			< 0) {
		LM_ERR("bad modparam server '%.*s': %s\n", redisroute_server.len,
				redisroute_server.s, err);
		return -1;
	}
	bad |= rdr_check_range("redirect_code", redisroute_redirect_code, 300, 399);
	bad |= rdr_check_range(
			"max_targets", redisroute_max_targets, 1, RDR_TARGETS_MAX);
	bad |= rdr_check_range(
			"connect_timeout", redisroute_connect_timeout, 1, 60000);
	bad |= rdr_check_range(
			"command_timeout", redisroute_command_timeout, 1, 60000);
	bad |= rdr_check_range(
			"retry_interval", redisroute_retry_interval, 0, 3600000);
	bad |= rdr_check_range("cache_size", redisroute_cache_size, 0, 10000000);
	bad |= rdr_check_range("cache_ttl", redisroute_cache_ttl, 0, 86400 * 365);
	bad |= rdr_check_range("cache_preload", redisroute_cache_preload, 0, 1);
	bad |= rdr_check_range("tls_verify", redisroute_tls_verify, 0, 1);
	bad |= rdr_check_range("async_workers", redisroute_async_workers, -1, 64);
	bad |= rdr_check_range(
			"async_max_pending", redisroute_async_max_pending, 1, 1000000);
	bad |= rdr_check_range("failover_shorter_prefix",
			redisroute_failover_shorter_prefix, 0, 1);
	bad |= rdr_check_range(
			"gateways_max", redisroute_gateways_max, 1, 100000);
	if(bad)
		return -1;
	if(rdr_sentinel_cfg(&cfg) < 0 || rdr_cluster_cfg(&cfg) < 0)
		return -1;
	if(rdr_tls_setup(&cfg) < 0)
		return -1;
	cfg.connect_timeout_ms = redisroute_connect_timeout;
	cfg.command_timeout_ms = redisroute_command_timeout;
	cfg.retry_interval_ms = redisroute_retry_interval;

	if(rdr_stats_init() < 0 || rdr_conn_init(&cfg) < 0)
		return -1;
	if(cfg.cluster && rdr_cluster_init() < 0)
		return -1;
	pfx.on = redisroute_prefix_match != 0;
	pfx.max_length = redisroute_prefix_max_length;
	pfx.min_length = redisroute_prefix_min_length;
	pfx.default_key = redisroute_prefix_default_key;
	if(pfx.default_key.s == NULL)
		pfx.default_key.len = 0;
	if(rdr_lookup_init(&redisroute_key_prefix, redisroute_max_targets, &pfx,
			   cfg.cluster)
			< 0)
		return -1;
	route_types = rdr_route_types_parse(
			redisroute_route_types.s, redisroute_route_types.len);
	if(route_types < 0) {
		LM_ERR("bad modparam route_types '%.*s': any, string, list or zset\n",
				redisroute_route_types.len, redisroute_route_types.s);
		return -1;
	}
	if(route_types != 0 && pfx.on) {
		LM_ERR("modparam route_types '%.*s' needs exact lookups: prefix_match "
			   "reads several keys with the lookup script (route_types "
			   "\"any\")\n",
				redisroute_route_types.len, redisroute_route_types.s);
		return -1;
	}
	rdr_eval_set_plain(route_types);
	/* the keys' types, learned, for plain commands instead of the script */
	if(route_types == 0 && rdr_eval_hints_init() < 0)
		return -1;
	if(redisroute_failover_shorter_prefix && !pfx.on) {
		LM_ERR("modparam failover_shorter_prefix needs prefix_match 1\n");
		return -1;
	}
	if(rdr_script_init(
			   redisroute_redirect_code, redisroute_failover_shorter_prefix)
			< 0)
		return -1;
	if(rdr_gateways_setup() < 0 || rdr_health_setup() < 0)
		return -1;
	if(cfg.nsentinels > 0 && rdr_sentinel_watch_init(&rdr_sentinel_to_conn) < 0)
		return -1;
	if(rdr_async_init(redisroute_async_workers, redisroute_async_max_pending)
			< 0)
		return -1;
	mode = rdr_notify_mode_parse(&redisroute_cache_invalidation);
	if(mode < 0) {
		LM_ERR("bad modparam cache_invalidation '%.*s': tracking or "
			   "keyspace\n",
				redisroute_cache_invalidation.len,
				redisroute_cache_invalidation.s);
		return -1;
	}
	/* the subscriptions watch the routes (cache) and the gateways */
	if(rdr_notify_setup(&redisroute_key_prefix, &redisroute_gw_prefix,
			   cfg.url.db, redisroute_retry_interval, mode,
			   redisroute_cache_size > 0)
			< 0)
		return -1;
	if(redisroute_cache_size > 0) {
		if(rdr_cache_init(redisroute_cache_size, redisroute_cache_ttl, pfx.on)
				< 0)
			return -1;
		if(rdr_notify_init() < 0)
			return -1;
		if(redisroute_cache_preload
				&& rdr_replica_init(
						   redisroute_cache_size, &redisroute_key_prefix)
						   < 0)
			return -1;
	} else if(redisroute_cache_preload) {
		LM_ERR("modparam cache_preload needs cache_size > 0 (the most keys "
			   "it loads)\n");
		return -1;
	}
	/* mod_init's own connections (sentinel) are closed: no TLS context is
	 * left for the forked processes to inherit, each makes its own */
	rdr_tls_destroy();
	LM_DBG("redis %s, key prefix '%.*s'\n", rdr_conn_address(),
			redisroute_key_prefix.len, redisroute_key_prefix.s);
	return 0;
}

static int child_init(int rank)
{
	/* the main process forks the module's own processes; it never routes */
	if(rank == PROC_MAIN) {
		if(rdr_conn_cfg()->nsentinels > 0 && rdr_sentinel_watch_fork() < 0)
			return -1;
		if(rdr_cache_enabled() && rdr_notify_fork() < 0)
			return -1;
		if(rdr_async_io_fork() < 0)
			return -1;
		if(rdr_health_fork() < 0)
			return -1;
		return 0;
	}
	/* PROC_INIT (still the main process) and tcp main never look anything
	 * up: no connection. Every other process connects now, RPC processes
	 * (ctl, jsonrpcs) included; one whose attempt fails tries again on a
	 * later use (retry_interval), and one forked without child_init (the
	 * cache notifier) connects on first use. */
	/* PROC_INIT: every module's mod_init has run (tm's callback lists
	 * exist, whatever the load order), and nothing is forked yet */
	if(rank == PROC_INIT)
		return rdr_script_hook_tm();
	if(rank == PROC_TCP_MAIN)
		return 0;
	/* Redis Cluster (the server URL's ?cluster=1): a connection per master,
	 * from the slot map; else one connection (to the master the sentinels
	 * name, with Sentinel) */
	if(rdr_conn_cfg()->cluster)
		rdr_cluster_child_init();
	else
		rdr_conn_child_init();
	return 0;
}

static void mod_destroy(void)
{
	rdr_gw_destroy();
	rdr_eval_hints_destroy();
	rdr_cache_destroy();
	rdr_replica_destroy();
	rdr_cluster_destroy();
	rdr_conn_destroy();
	rdr_tls_destroy();
}

/* The code may be a literal or hold pseudo-variables ("$hdr(X-Code)"): a
 * literal outside 300-399 is refused at start-up, a variable one is checked
 * at run time (-4). */
static int fixup_sip_redirect2(void **param, int param_no)
{
	gparam_t *gp;

	if(param_no != 1 && param_no != 2)
		return 0;
	if(fixup_spve_null(param, 1) < 0)
		return -1;
	gp = (gparam_t *)*param;
	if(param_no == 2 && gp->type == GPARAM_TYPE_STR
			&& rdr_code_parse(gp->v.str.s, gp->v.str.len) < 0) {
		LM_ERR("sip_redirect(): reply code '%.*s' is not a 3xx code\n",
				gp->v.str.len, gp->v.str.s);
		return -1;
	}
	return 0;
}

/* The script functions in the forms KEMI calls them: optional parameters
 * become separate functions. sip_forward, sip_forward_next and sip_lookup
 * with a key are rdr_sip_forward(), rdr_sip_forward_next() and
 * rdr_sip_lookup() themselves. */

static int ki_sip_redirect(sip_msg_t *msg)
{
	return rdr_sip_redirect(msg, NULL, 0);
}

static int ki_sip_redirect_key(sip_msg_t *msg, str *key)
{
	return rdr_sip_redirect(msg, key, 0);
}

static int ki_sip_redirect_code(sip_msg_t *msg, str *key, int code)
{
	/* 0 would mean "the default": refuse it like any non-3xx value */
	return rdr_sip_redirect(msg, key, code == 0 ? -1 : code);
}

static int ki_sip_forward(sip_msg_t *msg)
{
	return rdr_sip_forward(msg, NULL);
}

static int ki_sip_lookup(sip_msg_t *msg)
{
	return rdr_sip_lookup(msg, NULL);
}

/* Reads the key parameter (a string with pseudo-variables). */
static str *rdr_get_key(sip_msg_t *msg, char *key, str *out)
{
	if(fixup_get_svalue(msg, (gparam_t *)key, out) < 0) {
		LM_ERR("cannot get the key\n");
		return NULL;
	}
	return out;
}

/* The cfg form of a function with a key: the key's value, then fn. */
static int rdr_with_key(
		sip_msg_t *msg, char *key, int (*fn)(sip_msg_t *msg, str *key))
{
	str skey;

	if(rdr_get_key(msg, key, &skey) == NULL)
		return RDR_NOT_APPLICABLE;
	return fn(msg, &skey);
}

/* The cfg wrappers */

static int w_sip_redirect0(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sip_redirect(msg);
}

static int w_sip_redirect1(sip_msg_t *msg, char *key, char *p2)
{
	return rdr_with_key(msg, key, ki_sip_redirect_key);
}

static int w_sip_redirect2(sip_msg_t *msg, char *key, char *code)
{
	str skey, scode;
	int icode;

	if(rdr_get_key(msg, key, &skey) == NULL)
		return RDR_NOT_APPLICABLE;
	if(fixup_get_svalue(msg, (gparam_t *)code, &scode) < 0) {
		LM_ERR("cannot get the code\n");
		return RDR_NOT_APPLICABLE;
	}
	icode = rdr_code_parse(scode.s, scode.len);
	if(icode < 0) {
		LM_ERR("sip_redirect(): reply code '%.*s' is not a 3xx code\n",
				scode.len, scode.s);
		return RDR_NOT_APPLICABLE;
	}
	return rdr_sip_redirect(msg, &skey, icode);
}

static int w_sip_forward0(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sip_forward(msg);
}

static int w_sip_forward1(sip_msg_t *msg, char *key, char *p2)
{
	return rdr_with_key(msg, key, rdr_sip_forward);
}

static int w_sip_forward_next(sip_msg_t *msg, char *p1, char *p2)
{
	return rdr_sip_forward_next(msg);
}

static int w_sip_lookup0(sip_msg_t *msg, char *p1, char *p2)
{
	return ki_sip_lookup(msg);
}

static int w_sip_lookup1(sip_msg_t *msg, char *key, char *p2)
{
	return rdr_with_key(msg, key, rdr_sip_lookup);
}

/* KSR.redisroute.lookup_rc(): $redisroute(rc), 0 when there is none. */
static int ki_lookup_rc(sip_msg_t *msg)
{
	rdr_view_t v;

	return rdr_answer_get(msg, &v) ? v.rc : 0;
}

/* KSR.redisroute.lookup_count(): $redisroute(count). */
static int ki_lookup_count(sip_msg_t *msg)
{
	rdr_view_t v;

	return rdr_answer_get(msg, &v) ? v.n : 0;
}

/* A KEMI string that points into the request's answer, or nil. */
static sr_kemi_xval_t *rdr_kemi_str(const str *s)
{
	static sr_kemi_xval_t xval;

	memset(&xval, 0, sizeof(xval));
	if(s == NULL || s->len == 0) {
		sr_kemi_xval_null(&xval, SR_KEMI_XVAL_NULL_NONE);
		return &xval;
	}
	xval.vtype = SR_KEMIP_STR;
	xval.v.s = *s;
	return &xval;
}

/* A target's field for KEMI: the uri, gw or attrs of the answer's target
 * idx (negative: from the end), or nil. */
static sr_kemi_xval_t *rdr_kemi_target(sip_msg_t *msg, int idx, size_t field)
{
	rdr_view_t v;

	if(!rdr_answer_get(msg, &v))
		return rdr_kemi_str(NULL);
	if(idx < 0)
		idx += v.n;
	if(idx < 0 || idx >= v.n)
		return rdr_kemi_str(NULL);
	return rdr_kemi_str((const str *)((const char *)&v.t[idx] + field));
}

/* KSR.redisroute.lookup_uri(idx): $(redisroute(uri)[idx]), or nil. */
static sr_kemi_xval_t *ki_lookup_uri(sip_msg_t *msg, int idx)
{
	return rdr_kemi_target(msg, idx, offsetof(rdr_target_t, uri));
}

/* KSR.redisroute.lookup_gw(idx): $(redisroute(gw)[idx]), or nil. */
static sr_kemi_xval_t *ki_lookup_gw(sip_msg_t *msg, int idx)
{
	return rdr_kemi_target(msg, idx, offsetof(rdr_target_t, gw));
}

/* KSR.redisroute.lookup_attrs(idx): $(redisroute(attrs)[idx]), or nil. */
static sr_kemi_xval_t *ki_lookup_attrs(sip_msg_t *msg, int idx)
{
	return rdr_kemi_target(msg, idx, offsetof(rdr_target_t, attrs));
}

/* KSR.redisroute.lookup_key(): $redisroute(key), or nil. */
static sr_kemi_xval_t *ki_lookup_key(sip_msg_t *msg)
{
	rdr_view_t v;

	return rdr_kemi_str(rdr_answer_get(msg, &v) ? &v.key : NULL);
}

/* C API (api.h): rdr_lookup() for other modules, which may have no R-URI
 * user to complete bare hosts with */
static int rdr_api_lookup(
		const str *key, const str *ruri_user, int sips, rdr_result_t *res)
{
	static str no_user = {"", 0};

	if(res == NULL) {
		LM_ERR("redisroute api lookup() called without a result\n");
		return RDR_NOT_APPLICABLE;
	}
	return rdr_lookup(key, ruri_user ? ruri_user : &no_user, sips, 0, res);
}

int bind_redisroute(redisroute_api_t *api)
{
	if(api == NULL) {
		LM_ERR("bind_redisroute() called without an api structure\n");
		return -1;
	}
	memset(api, 0, sizeof(*api));
	api->lookup = rdr_api_lookup;
	return 0;
}

/* clang-format off */
#define RDR_KEMI_NO_PARAMS { SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE, \
		SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
#define RDR_KEMI_STR_PARAM { SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE, \
		SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
#define RDR_KEMI_STR_INT_PARAMS { SR_KEMIP_STR, SR_KEMIP_INT, SR_KEMIP_NONE, \
		SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
#define RDR_KEMI_STR_STR_PARAMS { SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE, \
	SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
#define RDR_KEMI_INT_PARAM { SR_KEMIP_INT, SR_KEMIP_NONE, SR_KEMIP_NONE, \
		SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
/* one export of KSR.redisroute.<name> */
#define RDR_KEMI(name, rtype, fn, params) \
	{ str_init("redisroute"), str_init(name), rtype, fn, params }

static sr_kemi_t sr_kemi_redisroute_exports[] = {
	RDR_KEMI("sip_redirect", SR_KEMIP_INT, ki_sip_redirect, RDR_KEMI_NO_PARAMS),
	RDR_KEMI("sip_redirect_key", SR_KEMIP_INT, ki_sip_redirect_key, RDR_KEMI_STR_PARAM),
	RDR_KEMI("sip_redirect_code", SR_KEMIP_INT, ki_sip_redirect_code, RDR_KEMI_STR_INT_PARAMS),
	RDR_KEMI("sip_forward", SR_KEMIP_INT, ki_sip_forward, RDR_KEMI_NO_PARAMS),
	RDR_KEMI("sip_forward_key", SR_KEMIP_INT, rdr_sip_forward, RDR_KEMI_STR_PARAM),
	RDR_KEMI("sip_forward_next", SR_KEMIP_INT, rdr_sip_forward_next, RDR_KEMI_NO_PARAMS),
	RDR_KEMI("sip_lookup", SR_KEMIP_INT, ki_sip_lookup, RDR_KEMI_NO_PARAMS),
	RDR_KEMI("sip_lookup_key", SR_KEMIP_INT, rdr_sip_lookup, RDR_KEMI_STR_PARAM),
	RDR_KEMI("sip_lookup_async", SR_KEMIP_INT, ki_sip_lookup_async, RDR_KEMI_STR_PARAM),
	RDR_KEMI("sip_lookup_async_key", SR_KEMIP_INT, ki_sip_lookup_async_key, RDR_KEMI_STR_STR_PARAMS),
	RDR_KEMI("lookup_rc", SR_KEMIP_INT, ki_lookup_rc, RDR_KEMI_NO_PARAMS),
	RDR_KEMI("lookup_count", SR_KEMIP_INT, ki_lookup_count, RDR_KEMI_NO_PARAMS),
	RDR_KEMI("lookup_key", SR_KEMIP_XVAL, ki_lookup_key, RDR_KEMI_NO_PARAMS),
	RDR_KEMI("lookup_uri", SR_KEMIP_XVAL, ki_lookup_uri, RDR_KEMI_INT_PARAM),
	RDR_KEMI("lookup_gw", SR_KEMIP_XVAL, ki_lookup_gw, RDR_KEMI_INT_PARAM),
	RDR_KEMI("lookup_attrs", SR_KEMIP_XVAL, ki_lookup_attrs, RDR_KEMI_INT_PARAM),

	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	sr_kemi_modules_add(sr_kemi_redisroute_exports);
	return 0;
}
