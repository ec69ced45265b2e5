/*
 * redisroute - RPC commands (kamcmd redisroute.*)
 */

#ifndef _RR_RPC_H_
#define _RR_RPC_H_

#include "core/rpc.h"

extern rpc_export_t rr_rpc_cmds[];

#endif
