/*
 * out_guards.c: the guard inventory (advice, not findings). From the
 * ranges the dumps recorded (version 2), those touched by more than one
 * thread: first "unguarded shared data", written and shared with no lock
 * held at every access (where an unrelated lock may hide a race that
 * happens-before cannot see), then the ranges one lock always guarded,
 * each with the declaration that would make the checker hold it to that.
 * A range one thread alone touched is only counted.
 */
#include "output.h"

#include <errno.h>

static void put_range(FILE *f, const struct lg_graph *g,
		      const struct lg_range *r)
{
	lg_put_text(f, lg_str(&g->strs, r->what));
	fputs(" at ", f);
	lg_put_text(f, lg_str(&g->strs, r->file));
	fprintf(f,
		":%d (%llu bytes): %llu accesses, %llu writes, %llu "
		"threads",
		(int)r->line, (unsigned long long)r->bytes,
		(unsigned long long)r->accesses, (unsigned long long)r->writes,
		(unsigned long long)r->threads);
	if (r->records > 1) /* several processes, or several ranges of one
			     * declaration site (a lock per element) */
		fprintf(f, ", %u records", r->records);
	fputc('\n', f);
}

static bool shared(const struct lg_range *r)
{
	return r->threads > 1;
}

static void put_suggestion(FILE *f, const struct lg_graph *g,
			   const struct lg_range *r)
{
	fputs("    always held: ", f);
	for (uint32_t i = 0; i < r->ncls; i++) {
		fputs(i ? ", " : "", f);
		lg_put_class(f, g, g->ids[r->cls_off + i]);
	}
	fputs("\n    declare: lc_guard(ptr, size, &", f);
	lg_put_text(f, lg_str(&g->strs, g->classes[g->ids[r->cls_off]].name));
	fputs(") or LC_GUARDED_BY(", f);
	lg_put_text(f, lg_str(&g->strs, g->classes[g->ids[r->cls_off]].name));
	fputs(")\n", f);
}

int lg_out_guards(FILE *f, const struct lg_analysis *a)
{
	const struct lg_graph *g = &a->g;
	uint32_t unguarded = 0, guarded = 0, alone = 0;

	for (uint32_t i = 0; i < g->nranges; i++) {
		const struct lg_range *r = &g->ranges[i];

		alone += !shared(r);
		if (!shared(r) || r->ncls || !r->writes)
			continue;
		if (!unguarded++)
			fputs("== unguarded shared data (written, shared, no "
			      "lock held at every access)\n",
			      f);
		fputs("  ", f);
		put_range(f, g, r);
	}
	for (uint32_t i = 0; i < g->nranges; i++) {
		const struct lg_range *r = &g->ranges[i];

		if (!shared(r) || !r->ncls)
			continue;
		if (!guarded++)
			fputs("== shared data and the locks that always "
			      "guarded it\n",
			      f);
		fputs("  ", f);
		put_range(f, g, r);
		put_suggestion(f, g, r);
	}
	fprintf(f,
		"%u checked ranges: %u unguarded shared, %u guarded "
		"shared, %u touched by one thread\n",
		g->nranges, unguarded, guarded, alone);
	return ferror(f) ? EIO : 0;
}
