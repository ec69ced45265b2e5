/*
 * redisroute - the script functions, shared by the cfg and KEMI wrappers
 */

#ifndef _RR_FUNCS_H_
#define _RR_FUNCS_H_

#include "core/parser/msg_parser.h"
#include "core/str.h"

/* In mod_init: binds sl. */
int rr_funcs_init(void);

/* sip_redirect(): key NULL means the Request-URI user; code 0 means the
 * redirect_code parameter. Returns 1 or a negative RR_ code. */
int rr_sip_redirect(sip_msg_t *msg, str *key, int code);

#endif
