/*
 * rules_agree_test.c: the checker, lockgraph and the brute-force model
 * (cycle_model.h) give one verdict on random lock programs. Two rule sets
 * cannot pass it: every program's cycles are compared lock set by lock
 * set, in every build the checker exists in.
 *
 * A program: 2-8 lock classes c0..c7, each of mutexes or of rwlocks, with
 * 1-3 locks, and 70 gate locks of one class g (ordered by keys, so nesting
 * them is no finding); then up to 24 steps, each taking some gate locks
 * (none, a few, or more than a gate set keeps), maybe one more lock, then a
 * lock of one class and one of another (or of the same, another lock),
 * each in a mode its kind allows, then releasing them all. Steps run one
 * after the other, each on a thread of its own: nothing ever waits.
 *
 * The model replays the steps by the rules the checker documents: each
 * acquisition adds an edge from every held lock's class to the new lock's
 * class (the same class: between the two locks, in that class's instance
 * graph) with the pair of modes; an edge's gates are the locks held
 * exclusively at its first occurrence (the first LC__GATE_MAX, outermost
 * first) less those missing at any later one. Its cycles come by brute
 * force.
 *
 * Checked builds run each program in a child writing a dump: its
 * lock-order-cycle reports (as sets of locks) must be the model's cycles,
 * of classes and of instances; lockgraph on the dump must list the model's
 * class cycles and link each report to one. Every build also gives
 * lockgraph the dump the model writes itself, and checks the committed
 * dumps of real processes against their own reports.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cycle_model.h"
#include "dump_agree.h"
#include "lockcheck/limits.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"
#include "tools/lockgraph/analysis.h"
#include "tools/lockgraph/parse.h"

#define NCLS   8    /* classes c0..c7 at most */
#define NINST  3    /* locks per class at most */
#define NGATES 70   /* gate locks: more than a gate set keeps */
#define GATE   NCLS /* the gate class, in a lock reference */
#define NSTEPS 24
#define NLOCKS (NGATES + 4) /* locks one step takes at most */
#define NSETS  512	    /* distinct lock sets of cycles at most */

enum { R = 0, W = 1 };

struct lk {
	int cls, inst, mode;
};

struct step {
	int n;
	struct lk lock[NLOCKS]; /* taken in this order, then all released */
};

struct prog {
	int ncls;
	bool rw[NCLS];
	int ninst[NCLS];
	int nsteps;
	struct step step[NSTEPS];
};

/* ---- the program, run in a child ---- */

static lc_mutex_t mutexes[NCLS][NINST], gates[NGATES];
static lc_rwlock_t rwlocks[NCLS][NINST];

#define CHILD_OK(x)                                                            \
	do {                                                                   \
		if ((x) != 0)                                                  \
			abort();                                               \
	} while (0)

