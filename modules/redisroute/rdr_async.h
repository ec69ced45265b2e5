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
 * redisroute - asynchronous lookups: sip_lookup_async(route [, key])
 *
 * The SIP worker suspends the request's transaction (tm) and queues the
 * lookup, in shared memory, for one of the module's I/O processes; the I/O
 * process pipelines the lookups of every worker on one non-blocking
 * connection and hands each answer to the core's async workers
 * (async_workers), where tm resumes the request in the named route
 * (t_continue). An I/O process runs no script: a slow route holds one async
 * worker and its own call, never the connection or the other calls. A
 * lookup answered at once (a cache hit, Redis down, the queue full) takes
 * the same way, so the route is always resumed by tm, as a failure route.
 *
 * rdr_async.c: the worker's side, the queue and the resume; rdr_async_io.c:
 * the I/O processes, which use the queue and the answer below.
 */

#ifndef _RDR_ASYNC_H_
#define _RDR_ASYNC_H_

#include <stdint.h>

#include "core/parser/msg_parser.h"
#include "core/str.h"

#include "redisroute.h"
#include "rdr_lookup.h"

/* one lookup, in shared memory: queued by a worker, then the I/O process's
 * until it is answered (rdr_async_answer() frees it) */
typedef struct rdr_async_req
{
	struct rdr_async_req *next;
	long long deadline_ms; /* I/O process: no answer by then fails it */
	unsigned int tindex;   /* the suspended transaction */
	unsigned int tlabel;
	int route; /* the cfg route's index in main_rt; -1: KEMI, fn */
	int sips;
	uint64_t seed; /* selection "hash": the Call-ID's */
	int kind;	   /* the command sent (rdr_eval_choose()); -1: not yet */
	/* the cache's state when the worker looked (rdr_lookup_begin): the
	 * answer is stored against it */
	int use_cache;
	rdr_cache_ticket_t ticket;
	unsigned short keylen;
	unsigned short userlen;
	unsigned short fnlen;
	char data[]; /* key, user, KEMI function name, NUL */
} rdr_async_req_t;

#define RDR_ASYNC_FN_MAX 64

static inline str rdr_async_req_key(rdr_async_req_t *r)
{
	str s = {r->data, r->keylen};
	return s;
}

static inline str rdr_async_req_user(rdr_async_req_t *r)
{
	str s = {r->data + r->keylen, r->userlen};
	return s;
}

/* In mod_init: up to `workers` I/O processes (-1: one when the cfg calls
 * sip_lookup_async(), else none), at most max_pending lookups queued or in
 * flight over them all. */
int rdr_async_init(int workers, int max_pending);

/* How many I/O processes there are (0 when nothing calls
 * sip_lookup_async()). */
int rdr_async_io_count(void);

/* sip_lookup_async(): the request goes on in cfg route `route` (its index
 * in main_rt), or, route -1, in the KEMI function fn; key NULL means the
 * R-URI user. Returns 0 (the script stops; the request goes on in the
 * route) or a negative RDR_ code when it cannot (nothing suspended). */
int rdr_async_lookup(sip_msg_t *msg, int route, str *fn, str *key);

/* For redisroute.status: I/O processes, lookups in flight, how many of the
 * processes have their connection down, and lookups refused because
 * async_max_pending was reached. */
void rdr_async_get_status(int *workers, int *pending, int *down, int *full);

/* the script's side: the cfg functions (and their fixup) and KEMI's */
int rdr_async_fixup(void **param, int param_no);
int w_sip_lookup_async1(sip_msg_t *msg, char *route, char *p2);
int w_sip_lookup_async2(sip_msg_t *msg, char *route, char *key);
int ki_sip_lookup_async(sip_msg_t *msg, str *fn);
int ki_sip_lookup_async_key(sip_msg_t *msg, str *fn, str *key);

/* For the I/O process idx (rdr_async_io.c): */
/* the fd that becomes readable when lookups are queued for it */
int rdr_async_queue_fd(int idx);
/* takes every lookup queued for it, oldest first (NULL: none) */
rdr_async_req_t *rdr_async_queue_take(int idx);
/* marks it up or down for the workers (down: they answer -2 at once) */
void rdr_async_set_down(int idx, int down);
/* Answers req with rc (and res's targets): the request resumes in its
 * route, in one of the core's async workers. Frees req; counts one lookup
 * fewer in flight. */
void rdr_async_answer(rdr_async_req_t *req, int rc, const rdr_result_t *res);

/* rdr_async_io.c: in child_init(PROC_MAIN), forks the I/O processes. */
int rdr_async_io_fork(void);

#endif
