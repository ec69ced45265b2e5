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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/ut.h"

#include "rdr_conn.h"
#include "rdr_sentinel.h"

/* Connects to sentinel idx, with sentinel_password. Returns the context, or
 * NULL with err set (a refused AUTH is said as such, not read later as a
 * sentinel that does not know the master). */
static redisContext *rdr_sentinel_connect(
		const rdr_conn_cfg_t *cfg, int idx, char *err, int errlen)
{
	const rdr_hostport_t *s = &cfg->sentinels[idx];
	char detail[128];
	int stage;
	redisContext *ctx = rdr_conn_dial(s->host, s->port, NULL, cfg->sentinel_tls,
			"", cfg->sentinel_password, &stage, detail, sizeof(detail));
	if(ctx == NULL && stage != RDR_DIAL_CONNECT)
		snprintf(err, errlen, "sentinel %.64s:%d: %s: %.60s", s->host, s->port,
				rdr_conn_stage_name(stage), detail);
	else if(ctx == NULL)
		snprintf(err, errlen, "sentinel %.64s:%d: %.60s", s->host, s->port,
				detail);
	return ctx;
}

int rdr_sentinel_get_master(const rdr_conn_cfg_t *cfg, int *first, char *host,
		int *port, char *err, int errlen)
{
	const char *argv[3] = {
			"SENTINEL", "get-master-addr-by-name", cfg->sentinel_master};
	int i;

	snprintf(err, errlen, "no sentinel answered");
	for(i = 0; i < cfg->nsentinels; i++) {
		int idx = (*first + i) % cfg->nsentinels;
		redisContext *ctx = rdr_sentinel_connect(cfg, idx, err, errlen);
		redisReply *r;
		int ok = 0;

		if(ctx == NULL)
			continue;
		r = redisCommandArgv(ctx, 3, argv, NULL);
		if(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2
				&& r->element[0]->type == REDIS_REPLY_STRING
				&& r->element[1]->type == REDIS_REPLY_STRING
				&& r->element[0]->len > 0
				&& r->element[0]->len < RDR_URL_HOST_MAX) {
			int p = atoi(r->element[1]->str);
			if(p > 0 && p <= 65535) {
				memcpy(host, r->element[0]->str, r->element[0]->len);
				host[r->element[0]->len] = '\0';
				*port = p;
				ok = 1;
			}
		}
		if(!ok)
			snprintf(err, errlen, "sentinel %.64s:%d does not know %.32s",
					cfg->sentinels[idx].host, cfg->sentinels[idx].port,
					cfg->sentinel_master);
		if(r)
			freeReplyObject(r);
		redisFree(ctx);
		if(ok) {
			*first = idx;
			return 0;
		}
	}
	return -1;
}

/* the watcher's: the sentinel that answered last is asked first, and the
 * rediscovery requests it has followed */
static int _rdr_sentinel_first = 0;
static int _rdr_rediscover_seen = 0;
static int _rdr_sentinel_failing = 0; /* one log line per streak of failures */
/* where the watcher reports what it learns (rdr_sentinel_watch_init) */
static const rdr_sentinel_report_t *_rdr_report = NULL;

/* Asks the sentinels where the master is and publishes it (every process
 * reconnects when it moved). Only the watcher, and mod_init, ask: they may
 * wait on a sentinel that hangs, a SIP worker never does. */
static void rdr_sentinel_discover(void)
{
	const rdr_conn_cfg_t *cfg = rdr_conn_cfg();
	char host[RDR_URL_HOST_MAX];
	char err[128];
	int port;

	_rdr_rediscover_seen = _rdr_report->requests();
	if(rdr_sentinel_get_master(
			   cfg, &_rdr_sentinel_first, host, &port, err, sizeof(err))
			< 0) {
		if(!_rdr_sentinel_failing)
			LM_WARN("sentinel: cannot learn where master '%s' is (%s); "
					"workers keep the master they know\n",
					cfg->sentinel_master, err);
		_rdr_sentinel_failing = 1;
		_rdr_report->unknown(err);
		return;
	}
	if(_rdr_sentinel_failing)
		LM_NOTICE("sentinel: master '%s' is at %s:%d\n", cfg->sentinel_master,
				host, port);
	_rdr_sentinel_failing = 0;
	_rdr_report->master(host, port);
}

int rdr_sentinel_watch_init(const rdr_sentinel_report_t *report)
{
	_rdr_report = report;
	rdr_pubsub_proc_register();
	/* before the workers start: they connect to what this finds */
	rdr_sentinel_discover();
	return 0;
}

/* +switch-master <name> <old ip> <old port> <new ip> <new port> */
static void rdr_sentinel_on_message(const redisReply *r)
{
	const rdr_conn_cfg_t *cfg = rdr_conn_cfg();
	const redisReply *payload = rdr_pubsub_payload(r, NULL);
	size_t n = strlen(cfg->sentinel_master);

	if(payload == NULL || payload->len <= n
			|| strncmp(payload->str, cfg->sentinel_master, n) != 0
			|| payload->str[n] != ' ')
		return;
	LM_NOTICE(
			"sentinel: +switch-master %.*s\n", (int)payload->len, payload->str);
	rdr_sentinel_discover();
}

/* Between reads of the subscription (at least every second): a worker found
 * the published master failing, or redisroute.reconnect was called. */
static int rdr_sentinel_tick(void)
{
	if(_rdr_report->requests() != _rdr_rediscover_seen)
		rdr_sentinel_discover();
	return 0;
}

static void rdr_sentinel_watch_loop(void)
{
	const rdr_conn_cfg_t *cfg = rdr_conn_cfg();
	const char *sub[2] = {"SUBSCRIBE", "+switch-master"};
	int idx = 0, failing = 0;

	for(;;) {
		char err[128];
		redisContext *ctx;
		redisReply *r = NULL;

		cfg_update();
		ctx = rdr_sentinel_connect(cfg, idx, err, sizeof(err));
		if(ctx != NULL)
			r = redisCommandArgv(ctx, 2, sub, NULL);
		if(r != NULL && r->type == REDIS_REPLY_ARRAY) {
			LM_INFO("sentinel: watching +switch-master at %s:%d\n",
					cfg->sentinels[idx].host, cfg->sentinels[idx].port);
			failing = 0;
			freeReplyObject(r);
			/* a switch may have happened while no sentinel was watched */
			rdr_sentinel_discover();
			rdr_pubsub_listen(ctx, rdr_sentinel_on_message, rdr_sentinel_tick);
		} else {
			if(r)
				freeReplyObject(r);
			if(!failing)
				LM_WARN("sentinel: cannot watch +switch-master at %s:%d: "
						"%s\n",
						cfg->sentinels[idx].host, cfg->sentinels[idx].port,
						ctx ? "subscribe refused" : err);
			failing = 1;
			rdr_sentinel_tick();
			sleep_us(500 * 1000);
		}
		if(ctx)
			redisFree(ctx);
		idx = (idx + 1) % cfg->nsentinels;
	}
}

int rdr_sentinel_watch_fork(void)
{
	return rdr_pubsub_proc_fork(
			"redisroute sentinel watcher", rdr_sentinel_watch_loop);
}
