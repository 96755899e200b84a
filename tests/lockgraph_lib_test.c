/*
 * lockgraph_lib_test.c: lockgraph's library called directly: the cycle
 * search, the merge rules and the guard inventory (merged ranges and
 * `guards`) checked against a brute-force model on random dumps, the
 * search limits, process reports linked to merged cycles, and
 * the parser under thousands of mutations of real dumps.
 *
 * Dumps are written as text and parsed (fmemopen), so every case goes
 * through the same path as the command.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cycle_model.h"
#include "testutil.h"
#include "tools/lockgraph/analysis.h"
#include "tools/lockgraph/output.h"
#include "tools/lockgraph/parse.h"

/* ---- building analyses from dump text ---- */

static const struct lg_search_opts wide = { 100000, 16, 100000000 };

static uint32_t rng_state = 1;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 8) % n;
}

/* Parses each text as one dump into a, then analyses with o. */
static int analyse(struct lg_analysis *a, char *const *texts, int n,
		   const struct lg_search_opts *o)
{
	struct lg_err err = { { 0 } };
	int rc = lg_analysis_init(a);

	for (int i = 0; i < n && !rc; i++) {
		FILE *f = fmemopen(texts[i], strlen(texts[i]), "r");

		ck_assert_ptr_nonnull(f);
		rc = lg_parse(&a->g, "mem", f, &err);
		fclose(f);
		ck_assert_msg(rc == 0, "parse: %s\n%s", err.msg, texts[i]);
	}
	return rc ? rc : lg_analysis_run(a, o);
}

/* Class id of the class named "c<k>", or LG_NONE. */
static uint32_t cls(const struct lg_analysis *a, int k)
{
	char name[16];

	snprintf(name, sizeof(name), "c%d", k);
	return lg_graph_find_class(&a->g, name, "t.c", k);
}

/* A dump text: n classes c0.. (instances[i] each), then edges appended
 * with add_edge, then (version 2) ranges with add_range, then end. */
struct dump_text {
	char *buf;
	size_t len;
	FILE *f;
	int version, nedges, nfindings, nclasses, nranges;
};

static void dump_begin_version(struct dump_text *d, int n, const int *instances,
			       int version)
{
	memset(d, 0, sizeof(*d));
	d->f = open_memstream(&d->buf, &d->len);
	ck_assert_ptr_nonnull(d->f);
	d->version = version;
	fprintf(d->f, "lockcheck-dump %d\nprocess 1 \"p\"\n", version);
	for (int i = 0; i < n; i++)
		fprintf(d->f, "class %d mutex %d 0 0 0 \"c%d\" \"t.c\" %d\n", i,
			instances ? instances[i] : 1, i, i);
	d->nclasses = n;
}

static void dump_begin(struct dump_text *d, int n, const int *instances)
{
	dump_begin_version(d, n, instances, 1);
}

/* from -> to with mode bits (LG_RR..) and gates "c:i,..." or "-". */
static void add_edge(struct dump_text *d, int from, int to, int modes,
		     const char *gates, int tid)
{
	static const char *const names[4] = { "RR", "RW", "WR", "WW" };
	const char *sep = "";

	fprintf(d->f, "edge %d %d 1 ", from, to);
	for (int i = 0; i < 4; i++)
		if (modes & (1 << i)) {
			fprintf(d->f, "%s%s", sep, names[i]);
			sep = ",";
		}
	fprintf(d->f, " %s %d \"t\" \"t.c\" 1 \"f\" \"t.c\" 2 \"f\"\n", gates,
		tid);
	d->nedges++;
}

/* A range line (version 2): candidate classes the bits of mask, records
 * 0 for none written (which means 1). */
static void add_range(struct dump_text *d, unsigned long long accesses,
		      unsigned long long writes, unsigned long long threads,
		      unsigned long long bytes, unsigned mask, const char *what,
		      int line, int records)
{
	const char *sep = "";

	assert(d->version >= 2);
	fprintf(d->f, "range %llu %llu %llu %llu ", accesses, writes, threads,
		bytes);
	if (!mask)
		fputc('-', d->f);
	for (int c = 0; c < d->nclasses; c++)
		if (mask & (1u << c)) {
			fprintf(d->f, "%s%d", sep, c);
			sep = ",";
		}
	fprintf(d->f, " \"%s\" \"r.c\" %d", what, line);
	if (records)
		fprintf(d->f, " %d", records);
	fputc('\n', d->f);
	d->nranges++;
}

static char *dump_end(struct dump_text *d)
{
	if (d->version >= 2)
		fprintf(d->f, "end %d %d %d %d\n", d->nclasses, d->nedges,
			d->nfindings, d->nranges);
	else
		fprintf(d->f, "end %d %d %d\n", d->nclasses, d->nedges,
			d->nfindings);
	ck_assert_int_eq(fclose(d->f), 0);
	return d->buf;
}

/* ---- the brute-force model ---- */

#define MN 6 /* classes */
#define MD 3 /* dumps */
#define MG 3 /* gate candidates per occurrence */
#define MS 4 /* range sites */
#define MR 2 /* range lines of one site per dump */

/* A range line of a dump: site s is what "f()" (s < 2) or "guarded by
 * c0", file r.c, line 10 + s: two sites share what and file. */
struct rline {
	bool on;
	unsigned long long accesses, writes, threads, bytes;
	unsigned mask; /* candidate classes */
	int records;   /* 0: no records field */
};

struct occ {
	bool on;
	int modes, tid, ngates;
	int gate_cls[MG], gate_inst[MG];
};

struct model {
	int n, ndumps;
	int inst[MD][MN];
	struct occ e[MD][MN][MN];
	struct rline r[MD][MS][MR];
};

/* A site's range merged over every dump: what lockgraph should have. */
struct mrange {
	bool on;
	unsigned long long accesses, writes, threads, bytes, records;
	unsigned mask;
};

