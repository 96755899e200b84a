/*
 * race_report.c: the race finding. Its first line names the access and
 * what it broke; then the access (kind, size, address, site, thread,
 * locks held, stack), the earlier access it races with or the guard it
 * broke with its declaration, and one line saying why. Program strings
 * (names, files, functions) are cut and escaped by lc__buf_put_text like
 * every report's.
 */
#define _GNU_SOURCE
#include "race_report.h"

static const char *const kind_name[2] = { "read", "write" };

static uint64_t site_hash(const struct lc__site *s)
{
	return lc__hash_str(lc__hash_str((uint64_t)s->line, s->file), s->func);
}

/* A name of the program, as one line. */
static void put_name(struct lc__buf *b, const char *name)
{
	lc__buf_put_quoted(b, name);
}

static void put_held(struct lc__buf *b, const struct lc__race_access *a)
{
	if (!a->nheld) {
		lc__buf_add(b, "holding no lock");
		return;
	}
	lc__buf_add(b, "holding ");
	for (uint32_t i = 0; i < a->nheld && i < 2; i++) {
		lc__buf_add(b, i ? ", " : "");
		if (a->held[i])
			put_name(b, a->held[i]->name);
		else
			lc__buf_add(b, "(unordered lock)");
	}
	if (a->nheld > 2)
		lc__buf_add(b, " and %u more", a->nheld - 2u);
}

/* "write of 8 bytes at 0x... at f.c:3 in g() by thread "t" (tid 9)" */
static void put_access(struct lc__buf *b, const struct lc__race_access *a,
		       const char *thread, int tid)
{
	lc__buf_add(b, "%s of %u byte%s at %p at ", kind_name[a->write],
		    a->size, a->size == 1 ? "" : "s", (void *)a->addr);
	lc__print_site(b, &a->at);
	lc__buf_add(b, " by thread \"");
	lc__buf_put_text(b, thread);
	lc__buf_add(b, "\" (tid %d), ", tid);
	put_held(b, a);
	lc__buf_add(b, "\n");
}

static void guard_summary(struct lc__buf *b, const struct lc__race_access *a,
			  const struct lc__race_guard_miss *m)
{
	if (m->read_held) {
		lc__buf_add(b, "write under a read lock of ");
	} else {
		lc__buf_add(b, "%s without ", kind_name[a->write]);
	}
	put_name(b, m->decl.name);
	lc__buf_add(b, " at ");
	lc__print_site(b, &a->at);
	lc__buf_add(b, "\n");
}

static void guard_body(struct lc__buf *b, const struct lc__race_access *a,
		       const struct lc__race_guard_miss *m)
{
	lc__buf_add(b, "  guard ");
	put_name(b, m->decl.name);
	lc__buf_add(b, " of %p (%zu bytes), declared at ", (void *)m->decl.lo,
		    (size_t)(m->decl.hi - m->decl.lo));
	lc__print_site(b, &m->decl.at);
	lc__buf_add(b, "\n  why: %s %s", a->write ? "written" : "read",
		    m->read_held ? "holding only a read lock of " : "without ");
	put_name(b, m->decl.name);
	lc__buf_add(b, ", which guards it since ");
	lc__buf_put_text(b, m->decl.at.file);
	lc__buf_add(b, ":%d\n", m->decl.at.line);
}

static void unordered_summary(struct lc__buf *b,
			      const struct lc__race_access *a,
			      const struct lc__race_access *p)
{
	lc__buf_add(b, "%s at ", kind_name[a->write]);
	lc__print_site(b, &a->at);
	lc__buf_add(b, " and earlier %s at ", kind_name[p->write]);
	lc__print_site(b, &p->at);
	lc__buf_add(b, " by another thread, unordered\n");
}

static uint64_t signature(const struct lc__race_access *a,
			  const struct lc__race_verdict *v)
{
	uint64_t x = site_hash(&a->at), y;

	if (v->kind == LC__RACE_GUARD)
		return lc__mix64(x) ^ lc__hash_str(site_hash(&v->miss.decl.at),
						   v->miss.decl.name);
	y = site_hash(&v->prior.at); /* the pair, in either order */
	return lc__mix64(x < y ? x : y) + (x < y ? y : x);
}

void lc__race_report(struct lc__thread *t, const struct lc__race_access *a,
		     const struct lc__race_verdict *v, const void *ra)
{
	const struct lc__class *cls = NULL;
	struct lc__buf b;
	void *frames[64];
	int n;

	lc__slow_lock();
	if (!lc__finding_is_new(LC__FINDING_RACE, signature(a, v))) {
		lc__slow_unlock();
		return;
	}
	lc__buf_init(&b);
	if (v->kind == LC__RACE_GUARD)
		guard_summary(&b, a, &v->miss);
	else
		unordered_summary(&b, a, &v->prior);
	lc__buf_add(&b, "  ");
	put_access(&b, a, lc__thread_name(t), t->tid);
	n = lc__stack_now(ra, frames, 64);
	lc__print_stack(&b, frames, n, "    ");
	if (v->kind == LC__RACE_GUARD) {
		guard_body(&b, a, &v->miss);
		cls = v->miss.decl.cls;
	} else {
		lc__buf_add(&b, "  earlier ");
		put_access(&b, &v->prior, v->prior_name, v->prior_tid);
		lc__buf_add(&b, "  why: no lock or ordering between them\n");
	}
	lc__report(LC__FINDING_RACE, &b, cls ? &cls->id : NULL, cls ? 1 : 0);
	lc__buf_free(&b);
	lc__slow_unlock();
}

void lc__race_report_limit(const char *what, bool all)
{
	lc__slow_lock();
	lc__report_limit(what, all ? "race checking stopped, declared guards "
				     "too"
				   : "happens-before checking stopped; "
				     "declared guards are still checked");
	lc__slow_unlock();
}
