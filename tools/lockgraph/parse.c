/*
 * parse.c: one dump, line by line, into the merged graph.
 *
 * The file is a sequence of sections: header, process, classes, edges,
 * findings, end (docs/dump-format.md). The parser is a state machine over
 * those sections; each line is checked completely before anything of it is
 * merged, ids are checked against the classes already read (so they are
 * dense and every reference is in range), and the end line's counts must
 * match. Nothing is allocated from a count the file claims.
 *
 * A dump bigger than LG_CHECK_FIRST in a regular file is read twice: the
 * first pass checks every line and touches nothing of the graph, the second
 * checks them again and merges. So a big dump cut short or broken anywhere
 * is refused in the parser's constant memory (the reader's buffer, one
 * scratch line, one line's class ids), never after merging a gigabyte of
 * it; what the first pass cannot see without memory (a class or an edge
 * given twice) the second refuses. A smaller dump, the usual one, is read
 * once: refusing it costs at most the graph of LG_CHECK_FIRST bytes.
 */
#include "parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fields.h"
#include "reader.h"

enum section {
	S_HEADER,
	S_PROCESS,
	S_CLASS,
	S_EDGE,
	S_FINDING,
	S_RANGE,
	S_END
};

struct parser {
	struct lg_graph *g;
	const char *path;
	struct lg_reader rd;
	struct lg_err *err;
	enum section sec;
	bool merge;  /* into the graph, not only checked */
	int version; /* the dump's format version */
	uint32_t nclasses, nedges, nfindings; /* lines of this dump */
	uint32_t nranges;
	char *scratch; /* decoded strings */
	uint32_t *ids; /* a finding's classes */
	uint32_t ids_cap;
};

static int bad(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct parser *p, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return lg_errf(p->err, EINVAL, "%s:%llu: %s", p->path,
		       (unsigned long long)p->rd.lineno, what);
}

/* Checks a field reader's result; names the field when it failed. */
static int field(struct parser *p, int rc, const char *rec, const char *name)
{
	if (!rc)
		return 0;
	return bad(p, "%s line: bad %s field%s", rec, name,
		   rc == ERANGE ? " (number too large)" : "");
}

/* A local class id field: in range of the classes read so far. */
static int class_ref(struct parser *p, const char *s, size_t n, const char *rec,
		     uint32_t *id)
{
	uint64_t v = 0;

	if (n == 0)
		return bad(p, "%s line: empty class id (a stray ',' or ':')",
			   rec);
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || v >= p->nclasses)
			return bad(p, "%s line: bad class id '%.*s'", rec,
				   n > 20 ? 20 : (int)n, s);
		v = v * 10 + d;
	}
	if (v >= p->nclasses)
		return bad(p,
			   "%s line: class id %.*s is not a class of this dump",
			   rec, n > 20 ? 20 : (int)n, s);
	*id = (uint32_t)v;
	return 0;
}

/* A file saved with DOS line ends: say so, not "bad field". */
static int crlf(struct parser *p)
{
	return bad(p, "CRLF line endings: the lines of a dump end with LF "
		      "alone");
}

static int parse_header(struct parser *p, struct lg_cursor *c)
{
	const char *w;
	size_t n;
	uint64_t version;

	if (lg_field_word(c, &w, &n) || n != 14 ||
	    memcmp(w, "lockcheck-dump", 14))
		return bad(p,
			   "not a lock-graph dump (the first line is not "
			   "'lockcheck-dump %d')",
			   LG_DUMP_VERSION);
	if (c->end[-1] == '\r')
		return crlf(p);
	if (lg_field_u64(c, &version) || lg_field_end(c))
		return bad(p, "bad header line (want 'lockcheck-dump %d')",
			   LG_DUMP_VERSION);
	if (version < LG_DUMP_VERSION_MIN || version > LG_DUMP_VERSION)
		return bad(p,
			   "dump format version %llu is not supported (this "
			   "lockgraph reads versions %d to %d)",
			   (unsigned long long)version, LG_DUMP_VERSION_MIN,
			   LG_DUMP_VERSION);
	p->version = (int)version;
	p->sec = S_PROCESS;
	return 0;
}

