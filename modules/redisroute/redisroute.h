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
 * redisroute - what the whole module shares: hard bounds, the return codes
 * of the script functions, the configuration structures mod_init fills, and
 * the module parameters other files read
 */

#ifndef _REDISROUTE_H_
#define _REDISROUTE_H_

#include "core/str.h"

#include "rdr_url.h"

/*
 * the module's configuration as its files share it: hard
 * bounds, return codes and the configuration structures mod_init fills
 */

/* return codes shared by every script function (README.md's "Return codes",
 * the docbook's Functions) */
#define RDR_OK 1
#define RDR_NO_ROUTE -1
#define RDR_UNAVAILABLE -2
#define RDR_BAD_DATA -3
#define RDR_NOT_APPLICABLE -4
#define RDR_RELAY_FAILED -5

/* hard bounds: max_targets may not exceed RDR_TARGETS_MAX; at most
 * RDR_FETCH_MAX entries of one key are read, invalid ones included */
#define RDR_TARGETS_MAX 32
#define RDR_FETCH_MAX 64
#define RDR_KEY_MAX 256
#define RDR_PREFIX_MAX 128
/* prefix matching: the most candidate keys one lookup tries (the longest
 * prefixes, then the default key) */
#define RDR_CANDIDATES_MAX 33
/* a gateway's NAME (@NAME in a route, gw_prefix + NAME in Redis) and its
 * attrs, as rdr_gw_record.h validates them */
#define RDR_GW_NAME_MAX 64
#define RDR_GW_ATTRS_MAX 255
/* the lookup script's argv: command, script, numkeys, keys, 2 arguments */
#define RDR_SCRIPT_ARGV_MAX (RDR_CANDIDATES_MAX + 5)

typedef struct rdr_prefix_cfg
{
	int on;			 /* 0: exact key only */
	int max_length;	 /* longest prefix tried (the key is cut to it) */
	int min_length;	 /* shortest prefix tried */
	str default_key; /* tried last; empty: none */
} rdr_prefix_cfg_t;

typedef struct rdr_conn_cfg
{
	rdr_server_url_t url; /* with sentinels: credentials and db only */
	rdr_hostport_t sentinels[RDR_SENTINELS_MAX];
	int nsentinels; /* 0: connect to url directly */
	char sentinel_master[128];
	char sentinel_password[RDR_URL_CRED_MAX];
	int sentinel_tls; /* 1: TLS to the sentinels, "rediss://" before them
					   * (the master: url.tls) */
	int cluster;	  /* url.cluster: url and cluster_seeds are nodes of a Redis
				  * Cluster */
	rdr_hostport_t
			cluster_seeds[RDR_CLUSTER_SEEDS_MAX]; /* besides url's node */
	int ncluster_seeds;
	int connect_timeout_ms;
	int command_timeout_ms;
	int retry_interval_ms;
} rdr_conn_cfg_t;

/*
 * module parameters shared between the module's files
 */

/* defined in redisroute_mod.c, which hands them on at init
 * (rdr_script_init(), rdr_lookup_init()); no other file reads them */
extern int redisroute_redirect_code;
extern int redisroute_max_targets;

#endif
