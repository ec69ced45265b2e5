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
 * redisroute - an async I/O process: the lookups of every SIP worker,
 * pipelined on one non-blocking connection, answered in order, each
 * transaction resumed (t_continue) with its answer.
 *
 * The connection is made the way every other one is (rr_conn: TLS, AUTH,
 * SELECT, the master the sentinels name), then switched to non-blocking
 * I/O. In cluster mode the cluster backend's connections are used instead,
 * a batch of lookups pipelined to the masters at a time. A lookup that gets no answer within command_timeout fails the
 * connection: every lookup in flight on it resumes with -2, and while it is
 * down (retry_interval) the workers answer -2 themselves, at once.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/mem/pkg.h"
#include "core/route.h"
#include "modules/tm/tm_load.h"

#include "rr_async.h"
#include "rr_cluster.h"
#include "rr_conn.h"
#include "rr_eval.h"
#include "rr_script.h"

/* one lookup in flight, oldest first: Redis answers in order (a lookup that
 * times out fails the connection, so no late answer is ever read) */
typedef struct rr_async_item
{
	struct rr_async_item *next;
	long long deadline_ms;
	rr_async_req_t h;
	char data[]; /* key, user, KEMI function name */
} rr_async_item_t;

static int _rr_io_idx;
static redisContext *_rr_io_ctx = NULL;
static long long _rr_io_next_attempt_ms = 0;
static int _rr_io_used = 0;		 /* asked at least once: keep it connected */
static int _rr_io_down_said = 0; /* this outage was logged */
static int _rr_io_write_pending = 0;
static int _rr_io_reload = 0; /* NOSCRIPT: connect again, load the script */
static rr_async_item_t *_rr_io_head = NULL, *_rr_io_tail = NULL;
static volatile sig_atomic_t _rr_io_stopping = 0; /* SIGTERM: shutdown */

static str rr_item_key(rr_async_item_t *it)
{
	str s = {it->data, it->h.keylen};
	return s;
}

static str rr_item_user(rr_async_item_t *it)
{
	str s = {it->data + it->h.keylen, it->h.userlen};
	return s;
}

/* The item's lookup state: its candidate keys, rebuilt from its key, and
 * the cache ticket the worker took (the worker looked in the cache). */
static void rr_io_state(rr_async_item_t *it, rr_lookup_state_t *st)
{
	str key = rr_item_key(it);

	rr_lookup_rekey(&key, st);
	st->use_cache = it->h.use_cache;
	st->ticket = it->h.ticket;
}

/* Resumes the item's transaction in its route with rc (the answer's
 * targets are in rr_script_result()). */
static void rr_io_resume(rr_async_item_t *it, int rc)
{
	tm_api_t *tmb = rr_script_tm();
	str fn, param = str_init("");

	rr_script_resume_begin(rc);
	if(it->h.route >= 0) {
		if(tmb->t_continue(
				   it->h.tindex, it->h.tlabel, main_rt.rlist[it->h.route])
				< 0)
			LM_DBG("transaction %u:%u gone (cancelled or timed out)\n",
					it->h.tindex, it->h.tlabel);
	} else {
		fn.s = it->data + it->h.keylen + it->h.userlen;
		fn.len = it->h.fnlen;
		if(tmb->t_continue_cb(it->h.tindex, it->h.tlabel, &fn, &param) < 0)
			LM_DBG("transaction %u:%u gone (cancelled or timed out)\n",
					it->h.tindex, it->h.tlabel);
	}
	rr_script_resume_end();
	rr_async_io_done();
}

static rr_async_item_t *rr_io_pop(void)
{
	rr_async_item_t *it = _rr_io_head;

	if(it != NULL) {
		_rr_io_head = it->next;
		if(_rr_io_head == NULL)
			_rr_io_tail = NULL;
	}
	return it;
}

/* Drops the connection: everything in flight resumes with -2; an outage
 * (not a reload) is said once and makes the workers answer -2 at once
 * until the next attempt. */
