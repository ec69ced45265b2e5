/*
 * memcheck_shim - lets valgrind's memcheck see into Kamailio's memory pools.
 *
 * Loaded only by tests/memcheck/vgkamailio.sh, as the very first module
 * (kamailio --loadmodule=.../memcheck_shim.so, before the cfg is parsed).
 * Never part of a production configuration.
 *
 * Why: Kamailio serves pkg_malloc()/shm_malloc() from its own pools (qm, fm
 * or tlsf: one big malloc()ed or mmap()ed block each), so memcheck sees one
 * 8 MB "allocation" per process and cannot tell an overflow of a 40-byte
 * pkg block from a legal write. Kamailio 5.6 has no "system malloc" manager
 * (`-x sm` is parsed but refused by pkg_init_manager()), so this module swaps
 * the function pointers of the pkg API (_pkg_root) at load time:
 *
 *   pkg  every pkg_malloc() made after the swap - the cfg, every module's
 *        mod_init and child_init, every SIP message and everything allocated
 *        while processing it - is a plain malloc(), i.e. a memcheck-tracked
 *        block with red zones: invalid reads/writes, use after free, reads of
 *        uninitialised pkg memory and leaks ("definitely lost") are all
 *        reported with the allocating and the faulting stack. Blocks
 *        allocated before the swap (a few core structures) stay in the pool
 *        and are freed/reallocated by the original manager (address range
 *        check). pkg is per process, so malloc() keeps its semantics.
 *
 *   shm  cannot become malloc(): it must be shared by processes forked
 *        earlier. memcheck treats the shm mmap as one defined region, and
 *        per-process valgrind annotations would give false reports when a
 *        block freed by one process is reused by another. So the module's
 *        own shm blocks (allocations whose source module is listed in
 *        MEMCHECK_SHM_MODULES, default "redisroute") get a 16-byte header
 *        (magic, exact size) and a 16-byte canary right after the requested
 *        size; the canary and magic are verified on every free/realloc and a
 *        corruption, a double free or a free of a non-block is reported on
 *        the valgrind log with a backtrace ("MEMSHIM-ERROR"), which
 *        tests/memcheck/vgreport.py counts as an error. Kamailio's own qm
 *        manager (the default, built with DBG_QM_MALLOC in Debian) still
 *        checks its fragment guards and aborts on double frees.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>

#include "core/dprint.h"
#include "core/globals.h"
#include "core/mem/pkg.h"
#include "core/mem/shm.h"
#include "core/sr_module.h"

MODULE_VERSION

/* ---- pkg: system malloc ------------------------------------------------- */

static sr_pkg_api_t _orig_pkg;
static char *_pool_lo = NULL;
static char *_pool_hi = NULL;

#define IN_PKG_POOL(p) ((char *)(p) >= _pool_lo && (char *)(p) < _pool_hi)

static void *shim_pkg_malloc(void *mbp, size_t size, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	return malloc(size);
}

static void *shim_pkg_mallocxz(void *mbp, size_t size, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	return calloc(1, size);
}

static void shim_pkg_free(void *mbp, void *p, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	if(p == NULL)
		return;
	if(IN_PKG_POOL(p)) {
		_orig_pkg.xfree(_orig_pkg.mem_block, p, file, func, line, mname);
		return;
	}
	free(p);
}

static void *shim_pkg_realloc(void *mbp, void *p, size_t size,
		const char *file, const char *func, unsigned int line,
		const char *mname)
{
	if(p != NULL && IN_PKG_POOL(p))
		return _orig_pkg.xrealloc(
				_orig_pkg.mem_block, p, size, file, func, line, mname);
	if(size == 0) { /* like qm_realloc(): free, return NULL */
		free(p);
		return NULL;
	}
	return realloc(p, size);
}

static void *shim_pkg_reallocxf(void *mbp, void *p, size_t size,
		const char *file, const char *func, unsigned int line,
		const char *mname)
{
	void *r;

	if(p != NULL && IN_PKG_POOL(p))
		return _orig_pkg.xreallocxf(
				_orig_pkg.mem_block, p, size, file, func, line, mname);
	if(size == 0) {
		free(p);
		return NULL;
	}
	r = realloc(p, size);
	if(r == NULL)
		free(p);
	return r;
}

/* ---- shm: canaries around the listed modules' blocks -------------------- */

typedef struct shim_hdr
{
	uint64_t magic;
	uint64_t size;
} shim_hdr_t;