static int parse_process(struct parser *p, struct lg_cursor *c)
{
	uint64_t pid;
	const char *raw;
	size_t n, len;
	uint32_t dump;

	if (field(p, lg_field_u64(c, &pid), "process", "pid") ||
	    field(p, lg_field_str(c, &raw, &n), "process", "program") ||
	    field(p, lg_field_end(c), "process", "trailing"))
		return EINVAL;
	p->sec = S_CLASS;
	if (!p->merge)
		return 0;
	len = lg_field_decode(raw, n, p->scratch);
	if (lg_graph_begin_dump(p->g, p->path, pid, p->scratch, len, &dump))
		return ENOMEM;
	return 0;
}

/* A class line's kind; "wait" from format version 2 on. */
static int class_kind(const char *w, size_t n, int version, uint8_t *kind)
{
	static const char *const names[] = { "mutex", "recursive", "rwlock",
					     "wait" };
	static const uint8_t bits[] = { LG_MUTEX, LG_RECURSIVE, LG_RWLOCK,
					LG_WAIT };

	for (int i = 0; i < (version >= 2 ? 4 : 3); i++)
		if (strlen(names[i]) == n && !memcmp(w, names[i], n)) {
			*kind = bits[i];
			return 0;
		}
	return EINVAL;
}

static int class_numbers(struct parser *p, struct lg_cursor *c,
			 struct lg_class_rec *r)
{
	const char *w;
	size_t n;

	if (field(p, lg_field_word(c, &w, &n), "class", "kind"))
		return EINVAL;
	if (class_kind(w, n, p->version, &r->kind))
		return bad(p, "class line: unknown lock kind '%.*s'",
			   n > 20 ? 20 : (int)n, w);
	if (field(p, lg_field_u64(c, &r->instances), "class", "instances") ||
	    field(p, lg_field_u64(c, &r->acquired), "class", "acquired") ||
	    field(p, lg_field_u64(c, &r->contended), "class", "contended") ||
	    field(p, lg_field_u64(c, &r->wait_ns), "class", "wait_ns"))
		return EINVAL;
	return 0;
}

/* Decodes name and file one after the other into the scratch buffer
 * (together they are shorter than the line). */
static void decode_pair(struct parser *p, struct lg_class_rec *r,
			const char *name, size_t nn, const char *file,
			size_t fn)
{
	r->name = p->scratch;
	r->name_len = lg_field_decode(name, nn, p->scratch);
	r->file = p->scratch + r->name_len + 1;
	r->file_len = lg_field_decode(file, fn, p->scratch + r->name_len + 1);
}

/* Counts a checked class line; merges it unless this is the checking
 * pass. */
static int merge_class(struct parser *p, struct lg_class_rec *r,
		       const char *name, size_t nn, const char *file, size_t fn)
{
	int err;

	if (!p->merge) {
		p->nclasses++;
		return 0;
	}
	decode_pair(p, r, name, nn, file, fn);
	err = lg_graph_add_class(p->g, r);
	if (err == EEXIST)
		return bad(p,
			   "class line: the dump already has class \"%.60s\" "
			   "of %.100s:%d",
			   r->name, r->file, (int)r->line);
	p->nclasses += !err;
	return err;
}

