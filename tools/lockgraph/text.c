/*
 * text.c: string escapes for each output language, and the small pieces
 * of text every output shares. Each escape walks the string once: valid
 * UTF-8 sequences are copied, everything else is escaped or replaced, so
 * no input byte can end a line, a quoted string or the file early. Text
 * lines escape as the checker does (lockcheck/text.h: one function).
 */
#include "output.h"

#include <string.h>

#include "lockcheck/text.h"
#include "util.h"

static size_t seq_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (n < 4 && p[n])
		n++;
	return lg_utf8_len(p, n);
}

void lg_put_text(FILE *f, const char *s)
{
	char out[4 * LC_TEXT_CHUNK + 1];
	size_t len = strlen(s);

	while (len > 0) {
		size_t n = lc_text_chunk(s, len);

		fwrite(out, 1, lc_text_escape(out, s, n), f);
		s += n;
		len -= n;
	}
}

void lg_put_dot(FILE *f, const char *s)
{
	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t k = seq_len(s);

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (k == 0)
			fputc('?', f);
		else if (c >= 0x20 && c != 0x7f)
			fwrite(s, 1, k, f);
		s += k ? k : 1;
	}
}

void lg_put_json(FILE *f, const char *s)
{
	fputc('"', f);
	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t k = seq_len(s);

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else if (k == 0)
			fputs("\\ufffd", f);
		else
			fwrite(s, 1, k, f);
		s += k ? k : 1;
	}
	fputc('"', f);
}

void lg_put_class(FILE *f, const struct lg_graph *g, uint32_t cls)
{
	const struct lg_class *c = &g->classes[cls];

	lg_put_text(f, lg_str(&g->strs, c->name));
	fputs(" [", f);
	lg_put_text(f, lg_str(&g->strs, c->file));
	if (c->line) /* 0: a preloaded program's class, no source line */
		fprintf(f, ":%d", (int)c->line);
	fputc(']', f);
}

void lg_put_site(FILE *f, const struct lg_graph *g, const struct lg_site *s)
{
	lg_put_text(f, lg_str(&g->strs, s->file));
	if (s->line) /* 0: a preloaded program's call, module+0xoffset */
		fprintf(f, ":%d", (int)s->line);
	fputs(" in ", f);
	lg_put_text(f, lg_str(&g->strs, s->func));
	fputs("()", f);
}

void lg_put_dump(FILE *f, const struct lg_graph *g, uint32_t dump)
{
	const struct lg_dump *d = &g->dumps[dump];

	lg_put_text(f, lg_str(&g->strs, d->program));
	fprintf(f, " (pid %llu)", (unsigned long long)d->pid);
}

void lg_put_modes(FILE *f, uint8_t modes)
{
	static const char *const names[4] = { "RR", "RW", "WR", "WW" };
	const char *sep = "";

	for (int i = 0; i < 4; i++)
		if (modes & (1u << i)) {
			fprintf(f, "%s%s", sep, names[i]);
			sep = ",";
		}
}

const char *lg_scope_name(uint8_t scope)
{
	switch (scope) {
	case LG_SCOPE_THREAD:
		return "one thread";
	case LG_SCOPE_THREADS:
		return "threads of one process";
	default:
		return "processes";
	}
}

static void put_name(FILE *f, const struct lg_graph *g, uint32_t cls,
		     bool sites)
{
	if (sites)
		lg_put_class(f, g, cls);
	else
		lg_put_text(f, lg_str(&g->strs, g->classes[cls].name));
}

bool lg_cycle_waits(const struct lg_analysis *a, uint32_t id)
{
	const uint32_t *e = lg_cycle_edges(&a->cycles, id);

	for (uint32_t i = 0; i < a->cycles.v[id].len; i++)
		if (a->g.classes[a->g.edges[e[i]].from].kinds & LG_WAIT)
			return true;
	return false;
}

void lg_put_cycle_names(FILE *f, const struct lg_analysis *a, uint32_t id,
			bool sites)
{
	const struct lg_graph *g = &a->g;
	const struct lg_cycle *cy = &a->cycles.v[id];
	const uint32_t *e = lg_cycle_edges(&a->cycles, id);

	for (uint32_t i = 0; i < cy->len; i++) {
		put_name(f, g, g->edges[e[i]].from, sites);
		fputs(" -> ", f);
	}
	put_name(f, g, g->edges[e[0]].from, sites);
}

const char *lg_kind_word(uint8_t kinds)
{
	return kinds & LG_WAIT	      ? "wait"
	       : kinds & LG_RWLOCK    ? "rwlock"
	       : kinds & LG_RECURSIVE ? "recursive"
				      : "mutex";
}
