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
 * redisroute - the script functions (sip_redirect(), sip_forward(),
 * sip_forward_next(), sip_lookup()): SIP message -> lookup key -> targets ->
 * reply or relay. (The Lua lookup script that runs in Redis is rr_eval.c's.)
 */

#include <string.h>

#include "core/config.h"
#include "core/dset.h"
#include "core/globals.h"
#include "core/dprint.h"
#include "core/parser/parse_uri.h"
#include "core/xavp.h"
#include "modules/sl/sl.h"
#include "modules/tm/tm_load.h"

#include "redisroute.h"
#include "rr_script.h"
#include "rr_lookup.h"
#include "rr_stats.h"

static sl_api_t _rr_slb;
static tm_api_t _rr_tmb;
static int _rr_have_tm = 0;

/* The request's answer: one XAVP holding the packed answer (rr_result.h),
 * so that it travels with the request as dispatcher's destinations do: tm
 * moves the message's XAVPs into the transaction and sets them as the
 * current list in branch, reply and failure routes (tm's timer process
 * included) and in a resumed route. */
static str _rr_answer_xavp = str_init("_redisroute");

/* scratch, per process: where a lookup writes and is packed, within one
 * call; never read after it returns */
static rr_result_t _rr_scratch;
static char _rr_packed[RR_PACKED_MAX];

int rr_script_init(void)
{
	if(sl_load_api(&_rr_slb) != 0) {
		LM_ERR("cannot bind to the sl module (loadmodule \"sl.so\" before "
			   "redisroute)\n");
		return -1;
	}
	/* tm is optional: a pure redirect server does not need it */
	if(find_export("t_relay", 0, 0) != NULL) {
		if(load_tm_api(&_rr_tmb) != 0) {
			LM_ERR("cannot bind to the tm module\n");
			return -1;
		}
		_rr_have_tm = 1;
	}
	return 0;
}

/* Checks that msg is a request with a parsable R-URI and, unless any_method,
 * neither an ACK (never answered, never routed anew) nor a CANCEL (answered
 * and relayed by tm's own rules). */
int rr_request_ok(sip_msg_t *msg, const char *fn, int any_method)
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

int rr_answer_keep(const char *packed, int len)
{
	sr_xval_t val;

	xavp_rm_by_name(&_rr_answer_xavp, 1, NULL);
	memset(&val, 0, sizeof(val));
	val.type = SR_XTYPE_STR;
	val.v.s.s = (char *)packed;
	val.v.s.len = len;
	if(xavp_add_value(&_rr_answer_xavp, &val, NULL) == NULL) {
		LM_ERR("cannot keep the lookup's answer with the request\n");
		return -1;
	}
	return 0;
}

/* The request's answer XAVP, or NULL. */
static sr_xavp_t *rr_answer_xavp(void)
{
	sr_xavp_t *x = xavp_get(&_rr_answer_xavp, NULL);

	return (x != NULL && x->val.type == SR_XTYPE_STR) ? x : NULL;
}

int rr_answer_get(rr_view_t *v)
{
	sr_xavp_t *x = rr_answer_xavp();

	return x != NULL && rr_result_view(x->val.v.s.s, x->val.v.s.len, v) == 0;
}

/* The answer for key (NULL: the request's answer whatever its key, or the
 * R-URI user's): the request's own when it has one for that key (no second
 * lookup: an async lookup's answer in its resume route, a sip_lookup()'s
 * in a later sip_redirect()), otherwise a lookup, kept with the request.
 * v points into the kept answer, or into this process's scratch when it
 * could not be kept. Returns the answer's return code. */
static int rr_resolve(sip_msg_t *msg, str *key, rr_view_t *v)
{
	str *user = &msg->parsed_uri.user;
	str *lkey = key ? key : user;
	int sips = (msg->parsed_uri.type == SIPS_URI_T);
	int rc, len;

	if(rr_answer_get(v)
			&& (key == NULL
					|| (v->lkey.len == lkey->len
							&& memcmp(v->lkey.s, lkey->s, lkey->len) == 0)))
		return v->rc;
	rc = rr_lookup(lkey, user, sips, &_rr_scratch);
	len = rr_result_pack(
			_rr_packed, sizeof(_rr_packed), lkey, rc, &_rr_scratch);
	if(len < 0) {
		LM_BUG("an answer does not fit its packed form\n");
		return RR_BAD_DATA;
	}
	if(rr_answer_keep(_rr_packed, len) < 0 || !rr_answer_get(v))
		rr_result_view(_rr_packed, len, v);
	return rc;
}

int rr_script_have_tm(void)
{
	return _rr_have_tm;
}

tm_api_t *rr_script_tm(void)
{
	return &_rr_tmb;
}

static str rr_reason(int code)
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
static int rr_contact_len(const rr_target_t *t)
{
	return t->uri.len + 2 + (t->q >= 0 ? 8 : 0) + 2 + 16;
}

/* Puts the first n targets into the destination set. sl and tm print exactly
 * that set as the Contacts of a 3xx reply: the new R-URI if the script set
 * one, then the branches; so nothing the script set before can slip into the
 * reply beside the targets. */
static int rr_set_dset(sip_msg_t *msg, const rr_view_t *res, int n)
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
static int rr_redirect_fit(sip_msg_t *msg, const str *key, const rr_view_t *res)
{
	int i, len = (int)sizeof("Contact: \r\n ");
	int slots = (int)sr_dst_max_branches - 1 + (msg->new_uri.s != NULL);

	for(i = 0; i < res->n; i++) {
		if(i == slots) {
			rr_lookup_report(key, res->t[i].uri.s, res->t[i].uri.len,
					"more targets than the core's max_branches allows; it and "
					"the targets after it are left out");
			return i;
		}
		len += rr_contact_len(&res->t[i]);
		if(len > MAX_REDIRECTION_LEN) {
			rr_lookup_report(key, res->t[i].uri.s, res->t[i].uri.len,
					"does not fit in the redirect's Contact header "
					"(MAX_REDIRECTION_LEN); it and the targets after it "
					"are left out");
			return i;
		}
	}
	return res->n;
}

int rr_sip_redirect(sip_msg_t *msg, str *key, int code)
{
	rr_view_t v;
	str reason;
	int ret, n;

	if(code == 0)
		code = redisroute_redirect_code;
	if(code < 300 || code > 399) {
		LM_ERR("sip_redirect(): reply code %d is not a 3xx code\n", code);
		return RR_NOT_APPLICABLE;
	}
	if(!rr_request_ok(msg, "sip_redirect", 0))
		return RR_NOT_APPLICABLE;

	ret = rr_resolve(msg, key, &v);
	if(ret != RR_OK)
		return ret;

	n = rr_redirect_fit(msg, &v.key, &v);
	if(n == 0)
		return RR_BAD_DATA;
	if(rr_set_dset(msg, &v, n) < 0) {
		LM_ERR("sip_redirect(): cannot set the destination set\n");
		return RR_RELAY_FAILED;
	}
	reason = rr_reason(code);
	/* freply: stateless, or through the transaction if the script made
	 * one; both print the destination set as the Contacts of a 3xx */
	if(_rr_slb.freply(msg, code, &reason) < 0) {
		LM_ERR("sip_redirect(): cannot send the %d reply\n", code);
		return RR_RELAY_FAILED;
	}
	rr_stats_inc(RR_STAT_REDIRECTS);
	return RR_OK;
}

/* Relays msg to uri through tm, the R-URI rewritten to it and no other
 * branch (branches the script added before would fork the call to
 * destinations that are not the route). */
static int rr_relay(sip_msg_t *msg, str *uri, const char *fn)
{
	clear_branches();
	if(rewrite_uri(msg, uri) < 0) {
		LM_ERR("%s(): cannot rewrite the Request-URI\n", fn);
		return RR_RELAY_FAILED;
	}
	if(_rr_tmb.t_relay(msg, NULL, NULL) < 0) {
		LM_ERR("%s(): tm could not relay to %.*s\n", fn, uri->len, uri->s);
		return RR_RELAY_FAILED;
	}
	return RR_OK;
}

static int rr_forward_ok(sip_msg_t *msg, const char *fn)
{
	if(!_rr_have_tm) {
		LM_ERR("%s() needs the tm module (loadmodule \"tm.so\" before "
			   "redisroute)\n",
				fn);
		return 0;
	}
	return rr_request_ok(msg, fn, 0);
}

/* Sets the next target sip_forward_next() relays to, in the request's
 * answer. */
static void rr_answer_set_next(int next)
{
	sr_xavp_t *x = rr_answer_xavp();

	if(x != NULL)
		rr_result_set_next(x->val.v.s.s, next);
}

int rr_sip_forward(sip_msg_t *msg, str *key)
{
	rr_view_t v;
	int ret;

	if(!rr_forward_ok(msg, "sip_forward"))
		return RR_NOT_APPLICABLE;
	ret = rr_resolve(msg, key, &v);
	if(ret != RR_OK)
		return ret;
	/* the others are kept, in the answer, for sip_forward_next() */
	rr_answer_set_next(1);
	ret = rr_relay(msg, &v.t[0].uri, "sip_forward");
	if(ret == RR_OK)
		rr_stats_inc(RR_STAT_FORWARDS);
	return ret;
}

int rr_sip_forward_next(sip_msg_t *msg)
{
	rr_view_t v;

	if(!rr_forward_ok(msg, "sip_forward_next"))
		return RR_NOT_APPLICABLE;
	if(!rr_answer_get(&v) || v.rc != RR_OK || v.next >= v.n)
		return RR_NO_ROUTE;
	rr_answer_set_next(v.next + 1);
	rr_stats_inc(RR_STAT_FAILOVERS);
	return rr_relay(msg, &v.t[v.next].uri, "sip_forward_next");
}

int rr_sip_lookup(sip_msg_t *msg, str *key)
{
	rr_view_t v;

	if(!rr_request_ok(msg, "sip_lookup", 1))
		return RR_NOT_APPLICABLE;
	return rr_resolve(msg, key, &v);
}
