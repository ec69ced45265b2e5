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
 * redisroute - an async I/O process: the lookups every SIP worker queues,
 * pipelined on one non-blocking connection, each answer handed to the
 * core's async workers (rdr_async_answer()). It runs no script route, so
 * the time a route takes never counts against Redis: a deadline is judged
 * only after everything Redis sent has been read.
 *
 * The connection is made the way every other one is (rdr_conn: TLS, AUTH,
 * SELECT, the master the sentinels name), then its socket is switched to
 * non-blocking I/O; hiredis's own async API would need an event library
 * for one socket. In cluster mode rdr_cluster.c's blocking batch is
 * used instead (rdr_cluster_eval_batch: MOVED, ASK and the slot map are its
 * business), a batch of lookups at a time. A lookup that gets no answer
 * within command_timeout fails the connection: every lookup in flight on it
 * is answered -2, and while it is down (retry_interval) the workers answer
 * -2 themselves, at once.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/pt.h"
#include "core/sr_module.h"

#include "rdr_async.h"
#include "rdr_cluster.h"
#include "rdr_conn.h"
#include "rdr_eval.h"

static int _rdr_io_idx;
static redisContext *_rdr_io_ctx = NULL;
static long long _rdr_io_next_attempt_ms = 0;
static int _rdr_io_used = 0;	  /* asked at least once: keep it connected */
static int _rdr_io_down_said = 0; /* this outage was logged */
static int _rdr_io_write_pending = 0;
static int _rdr_io_reload = 0;	 /* NOSCRIPT: connect again, load the script */
static int _rdr_io_answered = 0; /* the connection has had an answer */
static int _rdr_io_recovery = 0; /* rdr_conn_recovery_token() at the outage */
/* sent, oldest first: Redis answers in order (a lookup that times out
 * fails the connection, so no late answer is ever read) */
static rdr_async_req_t *_rdr_io_head = NULL, *_rdr_io_tail = NULL;
/* taken from the queue, not yet sent (cluster mode: batch by batch) */
static rdr_async_req_t *_rdr_io_inbox = NULL;
/* scratch: one answer's targets, handed on at once */
static rdr_result_t _rdr_io_res;

/* The request's lookup state: its candidate keys, rebuilt from its key,
 * and the cache ticket the worker took (the worker looked in the cache). */
static void rdr_io_state(rdr_async_req_t *r, rdr_lookup_state_t *st)
{
	str key = rdr_async_req_key(r);

	rdr_lookup_rekey(&key, st);
	st->use_cache = r->use_cache;
	st->ticket = r->ticket;
}

static rdr_async_req_t *rdr_io_pop(void)
{
	rdr_async_req_t *r = _rdr_io_head;

	if(r != NULL) {
		_rdr_io_head = r->next;
		if(_rdr_io_head == NULL)
			_rdr_io_tail = NULL;
	}
	return r;
}

/* Drops the connection: everything in flight is answered -2; an outage
 * (not a reload) is said once and makes the workers answer -2 at once
 * until the next attempt. */
static void rdr_io_drop(const char *why, int outage)
{
	rdr_async_req_t *r;

	if(outage && !_rdr_io_down_said) {
		LM_ERR("async I/O %d: redis %s: %s; async lookups answer -2 until it "
			   "is back\n",
				_rdr_io_idx, rdr_conn_address(), why);
		_rdr_io_down_said = 1;
	}
	while((r = rdr_io_pop()) != NULL)
		rdr_async_answer(r, RDR_UNAVAILABLE, NULL);
	if(_rdr_io_ctx != NULL) {
		redisFree(_rdr_io_ctx);
		_rdr_io_ctx = NULL;
	}
	_rdr_io_write_pending = 0;
	_rdr_io_next_attempt_ms =
			rdr_conn_now_ms()
			+ (outage ? rdr_conn_cfg()->retry_interval_ms : 0);
	if(outage) {
		_rdr_io_recovery = rdr_conn_recovery_token();
		rdr_async_set_down(_rdr_io_idx, 1);
	}
}

/* Down, whether to connect now: retry_interval has passed, or another
 * process has had an answer from Redis since the outage (shared recovery). */
static int rdr_io_retry_due(void)
{
	return rdr_conn_now_ms() >= _rdr_io_next_attempt_ms
		   || rdr_conn_recovered_since(_rdr_io_recovery);
}

