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
 * redisroute - one gateway's record: the gw:NAME hash read from Redis,
 * validated, and the target it makes for a Request-URI user (strip, then
 * prefix). Pure: libc and rdr_targets.c only; rdr_gw.c keeps the records
 * in shared memory, the unit tests and the fuzzer link this file alone.
 */

#ifndef _RDR_GW_RECORD_H_
#define _RDR_GW_RECORD_H_

#include "rdr_targets.h"

/* RDR_GW_NAME_MAX (NAME: 1-64 of A-Z a-z 0-9 . _ -) and RDR_GW_ATTRS_MAX
 * (attrs: at most 255 bytes, no control character): redisroute.h */
#define RDR_GW_STRIP_MAX 64	   /* strip: 0-64 */
#define RDR_GW_PREFIX_MAX 32   /* prefix: at most 32 URI user characters */
#define RDR_GW_WEIGHT_MAX 1000 /* weight: 1-1000, default 1 */

/* The hash's fields, in the order the module asks for them (HMGET);
 * rdr_gw_fields[i] is field i's name. */
enum rdr_gw_field
{
	RDR_GWF_URI = 0,
	RDR_GWF_STRIP,
	RDR_GWF_PREFIX,
	RDR_GWF_WEIGHT,
	RDR_GWF_ATTRS,
	RDR_GWF_DRAIN,
	RDR_GWF_COUNT
};
extern const char *const rdr_gw_fields[RDR_GWF_COUNT];

/* Why a gateway is no target (rdr_gw_record_parse()). */
enum rdr_gw_err
{
	RDR_GW_MISSING = -1,	/* no uri: no such hash, or one without uri */
	RDR_GW_BAD_URI = -2,	/* uri is not a target (rdr_target_build()) */
	RDR_GW_BAD_STRIP = -3,	/* strip not 0-64, or set on a full URI */
	RDR_GW_BAD_PREFIX = -4, /* not URI user characters, over 32, or set on
							 * a full URI */
	RDR_GW_BAD_WEIGHT = -5, /* weight not 1-1000 */
	RDR_GW_BAD_ATTRS = -6,	/* over 255 bytes, or a control character */
	RDR_GW_BAD_DRAIN = -7	/* drain neither "0" nor "1" */
};

/* A valid gateway. uri is the raw field (NUL-terminated); bare: it is a
 * host, host:port or [ipv6]:port, completed with the (stripped, prefixed)
 * user; else a full sip:/sips: URI used as it is. */
typedef struct rdr_gw_record
{
	char uri[RDR_URI_MAX];
	int urilen;
	int bare;
	int strip;
	char prefix[RDR_GW_PREFIX_MAX + 1];
	int prefixlen;
	int weight;
	char attrs[RDR_GW_ATTRS_MAX + 1];
	int attrslen;
	int drain;
} rdr_gw_record_t;

/* 1 when s (len bytes) is a gateway NAME: 1-64 of A-Z a-z 0-9 . _ - */
int rdr_gw_name_ok(const char *s, int len);

/* Validates the fields read from the hash: f[i] and flen[i] are field i's
 * value (enum rdr_gw_field), f[i] NULL when the field is absent. Absent
 * strip, prefix, attrs: empty; weight: 1; drain: 0. Returns 0 with rec
 * filled, or a negative enum rdr_gw_err (the first problem found, in field
 * order). Numbers are plain decimals of 1 to 9 digits (no sign, no
 * spaces, no leading '+'); "007" is 7; a present but empty strip, weight
 * or drain is invalid. strip and prefix belong to a bare host: either
 * present with a full URI (even "0" or "") is invalid. A uri of 0 bytes or
 * a negative length is RDR_GW_BAD_URI (a field that is there, not a
 * target). */
int rdr_gw_record_parse(
		const char *const *f, const int *flen, rdr_gw_record_t *rec);

/* Human-readable reason for a negative rdr_gw_record_parse() result. */
const char *rdr_gw_strerror(int err);

/* The gateway's target for a request whose Request-URI user is user
 * (user_len bytes, maybe 0): a full URI as it is; a bare host completed
 * with the user, its first strip characters removed (all of them when it
 * is shorter), prefix put in front, and the sip: or (sips != 0) sips:
 * scheme, as rdr_target_build() does. Returns the URI's length, or a
 * negative enum rdr_target_err. */
int rdr_gw_record_target(const rdr_gw_record_t *rec, const char *user,
		int user_len, int sips, char *out, int out_size);

#endif
