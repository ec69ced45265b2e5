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
 * redisroute - sip_lookup_async(), the SIP worker's side: a cache hit (or a
 * lookup that cannot be made) runs the route at once, in the worker; any
 * other lookup suspends the transaction and goes to an I/O process.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/action.h"
#include "core/atomic_ops.h"
#include "core/cfg/cfg_struct.h"
#include "core/dprint.h"
#include "core/kemi.h"
#include "core/mod_fix.h"
#include "core/mem/shm_mem.h"
#include "core/parser/parse_uri.h"
#include "core/pt.h"
#include "core/route.h"
#include "modules/tm/tm_load.h"

#include "rr_async.h"
#include "rr_conn.h"
#include "rr_script.h"
#include "rr_stats.h"

typedef struct rr_async_proc
{
	int fd[2]; /* [0]: the I/O process reads, [1]: workers send */
} rr_async_proc_t;

typedef struct rr_async_shared
{
	atomic_t pending; /* lookups in flight, over every I/O process */
	atomic_t full;	  /* 1 once the bound was reached: said once */
	atomic_t down[];  /* per I/O process: 1 while its connection is down */
} rr_async_shared_t;

static int _rr_async_workers = 0;
static int _rr_async_max_pending = 0;
static rr_async_proc_t *_rr_async_procs = NULL; /* pkg, inherited */
static rr_async_shared_t *_rr_async_shared = NULL;
static unsigned int _rr_async_next = 0; /* per worker: round robin */

int rr_async_init(int workers, int max_pending)
{
	int i, size;

	_rr_async_workers = workers;
	_rr_async_max_pending = max_pending;
	if(workers == 0)
		return 0;
	if(!rr_script_have_tm()) {
		/* nothing to suspend without tm: the processes would idle */
		LM_DBG("tm not loaded: no async I/O process\n");
		_rr_async_workers = 0;
		return 0;
	}
	size = sizeof(*_rr_async_shared) + workers * sizeof(atomic_t);
	_rr_async_shared = shm_malloc(size);
	_rr_async_procs = pkg_malloc(workers * sizeof(*_rr_async_procs));
	if(_rr_async_shared == NULL || _rr_async_procs == NULL) {
		LM_ERR("no memory for %d async I/O processes\n", workers);
		return -1;
	}
	memset(_rr_async_shared, 0, size);
	for(i = 0; i < workers; i++) {
		if(socketpair(AF_UNIX, SOCK_DGRAM, 0, _rr_async_procs[i].fd) < 0) {
			LM_ERR("socketpair: %s\n", strerror(errno));
			return -1;
		}
		/* room for the bound's worth of requests in each socket */
		size = (int)RR_ASYNC_REQ_MAX * 64;
		setsockopt(_rr_async_procs[i].fd[0], SOL_SOCKET, SO_RCVBUF, &size,
				sizeof(size));
		setsockopt(_rr_async_procs[i].fd[1], SOL_SOCKET, SO_SNDBUF, &size,
				sizeof(size));
	}
	register_procs(workers);
	cfg_register_child(workers);
	return 0;
}

int rr_async_fork(void)
{
	char desc[48];
	int i, pid;

	for(i = 0; i < _rr_async_workers; i++) {
		snprintf(desc, sizeof(desc), "redisroute async I/O %d", i);
		/* PROC_RPC: the modules' child_init runs (tm's among them), as
		 * for http_async_client's and evapi's workers */
		pid = fork_process(PROC_RPC, desc, 1);
		if(pid < 0)
			return -1;
		if(pid == 0) {
			if(cfg_child_init())
				return -1;
			rr_async_io_loop(i);
		}
	}
	return 0;
}

int rr_async_io_fd(int idx)
{
	return _rr_async_procs[idx].fd[0];
}

void rr_async_io_set_down(int idx, int down)
{
	atomic_set(&_rr_async_shared->down[idx], down);
}

void rr_async_io_done(void)
{
	atomic_dec(&_rr_async_shared->pending);
}