#define SHIM_LIVE 0x4d454d53484d4c56ULL /* "MEMSHMLV" */
#define SHIM_DEAD 0x4d454d53484d4446ULL /* "MEMSHMDF" */
#define SHIM_TAIL 16
#define SHIM_PAT 0xa5
#define SHIM_EXTRA (sizeof(shim_hdr_t) + SHIM_TAIL)

static sr_shm_api_t _orig_shm;
static char _shm_modules[256] = "redisroute";

static void shim_report(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	LM_CRIT("MEMSHIM-ERROR: %s\n", buf);
	if(RUNNING_ON_VALGRIND)
		VALGRIND_PRINTF_BACKTRACE("MEMSHIM-ERROR: %s\n", buf);
}

static int shim_wanted(const char *mname)
{
	const char *s;
	size_t n;

	if(mname == NULL)
		return 0;
	n = strlen(mname);
	for(s = _shm_modules; (s = strstr(s, mname)) != NULL; s += n) {
		if((s == _shm_modules || s[-1] == ',') && (s[n] == ',' || s[n] == 0))
			return 1;
	}
	return 0;
}

static shim_hdr_t *shim_hdr(void *p)
{
	return (shim_hdr_t *)p - 1;
}

/* a block made by shim_arm(); any other shm block has its allocator's
 * fragment header in front of it, which never holds the magic */
static int shim_ours(void *p)
{
	return p != NULL && shim_hdr(p)->magic == SHIM_LIVE;
}

static void *shim_arm(void *raw, size_t size)
{
	shim_hdr_t *h = raw;

	if(h == NULL)
		return NULL;
	h->magic = SHIM_LIVE;
	h->size = size;
	memset((char *)(h + 1) + size, SHIM_PAT, SHIM_TAIL);
	return h + 1;
}

/* verifies a block about to be freed or moved */
static void shim_check(void *p, const char *what, const char *file,
		const char *func, unsigned int line)
{
	shim_hdr_t *h = shim_hdr(p);
	unsigned char *t = (unsigned char *)p + h->size;
	int i;

	for(i = 0; i < SHIM_TAIL; i++) {
		if(t[i] != SHIM_PAT) {
			shim_report("shm block %p (%lu bytes) written past its end "
						"(byte +%d = 0x%02x), found at %s by %s (%s:%u)",
					p, (unsigned long)h->size, i, t[i], what, func, file,
					line);
			return;
		}
	}
}

static int shim_dead(void *p, const char *what, const char *file,
		const char *func, unsigned int line)
{
	if(p != NULL && shim_hdr(p)->magic == SHIM_DEAD) {
		shim_report("shm block %p %s after it was freed (double free?), "
					"by %s (%s:%u)",
				p, what, func, file, line);
		return 1;
	}
	return 0;
}

static void *shim_shm_malloc(void *mbp, size_t size, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	if(!shim_wanted(mname))
		return _orig_shm.xmalloc(
				_orig_shm.mem_block, size, file, func, line, mname);
	return shim_arm(_orig_shm.xmalloc(_orig_shm.mem_block, size + SHIM_EXTRA,
							file, func, line, mname),
			size);
}

static void *shim_shm_mallocxz(void *mbp, size_t size, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	if(!shim_wanted(mname))
		return _orig_shm.xmallocxz(
				_orig_shm.mem_block, size, file, func, line, mname);
	return shim_arm(_orig_shm.xmallocxz(_orig_shm.mem_block,
							size + SHIM_EXTRA, file, func, line, mname),
			size);
}

static void *shim_shm_malloc_unsafe(void *mbp, size_t size, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	if(!shim_wanted(mname))
		return _orig_shm.xmalloc_unsafe(
				_orig_shm.mem_block, size, file, func, line, mname);
	return shim_arm(_orig_shm.xmalloc_unsafe(_orig_shm.mem_block,
							size + SHIM_EXTRA, file, func, line, mname),
			size);
}

static void shim_free_with(sr_free_f f, void *p, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	shim_hdr_t *h;

	if(shim_ours(p)) {
		shim_check(p, "free", file, func, line);
		h = shim_hdr(p);
		h->magic = SHIM_DEAD;
		f(_orig_shm.mem_block, h, file, func, line, mname);
		return;
	}
	if(shim_wanted(mname) && shim_dead(p, "freed again", file, func, line))
		return;
	f(_orig_shm.mem_block, p, file, func, line, mname);
}

static void shim_shm_free(void *mbp, void *p, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	shim_free_with(_orig_shm.xfree, p, file, func, line, mname);
}

static void shim_shm_free_unsafe(void *mbp, void *p, const char *file,
		const char *func, unsigned int line, const char *mname)
{
	shim_free_with(_orig_shm.xfree_unsafe, p, file, func, line, mname);
}