static bool singleton(const struct model *m, int c)
{
	for (int d = 0; d < m->ndumps; d++)
		if (m->inst[d][c] != 1)
			return false;
	return true;
}

/* A gate key as the rules define it: a singleton class is one lock in
 * every dump; any other lock is one lock only within its dump. */
static long gate_key(const struct model *m, int d, int c, int i)
{
	return singleton(m, c) ? c : 1000 + d * 100 + c * 10 + i;
}

static bool occ_has_key(const struct model *m, int d, const struct occ *o,
			long key)
{
	for (int g = 0; g < o->ngates; g++)
		if (gate_key(m, d, o->gate_cls[g], o->gate_inst[g]) == key)
			return true;
	return false;
}

/* True when key is held at every occurrence of edge a -> b: a gate of
 * the merged edge. */
static bool edge_gate(const struct model *m, int a, int b, long key)
{
	for (int d = 0; d < m->ndumps; d++)
		if (m->e[d][a][b].on && !occ_has_key(m, d, &m->e[d][a][b], key))
			return false;
	return true;
}

/* True when a gate of edge a -> b is a gate of edge c -> d too. Every gate
 * of an edge is held at its occurrence in any one dump, so the candidates
 * are the locks of one occurrence. */
static bool share_gate(const struct model *m, int a, int b, int c, int d)
{
	for (int k = 0; k < m->ndumps; k++) {
		const struct occ *o = &m->e[k][a][b];

		for (int g = 0; o->on && g < o->ngates; g++) {
			long key =
				gate_key(m, k, o->gate_cls[g], o->gate_inst[g]);

			if (edge_gate(m, a, b, key) && edge_gate(m, c, d, key))
				return true;
		}
	}
	return false;
}

static int merged_modes(const struct model *m, int a, int b)
{
	int modes = 0;

	for (int d = 0; d < m->ndumps; d++)
		if (m->e[d][a][b].on)
			modes |= m->e[d][a][b].modes;
	return modes;
}

/* The gate rule's predicate for the shared model: a lock that gates two
 * edges of the cycle would be held by both their threads at once. */
static bool model_share(const struct cm_graph *g, int a, int b, int c, int d)
{
	return share_gate(g->ctx, a, b, c, d);
}

/* Where the model sees the cycle: 0 one thread, 1 threads, 2 processes. */
static int model_scope(const struct model *m, const int *cyc, int len)
{
	int scope = 2;

	for (int d = 0; d < m->ndumps; d++) {
		bool all = true, same = true;

		for (int k = 0; k < len; k++) {
			const struct occ *o =
				&m->e[d][cyc[k]][cyc[(k + 1) % len]];

			all &= o->on;
			same &= o->on && o->tid == m->e[d][cyc[0]][cyc[1]].tid;
		}
		if (all && same)
			return 0;
		if (all)
			scope = 1;
	}
	return scope;
}

/* Every elementary cycle that can deadlock in the merged graph, by the
 * brute-force rules (tests/cycle_model.h). */
static void model_cycles(const struct model *m, struct cm_cycles *out)
{
	struct cm_graph g = { .n = m->n, .share = model_share, .ctx = m };

	for (int a = 0; a < m->n; a++)
		for (int b = 0; b < m->n; b++)
			g.modes[a][b] = merged_modes(m, a, b);
	cm_find_cycles(&g, out);
}

static void random_occ(struct model *m, int d, int a, int b)
{
	struct occ *o = &m->e[d][a][b];

	o->on = true;
	o->modes = 1 + (int)rnd(15);
	o->tid = 1 + (int)rnd(2);
	o->ngates = (int)rnd(MG + 1);
	for (int g = 0; g < o->ngates; g++) {
		o->gate_cls[g] = (int)rnd((uint32_t)m->n);
		o->gate_inst[g] =
			(int)rnd((uint32_t)m->inst[d][o->gate_cls[g]]);
	}
}

static const char *site_what(int s)
{
	return s < 2 ? "f()" : "guarded by c0";
}

/* Mostly one thread and few writes, so that every verdict of `guards`
 * (alone, read-only sharing, unguarded, guarded) comes up. */
static void random_rline(struct model *m, struct rline *r)
{
	r->on = true;
	r->accesses = 1 + rnd(20);
	r->writes = rnd(3) ? rnd((uint32_t)r->accesses + 1) : 0;
	r->threads = rnd(3) ? 1 : 1 + rnd(3);
	r->bytes = 1 + rnd(16);
	r->mask = 0;
	/* the checker records at most 4 classes */
	for (int c = 0, k = 0; c < m->n && k < 4; c++)
		if (rnd(100) < 60) {
			r->mask |= 1u << c;
			k++;
		}
	r->records = rnd(3) ? 0 : 1 + (int)rnd(3);
}

static void random_model(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->n = 3 + (int)rnd(MN - 2);
	m->ndumps = 1 + (int)rnd(MD);
	for (int d = 0; d < m->ndumps; d++)
		for (int c = 0; c < m->n; c++)
			m->inst[d][c] = rnd(4) ? 1 : 2;
	for (int d = 0; d < m->ndumps; d++)
		for (int a = 0; a < m->n; a++)
			for (int b = 0; b < m->n; b++)
				if (a != b && rnd(100) < 35)
					random_occ(m, d, a, b);
	for (int d = 0; d < m->ndumps; d++)
		for (int s = 0; s < MS; s++)
			for (int k = 0; k < MR && rnd(2); k++)
				random_rline(m, &m->r[d][s][k]);
}

/* The ranges merged by site (counts added, bytes the largest, candidate
 * sets intersected), and the order in which the dumps first name them. */
