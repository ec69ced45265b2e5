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
 * redisroute - unit tests for rdr_url.c (check framework)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "test_util.h"

#include "rdr_url.h"

static int parse(const char *s, rdr_server_url_t *url, const char **err)
{
	return rdr_url_parse(s, (int)strlen(s), url, err);
}

/*
 * accepted URLs
 */

typedef struct ok_case
{
	const char *s;
	int is_unix;
	const char *host;
	int port;
	const char *path;
	const char *user;
	const char *password;
	int db;
} ok_case_t;

static const ok_case_t ok_cases[] = {
		{"redis://127.0.0.1", 0, "127.0.0.1", 6379, "", "", "", 0},
		{"redis://h:6380/3", 0, "h", 6380, "", "", "", 3},
		{"redis://:secret@h", 0, "h", 6379, "", "", "secret", 0},
		{"redis://user:pa%40ss@h:1/2", 0, "h", 1, "", "user", "pa@ss", 2},
		{"redis://[::1]:7000/1", 0, "::1", 7000, "", "", "", 1},
		{"redis://[::1]", 0, "::1", 6379, "", "", "", 0},
		{"redis://[2001:db8::1]/5", 0, "2001:db8::1", 6379, "", "", "", 5},
		{"redis://[::ffff:192.0.2.1]:1", 0, "::ffff:192.0.2.1", 1, "", "", "",
				0},
		{"redis://h/", 0, "h", 6379, "", "", "", 0},
		{"redis://h:6379/", 0, "h", 6379, "", "", "", 0},
		{"redis://h/0", 0, "h", 6379, "", "", "", 0},
		{"redis://redis.example.com:65535/65535", 0, "redis.example.com", 65535,
				"", "", "", 65535},
		{"redis://my_host-1.local", 0, "my_host-1.local", 6379, "", "", "", 0},
		{"redis://u%3Ax:p%3a%2Fw@h", 0, "h", 6379, "", "u:x", "p:/w", 0},
		{"redis://:p:w@h", 0, "h", 6379, "", "", "p:w", 0},
		/* lenient: the last '@' ends the credentials */
		{"redis://a:b@c@h", 0, "h", 6379, "", "a", "b@c", 0},
		/* TLS: the same syntax */
		{"rediss://h", 0, "h", 6379, "", "", "", 0},
		{"rediss://u:pw@[::1]:6380/4", 0, "::1", 6380, "", "u", "pw", 4},
		{"unix:/run/redis.sock", 1, "", 6379, "/run/redis.sock", "", "", 0},
		/* "unix://" followed by an absolute path */
		{"unix:///run/redis.sock", 1, "", 6379, "/run/redis.sock", "", "", 0},
		{"unix:/tmp/r.sock?db=2&password=x&user=u", 1, "", 6379, "/tmp/r.sock",
				"u", "x", 2},
		{"unix:/tmp/r.sock?user=a%20b&password=p%26q", 1, "", 6379,
				"/tmp/r.sock", "a b", "p&q", 0},
		{"unix:/tmp/r.sock?db=65535", 1, "", 6379, "/tmp/r.sock", "", "",
				65535},
		{"unix:/tmp/r.sock?db=0", 1, "", 6379, "/tmp/r.sock", "", "", 0},
};

START_TEST(test_parse_ok)
{
	const ok_case_t *c = &ok_cases[_i];
	rdr_server_url_t url;
	const char *err = NULL;
	int ret;

	memset(&url, 0x55, sizeof(url));
	ret = parse(c->s, &url, &err);
	ck_assert_msg(ret == 0, "\"%s\": returned %d (%s)", c->s, ret,
			err ? err : "no error text");
	ck_assert_int_eq(url.is_unix, c->is_unix);
	ck_assert_int_eq(url.tls, strncmp(c->s, "rediss://", 9) == 0);
	ck_assert_str_eq(url.user, c->user);
	ck_assert_str_eq(url.password, c->password);
	ck_assert_int_eq(url.db, c->db);
	if(c->is_unix) {
		ck_assert_str_eq(url.path, c->path);
	} else {
		ck_assert_str_eq(url.host, c->host);
		ck_assert_int_eq(url.port, c->port);
		ck_assert_str_eq(url.path, "");
	}
}
END_TEST

