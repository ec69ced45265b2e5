/*
 * Copyright (C) 2026 redisroute authors
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
 * redisroute - one lookup: key -> Redis -> validated target list
 */

#ifndef _RR_LOOKUP_H_
#define _RR_LOOKUP_H_

#include <hiredis/hiredis.h>

#include "core/str.h"

#include "rr_backend.h"
#include "rr_config.h"
#include "rr_result.h"

/* In mod_init, after the connection is configured; backend: where lookups
 * go (rr_backend.h). */
int rr_lookup_init(const str *prefix, int max_targets,
		const rr_prefix_cfg_t *pfx, const rr_backend_t *backend);

/* Resolves key (without the prefix) into res; with prefix matching, the
 * longest existing prefix of key wins, then the default key. ruri_user and
 * sips are what a bare-host target is completed with. Returns RR_OK,
 * RR_NO_ROUTE, RR_UNAVAILABLE or RR_BAD_DATA, and counts the statistics. */
int rr_lookup(const str *key, const str *ruri_user, int sips, rr_result_t *res);

/* Where lookups go, as rr_lookup_init set it. */
const rr_backend_t *rr_lookup_backend(void);

/* 1 when prefix matching is on. */
int rr_lookup_prefix_mode(void);

/* Logs bad route data of key (a rejected target, a wrong type): once per
 * (key, value) and process every few minutes, not once per request. */
void rr_lookup_report(
		const str *key, const char *raw, int raw_len, const char *why);

#endif
