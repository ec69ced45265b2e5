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
 * redisroute - Redis Sentinel: where the master is, and when it moves
 */

#ifndef _RDR_SENTINEL_H_
#define _RDR_SENTINEL_H_

#include "rdr_conn.h"

/* Asks the sentinels, starting with *first (updated to the one that
 * answered), where the master is. Returns 0 with host (RDR_URL_HOST_MAX) and
 * port set, or -1 with err set. */
int rdr_sentinel_get_master(const rdr_conn_cfg_t *cfg, int *first, char *host,
		int *port, char *err, int errlen);

/* The watcher: the one process that asks the sentinels where the master is
 * and reports it, subscribed to +switch-master at a sentinel, so
 * that a failover is followed at once, not when the demoted master finally
 * closes its clients; it asks again whenever a worker reports the master
 * failing. It reports through `report` (rdr_conn.c's publish functions, as
 * redisroute_mod.c wires them). In mod_init: registers it and asks the
 * sentinels once, before the workers connect; in child_init(PROC_MAIN):
 * forks it. */
typedef struct rdr_sentinel_report
{
	/* the master the sentinels name (every process reconnects if it moved) */
	void (*master)(const char *host, int port);
	/* no sentinel could say where the master is, and why */
	void (*unknown)(const char *why);
	/* how many times a worker has asked for the sentinels to be asked again */
	int (*requests)(void);
} rdr_sentinel_report_t;

int rdr_sentinel_watch_init(const rdr_sentinel_report_t *report);
int rdr_sentinel_watch_fork(void);

#endif
