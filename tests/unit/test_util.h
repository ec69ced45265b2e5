/*
 * helpers shared by the unit tests
 */

#ifndef _TEST_UTIL_H_
#define _TEST_UTIL_H_

#include <stdlib.h>
#include <string.h>

#include <check.h>

/* a string of n copies of c, NUL-terminated (caller frees) */
static inline char *repeat(char c, int n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

#endif