static int model_ranges(const struct model *m, struct mrange *out, int *order)
{
	int n = 0;

	memset(out, 0, MS * sizeof(*out));
	for (int d = 0; d < m->ndumps; d++)
		for (int s = 0; s < MS; s++)
			for (int k = 0; k < MR; k++) {
				const struct rline *r = &m->r[d][s][k];
				struct mrange *o = &out[s];

				if (!r->on)
					continue;
				if (!o->on) {
					o->on = true;
					o->mask = r->mask;
					order[n++] = s;
				}
				o->accesses += r->accesses;
				o->writes += r->writes;
				o->threads += r->threads;
				if (r->bytes > o->bytes)
					o->bytes = r->bytes;
				o->records += r->records ? r->records : 1;
				o->mask &= r->mask;
			}
	return n;
}

static char *model_dump(const struct model *m, int d)
{
	struct dump_text t;

	dump_begin_version(&t, m->n, m->inst[d], 2);
	for (int a = 0; a < m->n; a++)
		for (int b = 0; b < m->n; b++) {
			const struct occ *o = &m->e[d][a][b];
			char gates[64] = "-";
			size_t len = 0;

			if (!o->on)
				continue;
			for (int g = 0; g < o->ngates; g++)
				len += (size_t)snprintf(
					gates + len, sizeof(gates) - len,
					"%s%d:%d", g ? "," : "", o->gate_cls[g],
					o->gate_inst[g]);
			add_edge(&t, a, b, o->modes, gates, o->tid);
		}
	for (int s = 0; s < MS; s++)
		for (int k = 0; k < MR; k++) {
			const struct rline *r = &m->r[d][s][k];

			if (r->on)
				add_range(&t, r->accesses, r->writes,
					  r->threads, r->bytes, r->mask,
					  site_what(s), 10 + s, r->records);
		}
	return dump_end(&t);
}

/* The listed cycle with these classes (rotation starting at cyc[0], the
 * smallest), or LG_NONE. */
static uint32_t listed(const struct lg_analysis *a, const int *cyc, int len)
{
	for (uint32_t i = 0; i < a->cycles.n; i++) {
		const uint32_t *e = lg_cycle_edges(&a->cycles, i);
		bool same = (int)a->cycles.v[i].len == len;

		for (int k = 0; same && k < len; k++)
			same = a->g.edges[e[k]].from == cls(a, cyc[k]);
		if (same)
			return i;
	}
	return LG_NONE;
}

/* The candidate classes of merged range r as bits of model classes. */
static unsigned range_mask(const struct lg_analysis *a,
			   const struct lg_range *r, int n)
{
	unsigned mask = 0;

	for (uint32_t i = 0; i < r->ncls; i++) {
		int k = 0;

		while (k < n && cls(a, k) != a->g.ids[r->cls_off + i])
			k++;
		ck_assert_int_lt(k, n);
		mask |= 1u << k;
	}
	return mask;
}

/* The merged ranges are the model's, in the order the dumps name them. */
static void check_ranges(const struct lg_analysis *a, const struct model *m,
			 const struct mrange *want, const int *order, int n)
{
	ck_assert_uint_eq(a->g.nranges, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		const struct lg_range *r = &a->g.ranges[i];
		const struct mrange *w = &want[order[i]];

		ck_assert_str_eq(lg_str(&a->g.strs, r->what),
				 site_what(order[i]));
		ck_assert_str_eq(lg_str(&a->g.strs, r->file), "r.c");
		ck_assert_int_eq(r->line, 10 + order[i]);
		ck_assert_uint_eq(r->accesses, w->accesses);
		ck_assert_uint_eq(r->writes, w->writes);
		ck_assert_uint_eq(r->threads, w->threads);
		ck_assert_uint_eq(r->bytes, w->bytes);
		ck_assert_uint_eq(r->records, w->records);
		ck_assert_uint_eq(range_mask(a, r, m->n), w->mask);
	}
}

/* One range as `guards` lists it. */
static void put_model_range(FILE *f, const struct mrange *w, int s)
{
	fprintf(f,
		"  %s at r.c:%d (%llu bytes): %llu accesses, %llu writes, "
		"%llu threads",
		site_what(s), 10 + s, w->bytes, w->accesses, w->writes,
		w->threads);
	if (w->records > 1)
		fprintf(f, ", %llu records", w->records);
	fputc('\n', f);
}

/* The model's `guards`: shared means more than one thread; unguarded
 * shared data is written, shared, and has no candidate lock left; each
 * shared range with one gets the first as a suggested declaration. */
static char *model_guards(const struct mrange *want, const int *order, int n)
{
	unsigned unguarded = 0, guarded = 0, alone = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < n; i++) {
		const struct mrange *w = &want[order[i]];

		alone += w->threads <= 1;
		if (w->threads <= 1 || w->mask || !w->writes)
			continue;
		if (!unguarded++)
			fputs("== unguarded shared data (written, shared, no "
			      "lock held at every access)\n",
			      f);
		put_model_range(f, w, order[i]);
	}
	for (int i = 0; i < n; i++) {
		const struct mrange *w = &want[order[i]];
		const char *sep = "    always held: ";
		int first = -1;

		if (w->threads <= 1 || !w->mask)
			continue;
		if (!guarded++)
			fputs("== shared data and the locks that always "
			      "guarded it\n",
			      f);
		put_model_range(f, w, order[i]);
		for (int k = 0; k < MN; k++)
			if (w->mask & (1u << k)) {
				if (first < 0)
					first = k;
				if (k) /* line 0 is not printed */
					fprintf(f, "%sc%d [t.c:%d]", sep, k, k);
				else
					fprintf(f, "%sc0 [t.c]", sep);
				sep = ", ";
			}
		fprintf(f,
			"\n    declare: lc_guard(ptr, size, &c%d) or "
			"LC_GUARDED_BY(c%d)\n",
			first, first);
	}
	fprintf(f,
		"%d checked ranges: %u unguarded shared, %u guarded shared, "
		"%u touched by one thread\n",
		n, unguarded, guarded, alone);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

