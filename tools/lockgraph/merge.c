/*
 * merge.c: folds the records of one dump after another into the merged
 * graph (model in graph.h).
 *
 * Invariants while reading: the current dump is dumps[ndumps - 1]; local[i]
 * is the merged id of its class i for i < its nclasses; an edge's occurrence
 * list runs from the newest dump back (appending writes only the new
 * entry, sequentially), and last_dump tells whether the current dump
 * already had the edge; an edge's gate candidates are those held at every
 * occurrence so far.
 */
#include "graph.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct class_key {
	uint32_t name, file;
	int32_t line;
};

struct finding_key {
	uint32_t kind, summary;
	const uint32_t *cls;
	uint32_t ncls;
};

static bool class_eq(const void *ctx, uint32_t idx, const void *k)
{
	const struct lg_class *c =
		&((const struct lg_graph *)ctx)->classes[idx];
	const struct class_key *key = k;

	return c->name == key->name && c->file == key->file &&
	       c->line == key->line;
}

/* An edge's hash is lg_mix64 of (from << 32 | to), a bijection: equal
 * hashes are equal keys, so the edge itself need not be read (a cache
 * miss per edge line saved). */
static bool edge_eq(const void *ctx, uint32_t idx, const void *k)
{
	(void)ctx;
	(void)idx;
	(void)k;
	return true;
}

static bool finding_eq(const void *ctx, uint32_t idx, const void *k)
{
	const struct lg_graph *g = ctx;
	const struct lg_finding *f = &g->findings[idx];
	const struct finding_key *key = k;

	return f->kind == key->kind && f->summary == key->summary &&
	       f->ncls == key->ncls &&
	       (!key->ncls || !memcmp(g->ids + f->cls_off, key->cls,
				      key->ncls * sizeof(*key->cls)));
}

int lg_graph_init(struct lg_graph *g)
{
	memset(g, 0, sizeof(*g));
	lc__graph_init(&g->lc);
	lg_index_init(&g->class_ix);
	lg_index_init(&g->edge_ix);
	lg_index_init(&g->finding_ix);
	lg_index_init(&g->range_ix);
	return lg_strtab_init(&g->strs);
}

void lg_graph_free(struct lg_graph *g)
{
	for (uint32_t i = 0; i < g->nedges; i++)
		free(g->finished ? (void *)g->edges[i].gates.keys
				 : (void *)g->edges[i].gates.cand);
	free(g->classes);
	free(g->edges);
	free(g->occ);
	free(g->dumps);
	free(g->findings);
	free(g->ranges);
	free(g->ids);
	free(g->local);
	free(g->out);
	free(g->local_cls);
	lg_index_free(&g->class_ix);
	lg_index_free(&g->edge_ix);
	lg_index_free(&g->finding_ix);
	lg_index_free(&g->range_ix);
	lg_strtab_free(&g->strs);
	lc__graph_free(&g->lc);
	memset(g, 0, sizeof(*g));
}

int lg_graph_begin_dump(struct lg_graph *g, const char *path, uint64_t pid,
			const char *program, size_t program_len, uint32_t *dump)
{
	struct lg_dump d = { 0 };

	if (lg_str_intern(&g->strs, path, strlen(path), &d.path) ||
	    lg_str_intern(&g->strs, program, program_len, &d.program) ||
	    lg_grow((void **)&g->dumps, &g->dumps_cap, (uint64_t)g->ndumps + 1,
		    sizeof(*g->dumps)))
		return ENOMEM;
	d.pid = pid;
	g->dumps[g->ndumps] = d;
	*dump = g->ndumps++;
	return 0;
}

static struct lg_dump *cur_dump(struct lg_graph *g)
{
	assert(g->ndumps > 0);
	return &g->dumps[g->ndumps - 1];
}

/* The merged id of the current dump's class i (the reader checked i). */
static uint32_t merged_id(struct lg_graph *g, uint32_t i)
{
	assert(i < cur_dump(g)->nclasses);
	assert(g->local[i] < g->nclasses);
	return g->local[i];
}

