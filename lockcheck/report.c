/*
 * report.c: the only module that writes to the log.
 *
 * A finding is one block: "lockcheck: <kind>: <summary>" and then lines that
 * start with spaces, so no other line begins with "lockcheck: ". A block is
 * written with as few write() calls as its size allows, under lc__slow, so
 * reports of different threads never interleave. Each distinct finding (kind
 * plus a signature the caller computes) is reported once per process.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const lc__kind_names[LC_KIND_COUNT] = {
	[LC_LOCK_ORDER_CYCLE] = "lock-order-cycle",
	[LC_ORDER_VIOLATION] = "order-violation",
	[LC_RECURSIVE_LOCK] = "recursive-lock",
	[LC_UNLOCK_NOT_HELD] = "unlock-not-held",
	[LC_DESTROY_HELD] = "destroy-held",
	[LC_EXIT_HELD] = "exit-held",
	[LC_ASSERT_HELD] = "assert-held",
	[LC_LIMIT] = "limit",
	[LC_CONFIG] = "config",
};

/* What the dump records of each finding. lc__slow. */
struct finding {
	enum lc__kind kind;
	char *summary;
	uint32_t *classes;
	uint32_t nclasses;
};

static struct lc__u64map seen;	/* signature -> 1 */
static struct finding *findings;
static uint32_t nfindings, findings_cap;
static _Atomic uint32_t reported;

void lc__buf_init(struct lc__buf *b)
{
	b->p = b->small;
	b->len = 0;
	b->cap = sizeof(b->small);
	b->cut = false;
	b->small[0] = '\0';
}

void lc__buf_free(struct lc__buf *b)
{
	if (b->p != b->small)
		free(b->p);
	lc__buf_init(b);
}

static bool buf_reserve(struct lc__buf *b, size_t more)
{
	size_t cap = b->cap;
	char *p;

	if (b->len + more < b->cap)
		return true;
	while (cap <= b->len + more)
		cap *= 2;
	p = b->p == b->small ? malloc(cap) : realloc(b->p, cap);
	if (!p) {
		b->cut = true;
		return false;
	}
	if (b->p == b->small)
		memcpy(p, b->small, b->len + 1);
	b->p = p;
	b->cap = cap;
	return true;
}

void lc__buf_vadd(struct lc__buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n > 0 && (size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, (size_t)n + 1))
			vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
		else
			n = (int)(b->cap - b->len - 1); /* cut short */
	}
	va_end(again);
	if (n > 0)
		b->len += (size_t)n;
}

void lc__buf_putc(struct lc__buf *b, char c)
{
	if (!buf_reserve(b, 1))
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void lc__buf_add(struct lc__buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lc__buf_vadd(b, fmt, ap);
	va_end(ap);
}

void lc__print_class(struct lc__buf *b, const struct lc__class *c)
{
	if (!c)
		lc__buf_add(b, "(unknown class)");
	else
		lc__buf_add(b, "%s [%s:%d]", c->name, c->file, c->line);
}

void lc__print_site(struct lc__buf *b, const struct lc__site *s)
{
	char file[512], func[256];

	lc__copy_name(file, sizeof(file), s->file ? s->file : "?");
	lc__copy_name(func, sizeof(func), s->func ? s->func : "?");
	lc__buf_add(b, "%s:%d in %s()", file, s->line, func);
}

static uint64_t seen_key(enum lc__kind kind, uint64_t signature)
{
	return lc__mix64(signature ^ ((uint64_t)kind << 56));
}

bool lc__finding_seen(enum lc__kind kind, uint64_t signature)
{
	return lc__u64map_get(&seen, seen_key(kind, signature), NULL);
}

bool lc__finding_is_new(enum lc__kind kind, uint64_t signature)
{
	if (lc__finding_seen(kind, signature))
		return false;
	/* no memory: may repeat, never lost */
	lc__u64map_put(&seen, seen_key(kind, signature), 1);
	return true;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void remember(enum lc__kind kind, const char *summary, size_t len,
		     const uint32_t *classes, uint32_t n)
{
	struct finding *f;

	if (nfindings == findings_cap) {
		uint32_t cap = findings_cap ? findings_cap * 2 : 16;

		f = realloc(findings, cap * sizeof(*f));
		if (!f)
			return;
		findings = f;
		findings_cap = cap;
	}
	f = &findings[nfindings];
	f->kind = kind;
	f->summary = strndup(summary, len);
	f->classes = n ? malloc(n * sizeof(*classes)) : NULL;
	if (!f->summary || (n && !f->classes)) {
		free(f->summary);
		free(f->classes);
		return;
	}
	if (n)
		memcpy(f->classes, classes, n * sizeof(*classes));
	f->nclasses = n;
	nfindings++;
}

void lc__report(enum lc__kind kind, struct lc__buf *body,
		const uint32_t *classes, uint32_t nclasses)
{
	struct lc__buf out;
	const char *nl = memchr(body->p, '\n', body->len);
	size_t summary_len = nl ? (size_t)(nl - body->p) : body->len;

	lc__buf_init(&out);
	lc__buf_add(&out, "lockcheck: %s: %s", lc__kind_names[kind], body->p);
	if (out.len == 0 || out.p[out.len - 1] != '\n')
		lc__buf_add(&out, "\n");
	write_all(lc__cfg.log_fd, out.p, out.len);
	lc__buf_free(&out);
	remember(kind, body->p, summary_len, classes, nclasses);
	atomic_fetch_add(&reported, 1);
	if (lc__cfg.abort_on_report && kind != LC_CONFIG) {
		static const char msg[] = "  LOCKCHECK_ACTION=abort: aborting\n";

		write_all(lc__cfg.log_fd, msg, sizeof(msg) - 1);
		if (lc__cfg.dump) /* exit hooks will not run: dump now */
			lc__dump_write_locked();
		lc__slow_drop(); /* a SIGABRT handler may lock, or jump away */
		abort();
	}
}

void lc__report_limit(const char *what, const char *detail)
{
	struct lc__buf b;

	if (!lc__finding_is_new(LC_LIMIT, lc__hash_str(0, what)))
		return;
	lc__buf_init(&b);
	lc__buf_add(&b, "%s: %s\n  checking goes on for what fits; raise "
			"the limit to check the rest\n",
		    what, detail);
	lc__report(LC_LIMIT, &b, NULL, 0);
	lc__buf_free(&b);
}

void lc__findings_forget(void)
{
	for (uint32_t i = 0; i < nfindings; i++) {
		free(findings[i].summary);
		free(findings[i].classes);
	}
	nfindings = 0;
	atomic_store(&reported, 0);
}

uint32_t lc__findings_count(void)
{
	return atomic_load(&reported);
}

void lc__findings_each(void (*fn)(enum lc__kind kind, const char *summary,
				  const uint32_t *classes, uint32_t n,
				  void *arg),
		       void *arg)
{
	for (uint32_t i = 0; i < nfindings; i++)
		fn(findings[i].kind, findings[i].summary, findings[i].classes,
		   findings[i].nclasses, arg);
}