void rr_async_get_status(int *workers, int *pending, int *down)
{
	int i;

	*workers = _rr_async_workers;
	*pending = *down = 0;
	if(_rr_async_shared == NULL)
		return;
	*pending = atomic_get(&_rr_async_shared->pending);
	for(i = 0; i < _rr_async_workers; i++)
		*down += atomic_get(&_rr_async_shared->down[i]) != 0;
}

/* Runs the route at once, in this worker, with rc (and the targets in
 * rr_script_result()), as the I/O process would after t_continue. */
static void rr_async_run_now(sip_msg_t *msg, int route, str *fn, int rc)
{
	struct run_act_ctx ctx;
	sr_kemi_eng_t *keng;
	str evname = str_init("redisroute:async");

	rr_script_resume_begin(rc);
	if(route >= 0) {
		init_run_actions_ctx(&ctx);
		run_top_route(main_rt.rlist[route], msg, &ctx);
	} else if((keng = sr_kemi_eng_get()) != NULL) {
		if(sr_kemi_route(keng, msg, REQUEST_ROUTE, fn, &evname) < 0)
			LM_ERR("error running KEMI function %.*s\n", fn->len, fn->s);
	}
	rr_script_resume_end();
}

/* Whether a lookup can go to an I/O process now: its index, or -1 (none,
 * the bound reached, Redis down: the answer is -2 at once). */
static int rr_async_pick(void)
{
	int idx, pending;

	if(_rr_async_workers == 0)
		return -1;
	pending = atomic_get(&_rr_async_shared->pending);
	if(pending >= _rr_async_max_pending) {
		if(atomic_get_and_set(&_rr_async_shared->full, 1) == 0)
			LM_ERR("async lookups: async_max_pending (%d) reached, lookups "
				   "answer -2 until some are answered (said once per "
				   "episode)\n",
					_rr_async_max_pending);
		return -1;
	}
	if(pending < _rr_async_max_pending / 2)
		atomic_set(&_rr_async_shared->full, 0);
	idx = (int)(_rr_async_next++ % (unsigned int)_rr_async_workers);
	if(atomic_get(&_rr_async_shared->down[idx]))
		return -1;
	return idx;
}

/* Packs the request; returns its length. */
static int rr_async_pack(char *buf, const rr_async_req_t *h, const str *key,
		const str *user, const str *fn)
{
	char *p = buf + sizeof(*h);

	memcpy(buf, h, sizeof(*h));
	memcpy(p, key->s, key->len);
	p += key->len;
	memcpy(p, user->s, user->len);
	p += user->len;
	if(fn != NULL) {
		memcpy(p, fn->s, fn->len);
		p += fn->len;
	}
	return (int)(p - buf);
}

/* The request's transaction, made here if the script made none: an async
 * lookup answers statefully, whether it suspends or not. 0, 1 when msg is
 * a retransmission tm absorbed, -1 when there is none. */
static int rr_async_transaction(sip_msg_t *msg)
{
	tm_api_t *tmb = rr_script_tm();
	struct cell *t = tmb->t_gett();
	int ret;

	if(t != NULL && t != T_UNDEFINED)
		return 0;
	ret = tmb->t_newtran(msg);
	if(ret == 0)
		return 1;
	if(ret < 0) {
		LM_ERR("sip_lookup_async(): cannot create the transaction\n");
		return -1;
	}
	return 0;
}

/* Suspends msg's transaction and sends the lookup to I/O process idx.
 * Returns 0 when it went, -1 when it cannot go (nothing suspended). */
static int rr_async_send(sip_msg_t *msg, int idx, rr_async_req_t *h,
		const str *key, const str *user, const str *fn)
{
	char buf[RR_ASYNC_REQ_MAX];
	tm_api_t *tmb = rr_script_tm();
	int len;

	if(tmb->t_suspend(msg, &h->tindex, &h->tlabel) < 0) {
		LM_ERR("sip_lookup_async(): cannot suspend the transaction\n");
		return -1;
	}
	len = rr_async_pack(buf, h, key, user, fn);
	atomic_inc(&_rr_async_shared->pending);
	if(send(_rr_async_procs[idx].fd[1], buf, len, MSG_DONTWAIT) != len) {
		atomic_dec(&_rr_async_shared->pending);
		LM_DBG("async request not sent: %s\n", strerror(errno));
		tmb->t_cancel_suspend(h->tindex, h->tlabel);
		return -1;
	}
	return 0;
}

