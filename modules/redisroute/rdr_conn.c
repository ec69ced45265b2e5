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
 * redisroute - the per-process Redis connection: timeouts, down/retry, the
 * shared up/down state and recovery, the master the sentinel watcher
 * published; and reading a subscribed (pub/sub) connection in the module's
 * processes that do (the cache's notifier, the sentinel watcher)
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/atomic_ops.h"
#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/locking.h"
#include "core/mem/shm_mem.h"
#include "core/pt.h"
#include "core/sr_module.h"

#include "rdr_conn.h"
#include "rdr_eval.h"
#include "rdr_tls.h"

/*
 * the per-process Redis connection
 */

typedef struct rdr_conn_shared
{
	gen_lock_t lock; /* first: see rdr_shared_new() */
	rdr_updown_t state;
	int reconnects; /* bumped by redisroute.reconnect; atomic */
	int rediscover; /* sentinel mode: bumped to have the master asked; atomic */
	/* bumped by each new connection's first answer, in any process; atomic:
	 * Redis is back, a process waiting out its retry_interval retries */
	int recoveries;
	char error[128];
	char master[RDR_URL_HOST_MAX + 8]; /* sentinel mode: "host:port" */
	/* sentinel mode: the master as the sentinel watcher last heard it */
	char master_host[RDR_URL_HOST_MAX];
	int master_port;		/* 0: not known yet */
	char master_error[128]; /* why the watcher knows no master, if so */
} rdr_conn_shared_t;

static rdr_conn_cfg_t _rdr_conn_cfg;
static char _rdr_conn_addr[RDR_URL_HOST_MAX + RDR_URL_PATH_MAX + 16];
static rdr_conn_shared_t *_rdr_conn_shared = NULL;

/* this process's connection and when it may next try to connect */
static redisContext *_rdr_ctx = NULL;
static int _rdr_ctx_answered = 0; /* _rdr_ctx has had an answer */
static long long _rdr_next_attempt_ms = 0;
static int _rdr_recoveries_seen = 0; /* recoveries at this process's failure */
static int _rdr_reconnects_seen = 0;

static redisContext *rdr_conn_establish(
		char *host, int *port, char *err, int errlen);

long long rdr_conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

time_t rdr_conn_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct timeval rdr_ms_to_tv(int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

int rdr_conn_init(const rdr_conn_cfg_t *cfg)
{
	_rdr_conn_cfg = *cfg;
	if(cfg->nsentinels > 0)
		snprintf(_rdr_conn_addr, sizeof(_rdr_conn_addr), "sentinel master '%s'",
				cfg->sentinel_master);
	else if(cfg->cluster) {
		char node[RDR_URL_HOST_MAX + 8];
		rdr_hostport_print(cfg->url.host, cfg->url.port, node, sizeof(node));
		snprintf(
				_rdr_conn_addr, sizeof(_rdr_conn_addr), "cluster via %s", node);
	} else
		rdr_url_print(&cfg->url, _rdr_conn_addr, sizeof(_rdr_conn_addr));
	_rdr_conn_shared = rdr_shared_new(sizeof(*_rdr_conn_shared), "state");
	if(_rdr_conn_shared == NULL)
		return -1;
	_rdr_conn_shared->state.up = -1;
	return 0;
}

void rdr_conn_destroy(void)
{
	if(_rdr_ctx != NULL) {
		redisFree(_rdr_ctx);
		_rdr_ctx = NULL;
	}
	rdr_shared_free(_rdr_conn_shared);
	_rdr_conn_shared = NULL;
}

const rdr_conn_cfg_t *rdr_conn_cfg(void)
{
	return &_rdr_conn_cfg;
}

const char *rdr_conn_address(void)
{
	return _rdr_conn_addr;
}

void *rdr_shared_new(size_t size, const char *what)
{
	void *shared = shm_malloc(size);

	if(shared == NULL) {
		SHM_MEM_ERROR;
		return NULL;
	}
	memset(shared, 0, size);
	/* the lock is the first member: at the block's own address */
	if(lock_init((gen_lock_t *)shared) == NULL) {
		LM_ERR("cannot init the %s lock\n", what);
		shm_free(shared);
		return NULL;
	}
	return shared;
}

void rdr_shared_free(void *shared)
{
	if(shared == NULL)
		return;
	lock_destroy((gen_lock_t *)shared);
	shm_free(shared);
}

int rdr_updown_set_down(rdr_updown_t *s, long long now_ms)
{
	if(s->up == 0)
		return 0;
	s->up = 0;
	s->down_since_ms = now_ms;
	s->outages++;
	return 1;
}

int rdr_updown_is_up(rdr_updown_t *s)
{
	return mb_atomic_get_int(&s->up) == 1;
}

int rdr_updown_set_up(rdr_updown_t *s, long long now_ms, long long *down_for_ms)
{
	int was = s->up;

	s->up = 1;
	*down_for_ms = was == 0 ? now_ms - s->down_since_ms : 0;
	return was;
}

/* error: "what: detail", e.g. "connect: Connection refused" */
static void rdr_conn_mark_down(const char *error)
{
	int log_it;

	if(_rdr_conn_shared == NULL)
		return;
	lock_get(&_rdr_conn_shared->lock);
	snprintf(_rdr_conn_shared->error, sizeof(_rdr_conn_shared->error), "%s",
			error);
	log_it = rdr_updown_set_down(&_rdr_conn_shared->state, rdr_conn_now_ms());
	lock_release(&_rdr_conn_shared->lock);
	if(log_it)
		LM_ERR("redis %s is down (%s); lookups fail with -2, retrying every "
			   "%d ms\n",
				_rdr_conn_addr, error, _rdr_conn_cfg.retry_interval_ms);
}

static void rdr_conn_mark_up(void)
{
	long long down_for;
	int was;

	if(_rdr_conn_shared == NULL || rdr_updown_is_up(&_rdr_conn_shared->state))
		return;
	lock_get(&_rdr_conn_shared->lock);
	was = rdr_updown_set_up(
			&_rdr_conn_shared->state, rdr_conn_now_ms(), &down_for);
	lock_release(&_rdr_conn_shared->lock);
	if(was == 0)
		LM_NOTICE("redis %s is reachable again after %lld ms\n", _rdr_conn_addr,
				down_for);
	else if(was == -1)
		LM_INFO("connected to redis %s\n", _rdr_conn_addr);
}

int rdr_conn_note_error(const char *what, const char *detail, int detail_len)
{
	char error[sizeof(_rdr_conn_shared->error)];
	int changed;

	if(_rdr_conn_shared == NULL)
		return 0;
	if(detail_len < 0)
		detail_len = 0;
	snprintf(error, sizeof(error), "%s: %.*s", what, detail_len, detail);
	lock_get(&_rdr_conn_shared->lock);
	changed = strcmp(_rdr_conn_shared->error, error) != 0;
	if(changed)
		memcpy(_rdr_conn_shared->error, error, sizeof(error));
	lock_release(&_rdr_conn_shared->lock);
	return changed;
}

/* Drops the connection until retry_interval has passed; error: "what:
 * detail", as rdr_conn_open and rdr_conn_setup_cmd write it. */
static void rdr_conn_drop_error(const char *error)
{
	if(_rdr_ctx != NULL) {
		redisFree(_rdr_ctx);
		_rdr_ctx = NULL;
	}
	_rdr_next_attempt_ms = rdr_conn_now_ms() + _rdr_conn_cfg.retry_interval_ms;
	_rdr_recoveries_seen = rdr_conn_recovery_token();
	rdr_conn_mark_down(error);
}

/* Whether this process, its connection down, tries to connect now: once
 * its own retry_interval has passed, or as soon as another process has had
 * an answer on a new connection since this one failed. Otherwise, after a
 * Redis restart, each worker would answer -2 until its own gate opened,
 * long after Redis was back. An answer, not a connect, is the proof: a hung
 * Redis still accepts connections. While Redis is known down (the shared
 * state, taken down by every failure, is down), the gate holds: no network
 * wait at all. */
static int rdr_conn_retry_due(void)
{
	return rdr_conn_now_ms() >= _rdr_next_attempt_ms
		   || rdr_conn_recovered_since(_rdr_recoveries_seen);
}

int rdr_conn_recovery_token(void)
{
	return _rdr_conn_shared != NULL
				   ? mb_atomic_get_int(&_rdr_conn_shared->recoveries)
				   : 0;
}

int rdr_conn_recovered_since(int token)
{
	return _rdr_conn_shared != NULL
		   && mb_atomic_get_int(&_rdr_conn_shared->recoveries) != token
		   && rdr_updown_is_up(&_rdr_conn_shared->state);
}

void rdr_conn_recovered(void)
{
	if(_rdr_conn_shared != NULL)
		mb_atomic_inc_int(&_rdr_conn_shared->recoveries);
}

static void rdr_conn_drop(const char *what, const char *detail)
{
	char error[128];

	/* detail may be the context's own errstr: formatted before it is freed */
	snprintf(error, sizeof(error), "%s: %.100s", what, detail);
	rdr_conn_drop_error(error);
}

const char *rdr_conn_errstr(const redisContext *ctx)
{
	return ctx->errstr[0] ? ctx->errstr : "no reply";
}

redisContext *rdr_conn_context(void)
{
	return _rdr_ctx;
}

redisContext *rdr_conn_open_extra(void)
{
	char host[RDR_URL_HOST_MAX];
	char err[128];
	int port = 0;
	redisContext *extra = rdr_conn_establish(host, &port, err, sizeof(err));

	/* the caller retries; the process's own connection is not affected */
	if(extra == NULL)
		rdr_conn_note_error("second connection", err, (int)strlen(err));
	return extra;
}

void rdr_conn_reset(void)
{
	if(_rdr_ctx != NULL) {
		redisFree(_rdr_ctx);
		_rdr_ctx = NULL;
	}
	_rdr_next_attempt_ms = 0;
}

/* Runs one set-up command (SELECT) on a fresh connection. Returns 0,
 * or -1 with err set. */
static int rdr_conn_setup_cmd(
		redisContext *ctx, int argc, const char **argv, char *err, int errlen)
{
	redisReply *r;
	int ok;

	r = redisCommandArgv(ctx, argc, argv, NULL);
	if(r == NULL) {
		snprintf(err, errlen, "%s: %s", argv[0], rdr_conn_errstr(ctx));
		return -1;
	}
	ok = (r->type != REDIS_REPLY_ERROR);
	if(!ok)
		snprintf(err, errlen, "%s: %.*s", argv[0], (int)r->len, r->str);
	freeReplyObject(r);
	return ok ? 0 : -1;
}

redisContext *rdr_conn_dial(const char *host, int port, const char *path,
		int tls, const char *user, const char *password, int *stage,
		char *detail, int detail_len)
{
	struct timeval tv = rdr_ms_to_tv(_rdr_conn_cfg.connect_timeout_ms);
	struct timeval cmd_tv = rdr_ms_to_tv(_rdr_conn_cfg.command_timeout_ms);
	const char *argv[3] = {"AUTH", user, password};
	int argc = 3;
	redisContext *ctx;
	redisReply *r;

	*stage = RDR_DIAL_CONNECT;
	detail[0] = '\0';
	if(path != NULL)
		ctx = redisConnectUnixWithTimeout(path, tv);
	else
		ctx = redisConnectWithTimeout(host, port, tv);
	if(ctx == NULL) {
		snprintf(detail, detail_len, "out of memory");
		return NULL;
	}
	if(ctx->err) {
		snprintf(detail, detail_len, "%s", ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	if(tls) {
		*stage = RDR_DIAL_TLS;
		if(redisSetTimeout(ctx, tv) != REDIS_OK) {
			snprintf(detail, detail_len, "cannot set the handshake timeout");
			redisFree(ctx);
			return NULL;
		}
		if(rdr_tls_start(ctx, host, detail, detail_len) < 0) {
			redisFree(ctx);
			return NULL;
		}
		*stage = RDR_DIAL_CONNECT;
	}
	if(redisSetTimeout(ctx, cmd_tv) != REDIS_OK) {
		snprintf(detail, detail_len, "cannot set the command timeout");
		redisFree(ctx);
		return NULL;
	}
	if(password[0] == '\0')
		return ctx;
	*stage = RDR_DIAL_AUTH;
	if(user[0] == '\0') {
		/* AUTH <password>: the default user */
		argv[1] = password;
		argc = 2;
	}
	r = redisCommandArgv(ctx, argc, argv, NULL);
	if(r == NULL || r->type == REDIS_REPLY_ERROR) {
		if(r == NULL)
			snprintf(detail, detail_len, "%s", rdr_conn_errstr(ctx));
		else
			snprintf(detail, detail_len, "%.*s", (int)r->len, r->str);
		if(r)
			freeReplyObject(r);
		redisFree(ctx);
		return NULL;
	}
	freeReplyObject(r);
	return ctx;
}

const char *rdr_conn_stage_name(int stage)
{
	return stage == RDR_DIAL_AUTH ? "AUTH"
								  : (stage == RDR_DIAL_TLS ? "TLS" : "connect");
}

/* A connection to a Redis node (not a sentinel): the server URL's
 * credentials. Returns the context, or NULL with err set to "connect:
 * detail" or "AUTH: detail". */
static redisContext *rdr_conn_open(
		const char *host, int port, const char *path, char *err, int errlen)
{
	const rdr_server_url_t *url = &_rdr_conn_cfg.url;
	char detail[256];
	int stage;
	redisContext *ctx = rdr_conn_dial(host, port, path, url->tls, url->user,
			url->password, &stage, detail, sizeof(detail));
	if(ctx == NULL)
		snprintf(err, errlen, "%s: %s", rdr_conn_stage_name(stage), detail);
	return ctx;
}

redisContext *rdr_conn_open_host(
		const char *host, int port, char *err, int errlen)
{
	return rdr_conn_open(host, port, NULL, err, errlen);
}

void rdr_conn_publish_master(const char *host, int port)
{
	char addr[sizeof(_rdr_conn_shared->master)];
	int moved = 0, changed;

	rdr_hostport_print(host, port, addr, sizeof(addr));
	lock_get(&_rdr_conn_shared->lock);
	changed = strcmp(_rdr_conn_shared->master, addr) != 0;
	_rdr_conn_shared->master_error[0] = '\0';
	if(changed) {
		moved = (_rdr_conn_shared->master[0] != '\0');
		memcpy(_rdr_conn_shared->master, addr, strlen(addr) + 1);
		memcpy(_rdr_conn_shared->master_host, host, strlen(host) + 1);
		_rdr_conn_shared->master_port = port;
	}
	lock_release(&_rdr_conn_shared->lock);
	if(moved)
		LM_NOTICE("%s moved to %s (sentinel failover)\n", _rdr_conn_addr, addr);
	if(changed)
		rdr_conn_reconnect_all();
}

void rdr_conn_master_unknown(const char *why)
{
	lock_get(&_rdr_conn_shared->lock);
	snprintf(_rdr_conn_shared->master_error,
			sizeof(_rdr_conn_shared->master_error), "%s", why);
	lock_release(&_rdr_conn_shared->lock);
}

void rdr_conn_request_rediscovery(void)
{
	if(_rdr_conn_shared != NULL)
		mb_atomic_inc_int(&_rdr_conn_shared->rediscover);
}

int rdr_conn_rediscovery_requests(void)
{
	return _rdr_conn_shared != NULL
				   ? mb_atomic_get_int(&_rdr_conn_shared->rediscover)
				   : 0;
}

/* The master the sentinel watcher published. Returns 0, or -1 with err set
 * when none is known yet. */
static int rdr_conn_published_master(
		char *host, int *port, char *err, int errlen)
{
	char why[sizeof(_rdr_conn_shared->master_error)];

	lock_get(&_rdr_conn_shared->lock);
	*port = _rdr_conn_shared->master_port;
	memcpy(host, _rdr_conn_shared->master_host, RDR_URL_HOST_MAX);
	memcpy(why, _rdr_conn_shared->master_error, sizeof(why));
	lock_release(&_rdr_conn_shared->lock);
	if(*port == 0) {
		snprintf(err, errlen, "sentinel: %.100s",
				why[0] ? why : "no master known yet");
		return -1;
	}
	return 0;
}

/* With sentinels: a node that the sentinels still name but that is not the
 * master (a failover under way) is not used. Returns 0, or -1 with err set. */
static int rdr_conn_check_role(redisContext *ctx, char *err, int errlen)
{
	const char *argv[1] = {"ROLE"};
	redisReply *r = redisCommandArgv(ctx, 1, argv, NULL);
	int master;

	if(r == NULL) {
		snprintf(err, errlen, "ROLE: %.100s", rdr_conn_errstr(ctx));
		return -1;
	}
	master = (r->type == REDIS_REPLY_ARRAY && r->elements > 0
			  && r->element[0]->type == REDIS_REPLY_STRING
			  && strcmp(r->element[0]->str, "master") == 0);
	freeReplyObject(r);
	if(!master) {
		snprintf(err, errlen,
				"ROLE: the node the sentinels name is not (yet) the master");
		return -1;
	}
	return 0;
}

/* Opens a connection the way this process's own is opened: with sentinels,
 * to the master the sentinel watcher published (host and port are set to
 * it), checked with ROLE; then AUTH and SELECT. No sentinel is asked here:
 * a SIP worker never waits on one (a master that fails is reported to the
 * watcher, which asks them). Changes no state of this process or the shared
 * one, so a failed extra connection is no outage. Returns the context, or
 * NULL with err set. */
static redisContext *rdr_conn_establish(
		char *host, int *port, char *err, int errlen)
{
	const rdr_server_url_t *url = &_rdr_conn_cfg.url;
	redisContext *ctx;

	if(_rdr_conn_cfg.nsentinels > 0) {
		if(rdr_conn_published_master(host, port, err, errlen) < 0)
			return NULL;
		ctx = rdr_conn_open(host, *port, NULL, err, errlen);
		if(ctx != NULL && rdr_conn_check_role(ctx, err, errlen) < 0) {
			redisFree(ctx);
			ctx = NULL;
		}
		if(ctx == NULL) {
			rdr_conn_request_rediscovery();
			return NULL;
		}
	} else {
		ctx = rdr_conn_open(url->host, url->port,
				url->is_unix ? url->path : NULL, err, errlen);
	}
	if(ctx != NULL && url->db != 0) {
		char db[16];
		const char *argv[2] = {"SELECT", db};
		snprintf(db, sizeof(db), "%d", url->db);
		if(rdr_conn_setup_cmd(ctx, 2, argv, err, errlen) < 0) {
			redisFree(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* Connects this process's own connection; a failure marks it down. */
static int rdr_conn_connect(void)
{
	char host[RDR_URL_HOST_MAX];
	char err[128];
	int port = 0;
	redisContext *ctx = rdr_conn_establish(host, &port, err, sizeof(err));

	if(ctx == NULL) {
		rdr_conn_drop_error(err);
		return -1;
	}
	_rdr_ctx = ctx;
	_rdr_ctx_answered = 0;
	rdr_conn_mark_up();
	return 0;
}

void rdr_conn_child_init(void)
{
	/* a connection opened now follows every reconnect asked for so far
	 * (in sentinel mode mod_init's first published master is one) */
	rdr_conn_reconnect_take();
	if(_rdr_ctx == NULL)
		rdr_conn_connect();
}

/* True when the command failed because the server closed or reset a
 * connection that was idle, e.g. after a Redis restart: the command never
 * ran, and a fresh connection may succeed at once. A timeout is not: retrying
 * it would double the wait. */
static int rdr_conn_was_closed(const redisContext *ctx)
{
	if(ctx->err == REDIS_ERR_EOF)
		return 1;
	return ctx->err == REDIS_ERR_IO
		   && (strstr(ctx->errstr, "reset") != NULL
				   || strstr(ctx->errstr, "Broken pipe") != NULL);
}

/* hiredis reports a read timeout (SO_RCVTIMEO) as an I/O error with EAGAIN's
 * text; say it in an operator's words. */
static int rdr_conn_timed_out(const redisContext *ctx)
{
	return ctx->err == REDIS_ERR_IO
		   && (strstr(ctx->errstr, "temporarily unavailable") != NULL
				   || strstr(ctx->errstr, "timed out") != NULL);
}

/* One command: argv-style, or already formatted (raw, rawlen). */
typedef struct rdr_conn_cmd
{
	int argc;
	const char **argv;
	const size_t *lens;
	const char *raw;
	size_t rawlen;
} rdr_conn_cmd_t;

static redisReply *rdr_conn_send(const rdr_conn_cmd_t *c)
{
	void *r = NULL;

	if(c->raw == NULL)
		return redisCommandArgv(_rdr_ctx, c->argc, c->argv, c->lens);
	if(redisAppendFormattedCommand(_rdr_ctx, c->raw, c->rawlen) != REDIS_OK
			|| redisGetReply(_rdr_ctx, &r) != REDIS_OK)
		return NULL;
	return r;
}

static redisReply *rdr_conn_run(const rdr_conn_cmd_t *c);

/* the first of the three ways of talking to Redis (rdr_conn.h): blocking,
 * one command at a time */
redisReply *rdr_conn_command(int argc, const char **argv, const size_t *argvlen)
{
	rdr_conn_cmd_t c = {argc, argv, argvlen, NULL, 0};

	return rdr_conn_run(&c);
}

/* Sends c on this process's connection: connects first when due, retries
 * once at once on a connection Redis closed while idle. */
static redisReply *rdr_conn_run(const rdr_conn_cmd_t *c)
{
	redisReply *r;
	int fresh = 0;

	if(rdr_conn_reconnect_take()) {
		/* redisroute.reconnect: every process reconnects on its next use */
		rdr_conn_reset();
	}
	if(_rdr_ctx == NULL) {
		/* down: no network wait until a retry is due */
		if(!rdr_conn_retry_due())
			return NULL;
		if(rdr_conn_connect() < 0)
			return NULL;
		fresh = 1;
	}
	r = rdr_conn_send(c);
	if(r == NULL && !fresh && rdr_conn_was_closed(_rdr_ctx)) {
		redisFree(_rdr_ctx);
		_rdr_ctx = NULL;
		if(rdr_conn_connect() < 0)
			return NULL;
		r = rdr_conn_send(c);
	}
	if(r == NULL) {
		/* timeout or I/O error: the connection may still deliver a late
		 * reply, so it cannot be reused */
		char detail[128];
		if(rdr_conn_timed_out(_rdr_ctx))
			snprintf(detail, sizeof(detail), "timed out after %d ms",
					_rdr_conn_cfg.command_timeout_ms);
		else
			snprintf(detail, sizeof(detail), "%s", rdr_conn_errstr(_rdr_ctx));
		rdr_conn_drop("command", detail);
		return NULL;
	}
	if(!_rdr_ctx_answered) {
		/* a new connection answers: the others may retry (above) */
		_rdr_ctx_answered = 1;
		rdr_conn_recovered();
	}
	return r;
}

int rdr_conn_reconnect_pending(void)
{
	return _rdr_conn_shared != NULL
		   && mb_atomic_get_int(&_rdr_conn_shared->reconnects)
					  != _rdr_reconnects_seen;
}

int rdr_conn_reconnect_take(void)
{
	if(!rdr_conn_reconnect_pending())
		return 0;
	_rdr_reconnects_seen = mb_atomic_get_int(&_rdr_conn_shared->reconnects);
	return 1;
}

int rdr_conn_reconnects(void)
{
	return _rdr_conn_shared != NULL
				   ? mb_atomic_get_int(&_rdr_conn_shared->reconnects)
				   : 0;
}

void rdr_conn_reconnect_all(void)
{
	if(_rdr_conn_shared == NULL)
		return;
	mb_atomic_inc_int(&_rdr_conn_shared->reconnects);
}

/* "off", or "on, verified <name>": tls_server_name, else the host of the
 * server (with sentinels: of the master; cluster: each node's own) */
static void rdr_conn_tls_status(rdr_conn_status_t *st, const char *master_host)
{
	const char *host = _rdr_conn_cfg.url.host;

	if(!_rdr_conn_cfg.url.tls) {
		snprintf(st->tls, sizeof(st->tls), "off");
		return;
	}
	if(st->up == 0 && strncmp(st->error, "TLS: ", 5) == 0) {
		/* down because of the handshake: say why here too */
		snprintf(st->tls, sizeof(st->tls), "on, handshake failed: %s",
				st->error + 5);
		return;
	}
	if(_rdr_conn_cfg.nsentinels > 0)
		host = master_host[0] ? master_host : "the master";
	else if(_rdr_conn_cfg.cluster)
		host = "each node's host";
	snprintf(st->tls, sizeof(st->tls), "on, verified %s",
			rdr_tls_verified_name(host));
}

void rdr_conn_get_status(rdr_conn_status_t *st)
{
	char master_host[RDR_URL_HOST_MAX];

	memset(st, 0, sizeof(*st));
	if(_rdr_conn_shared == NULL) {
		st->up = -1;
		return;
	}
	lock_get(&_rdr_conn_shared->lock);
	st->up = _rdr_conn_shared->state.up;
	if(st->up == 0)
		st->down_ms = (long)(rdr_conn_now_ms()
							 - _rdr_conn_shared->state.down_since_ms);
	st->outages = _rdr_conn_shared->state.outages;
	memcpy(st->error, _rdr_conn_shared->error, sizeof(st->error));
	memcpy(st->master, _rdr_conn_shared->master, sizeof(st->master));
	memcpy(master_host, _rdr_conn_shared->master_host, sizeof(master_host));
	lock_release(&_rdr_conn_shared->lock);
	rdr_conn_tls_status(st, master_host);
}

/* Sends the lookup as kind (rdr_eval.h): pre-formatted when it can be; the
 * script as EVALSHA, then EVALSHA again without _RO on a server without it,
 * and on NOSCRIPT (script cache flushed, Redis restarted) EVAL, which
 * caches it again. */
static redisReply *rdr_conn_eval_as(
		int kind, int nkeys, const char **keys, const size_t *klens)
{
	static char raw_buf[RDR_EVAL_FORMAT_MAX];
	rdr_conn_cmd_t raw = {0, NULL, NULL, raw_buf, 0};
	const char *argv[RDR_SCRIPT_ARGV_MAX];
	size_t lens[RDR_SCRIPT_ARGV_MAX];
	redisReply *r;
	int argc, len;

	if(!kind && !rdr_eval_is_loaded()) {
		argc = rdr_eval_load_argv(argv, lens);
		r = rdr_conn_command(argc, argv, lens);
		if(r == NULL)
			return NULL;
		if(rdr_eval_loaded(r) < 0) {
			/* an error reply (e.g. NOPERM): pass it to the caller */
			if(r->type == REDIS_REPLY_ERROR)
				return r;
			freeReplyObject(r);
			return NULL;
		}
		freeReplyObject(r);
	}
	/* pre-formatted: no allocation or per-argument work in hiredis */
	len = rdr_eval_format(kind, nkeys, keys, klens, raw_buf, sizeof(raw_buf));
	if(len >= 0) {
		raw.rawlen = (size_t)len;
		r = rdr_conn_run(&raw);
	} else {
		argc = rdr_eval_argv(kind, 0, nkeys, keys, klens, argv, lens);
		r = rdr_conn_command(argc, argv, lens);
	}
	if(kind)
		return r;
	if(rdr_eval_ro_unknown(r)) {
		freeReplyObject(r);
		argc = rdr_eval_argv(0, 0, nkeys, keys, klens, argv, lens);
		r = rdr_conn_command(argc, argv, lens);
	}
	if(rdr_reply_is_error(r, "NOSCRIPT")) {
		freeReplyObject(r);
		argc = rdr_eval_argv(0, 1, nkeys, keys, klens, argv, lens);
		r = rdr_conn_command(argc, argv, lens);
	}
	return r;
}

redisReply *rdr_conn_eval(int nkeys, const char **keys, const size_t *klens,
		int *matched, int *kind)
{
	redisReply *r;

	*kind = rdr_eval_choose(nkeys, keys[0], klens[0]);
	r = rdr_conn_eval_as(*kind, nkeys, keys, klens);
	if(rdr_eval_wrong_guess(*kind, r)) {
		/* the key is not of the type guessed: the script says which */
		freeReplyObject(r);
		*kind = 0;
		r = rdr_conn_eval_as(0, nkeys, keys, klens);
	}
	if(nkeys == 1)
		rdr_eval_learn(*kind, r, keys[0], klens[0]);
	/* one script over all the keys: its index counts in them */
	*matched = rdr_eval_matched(*kind, r, nkeys);
	return r;
}


/*
 * reading a subscribed Redis connection (pub/sub), and the
 * module's processes that do it
 */

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
	rdr_pubsub_listen_idle(ctx, on_message, stop, NULL);
}

void rdr_pubsub_listen_idle(redisContext *ctx,
		void (*on_message)(const redisReply *), int (*stop)(void),
		int (*idle)(long long t0_ms))
{
	long long last = rdr_conn_now_ms(), pinged = 0;
	const char *ping[1] = {"PING"};

	while(ctx != NULL && !ctx->err) {
		struct pollfd pfd;
		long long now;
		int rc, done = 0, wait_ms = RDR_PUBSUB_IDLE_MS;

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
		if(idle != NULL) {
			/* nothing readable at t0: every message that came before it
			 * is applied; then the caller's work, a bounded round */
			now = rdr_conn_now_ms();
			rc = poll(&pfd, 1, 0);
			if(rc == 0) {
				wait_ms = idle(now);
				pfd.revents = 0;
				rc = poll(&pfd, 1, wait_ms);
			}
		} else {
			rc = poll(&pfd, 1, wait_ms);
		}
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
