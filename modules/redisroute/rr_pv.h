/*
 * redisroute - $redisroute(...): the result of the last lookup
 */

#ifndef _RR_PV_H_
#define _RR_PV_H_

#include "core/pvar.h"

/* $redisroute(count)            number of targets (0 after no route)
 * $redisroute(uri)              first target; $(redisroute(uri)[N]) the
 *                               N-th (from 0; negative counts from the end)
 * $redisroute(q)                its q-value ("0.5"), $null without score
 * $redisroute(key)              the key that matched, without key_prefix
 */
int rr_pv_parse_name(pv_spec_t *sp, str *in);
int rr_pv_get(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

#endif
