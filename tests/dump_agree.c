/*
 * dump_agree.c: see dump_agree.h. lockgraph runs in the test process, as a
 * library, with limits wide enough that it lists every cycle of a test's
 * dump (so a process report it did not find itself is a disagreement, not
 * a cycle it had no time for).
 */
#define _GNU_SOURCE
#include "dump_agree.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/lockgraph/analysis.h"

static const struct lg_search_opts wide = { 1000000, LC_MAX_LEN_LIMIT,
					    100000000 };

static bool is_kind(const struct lg_analysis *a, const struct lg_finding *f,
		    const char *kind)
{
	return !strcmp(lg_str(&a->g.strs, f->kind), kind);
}

/* A lock-order cycle of classes (one class: an instance graph's). */
static bool is_class_cycle(const struct lg_analysis *a,
			   const struct lg_finding *f)
{
	return f->ncls >= 2 && is_kind(a, f, "lock-order-cycle");
}

/* No limit hit and nothing left unsearched: the verdicts are whole. */
static bool judged(const struct lg_analysis *a)
{
	for (uint32_t i = 0; i < a->g.nfindings; i++)
		if (is_kind(a, &a->g.findings[i], "limit"))
			return false;
	for (uint32_t i = 0; i < a->cycles.ncomps; i++)
		if (lg_comp_unsettled(&a->cycles.comps[i]))
			return false;
	return !a->cycles.truncated;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return (a > b) - (a < b);
}

/* The sorted classes of cycle i (n of them) into set. */
static void cycle_set(const struct lg_analysis *a, uint32_t i, uint32_t *set)
{
	const uint32_t *e = lg_cycle_edges(&a->cycles, i);

	for (uint32_t k = 0; k < a->cycles.v[i].len; k++)
		set[k] = a->g.edges[e[k]].from;
	qsort(set, a->cycles.v[i].len, sizeof(*set), cmp_u32);
}

static void names(const struct lg_analysis *a, const uint32_t *cls,
		  uint32_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (uint32_t k = 0; k < n && len < size; k++)
		len += (size_t)snprintf(
			buf + len, size - len, "%s%s", k ? " -> " : "",
			lg_str(&a->g.strs, a->g.classes[cls[k]].name));
}

/* Every cycle the process reported is one lockgraph found itself. */
static bool reports_found(const struct lg_analysis *a, char *why,
			  size_t size)
{
	for (uint32_t i = 0; i < a->g.nfindings; i++) {
		const struct lg_finding *f = &a->g.findings[i];
		char cyc[512];

		if (!is_class_cycle(a, f))
			continue;
		if (f->cycle != LG_NONE && !a->cycles.v[f->cycle].from_report)
			continue;
		names(a, a->g.ids + f->cls_off, f->ncls, cyc, sizeof(cyc));
		snprintf(why, size, "the process reported %s; lockgraph "
				    "finds no such cycle", cyc);
		return false;
	}
	return true;
}

/* Some class-cycle finding has exactly the classes set[0..n). */
static bool reported(const struct lg_analysis *a, const uint32_t *set,
		     uint32_t n)
{
	uint32_t mine[LC_MAX_LEN_LIMIT];

	for (uint32_t i = 0; i < a->g.nfindings; i++) {
		const struct lg_finding *f = &a->g.findings[i];

		if (!is_class_cycle(a, f) || f->ncls != n)
			continue;
		memcpy(mine, a->g.ids + f->cls_off, n * sizeof(*mine));
		qsort(mine, n, sizeof(*mine), cmp_u32);
		if (!memcmp(mine, set, n * sizeof(*mine)))
			return true;
	}
	return false;
}

/* Every cycle lockgraph finds was reported by the process. */
static bool cycles_reported(const struct lg_analysis *a, char *why,
			    size_t size)
{
	uint32_t set[LC_MAX_LEN_LIMIT];

	for (uint32_t i = 0; i < a->cycles.n; i++) {
		char cyc[512];

		cycle_set(a, i, set);
		if (reported(a, set, a->cycles.v[i].len))
			continue;
		names(a, set, a->cycles.v[i].len, cyc, sizeof(cyc));
		snprintf(why, size, "lockgraph finds a cycle of %s; the "
				    "process did not report it", cyc);
		return false;
	}
	return true;
}

bool lct_dump_agrees(const char *path, bool whole, char *why, size_t size)
{
	struct lg_analysis a;
	struct lg_err err = { { 0 } };
	char *paths[1] = { (char *)path };
	bool ok;

	if (lg_analyze(&a, paths, 1, &wide, &err)) {
		snprintf(why, size, "lockgraph cannot read it: %s", err.msg);
		lg_analysis_free(&a);
		return false;
	}
	ok = !judged(&a) || (reports_found(&a, why, size) &&
			     (!whole || cycles_reported(&a, why, size)));
	lg_analysis_free(&a);
	return ok;
}

const char *const *lct_dump_hook_env(struct lct_dump_hook *h,
				     const char *const *env)
{
	const char *base = getenv("TEST_TMPDIR");
	size_t n = 0;

	h->dir[0] = '\0';
	h->env = NULL;
	if (getenv("LOCKCHECK_DUMP"))
		return env;
	for (; env && env[n]; n++)
		if (!strncmp(env[n], "LOCKCHECK_DUMP=", 15))
			return env;
	snprintf(h->dir, sizeof(h->dir), "%s/childdump.XXXXXX",
		 base ? base : "/tmp");
	h->env = mkdtemp(h->dir) ? calloc(n + 2, sizeof(*h->env)) : NULL;
	if (!h->env) {
		rmdir(h->dir);
		h->dir[0] = '\0';
		return env;
	}
	snprintf(h->var, sizeof(h->var), "LOCKCHECK_DUMP=%s", h->dir);
	if (n)
		memcpy(h->env, env, n * sizeof(*env));
	h->env[n] = h->var;
	return h->env;
}

/* The pid on a dump's process line (its second), or -1. */
static int dump_pid(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[256];
	int pid = -1;

	if (f && fgets(line, sizeof(line), f) &&
	    fgets(line, sizeof(line), f) && sscanf(line, "process %d", &pid) != 1)
		pid = -1;
	if (f)
		fclose(f);
	return pid;
}

/* Checks dir/name when it is pid's dump; false (why set) on a
 * disagreement. The file is removed when they agree. */
static bool check_one(const char *dir, const char *name, int pid,
		      bool whole, char *why, size_t size)
{
	char path[8400];
	size_t len = strlen(name);
	bool ok = true;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (len > 6 && !strcmp(name + len - 6, ".graph") &&
	    dump_pid(path) == pid) {
		char reason[1024] = "";

		ok = lct_dump_agrees(path, whole, reason, sizeof(reason));
		if (!ok)
			snprintf(why, size, "%.1000s: %.900s", path, reason);
	}
	if (ok)
		unlink(path);
	return ok;
}

void lct_dump_hook_check(struct lct_dump_hook *h, int pid, int status)
{
	char why[2048] = "";
	struct dirent *ent;
	DIR *d;
	bool ok = true;

	if (!h->dir[0])
		return;
	free(h->env);
	h->env = NULL;
	d = opendir(h->dir);
	while (d && (ent = readdir(d)))
		if (ent->d_name[0] != '.')
			ok &= check_one(h->dir, ent->d_name, pid,
					WIFEXITED(status), why, sizeof(why));
	if (d)
		closedir(d);
	if (ok)
		rmdir(h->dir);
	ck_assert_msg(ok, "lockgraph and the checker disagree on %s", why);
}
