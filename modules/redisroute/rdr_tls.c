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
 */

#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/dprint.h"

#include "rdr_tls.h"

#ifdef RDR_HAVE_TLS

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <hiredis/hiredis_ssl.h>

static rdr_tls_cfg_t _rdr_tls_cfg;
/* One context per process, made on the process's first TLS connect and
 * owned by the process whose pid is _rdr_tls_pid; never one inherited over
 * fork. With Kamailio's tls.so loaded, OpenSSL allocates in Kamailio's
 * shared memory, so a context made in mod_init would be one object shared
 * by every process, its reference counts and locks (not process-shared)
 * changed by all of them at once. mod_init only checks the files, with a
 * context it frees (rdr_tls_init), like ndb_redis's per-child contexts. */
static SSL_CTX *_rdr_tls_ctx = NULL;
static pid_t _rdr_tls_pid = 0;
static int _rdr_tls_checked = 0; /* rdr_tls_init passed: _rdr_tls_cfg is set */

int rdr_tls_available(void)
{
	return 1;
}

/* OpenSSL's last error, in its own words ("no such file"). */
static const char *rdr_tls_last_error(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : "unknown TLS error";
}

static int rdr_tls_load_files(SSL_CTX *sctx, const rdr_tls_cfg_t *cfg)
{
	if(cfg->ca_file[0] != '\0') {
		if(SSL_CTX_load_verify_locations(sctx, cfg->ca_file, NULL) != 1) {
			LM_ERR("tls_ca_file '%s': %s\n", cfg->ca_file,
					rdr_tls_last_error());
			return -1;
		}
	} else if(SSL_CTX_set_default_verify_paths(sctx) != 1) {
		LM_ERR("cannot load the system CA store: %s\n", rdr_tls_last_error());
		return -1;
	}
	if(cfg->cert_file[0] == '\0')
		return 0;
	if(SSL_CTX_use_certificate_chain_file(sctx, cfg->cert_file) != 1) {
		LM_ERR("tls_cert_file '%s': %s\n", cfg->cert_file,
				rdr_tls_last_error());
		return -1;
	}
	if(SSL_CTX_use_PrivateKey_file(sctx, cfg->key_file, SSL_FILETYPE_PEM) != 1
			|| SSL_CTX_check_private_key(sctx) != 1) {
		LM_ERR("tls_key_file '%s': %s\n", cfg->key_file, rdr_tls_last_error());
		return -1;
	}
	return 0;
}

/* A client context with the CA, certificate and key of cfg loaded; NULL
 * (logged) when a file does not load. */
static SSL_CTX *rdr_tls_ctx_new(const rdr_tls_cfg_t *cfg)
{
	SSL_CTX *sctx = SSL_CTX_new(TLS_client_method());

	if(sctx == NULL) {
		LM_ERR("cannot create the TLS context: %s\n", rdr_tls_last_error());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(sctx, TLS1_2_VERSION);
	if(rdr_tls_load_files(sctx, cfg) < 0) {
		SSL_CTX_free(sctx);
		return NULL;
	}
	SSL_CTX_set_verify(
			sctx, cfg->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return sctx;
}

int rdr_tls_init(const rdr_tls_cfg_t *cfg)
{
	SSL_CTX *check;

	_rdr_tls_cfg = *cfg;
	redisInitOpenSSL();
	/* a bad file stops start-up here; the processes make their own */
	check = rdr_tls_ctx_new(cfg);
	if(check == NULL)
		return -1;
	SSL_CTX_free(check);
	_rdr_tls_checked = 1;
	if(!cfg->verify)
		LM_WARN("tls_verify 0: the Redis servers' certificates are not "
				"checked; whoever is on the path can read and change the "
				"routes\n");
	return 0;
}

/* This process's context, made on first use. One left by the process this
 * one was forked from is not ours: it is neither used nor freed here. */
static SSL_CTX *rdr_tls_ctx(char *detail, int detail_len)
{
	pid_t pid = getpid();

	if(_rdr_tls_ctx != NULL && _rdr_tls_pid == pid)
		return _rdr_tls_ctx;
	if(!_rdr_tls_checked) {
		snprintf(detail, detail_len, "TLS is not set up");
		return NULL;
	}
	_rdr_tls_ctx = rdr_tls_ctx_new(&_rdr_tls_cfg);
	if(_rdr_tls_ctx == NULL) {
		snprintf(detail, detail_len, "cannot set up the TLS context");
		return NULL;
	}
	_rdr_tls_pid = pid;
	LM_DBG("TLS context made for process %d\n", (int)pid);
	return _rdr_tls_ctx;
}

void rdr_tls_destroy(void)
{
	if(_rdr_tls_ctx != NULL && _rdr_tls_pid == getpid())
		SSL_CTX_free(_rdr_tls_ctx);
	_rdr_tls_ctx = NULL;
	_rdr_tls_pid = 0;
}

static int rdr_tls_is_ip(const char *name)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, name, addr) == 1
		   || inet_pton(AF_INET6, name, addr) == 1;
}

