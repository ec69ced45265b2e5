/*
 * redisroute - reading a subscribed Redis connection (pub/sub)
 */

#ifndef _RR_SUB_H_
#define _RR_SUB_H_

#include <hiredis/hiredis.h>

/* Reads ctx, subscribed, until it fails, stays silent for 3 s (it is PINGed
 * every second of silence, and Redis answers PINGs while subscribed) or
 * stop() returns non-zero; hands every message to on_message. For the
 * module's forked processes: it calls cfg_update() between reads. */
void rr_sub_listen(redisContext *ctx, void (*on_message)(const redisReply *),
		int (*stop)(void));

/* The payload of a pushed message: ["message", channel, payload] or
 * ["pmessage", pattern, channel, payload]; NULL for anything else (pongs,
 * subscription confirmations). *channel is set when not NULL. */
const redisReply *rr_sub_payload(
		const redisReply *r, const redisReply **channel);

#endif
