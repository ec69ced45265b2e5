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
 * redisroute - TLS (rediss://) for the module's Redis connections
 *
 * Every connection the module opens goes through rdr_conn_dial(), which
 * hands it here right after the TCP connect. The SSL objects are ours, not
 * hiredis's redisSSLContext: hiredis sends SNI but does not check that the
 * certificate names the host, so the name (or IP address) is verified here
 * with OpenSSL's own host check.
 *
 * Built against a hiredis without hiredis_ssl (Debian 12's 0.14), this file
 * compiles to the refusal: rdr_tls_available() is 0 and mod_init refuses a
 * TLS configuration with one line.
 */

#ifndef _RDR_TLS_H_
#define _RDR_TLS_H_

#include <hiredis/hiredis.h>

#define RDR_TLS_PATH_MAX 256

typedef struct rdr_tls_cfg
{
	int verify; /* 0: no certificate check (warned about at start-up) */
	char ca_file[RDR_TLS_PATH_MAX];	  /* empty: the system CA store */
	char cert_file[RDR_TLS_PATH_MAX]; /* client certificate; empty: none */
	char key_file[RDR_TLS_PATH_MAX];
	char server_name[256]; /* verified and sent as SNI; empty: the host */
} rdr_tls_cfg_t;

/* 1 when this build has TLS (hiredis 1.0 or later with hiredis_ssl). */
int rdr_tls_available(void);

/* In mod_init: keeps cfg and checks that the CA, certificate and key load
 * (with a context it frees), so that a bad file stops start-up with its
 * name. Returns 0, or -1 logged. Each process makes its own context on its
 * first TLS connect (rdr_tls_start), never one inherited over fork. */
int rdr_tls_init(const rdr_tls_cfg_t *cfg);
/* Frees this process's context (one inherited is left alone). */
void rdr_tls_destroy(void);

/* The TLS handshake on a freshly connected ctx to host (the process's
 * context made first if it has none yet), bounded by the
 * socket timeouts the caller set, and a PING that shows the server accepted
 * the client. Returns 0 (hiredis then reads and writes through TLS), or -1
 * with detail set ("certificate verify failed (unable to get local issuer
 * certificate)", "wrong version number", "tlsv13 alert certificate
 * required"). */
int rdr_tls_start(
		redisContext *ctx, const char *host, char *detail, int detail_len);

/* The name certificates are checked against for host, for the status RPC:
 * tls_server_name, or host itself; "not verified" with tls_verify 0. */
const char *rdr_tls_verified_name(const char *host);

#endif