static void rr_io_drop(const char *why, int outage)
{
	rr_async_item_t *it;

	if(outage && !_rr_io_down_said) {
		LM_ERR("async I/O %d: redis %s: %s; async lookups answer -2 until it "
			   "is back\n",
				_rr_io_idx, rr_conn_address(), why);
		_rr_io_down_said = 1;
	}
	while((it = rr_io_pop()) != NULL) {
		rr_io_resume(it, RR_UNAVAILABLE);
		pkg_free(it);
	}
	if(_rr_io_ctx != NULL) {
		redisFree(_rr_io_ctx);
		_rr_io_ctx = NULL;
	}
	_rr_io_write_pending = 0;
	_rr_io_next_attempt_ms =
			rr_conn_now_ms() + (outage ? rr_conn_cfg()->retry_interval_ms : 0);
	if(outage)
		rr_async_io_set_down(_rr_io_idx, 1);
}

/* Loads the lookup script (every connection: a SCRIPT FLUSH or a restart
 * may have emptied Redis's script cache). 0, or -1 with the connection
 * dropped. */
static int rr_io_load_script(void)
{
	const char *argv[3];
	size_t lens[3];
	redisReply *r;
	int ok;

	if(rr_eval_plain())
		return 0;
	r = redisCommandArgv(_rr_io_ctx, rr_eval_load_argv(argv, lens), argv, lens);
	if(r == NULL) {
		rr_io_drop(rr_conn_errstr(_rr_io_ctx), 1);
		return -1;
	}
	ok = rr_eval_loaded(r) == 0;
	if(!ok && r->type == REDIS_REPLY_ERROR)
		LM_ERR("async I/O %d: SCRIPT LOAD refused: %.*s\n", _rr_io_idx,
				(int)r->len, r->str);
	freeReplyObject(r);
	if(!ok) {
		rr_io_drop("cannot load the lookup script", 1);
		return -1;
	}
	return 0;
}

/* Connects (blocking, at most connect_timeout, then command_timeout for
 * the script), then switches to non-blocking I/O. */
