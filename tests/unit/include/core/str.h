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
 * The one core header the pure files' types need: rdr_targets.h and
 * redisroute.h hold str fields. The unit tests build without a Kamailio tree,
 * so they get this copy of the type (the core's src/core/str.h, whose layout
 * has not changed since SER); the functions that header declares are the
 * core's and are used by no pure file.
 */

#ifndef str_h
#define str_h

#include <string.h>

struct _str
{
	char *s;
	int len;
};
typedef struct _str str;

#endif