static int parse_class(struct parser *p, struct lg_cursor *c)
{
	struct lg_class_rec r = { 0 };
	const char *name, *file;
	size_t nn, fn;
	uint64_t id;

	if (field(p, lg_field_u64(c, &id), "class", "id"))
		return EINVAL;
	if (id != p->nclasses)
		return bad(p, "class line: id %llu out of order (want %u)",
			   (unsigned long long)id, p->nclasses);
	if (class_numbers(p, c, &r) ||
	    field(p, lg_field_str(c, &name, &nn), "class", "name") ||
	    field(p, lg_field_str(c, &file, &fn), "class", "file") ||
	    field(p, lg_field_i32(c, &r.line), "class", "line") ||
	    field(p, lg_field_end(c), "class", "trailing"))
		return EINVAL;
	return merge_class(p, &r, name, nn, file, fn);
}

/* 1 for W, 0 for R, -1 for anything else. */
static int mode_letter(char ch)
{
	return ch == 'W' ? 1 : ch == 'R' ? 0 : -1;
}

static int parse_modes(struct parser *p, struct lg_cursor *c, uint8_t *modes)
{
	const char *w;
	size_t n;

	*modes = 0;
	if (field(p, lg_field_word(c, &w, &n), "edge", "modes"))
		return EINVAL;
	for (size_t i = 0; i < n; i += 3) {
		int held = mode_letter(w[i]);
		int want = i + 1 < n ? mode_letter(w[i + 1]) : -1;

		if (held < 0 || want < 0 || (i + 2 < n && w[i + 2] != ','))
			return bad(p,
				   "edge line: bad modes '%.*s' (want pairs "
				   "like WW or RR,WR)",
				   n > 20 ? 20 : (int)n, w);
		*modes |= (uint8_t)(1u << (held * 2 + want));
	}
	if (w[n - 1] == ',')
		return bad(p, "edge line: bad modes (trailing comma)");
	return 0;
}

/* One "class:instance" gate into r (kept only while there is room). */
static int parse_gate(struct parser *p, const char *s, size_t n,
		      struct lg_edge_rec *r)
{
	const char *colon = memchr(s, ':', n);
	struct lg_gate_rec gate;
	struct lg_cursor c;

	if (!colon)
		return bad(p,
			   "edge line: bad gate '%.*s' (want class:instance)",
			   n > 30 ? 30 : (int)n, s);
	if (class_ref(p, s, (size_t)(colon - s), "edge", &gate.cls))
		return EINVAL;
	lg_cursor_init(&c, colon + 1, (size_t)(s + n - colon - 1));
	if (field(p, lg_field_u64(&c, &gate.inst), "edge", "gate instance") ||
	    field(p, lg_field_end(&c), "edge", "gate instance"))
		return EINVAL;
	if (r->ngates < LC__GATE_MAX)
		r->gates[r->ngates++] = gate; /* outermost first: keep those */
	return 0;
}

static int parse_gates(struct parser *p, struct lg_cursor *c,
		       struct lg_edge_rec *r)
{
	const char *w, *end;
	size_t n;

	r->ngates = 0;
	if (field(p, lg_field_word(c, &w, &n), "edge", "gates"))
		return EINVAL;
	if (n == 1 && w[0] == '-')
		return 0;
	for (end = w + n; w <= end;) {
		const char *comma = memchr(w, ',', (size_t)(end - w));
		const char *stop = comma ? comma : end;

		if (parse_gate(p, w, (size_t)(stop - w), r))
			return EINVAL;
		w = stop + 1;
	}
	return 0;
}

static int edge_strings(struct parser *p, struct lg_cursor *c,
			struct lg_edge_rec *r)
{
	if (field(p, lg_field_i32(c, &r->tid), "edge", "tid") ||
	    field(p, lg_field_str(c, &r->raw[0], &r->raw_len[0]), "edge",
		  "thread") ||
	    field(p, lg_field_str(c, &r->raw[1], &r->raw_len[1]), "edge",
		  "held_file") ||
	    field(p, lg_field_i32(c, &r->held_line), "edge", "held_line") ||
	    field(p, lg_field_str(c, &r->raw[2], &r->raw_len[2]), "edge",
		  "held_func") ||
	    field(p, lg_field_str(c, &r->raw[3], &r->raw_len[3]), "edge",
		  "next_file") ||
	    field(p, lg_field_i32(c, &r->next_line), "edge", "next_line") ||
	    field(p, lg_field_str(c, &r->raw[4], &r->raw_len[4]), "edge",
		  "next_func") ||
	    field(p, lg_field_end(c), "edge", "trailing"))
		return EINVAL;
	return 0;
}