static int new_class(struct lg_graph *g, const struct class_key *key,
		     uint64_t h, uint32_t *id)
{
	struct lg_class *c;

	if (lg_grow((void **)&g->classes, &g->classes_cap,
		    (uint64_t)g->nclasses + 1, sizeof(*g->classes)) ||
	    lg_index_add(&g->class_ix, h, g->nclasses))
		return ENOMEM;
	c = &g->classes[g->nclasses];
	memset(c, 0, sizeof(*c));
	c->name = key->name;
	c->file = key->file;
	c->line = key->line;
	c->singleton = true;
	c->last_dump = LG_NONE;
	*id = g->nclasses++;
	return 0;
}

static void count_class(struct lg_class *c, const struct lg_class_rec *r,
			uint32_t dump)
{
	c->kinds |= r->kind;
	c->singleton &= r->instances == 1;
	c->ndumps++;
	if (r->instances > c->instances)
		c->instances = r->instances;
	c->acquired = lg_sat_add(c->acquired, r->acquired);
	c->contended = lg_sat_add(c->contended, r->contended);
	c->wait_ns = lg_sat_add(c->wait_ns, r->wait_ns);
	c->last_dump = dump;
}

int lg_graph_add_class(struct lg_graph *g, const struct lg_class_rec *r)
{
	struct lg_dump *d = cur_dump(g);
	struct class_key key = { 0, 0, r->line };
	uint32_t id;
	uint64_t h;

	if (lg_str_intern(&g->strs, r->name, r->name_len, &key.name) ||
	    lg_str_intern(&g->strs, r->file, r->file_len, &key.file))
		return ENOMEM;
	h = lg_mix64((uint64_t)key.name << 32 | key.file) ^
	    lg_mix64((uint64_t)(uint32_t)key.line);
	id = lg_index_find(&g->class_ix, h, class_eq, g, &key);
	if (id == LG_NONE && new_class(g, &key, h, &id))
		return ENOMEM;
	if (g->classes[id].last_dump == g->ndumps - 1)
		return EEXIST; /* two class lines for one class */
	if (lg_grow((void **)&g->local, &g->local_cap,
		    (uint64_t)d->nclasses + 1, sizeof(*g->local)))
		return ENOMEM;
	count_class(&g->classes[id], r, g->ndumps - 1);
	g->local[d->nclasses++] = id;
	return 0;
}

static int add_occ(struct lg_graph *g, struct lg_edge *e, int32_t tid)
{
	uint32_t o = g->nocc;

	if (lg_grow((void **)&g->occ, &g->occ_cap, (uint64_t)o + 1,
		    sizeof(*g->occ)))
		return ENOMEM;
	g->occ[o] = (struct lg_occ){ g->ndumps - 1, tid, e->occ };
	e->occ = o; /* newest first: no write into an old entry */
	e->last_dump = g->ndumps - 1;
	g->nocc++;
	e->ndumps++;
	return 0;
}

/* Decodes and interns one raw string of the record. */
static int intern_raw(struct lg_graph *g, const struct lg_edge_rec *r, int i,
		      char *buf, uint32_t *id)
{
	size_t n = lg_field_decode(r->raw[i], r->raw_len[i], buf);

	return lg_str_intern(&g->strs, buf, n, id);
}

static int first_occurrence(struct lg_graph *g, struct lg_edge *e,
			    const struct lg_edge_rec *r)
{
	size_t max = 0;
	char *buf;
	int err;

	for (int i = 0; i < 5; i++)
		if (r->raw_len[i] > max)
			max = r->raw_len[i];
	buf = malloc(max + 1);
	if (!buf)
		return ENOMEM;
	err = intern_raw(g, r, 0, buf, &e->thread);
	err = err ? err : intern_raw(g, r, 1, buf, &e->held.file);
	err = err ? err : intern_raw(g, r, 2, buf, &e->held.func);
	err = err ? err : intern_raw(g, r, 3, buf, &e->next.file);
	err = err ? err : intern_raw(g, r, 4, buf, &e->next.func);
	free(buf);
	e->held.line = r->held_line;
	e->next.line = r->next_line;
	e->tid = r->tid;
	e->dump = g->ndumps - 1;
	return err;
}

static bool cand_has(const struct lg_gate_cand *c, uint32_t n, uint32_t cls,
		     uint64_t inst)
{
	for (uint32_t i = 0; i < n; i++)
		if (c[i].cls == cls && c[i].inst == inst)
			return true;
	return false;
}

