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
 * redisroute - parsing of the `server` parameter (pure: libc only)
 *
 *   redis://[[user]:password@]host[:port][/db][?cluster=1]
 *                                                  (host: name, IPv4, [IPv6])
 *   rediss://...                                   (the same, over TLS)
 *   unix:/path/to/redis.sock[?db=N][&user=U][&password=P]
 */

#ifndef _RDR_URL_H_
#define _RDR_URL_H_

#define RDR_URL_HOST_MAX 256
#define RDR_URL_PATH_MAX 108 /* sun_path */
#define RDR_URL_CRED_MAX 256

typedef struct rdr_server_url
{
	int is_unix;
	int tls;					 /* rediss:// */
	char host[RDR_URL_HOST_MAX]; /* without brackets for IPv6 */
	int port;
	char path[RDR_URL_PATH_MAX];
	char user[RDR_URL_CRED_MAX];	 /* empty: no ACL user */
	char password[RDR_URL_CRED_MAX]; /* empty: no AUTH */
	int db;
	int cluster; /* ?cluster=1: a node of a Redis Cluster */
} rdr_server_url_t;

/* Parses a server URL into url. Returns 0, or -1 with *err set to a static
 * explanation. User and password may be %-escaped. */
int rdr_url_parse(
		const char *s, int len, rdr_server_url_t *url, const char **err);

/* the most addresses the host:port lists take (rdr_hostports_parse): the
 * sentinels, and the cluster_seeds besides the server URL's node */
#define RDR_SENTINELS_MAX 8
#define RDR_CLUSTER_SEEDS_MAX 8

typedef struct rdr_hostport
{
	char host[RDR_URL_HOST_MAX]; /* without brackets for IPv6 */
	int port;
} rdr_hostport_t;

/* Parses a comma-separated list of host:port, [ipv6]:port or host (port
 * default_port) into out (at most max entries), optionally after a
 * redis:// or rediss:// scheme (*tls: 1 for rediss://; tls may be NULL,
 * which refuses a scheme). Returns the number of entries, or -1 with *err
 * set. */
int rdr_hostports_parse(const char *s, int len, int default_port,
		rdr_hostport_t *out, int max, int *tls, const char **err);

/* Writes "host:port", or "[v6]:port" for an IPv6 host, into out. Returns
 * the length (cut to out_size - 1). */
int rdr_hostport_print(const char *host, int port, char *out, int out_size);

/* Writes "host:port", "[v6]:port" or "unix:/path" plus "/db" into out, for
 * logs and RPC; never the credentials. Returns the length. */
int rdr_url_print(const rdr_server_url_t *url, char *out, int out_size);

#endif
