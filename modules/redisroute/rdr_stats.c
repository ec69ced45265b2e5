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
 * redisroute - statistics
 */

#include "core/dprint.h"

#include "rdr_stats.h"

stat_var *rdr_stats[RDR_STAT_COUNT];

/* clang-format off */
stat_export_t rdr_stats_exports[] = {
	{"lookups",   0, &rdr_stats[RDR_STAT_LOOKUPS]},
	{"hits",      0, &rdr_stats[RDR_STAT_HITS]},
	{"misses",    0, &rdr_stats[RDR_STAT_MISSES]},
	{"errors",    0, &rdr_stats[RDR_STAT_ERRORS]},
	{"bad_data",  0, &rdr_stats[RDR_STAT_BAD_DATA]},
	{"redirects", 0, &rdr_stats[RDR_STAT_REDIRECTS]},
	{"forwards",  0, &rdr_stats[RDR_STAT_FORWARDS]},
	{"failovers", 0, &rdr_stats[RDR_STAT_FAILOVERS]},
	{"cache_hits", 0, &rdr_stats[RDR_STAT_CACHE_HITS]},
	{"cache_misses", 0, &rdr_stats[RDR_STAT_CACHE_MISSES]},
	{"cache_invalidations", 0, &rdr_stats[RDR_STAT_CACHE_INVALIDATIONS]},
	{"cache_flushes", 0, &rdr_stats[RDR_STAT_CACHE_FLUSHES]},
	{"cluster_moved", 0, &rdr_stats[RDR_STAT_CLUSTER_MOVED]},
	{"cluster_ask",  0, &rdr_stats[RDR_STAT_CLUSTER_ASK]},
	{"gateway_reads", 0, &rdr_stats[RDR_STAT_GATEWAY_READS]},
	{"gateway_downs", 0, &rdr_stats[RDR_STAT_GATEWAY_DOWNS]},
	{"gateway_ups",   0, &rdr_stats[RDR_STAT_GATEWAY_UPS]},
	{"gateway_probes", 0, &rdr_stats[RDR_STAT_GATEWAY_PROBES]},
	{"gateway_passive", 0, &rdr_stats[RDR_STAT_GATEWAY_PASSIVE]},
	{"latency_lt_1ms",   0, &rdr_stats[RDR_STAT_LATENCY_LT_1MS]},
	{"latency_lt_5ms",   0, &rdr_stats[RDR_STAT_LATENCY_LT_5MS]},
	{"latency_lt_25ms",  0, &rdr_stats[RDR_STAT_LATENCY_LT_25MS]},
	{"latency_lt_100ms", 0, &rdr_stats[RDR_STAT_LATENCY_LT_100MS]},
	{"latency_ge_100ms", 0, &rdr_stats[RDR_STAT_LATENCY_GE_100MS]},
	{0, 0, 0}
};
/* clang-format on */

int rdr_stats_init(void)
{
	if(register_module_stats("redisroute", rdr_stats_exports) != 0) {
		LM_ERR("cannot register the statistics\n");
		return -1;
	}
	return 0;
}

void rdr_stats_latency(long us)
{
	if(us < 1000)
		rdr_stats_inc(RDR_STAT_LATENCY_LT_1MS);
	else if(us < 5000)
		rdr_stats_inc(RDR_STAT_LATENCY_LT_5MS);
	else if(us < 25000)
		rdr_stats_inc(RDR_STAT_LATENCY_LT_25MS);
	else if(us < 100000)
		rdr_stats_inc(RDR_STAT_LATENCY_LT_100MS);
	else
		rdr_stats_inc(RDR_STAT_LATENCY_GE_100MS);
}
