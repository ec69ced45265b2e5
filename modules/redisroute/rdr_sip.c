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
 * redisroute - the SIP side of a lookup: the script functions (sip_redirect(),
 * sip_forward(), sip_forward_next(), sip_lookup()) take a SIP message to its
 * lookup key, keep the answer with the request (XAVP), and reply with it or
 * relay to it; $redisroute(...) reads that answer
 */

#include <string.h>

#include "core/config.h"
#include "core/dprint.h"
#include "core/dset.h"
#include "core/globals.h"
#include "core/parser/parse_uri.h"
#include "core/parser/msg_parser.h"
#include "core/pvar.h"
#include "core/route.h"
#include "core/script_cb.h"
#include "core/xavp.h"
#include "modules/sl/sl.h"
#include "modules/tm/h_table.h"
#include "modules/tm/tm_load.h"

#include "rdr_gw.h"
#include "rdr_health.h"
#include "rdr_lookup.h"
#include "rdr_select.h"
#include "rdr_sip.h"
#include "rdr_stats.h"
#include "redisroute.h"

/*
 * the script functions (sip_redirect(), sip_forward(),
 * sip_forward_next(), sip_lookup()): SIP message -> lookup key -> targets ->
 * reply or relay. (The Lua lookup script that runs in Redis is rdr_eval.c's.)
 */

/* the redirect_code parameter, handed over by rdr_script_init() (so that no
 * file reads back into redisroute_mod.c, which calls this one) */
static int _rdr_redirect_code = 302;
/* failover_shorter_prefix: sip_forward_next() goes on with shorter prefixes */
static int _rdr_failover_shorter = 0;

static sl_api_t _rdr_slb;
static tm_api_t _rdr_tmb;
static int _rdr_have_tm = 0;

/* The request's answer: one XAVP holding the packed answer (rdr_targets.h),
 * so that it travels with the request as dispatcher's destinations do: tm
 * moves the message's XAVPs into the transaction and sets them as the
 * current list in branch, reply and failure routes (tm's timer process
 * included) and in a resumed route. */
static str _rdr_answer_xavp = str_init("_redisroute");

/* The answer of a request in its request route before tm has made a
 * transaction of it: the request cannot reach another process yet (every
 * way there, t_relay(), t_suspend() and what calls them, makes the
 * transaction first), so the answer stays in this process, without the
 * XAVP's shared-memory allocation per lookup, until tm's TMCB_REQUEST_IN
 * moves it into the XAVP (the message's XAVPs are the new transaction's by
 * then). Tagged with its message; dropped when the request route ends. */
typedef struct rdr_local_answer
{
	const sip_msg_t *msg;
	unsigned int id;
	int pid;
	int len; /* 0: none */
	char packed[RDR_PACKED_MAX];
} rdr_local_answer_t;
static rdr_local_answer_t _rdr_local;
/* 1 where an answer may stay local: tm is not loaded, or its
 * TMCB_REQUEST_IN hook is in place (rdr_script_hook_tm()) */
static int _rdr_local_on = 0;
/* failover_shorter_prefix: the targets a request has been relayed to, one
 * value each, so that a shorter prefix's answer leaves them out */
static str _rdr_tried_xavp = str_init("_redisroute_tried");

/* scratch, per process: where a lookup writes and is packed, within one
 * call; never read after it returns */
static rdr_result_t _rdr_scratch;
static char _rdr_packed[RDR_PACKED_MAX];

/* 1 when msg's answer is the local one. */
static int rdr_local_is(const sip_msg_t *msg)
{
	return _rdr_local.len > 0 && msg != NULL && _rdr_local.msg == msg
		   && _rdr_local.id == msg->id && _rdr_local.pid == msg->pid;
}

/* Keeps msg's answer locally when msg cannot leave this process before tm
 * makes its transaction (see rdr_local_answer_t). 0, or -1: the XAVP it
 * must be. */
