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
 * redisroute - $redisroute(...): the result of the last lookup
 */

#ifndef _RDR_PV_H_
#define _RDR_PV_H_

#include "core/pvar.h"

/* $redisroute(count)            number of targets (0 after no route)
 * $redisroute(uri)              first target; $(redisroute(uri)[N]) the
 *                               N-th (from 0; negative counts from the end)
 * $redisroute(q)                its q-value ("0.5"); $null when it has none
 *                               (a string)
 * $redisroute(key)              the key that matched, without key_prefix
 */
int rdr_pv_parse_name(pv_spec_t *sp, str *in);
int rdr_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

#endif