static void rr_io_connect(void)
{
	int flags;

	_rr_io_ctx = rr_conn_open_extra();
	if(_rr_io_ctx == NULL) {
		rr_io_drop("cannot connect", 1);
		return;
	}
	if(rr_io_load_script() < 0)
		return;
	flags = fcntl(_rr_io_ctx->fd, F_GETFL, 0);
	if(flags < 0 || fcntl(_rr_io_ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		rr_io_drop(strerror(errno), 1);
		return;
	}
	/* hiredis: EAGAIN is no error on a context without REDIS_BLOCK */
	_rr_io_ctx->flags &= ~REDIS_BLOCK;
	if(_rr_io_down_said)
		LM_INFO("async I/O %d: redis %s is back\n", _rr_io_idx,
				rr_conn_address());
	_rr_io_down_said = 0;
	rr_async_io_set_down(_rr_io_idx, 0);
}

static void rr_io_flush(void)
{
	int done = 0;

	if(_rr_io_ctx == NULL)
		return;
	if(redisBufferWrite(_rr_io_ctx, &done) != REDIS_OK) {
		rr_io_drop(rr_conn_errstr(_rr_io_ctx), 1);
		return;
	}
	_rr_io_write_pending = !done;
}

/* Sends one request's lookup command, or answers it at once. */
static void rr_io_start(rr_async_item_t *it)
{
	static char cmd[RR_EVAL_FORMAT_MAX];
	rr_lookup_state_t st;
	int len = -1;

	if(_rr_io_ctx == NULL && rr_conn_now_ms() >= _rr_io_next_attempt_ms)
		rr_io_connect();
	_rr_io_used = 1;
	if(_rr_io_ctx != NULL) {
		rr_io_state(it, &st);
		len = rr_eval_format(st.ncand, st.pkeys, st.plens, cmd, sizeof(cmd));
	}
	if(len < 0
			|| redisAppendFormattedCommand(_rr_io_ctx, cmd, (size_t)len)
					   != REDIS_OK) {
		rr_io_resume(it, RR_UNAVAILABLE);
		pkg_free(it);
		return;
	}
	it->deadline_ms = rr_conn_now_ms() + rr_conn_cfg()->command_timeout_ms;
	it->next = NULL;
	if(_rr_io_tail != NULL)
		_rr_io_tail->next = it;
	else
		_rr_io_head = it;
	_rr_io_tail = it;
}

/* The next request a worker sent, or NULL when there is none now. */
static rr_async_item_t *rr_io_recv(int fd)
{
	char buf[RR_ASYNC_REQ_MAX];
	rr_async_req_t h;
	rr_async_item_t *it;
	ssize_t n;

	for(;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if(n < 0)
			return NULL;
		if((size_t)n < sizeof(h))
			continue;
		memcpy(&h, buf, sizeof(h));
		if(sizeof(h) + h.keylen + h.userlen + h.fnlen != (size_t)n) {
			LM_BUG("async I/O %d: a request of %d bytes does not add up\n",
					_rr_io_idx, (int)n);
			continue;
		}
		/* + 1: the KEMI function's name ends the data, NUL-terminated
		 * (the KEMI engines read it as a C string) */
		it = pkg_malloc(sizeof(*it) + (n - sizeof(h)) + 1);
		if(it == NULL) {
			PKG_MEM_ERROR;
			continue;
		}
		memset(it, 0, sizeof(*it));
		it->h = h;
		memcpy(it->data, buf + sizeof(h), n - sizeof(h));
		it->data[n - sizeof(h)] = '\0';
		return it;
	}
}

/* Reads what the workers sent, at most a batch per call. */
static void rr_io_take_requests(int fd)
{
	rr_async_item_t *it;
	int i;

	for(i = 0; i < 256 && (it = rr_io_recv(fd)) != NULL; i++)
		rr_io_start(it);
	rr_io_flush();
}

/* Cluster mode: up to a batch of requests through the cluster backend,
 * which pipelines them to their slots' masters and follows MOVED/ASK
 * (blocking, at most command_timeout per node, in this process only).
 * Returns how many it took. */
static int rr_io_cluster_batch(int fd)
{
	static rr_async_item_t *items[RR_CLUSTER_BATCH_MAX];
	static rr_lookup_state_t st[RR_CLUSTER_BATCH_MAX];
	rr_cluster_lookup_t lk[RR_CLUSTER_BATCH_MAX];
	rr_async_item_t *it;
	str user;
	int n = 0, i, ret;

	while(n < RR_CLUSTER_BATCH_MAX && (it = rr_io_recv(fd)) != NULL) {
		rr_io_state(it, &st[n]);
		items[n] = it;
		lk[n].nkeys = st[n].ncand;
		lk[n].keys = st[n].pkeys;
		lk[n].klens = st[n].plens;
		n++;
	}
	if(n > 0)
		rr_cluster_eval_batch(n, lk);
	for(i = 0; i < n; i++) {
		user = rr_item_user(items[i]);
		ret = rr_lookup_end(&st[i], lk[i].reply, lk[i].matched, &user,
				items[i]->h.sips, rr_script_result());
		if(lk[i].reply != NULL)
			freeReplyObject(lk[i].reply);
		rr_io_resume(items[i], ret);
		pkg_free(items[i]);
	}
	return n;
}

static void rr_io_shutdown(int fd);

static void rr_io_cluster_loop(int fd)
{
	struct pollfd pfd;
	int i;

	for(;;) {
		if(_rr_io_stopping)
			rr_io_shutdown(fd);
		cfg_update();
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if(poll(&pfd, 1, 1000) < 0 && errno != EINTR) {
			LM_ERR("async I/O %d: poll: %s\n", _rr_io_idx, strerror(errno));
			continue;
		}
		/* bounded: cfg_update() between rounds */
		for(i = 0; i < 64 && rr_io_cluster_batch(fd) > 0; i++)
			;
	}
}

/* One answer, for the oldest item in flight. */
static void rr_io_answer(rr_async_item_t *it, redisReply *r)
{
	rr_lookup_state_t st;
	str user = rr_item_user(it);
	int rc;

	if(rr_reply_is_error(r, "NOSCRIPT") || rr_eval_ro_unknown(r)) {
		/* SCRIPT FLUSH, or Redis 6: -2 for this one; the connection is
		 * made again at once, with the script (or EVALSHA) */
		rr_io_resume(it, RR_UNAVAILABLE);
		_rr_io_reload = 1;
		return;
	}
	rr_io_state(it, &st);
	rc = rr_lookup_end(&st, r, rr_eval_matched(r, st.ncand), &user, it->h.sips,
			rr_script_result());
	rr_io_resume(it, rc);
}

static void rr_io_read(void)
{
	rr_async_item_t *it;
	void *r;

	if(redisBufferRead(_rr_io_ctx) != REDIS_OK) {
		rr_io_drop(rr_conn_errstr(_rr_io_ctx), 1);
		return;
	}
	for(;;) {
		r = NULL;
		if(redisReaderGetReply(_rr_io_ctx->reader, &r) != REDIS_OK) {
			rr_io_drop("protocol error", 1);
			return;
		}
		if(r == NULL)
			break;
		it = rr_io_pop();
		if(it == NULL) {
			freeReplyObject(r);
			rr_io_drop("an answer to no lookup", 1);
			return;
		}
		rr_io_answer(it, r);
		freeReplyObject(r);
		pkg_free(it);
	}
	if(_rr_io_reload) {
		_rr_io_reload = 0;
		rr_io_drop("reload", 0); /* NOSCRIPT: reconnect, load it */
	}
}

/* The oldest lookup unanswered past command_timeout fails the connection. */
static void rr_io_expire(void)
{
	char why[64];

	if(_rr_io_head != NULL && rr_conn_now_ms() >= _rr_io_head->deadline_ms) {
		snprintf(why, sizeof(why), "no answer within %d ms",
				rr_conn_cfg()->command_timeout_ms);
		rr_io_drop(why, 1);
	}
}

static int rr_io_poll_timeout(void)
{
	long long now = rr_conn_now_ms(), until;

	if(_rr_io_head != NULL)
		until = _rr_io_head->deadline_ms;
	else if(_rr_io_ctx == NULL && _rr_io_used)
		until = _rr_io_next_attempt_ms; /* reconnect without waiting for
										 * a request: workers send none
										 * while it is down */
	else
		return 1000;
	if(until <= now)
		return 0;
	return until - now > 1000 ? 1000 : (int)(until - now);
}

static void rr_io_on_term(int sig)
{
	_rr_io_stopping = 1;
}

/* Kamailio is stopping: what the workers sent and what is in flight is
 * answered -2 now (its route runs, the caller gets the 503), then the
 * process exits, as the core's own SIGTERM handler would. */
static void rr_io_shutdown(int fd)
{
	rr_async_item_t *it;
	int i;

	for(i = 0; i < 65536 && (it = rr_io_recv(fd)) != NULL; i++) {
		rr_io_resume(it, RR_UNAVAILABLE);
		pkg_free(it);
	}
	if(_rr_io_head != NULL)
		LM_INFO("async I/O %d: shutting down: lookups in flight answer -2\n",
				_rr_io_idx);
	rr_io_drop("shutting down", 0);
	_exit(0);
}

/* Our own SIGTERM/SIGINT handler (the core's exits at once): without
 * SA_RESTART, so that poll() returns and the loop winds down. */
static void rr_io_catch_term(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rr_io_on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

void rr_async_io_loop(int idx)
{
	struct pollfd pfd[2];
	int fd = rr_async_io_fd(idx), n;

	_rr_io_idx = idx;
	rr_io_catch_term();
	if(rr_conn_cfg()->cluster)
		rr_io_cluster_loop(fd);
	for(;;) {
		if(_rr_io_stopping)
			rr_io_shutdown(fd);
		cfg_update();
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		n = 1;
		if(_rr_io_ctx != NULL) {
			pfd[1].fd = _rr_io_ctx->fd;
			pfd[1].events = POLLIN | (_rr_io_write_pending ? POLLOUT : 0);
			pfd[1].revents = 0;
			n = 2;
		}
		if(poll(pfd, n, rr_io_poll_timeout()) < 0 && errno != EINTR) {
			LM_ERR("async I/O %d: poll: %s\n", idx, strerror(errno));
			continue;
		}
		if(n == 2 && _rr_io_ctx != NULL && (pfd[1].revents & POLLOUT))
			rr_io_flush();
		if(n == 2 && _rr_io_ctx != NULL
				&& (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)))
			rr_io_read();
		if(pfd[0].revents & POLLIN)
			rr_io_take_requests(fd);
		rr_io_expire();
		if(rr_conn_reconnect_take() && _rr_io_ctx != NULL) {
			/* the sentinels named another master, or redisroute.reconnect:
			 * what is in flight answers -2, the next lookup reconnects */
			rr_io_drop("reconnect", 0);
		}
		if(_rr_io_ctx == NULL && _rr_io_used
				&& rr_conn_now_ms() >= _rr_io_next_attempt_ms)
			rr_io_connect();
	}
}
