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
 * redisroute - reading a subscribed Redis connection (pub/sub), and the
 * module's processes that do it (the cache notifier, the sentinel watcher)
 */

#ifndef _RDR_PUBSUB_H_
#define _RDR_PUBSUB_H_

#include <hiredis/hiredis.h>

/* Reads ctx, subscribed, until it fails, stays silent for 3 s (it is PINGed
 * every second of silence, and Redis answers PINGs while subscribed) or
 * stop() returns non-zero; hands every message to on_message. For the
 * module's forked processes: it calls cfg_update() between reads. */
void rdr_pubsub_listen(redisContext *ctx,
		void (*on_message)(const redisReply *), int (*stop)(void));

/* Hands every message hiredis already holds for ctx (one read may bring
 * several) to on_message, reading nothing. Returns how many, or -1 when ctx
 * has failed. */
int rdr_pubsub_take_buffered(
		redisContext *ctx, void (*on_message)(const redisReply *));

/* Hands every message already readable on ctx to on_message, never
 * waiting. Returns 0, or -1 when ctx has failed. */
int rdr_pubsub_drain(redisContext *ctx, void (*on_message)(const redisReply *));

/* One listening process of the module: rdr_pubsub_proc_register() in
 * mod_init, rdr_pubsub_proc_fork() in child_init(PROC_MAIN). The process is
 * forked without the modules' child_init (it opens what it uses itself),
 * follows runtime config changes, and runs loop(), which does not return.
 * rdr_pubsub_proc_fork() returns 0 in the main process, -1 when the fork
 * fails. */
void rdr_pubsub_proc_register(void);
int rdr_pubsub_proc_fork(char *desc, void (*loop)(void));

/* The payload of a pushed message: ["message", channel, payload] or
 * ["pmessage", pattern, channel, payload]; NULL for anything else (pongs,
 * subscription confirmations). *channel is set when not NULL. */
const redisReply *rdr_pubsub_payload(
		const redisReply *r, const redisReply **channel);

#endif