int rr_async_lookup(sip_msg_t *msg, int ri, str *fn, str *key)
{
	rr_async_req_t h;
	rr_lookup_state_t st;
	str *user;
	int idx, ret;

	if(fn != NULL && (fn->len <= 0 || fn->len > RR_ASYNC_FN_MAX)) {
		LM_ERR("sip_lookup_async(): bad KEMI function name\n");
		return RR_NOT_APPLICABLE;
	}
	if(!rr_request_ok(msg, "sip_lookup_async", 0))
		return RR_NOT_APPLICABLE;
	user = &msg->parsed_uri.user;
	if(key == NULL)
		key = user;
	if(user->len > RR_URI_MAX) {
		LM_ERR("sip_lookup_async(): Request-URI user longer than %d bytes\n",
				RR_URI_MAX);
		return RR_NOT_APPLICABLE;
	}
	ret = rr_async_transaction(msg);
	if(ret == 1)
		return 0; /* a retransmission: tm absorbed it */
	if(ret < 0)
		return RR_UNAVAILABLE;
	/* the cache, or a key that never matches: answered here */
	ret = rr_lookup_begin(key, user, msg->parsed_uri.type == SIPS_URI_T,
			rr_script_result(), &st);
	if(ret != 0) {
		rr_async_run_now(msg, ri, fn, ret);
		return 0;
	}
	memset(&h, 0, sizeof(h));
	h.route = ri;
	h.sips = (msg->parsed_uri.type == SIPS_URI_T);
	h.use_cache = st.use_cache;
	h.ticket = st.ticket;
	h.keylen = (unsigned short)key->len;
	h.userlen = (unsigned short)user->len;
	h.fnlen = fn ? (unsigned short)fn->len : 0;
	idx = rr_async_pick();
	ret = idx < 0 ? -1 : rr_async_send(msg, idx, &h, key, user, fn);
	if(ret < 0) {
		/* not suspended: -2 here and now */
		rr_stats_inc(RR_STAT_ERRORS);
		rr_async_run_now(msg, ri, fn, RR_UNAVAILABLE);
	}
	return 0;
}

/* sip_lookup_async(route [, key]): route a literal name, looked up here
 * once; the parameter becomes its index in main_rt */
int rr_async_fixup(void **param, int param_no)
{
	int ri;

	if(param_no != 1)
		return fixup_spve_all(param, param_no);
	if(!rr_script_have_tm()) {
		LM_ERR("sip_lookup_async() needs the tm module (loadmodule \"tm.so\" "
			   "before redisroute)\n");
		return -1;
	}
	ri = route_lookup(&main_rt, (char *)*param);
	if(ri < 0) {
		LM_ERR("sip_lookup_async(): no route[%s] in the cfg\n", (char *)*param);
		return -1;
	}
	*param = (void *)(long)ri;
	return 0;
}

int w_sip_lookup_async1(sip_msg_t *msg, char *route, char *p2)
{
	return rr_async_lookup(msg, (int)(long)route, NULL, NULL);
}

int w_sip_lookup_async2(sip_msg_t *msg, char *route, char *key)
{
	str k;

	if(fixup_get_svalue(msg, (gparam_t *)key, &k) < 0) {
		LM_ERR("cannot get the key\n");
		return RR_NOT_APPLICABLE;
	}
	return rr_async_lookup(msg, (int)(long)route, NULL, &k);
}

/* KEMI: the function named fn resumes */
static int rr_async_kemi_ok(void)
{
	if(rr_script_have_tm())
		return 1;
	LM_ERR("sip_lookup_async() needs the tm module\n");
	return 0;
}

int ki_sip_lookup_async(sip_msg_t *msg, str *fn)
{
	return rr_async_kemi_ok() ? rr_async_lookup(msg, -1, fn, NULL)
							  : RR_NOT_APPLICABLE;
}

int ki_sip_lookup_async_key(sip_msg_t *msg, str *fn, str *key)
{
	return rr_async_kemi_ok() ? rr_async_lookup(msg, -1, fn, key)
							  : RR_NOT_APPLICABLE;
}