static int parse_edge(struct parser *p, struct lg_cursor *c)
{
	struct lg_edge_rec r;
	const char *w;
	size_t n;
	int err;

	if (field(p, lg_field_word(c, &w, &n), "edge", "from") ||
	    class_ref(p, w, n, "edge", &r.from) ||
	    field(p, lg_field_word(c, &w, &n), "edge", "to") ||
	    class_ref(p, w, n, "edge", &r.to))
		return EINVAL;
	if (r.from == r.to)
		return bad(p, "edge line: an edge from class %u to itself",
			   r.from);
	if (field(p, lg_field_u64(c, &r.count), "edge", "count") ||
	    parse_modes(p, c, &r.modes) || parse_gates(p, c, &r) ||
	    edge_strings(p, c, &r))
		return EINVAL;
	err = p->merge ? lg_graph_add_edge(p->g, &r) : 0;
	if (err == EEXIST)
		return bad(p,
			   "edge line: the dump already has the edge %u -> %u",
			   r.from, r.to);
	p->nedges += !err;
	return err;
}

static int kind_word(const char *w, size_t n)
{
	if (n > 64)
		return EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((w[i] >= 'a' && w[i] <= 'z') || w[i] == '-' ||
		      (w[i] >= '0' && w[i] <= '9')))
			return EINVAL;
	return 0;
}

/* The "-" or "id,id,..." field of a finding into p->ids. */
static int finding_classes(struct parser *p, struct lg_cursor *c,
			   uint32_t *ncls)
{
	const char *w, *end;
	size_t n;

	*ncls = 0;
	if (field(p, lg_field_word(c, &w, &n), "finding", "classes"))
		return EINVAL;
	if (n == 1 && w[0] == '-')
		return 0;
	for (end = w + n; w <= end;) {
		const char *comma = memchr(w, ',', (size_t)(end - w));
		const char *stop = comma ? comma : end;

		if (lg_grow((void **)&p->ids, &p->ids_cap, (uint64_t)*ncls + 1,
			    sizeof(*p->ids)))
			return ENOMEM;
		if (class_ref(p, w, (size_t)(stop - w), "finding",
			      &p->ids[*ncls]))
			return EINVAL;
		++*ncls;
		w = stop + 1;
	}
	return 0;
}

/* Counts a checked finding line; merges it unless this is the checking
 * pass. */
static int merge_finding(struct parser *p, const char *kind, size_t kn,
			 uint32_t ncls, const char *raw, size_t n)
{
	size_t len;
	int err;

	if (!p->merge) {
		p->nfindings++;
		return 0;
	}
	len = lg_field_decode(raw, n, p->scratch);
	err = lg_graph_add_finding(p->g, kind, kn, p->ids, ncls, p->scratch,
				   len);
	p->nfindings += !err;
	return err;
}

static int parse_finding(struct parser *p, struct lg_cursor *c)
{
	const char *kind, *raw;
	size_t kn, n;
	uint32_t ncls;
	int err;

	if (field(p, lg_field_word(c, &kind, &kn), "finding", "kind"))
		return EINVAL;
	if (kind_word(kind, kn))
		return bad(p, "finding line: bad kind '%.*s'",
			   kn > 20 ? 20 : (int)kn, kind);
	err = finding_classes(p, c, &ncls);
	if (err)
		return err;
	if (field(p, lg_field_str(c, &raw, &n), "finding", "summary") ||
	    field(p, lg_field_end(c), "finding", "trailing"))
		return EINVAL;
	return merge_finding(p, kind, kn, ncls, raw, n);
}

