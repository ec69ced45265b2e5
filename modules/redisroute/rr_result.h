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
 * redisroute - a lookup's result: the validated targets of one key
 */

#ifndef _RR_RESULT_H_
#define _RR_RESULT_H_

#include "core/str.h"

#include "rr_config.h"
#include "rr_target.h"

typedef struct rr_target
{
	str uri; /* NUL-terminated, points into the result's own buffer */
	int q;	 /* q-value in thousandths, -1 when the key has no scores */
} rr_target_t;

typedef struct rr_result
{
	int n;
	str key; /* the key that matched, without key_prefix (prefix matching:
			  * a prefix of the lookup key, or the default key) */
	char key_buf[RR_KEY_MAX + 1];
	rr_target_t t[RR_TARGETS_MAX];
	char buf[RR_TARGETS_MAX][RR_URI_MAX];
} rr_result_t;

/* No targets, no key: before a lookup writes into r. */
static inline void rr_result_clear(rr_result_t *r)
{
	r->n = 0;
	r->key.s = r->key_buf;
	r->key.len = 0;
}

#endif
