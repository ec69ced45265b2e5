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
 * redisroute - the script functions, shared by the cfg and KEMI wrappers
 */

#ifndef _RR_SCRIPT_H_
#define _RR_SCRIPT_H_

#include "core/parser/msg_parser.h"
#include "core/str.h"

#include "rr_lookup.h"

/* In mod_init: binds sl and tm. */
int rr_script_init(void);

/* Checks that msg is a request with a parsable R-URI and, unless
 * any_method, neither an ACK nor a CANCEL; says why not (fn: the function's
 * name). */
int rr_request_ok(sip_msg_t *msg, const char *fn, int any_method);

/* sip_redirect(): key NULL means the Request-URI user; code 0 means the
 * redirect_code parameter. Returns 1 or a negative RR_ code. */
int rr_sip_redirect(sip_msg_t *msg, str *key, int code);

/* sip_forward(): rewrites the R-URI to the first target and relays
 * statefully; the other targets are kept with the transaction for
 * rr_sip_forward_next(). key NULL means the Request-URI user. */
int rr_sip_forward(sip_msg_t *msg, str *key);

/* sip_forward_next(): in a failure_route, relays to the next kept target.
 * Returns -1 when none is left. */
int rr_sip_forward_next(sip_msg_t *msg);

/* sip_lookup(): resolves only; the result is read with
 * rr_last_result(). */
int rr_sip_lookup(sip_msg_t *msg, str *key);

/* The targets of the last resolve done for msg in this process (by any of
 * the functions above), or NULL. */
const rr_result_t *rr_last_result(sip_msg_t *msg);

/* The return code of that resolve: 1 and *rc, or 0 when there is none. */
int rr_last_rc(sip_msg_t *msg, int *rc);

/* For async lookups (rr_async.c): the slot the answer is written into,
 * and the route that resumes with it: between rr_script_resume_begin(rc)
 * and rr_script_resume_end(), every function above answers rc and the
 * slot's targets without a lookup of its own, and rr_last_result() is the
 * slot, whatever the message (tm resumes with a message of its own). */
rr_result_t *rr_script_result(void);
void rr_script_resume_begin(int rc);
void rr_script_resume_end(void);
/* 1 when tm is loaded; its API. */
int rr_script_have_tm(void);
struct tm_binds;
struct tm_binds *rr_script_tm(void);

#endif
