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

#include <string.h>

#include "core/dprint.h"
#include "core/pvar.h"

#include "rdr_pv.h"
#include "rdr_script.h"

enum rdr_pv_field
{
	RDR_PV_COUNT = 0,
	RDR_PV_URI,
	RDR_PV_Q,
	RDR_PV_KEY,
	RDR_PV_RC
};

int rdr_pv_parse_name(pv_spec_t *sp, str *in)
{
	int field;

	if(sp == NULL || in == NULL || in->len <= 0)
		return -1;
	if(in->len == 5 && strncmp(in->s, "count", 5) == 0)
		field = RDR_PV_COUNT;
	else if(in->len == 3 && strncmp(in->s, "uri", 3) == 0)
		field = RDR_PV_URI;
	else if(in->len == 1 && in->s[0] == 'q')
		field = RDR_PV_Q;
	else if(in->len == 3 && strncmp(in->s, "key", 3) == 0)
		field = RDR_PV_KEY;
	else if(in->len == 2 && strncmp(in->s, "rc", 2) == 0)
		field = RDR_PV_RC;
	else {
		LM_ERR("unknown $redisroute(%.*s): use count, uri, q, key or rc\n",
				in->len, in->s);
		return -1;
	}
	sp->pvp.pvn.type = PV_NAME_INTSTR;
	sp->pvp.pvn.u.isname.type = 0;
	sp->pvp.pvn.u.isname.name.n = field;
	return 0;
}

int rdr_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	static char qbuf[8];
	rdr_view_t v;
	int field = param->pvn.u.isname.name.n;
	int idx = 0, idxf = 0;
	str q;

	if(!rdr_answer_get(&v)) {
		if(field == RDR_PV_COUNT)
			return pv_get_sintval(msg, param, res, 0);
		return pv_get_null(msg, param, res);
	}
	if(field == RDR_PV_RC)
		return pv_get_sintval(msg, param, res, v.rc);
	if(field == RDR_PV_COUNT)
		return pv_get_sintval(msg, param, res, v.n);
	if(field == RDR_PV_KEY) {
		if(v.key.len == 0)
			return pv_get_null(msg, param, res);
		return pv_get_strval(msg, param, res, &v.key);
	}
	if(v.n == 0)
		return pv_get_null(msg, param, res);
	if(pv_get_spec_index(msg, param, &idx, &idxf) != 0) {
		LM_ERR("invalid index\n");
		return pv_get_null(msg, param, res);
	}
	if(idx < 0)
		idx += v.n;
	if(idx < 0 || idx >= v.n)
		return pv_get_null(msg, param, res);
	if(field == RDR_PV_URI)
		return pv_get_strval(msg, param, res, &v.t[idx].uri);
	if(v.t[idx].q < 0)
		return pv_get_null(msg, param, res);
	q.s = qbuf;
	q.len = rdr_qvalue_format(v.t[idx].q, qbuf);
	return pv_get_strval(msg, param, res, &q);
}
