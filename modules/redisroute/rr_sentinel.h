/*
 * redisroute - Redis Sentinel: where the master is, and when it moves
 */

#ifndef _RR_SENTINEL_H_
#define _RR_SENTINEL_H_

#include "rr_conn.h"

/* Asks the sentinels, starting with *first (updated to the one that
 * answered), where the master is. Returns 0 with host (RR_URL_HOST_MAX) and
 * port set, or -1 with err set. */
int rr_sentinel_get_master(const rr_conn_cfg_t *cfg, int *first, char *host,
		int *port, char *err, int errlen);

/* The watcher: one process subscribed to +switch-master at a sentinel, so
 * that a failover is followed at once, not when the demoted master finally
 * closes its clients. In mod_init: registers it; in child_init(PROC_MAIN):
 * forks it. */
int rr_sentinel_watch_init(void);
int rr_sentinel_watch_fork(void);

#endif
