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

#ifndef _RDR_SIP_H_
#define _RDR_SIP_H_

#include "core/parser/msg_parser.h"
#include "core/pvar.h"
#include "core/str.h"

#include <stdint.h>

#include "rdr_lookup.h"

/*
 * the script functions, shared by the cfg and KEMI wrappers
 */

/* In mod_init: binds sl and tm; redirect_code: sip_redirect()'s code when
 * the script gives none (the redirect_code parameter, already checked);
 * failover_shorter: sip_forward_next() goes on with shorter prefixes (the
 * failover_shorter_prefix parameter). */
int rdr_script_init(int redirect_code, int failover_shorter);

/* The seed that orders msg's targets of equal priority (selection "hash":
 * its Call-ID's; 0 otherwise). */
uint64_t rdr_request_seed(sip_msg_t *msg);

/* Checks that msg is a request with a parsable R-URI and, unless
 * any_method, neither an ACK nor a CANCEL; says why not (fn: the function's
 * name). */
int rdr_request_ok(sip_msg_t *msg, const char *fn, int any_method);

/* sip_redirect(): key NULL means the Request-URI user; code 0 means the
 * redirect_code parameter. Returns 1 or a negative RDR_ code. */
int rdr_sip_redirect(sip_msg_t *msg, str *key, int code);

/* sip_forward(): rewrites the R-URI to the first target and relays
 * statefully; the other targets are kept with the transaction for
 * rdr_sip_forward_next(). key NULL means the Request-URI user. */
int rdr_sip_forward(sip_msg_t *msg, str *key);

/* sip_forward_next(): in a failure_route, relays to the next kept target.
 * Returns -1 when none is left. */
int rdr_sip_forward_next(sip_msg_t *msg);

/* sip_lookup(): resolves only; the answer is read with rdr_answer_get(). */
int rdr_sip_lookup(sip_msg_t *msg, str *key);

/* The request's answer: the last lookup made for it, by any function above
 * or by sip_lookup_async(), kept with the request (and its transaction), so
 * that it reads the same in request, branch, reply, failure and resumed
 * routes, in whichever process runs them. msg: the request being routed
 * (NULL in a tm callback, where only the transaction's answer counts). 1
 * with v filled (pointers into the kept answer, valid until the next lookup
 * for the request), 0 when the request has none. */
int rdr_answer_get(const sip_msg_t *msg, rdr_view_t *v);

/* Keeps a packed answer (rdr_result_pack()) with the current request,
 * replacing an earlier one. 0, or -1 (logged). */
int rdr_answer_keep(const char *packed, int len);

/* From child_init(PROC_INIT), after every module's mod_init: with tm,
 * registers the TMCB_REQUEST_IN callback that lets an answer stay in its
 * process until the request's transaction is made. 0. */
int rdr_script_hook_tm(void);

/* 1 when tm is loaded; its API. */
int rdr_script_have_tm(void);
struct tm_binds;
struct tm_binds *rdr_script_tm(void);

/*
 * $redisroute(...): the result of the last lookup
 */

/* $redisroute(count)            number of targets (0 after no route)
 * $redisroute(uri)              first target; $(redisroute(uri)[N]) the
 *                               N-th (from 0; negative counts from the end)
 * $redisroute(q)                its q-value ("0.5"); $null when it has none
 *                               (a string)
 * $redisroute(key)              the key that matched, without key_prefix
 * $redisroute(gw)               its gateway's NAME; $null for a plain target
 * $redisroute(attrs)            its gateway's attrs; $null when none
 */
int rdr_pv_parse_name(pv_spec_t *sp, str *in);
int rdr_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

#endif
