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
 *
 * rdr_url.c (the server URL, sentinels, cluster_seeds), rdr_targets.c (route
 * targets) and rdr_slot.c (MOVED/ASK replies) depend on libc only, so that the
 * unit tests and fuzzers can link them without Kamailio; what they have in
 * common is here, once, and is linked with them (the module's core-side files
 * use the core's str2int() and friends instead).
 */

#ifndef _RDR_SYNTAX_H_
#define _RDR_SYNTAX_H_

/* The value of the hex digit c (0..15), or -1. */
int rdr_hex_digit(int c);

/* s[0..len) as a decimal number of 1 to max_digits digits (max_digits at
 * most 9, so that it fits an int) and nothing else; -1 for anything else. */
int rdr_decimal(const char *s, int len, int max_digits);

/* s[0..len) as a redirect's reply code: exactly three digits in 300..399
 * (sip_redirect's code, a literal at fixup time or a variable at run time);
 * -1 for anything else. */
int rdr_code_parse(const char *s, int len);

/*
 * Host names: one validator, one rule. A host name is made of letters,
 * digits, '-' and '.'; what the name is handed to adds to that:
 *
 * RDR_HOST_SIP: a route target's host goes on the wire, in a Request-URI or a
 *   Contact, where RFC 3261 (25.1, hostname) allows RFC 1123 names only:
 *   labels of 1 to 63 characters that neither start nor end with '-', 253
 *   characters in all, at most one trailing dot; no '_'.
 * RDR_HOST_RESOLVER: a Redis host (server URL, sentinels, cluster_seeds) goes
 *   nowhere but to getaddrinfo() on this machine, where names with '_' do
 *   resolve (container and service names such as docker compose's
 *   project_redis_1, /etc/hosts aliases): '_' is taken too, and the label
 *   structure is left to the resolver, whose "not found" the connect reports
 *   (status RPC, log) like any other connect error.
 */
#define RDR_HOST_SIP 0
#define RDR_HOST_RESOLVER 1

/* 1 when s[0..len) is a host name for use (RDR_HOST_SIP, RDR_HOST_RESOLVER),
 * else 0. The caller checks the length against its own buffer. */
int rdr_host_name_ok(const char *s, int len, int use);

/* 1 when s[0..len) is an IPv6 address as it stands between the brackets of
 * a URI: 2 to 45 hex digits, ':' and '.' (an embedded IPv4), with at least
 * two colons; else 0. For both uses: an address is an address. */
int rdr_host_ipv6_ok(const char *s, int len);

/* FNV-1a over len bytes: a 32-bit hash whose every bit depends on every
 * byte (the gateways' table, the keys' type hints). */
unsigned int rdr_hash32(const char *s, int len);

#endif
