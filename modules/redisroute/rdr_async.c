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
 * redisroute - sip_lookup_async(), the SIP worker's side: the transaction
 * suspended, the lookup queued for an I/O process (or answered at once),
 * and the resume, in one of the core's async workers.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/action.h"
#include "core/async_task.h"
#include "core/atomic_ops.h"
#include "core/dprint.h"
#include "core/locking.h"
#include "core/mod_fix.h"
#include "core/mem/shm_mem.h"
#include "core/pt.h"
#include "core/route.h"
#include "core/route_struct.h"
#include "core/switch.h"
#include "core/script_cb.h"
#include "core/sr_module.h"
#include "modules/tm/tm_load.h"

#include "rdr_async.h"
#include "rdr_gw.h"
#include "rdr_select.h"
#include "rdr_sip.h"
#include "rdr_stats.h"

/* per I/O process: its queue, in shared memory */
typedef struct rdr_async_queue
{
	gen_lock_t lock;
	rdr_async_req_t *head;
	rdr_async_req_t *tail;
	atomic_t down; /* 1 while its connection is down */
} rdr_async_queue_t;

typedef struct rdr_async_shared
{
	atomic_t pending;  /* lookups queued or in flight, over every process */
	atomic_t full;	   /* 1 during an episode of async_max_pending reached */
	atomic_t refused;  /* lookups refused for it, since start */
	atomic_t off_said; /* "sip_lookup_async() is off" was logged */
	rdr_async_queue_t q[];
} rdr_async_shared_t;

/* an answer on its way to the route that resumes with it; one block in
 * shared memory, freed by the core after rdr_async_resume() */
typedef struct rdr_async_answer
{
	async_task_t task; /* first: the core frees the block through it */
	unsigned int tindex;
	unsigned int tlabel;
	int route; /* as rdr_async_req_t's */
	int sips;  /* the R-URI's scheme, user and seed: for its gateways */
	uint64_t seed;
	str fn;	  /* into data */
	str user; /* into data, after fn and its NUL */
	int len;  /* the packed answer's, after user */
	char data[];
} rdr_async_answer_t;

static int _rdr_async_max_pending = 0;
static int _rdr_async_nq = 0;			 /* I/O processes, and their queues */
static int (*_rdr_async_bell)[2] = NULL; /* pkg, inherited: [0] the I/O
										 * process reads, [1] workers write */
static rdr_async_shared_t *_rdr_async_shared = NULL;
static unsigned int _rdr_async_next = 0; /* per worker: round robin */
/* during rdr_async_resume() only: the answer tm's pre-script callback keeps
 * with the transaction (its gateways resolved) */
static const char *_rdr_async_resuming = NULL;
static int _rdr_async_resuming_len = 0;

/* tm runs it before the resumed route, with the transaction's XAVPs as the
 * current list and the transaction locked: the answer is kept there, so the
 * route and every later one of the transaction read it. */
static int rdr_async_resume_cb(sip_msg_t *msg, unsigned int flags, void *p)
{
	if(_rdr_async_resuming != NULL) {
		rdr_answer_keep(_rdr_async_resuming, _rdr_async_resuming_len);
		_rdr_async_resuming = NULL;
	}
	return 1;
}

/* 1 when the actions a (with those nested in them: blocks, if, switch,
 * while) call sip_lookup_async(). The cfg is parsed but not fixed yet. */
static int rdr_actions_call_async(struct action *a, int depth)
{
	struct case_stms *c;
	ksr_cmd_export_t *cmd;
	int i;

	if(depth > 64)
		return 0;
	for(; a != NULL; a = a->next) {
		for(i = 0; i < MAX_ACTIONS; i++) {
			if(a->val[i].type == ACTIONS_ST
					&& rdr_actions_call_async(a->val[i].u.data, depth + 1))
				return 1;
			if(a->val[i].type == CASE_ST)
				for(c = a->val[i].u.data; c != NULL; c = c->next)
					if(rdr_actions_call_async(c->actions, depth + 1))
						return 1;
		}
		cmd = a->val[0].type == MODEXP_ST ? a->val[0].u.data : NULL;
		if(cmd != NULL
				&& (cmd->function == (cmd_function)w_sip_lookup_async1
						|| cmd->function == (cmd_function)w_sip_lookup_async2))
			return 1;
	}
	return 0;
}