/* A range line (version 2): accesses writes threads bytes classes what
 * file line, and in a merged dump optionally records (how many ranges of
 * the dumps it sums; 1 when absent). */
static int parse_range(struct parser *p, struct lg_cursor *c)
{
	struct lg_range_rec r = { .records = 1 };
	uint64_t records;
	const char *raw[2];
	size_t n[2];
	uint32_t ncls;
	int err;

	if (p->version < 2)
		return bad(p, "range line in a version 1 dump");
	if (field(p, lg_field_u64(c, &r.accesses), "range", "accesses") ||
	    field(p, lg_field_u64(c, &r.writes), "range", "writes") ||
	    field(p, lg_field_u64(c, &r.threads), "range", "threads") ||
	    field(p, lg_field_u64(c, &r.bytes), "range", "bytes"))
		return EINVAL;
	if (r.writes > r.accesses)
		return bad(p, "range line: more writes than accesses");
	err = finding_classes(p, c, &ncls);
	if (err)
		return err;
	if (field(p, lg_field_str(c, &raw[0], &n[0]), "range", "what") ||
	    field(p, lg_field_str(c, &raw[1], &n[1]), "range", "file") ||
	    field(p, lg_field_i32(c, &r.line), "range", "line"))
		return EINVAL;
	if (lg_field_end(c) != 0) { /* a merged dump's record count */
		if (field(p, lg_field_u64(c, &records), "range", "records") ||
		    field(p, lg_field_end(c), "range", "trailing"))
			return EINVAL;
		if (records < 1 || records > UINT32_MAX)
			return bad(p, "range line: records not in 1..%u",
				   UINT32_MAX);
		r.records = (uint32_t)records;
	}
	if (!p->merge) {
		p->nranges++;
		return 0;
	}
	r.cls = p->ids;
	r.ncls = ncls;
	/* scratch holds one decoded line: both strings fit in it */
	r.what = p->scratch;
	r.what_len = lg_field_decode(raw[0], n[0], p->scratch);
	r.file = p->scratch + r.what_len + 1;
	r.file_len = lg_field_decode(raw[1], n[1], p->scratch + r.what_len + 1);
	err = lg_graph_add_range(p->g, &r);
	p->nranges += !err;
	return err;
}

static int check_count(struct parser *p, struct lg_cursor *c, const char *what,
		       uint32_t have)
{
	uint64_t v;

	if (field(p, lg_field_u64(c, &v), "end", what))
		return EINVAL;
	if (v != have)
		return bad(p, "end line says %llu %s, the dump has %u",
			   (unsigned long long)v, what, have);
	return 0;
}

static int parse_end(struct parser *p, struct lg_cursor *c)
{
	if (check_count(p, c, "classes", p->nclasses) ||
	    check_count(p, c, "edges", p->nedges) ||
	    check_count(p, c, "findings", p->nfindings) ||
	    (p->version >= 2 && check_count(p, c, "ranges", p->nranges)) ||
	    field(p, lg_field_end(c), "end", "trailing"))
		return EINVAL;
	p->sec = S_END;
	return 0;
}

/* Sections a record may appear in, and its parser. */
static const struct record {
	const char *name;
	enum section sec;
	int (*parse)(struct parser *p, struct lg_cursor *c);
} records[] = {
	{ "class", S_CLASS, parse_class },
	{ "edge", S_EDGE, parse_edge },
	{ "finding", S_FINDING, parse_finding },
	{ "range", S_RANGE, parse_range },
	{ "end", S_END, parse_end },
};

static int parse_record(struct parser *p, struct lg_cursor *c)
{
	const char *w;
	size_t n;

	if (lg_field_word(c, &w, &n))
		return bad(p, "empty or malformed line");
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		const struct record *r = &records[i];

		if (strlen(r->name) != n || memcmp(w, r->name, n))
			continue;
		if (p->sec > r->sec)
			return bad(p, "'%s' line out of order", r->name);
		p->sec = r->sec;
		return r->parse(p, c);
	}
	return bad(p, "unknown record '%.*s'", n > 20 ? 20 : (int)n, w);
}

