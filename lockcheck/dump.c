/*
 * dump.c: writes the process's lock graph for tools/lockgraph, in the text
 * format of docs/dump-format.md. Written once, at exit, to a temporary file
 * renamed into place, so a reader never sees half a dump.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DUMP_VERSION 1

static void put_str(FILE *f, const char *s)
{
	fputc(' ', f);
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_site(FILE *f, const struct lc__site *s)
{
	put_str(f, s->file);
	fprintf(f, " %d", s->line);
	put_str(f, s->func);
}

static const char *kind_name(int kind)
{
	return kind == LC__KIND_RWLOCK	    ? "rwlock"
	       : kind == LC__KIND_RECURSIVE ? "recursive"
					    : "mutex";
}

static void put_modes(FILE *f, uint8_t modes)
{
	static const char *const names[4] = { "RR", "RW", "WR", "WW" };
	const char *sep = " ";

	for (int i = 0; i < 4; i++)
		if (modes & (1u << i)) {
			fprintf(f, "%s%s", sep, names[i]);
			sep = ",";
		}
}

static void put_gates(FILE *f, const struct lc__edge *e)
{
	uint8_t alive = atomic_load(&e->gate_alive);
	const char *sep = " ";

	if (!alive)
		fputs(" -", f);
	for (int i = 0; i < LC_GATE_MAX; i++)
		if (alive & (1u << i)) {
			fprintf(f, "%s%u:%llu", sep, e->gate_cls[i],
				(unsigned long long)e->gate[i]);
			sep = ",";
		}
}

static void add_hits(struct lc__chain *c, void *arg)
{
	uint64_t hits = atomic_load(&c->hits);

	(void)arg;
	for (uint32_t i = 0; i < c->nedges; i++)
		c->edges[i]->hits += hits;
}

struct counts {
	FILE *f;
	uint32_t n;
};

static void put_finding(enum lc__kind kind, const char *summary,
			const uint32_t *classes, uint32_t n, void *arg)
{
	struct counts *out = arg;

	fprintf(out->f, "finding %s ", lc__kind_names[kind]);
	if (!n)
		fputc('-', out->f);
	for (uint32_t i = 0; i < n; i++)
		fprintf(out->f, "%s%u", i ? "," : "", classes[i]);
	put_str(out->f, summary);
	fputc('\n', out->f);
	out->n++;
}

static uint32_t put_edges(FILE *f)
{
	const struct lc__graph *g = &lc__classes_graph;
	uint32_t n = 0;

	for (uint32_t i = 0; i < g->nedges; i++) {
		struct lc__edge *e = lc__graph_edge(g, i);

		e->hits = 0;
	}
	lc__chain_each(add_hits, NULL);
	for (uint32_t i = 0; i < g->nedges; i++) {
		const struct lc__edge *e = lc__graph_edge(g, i);

		if (!e->modes)
			continue; /* a slot an allocation failure left empty */
		fprintf(f, "edge %llu %llu %llu",
			(unsigned long long)g->nodes[e->from].key,
			(unsigned long long)g->nodes[e->to].key,
			(unsigned long long)(e->count + e->hits));
		put_modes(f, e->modes);
		put_gates(f, e);
		fprintf(f, " %d", e->info.tid);
		put_str(f, e->info.thread);
		put_site(f, &e->info.held_at);
		put_site(f, &e->info.next_at);
		fputc('\n', f);
		n++;
	}
	return n;
}

static void put_graph(FILE *f)
{
	struct counts findings = { f, 0 };
	uint32_t nclasses = lc__class_count(), nedges;

	fprintf(f, "lockcheck-dump %d\n", DUMP_VERSION);
	fprintf(f, "process %d", (int)getpid());
	put_str(f, program_invocation_short_name);
	fputc('\n', f);
	for (uint32_t i = 0; i < nclasses; i++) {
		const struct lc__class *c = lc__class_by_id(i);

		fprintf(f, "class %u %s %llu %llu %llu %llu", c->id,
			kind_name(c->kind),
			(unsigned long long)atomic_load(&c->instances),
			(unsigned long long)atomic_load(&c->acquired),
			(unsigned long long)atomic_load(&c->contended),
			(unsigned long long)atomic_load(&c->wait_ns));
		put_str(f, c->name);
		put_str(f, c->file);
		fprintf(f, " %d\n", c->line);
	}
	nedges = put_edges(f);
	lc__findings_each(put_finding, &findings);
	fprintf(f, "end %u %u %u\n", nclasses, nedges, findings.n);
}

/* The dump's final path: LOCKCHECK_DUMP, or a file in it if a directory. */
static int final_path(char *buf, size_t size)
{
	struct stat st;
	int n;

	if (stat(lc__cfg.dump, &st) == 0 && S_ISDIR(st.st_mode))
		n = snprintf(buf, size, "%s/lockcheck.%d.graph", lc__cfg.dump,
			     (int)getpid());
	else
		n = snprintf(buf, size, "%s", lc__cfg.dump);
	return n > 0 && (size_t)n < size ? 0 : ENAMETOOLONG;
}

void lc__dump_write(void)
{
	lc__slow_lock();
	lc__dump_write_locked();
	lc__slow_unlock();
}

void lc__dump_write_locked(void)
{
	char path[4096], tmp[4200];
	FILE *f;
	int err;

	err = final_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = err ? NULL : fopen(tmp, "we");
	if (!f) {
		err = err ? err : errno;
		goto out;
	}
	put_graph(f);
	err = ferror(f) ? EIO : 0;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err)
		unlink(tmp);
out:
	if (err)
		lc__log_note("lockcheck-dump: cannot write %s: %s",
			     lc__cfg.dump, strerror(err));
}