static int rdr_local_keep(sip_msg_t *msg, const char *packed, int len)
{
	struct cell *t;

	if(!_rdr_local_on || get_route_type() != REQUEST_ROUTE || len <= 0
			|| len > (int)sizeof(_rdr_local.packed))
		return -1;
	if(_rdr_have_tm) {
		t = _rdr_tmb.t_gett();
		if(t != NULL && t != T_UNDEFINED)
			return -1;
	}
	memcpy(_rdr_local.packed, packed, len);
	_rdr_local.msg = msg;
	_rdr_local.id = msg->id;
	_rdr_local.pid = msg->pid;
	_rdr_local.len = len;
	return 0;
}

/* tm, making a transaction of a request (its XAVPs already the
 * transaction's): the request's local answer goes into the XAVP, where its
 * later routes find it in any process. */
static void rdr_local_to_xavp(struct cell *t, int type, struct tmcb_params *ps)
{
	if(rdr_local_is(ps->req))
		rdr_answer_keep(_rdr_local.packed, _rdr_local.len);
}

/* The request route has ended: its local answer, if any, with it. */
static int rdr_local_drop(sip_msg_t *msg, unsigned int flags, void *param)
{
	_rdr_local.len = 0;
	return 1;
}

int rdr_script_init(int redirect_code, int failover_shorter)
{
	_rdr_redirect_code = redirect_code;
	_rdr_failover_shorter = failover_shorter;
	if(sl_load_api(&_rdr_slb) != 0) {
		LM_ERR("cannot bind to the sl module (loadmodule \"sl.so\" before "
			   "redisroute)\n");
		return -1;
	}
	/* tm is optional: a pure redirect server does not need it */
	if(find_export("t_relay", 0, 0) != NULL) {
		if(load_tm_api(&_rdr_tmb) != 0) {
			LM_ERR("cannot bind to the tm module\n");
			return -1;
		}
		_rdr_have_tm = 1;
	}
	if(register_script_cb(rdr_local_drop, POST_SCRIPT_CB | REQUEST_CB, 0)
			< 0) {
		LM_ERR("cannot register the post-script callback\n");
		return -1;
	}
	_rdr_local_on = !_rdr_have_tm;
	return 0;
}

int rdr_script_hook_tm(void)
{
	if(!_rdr_have_tm)
		return 0;
	if(_rdr_tmb.register_tmcb(0, 0, TMCB_REQUEST_IN, rdr_local_to_xavp, 0, 0)
			<= 0) {
		/* every answer then goes to the XAVP at once, as it always may */
		LM_WARN("cannot register a TMCB_REQUEST_IN callback: each answer "
				"is kept in shared memory\n");
		return 0;
	}
	_rdr_local_on = 1;
	return 0;
}

/* Checks that msg is a request with a parsable R-URI and, unless any_method,
 * neither an ACK (never answered, never routed anew) nor a CANCEL (answered
 * and relayed by tm's own rules). */
int rdr_request_ok(sip_msg_t *msg, const char *fn, int any_method)
{
	if(msg->first_line.type != SIP_REQUEST) {
		LM_ERR("%s() called for a reply\n", fn);
		return 0;
	}
	if(!any_method
			&& (msg->first_line.u.request.method_value == METHOD_ACK
					|| msg->first_line.u.request.method_value
							   == METHOD_CANCEL)) {
		LM_DBG("%s() not applicable to %.*s\n", fn,
				msg->first_line.u.request.method.len,
				msg->first_line.u.request.method.s);
		return 0;
	}
	if(parse_sip_msg_uri(msg) < 0) {
		LM_ERR("%s(): cannot parse the Request-URI\n", fn);
		return 0;
	}
	return 1;
}

int rdr_answer_keep(const char *packed, int len)
{
	sr_xval_t val;

	/* this one is the answer now, wherever the request is */
	_rdr_local.len = 0;
	xavp_rm_by_name(&_rdr_answer_xavp, 1, NULL);
	memset(&val, 0, sizeof(val));
	val.type = SR_XTYPE_STR;
	val.v.s.s = (char *)packed;
	val.v.s.len = len;
	if(xavp_add_value(&_rdr_answer_xavp, &val, NULL) == NULL) {
		LM_ERR("cannot keep the lookup's answer with the request\n");
		return -1;
	}
	return 0;
}