static void check_guards(const struct lg_analysis *a, const struct mrange *want,
			 const int *order, int n)
{
	char *want_text = model_guards(want, order, n), *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(lg_out_guards(f, a), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_str_eq(text, want_text);
	free(text);
	free(want_text);
}

/* The graph written by lg_out_merge and read back has the same cycles. */
static void check_merge_round_trip(const struct lg_analysis *a)
{
	struct lg_analysis back;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(lg_out_merge(f, a), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(analyse(&back, &text, 1, &wide), 0);
	ck_assert_uint_eq(back.g.nclasses, a->g.nclasses);
	ck_assert_uint_eq(back.g.nedges, a->g.nedges);
	ck_assert_uint_eq(back.cycles.n, a->cycles.n);
	ck_assert_uint_eq(back.g.nranges, a->g.nranges);
	for (uint32_t i = 0; i < a->g.nranges; i++) {
		const struct lg_range *r = &a->g.ranges[i],
				      *b = &back.g.ranges[i];

		ck_assert_str_eq(lg_str(&back.g.strs, b->what),
				 lg_str(&a->g.strs, r->what));
		ck_assert_int_eq(b->line, r->line);
		ck_assert_uint_eq(b->accesses, r->accesses);
		ck_assert_uint_eq(b->writes, r->writes);
		ck_assert_uint_eq(b->threads, r->threads);
		ck_assert_uint_eq(b->bytes, r->bytes);
		ck_assert_uint_eq(b->records, r->records);
		ck_assert_uint_eq(b->ncls, r->ncls);
		for (uint32_t k = 0; k < r->ncls; k++)
			ck_assert_str_eq(
				lg_str(&back.g.strs,
				       back.g.classes[back.g.ids[b->cls_off +
								 k]]
					       .name),
				lg_str(&a->g.strs,
				       a->g.classes[a->g.ids[r->cls_off + k]]
					       .name));
	}
	for (uint32_t i = 0; i < a->cycles.n; i++) {
		const struct lg_cycle *cy = &a->cycles.v[i];

		ck_assert_uint_ne(
			lg_cycles_lookup(&back.cycles, &back.g,
					 lg_cycle_edges(&a->cycles, i),
					 cy->len),
			LG_NONE);
	}
	lg_analysis_free(&back);
	free(text);
}

static void compare_with_model(const struct model *m)
{
	char *texts[MD];
	struct lg_analysis a;
	static struct cm_cycles want;
	struct mrange ranges[MS];
	int order[MS], nranges = model_ranges(m, ranges, order);

	for (int d = 0; d < m->ndumps; d++)
		texts[d] = model_dump(m, d);
	ck_assert_int_eq(analyse(&a, texts, m->ndumps, &wide), 0);
	model_cycles(m, &want);
	ck_assert_uint_eq(a.cycles.n, (uint32_t)want.n);
	for (int i = 0; i < want.n; i++) {
		uint32_t id = listed(&a, want.node[i], want.len[i]);

		ck_assert_msg(id != LG_NONE, "model cycle %d not listed", i);
		ck_assert_int_eq(a.cycles.v[id].scope,
				 model_scope(m, want.node[i], want.len[i]));
	}
	for (uint32_t i = 0; i < a.cycles.n; i++)
		for (int j = 0; a.cycles.v[i].shortest && j < want.n; j++)
			if (a.scc.comp[cls(&a, want.node[j][0])] ==
			    a.cycles.v[i].comp)
				ck_assert_uint_le(a.cycles.v[i].len,
						  (uint32_t)want.len[j]);
	check_ranges(&a, m, ranges, order, nranges);
	check_guards(&a, ranges, order, nranges);
	check_merge_round_trip(&a);
	lg_analysis_free(&a);
	for (int d = 0; d < m->ndumps; d++)
		free(texts[d]);
}

START_TEST(test_search_and_merge_match_brute_force_model)
{
	struct model m;

	rng_state = 20240601u + (uint32_t)_i;
	for (int round = 0; round < 60; round++) {
		random_model(&m);
		compare_with_model(&m);
	}
}
END_TEST

/* ---- rules on hand-made graphs ---- */

static void analyse_one(struct lg_analysis *a, char *text,
			const struct lg_search_opts *o)
{
	ck_assert_int_eq(analyse(a, &text, 1, o), 0);
	free(text);
}

START_TEST(test_each_cycle_is_listed_once_not_per_rotation)
{
	struct dump_text t;
	struct lg_analysis a;

	dump_begin(&t, 4, NULL);
	for (int i = 0; i < 4; i++)
		add_edge(&t, i, (i + 1) % 4, LG_WW, "-", 1);
	analyse_one(&a, dump_end(&t), &wide);
	ck_assert_uint_eq(a.cycles.n, 1);
	ck_assert_uint_eq(a.cycles.v[0].len, 4);
	ck_assert(a.cycles.v[0].shortest);
	ck_assert_uint_eq(a.g.edges[lg_cycle_edges(&a.cycles, 0)[0]].from,
			  cls(&a, 0));
	ck_assert_int_eq(a.cycles.v[0].scope, LG_SCOPE_THREAD);
	lg_analysis_free(&a);
}
END_TEST

START_TEST(test_shortest_cycle_of_each_component_comes_first)
{
	struct lg_search_opts only_shortest = wide;
	struct dump_text t;
	struct lg_analysis a;

	only_shortest.max_cycles = 0;
	dump_begin(&t, 8, NULL);
	/* component 1: a 4-ring with a chord making a 2-cycle 2 <-> 3 */
	for (int i = 0; i < 4; i++)
		add_edge(&t, i, (i + 1) % 4, LG_WW, "-", 1);
	add_edge(&t, 3, 2, LG_WW, "-", 1);
	/* component 2: a 3-ring */
	for (int i = 4; i < 7; i++)
		add_edge(&t, i, i == 6 ? 4 : i + 1, LG_WW, "-", 1);
	analyse_one(&a, dump_end(&t), &only_shortest);
	ck_assert_uint_eq(a.cycles.n, 2);
	ck_assert_uint_eq(a.cycles.v[0].len, 2);
	ck_assert_uint_eq(a.cycles.v[1].len, 3);
	ck_assert(a.cycles.v[0].shortest && a.cycles.v[1].shortest);
	ck_assert(a.cycles.truncated);
	lg_analysis_free(&a);
}
END_TEST

START_TEST(test_spent_budget_leaves_component_unsettled)
{
	struct lg_search_opts tiny = { 100, 16, 50 };
	struct dump_text t;
	struct lg_analysis a;
	uint32_t problems;
	FILE *null = fopen("/dev/null", "w");

	/* 10 classes, every order taken: the budget ends the search before
	 * any cycle is found */
	dump_begin(&t, 10, NULL);
	for (int i = 0; i < 10; i++)
		for (int j = 0; j < 10; j++)
			if (i != j)
				add_edge(&t, i, j, LG_WW, "-", 1);
	analyse_one(&a, dump_end(&t), &tiny);
	ck_assert_uint_eq(a.cycles.n, 0);
	ck_assert_uint_eq(a.cycles.ncomps, 1);
	ck_assert(a.cycles.comps[0].exhausted);
	ck_assert(lg_comp_unsettled(&a.cycles.comps[0]));
	ck_assert_int_eq(lg_out_check(null, &a, &problems), 0);
	ck_assert_uint_eq(problems, 1);
	fclose(null);
	lg_analysis_free(&a);
}
END_TEST

/* n classes, every order taken, each edge with modes and gates */
static void analyse_complete(struct lg_analysis *a, int n, int modes,
			     const char *gates, const struct lg_search_opts *o)
{
	struct dump_text t;

	dump_begin(&t, n, NULL);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (i != j)
				add_edge(&t, i, j, modes, gates, 1);
	analyse_one(a, dump_end(&t), o);
}

START_TEST(test_silent_tangles_are_proven_without_search)
{
	struct lg_search_opts tiny = { 100, 16, 50 };
	struct lg_analysis a;

	/* 200 classes, every order, all read-read: astronomically many
	 * cycles, none can deadlock; proven in linear time, no budget */
	analyse_complete(&a, 200, LG_RR, "-", &tiny);
	ck_assert_uint_eq(a.cycles.n, 0);
	ck_assert(a.cycles.comps[0].proven);
	ck_assert(!lg_comp_unsettled(&a.cycles.comps[0]));
	lg_analysis_free(&a);
	/* held for reading, wanted for writing: writers wait on readers, so
	 * this can deadlock and must not be proven silent */
	analyse_complete(&a, 50, LG_RR | LG_RW, "-", &tiny);
	ck_assert(!a.cycles.comps[0].proven);
	lg_analysis_free(&a);
	/* one gate lock on every edge */
	analyse_complete(&a, 60, LG_WW, "0:0", &tiny);
	ck_assert_uint_eq(a.cycles.n, 0);
	ck_assert(a.cycles.comps[0].proven);
	lg_analysis_free(&a);
}
END_TEST

START_TEST(test_read_read_component_is_settled_when_searched)
{
	struct lg_analysis a;

	analyse_complete(&a, 5, LG_RR, "-", &wide);
	ck_assert_uint_eq(a.cycles.n, 0);
	ck_assert(!lg_comp_unsettled(&a.cycles.comps[0]));
	lg_analysis_free(&a);
}
END_TEST

START_TEST(test_cycle_longer_than_max_length_is_unsettled)
{
	struct lg_search_opts longer = wide;
	struct dump_text t;
	struct lg_analysis a;
	char *text;

	dump_begin(&t, 20, NULL);
	for (int i = 0; i < 20; i++)
		add_edge(&t, i, (i + 1) % 20, LG_WW, "-", 1);
	text = dump_end(&t);
	ck_assert_int_eq(analyse(&a, &text, 1, &wide), 0);
	ck_assert_uint_eq(a.cycles.n, 0);
	ck_assert(a.cycles.comps[0].too_long);
	ck_assert(lg_comp_unsettled(&a.cycles.comps[0]));
	lg_analysis_free(&a);
	longer.max_len = 20;
	analyse_one(&a, text, &longer);
	ck_assert_uint_eq(a.cycles.n, 1);
	ck_assert_uint_eq(a.cycles.v[0].len, 20);
	lg_analysis_free(&a);
}
END_TEST

START_TEST(test_mode_rule_is_applied_at_every_lock)
{
	struct lg_analysis a;
	struct dump_text t;

	/* X -RW-> Y -WR-> X: at X, wanted R meets held R: no deadlock */
	dump_begin(&t, 2, NULL);
	add_edge(&t, 0, 1, LG_RW, "-", 1);
	add_edge(&t, 1, 0, LG_WR, "-", 2);
	analyse_one(&a, dump_end(&t), &wide);
	ck_assert_uint_eq(a.cycles.n, 0);
	lg_analysis_free(&a);
	/* the same plus a WW pair on one edge: now it can */
	dump_begin(&t, 2, NULL);
	add_edge(&t, 0, 1, LG_RW | LG_WW, "-", 1);
	add_edge(&t, 1, 0, LG_WR, "-", 2);
	analyse_one(&a, dump_end(&t), &wide);
	ck_assert_uint_eq(a.cycles.n, 1);
	ck_assert_int_eq(a.cycles.v[0].scope, LG_SCOPE_THREADS);
	lg_analysis_free(&a);
}
END_TEST

START_TEST(test_instance_gate_counts_only_within_one_dump)
{
	static const int two[3] = { 1, 1, 2 };
	struct dump_text t, u;
	struct lg_analysis a;
	char *texts[2];

	/* class 2 has two instances; instance 0 of it gates both edges */
	dump_begin(&t, 3, two);
	add_edge(&t, 0, 1, LG_WW, "2:0", 1);
	add_edge(&t, 1, 0, LG_WW, "2:0", 2);
	analyse_one(&a, dump_end(&t), &wide);
	ck_assert_uint_eq(a.cycles.n, 0); /* one dump: the same lock */
	lg_analysis_free(&a);
	dump_begin(&t, 3, two);
	add_edge(&t, 0, 1, LG_WW, "2:0", 1);
	dump_begin(&u, 3, two);
	add_edge(&u, 1, 0, LG_WW, "2:0", 1);
	texts[0] = dump_end(&t);
	texts[1] = dump_end(&u);
	ck_assert_int_eq(analyse(&a, texts, 2, &wide), 0);
	ck_assert_uint_eq(a.cycles.n, 1); /* two dumps: maybe two locks */
	ck_assert_int_eq(a.cycles.v[0].scope, LG_SCOPE_PROCESSES);
	lg_analysis_free(&a);
	free(texts[0]);
	free(texts[1]);
}
END_TEST

START_TEST(test_edge_seen_without_its_gate_elsewhere_loses_it)
{
	struct dump_text t, u;
	struct lg_analysis a;
	char *texts[2];

	/* singleton 2 gates both edges in dump 1; dump 2 takes 0 -> 1 bare */
	dump_begin(&t, 3, NULL);
	add_edge(&t, 0, 1, LG_WW, "2:5", 1);
	add_edge(&t, 1, 0, LG_WW, "2:5", 2);
	dump_begin(&u, 3, NULL);
	add_edge(&u, 0, 1, LG_WW, "-", 1);
	texts[0] = dump_end(&t);
	texts[1] = dump_end(&u);
	ck_assert_int_eq(analyse(&a, texts, 2, &wide), 0);
	ck_assert_uint_eq(a.cycles.n, 1);
	ck_assert_int_eq(a.cycles.v[0].scope, LG_SCOPE_THREADS);
	lg_analysis_free(&a);
	free(texts[0]);
	free(texts[1]);
}
END_TEST

/* Classes A, B, C, G (0..3): A -> B under G in one dump, C -> A under G
 * in another, B -> C bare in a third, where G has g_inst instances. */
static void analyse_two_edges_under_g(struct lg_analysis *a, int g_inst)
{
	const int third[4] = { 1, 1, 1, g_inst };
	struct dump_text t[3];
	char *texts[3];

	dump_begin(&t[0], 4, NULL);
	add_edge(&t[0], 0, 1, LG_WW, "3:0", 1);
	dump_begin(&t[1], 4, NULL);
	add_edge(&t[1], 2, 0, LG_WW, "3:0", 1);
	dump_begin(&t[2], 4, third);
	add_edge(&t[2], 1, 2, LG_WW, "-", 1);
	for (int i = 0; i < 3; i++)
		texts[i] = dump_end(&t[i]);
	ck_assert_int_eq(analyse(a, texts, 3, &wide), 0);
	for (int i = 0; i < 3; i++)
		free(texts[i]);
}

/* The rules' verdict on the cycle edges[0..n). */
static bool can_deadlock(const struct lg_analysis *a, const uint32_t *edges,
			 uint32_t n)
{
	bool can = false;

	ck_assert_int_eq(lg_cycle_verdict(&a->g, edges, n, &can), 0);
	return can;
}

/* The edges of the cycle A -> B -> C -> A. */
static void abc_edges(const struct lg_analysis *a, uint32_t *e)
{
	for (int i = 0; i < 3; i++) {
		e[i] = lg_graph_find_edge(&a->g, cls(a, i),
					  cls(a, (i + 1) % 3));
		ck_assert_uint_ne(e[i], LG_NONE);
	}
}

START_TEST(test_singleton_gate_on_two_edges_rules_out_the_cycle)
{
	struct lg_analysis a;
	struct dump_text t;
	uint32_t e[3], path[16];
	uint64_t budget = 1000000;

	/* no gate is common to all three edges, but G gates two of them:
	 * their threads would both hold G in the deadlock */
	analyse_two_edges_under_g(&a, 1);
	ck_assert_uint_eq(a.cycles.n, 0);
	ck_assert_uint_eq(a.cycles.ncomps, 1);
	ck_assert(!lg_comp_unsettled(&a.cycles.comps[0]));
	abc_edges(&a, e);
	ck_assert(!can_deadlock(&a, e, 3));
	ck_assert_uint_eq(
		lg_cycle_through(&a.g, &a.scc, e[1], &wide, &budget, path), 0);
	lg_analysis_free(&a);
	/* the same in one dump, G an instance of a class of two */
	dump_begin(&t, 4, (const int[]){ 1, 1, 1, 2 });
	add_edge(&t, 0, 1, LG_WW, "3:1", 1);
	add_edge(&t, 1, 2, LG_WW, "-", 2);
	add_edge(&t, 2, 0, LG_WW, "3:1", 3);
	analyse_one(&a, dump_end(&t), &wide);
	ck_assert_uint_eq(a.cycles.n, 0);
	lg_analysis_free(&a);
}
END_TEST

START_TEST(test_gate_with_two_instances_in_a_dump_rules_out_nothing)
{
	struct lg_analysis base, a;
	struct dump_text t;
	uint32_t e[3], new_cycles;
	FILE *null = fopen("/dev/null", "w");

	/* G has two locks in the third dump: across dumps the two gates may
	 * be two locks */
	analyse_two_edges_under_g(&a, 2);
	ck_assert_uint_eq(a.cycles.n, 1);
	ck_assert_uint_eq(a.cycles.v[0].len, 3);
	ck_assert_int_eq(a.cycles.v[0].scope, LG_SCOPE_PROCESSES);
	abc_edges(&a, e);
	ck_assert(can_deadlock(&a, e, 3));
	/* against the singleton case the cycle is new */
	analyse_two_edges_under_g(&base, 1);
	ck_assert_int_eq(lg_out_diff(null, &base, &a, &wide, &new_cycles), 0);
	ck_assert_uint_eq(new_cycles, 1);
	ck_assert_int_eq(lg_out_diff(null, &a, &base, &wide, &new_cycles), 0);
	ck_assert_uint_eq(new_cycles, 0);
	lg_analysis_free(&base);
	lg_analysis_free(&a);
	fclose(null);
	/* in one dump, two instances of G on the two edges: two locks */
	dump_begin(&t, 4, (const int[]){ 1, 1, 1, 2 });
	add_edge(&t, 0, 1, LG_WW, "3:0", 1);
	add_edge(&t, 1, 2, LG_WW, "-", 2);
	add_edge(&t, 2, 0, LG_WW, "3:1", 3);
	analyse_one(&a, dump_end(&t), &wide);
	ck_assert_uint_eq(a.cycles.n, 1);
	ck_assert_int_eq(a.cycles.v[0].scope, LG_SCOPE_THREADS);
	lg_analysis_free(&a);
}
END_TEST

/* A -> B -> C -> A under G1, C -> D -> C under G2 (classes A..D, G1, G2:
 * 0..5); in one dump, or each cycle in a dump of its own. */
static void analyse_two_gated_cycles(struct lg_analysis *a, int ndumps)
{
	struct dump_text t[2];
	char *texts[2];
	int second = ndumps - 1;

	dump_begin(&t[0], 6, NULL);
	if (second)
		dump_begin(&t[1], 6, NULL);
	add_edge(&t[0], 0, 1, LG_WW, "4:0", 1);
	add_edge(&t[0], 1, 2, LG_WW, "4:0", 1);
	add_edge(&t[0], 2, 0, LG_WW, "4:0", 1);
	add_edge(&t[second], 2, 3, LG_WW, "5:0", 2);
	add_edge(&t[second], 3, 2, LG_WW, "5:0", 2);
	for (int i = 0; i < ndumps; i++)
		texts[i] = dump_end(&t[i]);
	ck_assert_int_eq(analyse(a, texts, ndumps, &wide), 0);
	for (int i = 0; i < ndumps; i++)
		free(texts[i]);
}

START_TEST(test_gated_cycles_sharing_a_class_make_no_cycle)
{
	struct lg_analysis a;

	for (int ndumps = 1; ndumps <= 2; ndumps++) {
		analyse_two_gated_cycles(&a, ndumps);
		ck_assert_uint_eq(a.cycles.ncomps, 1);
		ck_assert_uint_eq(lc__scc_size(&a.scc, a.cycles.comps[0].comp),
				  4);
		/* no one gate on every edge: settled by the search */
		ck_assert(!a.cycles.comps[0].proven);
		ck_assert(!lg_comp_unsettled(&a.cycles.comps[0]));
		ck_assert_uint_eq(a.cycles.n, 0);
		lg_analysis_free(&a);
	}
}
END_TEST

START_TEST(test_process_report_links_to_its_cycle)
{
	struct lg_search_opts only_shortest = wide;
	struct dump_text t;
	struct lg_analysis a;

	only_shortest.max_cycles = 0;
	dump_begin(&t, 3, NULL);
	add_edge(&t, 0, 1, LG_WW, "-", 1);
	add_edge(&t, 1, 0, LG_WW, "-", 1);
	add_edge(&t, 1, 2, LG_WW, "-", 1);
	add_edge(&t, 2, 0, LG_WW, "-", 1);
	/* the 3-cycle, reported from its middle: not listed by the search */
	fprintf(t.f, "finding lock-order-cycle 2,0,1 \"c2 -> c0 -> c1\"\n");
	fprintf(t.f, "finding lock-order-cycle 1,0 \"c1 -> c0\"\n");
	fprintf(t.f, "finding lock-order-cycle 1 \"c1 instances\"\n");
	t.nfindings = 3;
	analyse_one(&a, dump_end(&t), &only_shortest);
	ck_assert_uint_eq(a.cycles.n, 2);
	ck_assert_uint_eq(a.g.findings[0].cycle, 1);
	ck_assert(a.cycles.v[1].from_report);
	ck_assert_uint_eq(a.cycles.v[1].len, 3);
	ck_assert_uint_eq(a.g.findings[1].cycle, 0);
	ck_assert_uint_eq(a.cycles.v[0].nreports, 1);
	ck_assert_uint_eq(a.g.findings[2].cycle, LG_NONE);
	lg_analysis_free(&a);
}
END_TEST

START_TEST(test_cycle_through_an_edge_is_shortest)
{
	struct dump_text t;
	struct lg_analysis a;
	uint32_t path[16], e, n;
	uint64_t budget = 1000000;

	dump_begin(&t, 5, NULL);
	for (int i = 0; i < 5; i++)
		add_edge(&t, i, (i + 1) % 5, LG_WW, "-", 1);
	add_edge(&t, 2, 0, LG_WW, "-", 1);
	analyse_one(&a, dump_end(&t), &wide);
	e = lg_graph_find_edge(&a.g, cls(&a, 3), cls(&a, 4));
	n = lg_cycle_through(&a.g, &a.scc, e, &wide, &budget, path);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(path[0], e);
	e = lg_graph_find_edge(&a.g, cls(&a, 0), cls(&a, 1));
	ck_assert_uint_eq(
		lg_cycle_through(&a.g, &a.scc, e, &wide, &budget, path), 3);
	ck_assert_uint_lt(budget, 1000000);
	lg_analysis_free(&a);
}
END_TEST

/* n classes in one long order, 31 short edges back (one making a 2-cycle)
 * and one from the end to the start: one component of n classes, searched
 * within the limits. */
static void big_component(int n)
{
	struct lg_search_opts some = wide;
	struct dump_text t;
	struct lg_analysis a;

	some.max_cycles = 5;
	rng_state = 7;
	dump_begin(&t, n, NULL);
	for (int i = 0; i + 1 < n; i++)
		add_edge(&t, i, i + 1, LG_WW, "-", 1);
	for (int k = 0; k < 30; k++) {
		int from = 100 + (n - 200) / 30 * k + (int)rnd(50);

		add_edge(&t, from, from - 1 - (int)rnd(50), LG_WW, "-", 2);
	}
	add_edge(&t, n - 2, n - 3, LG_WW, "-", 3); /* the one 2-cycle */
	add_edge(&t, n - 1, 0, LG_WW, "-", 3);
	analyse_one(&a, dump_end(&t), &some);
	ck_assert_uint_eq(a.cycles.ncomps, 1);
	ck_assert_uint_eq(lc__scc_size(&a.scc, a.cycles.comps[0].comp),
			  (uint32_t)n);
	ck_assert_uint_eq(a.cycles.n, 5);
	ck_assert(a.cycles.truncated);
	ck_assert(a.cycles.v[0].shortest);
	ck_assert_uint_eq(a.cycles.v[0].len, 2);
	for (uint32_t i = 1; i < a.cycles.n; i++)
		ck_assert_uint_le(a.cycles.v[i - 1].len, a.cycles.v[i].len);
	lg_analysis_free(&a);
}

START_TEST(test_big_components_are_searched_shortest_first)
{
	big_component(2000); /* distance rows kept: by length */
	big_component(5000); /* too big for rows: per class */
}
END_TEST

/* ---- the parser under mutation ---- */

static char *mutate(const char *src, size_t len, size_t *out_len)
{
	char *p = malloc(len + 64);
	size_t at = len ? rnd((uint32_t)len) : 0, cut;

	memcpy(p, src, len);
	*out_len = len;
	switch (rnd(6)) {
	case 0: /* flip a byte */
		p[at] = (char)rnd(256);
		break;
	case 1: /* cut the file */
		*out_len = at;
		break;
	case 2: /* drop half of what follows */
		cut = (len - at) / 2;
		memmove(p + at, p + at + cut, len - at - cut);
		*out_len = len - cut;
		break;
	case 3: /* a huge number */
		memmove(p + at + 20, p + at, len - at);
		memcpy(p + at, "99999999999999999999", 20);
		*out_len = len + 20;
		break;
	case 4: /* a separator or quote where it hurts */
		p[at] = " \"\\,:\n-"[rnd(7)];
		break;
	default: /* the file's start written over a stretch */
		memcpy(p + at, src, len - at < 40 ? len - at : 40);
		break;
	}
	return p;
}

static void parse_mutant(const char *data, size_t len)
{
	struct lg_analysis a;
	struct lg_err err = { { 0 } };
	FILE *f = fmemopen((void *)data, len, "r");
	int rc = lg_analysis_init(&a);

	ck_assert_ptr_nonnull(f);
	rc = rc ? rc : lg_parse(&a.g, "m.graph", f, &err);
	fclose(f);
	ck_assert_msg(rc == 0 || rc == EINVAL, "rc %d", rc);
	if (rc) {
		ck_assert(!strncmp(err.msg, "m.graph:", 8));
		ck_assert_ptr_null(strchr(err.msg, '\n'));
	} else {
		FILE *null = fopen("/dev/null", "w");
		uint32_t n;

		ck_assert_int_eq(lg_analysis_run(&a, &wide), 0);
		lg_out_report(null, &a);
		lg_out_json(null, &a);
		lg_out_dot(null, &a);
		lg_out_order(null, &a);
		lg_out_check(null, &a, &n);
		fclose(null);
	}
	lg_analysis_free(&a);
}

START_TEST(test_mutated_real_dumps_parse_or_fail_cleanly)
{
	static const char *const files[] = { "weird/weird.graph",
					     "threads/threads.graph",
					     "gate/gate_ab.graph",
					     "recursive/recursive.graph" };
	char ws[256];

	rng_state = 99u + (uint32_t)_i;
	snprintf(ws, sizeof(ws), "tools/lockgraph/testdata/dumps/%s",
		 files[_i]);
	{
		const char *path = lct_runfile(ws);
		size_t len = 0;
		char *src = path ? lct_read_file(path, &len) : NULL;

		ck_assert_ptr_nonnull(src);
		for (int i = 0; i < 500; i++) {
			size_t n;
			char *m = mutate(src, len, &n);

			parse_mutant(m, n);
			free(m);
		}
		free(src);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lockgraph_lib");
	TCase *core = tcase_create("core"), *model = tcase_create("model");
	TCase *parse = tcase_create("parse");

	tcase_add_test(core, test_each_cycle_is_listed_once_not_per_rotation);
	tcase_add_test(core, test_shortest_cycle_of_each_component_comes_first);
	tcase_add_test(core, test_spent_budget_leaves_component_unsettled);
	tcase_add_test(core, test_read_read_component_is_settled_when_searched);
	tcase_add_test(core, test_silent_tangles_are_proven_without_search);
	tcase_add_test(core, test_cycle_longer_than_max_length_is_unsettled);
	tcase_add_test(core, test_mode_rule_is_applied_at_every_lock);
	tcase_add_test(core, test_instance_gate_counts_only_within_one_dump);
	tcase_add_test(core,
		       test_edge_seen_without_its_gate_elsewhere_loses_it);
	tcase_add_test(core,
		       test_singleton_gate_on_two_edges_rules_out_the_cycle);
	tcase_add_test(
		core, test_gate_with_two_instances_in_a_dump_rules_out_nothing);
	tcase_add_test(core, test_gated_cycles_sharing_a_class_make_no_cycle);
	tcase_add_test(core, test_process_report_links_to_its_cycle);
	tcase_add_test(core, test_cycle_through_an_edge_is_shortest);
	tcase_add_test(core, test_big_components_are_searched_shortest_first);
	tcase_add_loop_test(
		model, test_search_and_merge_match_brute_force_model, 0, 5);
	tcase_add_loop_test(
		parse, test_mutated_real_dumps_parse_or_fail_cleanly, 0, 4);
	tcase_set_timeout(core, 120);
	tcase_set_timeout(model, 240);
	tcase_set_timeout(parse, 240);
	suite_add_tcase(s, core);
	suite_add_tcase(s, model);
	suite_add_tcase(s, parse);
	return lct_run_suite(s);
}
