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
 * redisroute - a lookup's result: the validated targets of one key
 */

#ifndef _RDR_RESULT_H_
#define _RDR_RESULT_H_

#include "core/str.h"

#include "rdr_config.h"
#include "rdr_target.h"

typedef struct rdr_target
{
	str uri; /* NUL-terminated, points into the result's own buffer */
	int q;	 /* q-value in thousandths, -1 when the key has no scores */
} rdr_target_t;

typedef struct rdr_result
{
	int n;
	str key; /* the key that matched, without key_prefix (prefix matching:
			  * a prefix of the lookup key, or the default key) */
	char key_buf[RDR_KEY_MAX + 1];
	rdr_target_t t[RDR_TARGETS_MAX];
	char buf[RDR_TARGETS_MAX][RDR_URI_MAX];
} rdr_result_t;

/* No targets, no key: before a lookup writes into r. */
static inline void rdr_result_clear(rdr_result_t *r)
{
	r->n = 0;
	r->key.s = r->key_buf;
	r->key.len = 0;
}

/*
 * The packed form of an answer: what travels with a request (an XAVP that
 * tm keeps with the transaction, so that a failure route in tm's timer
 * process reads it) and from an async I/O process to the process that
 * resumes the request. One block: rdr_packed_hdr_t, the lookup key asked
 * for, the key that matched, then n times {int len; int q; uri; NUL}.
 */
typedef struct rdr_packed_hdr
{
	int rc;		   /* the lookup's return code */
	short n;	   /* targets (0 unless rc is RDR_OK) */
	short next;	   /* sip_forward_next(): the target it relays to next */
	short lkeylen; /* the lookup key asked for, without key_prefix */
	short keylen;  /* the key that matched (rdr_result_t.key) */
} rdr_packed_hdr_t;

/* The largest packed answer. */
#define RDR_PACKED_MAX                          \
	(sizeof(rdr_packed_hdr_t) + 2 * RDR_KEY_MAX \
			+ RDR_TARGETS_MAX * (2 * sizeof(int) + RDR_URI_MAX + 1))

/* A packed answer read in place: every str points into the block. */
typedef struct rdr_view
{
	int rc;
	int n;
	int next;
	str lkey;
	str key;
	rdr_target_t t[RDR_TARGETS_MAX];
} rdr_view_t;

/* Packs rc and res (its targets only for RDR_OK) for the lookup key lkey
 * into buf (size bytes), with next 1. Returns the length, or -1 when it
 * does not fit. */
int rdr_result_pack(
		char *buf, int size, const str *lkey, int rc, const rdr_result_t *res);

/* Reads a packed answer of len bytes into v (pointers into buf). Returns
 * 0, or -1 when the block is not a whole, consistent packed answer. */
int rdr_result_view(const char *buf, int len, rdr_view_t *v);

/* Sets the packed answer's next target (sip_forward_next()). */
void rdr_result_set_next(char *buf, int next);

#endif