/* The gates of a new edge: every gate of its first occurrence. */
static int first_gates(struct lg_graph *g, struct lg_edge *e,
		       const struct lg_edge_rec *r)
{
	struct lg_gate_cand *c;
	uint32_t n = 0;

	if (!r->ngates)
		return 0;
	c = malloc(r->ngates * sizeof(*c));
	if (!c)
		return ENOMEM;
	for (uint32_t i = 0; i < r->ngates; i++) {
		uint32_t cls = merged_id(g, r->gates[i].cls);

		if (!cand_has(c, n, cls, r->gates[i].inst))
			c[n++] = (struct lg_gate_cand){ cls, g->ndumps - 1,
							r->gates[i].inst,
							false };
	}
	e->gates.cand = c;
	e->ngates = (uint8_t)n;
	return 0;
}

static int new_edge(struct lg_graph *g, const uint32_t *key, uint64_t h,
		    const struct lg_edge_rec *r)
{
	struct lg_edge *e;

	if (lg_grow((void **)&g->edges, &g->edges_cap, (uint64_t)g->nedges + 1,
		    sizeof(*g->edges)) ||
	    lg_index_add(&g->edge_ix, h, g->nedges))
		return ENOMEM;
	e = &g->edges[g->nedges++];
	memset(e, 0, sizeof(*e));
	e->from = key[0];
	e->to = key[1];
	e->modes = r->modes;
	e->count = r->count;
	e->occ = LG_NONE;
	if (first_gates(g, e, r) || first_occurrence(g, e, r))
		return ENOMEM;
	return add_occ(g, e, r->tid);
}

/* A candidate survives an occurrence in another dump when that occurrence
 * also held a lock of its class (which lock can only be compared later,
 * and only for singletons). */
static void meet_gates(struct lg_graph *g, struct lg_edge *e,
		       const struct lg_edge_rec *r)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < e->ngates; i++) {
		struct lg_gate_cand c = e->gates.cand[i];
		bool held = false;

		for (uint32_t j = 0; j < r->ngates; j++)
			held |= merged_id(g, r->gates[j].cls) == c.cls;
		if (!held)
			continue;
		c.multi = true;
		e->gates.cand[kept++] = c;
	}
	assert(kept <= e->ngates);
	e->ngates = (uint8_t)kept;
	if (!kept) {
		free(e->gates.cand);
		e->gates.cand = NULL;
	}
}

int lg_graph_add_edge(struct lg_graph *g, const struct lg_edge_rec *r)
{
	uint32_t key[2] = { merged_id(g, r->from), merged_id(g, r->to) };
	uint64_t h = lg_mix64((uint64_t)key[0] << 32 | key[1]);
	uint32_t id = lg_index_find(&g->edge_ix, h, edge_eq, g, key);
	struct lg_edge *e;

	cur_dump(g)->nedges++;
	if (id == LG_NONE)
		return new_edge(g, key, h, r);
	e = &g->edges[id];
	if (e->last_dump == g->ndumps - 1)
		return EEXIST;
	e->modes |= r->modes;
	e->count = lg_sat_add(e->count, r->count);
	meet_gates(g, e, r);
	return add_occ(g, e, r->tid);
}

static int new_finding(struct lg_graph *g, const struct finding_key *key,
		       uint64_t h)
{
	struct lg_finding *f;

	if (lg_grow((void **)&g->findings, &g->findings_cap,
		    (uint64_t)g->nfindings + 1, sizeof(*g->findings)) ||
	    lg_grow((void **)&g->ids, &g->ids_cap,
		    (uint64_t)g->nids + key->ncls, sizeof(*g->ids)) ||
	    lg_index_add(&g->finding_ix, h, g->nfindings))
		return ENOMEM;
	if (key->ncls)
		memcpy(g->ids + g->nids, key->cls, key->ncls * sizeof(*g->ids));
	f = &g->findings[g->nfindings++];
	*f = (struct lg_finding){ key->kind, key->summary,  g->nids,
				  key->ncls, g->ndumps - 1, 1,
				  LG_NONE };
	g->nids += key->ncls;
	return 0;
}