/* "unix://" is read as "unix:" plus "//", so the path after it must be
 * absolute: "unix://run/redis.sock" is refused, not taken as "run/..." */
START_TEST(test_unix_double_slash)
{
	rdr_server_url_t url;
	const char *err = NULL;

	ck_assert_int_eq(parse("unix:///run/redis.sock", &url, &err), 0);
	ck_assert_int_eq(url.is_unix, 1);
	ck_assert_str_eq(url.path, "/run/redis.sock");

	ck_assert_int_eq(parse("unix://run/redis.sock", &url, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "absolute"));
}
END_TEST

/* only len bytes are read */
START_TEST(test_parse_len_respected)
{
	rdr_server_url_t url;
	const char *err = NULL;

	ck_assert_int_eq(rdr_url_parse("redis://h:6380/3junk", 16, &url, &err), 0);
	ck_assert_str_eq(url.host, "h");
	ck_assert_int_eq(url.port, 6380);
	ck_assert_int_eq(url.db, 3);

	ck_assert_int_eq(rdr_url_parse("unix:/a.sock?x", 12, &url, &err), 0);
	ck_assert_str_eq(url.path, "/a.sock");
}
END_TEST

/* a second parse starts from scratch */
START_TEST(test_parse_resets)
{
	rdr_server_url_t url;
	const char *err = NULL;

	ck_assert_int_eq(
			parse("unix:/tmp/r.sock?db=2&password=x&user=u", &url, &err), 0);
	ck_assert_int_eq(parse("redis://h", &url, &err), 0);
	ck_assert_int_eq(url.is_unix, 0);
	ck_assert_str_eq(url.path, "");
	ck_assert_str_eq(url.user, "");
	ck_assert_str_eq(url.password, "");
	ck_assert_int_eq(url.db, 0);
	ck_assert_int_eq(url.port, 6379);
}
END_TEST

/*
 * refused URLs: -1 and an explanation
 */

typedef struct bad_case
{
	const char *s;
	int len;			/* -1: strlen(s) */
	const char *needle; /* expected in err, or NULL */
} bad_case_t;