/* One init site per class: each call of the init macros is a class. */
#define MUTEX_SITE(k)                                                          \
	case k:                                                                \
		CHILD_OK(lc_mutex_init(m, "c" #k));                            \
		break
#define RWLOCK_SITE(k)                                                         \
	case k:                                                                \
		CHILD_OK(lc_rwlock_init(l, "c" #k));                           \
		break

static void init_mutex(lc_mutex_t *m, int k)
{
	switch (k) {
		MUTEX_SITE(0);
		MUTEX_SITE(1);
		MUTEX_SITE(2);
		MUTEX_SITE(3);
		MUTEX_SITE(4);
		MUTEX_SITE(5);
		MUTEX_SITE(6);
		MUTEX_SITE(7);
	}
}

static void init_rwlock(lc_rwlock_t *l, int k)
{
	switch (k) {
		RWLOCK_SITE(0);
		RWLOCK_SITE(1);
		RWLOCK_SITE(2);
		RWLOCK_SITE(3);
		RWLOCK_SITE(4);
		RWLOCK_SITE(5);
		RWLOCK_SITE(6);
		RWLOCK_SITE(7);
	}
}

static const struct prog *running; /* the child's program */

static void take(const struct lk *l)
{
	if (l->cls == GATE)
		CHILD_OK(lc_mutex_lock(&gates[l->inst]));
	else if (!running->rw[l->cls])
		CHILD_OK(lc_mutex_lock(&mutexes[l->cls][l->inst]));
	else if (l->mode == W)
		CHILD_OK(lc_rwlock_wrlock(&rwlocks[l->cls][l->inst]));
	else
		CHILD_OK(lc_rwlock_rdlock(&rwlocks[l->cls][l->inst]));
}

static void release(const struct lk *l)
{
	if (l->cls == GATE)
		CHILD_OK(lc_mutex_unlock(&gates[l->inst]));
	else if (!running->rw[l->cls])
		CHILD_OK(lc_mutex_unlock(&mutexes[l->cls][l->inst]));
	else
		CHILD_OK(lc_rwlock_unlock(&rwlocks[l->cls][l->inst]));
}

static void run_step(void *arg)
{
	const struct step *st = arg;

	for (int i = 0; i < st->n; i++)
		take(&st->lock[i]);
	for (int i = st->n - 1; i >= 0; i--)
		release(&st->lock[i]);
}

static void run_program(void *arg)
{
	const struct prog *p = arg;

	running = p;
	for (int k = 0; k < p->ncls; k++)
		for (int i = 0; i < p->ninst[k]; i++) {
			if (p->rw[k])
				init_rwlock(&rwlocks[k][i], k);
			else
				init_mutex(&mutexes[k][i], k);
		}
	for (int i = 0; i < NGATES; i++) {
		CHILD_OK(lc_mutex_init(&gates[i], "g"));
		CHILD_OK(lc_mutex_set_order(&gates[i], (uint64_t)i + 1));
	}
	for (int s = 0; s < p->nsteps; s++)
		lct_in_thread(run_step, (void *)&p->step[s]);
}

/* ---- the model ---- */

struct medge {
	int modes; /* 0: no edge */
	int ngates;
	int gate[LC__GATE_MAX]; /* lock keys */
};

struct model {
	int n; /* class graph nodes: the classes, then g */
	struct medge cls[NCLS + 1][NCLS + 1];
	struct medge inst[NCLS][NINST][NINST];
};

static int key_of(const struct lk *l)
{
	return l->cls * 100 + l->inst;
}

static bool has_key(const int *keys, int n, int key)
{
	for (int i = 0; i < n; i++)
		if (keys[i] == key)
			return true;
	return false;
}

/* One occurrence of edge e in mode pair `pair` while the locks excl[0..n)
 * were held exclusively (outermost first). */
static void see(struct medge *e, int pair, const int *excl, int n)
{
	int kept = 0;

	if (!e->modes) {
		e->modes = 1 << pair;
		e->ngates = n < LC__GATE_MAX ? n : LC__GATE_MAX;
		memcpy(e->gate, excl, (size_t)e->ngates * sizeof(*excl));
		return;
	}
	e->modes |= 1 << pair;
	for (int i = 0; i < e->ngates; i++)
		if (has_key(excl, n, e->gate[i]))
			e->gate[kept++] = e->gate[i];
	e->ngates = kept;
}

/* Node of class cls in the class graph: g comes after the classes. */
static int node_of(const struct prog *p, int cls)
{
	return cls == GATE ? p->ncls : cls;
}

/* Acquisition i of step st: an edge from every lock held. */
static void replay_lock(const struct prog *p, struct model *m,
			const struct step *st, int i)
{
	const struct lk *to = &st->lock[i];
	int excl[NLOCKS], n = 0;

	for (int j = 0; j < i; j++)
		if (st->lock[j].mode == W)
			excl[n++] = key_of(&st->lock[j]);
	for (int j = 0; j < i; j++) {
		const struct lk *h = &st->lock[j];
		int pair = h->mode * 2 + to->mode;

		if (h->cls != to->cls)
			see(&m->cls[node_of(p, h->cls)][node_of(p, to->cls)],
			    pair, excl, n);
		else if (to->cls != GATE) /* gates: keyed, in order */
			see(&m->inst[to->cls][h->inst][to->inst], pair, excl,
			    n);
	}
}

static void replay(const struct prog *p, struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->n = p->ncls + 1;
	for (int s = 0; s < p->nsteps; s++)
		for (int i = 1; i < p->step[s].n; i++)
			replay_lock(p, m, &p->step[s], i);
}

/* A graph of the model for the brute force: edges[a * stride + b]. */
struct view {
	const struct medge *edges;
	int stride;
};

static const struct medge *edge_at(const struct view *v, int a, int b)
{
	return &v->edges[a * v->stride + b];
}

static bool view_share(const struct cm_graph *g, int a, int b, int c, int d)
{
	const struct medge *x = edge_at(g->ctx, a, b),
			   *y = edge_at(g->ctx, c, d);

	for (int i = 0; i < x->ngates; i++)
		if (has_key(y->gate, y->ngates, x->gate[i]))
			return true;
	return false;
}

static void find_cycles(const struct view *v, int n, struct cm_cycles *out)
{
	struct cm_graph g = { .n = n, .share = view_share, .ctx = v };

	for (int a = 0; a < n; a++)
		for (int b = 0; b < n; b++)
			g.modes[a][b] = edge_at(v, a, b)->modes;
	cm_find_cycles(&g, out);
}

/* ---- cycles as sets of lock names ---- */

struct sets {
	char v[NSETS][200];
	int n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the set of names[0..n) (sorted, comma-joined) unless present. */
static void add_set(struct sets *s, char **names, int n)
{
	char buf[200] = "";
	size_t len = 0;

	qsort(names, (size_t)n, sizeof(*names), cmp_str);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
					i ? "," : "", names[i]);
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], buf))
			return;
	ck_assert_int_lt(s->n, NSETS);
	snprintf(s->v[s->n++], sizeof(s->v[0]), "%s", buf);
}

static int cmp_set(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void sort_sets(struct sets *s)
{
	qsort(s->v, (size_t)s->n, sizeof(s->v[0]), cmp_set);
}

static bool same_sets(struct sets *a, struct sets *b)
{
	sort_sets(a);
	sort_sets(b);
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

/* The model's cycles: of classes, and (when inst) of instances. */
static void model_sets(const struct prog *p, const struct model *m, bool inst,
		       struct sets *out)
{
	static struct cm_cycles c;
	struct view cls = { &m->cls[0][0], NCLS + 1 };
	char names[NCLS + 1][32], *v[NCLS + 1];

	out->n = 0;
	find_cycles(&cls, m->n, &c);
	for (int i = 0; i < c.n; i++) {
		for (int k = 0; k < c.len[i]; k++) {
			int node = c.node[i][k];

			snprintf(names[k], sizeof(names[k]),
				 node == p->ncls ? "g" : "c%d", node);
			v[k] = names[k];
		}
		add_set(out, v, c.len[i]);
	}
	for (int k = 0; inst && k < p->ncls; k++) {
		struct view iv = { &m->inst[k][0][0], NINST };

		find_cycles(&iv, p->ninst[k], &c);
		for (int i = 0; i < c.n; i++) {
			for (int j = 0; j < c.len[i]; j++) {
				snprintf(names[j], sizeof(names[j]), "c%d#%d",
					 k, c.node[i][j] + 1);
				v[j] = names[j];
			}
			add_set(out, v, c.len[i]);
		}
	}
}

/* The lock sets of the checker's lock-order-cycle reports in text. */
static void report_sets(const char *text, struct sets *out)
{
	static const char prefix[] = "lockcheck: lock-order-cycle: ";

	out->n = 0;
	for (const char *line = strstr(text, prefix); line;
	     line = strstr(line + 1, prefix)) {
		char buf[400], *names[NCLS + 2], *end, *save = NULL;
		int n = 0;

		snprintf(buf, sizeof(buf), "%s", line + strlen(prefix));
		end = strstr(buf, " (");
		ck_assert_ptr_nonnull(end);
		*end = '\0';
		for (char *t = strtok_r(buf, " ", &save); t;
		     t = strtok_r(NULL, " ", &save))
			if (strcmp(t, "->") && n < NCLS + 2)
				names[n++] = t;
		ck_assert_int_ge(n, 3); /* A -> ... -> A */
		add_set(out, names, n - 1);
	}
}

/* The lock sets of the cycles lockgraph lists. */
static void lockgraph_sets(const struct lg_analysis *a, struct sets *out)
{
	out->n = 0;
	for (uint32_t i = 0; i < a->cycles.n; i++) {
		const uint32_t *e = lg_cycle_edges(&a->cycles, i);
		char *names[LC_MAX_LEN_LIMIT];
		uint32_t n = a->cycles.v[i].len;

		ck_assert_uint_le(n, LC_MAX_LEN_LIMIT);
		for (uint32_t k = 0; k < n; k++)
			names[k] = (char *)lg_str(
				&a->g.strs,
				a->g.classes[a->g.edges[e[k]].from].name);
		add_set(out, names, (int)n);
	}
}

/* ---- the dump the model writes, for lockgraph alone ---- */

static void put_edge(FILE *f, const struct prog *p, const struct model *m,
		     int a, int b)
{
	static const char *const pairs[4] = { "RR", "RW", "WR", "WW" };
	const struct medge *e = &m->cls[a][b];
	const char *sep = " ";

	fprintf(f, "edge %d %d 1", a, b);
	for (int i = 0; i < 4; i++)
		if (e->modes & (1 << i)) {
			fprintf(f, "%s%s", sep, pairs[i]);
			sep = ",";
		}
	fprintf(f, " %s", e->ngates ? "" : "-");
	for (int i = 0; i < e->ngates; i++) /* key / 100 is its class */
		fprintf(f, "%s%d:%d", i ? "," : "",
			node_of(p, e->gate[i] / 100), e->gate[i] + 1);
	fprintf(f, " 1 \"t\" \"t.c\" 1 \"f\" \"t.c\" 2 \"f\"\n");
}

static char *model_dump(const struct prog *p, const struct model *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int nedges = 0;

	ck_assert_ptr_nonnull(f);
	fprintf(f, "lockcheck-dump 1\nprocess 1 \"model\"\n");
	for (int k = 0; k < p->ncls; k++)
		fprintf(f, "class %d %s %d 0 0 0 \"c%d\" \"t.c\" %d\n", k,
			p->rw[k] ? "rwlock" : "mutex", p->ninst[k], k, k);
	fprintf(f, "class %d mutex %d 0 0 0 \"g\" \"t.c\" 99\n", p->ncls,
		NGATES);
	for (int a = 0; a < m->n; a++)
		for (int b = 0; b < m->n; b++)
			if (m->cls[a][b].modes) {
				put_edge(f, p, m, a, b);
				nedges++;
			}
	fprintf(f, "end %d %d 0\n", m->n, nedges);
	ck_assert_int_eq(fclose(f), 0);
	return text;
}

static const struct lg_search_opts wide = { 1000000, LC_MAX_LEN_LIMIT,
					    100000000 };

static void analyse_text(struct lg_analysis *a, char *text)
{
	struct lg_err err = { { 0 } };
	FILE *f = fmemopen(text, strlen(text), "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(lg_analysis_init(a), 0);
	ck_assert_msg(lg_parse(&a->g, "model", f, &err) == 0, "%s\n%s", err.msg,
		      text);
	fclose(f);
	ck_assert_int_eq(lg_analysis_run(a, &wide), 0);
}

/* ---- comparing ---- */

static void describe(const struct prog *p)
{
	fprintf(stderr, "program: %d classes:", p->ncls);
	for (int k = 0; k < p->ncls; k++)
		fprintf(stderr, " c%d %s x%d", k, p->rw[k] ? "rw" : "mx",
			p->ninst[k]);
	fprintf(stderr, "\n");
	for (int s = 0; s < p->nsteps; s++) {
		const struct step *st = &p->step[s];

		fprintf(stderr, "  step %d:", s);
		for (int i = 0; i < st->n; i++) {
			const struct lk *l = &st->lock[i];

			if (l->cls == GATE)
				fprintf(stderr, " g%d", l->inst);
			else
				fprintf(stderr, " c%d#%d%s", l->cls,
					l->inst + 1, l->mode == W ? "w" : "r");
		}
		fprintf(stderr, "\n");
	}
}

static void expect_same(const struct prog *p, struct sets *want,
			struct sets *got, const char *who)
{
	if (same_sets(want, got))
		return;
	describe(p);
	fprintf(stderr, "model:");
	for (int i = 0; i < want->n; i++)
		fprintf(stderr, " {%s}", want->v[i]);
	fprintf(stderr, "\n%s:", who);
	for (int i = 0; i < got->n; i++)
		fprintf(stderr, " {%s}", got->v[i]);
	fprintf(stderr, "\n");
	ck_abort_msg("%s and the model disagree (see above)", who);
}

/* lockgraph on the dump the model writes: the model's class cycles. */
static void check_model_dump(const struct prog *p, const struct model *m,
			     struct sets *want)
{
	static struct sets got;
	struct lg_analysis a;
	char *text = model_dump(p, m);

	analyse_text(&a, text);
	lockgraph_sets(&a, &got);
	expect_same(p, want, &got, "lockgraph on the model's dump");
	lg_analysis_free(&a);
	free(text);
}

/* The checker's reports, and lockgraph on its dump. */
static void check_child(const struct prog *p, struct sets *all,
			struct sets *classes)
{
	static struct sets got;
	char dir[4096], var[4200], why[1024] = "";
	/* no addr2line per report, no leak scan per child (ASan builds):
	 * hundreds of children must stay quick; other tests check those */
	const char *env[] = { var, "LOCKCHECK_EXITCODE=0",
			      "LOCKCHECK_SYMBOLIZE=0",
			      "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0",
			      NULL };
	struct lg_err err = { { 0 } };
	struct lg_analysis a;
	struct lct_child c;
	char *paths[1] = { dir };

	snprintf(dir, sizeof(dir), "%s", lct_tmpdir("agree"));
	snprintf(var, sizeof(var), "LOCKCHECK_DUMP=%s", dir);
	ck_assert_int_eq(lct_run_fn(run_program, (void *)p, env, &c), 0);
	if (!lct_exited_with(&c, 0) ||
	    lct_count_all_reports(&c) !=
		    lct_count_reports(&c, "lock-order-cycle")) {
		describe(p);
		lct_child_dump(&c, "program");
		ck_abort_msg("the program failed or reported something else");
	}
	report_sets(c.err, &got);
	expect_same(p, all, &got, "the checker");
	ck_assert_int_eq(lg_analyze(&a, paths, 1, &wide, &err), 0);
	lockgraph_sets(&a, &got);
	expect_same(p, classes, &got, "lockgraph on the checker's dump");
	lg_analysis_free(&a);
	ck_assert_msg(lct_dump_agrees(dir, true, why, sizeof(why)), "%s", why);
	lct_child_free(&c);
}

/* Every verdict on p; returns how many lock sets can deadlock. */
static int check_program(const struct prog *p)
{
	static struct model m;
	static struct sets all, classes;

	replay(p, &m);
	model_sets(p, &m, false, &classes);
	model_sets(p, &m, true, &all);
	check_model_dump(p, &m, &classes);
	if (LOCKCHECK)
		check_child(p, &all, &classes);
	return all.n;
}

/* ---- programs ---- */

static uint32_t rng_state = 1;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 8) % n;
}

static void add_lock(struct step *st, int cls, int inst, int mode)
{
	ck_assert_int_lt(st->n, NLOCKS);
	st->lock[st->n++] = (struct lk){ cls, inst, mode };
}

/* Gate locks first..last, in order. */
static void add_gates(struct step *st, int first, int last)
{
	for (int i = first; i <= last; i++)
		add_lock(st, GATE, i, W);
}

/* count distinct gate locks of 0..range-1, ascending. */
static void add_random_gates(struct step *st, int count, int range)
{
	bool pick[NGATES] = { false };

	for (int left = count; left > 0;) {
		int i = (int)rnd((uint32_t)range);

		if (!pick[i]) {
			pick[i] = true;
			left--;
		}
	}
	for (int i = 0; i < range; i++)
		if (pick[i])
			add_lock(st, GATE, i, W);
}

/* None most often, a few of four (so gates are shared), a dozen, or more
 * than a gate set keeps. */
static void random_gates(struct step *st)
{
	uint32_t r = rnd(100);

	if (r < 55)
		return;
	if (r < 85)
		add_random_gates(st, 1 + (int)rnd(2), 4);
	else if (r < 95)
		add_random_gates(st, 5 + (int)rnd(8), NGATES);
	else
		add_random_gates(st, LC__GATE_MAX + 1 + (int)rnd(6), NGATES);
}

static int random_mode(const struct prog *p, int cls)
{
	return p->rw[cls] ? (int)rnd(2) : W;
}

/* A step for the edge a -> b: gates, maybe another lock, a, b. */
static void add_step(struct prog *p, int a, int b)
{
	struct step *st = &p->step[p->nsteps++];
	int ia = (int)rnd((uint32_t)p->ninst[a]), ib;
	int x = (int)rnd((uint32_t)p->ncls), ix;

	do
		ib = (int)rnd((uint32_t)p->ninst[b]);
	while (a == b && ib == ia);
	ix = (int)rnd((uint32_t)p->ninst[x]);
	st->n = 0;
	random_gates(st);
	if (rnd(100) < 15 && !(x == a && ix == ia) && !(x == b && ix == ib))
		add_lock(st, x, ix, random_mode(p, x));
	add_lock(st, a, ia, random_mode(p, a));
	add_lock(st, b, ib, random_mode(p, b));
}

static void shuffle_steps(struct prog *p)
{
	for (int i = p->nsteps - 1; i > 0; i--) {
		int j = (int)rnd((uint32_t)i + 1);
		struct step t = p->step[i];

		p->step[i] = p->step[j];
		p->step[j] = t;
	}
}

static void random_program(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	p->ncls = 2 + (int)rnd(NCLS - 1);
	for (int k = 0; k < p->ncls; k++) {
		p->rw[k] = rnd(2);
		p->ninst[k] = rnd(3) ? 1 : 2 + (int)rnd(NINST - 1);
	}
	for (int a = 0; a < p->ncls; a++)
		for (int b = 0; b < p->ncls; b++) {
			int times = 1 + (int)rnd(2);

			if ((a == b && p->ninst[a] < 2) || rnd(100) >= 28)
				continue;
			for (int t = 0; t < times && p->nsteps < NSTEPS; t++)
				add_step(p, a, b);
		}
	shuffle_steps(p);
}

/* Two mutex classes A (c0) and B (c1), one lock each. */
static void two_mutexes(struct prog *p)
{
	memset(p, 0, sizeof(*p));
	p->ncls = 2;
	p->ninst[0] = p->ninst[1] = 1;
}

/* One thread holds gates first..last and takes A then B; another holds
 * gate `other` and takes B then A. */
static void gated_abba(struct prog *p, int first, int last, int other)
{
	two_mutexes(p);
	p->nsteps = 2;
	add_gates(&p->step[0], first, last);
	add_lock(&p->step[0], 0, 0, W);
	add_lock(&p->step[0], 1, 0, W);
	add_gates(&p->step[1], other, other);
	add_lock(&p->step[1], 1, 0, W);
	add_lock(&p->step[1], 0, 0, W);
}

START_TEST(test_ten_gates_one_shared_serialise_both_orders)
{
	static struct prog p;

	/* G1..G10, A, B against G10, B, A: G10 serialises both orders */
	gated_abba(&p, 0, 9, 9);
	ck_assert_int_eq(check_program(&p), 0);
}
END_TEST

START_TEST(test_gate_beyond_the_limit_is_not_kept)
{
	static struct prog p;

	/* the shared gate is the 70th lock held: past the 64 an edge keeps,
	 * so the cycle is reported - more reports, never fewer */
	gated_abba(&p, 0, NGATES - 1, NGATES - 1);
	ck_assert_int_eq(check_program(&p), 1);
	/* the shared gate among the first 64: silent */
	gated_abba(&p, 0, NGATES - 1, 5);
	ck_assert_int_eq(check_program(&p), 0);
}
END_TEST

START_TEST(test_readers_in_both_orders_make_no_cycle)
{
	static struct prog p;

	two_mutexes(&p);
	p.rw[0] = p.rw[1] = true;
	p.nsteps = 2;
	add_lock(&p.step[0], 0, 0, R);
	add_lock(&p.step[0], 1, 0, R);
	add_lock(&p.step[1], 1, 0, R);
	add_lock(&p.step[1], 0, 0, R);
	ck_assert_int_eq(check_program(&p), 0);
	/* each holds one for reading and wants the other for writing: a
	 * writer waits for the reader, both ways round */
	p.step[0].lock[1].mode = W;
	p.step[1].lock[1].mode = W;
	ck_assert_int_eq(check_program(&p), 1);
	/* only one of them a writer: the other reader's wait never comes */
	p.step[0].lock[1].mode = R;
	ck_assert_int_eq(check_program(&p), 0);
}
END_TEST

START_TEST(test_cycle_through_class_zero_hides_no_other)
{
	static struct prog p;
	static const int order[4][2] = {
		{ 2, 1 }, { 0, 2 }, { 1, 0 }, { 1, 2 }
	};

	/* c1 -> c0 -> c2 -> c1 and c1 -> c2 -> c1: two sets of locks (the
	 * checker once took them for one: class 0 counted for nothing) */
	memset(&p, 0, sizeof(p));
	p.ncls = 3;
	p.ninst[0] = p.ninst[1] = p.ninst[2] = 1;
	p.nsteps = 4;
	for (int s = 0; s < 4; s++) {
		add_lock(&p.step[s], order[s][0], 0, W);
		add_lock(&p.step[s], order[s][1], 0, W);
	}
	ck_assert_int_eq(check_program(&p), 2);
}
END_TEST

START_TEST(test_two_locks_of_one_class_in_both_orders)
{
	static struct prog p;

	two_mutexes(&p);
	p.ninst[0] = 2;
	p.nsteps = 2;
	add_lock(&p.step[0], 0, 0, W);
	add_lock(&p.step[0], 0, 1, W);
	add_lock(&p.step[1], 0, 1, W);
	add_lock(&p.step[1], 0, 0, W);
	ck_assert_int_eq(check_program(&p), 1); /* c0#1 -> c0#2 -> c0#1 */
}
END_TEST

START_TEST(test_random_programs_get_one_verdict)
{
	static struct prog p;
	int cycles = 0;

	rng_state = 20251204u + (uint32_t)_i * 7919u;
	for (int round = 0; round < 25; round++) {
		random_program(&p);
		cycles += check_program(&p) > 0;
	}
	ck_assert_int_gt(cycles, 0); /* the programs do make cycles */
}
END_TEST

/* The committed dumps of real runs (tools/lockgraph/testdata/dumps/CASE/):
 * lockgraph finds exactly the cycles each process reported. */
START_TEST(test_committed_dumps_agree_with_their_reports)
{
	char root[4096], path[8400], why[1024];
	const char *at = lct_runfile("tools/lockgraph/testdata/dumps");
	struct dirent *c, *f;
	DIR *cases, *d;
	int checked = 0;

	ck_assert_ptr_nonnull(at);
	snprintf(root, sizeof(root), "%s", at);
	cases = opendir(root);
	ck_assert_ptr_nonnull(cases);
	while ((c = readdir(cases))) {
		snprintf(path, sizeof(path), "%s/%s", root, c->d_name);
		d = c->d_name[0] == '.' ? NULL : opendir(path);
		while (d && (f = readdir(d))) {
			if (!strstr(f->d_name, ".graph"))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", root,
				 c->d_name, f->d_name);
			ck_assert_msg(
				lct_dump_agrees(path, true, why, sizeof(why)),
				"%s", why);
			checked++;
		}
		if (d)
			closedir(d);
	}
	closedir(cases);
	ck_assert_int_ge(checked, 10);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rules_agree");
	TCase *fixed = tcase_create("fixed"), *random = tcase_create("random");

	tcase_add_test(fixed, test_ten_gates_one_shared_serialise_both_orders);
	tcase_add_test(fixed, test_gate_beyond_the_limit_is_not_kept);
	tcase_add_test(fixed, test_readers_in_both_orders_make_no_cycle);
	tcase_add_test(fixed, test_two_locks_of_one_class_in_both_orders);
	tcase_add_test(fixed, test_cycle_through_class_zero_hides_no_other);
	tcase_add_test(fixed, test_committed_dumps_agree_with_their_reports);
	tcase_add_loop_test(random, test_random_programs_get_one_verdict, 0,
			    8); /* 200 programs */
	tcase_set_timeout(fixed, 120);
	tcase_set_timeout(random, 240);
	suite_add_tcase(s, fixed);
	suite_add_tcase(s, random);
	return lct_run_suite(s);
}
