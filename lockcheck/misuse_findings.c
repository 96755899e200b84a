/*
 * misuse_findings.c: lock misuse by one thread (recursive-lock,
 * unlock-not-held, destroy-held, assert-held). Each names the lock, its
 * class, the thread and the stack of the offending call; a distinct finding
 * is its kind, class and call site.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <stdio.h>

struct misuse {
	enum lc__finding kind;
	struct lc__thread *t;
	struct lc__lock *lk;
	const struct lc__site *at;
	const void *ra;
	const struct lc__held *held; /* the lock's held entry, or NULL */
	uint64_t extra;		     /* more signature (assert polarity) */
};

static uint64_t signature(const struct misuse *m, const struct lc__class *c)
{
	return lc__hash_str(lc__hash_str(c ? c->id : UINT32_MAX, m->at->file),
			    m->at->func) +
	       (uint64_t)m->at->line * 31 + m->extra;
}

static void report(const struct misuse *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(const struct misuse *m, const char *fmt, ...)
{
	struct lc__class *c = lc__class_of(m->lk);
	struct lc__buf b;
	void *frames[64];
	va_list ap;
	int n;

	lc__slow_lock();
	if (!lc__finding_is_new(m->kind, signature(m, c))) {
		lc__slow_unlock();
		return;
	}
	lc__buf_init(&b);
	va_start(ap, fmt);
	lc__buf_vadd(&b, fmt, ap);
	va_end(ap);
	lc__buf_add(&b, "\n  lock %p of class ", (void *)m->lk);
	lc__print_class(&b, c);
	if (m->held) {
		lc__buf_add(&b, "\n  held since ");
		lc__print_site(&b, &m->held->at);
	}
	lc__buf_add(&b, "\n  thread \"");
	lc__buf_put_text(&b, m->t ? lc__thread_name(m->t) : "?");
	lc__buf_add(&b, "\" (tid %d) at ", m->t ? m->t->tid : 0);
	lc__print_site(&b, m->at);
	lc__buf_add(&b, ":\n");
	n = lc__stack_now(m->ra, frames, 64);
	lc__print_stack(&b, frames, n, "    ");
	lc__report(m->kind, &b, c ? &c->id : NULL, c ? 1 : 0);
	lc__buf_free(&b);
	lc__slow_unlock();
}

/* The program's strings a summary names, as every line shows them. */
struct shown {
	char name[LC_TEXT_ESCAPED_MAX];
	char file[LC_TEXT_ESCAPED_MAX];
	char thread[LC_TEXT_ESCAPED_MAX];
};

static const struct shown *show(struct shown *s, struct lc__thread *t,
				struct lc__lock *lk, const struct lc__site *at)
{
	lc_text_line(s->name, lk->name ? lk->name : "(unnamed lock)");
	lc_text_line(s->file, at->file);
	lc_text_line(s->thread, t ? lc__thread_name(t) : "?");
	return s;
}

void lc__report_recursive(struct lc__thread *t, const struct lc__acq *a,
			  const struct lc__held *h)
{
	struct lc__lock *lk = a->lk;
	const struct lc__site *at = &a->at;
	struct misuse m = {
		LC__FINDING_RECURSIVE_LOCK, t, lk, at, a->ra, h, a->mode
	};
	struct shown buf;
	const struct shown *sh = show(&buf, t, lk, at);
	static const char *const how[2] = { "read", "write" };

	if (lk->kind == LC__KIND_RWLOCK)
		report(&m,
		       "%s wanted for %s at %s:%d by thread \"%s\" that "
		       "already holds it for %s: it would wait for itself "
		       "(returned EDEADLK)",
		       sh->name, how[a->mode], sh->file, at->line, sh->thread,
		       how[h->mode]);
	else
		report(&m,
		       "%s locked again at %s:%d by thread \"%s\" that "
		       "already holds it: it would wait for itself "
		       "(returned EDEADLK)",
		       sh->name, sh->file, at->line, sh->thread);
}

void lc__report_unlock_not_held(struct lc__thread *t, struct lc__lock *lk,
				const struct lc__site *at, const void *ra,
				const char *what)
{
	struct misuse m = {
		LC__FINDING_UNLOCK_NOT_HELD, t, lk, at, ra, NULL, 0
	};
	struct shown buf;
	const struct shown *sh = show(&buf, t, lk, at);

	report(&m,
	       "%s %s at %s:%d by thread \"%s\" that does not hold it "
	       "(left untouched, returned EPERM)",
	       sh->name, what, sh->file, at->line, sh->thread);
}

void lc__report_destroy_held(struct lc__thread *t, struct lc__lock *lk,
			     const struct lc__held *h,
			     const struct lc__site *at, const void *ra)
{
	struct misuse m = { LC__FINDING_DESTROY_HELD, t, lk, at, ra, h, 0 };
	struct shown buf;
	const struct shown *sh = show(&buf, t, lk, at);

	report(&m,
	       "%s destroyed at %s:%d while %s holds it (left intact, "
	       "returned EBUSY)",
	       sh->name, sh->file, at->line,
	       h ? "this thread" : "another thread");
}

void lc__report_init_held(struct lc__thread *t, struct lc__lock *lk,
			  const struct lc__held *h, const struct lc__site *at,
			  const void *ra)
{
	struct misuse m = { LC__FINDING_DESTROY_HELD, t, lk, at, ra, h, 1 };
	struct shown buf;
	const struct shown *sh = show(&buf, t, lk, at);

	report(&m,
	       "%s initialised at %s:%d over a lock this thread holds (the "
	       "held lock is lost: forgotten as if destroyed)",
	       sh->name, sh->file, at->line);
}

void lc__report_assert(struct lc__thread *t, struct lc__lock *lk,
		       bool want_held, const struct lc__site *at,
		       const void *ra)
{
	struct misuse m = {
		LC__FINDING_ASSERT_HELD, t, lk, at, ra, NULL, want_held
	};
	struct shown buf;
	const struct shown *sh = show(&buf, t, lk, at);

	report(&m, "%s is %s by thread \"%s\" at %s:%d (%s failed)", sh->name,
	       want_held ? "not held" : "held", sh->thread, sh->file, at->line,
	       want_held ? "lc_assert_held" : "lc_assert_not_held");
}