/* 1 when a route of the cfg script calls sip_lookup_async(). */
static int rdr_cfg_calls_async(void)
{
	struct route_list *lists[] = {&main_rt, &failure_rt, &onreply_rt,
			&branch_rt, &onsend_rt, &event_rt};
	int i, j;

	for(i = 0; i < (int)(sizeof(lists) / sizeof(lists[0])); i++)
		for(j = 0; j < lists[i]->idx; j++)
			if(rdr_actions_call_async(lists[i]->rlist[j], 0))
				return 1;
	return 0;
}

int rdr_async_init(int workers, int max_pending)
{
	int i, size;

	_rdr_async_max_pending = max_pending;
	if(workers > 0 && !rdr_script_have_tm()) {
		LM_ERR("modparam async_workers needs the tm module (loadmodule "
			   "\"tm.so\" before redisroute)\n");
		return -1;
	}
	if(workers > 0 && !async_task_workers_active()) {
		LM_ERR("modparam async_workers: sip_lookup_async() resumes requests "
			   "in the core's async workers; set the global parameter "
			   "async_workers\n");
		return -1;
	}
	/* the core counts the processes before the fixups run: not set, the
	 * routes are read for a call now */
	if(workers > 0)
		_rdr_async_nq = workers;
	else if(workers < 0 && rdr_script_have_tm() && rdr_cfg_calls_async())
		_rdr_async_nq = 1;
	size = sizeof(*_rdr_async_shared)
		   + _rdr_async_nq * sizeof(rdr_async_queue_t);
	_rdr_async_shared = shm_malloc(size);
	_rdr_async_bell =
			pkg_malloc((_rdr_async_nq + 1) * sizeof(*_rdr_async_bell));
	if(_rdr_async_shared == NULL || _rdr_async_bell == NULL) {
		LM_ERR("no memory for the async lookups\n");
		return -1;
	}
	memset(_rdr_async_shared, 0, size);
	if(_rdr_async_nq == 0)
		return 0;
	for(i = 0; i < _rdr_async_nq; i++) {
		if(lock_init(&_rdr_async_shared->q[i].lock) == NULL) {
			LM_ERR("cannot init the async queue's lock\n");
			return -1;
		}
		if(socketpair(AF_UNIX, SOCK_DGRAM, 0, _rdr_async_bell[i]) < 0) {
			LM_ERR("socketpair: %s\n", strerror(errno));
			return -1;
		}
	}
	if(register_script_cb(
			   rdr_async_resume_cb, PRE_SCRIPT_CB | FAILURE_CB_TYPE, 0)
			< 0) {
		LM_ERR("cannot register the resume callback\n");
		return -1;
	}
	register_procs(_rdr_async_nq);
	return 0;
}

int rdr_async_io_count(void)
{
	return _rdr_async_nq;
}

int rdr_async_queue_fd(int idx)
{
	return _rdr_async_bell[idx][0];
}

rdr_async_req_t *rdr_async_queue_take(int idx)
{
	rdr_async_queue_t *q = &_rdr_async_shared->q[idx];
	rdr_async_req_t *all;
	char bell;

	/* the bell first: a lookup queued after the take rings again. One
	 * ring read, not the socket drained: it rings only when the queue was
	 * empty, so there is seldom a second, and a second (rung before this
	 * take) only wakes the process once more to find the queue taken;
	 * draining cost a recv() that failed (EAGAIN) at every wake-up */
	(void)recv(_rdr_async_bell[idx][0], &bell, 1, MSG_DONTWAIT);
	lock_get(&q->lock);
	all = q->head;
	q->head = q->tail = NULL;
	lock_release(&q->lock);
	return all;
}

void rdr_async_set_down(int idx, int down)
{
	atomic_set(&_rdr_async_shared->q[idx].down, down);
}

void rdr_async_get_status(int *workers, int *pending, int *down, int *full)
{
	int i;

	*workers = rdr_async_io_count();
	*pending = *down = *full = 0;
	if(_rdr_async_shared == NULL)
		return;
	*pending = atomic_get(&_rdr_async_shared->pending);
	*full = atomic_get(&_rdr_async_shared->refused);
	for(i = 0; i < *workers; i++)
		*down += atomic_get(&_rdr_async_shared->q[i].down) != 0;
}

