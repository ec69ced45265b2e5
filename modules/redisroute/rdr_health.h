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
 * redisroute - the gateways' health: one prober for the whole fleet (a lease
 * in Redis), its findings in Redis (gw:NAME:health), and on every node a
 * process that follows them into shared memory, where lookups read them
 *
 * Each node with probe_interval runs one "redisroute health" process. The
 * node holding the lease (gw_prefix + ":prober", renewed each interval)
 * sends OPTIONS through tm to every gateway each interval; every node
 * reports the passive failures of the calls it relayed. An observation goes
 * to Redis through one script, which counts consecutive failures and
 * successes and flips the state. Every health process follows the health
 * keys through its own client-side caching subscription and sets the state
 * in shared memory (rdr_gw_set_health()), logs the transition and runs the
 * event routes.
 */

#ifndef _RDR_HEALTH_H_
#define _RDR_HEALTH_H_

#include "core/str.h"

typedef struct rdr_health_cfg
{
	int interval_s;		/* probe_interval; 0: off */
	int failures;		/* probe_failures */
	int successes;		/* probe_successes */
	str alive;			/* probe_alive_replies */
	str from;			/* probe_from */
	int passive;		/* probe_passive */
	str event_callback; /* KEMI: event_callback */
} rdr_health_cfg_t;

/* In mod_init, after rdr_gw_init(): checks the parameters, allocates the
 * shared state, registers the process. 0 when off. keep_answer: how an
 * event route is given the gateway as its request's answer
 * (rdr_answer_keep()). */
int rdr_health_init(const rdr_health_cfg_t *cfg, int gateways_max,
		int (*keep_answer)(const char *packed, int len));
/* In child_init(PROC_MAIN): forks the health process. */
int rdr_health_fork(void);
/* 1 when health is on (probe_interval). */
int rdr_health_enabled(void);
/* 1 when relayed calls report their gateways' failures (probe_passive). */
int rdr_health_passive_on(void);

/* From any process: a call relayed to gateway name failed with code (408,
 * 503: counted; other codes ignored). Never waits. */
void rdr_health_passive(const str *name, int code);

typedef struct rdr_health_status
{
	int on;
	int probing;	 /* this node holds the lease */
	char prober[96]; /* the lease holder seen last, "" none */
	int rights;		 /* 0: this node may not write (never probes) */
} rdr_health_status_t;
void rdr_health_get_status(rdr_health_status_t *st);

#endif
