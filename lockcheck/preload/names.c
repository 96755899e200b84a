/*
 * names.c: names for call sites and classes for locks nobody named.
 *
 * A call site is known by its return address and named "module+0xoffset"
 * in the function around it ("ab_ba+0x11e9 in main()"); the names are
 * made once per site and kept in a table like the locks' (table.c). A
 * class is, lockdep's way, where a lock came from:
 *
 *   initialised by pthread_*_init    the init call site: one class per site
 *   a static variable never          the variable: its symbol, else its
 *     initialised (an initializer)     module+0xoffset
 *   anything else first seen at a    that call site (C++ std::mutex, heap
 *     lock call                        locks never initialised)
 *
 * A class prints as "name [how]": "lock_a [static in ab_ba]",
 * "ab_ba+0x11e9 [pthread_mutex_init in make_pair]",
 * "ab_ba+0x1234 [first locked in worker]".
 */
#define _GNU_SOURCE
#include "preload.h"
#include "symbols.h"

#include <execinfo.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define SITE_BUCKETS 4096u

struct site {
	const void *ra;
	struct site *next;	   /* same bucket; set before publication */
	struct lc__site at;	   /* file: "module+0xoff", line 0, func */
	struct lc__key key;	   /* for a pthread_*_init call here */
	const char *_Atomic first; /* "first locked in func" */
	char func[];		   /* at.func's storage */
};

static struct site *_Atomic sites[SITE_BUCKETS];
static atomic_flag sites_claim = ATOMIC_FLAG_INIT;

static uint32_t site_bucket(const void *ra)
{
	return (uint32_t)(lc__mix64((uint64_t)(uintptr_t)ra) >> 52);
}

static struct site *site_find(const void *ra)
{
	struct site *s = atomic_load_explicit(&sites[site_bucket(ra)],
					      memory_order_acquire);

	for (; s; s = s->next)
		if (s->ra == ra)
			return s;
	return NULL;
}

/* "module+0xoffset" of an address; the enclosing function in func. */
static void describe(const void *addr, char *where, size_t size, char *func,
		     size_t fsize)
{
	struct lc__pre_module m;
	uintptr_t off;

	func[0] = '\0';
	if (!lc__pre_module_of(addr, &m)) {
		snprintf(where, size, "%p", addr);
		return;
	}
	snprintf(where, size, "%s+%#lx", m.name,
		 (unsigned long)((uintptr_t)addr - m.base));
	if (!lc__pre_symbol(&m, addr, false, func, fsize, &off))
		func[0] = '\0';
}

static struct site *site_new(const void *ra)
{
	char where[600], func[256];
	struct site *s;

	/* ra - 1: the call, not the instruction after it (a call that ends
	 * a function would be named by the next one). */
	describe((const char *)ra - 1, where, sizeof(where), func,
		 sizeof(func));
	s = lc__pre_alloc(sizeof(*s) + strlen(func) + 1);
	if (!s)
		return NULL;
	s->ra = ra;
	strcpy(s->func, func);
	s->at = (struct lc__site){ lc__pre_strdup(where), 0,
				   func[0] ? s->func : "?" };
	/* The key of an init call here: its class is this site. */
	s->key = (struct lc__key){ NULL,       NULL,	   0,
				   s->at.func, s->at.file, (const char *)s };
	return s;
}

static struct site *site_of(const void *ra)
{
	struct site *s = site_find(ra);
	uint32_t b;

	if (s)
		return s;
	while (atomic_flag_test_and_set_explicit(&sites_claim,
						 memory_order_acquire))
		sched_yield();
	s = site_find(ra);
	if (!s && (s = site_new(ra))) {
		b = site_bucket(ra);
		s->next = atomic_load(&sites[b]);
		atomic_store_explicit(&sites[b], s, memory_order_release);
	}
	atomic_flag_clear_explicit(&sites_claim, memory_order_release);
	return s;
}

const struct lc__site *lc__pre_site(const void *ra)
{
	static const struct lc__site unknown = { "?", 0, "?" };
	struct site *s = site_of(ra);

	return s ? &s->at : &unknown;
}