static const bad_case_t bad_cases[] = {
		{"", -1, "empty"},
		{"redis://h", 0, "empty"},
		{"redis://h", -5, "empty"},
		{"h:6379", -1, "redis://"},
		{"http://h", -1, "redis://"},
		{"redis:/h", -1, "redis://"},
		{"redis:h", -1, "redis://"},
		{"rediss://", -1, "missing host"},
		{"rediss:/h", -1, "redis://"},
		{"rediss://h:0", -1, "port"},
		{"redis://h\0x", 11, "NUL"},
		{"unix:/tmp/r\0.sock", 17, "NUL"},
		/* host */
		{"redis://", -1, "missing host"},
		{"redis:///3", -1, "missing host"},
		{"redis://:secret@", -1, "missing host"},
		{"redis://:6379", -1, "host"},
		{"redis://:secret@:6379", -1, "host"},
		{"redis://h!x", -1, "host"},
		{"redis://h x", -1, "host"},
		{"redis://h\r\n", -1, "host"},
		{"redis://h\xc3\xa9", -1, "host"},
		/* port */
		{"redis://h:0", -1, "port"},
		{"redis://h:65536", -1, "port"},
		{"redis://h:abc", -1, "port"},
		{"redis://h:", -1, "port"},
		{"redis://h:/1", -1, "port"},
		{"redis://h:-1", -1, "port"},
		{"redis://h:6379x", -1, "port"},
		{"redis://h:6379:1", -1, "port"},
		{"redis://h:1234567890", -1, "port"},
		/* db */
		{"redis://h/abc", -1, "db"},
		{"redis://h/70000", -1, "db"},
		{"redis://h/65536", -1, "db"},
		{"redis://h/-1", -1, "db"},
		{"redis://h/1/2", -1, "db"},
		{"redis://h:6379/x", -1, "db"},
		/* credentials */
		{"redis://user@h", -1, "credentials"},
		{"redis://@h", -1, "credentials"},
		{"redis://u:@h", -1, "empty password"},
		{"redis://:@h", -1, "empty password"},
		{"redis://:pa%4@h", -1, "escape"},
		{"redis://:pa%zzss@h", -1, "escape"},
		{"redis://:pa%@h", -1, "escape"},
		{"redis://u%2:p@h", -1, "escape"},
		{"redis://u:p%00w@h", -1, NULL},
		{"redis://:pa/ss@h", -1, NULL},
		/* IPv6 */
		{"redis://[zz]:1", -1, "IPv6"},
		{"redis://[::1", -1, "IPv6"},
		{"redis://[]", -1, "IPv6"},
		{"redis://[:]", -1, "IPv6"},
		{"redis://[ab]", -1, "IPv6"},
		{"redis://[ab]:6379", -1, "IPv6"},
		{"redis://[::1]x", -1, "garbage"},
		{"redis://[::1]:", -1, "port"},
		{"redis://[::1]:0", -1, "port"},
		/* unix */
		{"unix:relative", -1, "absolute"},
		{"unix:relative/r.sock", -1, "absolute"},
		{"unix:", -1, "absolute"},
		{"unix:/", -1, "absolute"},
		{"unix:?db=1", -1, "absolute"},
		{"unix:/p?foo=1", -1, "unknown"},
		{"unix:/p?db=1&foo=1", -1, "unknown"},
		{"unix:/p?DB=1", -1, "unknown"},
		{"unix:/p?db", -1, "key=value"},
		{"unix:/p?db=", -1, "db"},
		{"unix:/p?db=x", -1, "db"},
		{"unix:/p?db=65536", -1, "db"},
		{"unix:/p?password=%4", -1, "password"},
		{"unix:/p?password=a%00b", -1, "password"},
		{"unix:/p?user=%zz", -1, "user"},
};

START_TEST(test_parse_bad)
{
	const bad_case_t *c = &bad_cases[_i];
	rdr_server_url_t url;
	const char *err = NULL;
	int len, ret;

	len = c->len == -1 ? (int)strlen(c->s) : c->len;
	ret = rdr_url_parse(c->s, len, &url, &err);
	ck_assert_msg(ret == -1, "case %d \"%s\": returned %d", _i, c->s, ret);
	ck_assert_msg(err != NULL && err[0] != '\0', "case %d: no error text", _i);
	if(c->needle != NULL)
		ck_assert_msg(strstr(err, c->needle) != NULL,
				"case %d: \"%s\" not in \"%s\"", _i, c->needle, err);
}
END_TEST

START_TEST(test_parse_null)
{
	rdr_server_url_t url;
	const char *err = NULL;

	ck_assert_int_eq(rdr_url_parse(NULL, 5, &url, &err), -1);
	ck_assert_ptr_nonnull(err);
	/* err may be NULL */
	ck_assert_int_eq(rdr_url_parse("http://h", 8, &url, NULL), -1);
	ck_assert_int_eq(rdr_url_parse("redis://h", 9, &url, NULL), 0);
}
END_TEST

/*
 * length limits
 */