/* The request's answer XAVP, or NULL. */
static sr_xavp_t *rdr_answer_xavp(void)
{
	sr_xavp_t *x = xavp_get(&_rdr_answer_xavp, NULL);

	return (x != NULL && x->val.type == SR_XTYPE_STR) ? x : NULL;
}

int rdr_answer_get(const sip_msg_t *msg, rdr_view_t *v)
{
	sr_xavp_t *x;

	if(rdr_local_is(msg))
		return rdr_result_view(_rdr_local.packed, _rdr_local.len, v) == 0;
	x = rdr_answer_xavp();
	return x != NULL && rdr_result_view(x->val.v.s.s, x->val.v.s.len, v) == 0;
}

uint64_t rdr_request_seed(sip_msg_t *msg)
{
	/* only selection "hash" reads it: no Call-ID parsing otherwise */
	if(rdr_gw_selection() != RDR_SELECT_HASH)
		return 0;
	if(msg->callid == NULL
			&& (parse_headers(msg, HDR_CALLID_F, 0) < 0 || msg->callid == NULL))
		return 0;
	return rdr_select_seed(msg->callid->body.s, msg->callid->body.len);
}

/* 1 when uri is among the request's tried targets. */
static int rdr_tried(const str *uri)
{
	sr_xavp_t *x;

	for(x = xavp_get(&_rdr_tried_xavp, NULL); x != NULL; x = xavp_get_next(x))
		if(x->val.type == SR_XTYPE_STR && x->val.v.s.len == uri->len
				&& memcmp(x->val.v.s.s, uri->s, uri->len) == 0)
			return 1;
	return 0;
}

/* Leaves the tried targets out of res (failover_shorter_prefix). Returns
 * the answer's code. */
static int rdr_untried(int rc, rdr_result_t *res)
{
	int i, n = 0;

	if(rc != RDR_OK)
		return rc;
	for(i = 0; i < res->n; i++)
		if(!rdr_tried(&res->t[i].uri))
			res->t[n++] = res->t[i];
	res->n = n;
	return n > 0 ? RDR_OK : RDR_NO_ROUTE;
}

/* Looks key up for msg and keeps the answer with the request; v: this
 * process's scratch copy of it. untried: the targets already tried are
 * left out. Returns the answer's code. */
static int rdr_lookup_keep(sip_msg_t *msg, str *lkey, int untried, rdr_view_t *v)
{
	str *user = &msg->parsed_uri.user;
	int sips = (msg->parsed_uri.type == SIPS_URI_T);
	int rc, len;

	rc = rdr_lookup(lkey, user, sips, rdr_request_seed(msg), &_rdr_scratch);
	if(untried)
		rc = rdr_untried(rc, &_rdr_scratch);
	len = rdr_result_pack(
			_rdr_packed, sizeof(_rdr_packed), lkey, rc, &_rdr_scratch);
	if(len < 0) {
		LM_BUG("an answer does not fit its packed form\n");
		return RDR_BAD_DATA;
	}
	/* kept for the request's later routes; this call reads its own copy
	 * (the same bytes: no second search) */
	if(rdr_local_keep(msg, _rdr_packed, len) < 0)
		rdr_answer_keep(_rdr_packed, len);
	rdr_result_view(_rdr_packed, len, v);
	return rc;
}

/* The answer for key (NULL: the request's answer whatever its key, or the
 * R-URI user's): the request's own when it has one for that key (no second
 * lookup: an async lookup's answer in its resume route, a sip_lookup()'s
 * in a later sip_redirect()), otherwise a lookup, kept with the request.
 * v points into the kept answer when there was one, else into this
 * process's scratch copy of the new one (valid until the next lookup
 * here). Returns the answer's return code. */
