/*
 * redisroute - module parameters shared between the module's files
 */

#ifndef _REDISROUTE_H_
#define _REDISROUTE_H_

extern int redisroute_redirect_code;
extern int redisroute_max_targets;
extern int redisroute_list_q;

#endif