START_TEST(test_unix_path_length)
{
	rdr_server_url_t url;
	const char *err = NULL;
	char buf[512];
	char *p;

	/* 200 characters */
	p = repeat('p', 200);
	p[0] = '/';
	snprintf(buf, sizeof(buf), "unix:%s", p);
	ck_assert_int_eq(parse(buf, &url, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
	free(p);

	/* sun_path holds RDR_URL_PATH_MAX - 1 characters and the NUL */
	p = repeat('p', RDR_URL_PATH_MAX - 1);
	p[0] = '/';
	snprintf(buf, sizeof(buf), "unix:%s?db=1", p);
	ck_assert_int_eq(parse(buf, &url, &err), 0);
	ck_assert_str_eq(url.path, p);
	ck_assert_int_eq(url.db, 1);
	free(p);

	p = repeat('p', RDR_URL_PATH_MAX);
	p[0] = '/';
	snprintf(buf, sizeof(buf), "unix:%s", p);
	ck_assert_int_eq(parse(buf, &url, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
	free(p);
}
END_TEST

START_TEST(test_host_length)
{
	rdr_server_url_t url;
	const char *err = NULL;
	char buf[1024];
	char *h;

	h = repeat('h', RDR_URL_HOST_MAX - 1);
	snprintf(buf, sizeof(buf), "redis://%s:1", h);
	ck_assert_int_eq(parse(buf, &url, &err), 0);
	ck_assert_str_eq(url.host, h);
	free(h);

	h = repeat('h', RDR_URL_HOST_MAX);
	snprintf(buf, sizeof(buf), "redis://%s:1", h);
	ck_assert_int_eq(parse(buf, &url, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(h);

	h = repeat(':', RDR_URL_HOST_MAX);
	snprintf(buf, sizeof(buf), "redis://[%s]:1", h);
	ck_assert_int_eq(parse(buf, &url, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(h);
}
END_TEST

START_TEST(test_cred_length)
{
	rdr_server_url_t url;
	const char *err = NULL;
	char buf[2048];
	char *c;

	c = repeat('c', RDR_URL_CRED_MAX - 1);
	snprintf(buf, sizeof(buf), "redis://%s:%s@h", c, c);
	ck_assert_int_eq(parse(buf, &url, &err), 0);
	ck_assert_str_eq(url.user, c);
	ck_assert_str_eq(url.password, c);
	free(c);

	c = repeat('c', RDR_URL_CRED_MAX);
	snprintf(buf, sizeof(buf), "redis://:%s@h", c);
	ck_assert_int_eq(parse(buf, &url, &err), -1);
	ck_assert_ptr_nonnull(err);
	snprintf(buf, sizeof(buf), "redis://%s:pw@h", c);
	ck_assert_int_eq(parse(buf, &url, &err), -1);
	snprintf(buf, sizeof(buf), "unix:/p?password=%s", c);
	ck_assert_int_eq(parse(buf, &url, &err), -1);
	snprintf(buf, sizeof(buf), "unix:/p?user=%s", c);
	ck_assert_int_eq(parse(buf, &url, &err), -1);
	free(c);
}
END_TEST

/*
 * rdr_url_print
 */

typedef struct print_case
{
	const char *s;
	const char *expect;
} print_case_t;

static const print_case_t print_cases[] = {
		{"redis://127.0.0.1", "127.0.0.1:6379"},
		{"redis://[::1]:7000/1", "[::1]:7000/1"},
		{"redis://[::1]", "[::1]:6379"},
		{"unix:/run/redis.sock", "unix:/run/redis.sock"},
		{"unix:///run/redis.sock", "unix:/run/redis.sock"},
		{"unix:/tmp/r.sock?db=2&password=x&user=u", "unix:/tmp/r.sock?db=2"},
		{"redis://h:6380/3", "h:6380/3"},
		{"redis://h/0", "h:6379"},
		{"redis://user:pa%40ss@h:1/2", "h:1/2"},
		{"redis://:secret@h", "h:6379"},
};

START_TEST(test_print)
{
	const print_case_t *c = &print_cases[_i];
	rdr_server_url_t url;
	const char *err = NULL;
	char out[512];
	int ret;

	ck_assert_int_eq(parse(c->s, &url, &err), 0);
	memset(out, 'X', sizeof(out));
	ret = rdr_url_print(&url, out, sizeof(out));
	ck_assert_str_eq(out, c->expect);
	ck_assert_int_eq(ret, (int)strlen(c->expect));
}
END_TEST

/* the credentials never reach a log line */
START_TEST(test_print_no_credentials)
{
	static const char *urls[] = {"redis://admin:Sup3rS3cret@h:1/2",
			"redis://:Sup3rS3cret@[::1]:7000/1",
			"redis://admin:Sup3r%53%33cret@127.0.0.1",
			"unix:/tmp/r.sock?db=2&password=Sup3rS3cret&user=admin",
			"unix:/tmp/r.sock?password=Sup3rS3cret"};
	rdr_server_url_t url;
	const char *err = NULL;
	char out[512];
	int i;

	for(i = 0; i < (int)(sizeof(urls) / sizeof(urls[0])); i++) {
		ck_assert_int_eq(parse(urls[i], &url, &err), 0);
		ck_assert_str_eq(url.password, "Sup3rS3cret");
		rdr_url_print(&url, out, sizeof(out));
		ck_assert_msg(strstr(out, "Sup3r") == NULL, "password in \"%s\"", out);
		ck_assert_msg(strstr(out, "admin") == NULL, "user in \"%s\"", out);
		ck_assert_msg(strchr(out, '@') == NULL, "'@' in \"%s\"", out);
	}
}
END_TEST

/* a short buffer is filled, NUL-terminated and never overrun */
START_TEST(test_print_truncated)
{
	rdr_server_url_t url;
	const char *err = NULL;
	char out[32];
	int ret;

	ck_assert_int_eq(parse("redis://127.0.0.1", &url, &err), 0);
	memset(out, 'X', sizeof(out));
	ret = rdr_url_print(&url, out, 5);
	ck_assert_int_eq(ret, 4);
	ck_assert_str_eq(out, "127.");
	ck_assert_int_eq(out[5], 'X');

	/* the host fits, the db does not */
	ck_assert_int_eq(parse("redis://h:1/2", &url, &err), 0);
	memset(out, 'X', sizeof(out));
	ret = rdr_url_print(&url, out, 5);
	ck_assert_int_eq(ret, 4);
	ck_assert_str_eq(out, "h:1/");
	ck_assert_int_eq(out[5], 'X');

	/* neither fits */
	ck_assert_int_eq(parse("redis://[::1]:7000/1", &url, &err), 0);
	memset(out, 'X', sizeof(out));
	ret = rdr_url_print(&url, out, 8);
	ck_assert_int_eq(ret, 7);
	ck_assert_str_eq(out, "[::1]:7");
	ck_assert_int_eq(out[8], 'X');

	/* exactly enough */
	ck_assert_int_eq(parse("redis://h:1/2", &url, &err), 0);
	ret = rdr_url_print(&url, out, 6);
	ck_assert_int_eq(ret, 5);
	ck_assert_str_eq(out, "h:1/2");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* the `sentinels` list: host:port, [v6]:port, host (default port) */
START_TEST(test_hostports_ok)
{
	const char *in = " 127.0.0.1:26379, [::1]:26380,sentinel-3 ,";
	rdr_hostport_t hp[RDR_SENTINELS_MAX];
	const char *err = NULL;

	ck_assert_int_eq(rdr_hostports_parse(in, (int)strlen(in), 26379, hp,
							 RDR_SENTINELS_MAX, NULL, &err),
			3);
	ck_assert_str_eq(hp[0].host, "127.0.0.1");
	ck_assert_int_eq(hp[0].port, 26379);
	ck_assert_str_eq(hp[1].host, "::1");
	ck_assert_int_eq(hp[1].port, 26380);
	ck_assert_str_eq(hp[2].host, "sentinel-3");
	ck_assert_int_eq(hp[2].port, 26379);
}
END_TEST

START_TEST(test_hostports_scheme)
{
	const char *in = "rediss://127.0.0.1:26379,[::1]:26380";
	const char *plain = "redis://s1";
	rdr_hostport_t hp[RDR_SENTINELS_MAX];
	const char *err = NULL;
	int tls = -1;

	ck_assert_int_eq(rdr_hostports_parse(in, (int)strlen(in), 26379, hp,
							 RDR_SENTINELS_MAX, &tls, &err),
			2);
	ck_assert_int_eq(tls, 1);
	ck_assert_str_eq(hp[1].host, "::1");
	ck_assert_int_eq(rdr_hostports_parse(plain, (int)strlen(plain), 26379, hp,
							 RDR_SENTINELS_MAX, &tls, &err),
			1);
	ck_assert_int_eq(tls, 0);
	ck_assert_str_eq(hp[0].host, "s1");
	/* where no scheme is taken (cluster_seeds) */
	ck_assert_int_eq(rdr_hostports_parse(in, (int)strlen(in), 6379, hp,
							 RDR_SENTINELS_MAX, NULL, &err),
			-1);
}
END_TEST

START_TEST(test_cluster_query)
{
	rdr_server_url_t url;
	const char *err = NULL;
	const char *in = "redis://u:p%3Fq@10.0.0.1:7000?cluster=1";

	ck_assert_int_eq(rdr_url_parse(in, (int)strlen(in), &url, &err), 0);
	ck_assert_int_eq(url.cluster, 1);
	ck_assert_str_eq(url.host, "10.0.0.1");
	ck_assert_int_eq(url.port, 7000);
	ck_assert_str_eq(url.password, "p?q");
	in = "rediss://h/0?cluster=0";
	ck_assert_int_eq(rdr_url_parse(in, (int)strlen(in), &url, &err), 0);
	ck_assert_int_eq(url.cluster, 0);
	ck_assert_int_eq(url.tls, 1);
	in = "redis://h";
	ck_assert_int_eq(rdr_url_parse(in, (int)strlen(in), &url, &err), 0);
	ck_assert_int_eq(url.cluster, 0);
	in = "redis://h?cluster=yes";
	ck_assert_int_eq(rdr_url_parse(in, (int)strlen(in), &url, &err), -1);
	in = "redis://h?db=1";
	ck_assert_int_eq(rdr_url_parse(in, (int)strlen(in), &url, &err), -1);
}
END_TEST

static const char *hostports_bad[] = {"", ",", " , ", "h:0", "h:65536", "h:x",
		"[zz]:1", "[::1", "a b:1", "h:1,h:99999", "h\r\n:1",
		"1,2,3,4,5,6,7,8,9"};

START_TEST(test_hostports_bad)
{
	const char *in = hostports_bad[_i];
	rdr_hostport_t hp[RDR_SENTINELS_MAX];
	const char *err = NULL;

	ck_assert_int_eq(rdr_hostports_parse(in, (int)strlen(in), 26379, hp,
							 RDR_SENTINELS_MAX, NULL, &err),
			-1);
	ck_assert_ptr_nonnull(err);
}
END_TEST

static Suite *url_suite(void)
{
	Suite *s = suite_create("rdr_url");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_ok, 0, N(ok_cases));
	tcase_add_test(tc, test_unix_double_slash);
	tcase_add_test(tc, test_parse_len_respected);
	tcase_add_test(tc, test_parse_resets);
	suite_add_tcase(s, tc);

	tc = tcase_create("reject");
	tcase_add_loop_test(tc, test_parse_bad, 0, N(bad_cases));
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_unix_path_length);
	tcase_add_test(tc, test_host_length);
	tcase_add_test(tc, test_cred_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("print");
	tcase_add_loop_test(tc, test_print, 0, N(print_cases));
	tcase_add_test(tc, test_print_no_credentials);
	tcase_add_test(tc, test_print_truncated);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostports");
	tcase_add_test(tc, test_hostports_ok);
	tcase_add_test(tc, test_hostports_scheme);
	tcase_add_test(tc, test_cluster_query);
	tcase_add_loop_test(tc, test_hostports_bad, 0, N(hostports_bad));
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return run_suite(url_suite());
}
