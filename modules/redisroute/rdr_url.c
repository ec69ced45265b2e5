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
 * redisroute - parsing of the `server` parameter (pure: libc only)
 * Depends on libc only: the unit tests and fuzzers link it with rdr_syntax.c
 * (hex digits, numbers, host names) and nothing else.
 */

#include <stdio.h>
#include <string.h>

#include "rdr_syntax.h"
#include "rdr_url.h"

/* Copies s[0..len) into out, decoding %XX. Returns 0 or -1 (bad escape,
 * NUL byte, or too long). */
static int rdr_unescape(const char *s, int len, char *out, int out_size)
{
	int i, n = 0;

	for(i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if(c == '%') {
			int hi, lo;
			if(i + 2 >= len)
				return -1;
			hi = rdr_hex_digit((unsigned char)s[i + 1]);
			lo = rdr_hex_digit((unsigned char)s[i + 2]);
			if(hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if(c == 0 || n + 1 >= out_size)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/* Parses a decimal number (1 to 9 digits) in [min, max]; -1 on anything
 * else. */
static int rdr_number(const char *s, int len, int min, int max)
{
	int v = rdr_decimal(s, len, 9);

	return (v < min || v > max) ? -1 : v;
}

static int rdr_has_prefix(const char *s, int len, const char *p)
{
	int n = (int)strlen(p);
	return len >= n && strncmp(s, p, n) == 0;
}

/* unix:/path[?key=value&...] */
static int rdr_parse_unix(
		const char *s, int len, rdr_server_url_t *url, const char **err)
{
	const char *q = memchr(s, '?', len);
	int plen = q ? (int)(q - s) : len;

	if(plen < 2 || s[0] != '/') {
		*err = "unix socket path must be absolute (unix:/path/to/redis.sock)";
		return -1;
	}
	if(plen >= RDR_URL_PATH_MAX || memchr(s, '\0', plen) != NULL) {
		*err = "unix socket path too long";
		return -1;
	}
	memcpy(url->path, s, plen);
	url->path[plen] = '\0';
	url->is_unix = 1;
	if(q == NULL)
		return 0;

	s = q + 1;
	len -= plen + 1;
	while(len > 0) {
		const char *amp = memchr(s, '&', len);
		int ilen = amp ? (int)(amp - s) : len;
		const char *eq = memchr(s, '=', ilen);
		int klen, vlen;
		const char *v;

		if(eq == NULL) {
			*err = "unix socket options must be key=value";
			return -1;
		}
		klen = (int)(eq - s);
		v = eq + 1;
		vlen = ilen - klen - 1;
		if(klen == 2 && strncmp(s, "db", 2) == 0) {
			url->db = rdr_number(v, vlen, 0, 65535);
			if(url->db < 0) {
				*err = "db must be a number from 0 to 65535";
				return -1;
			}
		} else if(klen == 4 && strncmp(s, "user", 4) == 0) {
			if(rdr_unescape(v, vlen, url->user, sizeof(url->user)) < 0) {
				*err = "bad user";
				return -1;
			}
		} else if(klen == 8 && strncmp(s, "password", 8) == 0) {
			if(rdr_unescape(v, vlen, url->password, sizeof(url->password))
					< 0) {
				*err = "bad password";
				return -1;
			}
		} else {
			*err = "unknown unix socket option (db, user, password)";
			return -1;
		}
		if(amp == NULL)
			break;
		len -= ilen + 1;
		s = amp + 1;
	}
	return 0;
}

/* host[:port], [ipv6][:port]; host (without brackets) and port are written
 * only when valid. */
static int rdr_parse_hostport(
		const char *hp, int hplen, char *host, int *port, const char **err)
{
	const char *end = hp + hplen;
	const char *colon;

	if(hplen <= 0) {
		*err = "missing host";
		return -1;
	}
	if(hp[0] == '[') {
		const char *rb = memchr(hp, ']', hplen);
		if(rb == NULL) {
			*err = "bad IPv6 address (use [addr])";
			return -1;
		}
		/* 45 characters at most: within RDR_URL_HOST_MAX */
		if(!rdr_host_ipv6_ok(hp + 1, (int)(rb - hp - 1))) {
			*err = "bad IPv6 address";
			return -1;
		}
		memcpy(host, hp + 1, rb - hp - 1);
		host[rb - hp - 1] = '\0';
		colon = (rb + 1 < end) ? rb + 1 : NULL;
		if(colon != NULL && *colon != ':') {
			*err = "garbage after IPv6 address";
			return -1;
		}
	} else {
		int hlen;
		colon = memchr(hp, ':', hplen);
		hlen = colon ? (int)(colon - hp) : hplen;
		if(hlen <= 0 || hlen >= (int)RDR_URL_HOST_MAX) {
			*err = "bad host";
			return -1;
		}
		/* a name for getaddrinfo(), '_' included (rdr_syntax.h) */
		if(!rdr_host_name_ok(hp, hlen, RDR_HOST_RESOLVER)) {
			*err = "bad character in host";
			return -1;
		}
		memcpy(host, hp, hlen);
		host[hlen] = '\0';
	}
	if(colon != NULL) {
		*port = rdr_number(colon + 1, (int)(end - colon - 1), 1, 65535);
		if(*port < 0) {
			*err = "port must be a number from 1 to 65535";
			return -1;
		}
	}
	return 0;
}

/* ?cluster=0|1, the one option of a TCP server URL */
static int rdr_parse_tcp_query(
		const char *q, int len, rdr_server_url_t *url, const char **err)
{
	if(len == 9 && strncmp(q, "cluster=1", 9) == 0)
		url->cluster = 1;
	else if(!(len == 9 && strncmp(q, "cluster=0", 9) == 0)) {
		*err = "unknown server URL option (cluster=1)";
		return -1;
	}
	return 0;
}

/* [[user]:password@]host[:port][/db][?cluster=1] */
static int rdr_parse_tcp(
		const char *s, int len, rdr_server_url_t *url, const char **err)
{
	const char *at, *hp, *end, *slash, *q;
	int hplen;

	/* the query, after the last '@' (a password may hold '?' escaped) */
	for(q = s + len - 1; q >= s && *q != '@' && *q != '?'; q--)
		;
	if(q >= s && *q == '?') {
		if(rdr_parse_tcp_query(q + 1, (int)(s + len - q - 1), url, err) < 0)
			return -1;
		len = (int)(q - s);
	}
	slash = memchr(s, '/', len);
	end = slash ? slash : s + len;
	/* the last '@' before the path ends the credentials: a password may
	 * contain '@' only %-escaped, but be lenient */
	at = NULL;
	for(hp = s; hp < end; hp++) {
		if(*hp == '@')
			at = hp;
	}
	if(at != NULL) {
		const char *c = memchr(s, ':', at - s);
		if(c == NULL) {
			*err = "credentials must be user:password@ or :password@";
			return -1;
		}
		if(rdr_unescape(s, (int)(c - s), url->user, sizeof(url->user)) < 0
				|| rdr_unescape(c + 1, (int)(at - c - 1), url->password,
						   sizeof(url->password))
						   < 0) {
			*err = "bad user or password (too long or bad %-escape)";
			return -1;
		}
		if(url->password[0] == '\0') {
			*err = "empty password";
			return -1;
		}
		hp = at + 1;
	} else {
		hp = s;
	}
	hplen = (int)(end - hp);
	if(hplen <= 0) {
		*err = "missing host";
		return -1;
	}

	if(rdr_parse_hostport(hp, hplen, url->host, &url->port, err) < 0)
		return -1;
	if(slash != NULL && slash + 1 < s + len) {
		url->db = rdr_number(slash + 1, (int)(s + len - slash - 1), 0, 65535);
		if(url->db < 0) {
			*err = "db must be a number from 0 to 65535";
			return -1;
		}
	}
	return 0;
}

int rdr_url_parse(
		const char *s, int len, rdr_server_url_t *url, const char **err)
{
	static const char *dummy;

	if(err == NULL)
		err = &dummy;
	memset(url, 0, sizeof(*url));
	url->port = 6379;
	if(s == NULL || len <= 0) {
		*err = "empty server URL";
		return -1;
	}
	if(memchr(s, '\0', len) != NULL) {
		*err = "NUL byte in server URL";
		return -1;
	}
	if(rdr_has_prefix(s, len, "redis://"))
		return rdr_parse_tcp(s + 8, len - 8, url, err);
	if(rdr_has_prefix(s, len, "unix://"))
		return rdr_parse_unix(s + 7, len - 7, url, err);
	if(rdr_has_prefix(s, len, "unix:"))
		return rdr_parse_unix(s + 5, len - 5, url, err);
	if(rdr_has_prefix(s, len, "rediss://")) {
		url->tls = 1;
		return rdr_parse_tcp(s + 9, len - 9, url, err);
	}
	*err = "server must start with redis://, rediss:// or unix:";
	return -1;
}

int rdr_hostports_parse(const char *s, int len, int default_port,
		rdr_hostport_t *out, int max, int *tls, const char **err)
{
	int n = 0;
	const char *end = s + len;

	if(tls != NULL)
		*tls = 0;
	if(rdr_has_prefix(s, len, "rediss://")
			|| rdr_has_prefix(s, len, "redis://")) {
		if(tls == NULL) {
			*err = "no scheme here: host:port,host:port";
			return -1;
		}
		*tls = s[5] == 's';
		s += *tls ? 9 : 8;
	}

	while(s < end) {
		const char *comma = memchr(s, ',', end - s);
		const char *item = s, *item_end = comma ? comma : end;

		while(item < item_end && (*item == ' ' || *item == '\t'))
			item++;
		while(item_end > item && (item_end[-1] == ' ' || item_end[-1] == '\t'))
			item_end--;
		if(item_end > item) {
			if(n >= max) {
				*err = "too many addresses";
				return -1;
			}
			out[n].port = default_port;
			if(rdr_parse_hostport(item, (int)(item_end - item), out[n].host,
					   &out[n].port, err)
					< 0)
				return -1;
			n++;
		}
		if(comma == NULL)
			break;
		s = comma + 1;
	}
	if(n == 0) {
		*err = "no address";
		return -1;
	}
	return n;
}

int rdr_hostport_print(const char *host, int port, char *out, int out_size)
{
	int n = snprintf(out, out_size,
			strchr(host, ':') != NULL ? "[%s]:%d" : "%s:%d", host, port);

	if(n < 0)
		n = 0;
	if(n >= out_size)
		n = out_size - 1;
	return n;
}

int rdr_url_print(const rdr_server_url_t *url, char *out, int out_size)
{
	int n;

	if(url->is_unix)
		n = snprintf(out, out_size, "unix:%s", url->path);
	else
		n = rdr_hostport_print(url->host, url->port, out, out_size);
	if(n >= 0 && n < out_size && url->db != 0)
		n += snprintf(out + n, out_size - n, url->is_unix ? "?db=%d" : "/%d",
				url->db);
	if(n < 0)
		n = 0;
	if(n >= out_size)
		n = out_size - 1;
	return n;
}
