/*
 * dump.c: writes the process's lock graph for tools/lockgraph, in the text
 * format of docs/dump-format.md. Written once, at exit (or before an abort
 * the checker makes), into the LOCKCHECK_DUMP directory as
 * <program>.<pid>.<random>.graph: pids repeat (every test under Bazel's
 * linux-sandbox is pid 2 or so; containers), so the random part and a
 * link that refuses to replace an existing file keep every dump. The file
 * is written under a temporary name and linked into place, so a reader
 * never sees half a dump.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "race.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DUMP_VERSION 2

/* A string from the program, as every line shows it (lockcheck/text.h). */
static void put_str(struct lc__buf *b, const char *s)
{
	lc__buf_add(b, " \"");
	lc__buf_put_text(b, s);
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
	       : kind == LC__KIND_COND	    ? "wait"
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
	for (int i = 0; i < LC__GATE_MAX; i++)
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

static void put_finding(enum lc__finding kind, const char *summary,
			const uint32_t *classes, uint32_t n, void *arg)
{
	struct counts *out = arg;

	lc__buf_add(out->b, "finding %s ", lc__finding_name(kind));
	if (!n)
		lc__buf_putc(out->b, '-');
	for (uint32_t i = 0; i < n; i++)
		lc__buf_add(out->b, "%s%u", i ? "," : "", classes[i]);
	lc__buf_add(out->b, " \""); /* the checker's line, quoted whole */
	lc__buf_put_escaped(out->b, summary);
	lc__buf_add(out->b, "\"\n");
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
	uint32_t nclasses = lc__class_count(), nedges, nranges;
	size_t *names = calloc(nclasses ? nclasses : 1, sizeof(*names));
	struct lc__buf text;

	lc__buf_init(&text);
	if (!names || lc__dump_names(&text, names, nclasses)) {
		b->cut = true; /* no memory: no dump, rather than a wrong one */
		free(names);
		lc__buf_free(&text);
		return;
	}
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
		lc__buf_add(b, " \"%s\"", text.p + names[i]); /* escaped */
		put_str(b, c->file);
		lc__buf_add(b, " %d\n", c->line);
	}
	free(names);
	lc__buf_free(&text);
	nedges = put_edges(b);
	lc__findings_each(put_finding, &findings);
	nranges = lc__inventory_dump(b, put_str);
	lc__buf_add(b, "end %u %u %u %u\n", nclasses, nedges, findings.n,
		    nranges);
}

/* mkdir -p: path and its missing parents; 0 or an errno value. */
static int make_dirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return len ? ENAMETOOLONG : ENOENT;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; p <= buf + len; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			return errno;
		*p = p == buf + len ? '\0' : '/';
	}
	return 0;
}

int lc__dump_dir_prepare(const char *path, const char **what)
{
	struct stat st;
	int err = make_dirs(path);

	*what = "cannot create it";
	if (stat(path, &st))
		return err ? err : errno;
	*what = "not a directory";
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	*what = "cannot write in it";
	return access(path, W_OK | X_OK) ? errno : 0;
}

/* 32 random bits: the kernel's, else the clock's and the stack's. */
static uint32_t random_bits(void)
{
	struct timespec ts;
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)lc__mix64((uint64_t)ts.tv_nsec ^
				   (uint64_t)(uintptr_t)&ts ^
				   (uint64_t)getpid() << 32);
}

/* The program's name as a file name part: [A-Za-z0-9._+-], cut short. */
static void program_part(char *buf, size_t size)
{
	const char *p = program_invocation_short_name;
	size_t i = 0;

	for (; p && p[i] && i + 1 < size && i < 64; i++) {
		char c = p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || strchr("._+-", c);

		buf[i] = ok ? c : '_';
	}
	buf[i] = '\0';
	if (i == 0 || buf[0] == '.')
		snprintf(buf, size, "process");
}

/* A fresh name in the dump directory: <program>.<pid>.<hex>.graph, or
 * with prefix "." and suffix ".tmp" for the file being written. */
static int dump_name(char *buf, size_t size, const char *prog, bool tmp)
{
	int n = snprintf(buf, size, "%s/%s%s.%d.%08x.graph%s", lc__cfg.dump,
			 tmp ? "." : "", prog, (int)getpid(), random_bits(),
			 tmp ? ".tmp" : "");

	return n > 0 && (size_t)n < size ? 0 : ENAMETOOLONG;
}

void lc__dump_write(void)
{
	lc__slow_lock();
	lc__dump_write_locked();
	lc__slow_unlock();
}

/* Writes all of b to a new file at tmp, which must not exist yet; 0 or
 * an errno value (EEXIST: tmp exists, left alone). */
static int write_file(const char *tmp, const struct lc__buf *b)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
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
	if (err)
		unlink(tmp);
	return err;
}

/* Writes b to a fresh temporary name, put in tmp. */
static int write_tmp(char *tmp, size_t size, const char *prog,
		     const struct lc__buf *b)
{
	int err = EEXIST;

	for (int tries = 0; tries < 16 && err == EEXIST; tries++) {
		err = dump_name(tmp, size, prog, true);
		if (!err)
			err = write_file(tmp, b);
	}
	return err;
}

/* Gives the written file tmp a fresh final name, never replacing a file
 * (link fails on an existing name; another name is tried). */
static int publish(const char *tmp, const char *prog)
{
	char path[4200];
	int err = EEXIST;

	for (int tries = 0; tries < 16 && err == EEXIST; tries++) {
		err = dump_name(path, sizeof(path), prog, false);
		if (!err && link(tmp, path))
			err = errno;
	}
	unlink(tmp);
	return err;
}

/* Built in memory and written with plain system calls: no stdio while
 * lc__slow is held (stdio's own locks could close a cycle with it). */
void lc__dump_write_locked(void)
{
	static bool written; /* once: before an abort, or at exit */
	char tmp[4200], prog[80];
	struct lc__buf b;
	int err;

	if (written)
		return;
	written = true;
	lc__buf_init(&b);
	program_part(prog, sizeof(prog));
	put_graph(&b);
	err = b.cut ? ENOMEM : write_tmp(tmp, sizeof(tmp), prog, &b);
	if (!err)
		err = publish(tmp, prog);
	if (err == ENOMEM) /* not a bad setting: the process ran out */
		lc__report_limit("memory", "no memory to write the dump; "
					   "it is not written");
	else if (err)
		lc__config_report("LOCKCHECK_DUMP", lc__cfg.dump,
				  "cannot write the dump (%s); accepted: a "
				  "directory this process can write to",
				  strerror(err));
	lc__buf_free(&b);
}