static int rdr_resolve(sip_msg_t *msg, str *key, rdr_view_t *v)
{
	str *lkey = key ? key : &msg->parsed_uri.user;

	if(rdr_answer_get(msg, v)
			&& (key == NULL
					|| (v->lkey.len == lkey->len
							&& memcmp(v->lkey.s, lkey->s, lkey->len) == 0)))
		return v->rc;
	return rdr_lookup_keep(msg, lkey, 0, v);
}

int rdr_script_have_tm(void)
{
	return _rdr_have_tm;
}

tm_api_t *rdr_script_tm(void)
{
	return &_rdr_tmb;
}

static str rdr_reason(int code)
{
	static str r300 = str_init("Multiple Choices");
	static str r301 = str_init("Moved Permanently");
	static str r302 = str_init("Moved Temporarily");
	static str r305 = str_init("Use Proxy");
	static str r380 = str_init("Alternative Service");
	static str rany = str_init("Redirection");

	switch(code) {
		case 300:
			return r300;
		case 301:
			return r301;
		case 302:
			return r302;
		case 305:
			return r305;
		case 380:
			return r380;
		default:
			return rany;
	}
}

/* Length print_dset() needs for one target: "<uri>;q=0.123, " plus room for
 * sl/tm's rich_redirect extras. */
static int rdr_contact_len(const rdr_target_t *t)
{
	return t->uri.len + 2 + (t->q >= 0 ? 8 : 0) + 2 + 16;
}

/* Puts the first n targets into the destination set. sl and tm print exactly
 * that set as the Contacts of a 3xx reply: the new R-URI if the script set
 * one, then the branches; so nothing the script set before can slip into the
 * reply beside the targets. */
static int rdr_set_dset(sip_msg_t *msg, const rdr_view_t *res, int n)
{
	str uri;
	int i = 0;

	clear_branches();
	if(msg->new_uri.s != NULL) {
		/* the script rewrote the R-URI: it would be printed, make it ours */
		uri = res->t[0].uri;
		if(rewrite_uri(msg, &uri) < 0)
			return -1;
		set_ruri_q(res->t[0].q >= 0 ? res->t[0].q : Q_UNSPECIFIED);
		i = 1;
	}
	/* otherwise branches only: no allocation (the R-URI is not printed) */
	for(; i < n; i++) {
		uri = res->t[i].uri;
		if(km_append_branch(msg, &uri, 0, 0,
				   res->t[i].q >= 0 ? res->t[i].q : Q_UNSPECIFIED, 0, 0)
				< 0)
			return -1;
	}
	return 0;
}

/* How many targets, in priority order, one redirect can carry: what fits in
 * the core's Contact header (MAX_REDIRECTION_LEN; print_dset() would drop
 * them all otherwise) and in its destination set (max_branches). */
static int rdr_redirect_fit(
		sip_msg_t *msg, const str *key, const rdr_view_t *res)
{
	int i, len = (int)sizeof("Contact: \r\n ");
	int slots = (int)sr_dst_max_branches - 1 + (msg->new_uri.s != NULL);

	for(i = 0; i < res->n; i++) {
		if(i == slots) {
			rdr_lookup_report(key, res->t[i].uri.s, res->t[i].uri.len,
					"more targets than the core's max_branches allows; it and "
					"the targets after it are left out");
			return i;
		}
		len += rdr_contact_len(&res->t[i]);
		if(len > MAX_REDIRECTION_LEN) {
			rdr_lookup_report(key, res->t[i].uri.s, res->t[i].uri.len,
					"does not fit in the redirect's Contact header "
					"(MAX_REDIRECTION_LEN); it and the targets after it "
					"are left out");
			return i;
		}
	}
	return res->n;
}

