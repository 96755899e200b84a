/*
 * lockgraph_gen.c: synthetic lock-graph dumps for the lockgraph benchmark.
 *
 *   lockgraph_gen DIR NDUMPS NCLASSES NEDGES [SEED]
 *
 * writes DIR/lockcheck.<n>.graph for n < NDUMPS, each a version 1 dump
 * (docs/dump-format.md) of one process of a code base with NCLASSES lock
 * classes. Every dump has all the classes, listed in its own random order
 * (ids are local), and NEDGES edges drawn from a pool of 4 * NEDGES edges
 * that respect one global lock order; one dump in 50 also takes one edge
 * against that order, so the merge has cross-process cycles to find. A
 * fifth of the classes are rwlocks (mode pairs vary), a fifth of the edges
 * carry gates, thread names and sites vary. Deterministic for a seed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen {
	uint64_t rng;
	uint32_t nclasses, nedges, pool;
	uint32_t *perm;		       /* local id -> global class */
	uint32_t *local;	       /* global class -> local id */
	uint32_t *pick;		       /* pool edges chosen for one dump */
	uint32_t *pool_from, *pool_to; /* the pool of ordered edges */
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return (uint32_t)(g->rng % n);
}

/* Pool edge i: from a lower to a higher class in the global order. */
static void pool_edge(const struct gen *g, uint32_t i, uint32_t *from,
		      uint32_t *to)
{
	*from = g->pool_from[i];
	*to = g->pool_to[i];
}

/* Draws the pool: distinct pairs a < b (a bitmap of pairs seen). */
static int make_pool(struct gen *g)
{
	uint64_t npairs = (uint64_t)g->nclasses * g->nclasses;
	uint8_t *seen = calloc(npairs / 8 + 1, 1);
	uint64_t max = npairs / 2 - g->nclasses;

	if (g->pool > max)
		g->pool = (uint32_t)max;
	g->pool_from = malloc(g->pool * sizeof(uint32_t));
	g->pool_to = malloc(g->pool * sizeof(uint32_t));
	if (!seen || !g->pool_from || !g->pool_to)
		return ENOMEM;
	for (uint32_t i = 0; i < g->pool;) {
		uint32_t a = rnd(g, g->nclasses), b = rnd(g, g->nclasses);
		uint64_t k = (uint64_t)(a < b ? a : b) * g->nclasses +
			     (a < b ? b : a);

		if (a == b || (seen[k / 8] & (1u << (k % 8))))
			continue;
		seen[k / 8] |= (uint8_t)(1u << (k % 8));
		g->pool_from[i] = a < b ? a : b;
		g->pool_to[i++] = a < b ? b : a;
	}
	free(seen);
	return 0;
}

static void shuffle(struct gen *g, uint32_t *v, uint32_t n)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = rnd(g, i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void put_classes(struct gen *g, FILE *f)
{
	for (uint32_t i = 0; i < g->nclasses; i++)
		g->perm[i] = i;
	shuffle(g, g->perm, g->nclasses);
	for (uint32_t i = 0; i < g->nclasses; i++) {
		uint32_t c = g->perm[i];

		g->local[c] = i;
		fprintf(f,
			"class %u %s %u %u %u %u \"lock_%u\" \"src/mod%02u.c\" "
			"%u\n",
			i, c % 5 ? "mutex" : "rwlock", 1 + c % 3,
			rnd(g, 100000), rnd(g, 1000), rnd(g, 10000000), c,
			c % 97, 100 + c);
	}
}

static const char *modes(struct gen *g, uint32_t from, uint32_t to)
{
	static const char *const rw[] = { "RR", "RW", "WR", "WW", "RR,WR" };

	if (from % 5 || to % 5)
		return "WW";
	return rw[rnd(g, 5)];
}

static void put_edge(struct gen *g, FILE *f, uint32_t from, uint32_t to,
		     int tid)
{
	fprintf(f, "edge %u %u %u %s ", g->local[from], g->local[to],
		1 + rnd(g, 50), modes(g, from, to));
	if (rnd(g, 5) == 0)
		fprintf(f, "%u:%u,%u:7", g->local[from], rnd(g, 3),
			g->local[(from + 1) % g->nclasses]);
	else
		fputc('-', f);
	fprintf(f,
		" %d \"worker-%u\" \"src/mod%02u.c\" %u \"fn_%u\" "
		"\"src/mod%02u.c\" %u \"fn_%u\"\n",
		tid + (int)rnd(g, 8), rnd(g, 8), from % 97, 200 + from, from,
		to % 97, 300 + to, to);
}

static void put_edges(struct gen *g, FILE *f, uint32_t n, int tid)
{
	uint32_t from, to;

	for (uint32_t i = 0; i < g->pool && i < n; i++)
		g->pick[i] = i;
	for (uint32_t i = n; i < g->pool; i++) { /* reservoir sample */
		uint32_t j = rnd(g, i + 1);

		if (j < n)
			g->pick[j] = i;
	}
	for (uint32_t i = 0; i < n; i++) {
		pool_edge(g, g->pick[i], &from, &to);
		put_edge(g, f, from, to, tid);
	}
}

static int write_dump(struct gen *g, const char *dir, uint32_t n)
{
	char path[4096];
	uint32_t from, to, nedges = g->nedges, inverted = n % 50 == 7;
	FILE *f;

	snprintf(path, sizeof(path), "%s/lockcheck.%u.graph", dir, 1000 + n);
	f = fopen(path, "w");
	if (!f)
		return errno;
	fprintf(f, "lockcheck-dump 1\nprocess %u \"test_%u\"\n", 1000 + n,
		n % 40);
	put_classes(g, f);
	put_edges(g, f, nedges - inverted, 1000 + (int)n);
	if (inverted) { /* one edge against the order: a cycle somewhere */
		pool_edge(g, rnd(g, g->pool), &from, &to);
		put_edge(g, f, to, from, 1000 + (int)n);
	}
	fprintf(f, "end %u %u 0\n", g->nclasses, nedges);
	return fclose(f) ? errno : 0;
}

int main(int argc, char **argv)
{
	struct gen g = { 0 };
	uint32_t ndumps;
	int err = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: lockgraph_gen DIR NDUMPS NCLASSES "
				"NEDGES [SEED]\n");
		return 2;
	}
	ndumps = (uint32_t)strtoul(argv[2], NULL, 10);
	g.nclasses = (uint32_t)strtoul(argv[3], NULL, 10);
	g.nedges = (uint32_t)strtoul(argv[4], NULL, 10);
	g.rng = argc > 5 ? strtoull(argv[5], NULL, 10) | 1
			 : 88172645463325252ULL;
	g.pool = 4 * g.nedges;
	g.perm = malloc(g.nclasses * sizeof(*g.perm));
	g.local = malloc(g.nclasses * sizeof(*g.local));
	g.pick = malloc(g.pool * sizeof(*g.pick));
	if (g.nclasses < 4 || !g.perm || !g.local || !g.pick || make_pool(&g))
		return 2;
	if (g.nedges > g.pool)
		g.nedges = g.pool;
	for (uint32_t n = 0; n < ndumps && !err; n++)
		err = write_dump(&g, argv[1], n);
	if (err)
		fprintf(stderr, "lockgraph_gen: %s\n", strerror(err));
	free(g.perm);
	free(g.local);
	free(g.pick);
	free(g.pool_from);
	free(g.pool_to);
	return err ? 1 : 0;
}
