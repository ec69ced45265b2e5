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
 * redisroute - libFuzzer harness for rdr_slot.c (cluster key slots and the
 * MOVED/ASK replies a cluster node sends)
 *
 * The first input byte picks the host buffer size (1..256) given to
 * rdr_redirect_parse(); the rest is the error reply, in a buffer of exactly
 * its length (no NUL), so that any read past it is caught by ASan. The same
 * bytes are hashed with rdr_key_slot().
 *
 * Any violated invariant calls abort() after printing what went wrong.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdr_slot.h"

#define CANARY_LEN 32
#define CANARY_BYTE 0xA5

#define FAIL(...)                                           \
	do {                                                    \
		fprintf(stderr, "fuzz_slot: invariant violated: "); \
		fprintf(stderr, __VA_ARGS__);                       \
		fprintf(stderr, "\n");                              \
		abort();                                            \
	} while(0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char hostbuf[256 + CANARY_LEN];
	char *msg;
	int host_size, len, kind, slot = -1, port = -1, i;
	unsigned int s;
	const char *open, *close;

	if(size < 1 || size > 4096)
		return 0;
	host_size = 1 + data[0];
	len = (int)size - 1;
	msg = malloc(len > 0 ? len : 1);
	if(msg == NULL)
		return 0;
	memcpy(msg, data + 1, len);

	memset(hostbuf, CANARY_BYTE, sizeof(hostbuf));
	kind = rdr_redirect_parse(
			msg, len, &slot, (char *)hostbuf, host_size, &port);
	for(i = host_size; i < host_size + CANARY_LEN; i++)
		if(hostbuf[i] != CANARY_BYTE)
			FAIL("host written past host_size %d", host_size);
	if(kind != 0) {
		int hlen;
		if(kind != RDR_REDIRECT_MOVED && kind != RDR_REDIRECT_ASK)
			FAIL("unknown kind %d", kind);
		if(slot < 0 || slot >= RDR_SLOTS)
			FAIL("slot %d out of range", slot);
		if(port < 1 || port > 65535)
			FAIL("port %d out of range", port);
		hlen = (int)strnlen((char *)hostbuf, host_size);
		if(hlen >= host_size)
			FAIL("host not NUL-terminated within %d bytes", host_size);
		for(i = 0; i < hlen; i++)
			if(hostbuf[i] <= ' ' || hostbuf[i] == '[' || hostbuf[i] == ']')
				FAIL("host byte 0x%02x accepted", hostbuf[i]);
		if(memcmp(msg, kind == RDR_REDIRECT_MOVED ? "MOVED " : "ASK ",
				   kind == RDR_REDIRECT_MOVED ? 6 : 4)
				!= 0)
			FAIL("kind %d for a reply that does not start with it", kind);
	}

	s = rdr_key_slot(msg, len);
	if(s >= RDR_SLOTS)
		FAIL("slot %u out of range", s);
	/* a non-empty {tag} hashes like the tag alone */
	open = len > 0 ? memchr(msg, '{', len) : NULL;
	if(open != NULL) {
		close = memchr(open + 1, '}', len - (open - msg) - 1);
		if(close != NULL && close > open + 1
				&& s != rdr_key_slot(open + 1, (int)(close - open - 1)))
			FAIL("hash tag not honoured");
	}
	free(msg);
	return 0;
}
