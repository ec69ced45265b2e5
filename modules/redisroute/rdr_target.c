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
 * Depends on libc only: the unit tests and fuzzers link it with rdr_syntax.c
 * (hex digits, numbers, host names) and nothing else.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rdr_syntax.h"
#include "rdr_target.h"

/* Characters that may appear in a SIP URI (RFC 3261 25.1): unreserved,
 * reserved and '%' for escapes, '[' ']' for IPv6 references. Everything
 * else - controls, space, CR/LF, '<', '>', '"', '\\', non-ASCII - could break
 * out of a Contact header or a Request-URI and is refused. */
static int rdr_uri_char_ok(unsigned char c)
{
	if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			|| (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("-_.!~*'()%;/?:@&=+$,[]", c) != NULL;
}

/* Checks a whole URI's characters and escapes. */
static int rdr_uri_chars_check(const char *s, int len)
{
	int i;

	for(i = 0; i < len; i++) {
		if(!rdr_uri_char_ok((unsigned char)s[i]))
			return RDR_TGT_BAD_CHAR;
		if(s[i] == '%') {
			if(i + 2 >= len || rdr_hex_digit((unsigned char)s[i + 1]) < 0
					|| rdr_hex_digit((unsigned char)s[i + 2]) < 0)
				return RDR_TGT_BAD_ESCAPE;
		}
	}
	return 0;
}

static int rdr_prefix_icase(const char *s, int len, const char *prefix)
{
	int n = (int)strlen(prefix);
	int i;

	if(len < n)
		return 0;
	for(i = 0; i < n; i++) {
		char c = s[i];
		if(c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if(c != prefix[i])
			return 0;
	}
	return 1;
}

/* Port: 1 to 5 digits, 1..65535. */
static int rdr_port_check(const char *s, int len)
{
	int port = rdr_decimal(s, len, 5);

	return (port >= 1 && port <= 65535) ? 0 : RDR_TGT_BAD_PORT;
}

/* Validates a bare host, host:port, [ipv6] or [ipv6]:port. */
static int rdr_bare_check(const char *s, int len)
{
	const char *colon;
	int hlen;

	if(s[0] == '[') {
		const char *end = memchr(s, ']', len);
		if(end == NULL)
			return RDR_TGT_BAD_HOST;
		if(!rdr_host_ipv6_ok(s + 1, (int)(end - s) - 1))
			return RDR_TGT_BAD_HOST;
		hlen = (int)(end - s) + 1;
		if(hlen == len)
			return 0;
		if(s[hlen] != ':')
			return RDR_TGT_BAD_HOST;
		return rdr_port_check(s + hlen + 1, len - hlen - 1);
	}
	colon = memchr(s, ':', len);
	hlen = colon ? (int)(colon - s) : len;
	/* a SIP host: RFC 3261's hostname, no '_' (rdr_syntax.h) */
	if(!rdr_host_name_ok(s, hlen, RDR_HOST_SIP))
		return RDR_TGT_BAD_HOST;
	if(colon == NULL)
		return 0;
	/* a second colon means an unbracketed IPv6 address or garbage */
	if(memchr(colon + 1, ':', len - hlen - 1) != NULL)
		return RDR_TGT_BAD_HOST;
	return rdr_port_check(colon + 1, len - hlen - 1);
}

int rdr_target_build(const char *raw, int raw_len, const char *user,
		int user_len, int sips, char *out, int out_size)
{
	int len, ret, i;
	const char *scheme;

	if(raw == NULL || raw_len <= 0)
		return RDR_TGT_EMPTY;
	/* at most RDR_URI_MAX - 1 bytes plus the NUL */
	if(out_size > RDR_URI_MAX)
		out_size = RDR_URI_MAX;
	if(raw_len >= out_size)
		return RDR_TGT_TOO_LONG;
	/* control characters, CR/LF and spaces are refused before anything
	 * else looks at the target */
	for(i = 0; i < raw_len; i++) {
		if(!rdr_uri_char_ok((unsigned char)raw[i]))
			return RDR_TGT_BAD_CHAR;
	}

	if(rdr_prefix_icase(raw, raw_len, "sip:")
			|| rdr_prefix_icase(raw, raw_len, "sips:")) {
		int slen = (raw[3] == ':') ? 4 : 5;
		if(raw_len == slen)
			return RDR_TGT_BAD_URI;
		ret = rdr_uri_chars_check(raw, raw_len);
		if(ret < 0)
			return ret;
		memcpy(out, raw, raw_len);
		out[raw_len] = '\0';
		return raw_len;
	}

	ret = rdr_bare_check(raw, raw_len);
	if(ret < 0)
		return ret;

	scheme = sips ? "sips:" : "sip:";
	if(user_len < 0 || (user_len > 0 && user == NULL))
		user_len = 0;
	len = (int)strlen(scheme) + user_len + (user_len > 0 ? 1 : 0) + raw_len;
	if(len >= out_size)
		return RDR_TGT_TOO_LONG;
	len = 0;
	memcpy(out, scheme, strlen(scheme));
	len += (int)strlen(scheme);
	if(user_len > 0) {
		memcpy(out + len, user, user_len);
		len += user_len;
		out[len++] = '@';
	}
	memcpy(out + len, raw, raw_len);
	len += raw_len;
	out[len] = '\0';
	/* the user comes from the SIP message: hostile too */
	ret = rdr_uri_chars_check(out, len);
	if(ret < 0)
		return ret;
	return len;
}

const char *rdr_target_strerror(int err)
{
	switch(err) {
		case RDR_TGT_EMPTY:
			return "empty target";
		case RDR_TGT_TOO_LONG:
			return "target too long";
		case RDR_TGT_BAD_CHAR:
			return "forbidden character in target";
		case RDR_TGT_BAD_HOST:
			return "not a sip URI, host, host:port or [ipv6]:port";
		case RDR_TGT_BAD_PORT:
			return "port not in 1..65535";
		case RDR_TGT_BAD_URI:
			return "URI has nothing after its scheme";
		case RDR_TGT_BAD_ESCAPE:
			return "bad %-escape";
		default:
			return "invalid target";
	}
}

int rdr_qvalue_parse(const char *s, int len)
{
	char buf[64];
	char *end;
	double q;

	if(s == NULL || len <= 0 || len >= (int)sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	q = strtod(buf, &end);
	if(end == buf || *end != '\0' || !isfinite(q) || q < 0.0 || q > 1.0)
		return -1;
	return (int)(q * 1000.0 + 0.5);
}

int rdr_qvalue_format(int q, char *out)
{
	int len;

	if(q <= 0) {
		out[0] = '0';
		out[1] = '\0';
		return 1;
	}
	if(q >= 1000) {
		out[0] = '1';
		out[1] = '\0';
		return 1;
	}
	out[0] = '0';
	out[1] = '.';
	out[2] = (char)('0' + q / 100);
	out[3] = (char)('0' + (q / 10) % 10);
	out[4] = (char)('0' + q % 10);
	len = 5;
	while(out[len - 1] == '0')
		len--;
	out[len] = '\0';
	return len;
}

int rdr_list_qvalue(int i, int n)
{
	if(n <= 0 || i < 0 || i >= n)
		return -1;
	return (1000 * (n - i) + n / 2) / n;
}
