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
 * redisroute - libFuzzer harness for rdr_url.c (the `server` and sentinel
 * parameters)
 *
 * The whole input is one server URL for rdr_url_parse(); on success the parsed
 * fields are checked and rdr_url_print() is run into buffers of several sizes,
 * each followed by a canary. The same input is also fed to
 * rdr_hostports_parse() (the sentinel address list).
 *
 * Any violated invariant calls abort() after printing what went wrong.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdr_url.h"

#define CANARY_LEN 64
#define CANARY_BYTE 0xA5
#define PRINT_MAX 512 /* > "[" host "]:65535/65535" and "unix:" path "?db=N" */

#define FAIL(...)                                             \
	do {                                                      \
		fprintf(stderr, "fuzz_url: invariant violated: ");    \
		fprintf(stderr, __VA_ARGS__);                         \
		fprintf(stderr, "\n");                                \
		abort();                                              \
	} while(0)

static void check_canary_n(const unsigned char *c, size_t len, const char *what)
{
	size_t i;

	for(i = 0; i < len; i++) {
		if(c[i] != CANARY_BYTE)
			FAIL("%s wrote past its buffer (canary byte %zu is 0x%02x)", what,
					i, c[i]);
	}
}

static void check_canary(const unsigned char *c, const char *what)
{
	int i;

	for(i = 0; i < CANARY_LEN; i++) {
		if(c[i] != CANARY_BYTE)
			FAIL("%s wrote past out_size (canary byte %d is 0x%02x)", what, i,
					c[i]);
	}
}

static void check_terminated(const char *field, size_t size, const char *what)
{
	if(memchr(field, '\0', size) == NULL)
		FAIL("%s is not NUL-terminated within its %zu bytes", what, size);
}

/* Prints url into a heap buffer of exactly out_size bytes plus a canary;
 * returns the buffer (caller frees) and the length in *len. */
static char *print_sized(const rdr_server_url_t *url, int out_size, int *len)
{
	unsigned char *out = malloc((size_t)out_size + CANARY_LEN);
	int n;

	if(out == NULL)
		abort();
	memset(out, CANARY_BYTE, (size_t)out_size + CANARY_LEN);
	n = rdr_url_print(url, (char *)out, out_size);
	check_canary(out + out_size, "rdr_url_print");
	if(n < 0 || n >= out_size)
		FAIL("rdr_url_print returned %d for out_size %d", n, out_size);
	if(strlen((char *)out) != (size_t)n)
		FAIL("rdr_url_print returned %d but wrote %zu bytes (out_size %d)", n,
				strlen((char *)out), out_size);
	*len = n;
	return (char *)out;
}

/* 1 when every byte of pw occurs in one of the public sources, i.e. when
 * pw could show up in the printed URL by coincidence */
static int could_be_coincidence(const rdr_server_url_t *url, const char *pw)
{
	static const char fixed[] = "unix:[]?db=/0123456789";
	const char *p;

	if(strstr(url->host, pw) || strstr(url->path, pw) || strstr(url->user, pw))
		return 1;
	for(p = pw; *p; p++) {
		if(!strchr(fixed, *p) && !strchr(url->host, *p)
				&& !strchr(url->path, *p))
			return 0;
	}
	return 1;
}

