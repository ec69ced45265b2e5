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
 * apitest - a test module that uses redisroute's C API, as another module
 * would (tests/e2e/test_api.py)
 *
 * mod_init binds with redisroute_load_api(); the script function
 * apitest_lookup(key) calls api.lookup() with the R-URI's user and scheme
 * and puts the result into headers of the reply the script sends next: one
 * Contact per target, X-Api-Key with the key that matched. It returns what
 * api.lookup() returned.
 */

#include <stdio.h>

#include "core/data_lump_rpl.h"
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/parser/msg_parser.h"
#include "core/parser/parse_uri.h"
#include "core/sr_module.h"

#include "../../modules/redisroute/api.h"

MODULE_VERSION

static redisroute_api_t apitest_rr;
/* one per process, as a caller of the API keeps it: too big for the stack */
static rdr_result_t apitest_res;

static int mod_init(void);
static int w_apitest_lookup(sip_msg_t *msg, char *key, char *p2);

/* clang-format off */
static cmd_export_t cmds[] = {
	{"apitest_lookup", (cmd_function)w_apitest_lookup, 1, fixup_spve_null,
		fixup_free_spve_null, REQUEST_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

struct module_exports exports = {
	"apitest",        /* module name */
	DEFAULT_DLFLAGS,  /* dlopen flags */
	cmds,             /* cfg functions */
	0,                /* parameters */
	0,                /* RPC commands */
	0,                /* pseudo-variables */
	0,                /* response handling */
	mod_init,         /* module init */
	0,                /* per-process init */
	0                 /* destroy */
};
/* clang-format on */

static int mod_init(void)
{
	/* what test_api.py checks when redisroute is not loaded: the start-up
	 * fails with redisroute_load_api()'s error */
	if(redisroute_load_api(&apitest_rr) < 0)
		return -1;
	if(apitest_rr.lookup == NULL) {
		LM_ERR("the redisroute api has no lookup function\n");
		return -1;
	}
	return 0;
}

/* Adds "<before><v><after>\r\n" to the headers of the next reply. */
static int apitest_reply_hdr(
		sip_msg_t *msg, const char *before, const str *v, const char *after)
{
	char hdr[RDR_URI_MAX + 64];
	int len;

	len = snprintf(
			hdr, sizeof(hdr), "%s%.*s%s\r\n", before, v->len, v->s, after);
	if(len < 0 || len >= (int)sizeof(hdr)) {
		LM_ERR("reply header too long\n");
		return -1;
	}
	/* add_lump_rpl() copies hdr (no LUMP_RPL_NODUP) */
	if(add_lump_rpl(msg, hdr, len, LUMP_RPL_HDR) == NULL) {
		LM_ERR("cannot add a header to the reply\n");
		return -1;
	}
	return 0;
}

static int w_apitest_lookup(sip_msg_t *msg, char *key, char *p2)
{
	str skey;
	int rc, i;

	if(fixup_get_svalue(msg, (gparam_t *)key, &skey) < 0) {
		LM_ERR("cannot get the key\n");
		return -4;
	}
	if(parse_sip_msg_uri(msg) < 0) {
		LM_ERR("cannot parse the Request-URI\n");
		return -4;
	}
	rc = apitest_rr.lookup(&skey, &msg->parsed_uri.user,
			msg->parsed_uri.type == SIPS_URI_T, &apitest_res);
	LM_INFO("api lookup of '%.*s': %d, %d target(s)\n", skey.len, skey.s, rc,
			apitest_res.n);
	if(rc != 1)
		return rc;
	for(i = 0; i < apitest_res.n; i++) {
		if(apitest_reply_hdr(msg, "Contact: <", &apitest_res.t[i].uri, ">") < 0)
			return -4;
	}
	if(apitest_reply_hdr(msg, "X-Api-Key: ", &apitest_res.key, "") < 0)
		return -4;
	return rc;
}