/* The answer a resumes with: its gateways resolved here, in the async
 * worker (their reads, when due, wait here, not in the I/O process that
 * serves every lookup). Sets _rdr_async_resuming. */
static void rdr_async_resolve(rdr_async_answer_t *a)
{
	static rdr_result_t res;
	static char packed[RDR_PACKED_MAX];
	const char *p = a->user.s + a->user.len;
	rdr_view_t v;
	int rc, len;

	_rdr_async_resuming = p;
	_rdr_async_resuming_len = a->len;
	if(rdr_result_view(p, a->len, &v) < 0 || v.rc != RDR_OK
			|| (v.refs == 0
					&& (rdr_gw_selection() == RDR_SELECT_ORDER || v.n < 2)))
		return;
	rdr_result_from_view(&v, &res);
	rc = rdr_lookup_gateways(v.rc, &res, &a->user, a->sips, a->seed, 0);
	len = rdr_result_pack(packed, sizeof(packed), &v.lkey, rc, &res);
	if(len < 0) {
		LM_BUG("an answer does not fit its packed form\n");
		return;
	}
	_rdr_async_resuming = packed;
	_rdr_async_resuming_len = len;
}

/* In an async worker: resumes the request with the answer. */
static void rdr_async_resume(void *p)
{
	rdr_async_answer_t *a = p;
	tm_api_t *tmb = rdr_script_tm();
	str param = str_init("");
	int ret;

	if(ksr_shutdown_phase())
		return;
	rdr_async_resolve(a);
	if(a->route >= 0)
		ret = tmb->t_continue(a->tindex, a->tlabel, main_rt.rlist[a->route]);
	else
		ret = tmb->t_continue_cb(a->tindex, a->tlabel, &a->fn, &param);
	_rdr_async_resuming = NULL;
	if(ret < 0)
		LM_DBG("transaction %u:%u gone (cancelled or timed out)\n", a->tindex,
				a->tlabel);
}

/* Hands the answer (rc, res's targets, for the lookup key lkey) to the
 * core's async workers, which resolve its gateways for user, sips and seed
 * and resume the transaction in route or fn. 0, or -1 (logged) when it
 * cannot. */
