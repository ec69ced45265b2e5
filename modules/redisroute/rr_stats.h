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

#ifndef _RR_STATS_H_
#define _RR_STATS_H_

#include "core/counters.h"

enum rr_stat
{
	RR_STAT_LOOKUPS = 0,
	RR_STAT_HITS,
	RR_STAT_MISSES,
	RR_STAT_ERRORS,
	RR_STAT_BAD_DATA,
	RR_STAT_REDIRECTS,
	RR_STAT_FORWARDS,
	RR_STAT_FAILOVERS,
	RR_STAT_CACHE_HITS,
	RR_STAT_CACHE_MISSES,
	RR_STAT_CACHE_INVALIDATIONS, /* keys Redis said changed (counted once) */
	RR_STAT_CACHE_FLUSHES,		 /* the whole cache emptied */
	RR_STAT_CLUSTER_MOVED,
	RR_STAT_CLUSTER_ASK,
	/* how long lookups took, Redis or cache included: one bucket each */
	RR_STAT_LATENCY_LT_1MS,
	RR_STAT_LATENCY_LT_5MS,
	RR_STAT_LATENCY_LT_25MS,
	RR_STAT_LATENCY_LT_100MS,
	RR_STAT_LATENCY_GE_100MS,
	RR_STAT_COUNT
};

extern stat_export_t rr_stats_exports[];
extern stat_var *rr_stats[RR_STAT_COUNT];

/* Registers the counters; in mod_init. */
int rr_stats_init(void);

#define rr_stats_inc(which) update_stat(rr_stats[(which)], 1)
#define rr_stats_add(which, n) update_stat(rr_stats[(which)], (n))

/* Counts a lookup of us microseconds in its latency bucket. */
void rr_stats_latency(long us);

#endif
