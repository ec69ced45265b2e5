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
 * redisroute - the C API, for other modules (bind_redisroute)
 *
 * A module that routes on its own terms but wants redisroute's lookup (one
 * round trip, the cache, Sentinel and Cluster, the validation of every
 * target) binds to it in its mod_init:
 *
 *   #include "../redisroute/api.h"
 *
 *   static redisroute_api_t rrapi;
 *
 *   if(redisroute_load_api(&rrapi) < 0)
 *       return -1;
 *
 * and calls rrapi.lookup() while it processes messages (not in mod_init:
 * the per-process Redis connections are opened in child_init). The header
 * includes "core/..." as the module's own files do, so the Kamailio source
 * directory (src/) must be on the include path, and it takes hiredis'
 * headers through rdr_lookup.h, as ndb_redis/api.h does.
 */

#ifndef _REDISROUTE_API_H_
#define _REDISROUTE_API_H_

#include "core/dprint.h"
#include "core/sr_module.h"
#include "core/str.h"

#include "rdr_lookup.h"

/* Resolves key (without key_prefix) into the caller's res, exactly as
 * sip_lookup() does: with prefix_match, the longest existing prefix wins,
 * then prefix_default_key; a bare-host target is completed with ruri_user
 * (NULL: none) and the sip: or, when sips is set, the sips: scheme.
 * Returns 1 (targets in res->t[0 .. res->n - 1], res->key the key that
 * matched), -1 (no route), -2 (Redis unavailable, timed out or answered an
 * error) or -3 (bad route data), and -4 when res is NULL. rdr_result_t is
 * about 45 KB: keep it static or allocated, not on the stack. */
typedef int (*redisroute_lookup_f)(
		const str *key, const str *ruri_user, int sips, rdr_result_t *res);

typedef struct redisroute_api
{
	redisroute_lookup_f lookup;
} redisroute_api_t;

typedef int (*bind_redisroute_f)(redisroute_api_t *api);
int bind_redisroute(redisroute_api_t *api);

/* Fills api from the loaded redisroute module; -1 when it is not loaded
 * (loadmodule "redisroute.so" before the module that calls this). */
static inline int redisroute_load_api(redisroute_api_t *api)
{
	bind_redisroute_f bindredisroute;

	bindredisroute = (bind_redisroute_f)find_export("bind_redisroute", 0, 0);
	if(bindredisroute == 0) {
		LM_ERR("cannot find bind_redisroute (is redisroute.so loaded?)\n");
		return -1;
	}
	if(bindredisroute(api) < 0) {
		LM_ERR("cannot bind the redisroute api\n");
		return -1;
	}
	return 0;
}

#endif
