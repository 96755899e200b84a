/*
 * log.c: the only module that writes to the log.
 *
 * A finding is one block: "lockcheck: <kind>: <summary>" and then lines that
 * start with spaces, so no other line begins with "lockcheck: ". A block is
 * written with as few write() calls as its size allows, under lc__slow, so
 * reports of different threads never interleave.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* LOCKCHECK_ACTION=abort: stop here, with the dump written. */
static void abort_now(void)
{
	static const char msg[] = "  LOCKCHECK_ACTION=abort: aborting\n";

	write_all(lc__cfg.log_fd, msg, sizeof(msg) - 1);
	if (lc__cfg.dump) /* exit hooks will not run: dump now */
		lc__dump_write_locked();
	lc__slow_drop(); /* a SIGABRT handler may lock, or jump away */
	abort();
}

void lc__report(enum lc__finding kind, struct lc__buf *body,
		const uint32_t *classes, uint32_t nclasses)
{
	struct lc__buf out;
	const char *nl = memchr(body->p, '\n', body->len);
	size_t summary_len = nl ? (size_t)(nl - body->p) : body->len;

	lc__buf_init(&out);
	lc__buf_add(&out, "lockcheck: %s: %s", lc__finding_name(kind), body->p);
	if (out.len == 0 || out.p[out.len - 1] != '\n')
		lc__buf_add(&out, "\n");
	write_all(lc__cfg.log_fd, out.p, out.len);
	lc__buf_free(&out);
	lc__finding_keep(kind, body->p, summary_len, classes, nclasses);
	if (lc__cfg.abort_on_report && kind != LC__FINDING_CONFIG)
		abort_now();
}

/* The kinds of limit reported so far, by name, in a fixed table: telling
 * whether one is new must not need memory, which may be what ran out
 * (the finding set grows; a limit it could not record would be reported
 * at every failure). More kinds than fit are never reported twice. */
#define LIMIT_KINDS 16

static bool limit_is_new(const char *what)
{
	static const char *seen[LIMIT_KINDS];

	for (int i = 0; i < LIMIT_KINDS; i++) {
		if (!seen[i]) {
			seen[i] = what;
			return true;
		}
		if (strcmp(seen[i], what) == 0)
			return false;
	}
	return false;
}

void lc__report_limit(const char *what, const char *detail)
{
	struct lc__buf b;

	if (!limit_is_new(what))
		return;
	lc__buf_init(&b);
	lc__buf_add(&b,
		    "%s: %s\n  checking goes on for what fits; raise "
		    "the limit to check the rest\n",
		    what, detail);
	lc__report(LC__FINDING_LIMIT, &b, NULL, 0);
	lc__buf_free(&b);
}