int rdr_sip_redirect(sip_msg_t *msg, str *key, int code)
{
	rdr_view_t v;
	str reason;
	int ret, n;

	if(code == 0)
		code = _rdr_redirect_code;
	if(code < 300 || code > 399) {
		LM_ERR("sip_redirect(): reply code %d is not a 3xx code\n", code);
		return RDR_NOT_APPLICABLE;
	}
	if(!rdr_request_ok(msg, "sip_redirect", 0))
		return RDR_NOT_APPLICABLE;

	ret = rdr_resolve(msg, key, &v);
	if(ret != RDR_OK)
		return ret;

	n = rdr_redirect_fit(msg, &v.key, &v);
	if(n == 0)
		return RDR_BAD_DATA;
	if(rdr_set_dset(msg, &v, n) < 0) {
		LM_ERR("sip_redirect(): cannot set the destination set\n");
		return RDR_RELAY_FAILED;
	}
	reason = rdr_reason(code);
	/* freply: stateless, or through the transaction if the script made
	 * one; both print the destination set as the Contacts of a 3xx */
	if(_rdr_slb.freply(msg, code, &reason) < 0) {
		LM_ERR("sip_redirect(): cannot send the %d reply\n", code);
		return RDR_RELAY_FAILED;
	}
	rdr_stats_inc(RDR_STAT_REDIRECTS);
	return RDR_OK;
}

/* Relays msg to uri through tm, the R-URI rewritten to it and no other
 * branch (branches the script added before would fork the call to
 * destinations that are not the route). */
static int rdr_relay(sip_msg_t *msg, str *uri, const char *fn)
{
	clear_branches();
	if(rewrite_uri(msg, uri) < 0) {
		LM_ERR("%s(): cannot rewrite the Request-URI\n", fn);
		return RDR_RELAY_FAILED;
	}
	if(_rdr_tmb.t_relay(msg, NULL, NULL) < 0) {
		LM_ERR("%s(): tm could not relay to %.*s\n", fn, uri->len, uri->s);
		return RDR_RELAY_FAILED;
	}
	return RDR_OK;
}

static int rdr_forward_ok(sip_msg_t *msg, const char *fn)
{
	if(!_rdr_have_tm) {
		LM_ERR("%s() needs the tm module (loadmodule \"tm.so\" before "
			   "redisroute)\n",
				fn);
		return 0;
	}
	return rdr_request_ok(msg, fn, 0);
}

/* Sets the next target sip_forward_next() relays to, in the request's
 * answer. */
static void rdr_answer_set_next(const sip_msg_t *msg, int next)
{
	sr_xavp_t *x;

	if(rdr_local_is(msg)) {
		rdr_result_set_next(_rdr_local.packed, next);
		return;
	}
	x = rdr_answer_xavp();
	if(x != NULL)
		rdr_result_set_next(x->val.v.s.s, next);
}

static int rdr_forward_shorter(
		sip_msg_t *msg, rdr_view_t *v, const char *fn);

/* tm, before the failure route (the transaction's XAVPs current): the
 * gateway the request was last relayed to answered 408 or 503, or did not
 * answer; the passive signal of its health. */
static void rdr_relay_failed(struct cell *t, int type, struct tmcb_params *ps)
{
	rdr_view_t v;
	int flags;

	/* the transaction exists: the answer is in its XAVP */
	if(!rdr_answer_get(NULL, &v) || v.rc != RDR_OK || v.next < 1
			|| v.next > v.n)
		return;
	/* a timeout after a provisional reply is a callee that did not answer,
	 * not a dead gateway: only a branch that heard nothing, or the
	 * gateway's own 408 or 503, counts */
	if(t != NULL && t->nr_of_outgoings > 0) {
		flags = t->uac[t->nr_of_outgoings - 1].request.flags;
		if((flags & F_RB_TIMEOUT) && (flags & F_RB_REPLIED))
			return;
	}
	if(v.t[v.next - 1].gw.len > 0)
		rdr_health_passive(&v.t[v.next - 1].gw, ps->code);
}