/* Loads the lookup script (every connection: a SCRIPT FLUSH or a restart
 * may have emptied Redis's script cache). 0, or -1 with the connection
 * dropped. */
static int rdr_io_load_script(void)
{
	const char *argv[3];
	size_t lens[3];
	redisReply *r;
	int ok;

	if(rdr_eval_plain())
		return 0;
	r = redisCommandArgv(
			_rdr_io_ctx, rdr_eval_load_argv(argv, lens), argv, lens);
	if(r == NULL) {
		rdr_io_drop(rdr_conn_errstr(_rdr_io_ctx), 1);
		return -1;
	}
	ok = rdr_eval_loaded(r) == 0;
	if(!ok && r->type == REDIS_REPLY_ERROR)
		LM_ERR("async I/O %d: SCRIPT LOAD refused: %.*s\n", _rdr_io_idx,
				(int)r->len, r->str);
	freeReplyObject(r);
	if(!ok) {
		rdr_io_drop("cannot load the lookup script", 1);
		return -1;
	}
	return 0;
}

/* Connects (blocking, at most connect_timeout, then command_timeout for
 * the script), then switches to non-blocking I/O. */
static void rdr_io_connect(void)
{
	int flags;

	_rdr_io_ctx = rdr_conn_open_extra();
	if(_rdr_io_ctx == NULL) {
		rdr_io_drop("cannot connect", 1);
		return;
	}
	if(rdr_io_load_script() < 0)
		return;
	flags = fcntl(_rdr_io_ctx->fd, F_GETFL, 0);
	if(flags < 0 || fcntl(_rdr_io_ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		rdr_io_drop(strerror(errno), 1);
		return;
	}
	/* the second way of talking to Redis (rdr_conn.h): this process reads
	 * and writes a blocking context's socket without blocking, to pipeline
	 * all the workers' lookups; hiredis: EAGAIN is no error on a context
	 * without REDIS_BLOCK */
	_rdr_io_ctx->flags &= ~REDIS_BLOCK;
	_rdr_io_answered = 0;
	if(_rdr_io_down_said)
		LM_INFO("async I/O %d: redis %s is back\n", _rdr_io_idx,
				rdr_conn_address());
	_rdr_io_down_said = 0;
	rdr_async_set_down(_rdr_io_idx, 0);
}

static void rdr_io_flush(void)
{
	int done = 0;

	if(_rdr_io_ctx == NULL)
		return;
	if(redisBufferWrite(_rdr_io_ctx, &done) != REDIS_OK) {
		rdr_io_drop(rdr_conn_errstr(_rdr_io_ctx), 1);
		return;
	}
	_rdr_io_write_pending = !done;
}

/* Sends one request's lookup command, or answers it -2 at once. */
static void rdr_io_start(rdr_async_req_t *r)
{
	static char cmd[RDR_EVAL_FORMAT_MAX];
	rdr_lookup_state_t st;
	int len = -1;

	if(_rdr_io_ctx == NULL && rdr_io_retry_due())
		rdr_io_connect();
	_rdr_io_used = 1;
	if(_rdr_io_ctx != NULL) {
		rdr_io_state(r, &st);
		/* the first time: the plain command of the key's type, when known */
		if(r->kind < 0)
			r->kind = rdr_eval_choose(st.ncand, st.pkeys[0], st.plens[0]);
		len = rdr_eval_format(
				r->kind, st.ncand, st.pkeys, st.plens, cmd, sizeof(cmd));
	}
	if(len < 0
			|| redisAppendFormattedCommand(_rdr_io_ctx, cmd, (size_t)len)
					   != REDIS_OK) {
		rdr_async_answer(r, RDR_UNAVAILABLE, NULL);
		return;
	}
	r->deadline_ms = rdr_conn_now_ms() + rdr_conn_cfg()->command_timeout_ms;
	r->next = NULL;
	if(_rdr_io_tail != NULL)
		_rdr_io_tail->next = r;
	else
		_rdr_io_head = r;
	_rdr_io_tail = r;
}

/* Moves what the workers queued into the inbox, oldest first. */
static void rdr_io_take(void)
{
	rdr_async_req_t *all = rdr_async_queue_take(_rdr_io_idx), **end;

	if(all == NULL)
		return;
	for(end = &_rdr_io_inbox; *end != NULL; end = &(*end)->next)
		;
	*end = all;
}

/* Sends everything in the inbox. */
static void rdr_io_send_inbox(void)
{
	rdr_async_req_t *r;

	while((r = _rdr_io_inbox) != NULL) {
		_rdr_io_inbox = r->next;
		rdr_io_start(r);
	}
	rdr_io_flush();
}

/* Cluster mode: up to a batch of requests through rdr_cluster.c,
 * which pipelines them to their slots' masters and follows MOVED/ASK
 * (blocking, at most command_timeout per node, in this process only).
 * Returns how many it took. */
static int rdr_io_cluster_batch(void)
{
	static rdr_async_req_t *reqs[RDR_CLUSTER_BATCH_MAX];
	static rdr_lookup_state_t st[RDR_CLUSTER_BATCH_MAX];
	rdr_cluster_lookup_t lk[RDR_CLUSTER_BATCH_MAX];
	str user;
	int n = 0, i, ret;

	while(n < RDR_CLUSTER_BATCH_MAX && _rdr_io_inbox != NULL) {
		reqs[n] = _rdr_io_inbox;
		_rdr_io_inbox = _rdr_io_inbox->next;
		rdr_io_state(reqs[n], &st[n]);
		lk[n].nkeys = st[n].ncand;
		lk[n].keys = st[n].pkeys;
		lk[n].klens = st[n].plens;
		n++;
	}
	if(n > 0)
		rdr_cluster_eval_batch(n, lk);
	for(i = 0; i < n; i++) {
		user = rdr_async_req_user(reqs[i]);
		st[i].kind = lk[i].kind;
		ret = rdr_lookup_end(&st[i], lk[i].reply, lk[i].matched, &user,
				reqs[i]->sips, &_rdr_io_res);
		if(lk[i].reply != NULL)
			freeReplyObject(lk[i].reply);
		rdr_async_answer(reqs[i], ret, &_rdr_io_res);
	}
	return n;
}

static void rdr_io_cluster_loop(int fd)
{
	struct pollfd pfd;
	int i;

	for(;;) {
		cfg_update();
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if(poll(&pfd, 1, _rdr_io_inbox != NULL ? 0 : 1000) < 0
				&& errno != EINTR) {
			LM_ERR("async I/O %d: poll: %s\n", _rdr_io_idx, strerror(errno));
			continue;
		}
		rdr_io_take();
		/* bounded: cfg_update() and the queue between rounds */
		for(i = 0; i < 64 && rdr_io_cluster_batch() > 0; i++)
			;
	}
}

/* One answer, for the oldest request in flight. */
static void rdr_io_answer(rdr_async_req_t *r, redisReply *reply)
{
	rdr_lookup_state_t st;
	str user = rdr_async_req_user(r);
	int rc;

	if(rdr_reply_is_error(reply, "NOSCRIPT") || rdr_eval_ro_unknown(reply)) {
		/* SCRIPT FLUSH, or Redis 6: -2 for this one; the connection is
		 * made again at once, with the script (or EVALSHA) */
		rdr_async_answer(r, RDR_UNAVAILABLE, NULL);
		_rdr_io_reload = 1;
		return;
	}
	rdr_io_state(r, &st);
	if(rdr_eval_wrong_guess(r->kind, reply)) {
		/* not the type guessed: sent again, as the script */
		r->kind = 0;
		rdr_io_start(r);
		return;
	}
	if(st.ncand == 1)
		rdr_eval_learn(r->kind, reply, st.pkeys[0], st.plens[0]);
	st.kind = r->kind;
	rc = rdr_lookup_end(&st, reply, rdr_eval_matched(r->kind, reply, st.ncand),
			&user, r->sips, &_rdr_io_res);
	rdr_async_answer(r, rc, &_rdr_io_res);
}

/* Reads and answers everything Redis has sent so far (bounded). Returns
 * -1 when the connection was dropped. */
static int rdr_io_read(void)
{
	rdr_async_req_t *r;
	void *reply;
	int round, got;

	for(round = 0; round < 64 && _rdr_io_ctx != NULL; round++) {
		if(redisBufferRead(_rdr_io_ctx) != REDIS_OK) {
			rdr_io_drop(rdr_conn_errstr(_rdr_io_ctx), 1);
			return -1;
		}
		for(got = 0;; got++) {
			reply = NULL;
			if(redisReaderGetReply(_rdr_io_ctx->reader, &reply) != REDIS_OK) {
				rdr_io_drop("protocol error", 1);
				return -1;
			}
			if(reply == NULL)
				break;
			r = rdr_io_pop();
			if(r == NULL) {
				freeReplyObject(reply);
				rdr_io_drop("an answer to no lookup", 1);
				return -1;
			}
			if(!_rdr_io_answered) {
				_rdr_io_answered = 1;
				rdr_conn_recovered();
			}
			rdr_io_answer(r, reply);
			freeReplyObject(reply);
		}
		if(got == 0 || _rdr_io_head == NULL)
			break; /* nothing more has arrived */
	}
	if(_rdr_io_reload) {
		_rdr_io_reload = 0;
		rdr_io_drop("reload", 0); /* NOSCRIPT: reconnect, load it */
	}
	return 0;
}

/* The oldest lookup unanswered past command_timeout fails the connection;
 * judged only after reading what has arrived, so time this process spent
 * elsewhere never counts as Redis's. */
static void rdr_io_expire(void)
{
	char why[64];

	if(_rdr_io_head == NULL || rdr_conn_now_ms() < _rdr_io_head->deadline_ms)
		return;
	if(rdr_io_read() < 0 || _rdr_io_head == NULL
			|| rdr_conn_now_ms() < _rdr_io_head->deadline_ms)
		return;
	snprintf(why, sizeof(why), "no answer within %d ms",
			rdr_conn_cfg()->command_timeout_ms);
	rdr_io_drop(why, 1);
}

static int rdr_io_poll_timeout(void)
{
	long long now = rdr_conn_now_ms(), until;

	if(_rdr_io_head != NULL)
		until = _rdr_io_head->deadline_ms;
	else if(_rdr_io_ctx == NULL && _rdr_io_used)
		until = _rdr_io_next_attempt_ms; /* reconnect without waiting for
										 * a request: workers send none
										 * while it is down */
	else
		return 1000;
	if(until <= now)
		return 0;
	return until - now > 1000 ? 1000 : (int)(until - now);
}

static void rdr_io_loop(int idx)
{
	struct pollfd pfd[2];
	int fd = rdr_async_queue_fd(idx), n;

	_rdr_io_idx = idx;
	/* no child_init here: follow every reconnect asked for before the fork
	 * (in sentinel mode, mod_init's first published master is one) */
	rdr_conn_reconnect_take();
	if(rdr_conn_cfg()->cluster)
		rdr_io_cluster_loop(fd);
	for(;;) {
		cfg_update();
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		n = 1;
		if(_rdr_io_ctx != NULL) {
			pfd[1].fd = _rdr_io_ctx->fd;
			pfd[1].events = POLLIN | (_rdr_io_write_pending ? POLLOUT : 0);
			pfd[1].revents = 0;
			n = 2;
		}
		if(poll(pfd, n, rdr_io_poll_timeout()) < 0 && errno != EINTR) {
			LM_ERR("async I/O %d: poll: %s\n", idx, strerror(errno));
			continue;
		}
		if(n == 2 && _rdr_io_ctx != NULL && (pfd[1].revents & POLLOUT))
			rdr_io_flush();
		if(n == 2 && _rdr_io_ctx != NULL
				&& (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)))
			rdr_io_read();
		if(pfd[0].revents & POLLIN) {
			rdr_io_take();
			rdr_io_send_inbox();
		}
		rdr_io_expire();
		if(rdr_conn_reconnect_take() && _rdr_io_ctx != NULL) {
			/* the sentinels named another master, or redisroute.reconnect:
			 * what is in flight answers -2, the next lookup reconnects */
			rdr_io_drop("reconnect", 0);
		}
		if(_rdr_io_ctx == NULL && _rdr_io_used && rdr_io_retry_due())
			rdr_io_connect();
	}
}

int rdr_async_io_fork(void)
{
	char desc[48];
	int i, pid, n = rdr_async_io_count();

	if(n == 0)
		return 0;
	cfg_register_child(n);
	for(i = 0; i < n; i++) {
		snprintf(desc, sizeof(desc), "redisroute async I/O %d", i);
		/* no child_init: it connects on first use, runs no script, and
		 * needs nothing of another module's */
		pid = fork_process(PROC_NOCHLDINIT, desc, 1);
		if(pid < 0)
			return -1;
		if(pid == 0) {
			if(cfg_child_init())
				return -1;
			rdr_io_loop(i);
		}
	}
	return 0;
}
