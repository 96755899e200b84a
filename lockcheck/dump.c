/*
 * dump.c: writes the process's lock graph for tools/lockgraph, in the text
 * format of docs/dump-format.md. Written once, at exit (or before an abort
 * the checker makes), to a temporary file renamed into place, so a reader
 * never sees half a dump.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DUMP_VERSION 1

static void put_str(struct lc__buf *b, const char *s)
{
	lc__buf_putc(b, ' ');
	lc__buf_putc(b, '"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			lc__buf_add(b, "\\%c", c);
		else if (c == '\n')
			lc__buf_add(b, "\\n");
		else if (c == '\t')
			lc__buf_add(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			lc__buf_add(b, "\\x%02x", c);
		else
			lc__buf_putc(b, (char)c);
	}
	lc__buf_putc(b, '"');
}

static void put_site(struct lc__buf *b, const struct lc__site *s)
{
	put_str(b, s->file);
	lc__buf_add(b, " %d", s->line);
	put_str(b, s->func);
}

static const char *kind_name(int kind)
{
	return kind == LC__KIND_RWLOCK	    ? "rwlock"
	       : kind == LC__KIND_RECURSIVE ? "recursive"
					    : "mutex";
}

static void put_modes(struct lc__buf *b, uint8_t modes)
{
	static const char *const names[4] = { "RR", "RW", "WR", "WW" };
	const char *sep = " ";

	for (int i = 0; i < 4; i++)
		if (modes & (1u << i)) {
			lc__buf_add(b, "%s%s", sep, names[i]);
			sep = ",";
		}
}

static void put_gates(struct lc__buf *b, const struct lc__edge *e)
{
	uint64_t alive = atomic_load(&e->gate_alive);
	const char *sep = " ";

	if (!alive)
		lc__buf_add(b, " -");
	for (int i = 0; i < LC_GATE_MAX; i++)
		if (alive & (1ull << i)) {
			lc__buf_add(b, "%s%u:%llu", sep, e->gate_cls[i],
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
	struct lc__buf *b;
	uint32_t n;
};

static void put_finding(enum lc__kind kind, const char *summary,
			const uint32_t *classes, uint32_t n, void *arg)
{
	struct counts *out = arg;

	lc__buf_add(out->b, "finding %s ", lc__kind_names[kind]);
	if (!n)
		lc__buf_putc(out->b, '-');
	for (uint32_t i = 0; i < n; i++)
		lc__buf_add(out->b, "%s%u", i ? "," : "", classes[i]);
	put_str(out->b, summary);
	lc__buf_putc(out->b, '\n');
	out->n++;
}

static uint32_t put_edges(struct lc__buf *b)
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
		lc__buf_add(b, "edge %llu %llu %llu",
			(unsigned long long)g->nodes[e->from].key,
			(unsigned long long)g->nodes[e->to].key,
			(unsigned long long)(e->count + e->hits));
		put_modes(b, e->modes);
		put_gates(b, e);
		lc__buf_add(b, " %d", e->info.tid);
		put_str(b, e->info.thread);
		put_site(b, &e->info.held_at);
		put_site(b, &e->info.next_at);
		lc__buf_putc(b, '\n');
		n++;
	}
	return n;
}

static void put_graph(struct lc__buf *b)
{
	struct counts findings = { b, 0 };
	uint32_t nclasses = lc__class_count(), nedges;

	lc__buf_add(b, "lockcheck-dump %d\n", DUMP_VERSION);
	lc__buf_add(b, "process %d", (int)getpid());
	put_str(b, program_invocation_short_name);
	lc__buf_putc(b, '\n');
	for (uint32_t i = 0; i < nclasses; i++) {
		const struct lc__class *c = lc__class_by_id(i);

		lc__buf_add(b, "class %u %s %llu %llu %llu %llu", c->id,
			kind_name(c->kind),
			(unsigned long long)atomic_load(&c->instances),
			(unsigned long long)atomic_load(&c->acquired),
			(unsigned long long)atomic_load(&c->contended),
			(unsigned long long)atomic_load(&c->wait_ns));
		put_str(b, c->name);
		put_str(b, c->file);
		lc__buf_add(b, " %d\n", c->line);
	}
	nedges = put_edges(b);
	lc__findings_each(put_finding, &findings);
	lc__buf_add(b, "end %u %u %u\n", nclasses, nedges, findings.n);
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

/* Writes all of b to a new file at tmp; 0 or an errno value. */
static int write_file(const char *tmp, const struct lc__buf *b)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t done = 0;
	int err = 0;

	if (fd < 0)
		return errno;
	while (done < b->len && !err) {
		ssize_t n = write(fd, b->p + done, b->len - done);

		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno != EINTR)
			err = errno;
	}
	if (close(fd) && !err)
		err = errno;
	return err;
}

/* Built in memory and written with plain system calls: no stdio while
 * lc__slow is held (stdio's own locks could close a cycle with it). */
void lc__dump_write_locked(void)
{
	char path[4096], tmp[4200];
	struct lc__buf b;
	int err;

	lc__buf_init(&b);
	err = final_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (!err) {
		put_graph(&b);
		err = b.cut ? ENOMEM : write_file(tmp, &b);
		if (!err && rename(tmp, path))
			err = errno;
		if (err)
			unlink(tmp);
	}
	if (err)
		lc__log_note("lockcheck-dump: cannot write %s: %s",
			     lc__cfg.dump, strerror(err));
	lc__buf_free(&b);
}