/* Sends the name as SNI (never an IP address, RFC 6066) and has OpenSSL
 * check that the certificate names it. Returns 0, or -1. */
static int rdr_tls_set_name(SSL *ssl, const char *name)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

	if(rdr_tls_is_ip(name))
		return _rdr_tls_cfg.verify
							   && X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1
					   ? -1
					   : 0;
	if(SSL_set_tlsext_host_name(ssl, name) != 1)
		return -1;
	if(_rdr_tls_cfg.verify && X509_VERIFY_PARAM_set1_host(vp, name, 0) != 1)
		return -1;
	return 0;
}

/* Why the handshake failed, in OpenSSL's words; a failed certificate
 * check says which check. */
static void rdr_tls_why(
		const redisContext *ctx, SSL *ssl, char *detail, int detail_len)
{
	static const char prefix[] = "SSL_connect failed: ";
	long vr = SSL_get_verify_result(ssl);
	const char *why = ctx->errstr;

	if(vr != X509_V_OK) {
		snprintf(detail, detail_len, "certificate verify failed (%s)",
				X509_verify_cert_error_string(vr));
		return;
	}
	if(strncmp(why, prefix, sizeof(prefix) - 1) == 0)
		why += sizeof(prefix) - 1;
	if(strstr(why, "temporarily unavailable") != NULL)
		why = "handshake timed out";
	snprintf(detail, detail_len, "%s", why[0] ? why : "handshake failed");
}

/* In TLS 1.3 a server that refuses the client (no certificate, or one it
 * does not trust) says so only after the client's side of the handshake is
 * done: one PING makes that refusal the handshake's error, not the first
 * lookup's. Returns 0, or -1 with detail set. */
static int rdr_tls_accepted(redisContext *ctx, char *detail, int detail_len)
{
	const char *argv[1] = {"PING"};
	redisReply *r = redisCommandArgv(ctx, 1, argv, NULL);
	unsigned long e;

	if(r != NULL) {
		/* any answer (PONG, NOAUTH) is from a server that accepted us */
		freeReplyObject(r);
		return 0;
	}
	e = ERR_peek_last_error();
	if(e != 0 && ERR_reason_error_string(e) != NULL)
		snprintf(detail, detail_len, "%s", ERR_reason_error_string(e));
	else
		snprintf(detail, detail_len, "the server closed the connection");
	ERR_clear_error();
	return -1;
}

int rdr_tls_start(
		redisContext *ctx, const char *host, char *detail, int detail_len)
{
	const char *name =
			_rdr_tls_cfg.server_name[0] ? _rdr_tls_cfg.server_name : host;
	SSL_CTX *sctx;
	SSL *ssl;

	ERR_clear_error();
	sctx = rdr_tls_ctx(detail, detail_len);
	if(sctx == NULL)
		return -1;
	ssl = SSL_new(sctx);
	if(ssl == NULL) {
		snprintf(detail, detail_len, "%s", rdr_tls_last_error());
		return -1;
	}
	if(rdr_tls_set_name(ssl, name) < 0) {
		snprintf(detail, detail_len, "bad TLS server name '%.64s'", name);
		SSL_free(ssl);
		return -1;
	}
	/* on success hiredis owns ssl (redisFree frees it); on failure we do */
	if(redisInitiateSSL(ctx, ssl) != REDIS_OK) {
		rdr_tls_why(ctx, ssl, detail, detail_len);
		SSL_free(ssl);
		ERR_clear_error();
		return -1;
	}
	return rdr_tls_accepted(ctx, detail, detail_len);
}

const char *rdr_tls_verified_name(const char *host)
{
	if(!_rdr_tls_cfg.verify)
		return "not verified (tls_verify 0)";
	return _rdr_tls_cfg.server_name[0] ? _rdr_tls_cfg.server_name : host;
}

#else /* no hiredis_ssl: the refusal */

int rdr_tls_available(void)
{
	return 0;
}

int rdr_tls_init(const rdr_tls_cfg_t *cfg)
{
	LM_ERR("TLS needs hiredis 1.0 or later with hiredis_ssl\n");
	return -1;
}

void rdr_tls_destroy(void)
{
}

int rdr_tls_start(
		redisContext *ctx, const char *host, char *detail, int detail_len)
{
	snprintf(detail, detail_len, "TLS is not built in");
	return -1;
}

const char *rdr_tls_verified_name(const char *host)
{
	return "";
}

#endif
