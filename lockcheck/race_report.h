/*
 * race_report.h: what race_access.c found, as race_report.c writes it.
 */
#ifndef LOCKCHECK_RACE_REPORT_H
#define LOCKCHECK_RACE_REPORT_H

#include "race.h"

/* A declaration an access broke. */
struct lc__race_guard_miss {
	struct lc__guard_decl decl;
	bool read_held; /* held, but only for reading (a write) */
};

enum lc__race_kind {
	LC__RACE_NONE,
	LC__RACE_GUARD,	    /* a declared guard not held */
	LC__RACE_UNORDERED, /* no order with an earlier access */
};

struct lc__race_verdict {
	enum lc__race_kind kind;
	struct lc__race_guard_miss miss;  /* LC__RACE_GUARD */
	struct lc__race_access prior;	  /* LC__RACE_UNORDERED */
	char prior_name[LC_TEXT_MAX + 2]; /* its thread, and tid */
	int prior_tid;
};

/* Writes the finding of access a by t (once per pair of sites, or per
 * site and declaration); ra: the access call's return address. Takes
 * lc__slow: call it without lc__race_mu. */
void lc__race_report(struct lc__thread *t, const struct lc__race_access *a,
		     const struct lc__race_verdict *v, const void *ra);

/* Takes lc__slow: the limit finding of a race table; all: race checking
 * stopped altogether (lc__race_stop). */
void lc__race_report_limit(const char *what, bool all);

#endif /* LOCKCHECK_RACE_REPORT_H */