static void *shim_realloc_with(sr_realloc_f f, void *p, size_t size,
		const char *file, const char *func, unsigned int line,
		const char *mname)
{
	void *r;

	if(shim_ours(p)) {
		shim_check(p, "realloc", file, func, line);
		if(size == 0) {
			shim_shm_free(NULL, p, file, func, line, mname);
			return NULL;
		}
		r = f(_orig_shm.mem_block, shim_hdr(p), size + SHIM_EXTRA, file, func,
				line, mname);
		if(r == NULL)
			return NULL; /* the old block is unchanged (or freed by xf) */
		return shim_arm(r, size);
	}
	if(shim_wanted(mname) && shim_dead(p, "reallocated", file, func, line))
		return NULL;
	if(p == NULL && shim_wanted(mname))
		return shim_shm_malloc(NULL, size, file, func, line, mname);
	return f(_orig_shm.mem_block, p, size, file, func, line, mname);
}

static void *shim_shm_realloc(void *mbp, void *p, size_t size,
		const char *file, const char *func, unsigned int line,
		const char *mname)
{
	return shim_realloc_with(_orig_shm.xrealloc, p, size, file, func, line,
			mname);
}

static void *shim_shm_reallocxf(void *mbp, void *p, size_t size,
		const char *file, const char *func, unsigned int line,
		const char *mname)
{
	return shim_realloc_with(_orig_shm.xreallocxf, p, size, file, func, line,
			mname);
}

/* free + malloc under one lock; the contents are not kept */
static void *shim_shm_resize(void *mbp, void *p, size_t size,
		const char *file, const char *func, unsigned int line,
		const char *mname)
{
	int ours = shim_ours(p);

	if(ours) {
		shim_check(p, "resize", file, func, line);
		shim_hdr(p)->magic = SHIM_DEAD;
		p = shim_hdr(p);
	}
	if(ours || shim_wanted(mname))
		return shim_arm(_orig_shm.xresize(_orig_shm.mem_block, p,
								size + SHIM_EXTRA, file, func, line, mname),
				size);
	return _orig_shm.xresize(
			_orig_shm.mem_block, p, size, file, func, line, mname);
}

/* ---- module interface ---------------------------------------------------- */

/* at load time, before the cfg is parsed: pkg from here on is malloc() */
int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	if(_pkg_root.xmalloc == NULL || _pkg_root.mem_pool == NULL) {
		LM_ERR("memcheck_shim: no pkg memory manager to replace\n");
		return -1;
	}
	_orig_pkg = _pkg_root;
	_pool_lo = _pkg_root.mem_pool;
	_pool_hi = _pool_lo + pkg_mem_size;
	_pkg_root.xmalloc = shim_pkg_malloc;
	_pkg_root.xmallocxz = shim_pkg_mallocxz;
	_pkg_root.xfree = shim_pkg_free;
	_pkg_root.xrealloc = shim_pkg_realloc;
	_pkg_root.xreallocxf = shim_pkg_reallocxf;
	LM_NOTICE("memcheck_shim: pkg_malloc() is now the system malloc "
			  "(the %s pool %p-%p keeps only the blocks made before)\n",
			_orig_pkg.mname ? _orig_pkg.mname : "?", _pool_lo, _pool_hi);
	return 0;
}

/* in the main process, before any fork: guard the listed modules' shm */
static int mod_init(void)
{
	const char *env = getenv("MEMCHECK_SHM_MODULES");

	if(env != NULL)
		snprintf(_shm_modules, sizeof(_shm_modules), "%s", env);
	if(_shm_modules[0] == '\0' || _shm_root.xmalloc == NULL)
		return 0;
	_orig_shm = _shm_root;
	_shm_root.xmalloc = shim_shm_malloc;
	_shm_root.xmallocxz = shim_shm_mallocxz;
	_shm_root.xmalloc_unsafe = shim_shm_malloc_unsafe;
	_shm_root.xrealloc = shim_shm_realloc;
	_shm_root.xreallocxf = shim_shm_reallocxf;
	_shm_root.xresize = shim_shm_resize;
	_shm_root.xfree = shim_shm_free;
	_shm_root.xfree_unsafe = shim_shm_free_unsafe;
	LM_NOTICE("memcheck_shim: shm blocks of [%s] carry canaries\n",
			_shm_modules);
	return 0;
}

/* clang-format off */
struct module_exports exports = {
	"memcheck_shim",
	DEFAULT_DLFLAGS,
	0, 0, 0, 0, 0,
	mod_init,
	0, 0
};
/* clang-format on */
