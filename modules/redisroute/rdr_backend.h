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
 * redisroute - where lookups go: one Redis (directly or through Sentinel),
 * or a Redis Cluster, chosen once in mod_init, so that the lookup code never
 * asks which
 */

#ifndef _RDR_BACKEND_H_
#define _RDR_BACKEND_H_

#include <stddef.h>

#include <hiredis/hiredis.h>

typedef struct rdr_backend
{
	const char *name;
	/* In child_init: this process's first connections. */
	void (*child_init)(void);
	/* Runs the lookup script (rdr_eval.h) over the candidate keys. Returns
	 * its reply (maybe an error reply), or NULL when Redis is unavailable;
	 * the caller frees it. *matched: the index in keys of the key that
	 * exists, -1 when the reply names none (the reply's own index may count
	 * in fewer keys: a cluster runs the script per slot). Waits at most
	 * command_timeout per node asked. */
	redisReply *(*eval)(
			int nkeys, const char **keys, const size_t *klens, int *matched);
} rdr_backend_t;

/* rdr_conn.c: one server, or the master the sentinels name */
extern const rdr_backend_t rdr_single_backend;
/* rdr_cluster.c: the master of each key's slot */
extern const rdr_backend_t rdr_cluster_backend;

#endif
