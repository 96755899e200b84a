/*
 * scope.c: the checked LC_SCOPED_* locks. A scope remembers its lock and
 * its declaration's site; its end unlocks with that site. A lock that
 * failed (EDEADLK, reported) leaves nothing to unlock.
 */
#define _GNU_SOURCE
#include "core.h"

static struct lc__scope scope(struct lc__lock *lk, void *lock, int err,
			      const char *file, int line, const char *func)
{
	return (struct lc__scope){ err ? NULL : lk, lock, file, line, func };
}

struct lc__scope lc__scope_lock(lc_mutex_t *m, const char *file, int line,
				const char *func)
{
	int err = lc__mutex_lock(m, file, line, func);

	return scope(m ? &m->lk : NULL, m, err, file, line, func);
}

struct lc__scope lc__scope_rdlock(lc_rwlock_t *l, const char *file, int line,
				  const char *func)
{
	int err = lc__rwlock_rdlock(l, file, line, func);

	return scope(l ? &l->lk : NULL, l, err, file, line, func);
}

struct lc__scope lc__scope_wrlock(lc_rwlock_t *l, const char *file, int line,
				  const char *func)
{
	int err = lc__rwlock_wrlock(l, file, line, func);

	return scope(l ? &l->lk : NULL, l, err, file, line, func);
}

void lc__scope_end(struct lc__scope *s)
{
	if (!s->lk)
		return;
	if (s->lk->kind == LC__KIND_RWLOCK)
		lc__rwlock_unlock(s->lock, s->file, s->line, s->func);
	else
		lc__mutex_unlock(s->lock, s->file, s->line, s->func);
}
