/*
 * inputs.c: from command-line paths to parsed dumps. Directory entries are
 * sorted by name so a directory gives the same result on every file
 * system; each file is opened, parsed and closed before the next.
 */
#define _GNU_SOURCE
#include "analysis.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parse.h"

struct names {
	char **v;
	uint32_t n, cap;
};

static void names_free(struct names *ns)
{
	for (uint32_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int load_file(struct lg_graph *g, const char *path, struct lg_err *err)
{
	FILE *f = fopen(path, "re");
	int rc;

	if (!f)
		return lg_errf(err, EIO, "%s: cannot open: %s", path,
			       strerror(errno));
	rc = lg_parse(g, path, f, err);
	fclose(f);
	return rc;
}

static bool is_dump_name(const char *name)
{
	size_t n = strlen(name);

	return n > 6 && !strcmp(name + n - 6, ".graph") && name[0] != '.';
}

/* Adds dir/name when it is a regular file with a dump's name. */
static int add_entry(struct names *ns, const char *dir, const char *name)
{
	struct stat st;
	char *path;

	if (!is_dump_name(name))
		return 0;
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return ENOMEM;
	if (stat(path, &st) || !S_ISREG(st.st_mode)) {
		free(path);
		return 0;
	}
	if (lg_grow((void **)&ns->v, &ns->cap, (uint64_t)ns->n + 1,
		    sizeof(*ns->v))) {
		free(path);
		return ENOMEM;
	}
	ns->v[ns->n++] = path;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *dir, struct names *ns, struct lg_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	int rc = 0;

	if (!d)
		return lg_errf(err, EIO, "%s: cannot read directory: %s", dir,
			       strerror(errno));
	while (!rc && (ent = readdir(d)))
		rc = add_entry(ns, dir, ent->d_name);
	closedir(d);
	if (rc)
		return rc;
	if (ns->n == 0)
		return lg_errf(err, EINVAL,
			       "%s: no lock-graph dumps (*.graph files) in "
			       "this directory",
			       dir);
	qsort(ns->v, ns->n, sizeof(*ns->v), cmp_names);
	return 0;
}

static int load_dir(struct lg_graph *g, const char *dir, struct lg_err *err)
{
	struct names ns = { 0 };
	int rc = list_dir(dir, &ns, err);

	for (uint32_t i = 0; !rc && i < ns.n; i++)
		rc = load_file(g, ns.v[i], err);
	names_free(&ns);
	return rc;
}

int lg_load(struct lg_graph *g, char *const *paths, int n, struct lg_err *err)
{
	int rc = 0;

	for (int i = 0; i < n && !rc; i++) {
		struct stat st;

		if (stat(paths[i], &st))
			rc = lg_errf(err, EIO, "%s: cannot open: %s", paths[i],
				     strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = load_dir(g, paths[i], err);
		else
			rc = load_file(g, paths[i], err);
	}
	return rc;
}
