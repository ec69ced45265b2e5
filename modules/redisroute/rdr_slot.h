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
 * redisroute - Redis Cluster key slots and redirect replies (pure: libc only)
 */

#ifndef _RDR_SLOT_H_
#define _RDR_SLOT_H_

#define RDR_SLOTS 16384

/* The cluster slot of a key: CRC16 (XMODEM) of the key, or of the part
 * between the first '{' and the next '}' when that part is not empty. */
unsigned int rdr_key_slot(const char *key, int len);

#define RDR_REDIRECT_MOVED 1
#define RDR_REDIRECT_ASK 2

/* Parses an error reply "MOVED <slot> <host>:<port>" or "ASK <slot>
 * <host>:<port>" (the host may be an IPv6 address without brackets, or empty
 * for "the node that answered"). Returns RDR_REDIRECT_MOVED or
 * RDR_REDIRECT_ASK with slot, host (NUL-terminated, at most host_size - 1
 * bytes) and port set, or 0 when s is no well-formed redirect. */
int rdr_redirect_parse(const char *s, int len, int *slot, char *host,
		int host_size, int *port);

#endif
