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
 * redisroute - statistics (kamcmd stats.get_statistics redisroute:)
 */

#ifndef _RDR_STATS_H_
#define _RDR_STATS_H_

#include "core/counters.h"

enum rdr_stat
{
	RDR_STAT_LOOKUPS = 0,
	RDR_STAT_HITS,
	RDR_STAT_MISSES,
	RDR_STAT_ERRORS,
	RDR_STAT_BAD_DATA,
	RDR_STAT_REDIRECTS,
	RDR_STAT_FORWARDS,
	RDR_STAT_FAILOVERS,
	RDR_STAT_CACHE_HITS,
	RDR_STAT_CACHE_MISSES,
	RDR_STAT_CACHE_INVALIDATIONS, /* keys Redis said changed (counted once) */
	RDR_STAT_CACHE_FLUSHES,		  /* the whole cache emptied */
	RDR_STAT_CLUSTER_MOVED,
	RDR_STAT_CLUSTER_ASK,
	RDR_STAT_GATEWAY_READS, /* gateways read from Redis (HMGET) */
	RDR_STAT_GATEWAY_DOWNS,	  /* transitions to down this node saw */
	RDR_STAT_GATEWAY_UPS,	  /* and back up */
	RDR_STAT_GATEWAY_PROBES,  /* OPTIONS this node sent */
	RDR_STAT_GATEWAY_PASSIVE, /* failed relays this node reported */
	/* how long lookups took, Redis or cache included: one bucket each */
	RDR_STAT_LATENCY_LT_1MS,
	RDR_STAT_LATENCY_LT_5MS,
	RDR_STAT_LATENCY_LT_25MS,
	RDR_STAT_LATENCY_LT_100MS,
	RDR_STAT_LATENCY_GE_100MS,
	RDR_STAT_COUNT
};

extern stat_export_t rdr_stats_exports[];
extern stat_var *rdr_stats[RDR_STAT_COUNT];

/* Registers the counters; in mod_init. */
int rdr_stats_init(void);

#define rdr_stats_inc(which) update_stat(rdr_stats[(which)], 1)
#define rdr_stats_add(which, n) update_stat(rdr_stats[(which)], (n))

/* Counts a lookup of us microseconds in its latency bucket. */
void rdr_stats_latency(long us);

#endif
