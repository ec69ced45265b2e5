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
 * module's processes that do it
 */

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/pt.h"
#include "core/sr_module.h"

#include "rdr_conn.h"
#include "rdr_pubsub.h"

#define RDR_PUBSUB_IDLE_MS 1000
#define RDR_PUBSUB_DEAD_MS 3000

const redisReply *rdr_pubsub_payload(
		const redisReply *r, const redisReply **channel)
{
	size_t first;

	if(r->type != REDIS_REPLY_ARRAY || r->elements < 3
			|| r->element[0]->type != REDIS_REPLY_STRING)
		return NULL;
	if(r->elements == 3 && strcmp(r->element[0]->str, "message") == 0)
		first = 1;
	else if(r->elements == 4 && strcmp(r->element[0]->str, "pmessage") == 0)
		first = 2;
	else
		return NULL;
	if(r->element[first]->type != REDIS_REPLY_STRING
			|| r->element[first + 1]->type != REDIS_REPLY_STRING)
		return NULL;
	if(channel)
		*channel = r->element[first];
	return r->element[first + 1];
}

int rdr_pubsub_take_buffered(
		redisContext *ctx, void (*on_message)(const redisReply *))
{
	void *reply = NULL;
	int n = 0;

	while(redisGetReplyFromReader(ctx, &reply) == REDIS_OK && reply != NULL) {
		on_message(reply);
		freeReplyObject(reply);
		reply = NULL;
		n++;
	}
	return ctx->err ? -1 : n;
}

int rdr_pubsub_drain(redisContext *ctx, void (*on_message)(const redisReply *))
{
	struct pollfd pfd;

	for(;;) {
		if(rdr_pubsub_take_buffered(ctx, on_message) < 0)
			return -1;
		pfd.fd = ctx->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if(poll(&pfd, 1, 0) <= 0)
			return 0;
		if(redisBufferRead(ctx) != REDIS_OK)
			return -1;
	}
}

void rdr_pubsub_listen(redisContext *ctx,
		void (*on_message)(const redisReply *), int (*stop)(void))
{
	long long last = rdr_conn_now_ms(), pinged = 0;
	const char *ping[1] = {"PING"};

	while(ctx != NULL && !ctx->err) {
		struct pollfd pfd;
		long long now;
		int rc, done = 0;

		/* the forked processes that listen follow runtime config changes
		 * (kamcmd cfg.set ...) */
		cfg_update();
		rc = rdr_pubsub_take_buffered(ctx, on_message);
		if(rc > 0)
			last = rdr_conn_now_ms();
		if(rc < 0 || (stop != NULL && stop()))
			return;
		pfd.fd = ctx->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, RDR_PUBSUB_IDLE_MS);
		if(rc < 0) {
			if(errno == EINTR)
				continue;
			return;
		}
		now = rdr_conn_now_ms();
		if(rc > 0) {
			if(redisBufferRead(ctx) != REDIS_OK)
				return;
			continue;
		}
		if(now - last >= RDR_PUBSUB_DEAD_MS)
			return;
		if(now - pinged >= RDR_PUBSUB_IDLE_MS) {
			LM_DBG("pub/sub connection idle: keepalive PING\n");
			if(redisAppendCommandArgv(ctx, 1, ping, NULL) != REDIS_OK)
				return;
			do {
				if(redisBufferWrite(ctx, &done) != REDIS_OK)
					return;
			} while(!done);
			pinged = now;
		}
	}
}

void rdr_pubsub_proc_register(void)
{
	register_procs(1);
	cfg_register_child(1);
}

int rdr_pubsub_proc_fork(char *desc, void (*loop)(void))
{
	int pid = fork_process(PROC_NOCHLDINIT, desc, 1);

	if(pid < 0)
		return -1;
	if(pid == 0) {
		if(cfg_child_init())
			return -1;
		loop();
	}
	return 0;
}
