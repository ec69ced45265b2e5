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
 * redisroute - the lookup script's reply, read without the core (pure: libc
 * and hiredis's reply type only)
 */

#include <string.h>

#include "rdr_reply.h"
#include "rdr_target.h"

static int rdr_is_string(const redisReply *e)
{
	return e != NULL && e->type == REDIS_REPLY_STRING;
}

static int rdr_type_is(const rdr_reply_t *it, const char *name)
{
	int len = (int)strlen(name);

	return it->type_len == len && memcmp(it->type, name, len) == 0;
}

/* The shape {type, {entries}, index} and a matched key in range. */
static int rdr_reply_shape_ok(const redisReply *r, int matched, int ncand)
{
	return r->elements >= 3 && r->element[1] != NULL
		   && r->element[1]->type == REDIS_REPLY_ARRAY && r->element[2] != NULL
		   && r->element[2]->type == REDIS_REPLY_INTEGER && matched >= 0
		   && matched < ncand;
}

rdr_reply_kind_t rdr_reply_open(rdr_reply_t *it, const redisReply *r,
		int matched, int ncand, int max_targets)
{
	memset(it, 0, sizeof(*it));
	it->max_targets = max_targets;
	if(r->type != REDIS_REPLY_ARRAY || r->elements < 1
			|| !rdr_is_string(r->element[0])) {
		it->untyped = 1;
		return it->kind = RDR_REPLY_MALFORMED;
	}
	it->type = r->element[0]->str;
	it->type_len = (int)r->element[0]->len;
	/* 'none' comes alone: no entries, no index */
	if(rdr_type_is(it, "none"))
		return it->kind = RDR_REPLY_NONE;
	if(!rdr_reply_shape_ok(r, matched, ncand))
		return it->kind = RDR_REPLY_MALFORMED;
	if(rdr_type_is(it, "string"))
		it->kind = RDR_REPLY_STRING;
	else if(rdr_type_is(it, "list"))
		it->kind = RDR_REPLY_LIST;
	else if(rdr_type_is(it, "zset"))
		it->kind = RDR_REPLY_ZSET;
	else
		return it->kind = RDR_REPLY_WRONG_TYPE;
	it->v = r->element[1];
	if(it->v->elements == 0)
		return it->kind = RDR_REPLY_EMPTY;
	/* member, score pairs; an odd last element is no entry */
	it->n = it->kind == RDR_REPLY_ZSET ? it->v->elements / 2 : it->v->elements;
	return it->kind;
}

rdr_reply_kind_t rdr_reply_open_plain(rdr_reply_t *it, const redisReply *r,
		rdr_reply_kind_t type, int max_targets)
{
	memset(it, 0, sizeof(*it));
	it->max_targets = max_targets;
	if(r->type == REDIS_REPLY_ERROR && r->len >= 9
			&& memcmp(r->str, "WRONGTYPE", 9) == 0)
		return it->kind = RDR_REPLY_WRONG_TYPE;
	if(type == RDR_REPLY_STRING && r->type == REDIS_REPLY_STRING) {
		if(r->len == 0)
			return it->kind = RDR_REPLY_NONE;
		it->one = r;
		it->n = 1;
		return it->kind = RDR_REPLY_STRING;
	}
	if((type != RDR_REPLY_LIST && type != RDR_REPLY_ZSET)
			|| r->type != REDIS_REPLY_ARRAY) {
		it->untyped = 1;
		return it->kind = RDR_REPLY_MALFORMED;
	}
	if(r->elements == 0)
		return it->kind = RDR_REPLY_NONE;
	it->v = r;
	it->n = type == RDR_REPLY_ZSET ? r->elements / 2 : r->elements;
	return it->kind = type;
}

int rdr_route_types_parse(const char *s, int len)
{
	static const struct
	{
		const char *name;
		int kind;
	} names[] = {{"any", 0}, {"string", RDR_REPLY_STRING},
			{"list", RDR_REPLY_LIST}, {"zset", RDR_REPLY_ZSET}};
	size_t i;

	for(i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if(len == (int)strlen(names[i].name)
				&& memcmp(s, names[i].name, len) == 0)
			return names[i].kind;
	return -1;
}

int rdr_reply_next(rdr_reply_t *it, int accepted, rdr_reply_entry_t *e)
{
	const redisReply *raw, *score;

	if(it->next >= it->n || accepted >= it->max_targets)
		return 0;
	if(it->one != NULL) {
		raw = it->one;
		e->q = -1;
	} else if(it->kind == RDR_REPLY_ZSET) {
		raw = it->v->element[2 * it->next];
		score = it->v->element[2 * it->next + 1];
		e->q = rdr_is_string(score)
					   ? rdr_qvalue_parse(score->str, (int)score->len)
					   : -1;
		if(e->q < 0)
			e->q = RDR_REPLY_Q_BAD;
	} else {
		raw = it->v->element[it->next];
		e->q = -1;
	}
	it->next++;
	e->s = rdr_is_string(raw) ? raw->str : NULL;
	e->len = rdr_is_string(raw) ? (int)raw->len : 0;
	return 1;
}
