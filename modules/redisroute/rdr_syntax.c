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
 * redisroute - the lexical pieces the pure parsers share (pure: libc only)
 */

#include "rdr_syntax.h"

int rdr_hex_digit(int c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if(c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rdr_decimal(const char *s, int len, int max_digits)
{
	int i, v = 0;

	if(len <= 0 || len > max_digits || max_digits > 9)
		return -1;
	for(i = 0; i < len; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int rdr_code_parse(const char *s, int len)
{
	/* digits only: the core's str2int() also took a leading '+', but "+30"
	 * was below 300 anyway */
	int code = len == 3 ? rdr_decimal(s, len, 3) : -1;

	return (code >= 300 && code <= 399) ? code : -1;
}

static int rdr_host_letter_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		   || (c >= '0' && c <= '9');
}

/* RDR_HOST_RESOLVER: the characters only */
static int rdr_host_resolver_ok(const char *s, int len)
{
	int i;

	if(len < 1)
		return 0;
	for(i = 0; i < len; i++) {
		if(!rdr_host_letter_digit(s[i]) && s[i] != '-' && s[i] != '.'
				&& s[i] != '_')
			return 0;
	}
	return 1;
}

/* RDR_HOST_SIP: RFC 1123 labels separated by single dots, a trailing dot
 * (FQDN) accepted */
static int rdr_host_sip_ok(const char *s, int len)
{
	int i, label = 0;

	if(len < 1 || len > 253)
		return 0;
	for(i = 0; i < len; i++) {
		char c = s[i];
		if(c == '.') {
			if(label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if(!rdr_host_letter_digit(c) && c != '-')
			return 0;
		if(c == '-' && label == 0)
			return 0;
		if(++label > 63)
			return 0;
	}
	/* the last label may not end in '-' either */
	return !(label > 0 && s[len - 1] == '-');
}

int rdr_host_name_ok(const char *s, int len, int use)
{
	return use == RDR_HOST_RESOLVER ? rdr_host_resolver_ok(s, len)
									: rdr_host_sip_ok(s, len);
}

int rdr_host_ipv6_ok(const char *s, int len)
{
	int i, colons = 0;

	if(len < 2 || len > 45)
		return 0;
	for(i = 0; i < len; i++) {
		if(s[i] == ':')
			colons++;
		else if(rdr_hex_digit((unsigned char)s[i]) < 0 && s[i] != '.')
			return 0;
	}
	return colons >= 2;
}

unsigned int rdr_hash32(const char *s, int len)
{
	unsigned int h = 2166136261u;
	int i;

	for(i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}
