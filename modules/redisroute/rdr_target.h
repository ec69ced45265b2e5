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
 * redisroute - target parsing and validation (pure: libc only)
 *
 * A route target read from Redis is hostile input. These functions turn one
 * raw target into the URI that may go on the wire, or say why it must not.
 */

#ifndef _RDR_TARGET_H_
#define _RDR_TARGET_H_

/* Kamailio's MAX_URI_SIZE (core/config.h), checked at compile time in
 * rdr_lookup.c so that the two cannot drift apart. It counts the terminating
 * NUL: the core (append_branch) takes URIs of at most RDR_URI_MAX - 1 bytes,
 * and so do we. */
#define RDR_URI_MAX 1024

enum rdr_target_err
{
	RDR_TGT_EMPTY = -1,		/* zero-length target */
	RDR_TGT_TOO_LONG = -2,	/* RDR_URI_MAX bytes or more once built */
	RDR_TGT_BAD_CHAR = -3,	/* control char, CR/LF, space, non-ASCII, <>"... */
	RDR_TGT_BAD_HOST = -4,	/* bare target is not host, host:port, [v6]:port */
	RDR_TGT_BAD_PORT = -5,	/* port not in 1..65535 */
	RDR_TGT_BAD_URI = -6,	/* sip:/sips: URI without anything after it */
	RDR_TGT_BAD_ESCAPE = -7 /* '%' not followed by two hex digits */
};

/* Builds the URI for one raw target into out (NUL-terminated).
 * A full sip:/sips: URI is used as it is; a bare host, host:port or
 * [ipv6]:port gets the Request-URI's user and scheme (sips when sips != 0).
 * Returns the URI's length, or a negative enum rdr_target_err. */
int rdr_target_build(const char *raw, int raw_len, const char *user,
		int user_len, int sips, char *out, int out_size);

/* Human-readable reason for a negative rdr_target_build() result. */
const char *rdr_target_strerror(int err);

/* Parses a sorted-set score as an RFC 3261 q-value. Returns thousandths
 * (0..1000, rounded), or -1 when the score is not a number in [0, 1]. */
int rdr_qvalue_parse(const char *s, int len);

/* Writes q (thousandths) as a q-value with at most 3 decimals and no
 * trailing zeros ("1", "0.8", "0.125") into out (>= 6 bytes, NUL-terminated).
 * Returns the length written. */
int rdr_qvalue_format(int q, char *out);

/* The q-value (thousandths) of the i-th of n targets of a list, head first:
 * (n - i) / n rounded to thousandths, so 1, 0.5 for two targets and
 * 1, 0.667, 0.333 for three. Strictly descending and above 0 for
 * n <= 1000; returns -1 for i outside [0, n). */
int rdr_list_qvalue(int i, int n);

#endif
