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
 * redisroute - one gateway's record: the gw:NAME hash's fields validated as
 * the hostile input they are, and the target a record makes for one
 * Request-URI user. Pure: libc, rdr_targets.c and rdr_syntax.c only.
 */

#include <stddef.h>
#include <string.h>

#include "rdr_gw_record.h"
#include "rdr_syntax.h"

const char *const rdr_gw_fields[RDR_GWF_COUNT] = {
		"uri", "strip", "prefix", "weight", "attrs", "drain"};

/* the most digits a number field may have ("007" is 7): rdr_decimal()'s */
#define RDR_GW_DIGITS_MAX 9

static int rdr_gw_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || (c >= '0' && c <= '9');
}

int rdr_gw_name_ok(const char *s, int len)
{
	int i;

	if(s == NULL || len < 1 || len > RDR_GW_NAME_MAX)
		return 0;
	for(i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if(!rdr_gw_alnum(c) && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

/* 1 when s starts with "sip:" or "sips:", in any case: what
 * rdr_target_build() takes for a full URI */
static int rdr_gw_full_uri(const char *s, int len)
{
	if(len < 4 || (s[0] | 0x20) != 's' || (s[1] | 0x20) != 'i'
			|| (s[2] | 0x20) != 'p')
		return 0;
	return s[3] == ':' || (len >= 5 && (s[3] | 0x20) == 's' && s[4] == ':');
}

/* The prefix's characters: RFC 3261's user (unreserved, escaped and
 * user-unreserved), i.e. alnum, -_.!~*'() &=+$,;?/ and %HH. */
static int rdr_gw_prefix_ok(const char *s, int len)
{
	int i;

	if(len < 0 || len > RDR_GW_PREFIX_MAX)
		return 0;
	for(i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if(rdr_gw_alnum(c))
			continue;
		if(c == '%') {
			if(i + 2 >= len || rdr_hex_digit((unsigned char)s[i + 1]) < 0
					|| rdr_hex_digit((unsigned char)s[i + 2]) < 0)
				return 0;
			i += 2;
			continue;
		}
		if(c == '\0' || strchr("-_.!~*'()&=+$,;?/", c) == NULL)
			return 0;
	}
	return 1;
}

/* attrs: at most RDR_GW_ATTRS_MAX bytes, none a control character (below
 * 0x20, or DEL); other bytes (UTF-8) are the operator's business */
static int rdr_gw_attrs_ok(const char *s, int len)
{
	int i;

	if(len < 0 || len > RDR_GW_ATTRS_MAX)
		return 0;
	for(i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if(c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* A number field in [min, max]; dflt when absent; -1 when invalid. */
static int rdr_gw_number(const char *s, int len, int min, int max, int dflt)
{
	int v;

	if(s == NULL)
		return dflt;
	v = rdr_decimal(s, len, RDR_GW_DIGITS_MAX);
	return (v >= min && v <= max) ? v : -1;
}

int rdr_gw_record_parse(
		const char *const *f, const int *flen, rdr_gw_record_t *rec)
{
	char tmp[RDR_URI_MAX];
	const char *s;
	int len;

	/* each field below takes a negative length for its own error */
	if(f == NULL || flen == NULL || rec == NULL || f[RDR_GWF_URI] == NULL)
		return RDR_GW_MISSING;

	/* uri: a target as rdr_target_build() takes it; a bare one is checked
	 * with a user in it, as it will be used (a full one ignores it) */
	s = f[RDR_GWF_URI];
	len = flen[RDR_GWF_URI];
	if(len <= 0 || len >= RDR_URI_MAX
			|| rdr_target_build(s, len, "u", 1, 0, tmp, sizeof(tmp)) < 0)
		return RDR_GW_BAD_URI;
	memcpy(rec->uri, s, len);
	rec->uri[len] = '\0';
	rec->urilen = len;
	rec->bare = !rdr_gw_full_uri(s, len);

	/* strip and prefix are a bare host's: either set with a full URI, even
	 * to "0" or "", is a mistake the operator is told about (the URI is
	 * used as it is, whatever they say) */
	rec->strip = rdr_gw_number(
			f[RDR_GWF_STRIP], flen[RDR_GWF_STRIP], 0, RDR_GW_STRIP_MAX, 0);
	if(rec->strip < 0 || (!rec->bare && f[RDR_GWF_STRIP] != NULL))
		return RDR_GW_BAD_STRIP;

	s = f[RDR_GWF_PREFIX];
	len = s != NULL ? flen[RDR_GWF_PREFIX] : 0;
	if(!rdr_gw_prefix_ok(s, len) || (!rec->bare && s != NULL))
		return RDR_GW_BAD_PREFIX;
	if(len > 0)
		memcpy(rec->prefix, s, len);
	rec->prefix[len] = '\0';
	rec->prefixlen = len;

	rec->weight = rdr_gw_number(
			f[RDR_GWF_WEIGHT], flen[RDR_GWF_WEIGHT], 1, RDR_GW_WEIGHT_MAX, 1);
	if(rec->weight < 0)
		return RDR_GW_BAD_WEIGHT;

	s = f[RDR_GWF_ATTRS];
	len = s != NULL ? flen[RDR_GWF_ATTRS] : 0;
	if(!rdr_gw_attrs_ok(s, len))
		return RDR_GW_BAD_ATTRS;
	if(len > 0)
		memcpy(rec->attrs, s, len);
	rec->attrs[len] = '\0';
	rec->attrslen = len;

	/* drain: exactly "0" or "1" (no "01", no "true") */
	s = f[RDR_GWF_DRAIN];
	len = flen[RDR_GWF_DRAIN];
	if(s == NULL)
		rec->drain = 0;
	else if(len == 1 && (s[0] == '0' || s[0] == '1'))
		rec->drain = s[0] - '0';
	else
		return RDR_GW_BAD_DRAIN;
	return 0;
}

const char *rdr_gw_strerror(int err)
{
	switch(err) {
		case RDR_GW_MISSING:
			return "no such gateway (no hash, or no uri field)";
		case RDR_GW_BAD_URI:
			return "uri is not a sip:/sips: URI, host, host:port or "
				   "[ipv6]:port";
		case RDR_GW_BAD_STRIP:
			return "strip is not 0-64, or is set with a full URI";
		case RDR_GW_BAD_PREFIX:
			return "prefix is not at most 32 URI user characters, or is set "
				   "with a full URI";
		case RDR_GW_BAD_WEIGHT:
			return "weight is not 1-1000";
		case RDR_GW_BAD_ATTRS:
			return "attrs is over 255 bytes or holds a control character";
		case RDR_GW_BAD_DRAIN:
			return "drain is neither 0 nor 1";
		default:
			return "invalid gateway";
	}
}

int rdr_gw_record_target(const rdr_gw_record_t *rec, const char *user,
		int user_len, int sips, char *out, int out_size)
{
	char ubuf[RDR_URI_MAX];
	int rest;

	if(rec == NULL || rec->urilen <= 0 || rec->urilen >= RDR_URI_MAX)
		return RDR_TGT_EMPTY;
	if(!rec->bare)
		return rdr_target_build(
				rec->uri, rec->urilen, NULL, 0, sips, out, out_size);
	if(user == NULL || user_len < 0)
		user_len = 0;
	/* a record not from rdr_gw_record_parse(): nothing read out of bounds */
	if(rec->strip < 0 || rec->prefixlen < 0
			|| rec->prefixlen > RDR_GW_PREFIX_MAX)
		return RDR_TGT_BAD_CHAR;
	rest = user_len > rec->strip ? user_len - rec->strip : 0;
	/* no user that long makes a URI (and the sum cannot overflow) */
	if(rest >= RDR_URI_MAX - RDR_GW_PREFIX_MAX)
		return RDR_TGT_TOO_LONG;
	if(rec->prefixlen > 0)
		memcpy(ubuf, rec->prefix, rec->prefixlen);
	if(rest > 0)
		memcpy(ubuf + rec->prefixlen, user + rec->strip, rest);
	return rdr_target_build(rec->uri, rec->urilen, ubuf, rec->prefixlen + rest,
			sips, out, out_size);
}