static int rdr_async_push(unsigned int tindex, unsigned int tlabel, int route,
		const str *fn, const str *lkey, const str *user, int sips,
		uint64_t seed, int rc, const rdr_result_t *res)
{
	static char packed[RDR_PACKED_MAX];
	static rdr_result_t none; /* no targets, no key */
	rdr_async_answer_t *a;
	int len;

	if(res == NULL) {
		rdr_result_clear(&none); /* its key points at its own buffer */
		res = &none;
	}
	len = rdr_result_pack(packed, sizeof(packed), lkey, rc, res);
	if(len < 0) {
		LM_BUG("an answer does not fit its packed form\n");
		return -1;
	}
	a = shm_malloc(sizeof(*a) + fn->len + 1 + user->len + len);
	if(a == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(a, 0, sizeof(*a));
	a->task.exec = rdr_async_resume;
	a->task.param = a;
	a->tindex = tindex;
	a->tlabel = tlabel;
	a->route = route;
	a->sips = sips;
	a->seed = seed;
	a->fn.s = a->data;
	a->fn.len = fn->len;
	memcpy(a->data, fn->s, fn->len);
	a->data[fn->len] = '\0';
	a->user.s = a->data + fn->len + 1;
	a->user.len = user->len;
	memcpy(a->user.s, user->s, user->len);
	a->len = len;
	memcpy(a->user.s + user->len, packed, len);
	if(async_task_push(&a->task) < 0) {
		shm_free(a);
		return -1;
	}
	return 0;
}

void rdr_async_answer(rdr_async_req_t *req, int rc, const rdr_result_t *res)
{
	str key = rdr_async_req_key(req);
	str user = rdr_async_req_user(req);
	str fn = {req->data + req->keylen + req->userlen, req->fnlen};

	if(rdr_async_push(req->tindex, req->tlabel, req->route, &fn, &key, &user,
			   req->sips, req->seed, rc, res)
			< 0)
		LM_ERR("async lookup: the answer cannot be handed on; transaction "
			   "%u:%u waits for tm's timer\n",
				req->tindex, req->tlabel);
	atomic_dec(&_rdr_async_shared->pending);
	shm_free(req);
}

/* The I/O process a lookup goes to now, or -1 (none forked, the bound
 * reached, its Redis down: the answer is -2 at once). */
static int rdr_async_pick(void)
{
	int idx, pending, n = rdr_async_io_count();

	if(n == 0)
		return -1;
	pending = atomic_get(&_rdr_async_shared->pending);
	if(pending >= _rdr_async_max_pending) {
		atomic_inc(&_rdr_async_shared->refused);
		if(atomic_get_and_set(&_rdr_async_shared->full, 1) == 0)
			LM_WARN("async lookups: async_max_pending (%d) reached; lookups "
					"answer -2 until fewer are in flight (said once per "
					"episode; redisroute.status counts them)\n",
					_rdr_async_max_pending);
		return -1;
	}
	if(pending < _rdr_async_max_pending / 2)
		atomic_set(&_rdr_async_shared->full, 0);
	idx = (int)(_rdr_async_next++ % (unsigned int)n);
	if(atomic_get(&_rdr_async_shared->q[idx].down))
		return -1;
	return idx;
}

/* Queues req for I/O process idx and rings its bell. */
static void rdr_async_queue_put(int idx, rdr_async_req_t *req)
{
	rdr_async_queue_t *q = &_rdr_async_shared->q[idx];
	char bell = 0;
	int was_empty;

	atomic_inc(&_rdr_async_shared->pending);
	req->next = NULL;
	lock_get(&q->lock);
	was_empty = (q->head == NULL);
	if(q->tail != NULL)
		q->tail->next = req;
	else
		q->head = req;
	q->tail = req;
	lock_release(&q->lock);
	/* only the first lookup of an empty queue rings: the I/O process
	 * empties the bell before it takes the whole queue, so a lookup queued
	 * behind others is taken with them, and one queued after the take
	 * finds the queue empty and rings (a syscall per batch, not per
	 * lookup) */
	if(!was_empty)
		return;
	/* a full bell (EAGAIN) has rung already: the process wakes anyway */
	if(send(_rdr_async_bell[idx][1], &bell, 1, MSG_DONTWAIT) < 0
			&& errno != EAGAIN && errno != EWOULDBLOCK)
		LM_ERR("async lookup: cannot wake I/O process %d: %s\n", idx,
				strerror(errno));
}

/* The lookup as the I/O process takes it, in shared memory. */
static rdr_async_req_t *rdr_async_req_new(sip_msg_t *msg, unsigned int tindex,
		unsigned int tlabel, int route, const str *fn, const str *key,
		const str *user, const rdr_lookup_state_t *st)
{
	rdr_async_req_t *r;
	int fnlen = fn ? fn->len : 0;

	r = shm_malloc(sizeof(*r) + key->len + user->len + fnlen + 1);
	if(r == NULL) {
		SHM_MEM_ERROR;
		return NULL;
	}
	memset(r, 0, sizeof(*r));
	r->tindex = tindex;
	r->tlabel = tlabel;
	r->route = route;
	r->sips = (msg->parsed_uri.type == SIPS_URI_T);
	r->seed = rdr_request_seed(msg);
	r->kind = -1;
	r->use_cache = st->use_cache;
	r->ticket = st->ticket;
	r->keylen = (unsigned short)key->len;
	r->userlen = (unsigned short)user->len;
	r->fnlen = (unsigned short)fnlen;
	memcpy(r->data, key->s, key->len);
	memcpy(r->data + key->len, user->s, user->len);
	if(fnlen > 0)
		memcpy(r->data + key->len + user->len, fn->s, fnlen);
	r->data[key->len + user->len + fnlen] = '\0';
	return r;
}

/* The request's transaction, made here if the script made none: an async
 * lookup answers statefully. 0, 1 when msg is a retransmission tm
 * absorbed, -1 when there is none. */
static int rdr_async_transaction(sip_msg_t *msg)
{
	tm_api_t *tmb = rdr_script_tm();
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

/* 1 when sip_lookup_async() can run: an I/O process to ask, core async
 * workers to resume in; else logged once per process. */
static int rdr_async_ready(void)
{
	if(rdr_async_io_count() > 0)
		return 1;
	if(atomic_get_and_set(&_rdr_async_shared->off_said, 1) == 0)
		LM_ERR("sip_lookup_async() is off: a KEMI script switches it on with "
			   "modparam(\"redisroute\", \"async_workers\", 1) and the "
			   "global async_workers; it answers -4 (said once)\n");
	return 0;
}

int rdr_async_lookup(sip_msg_t *msg, int ri, str *fn, str *key)
{
	static rdr_result_t res; /* scratch: a cache hit's answer */
	rdr_lookup_state_t st;
	rdr_async_req_t *req = NULL;
	tm_api_t *tmb = rdr_script_tm();
	unsigned int tindex, tlabel;
	str *user, nofn = {"", 0};
	int idx, rc;

	if(!rdr_async_ready())
		return RDR_NOT_APPLICABLE;
	if(fn != NULL && (fn->len <= 0 || fn->len > RDR_ASYNC_FN_MAX)) {
		LM_ERR("sip_lookup_async(): bad KEMI function name\n");
		return RDR_NOT_APPLICABLE;
	}
	if(!rdr_request_ok(msg, "sip_lookup_async", 0))
		return RDR_NOT_APPLICABLE;
	user = &msg->parsed_uri.user;
	if(key == NULL)
		key = user;
	if(user->len > RDR_URI_MAX) {
		LM_ERR("sip_lookup_async(): Request-URI user longer than %d bytes\n",
				RDR_URI_MAX);
		return RDR_NOT_APPLICABLE;
	}
	rc = rdr_async_transaction(msg);
	if(rc == 1)
		return 0; /* a retransmission: tm absorbed it */
	if(rc < 0)
		return RDR_UNAVAILABLE;
	if(tmb->t_suspend(msg, &tindex, &tlabel) < 0) {
		LM_ERR("sip_lookup_async(): cannot suspend the transaction\n");
		return RDR_UNAVAILABLE;
	}
	/* the cache, or a key that never matches: answered now */
	rdr_result_clear(&res);
	rc = rdr_lookup_begin(
			key, user, msg->parsed_uri.type == SIPS_URI_T, &res, &st);
	if(rc == 0) {
		idx = rdr_async_pick();
		if(idx >= 0)
			req = rdr_async_req_new(
					msg, tindex, tlabel, ri, fn, key, user, &st);
		if(req != NULL) {
			rdr_async_queue_put(idx, req);
			return 0;
		}
		rdr_stats_inc(RDR_STAT_ERRORS);
		rc = RDR_UNAVAILABLE;
		rdr_result_clear(&res);
	}
	if(rdr_async_push(tindex, tlabel, ri, fn ? fn : &nofn, key, user,
			   msg->parsed_uri.type == SIPS_URI_T, rdr_request_seed(msg), rc,
			   &res)
			== 0)
		return 0;
	/* nothing will resume it: the script goes on here */
	tmb->t_cancel_suspend(tindex, tlabel);
	return RDR_UNAVAILABLE;
}

/* sip_lookup_async(route [, key]): route a literal name, looked up here
 * once; the parameter becomes its index in main_rt */
int rdr_async_fixup(void **param, int param_no)
{
	int ri;

	if(param_no != 1)
		return fixup_spve_all(param, param_no);
	if(_rdr_async_nq == 0 || !async_task_workers_active()) {
		LM_ERR("sip_lookup_async() needs the tm module (loadmodule \"tm.so\" "
			   "before redisroute), the global parameter async_workers (the "
			   "core's async workers resume the requests), and modparam "
			   "async_workers not 0 (1 or more when the call is inside an "
			   "expression, where the module does not look for it)\n");
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
	return rdr_async_lookup(msg, (int)(long)route, NULL, NULL);
}

int w_sip_lookup_async2(sip_msg_t *msg, char *route, char *key)
{
	str k;

	if(fixup_get_svalue(msg, (gparam_t *)key, &k) < 0) {
		LM_ERR("cannot get the key\n");
		return RDR_NOT_APPLICABLE;
	}
	return rdr_async_lookup(msg, (int)(long)route, NULL, &k);
}

/* KEMI: the function named fn resumes */
int ki_sip_lookup_async(sip_msg_t *msg, str *fn)
{
	return rdr_async_lookup(msg, -1, fn, NULL);
}

int ki_sip_lookup_async_key(sip_msg_t *msg, str *fn, str *key)
{
	return rdr_async_lookup(msg, -1, fn, key);
}
