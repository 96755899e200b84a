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
#include <sys/stat.h>
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
	return f->ncls >= 2 && (is_kind(a, f, "lock-order-cycle") ||
				is_kind(a, f, "wait-cycle"));
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

static void names(const struct lg_analysis *a, const uint32_t *cls, uint32_t n,
		  char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (uint32_t k = 0; k < n && len < size; k++)
		len += (size_t)snprintf(
			buf + len, size - len, "%s%s", k ? " -> " : "",
			lg_str(&a->g.strs, a->g.classes[cls[k]].name));
}

/* Every cycle the process reported is one lockgraph found itself. */
static bool reports_found(const struct lg_analysis *a, char *why, size_t size)
{
	for (uint32_t i = 0; i < a->g.nfindings; i++) {
		const struct lg_finding *f = &a->g.findings[i];
		char cyc[512];

		if (!is_class_cycle(a, f))
			continue;
		if (f->cycle != LG_NONE && !a->cycles.v[f->cycle].from_report)
			continue;
		names(a, a->g.ids + f->cls_off, f->ncls, cyc, sizeof(cyc));
		snprintf(why, size,
			 "the process reported %s; lockgraph "
			 "finds no such cycle",
			 cyc);
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
static bool cycles_reported(const struct lg_analysis *a, char *why, size_t size)
{
	uint32_t set[LC_MAX_LEN_LIMIT];

	for (uint32_t i = 0; i < a->cycles.n; i++) {
		char cyc[512];

		cycle_set(a, i, set);
		if (reported(a, set, a->cycles.v[i].len))
			continue;
		names(a, set, a->cycles.v[i].len, cyc, sizeof(cyc));
		snprintf(why, size,
			 "lockgraph finds a cycle of %s; the "
			 "process did not report it",
			 cyc);
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

/* The LOCKCHECK_DUMP the child gets from env or from ours, or NULL. */
static const char *chosen_dump(const char *const *env, size_t *n)
{
	const char *value = getenv("LOCKCHECK_DUMP");

	for (*n = 0; env && env[*n]; (*n)++) /* applied in order: last wins */
		if (!strncmp(env[*n], "LOCKCHECK_DUMP=", 15))
			value = env[*n] + 15;
	return value;
}

const char *const *lct_dump_hook_env(struct lct_dump_hook *h,
				     const char *const *env)
{
	const char *base = getenv("TEST_TMPDIR"), *theirs;
	size_t n;

	h->env = NULL;
	h->ours = false;
	theirs = chosen_dump(env, &n);
	snprintf(h->dir, sizeof(h->dir), "%s", theirs ? theirs : "");
	if (theirs)
		return env;
	snprintf(h->dir, sizeof(h->dir), "%s/childdump.XXXXXX",
		 base ? base : "/tmp");
	h->env = mkdtemp(h->dir) ? calloc(n + 2, sizeof(*h->env)) : NULL;
	if (!h->env) {
		rmdir(h->dir);
		h->dir[0] = '\0';
		return env;
	}
	h->ours = true;
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

	if (f && fgets(line, sizeof(line), f) && fgets(line, sizeof(line), f) &&
	    sscanf(line, "process %d", &pid) != 1)
		pid = -1;
	if (f)
		fclose(f);
	return pid;
}

/* Checks path when it is pid's dump; false (why set) on a disagreement. */
static bool check_path(const char *path, int pid, bool whole, char *why,
		       size_t size)
{
	size_t len = strlen(path);
	char reason[1024] = "";

	if (len < 6 || strcmp(path + len - 6, ".graph") ||
	    dump_pid(path) != pid)
		return true;
	if (lct_dump_agrees(path, whole, reason, sizeof(reason)))
		return true;
	snprintf(why, size, "%.1000s: %.900s", path, reason);
	return false;
}

/* Checks pid's dumps in dir; removes every file when it is ours and all
 * agree. */
static bool check_dir(const struct lct_dump_hook *h, int pid, bool whole,
		      char *why, size_t size)
{
	DIR *d = opendir(h->dir);
	struct dirent *ent;
	bool ok = true;

	while (d && (ent = readdir(d))) {
		char path[8400];

		if (ent->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", h->dir, ent->d_name);
		ok &= check_path(path, pid, whole, why, size);
		if (h->ours && ok)
			unlink(path);
	}
	if (d)
		closedir(d);
	if (h->ours && ok)
		rmdir(h->dir);
	return ok;
}

void lct_dump_hook_check(struct lct_dump_hook *h, int pid, int status)
{
	char why[2048] = "";
	struct stat st;
	bool ok = true, whole = WIFEXITED(status);

	free(h->env);
	h->env = NULL;
	if (!h->dir[0] || stat(h->dir, &st))
		return;
	if (S_ISDIR(st.st_mode))
		ok = check_dir(h, pid, whole, why, sizeof(why));
	else if (S_ISREG(st.st_mode))
		ok = check_path(h->dir, pid, whole, why, sizeof(why));
	ck_assert_msg(ok, "lockgraph and the checker disagree on %s", why);
}
