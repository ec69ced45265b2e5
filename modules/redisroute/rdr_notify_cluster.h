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
 * redisroute - the cache's subscriptions in cluster mode: one per master
 *
 * Each master only tells of the keys it holds, so a process that uses the
 * cache holds one tracking subscription per master of its slot map
 * (rdr_notify_subscribe_on() on a connection of its own to that master). The
 * set follows the map: a master that joins gets one, a master that leaves
 * loses its own, and any change of the set empties the cache (what moved is
 * then read again). The cache may be used only while every master has its
 * subscription up.
 */

#ifndef _RDR_NOTIFY_CLUSTER_H_
#define _RDR_NOTIFY_CLUSTER_H_

/* In a worker, before it uses the cache: follows the map, applies what
 * waits on every subscription, never waiting. 1 when the cache may be used. */
int rdr_notify_cluster_sync(void);

/* The notifier's loop in cluster mode: keeps its own set, sets the cache
 * active while every master's subscription is up. Never returns. */
void rdr_notify_cluster_loop(void);

#endif