/* "what in func", in the arena: a class's file, which with its name tells
 * classes apart. */
static const char *how(const char *what, const char *func)
{
	char buf[400];

	if (func && strcmp(func, "?") != 0)
		snprintf(buf, sizeof(buf), "%s in %s", what, func);
	else
		snprintf(buf, sizeof(buf), "%s", what);
	return lc__pre_strdup(buf);
}

/* Sets *slot to how(what, func) once: the first writer's copy stays. */
static const char *how_once(const char *_Atomic *slot, const char *what,
			    const char *func)
{
	const char *have = atomic_load(slot), *mine;

	if (have)
		return have;
	mine = how(what, func);
	return atomic_compare_exchange_strong(slot, &have, mine) ? mine : have;
}

/* A static variable: its symbol (+0xoff inside it), else the
 * module+0xoffset of its address. */
static void name_static(struct lc__lock *lk, const struct lc__pre_module *m,
			const void *addr)
{
	char sym[300], name[600], what[600];
	uintptr_t off;

	if (lc__pre_symbol(m, addr, true, sym, sizeof(sym), &off))
		snprintf(name, sizeof(name), off ? "%s+%#lx" : "%s", sym,
			 (unsigned long)off);
	else
		snprintf(name, sizeof(name), "%s+%#lx", m->name,
			 (unsigned long)((uintptr_t)addr - m->base));
	snprintf(what, sizeof(what), "static in %s", m->name);
	lk->name = lc__pre_strdup(name);
	lk->file = lc__pre_strdup(what);
}

/* A lock wrapper of the C++ library (std::mutex::lock, lock_guard, the
 * gthread layer): when not inlined (-O0), every std::mutex would be first
 * locked there, all in one class. */
static bool is_lock_wrapper(const char *func)
{
	return strstr(func, "__gthread_") ||
	       ((strncmp(func, "_ZNSt", 5) == 0 ||
		 strncmp(func, "_ZSt", 4) == 0) &&
		(strstr(func, "mutex") || strstr(func, "lock")));
}

/* The site a first lock at ra is classed by: ra's, or, when ra lies in a
 * lock wrapper, the first caller outside the wrappers. */
static struct site *user_site(const void *ra)
{
	struct site *s = site_of(ra);
	void *frames[24];
	int n, i = 0;

	if (!s || !is_lock_wrapper(s->func))
		return s;
	n = backtrace(frames, 24);
	while (i < n && frames[i] != ra)
		i++;
	for (i++; i < n; i++) {
		struct site *up = site_of(frames[i]);

		if (!up)
			break;
		s = up;
		if (!is_lock_wrapper(up->func))
			break;
	}
	return s;
}

void lc__pre_name_unseen(struct lc__lock *lk, const void *addr, int kind,
			 const void *ra)
{
	struct lc__pre_module m;
	struct site *s;

	lk->kind = kind;
	lk->line = 0;
	if (lc__pre_module_of(addr, &m) && m.writable) {
		name_static(lk, &m, addr);
		return;
	}
	s = user_site(ra);
	lk->name = s ? s->at.file : "(no memory)";
	lk->file = s ? how_once(&s->first, "first locked", s->at.func)
		     : "(no memory)";
}

void lc__pre_name_init(struct lc__lock *lk, const void *addr, int kind,
		       const char *call, const void *ra)
{
	struct site *s = site_of(ra);
	const char *none = NULL, *file;

	if (!s) { /* no memory: classed as if first seen locked */
		lc__pre_name_unseen(lk, addr, kind, ra);
		return;
	}
	if (!__atomic_load_n(&s->key.file, __ATOMIC_ACQUIRE)) {
		file = how(call, s->at.func);
		__atomic_compare_exchange_n(&s->key.file, &none, file, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	}
	lc__lock_init(lk, s->at.file, &s->key, kind, ra);
}

void lc__pre_sites_hold(void)
{
	while (atomic_flag_test_and_set_explicit(&sites_claim,
						 memory_order_acquire))
		sched_yield();
}

void lc__pre_sites_free(void)
{
	atomic_flag_clear_explicit(&sites_claim, memory_order_release);
}
