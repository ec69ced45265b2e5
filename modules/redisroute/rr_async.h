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
 * The SIP worker suspends the request's transaction (tm) and hands the
 * lookup to one of the module's I/O processes over a datagram socket; the
 * I/O process pipelines the lookups of every worker on one non-blocking
 * connection and resumes each transaction in the named route with the
 * answer (t_continue). rr_async.c is the worker's side, rr_async_io.c the
 * I/O process.
 */

#ifndef _RR_ASYNC_H_
#define _RR_ASYNC_H_

#include "core/parser/msg_parser.h"
#include "core/str.h"

#include "rr_config.h"
#include "rr_lookup.h"

/* one lookup, worker -> I/O process: this header, then key, user and the
 * KEMI function's name, back to back */
typedef struct rr_async_req
{
	unsigned int tindex; /* the suspended transaction */
	unsigned int tlabel;
	int route; /* the cfg route's index in main_rt; -1: KEMI, fn */
	int sips;
	/* the cache's state when the worker looked (rr_lookup_begin): the
	 * answer is stored against it */
	int use_cache;
	rr_cache_ticket_t ticket;
	unsigned short keylen;
	unsigned short userlen;
	unsigned short fnlen;
} rr_async_req_t;

#define RR_ASYNC_FN_MAX 64
#define RR_ASYNC_REQ_MAX \
	(sizeof(rr_async_req_t) + RR_KEY_MAX + RR_URI_MAX + RR_ASYNC_FN_MAX)

/* In mod_init: `workers` I/O processes (0: none, the async functions then
 * answer at once as when Redis is down), at most max_pending lookups in
 * flight over them all. */
int rr_async_init(int workers, int max_pending);

/* In child_init(PROC_MAIN): forks the I/O processes. */
int rr_async_fork(void);

/* sip_lookup_async(): the request goes on in cfg route `route` (its index
 * in main_rt), or, route -1, in the KEMI function fn; key NULL means the
 * R-URI user. Returns 0 (the script stops; the request goes on in the
 * route) or a negative RR_ code when it cannot. */
int rr_async_lookup(sip_msg_t *msg, int route, str *fn, str *key);

/* For redisroute.status: I/O processes, lookups in flight, and how many
 * of the processes have their connection down. */
void rr_async_get_status(int *workers, int *pending, int *down);

/* the script's side: the cfg functions (and their fixup) and KEMI's */
int rr_async_fixup(void **param, int param_no);
int w_sip_lookup_async1(sip_msg_t *msg, char *route, char *p2);
int w_sip_lookup_async2(sip_msg_t *msg, char *route, char *key);
int ki_sip_lookup_async(sip_msg_t *msg, str *fn);
int ki_sip_lookup_async_key(sip_msg_t *msg, str *fn, str *key);

/* rr_async_io.c: the I/O process's loop (idx: which one), never returns;
 * and what it shares with the workers. */
void rr_async_io_loop(int idx);
/* the I/O process's end of its request socket */
int rr_async_io_fd(int idx);
/* marks it up or down for the workers (down: they answer at once) */
void rr_async_io_set_down(int idx, int down);
/* one lookup fewer in flight */
void rr_async_io_done(void);

#endif