static void check_url(const rdr_server_url_t *url, const uint8_t *data,
		size_t size)
{
	char *full, *other, *part;
	int n, n2, np, i;
	rdr_server_url_t copy;
	int sizes[6];

	if(url->is_unix != 0 && url->is_unix != 1)
		FAIL("is_unix is %d", url->is_unix);
	if(url->port < 1 || url->port > 65535)
		FAIL("port %d", url->port);
	if(url->db < 0 || url->db > 65535)
		FAIL("db %d", url->db);
	check_terminated(url->host, sizeof(url->host), "host");
	check_terminated(url->path, sizeof(url->path), "path");
	check_terminated(url->user, sizeof(url->user), "user");
	check_terminated(url->password, sizeof(url->password), "password");
	if(url->is_unix) {
		if(url->path[0] != '/')
			FAIL("unix socket path \"%s\" is not absolute", url->path);
		if(url->host[0] != '\0')
			FAIL("unix socket with a host \"%s\"", url->host);
	} else {
		if(url->host[0] == '\0')
			FAIL("TCP URL without a host");
		if(url->path[0] != '\0')
			FAIL("TCP URL with a path \"%s\"", url->path);
	}

	full = print_sized(url, PRINT_MAX, &n);

	/* the output never depends on the credentials */
	memcpy(&copy, url, sizeof(copy));
	memset(copy.user, 'U', sizeof(copy.user) - 1);
	copy.user[sizeof(copy.user) - 1] = '\0';
	memset(copy.password, 'P', sizeof(copy.password) - 1);
	copy.password[sizeof(copy.password) - 1] = '\0';
	other = print_sized(&copy, PRINT_MAX, &n2);
	if(n != n2 || strcmp(full, other) != 0)
		FAIL("rdr_url_print depends on the credentials: \"%s\" vs \"%s\"",
				full, other);
	free(other);

	/* ... and never shows the password */
	if(strlen(url->password) > 3 && !could_be_coincidence(url, url->password)
			&& strstr(full, url->password) != NULL)
		FAIL("rdr_url_print shows the password: \"%s\"", full);

	/* truncation: a prefix of the full output, NUL-terminated, in bounds */
	sizes[0] = 1;
	sizes[1] = 2;
	sizes[2] = n > 1 ? n / 2 : 1;
	sizes[3] = n > 0 ? n : 1;
	sizes[4] = n + 1;
	sizes[5] = 1 + (int)(size ? data[size - 1] : 0) % (n + 1);
	for(i = 0; i < 6; i++) {
		part = print_sized(url, sizes[i], &np);
		if(np != (n < sizes[i] ? n : sizes[i] - 1)
				|| memcmp(part, full, (size_t)np) != 0)
			FAIL("rdr_url_print into %d bytes: \"%s\" (full: \"%s\")", sizes[i],
					part, full);
		free(part);
	}
	free(full);
}

static void check_hostports(const char *s, size_t len)
{
	/* one extra entry as a canary */
	rdr_hostport_t hp[RDR_SENTINELS_MAX + 1];
	const char *err = NULL;
	int n, i, tls = -1;

	memset(hp, CANARY_BYTE, sizeof(hp));
	n = rdr_hostports_parse(
			s, (int)len, 26379, hp, RDR_SENTINELS_MAX, &tls, &err);
	check_canary_n((const unsigned char *)&hp[RDR_SENTINELS_MAX],
			sizeof(hp[0]), "rdr_hostports_parse");
	if(n < 0) {
		if(n != -1 || err == NULL || err[0] == '\0')
			FAIL("rdr_hostports_parse returned %d, err %s", n,
					err ? err : "(null)");
		return;
	}
	if(n < 1 || n > RDR_SENTINELS_MAX)
		FAIL("rdr_hostports_parse returned %d entries", n);
	if(tls != 0 && tls != 1)
		FAIL("rdr_hostports_parse left tls %d", tls);
	for(i = 0; i < n; i++) {
		check_terminated(hp[i].host, sizeof(hp[i].host), "sentinel host");
		if(hp[i].host[0] == '\0')
			FAIL("sentinel %d has an empty host", i);
		if(hp[i].port < 1 || hp[i].port > 65535)
			FAIL("sentinel %d port %d", i, hp[i].port);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rdr_server_url_t url;
	const char *err = NULL;
	char *s;
	int ret;

	/* exact-size copy (not NUL-terminated) so that ASan sees any overread */
	s = malloc(size ? size : 1);
	if(s == NULL)
		abort();
	if(size)
		memcpy(s, data, size);

	memset(&url, 0x55, sizeof(url));
	ret = rdr_url_parse(s, (int)size, &url, &err);
	if(ret == 0) {
		check_url(&url, data, size);
	} else if(ret != -1 || err == NULL || err[0] == '\0') {
		FAIL("rdr_url_parse returned %d, err %s", ret, err ? err : "(null)");
	}

	/* err may be NULL */
	memset(&url, 0x55, sizeof(url));
	if(rdr_url_parse(s, (int)size, &url, NULL) != ret)
		FAIL("rdr_url_parse gives another result with err == NULL");

	if(size > 0)
		check_hostports(s, size);

	free(s);
	return 0;
}