int rdr_sip_forward(sip_msg_t *msg, str *key)
{
	rdr_view_t v;
	int ret;

	if(!rdr_forward_ok(msg, "sip_forward"))
		return RDR_NOT_APPLICABLE;
	ret = rdr_resolve(msg, key, &v);
	/* a longest prefix whose targets are all out (bad, drained) */
	if(_rdr_failover_shorter && v.key.len > 0
			&& (ret == RDR_BAD_DATA || ret == RDR_NO_ROUTE))
		return rdr_forward_shorter(msg, &v, "sip_forward");
	if(ret != RDR_OK)
		return ret;
	/* the others are kept, in the answer, for sip_forward_next() */
	rdr_answer_set_next(msg, 1);
	ret = rdr_relay(msg, &v.t[0].uri, "sip_forward");
	if(ret != RDR_OK)
		return ret;
	rdr_stats_inc(RDR_STAT_FORWARDS);
	/* the failures of the gateways it relays to count for their health */
	if(rdr_health_passive_on()
			&& _rdr_tmb.register_tmcb(
					   msg, 0, TMCB_ON_FAILURE, rdr_relay_failed, 0, 0)
					   <= 0)
		LM_DBG("sip_forward(): no passive health signal for this call\n");
	return ret;
}

/* Notes the targets of v as tried (failover_shorter_prefix). */
static void rdr_note_tried(const rdr_view_t *v)
{
	sr_xval_t val;
	int i;

	for(i = 0; i < v->n; i++) {
		if(rdr_tried(&v->t[i].uri))
			continue;
		memset(&val, 0, sizeof(val));
		val.type = SR_XTYPE_STR;
		val.v.s = v->t[i].uri;
		if(xavp_add_value(&_rdr_tried_xavp, &val, NULL) == NULL)
			LM_ERR("cannot note a tried target with the request\n");
	}
}

/* failover_shorter_prefix: no target of the prefix v matched is left (all
 * tried, or none usable); the next shorter existing prefix of the lookup
 * key (then the default key) becomes the request's answer, without the
 * targets already tried, and its first target is relayed to. A prefix
 * with nothing new is passed over. */
static int rdr_forward_shorter(sip_msg_t *msg, rdr_view_t *v, const char *fn)
{
	char buf[RDR_KEY_MAX];
	str key = {buf, 0};
	int rc, tries;

	for(tries = 0; tries < RDR_CANDIDATES_MAX; tries++) {
		/* only a prefix of the lookup key has shorter ones; the default
		 * key comes last */
		if(!rdr_lookup_prefix_mode() || v->key.len <= 1
				|| v->key.len > v->lkey.len
				|| memcmp(v->key.s, v->lkey.s, v->key.len) != 0)
			return RDR_NO_ROUTE;
		rdr_note_tried(v);
		memcpy(buf, v->key.s, v->key.len - 1);
		key.len = v->key.len - 1;
		rc = rdr_lookup_keep(msg, &key, 1, v);
		if(rc == RDR_OK) {
			rdr_answer_set_next(msg, 1);
			rdr_stats_inc(RDR_STAT_FAILOVERS);
			return rdr_relay(msg, &v->t[0].uri, fn);
		}
		/* nothing new here, or nothing usable: shorter still, while this
		 * answer names the key it matched */
		if((rc != RDR_BAD_DATA && rc != RDR_NO_ROUTE) || v->key.len == 0)
			return rc;
	}
	return RDR_NO_ROUTE;
}

int rdr_sip_forward_next(sip_msg_t *msg)
{
	rdr_view_t v;

	if(!rdr_forward_ok(msg, "sip_forward_next"))
		return RDR_NOT_APPLICABLE;
	if(!rdr_answer_get(msg, &v) || v.rc != RDR_OK)
		return RDR_NO_ROUTE;
	if(v.next >= v.n)
		return _rdr_failover_shorter
					   ? rdr_forward_shorter(msg, &v, "sip_forward_next")
					   : RDR_NO_ROUTE;
	rdr_answer_set_next(msg, v.next + 1);
	rdr_stats_inc(RDR_STAT_FAILOVERS);
	return rdr_relay(msg, &v.t[v.next].uri, "sip_forward_next");
}

