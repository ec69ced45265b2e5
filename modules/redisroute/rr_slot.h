/*
 * redisroute - Redis Cluster key slots and redirect replies (pure: libc only)
 */

#ifndef _RR_SLOT_H_
#define _RR_SLOT_H_

#define RR_SLOTS 16384

/* The cluster slot of a key: CRC16 (XMODEM) of the key, or of the part
 * between the first '{' and the next '}' when that part is not empty. */
unsigned int rr_key_slot(const char *key, int len);

#define RR_REDIRECT_MOVED 1
#define RR_REDIRECT_ASK 2

/* Parses an error reply "MOVED <slot> <host>:<port>" or "ASK <slot>
 * <host>:<port>" (the host may be an IPv6 address without brackets, or empty
 * for "the node that answered"). Returns RR_REDIRECT_MOVED or
 * RR_REDIRECT_ASK with slot, host (NUL-terminated, at most host_size - 1
 * bytes) and port set, or 0 when s is no well-formed redirect. */
int rr_redirect_parse(const char *s, int len, int *slot, char *host,
		int host_size, int *port);

#endif