int lg_graph_add_finding(struct lg_graph *g, const char *kind, size_t kind_len,
			 const uint32_t *cls, uint32_t ncls,
			 const char *summary, size_t summary_len)
{
	uint32_t *merged = malloc((ncls ? ncls : 1) * sizeof(*merged));
	struct finding_key key = { 0, 0, merged, ncls };
	uint64_t h;
	uint32_t id;
	int err = ENOMEM;

	cur_dump(g)->nfindings++;
	if (!merged || lg_str_intern(&g->strs, kind, kind_len, &key.kind) ||
	    lg_str_intern(&g->strs, summary, summary_len, &key.summary))
		goto out;
	for (uint32_t i = 0; i < ncls; i++)
		merged[i] = merged_id(g, cls[i]);
	h = lg_mix64((uint64_t)key.kind << 32 | key.summary) ^
	    lg_hash_bytes(merged, ncls * sizeof(*merged));
	id = lg_index_find(&g->finding_ix, h, finding_eq, g, &key);
	err = 0;
	if (id != LG_NONE)
		g->findings[id].ndumps++;
	else
		err = new_finding(g, &key, h);
out:
	free(merged);
	return err;
}

/* ---- ranges ---- */

struct range_key {
	uint32_t what, file;
	int32_t line;
};

static bool range_eq(const void *ctx, uint32_t idx, const void *k)
{
	const struct lg_graph *g = ctx;
	const struct lg_range *r = &g->ranges[idx];
	const struct range_key *key = k;

	return r->what == key->what && r->file == key->file &&
	       r->line == key->line;
}

/* Keeps the locks of r that cls[0..n) also has (merged ids). */
static void intersect(struct lg_graph *g, struct lg_range *r,
		      const uint32_t *cls, uint32_t n)
{
	uint32_t *ids = g->ids + r->cls_off, k = 0;

	for (uint32_t i = 0; i < r->ncls; i++) {
		bool both = false;

		for (uint32_t j = 0; j < n && !both; j++)
			both = ids[i] == cls[j];
		if (both)
			ids[k++] = ids[i];
	}
	r->ncls = k;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int lg_graph_add_range(struct lg_graph *g, const struct lg_range_rec *rec)
{
	uint32_t *merged =
		malloc((rec->ncls ? rec->ncls : 1) * sizeof(*merged));
	struct range_key key = { 0, 0, rec->line };
	struct lg_range *r;
	uint64_t h;
	uint32_t id;
	int err = ENOMEM;

	if (!merged ||
	    lg_str_intern(&g->strs, rec->what, rec->what_len, &key.what) ||
	    lg_str_intern(&g->strs, rec->file, rec->file_len, &key.file))
		goto out;
	for (uint32_t i = 0; i < rec->ncls; i++)
		merged[i] = merged_id(g, rec->cls[i]);
	h = lg_mix64((uint64_t)key.what << 32 | key.file) ^
	    (uint64_t)(uint32_t)key.line;
	id = lg_index_find(&g->range_ix, h, range_eq, g, &key);
	if (id == LG_NONE) {
		if (lg_grow((void **)&g->ranges, &g->ranges_cap,
			    (uint64_t)g->nranges + 1, sizeof(*g->ranges)) ||
		    lg_grow((void **)&g->ids, &g->ids_cap,
			    (uint64_t)g->nids + rec->ncls, sizeof(*g->ids)) ||
		    lg_index_add(&g->range_ix, h, g->nranges))
			goto out;
		if (rec->ncls)
			memcpy(g->ids + g->nids, merged,
			       rec->ncls * sizeof(*g->ids));
		g->ranges[g->nranges++] = (struct lg_range){
			key.what, key.file, key.line, 0,	 0,
			0,	  0,	    g->nids,  rec->ncls, 0
		};
		g->nids += rec->ncls;
		id = g->nranges - 1;
	} else {
		intersect(g, &g->ranges[id], merged, rec->ncls);
	}
	r = &g->ranges[id];
	r->accesses = sat_add(r->accesses, rec->accesses);
	r->writes = sat_add(r->writes, rec->writes);
	r->threads = sat_add(r->threads, rec->threads);
	if (rec->bytes > r->bytes)
		r->bytes = rec->bytes;
	assert(rec->records >= 1);
	r->records = r->records > UINT32_MAX - rec->records
			     ? UINT32_MAX
			     : r->records + rec->records;
	err = 0;
out:
	free(merged);
	return err;
}