static int parse_line(struct parser *p, const char *line, size_t len)
{
	struct lg_cursor c;
	const char *w;
	size_t n;

	lg_cursor_init(&c, line, len);
	if (p->sec != S_HEADER && len > 0 && line[len - 1] == '\r')
		return crlf(p);
	switch (p->sec) {
	case S_HEADER:
		return parse_header(p, &c);
	case S_PROCESS:
		if (lg_field_word(&c, &w, &n) || n != 7 ||
		    memcmp(w, "process", 7))
			return bad(p,
				   "want the 'process' line after the header");
		return parse_process(p, &c);
	case S_END:
		return bad(p, "data after the 'end' line");
	default:
		return parse_record(p, &c);
	}
}

static int reader_error(struct parser *p, int rc)
{
	switch (rc) {
	case ENODATA:
		if (p->sec == S_HEADER)
			return bad(p, "empty file, not a lock-graph dump");
		return bad(p, "truncated: no 'end' line (the dump was cut "
			      "short)");
	case EMSGSIZE:
		return bad(p, "line longer than %d bytes", LG_MAX_LINE);
	case EPIPE:
		return bad(p, "truncated: the last line has no newline");
	case EILSEQ:
		return bad(p, "NUL byte: binary data, not a lock-graph dump");
	default:
		bad(p, "read error: %s", strerror(p->rd.read_errno));
		return EIO;
	}
}

static int run(struct parser *p)
{
	for (;;) {
		char *line;
		size_t len;
		int rc = lg_reader_next(&p->rd, &line, &len);

		if (rc == ENODATA && p->sec == S_END)
			return 0;
		if (rc)
			return reader_error(p, rc);
		rc = parse_line(p, line, len);
		if (rc)
			return rc;
	}
}

/* Back to where the dump began, for the second pass. */
static int restart(struct parser *p, off_t start)
{
	if (fseeko(p->rd.f, start, SEEK_SET))
		return lg_errf(p->err, EIO,
			       "%s: cannot read the file again: %s", p->path,
			       strerror(errno));
	lg_reader_restart(&p->rd);
	p->sec = S_HEADER;
	p->nclasses = p->nedges = p->nfindings = p->nranges = 0;
	return 0;
}

/* Whether f is a regular file with more than LG_CHECK_FIRST bytes left;
 * *start gets where they begin. */
static bool big_file(FILE *f, off_t *start)
{
	struct stat st;
	int fd = fileno(f);

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode))
		return false;
	*start = ftello(f);
	return *start >= 0 && st.st_size - *start > LG_CHECK_FIRST;
}

/* A big dump is checked whole, then merged; a small one (or one in a pipe,
 * which cannot be read twice) is merged as it is checked. */
static int check_then_merge(struct parser *p)
{
	off_t start;
	int rc;

	if (big_file(p->rd.f, &start)) {
		rc = run(p);
		if (rc)
			return rc;
		rc = restart(p, start);
		if (rc)
			return rc;
	}
	p->merge = true;
	return run(p);
}

int lg_parse(struct lg_graph *g, const char *path, FILE *f, struct lg_err *err)
{
	struct parser p = { .g = g, .path = path, .err = err };
	int rc = lg_reader_init(&p.rd, f);

	p.scratch = malloc(LG_MAX_LINE + 16);
	if (rc || !p.scratch)
		rc = ENOMEM;
	else
		rc = check_then_merge(&p);
	if (rc == ENOMEM)
		lg_errf(err, ENOMEM, "%s: out of memory", path);
	free(p.scratch);
	free(p.ids);
	lg_reader_free(&p.rd);
	return rc;
}
