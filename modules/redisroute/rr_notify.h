/*
 * Copyright (C) 2026 redisroute authors
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
 * redisroute - the cache's notifier process
 *
 * One dedicated Kamailio process subscribes to Redis keyspace notifications
 * for the key prefix (turning them on with CONFIG SET when allowed) and
 * invalidates cache entries. While it is not subscribed, the cache is empty
 * and bypassed.
 */

#ifndef _RR_NOTIFY_H_
#define _RR_NOTIFY_H_

#include "core/str.h"

/* In mod_init, when the cache is on: registers the process. flush_all: every
 * change empties the whole cache (prefix matching, where a new key can change
 * the answer for many lookup keys). */
int rr_notify_init(
		const str *prefix, int db, int retry_interval_ms, int flush_all);
/* In child_init(PROC_MAIN): forks the process. */
int rr_notify_fork(void);

/* In a worker, before it uses the cache: applies the invalidations waiting
 * on this worker's own subscription (opened on first use). Redis writes a
 * change's notification to every subscriber in the same pass as it answers
 * the client that made the change, so once that client has its answer, the
 * invalidation is in this worker's socket: the next request cannot be served
 * a stale entry, however late the notifier process gets the CPU. Returns 1
 * when the cache may be used, 0 when this worker's subscription is not up
 * (then it bypasses the cache). */
int rr_notify_worker_sync(void);

#endif
