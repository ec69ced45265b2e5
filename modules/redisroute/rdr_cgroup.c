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
 * redisroute - Redis Cluster: candidate keys grouped by slot, and the
 * lookup's winning answer. Depends on libc only: the unit tests link it with
 * rdr_slot.c and rdr_syntax.c and nothing else.
 */

#include "rdr_cgroup.h"
#include "rdr_slot.h"

int rdr_cgroup_by_slot(
		int nkeys, const char **keys, const size_t *klens, rdr_cgroup_t *groups)
{
	int i, j, ng = 0;

	for(i = 0; i < nkeys; i++) {
		unsigned int slot = rdr_key_slot(keys[i], (int)klens[i]);
		rdr_cgroup_t *g;
		for(j = 0; j < ng; j++)
			if(groups[j].slot == slot)
				break;
		g = &groups[j];
		if(j == ng) {
			ng++;
			g->slot = slot;
			g->nkeys = 0;
		}
		g->cand[g->nkeys] = i;
		g->keys[g->nkeys] = keys[i];
		g->klens[g->nkeys] = klens[i];
		g->nkeys++;
	}
	return ng;
}

rdr_cgroup_pick_t rdr_cgroup_pick(
		int ng, const rdr_cgroup_t *groups, const rdr_cgroup_answer_t *answers)
{
	rdr_cgroup_pick_t p = {RDR_CGROUP_NONE, 0, -1};
	int j, best_g = -1, failed_g = -1;

	for(j = 0; j < ng; j++) {
		const rdr_cgroup_answer_t *a = &answers[j];
		/* a group's best candidate is its first */
		if(a->state == RDR_CGROUP_FAILED) {
			if(failed_g < 0 || groups[j].cand[0] < groups[failed_g].cand[0])
				failed_g = j;
		} else if(a->state == RDR_CGROUP_FOUND
				  && (best_g < 0 || a->found < answers[best_g].found)) {
			best_g = j;
		}
	}
	if(best_g >= 0
			&& (failed_g < 0
					|| answers[best_g].found < groups[failed_g].cand[0])) {
		p.state = RDR_CGROUP_FOUND;
		p.group = best_g;
		p.found = answers[best_g].found;
	} else if(failed_g >= 0) {
		p.state = RDR_CGROUP_FAILED;
		p.group = failed_g;
	}
	return p;
}