int rdr_sip_lookup(sip_msg_t *msg, str *key)
{
	rdr_view_t v;

	if(!rdr_request_ok(msg, "sip_lookup", 1))
		return RDR_NOT_APPLICABLE;
	return rdr_resolve(msg, key, &v);
}

/*
 * $redisroute(...): the result of the last lookup
 */

enum rdr_pv_field
{
	RDR_PV_COUNT = 0,
	RDR_PV_URI,
	RDR_PV_Q,
	RDR_PV_KEY,
	RDR_PV_RC,
	RDR_PV_GW,
	RDR_PV_ATTRS
};

int rdr_pv_parse_name(pv_spec_t *sp, str *in)
{
	int field;

	if(sp == NULL || in == NULL || in->len <= 0)
		return -1;
	if(in->len == 5 && strncmp(in->s, "count", 5) == 0)
		field = RDR_PV_COUNT;
	else if(in->len == 3 && strncmp(in->s, "uri", 3) == 0)
		field = RDR_PV_URI;
	else if(in->len == 1 && in->s[0] == 'q')
		field = RDR_PV_Q;
	else if(in->len == 3 && strncmp(in->s, "key", 3) == 0)
		field = RDR_PV_KEY;
	else if(in->len == 2 && strncmp(in->s, "rc", 2) == 0)
		field = RDR_PV_RC;
	else if(in->len == 2 && strncmp(in->s, "gw", 2) == 0)
		field = RDR_PV_GW;
	else if(in->len == 5 && strncmp(in->s, "attrs", 5) == 0)
		field = RDR_PV_ATTRS;
	else {
		LM_ERR("unknown $redisroute(%.*s): use count, uri, q, key, rc, gw or "
			   "attrs\n",
				in->len, in->s);
		return -1;
	}
	sp->pvp.pvn.type = PV_NAME_INTSTR;
	sp->pvp.pvn.u.isname.type = 0;
	sp->pvp.pvn.u.isname.name.n = field;
	return 0;
}

int rdr_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	static char qbuf[8];
	rdr_view_t v;
	int field = param->pvn.u.isname.name.n;
	int idx = 0, idxf = 0;
	str q;

	if(!rdr_answer_get(msg, &v)) {
		if(field == RDR_PV_COUNT)
			return pv_get_sintval(msg, param, res, 0);
		return pv_get_null(msg, param, res);
	}
	if(field == RDR_PV_RC)
		return pv_get_sintval(msg, param, res, v.rc);
	if(field == RDR_PV_COUNT)
		return pv_get_sintval(msg, param, res, v.n);
	if(field == RDR_PV_KEY) {
		if(v.key.len == 0)
			return pv_get_null(msg, param, res);
		return pv_get_strval(msg, param, res, &v.key);
	}
	if(v.n == 0)
		return pv_get_null(msg, param, res);
	if(pv_get_spec_index(msg, param, &idx, &idxf) != 0) {
		LM_ERR("invalid index\n");
		return pv_get_null(msg, param, res);
	}
	if(idx < 0)
		idx += v.n;
	if(idx < 0 || idx >= v.n)
		return pv_get_null(msg, param, res);
	if(field == RDR_PV_URI)
		return pv_get_strval(msg, param, res, &v.t[idx].uri);
	if(field == RDR_PV_GW || field == RDR_PV_ATTRS) {
		str *s = field == RDR_PV_GW ? &v.t[idx].gw : &v.t[idx].attrs;
		if(s->len == 0)
			return pv_get_null(msg, param, res);
		return pv_get_strval(msg, param, res, s);
	}
	if(v.t[idx].q < 0)
		return pv_get_null(msg, param, res);
	q.s = qbuf;
	q.len = rdr_qvalue_format(v.t[idx].q, qbuf);
	return pv_get_strval(msg, param, res, &q);
}
