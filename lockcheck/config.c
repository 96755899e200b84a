/*
 * config.c: the LOCKCHECK_* environment, read once, at the first lock
 * operation. A value that is not valid is one `config` finding naming the
 * variable, the value, what is accepted and what the checker does instead.
 * A config finding counts like any other (exit status, dump, lockgraph
 * check), so a mistyped setting in CI cannot quietly turn checking off; it
 * never aborts the process, though: LOCKCHECK_ACTION=abort is for the
 * program's lock bugs.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_EXITCODE 66
/* v as a double-quoted string of one line (lc__buf_put_text). */
static void put_value(struct lc__buf *b, const char *v)
{
	lc__buf_putc(b, '"');
	lc__buf_put_text(b, v);
	lc__buf_putc(b, '"');
}

void lc__config_report(const char *var, const char *value, const char *fmt, ...)
{
	uint64_t sig = lc__hash_str(lc__hash_str(0, var), fmt);
	struct lc__buf b;
	va_list ap;

	lc__slow_lock();
	if (lc__finding_is_new(LC__FINDING_CONFIG, sig)) {
		lc__buf_init(&b);
		lc__buf_add(&b, "%s=", var);
		put_value(&b, value);
		lc__buf_add(&b, ": ");
		va_start(ap, fmt);
		lc__buf_vadd(&b, fmt, ap);
		va_end(ap);
		lc__buf_putc(&b, '\n');
		lc__report(LC__FINDING_CONFIG, &b, NULL, 0);
		lc__buf_free(&b);
	}
	lc__slow_unlock();
}

/* The variable's value; NULL when unset or empty (both mean: default). */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* A decimal number of at most max, digits only. */
static bool parse_number(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return false;
	for (; *v; v++) {
		uint64_t digit = (uint64_t)(*v - '0');

		if (*v < '0' || *v > '9' || n > (max - digit) / 10)
			return false;
		n = n * 10 + digit;
	}
	*out = n;
	return true;
}

static void read_log(void)
{
	const char *v = env("LOCKCHECK_LOG");
	int fd;

	if (!v)
		return;
	fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		lc__cfg.log_fd = fd;
		return;
	}
	lc__config_report("LOCKCHECK_LOG", v,
			  "cannot open it to append (%s); accepted: a file "
			  "path this process can create or append to; "
			  "reports go to stderr",
			  strerror(errno));
}

static void read_action(void)
{
	const char *v = env("LOCKCHECK_ACTION");

	lc__cfg.abort_on_report = v && strcmp(v, "abort") == 0;
	if (v && strcmp(v, "abort") && strcmp(v, "report"))
		lc__config_report("LOCKCHECK_ACTION", v,
				  "not an action; accepted: report (go on) "
				  "or abort (stop at the first finding); "
				  "using report");
}

static void read_exitcode(void)
{
	const char *v = env("LOCKCHECK_EXITCODE");
	uint64_t n;

	lc__cfg.exitcode = DEFAULT_EXITCODE;
	if (!v)
		return;
	if (parse_number(v, 255, &n)) {
		lc__cfg.exitcode = (int)n;
		return;
	}
	lc__config_report("LOCKCHECK_EXITCODE", v,
			  "not an exit status; accepted: 0 to 255 (0 keeps "
			  "the program's own status); using %d",
			  DEFAULT_EXITCODE);
}

#define WATCHDOG_MAX 86400 /* a day, in seconds */

static void read_watchdog(void)
{
	const char *v = env("LOCKCHECK_WATCHDOG");
	uint64_t n;

	if (!v)
		return;
	if (parse_number(v, WATCHDOG_MAX, &n) && n > 0) {
		lc__cfg.watchdog_ns = n * 1000000000u;
		return;
	}
	lc__config_report("LOCKCHECK_WATCHDOG", v,
			  "not a number of seconds; accepted: 1 to %d (an "
			  "untimed wait longer than that is reported); the "
			  "watchdog stays off",
			  WATCHDOG_MAX);
}

static void read_dump(void)
{
	const char *v = env("LOCKCHECK_DUMP"), *what;
	int err;

	if (!v)
		return;
	err = lc__dump_dir_prepare(v, &what);
	/* Absolute: the program may change directory before it exits. */
	if (!err && !(lc__cfg.dump = realpath(v, NULL))) {
		err = errno;
		what = "cannot resolve it";
	}
	if (err == ENOMEM) { /* not a bad setting: the process ran out */
		lc__slow_lock();
		lc__report_limit("memory", "no memory to keep the "
					   "LOCKCHECK_DUMP path; no dump is "
					   "written");
		lc__slow_unlock();
	} else if (err)
		lc__config_report("LOCKCHECK_DUMP", v,
				  "%s (%s); accepted: a directory, created "
				  "with its parents when missing; no dump is "
				  "written",
				  what, strerror(err));
}

static void read_symbolize(void)
{
	const char *v = env("LOCKCHECK_SYMBOLIZE");

	lc__cfg.symbolize = !(v && strcmp(v, "0") == 0);
	if (v && strcmp(v, "0") && strcmp(v, "1"))
		lc__config_report("LOCKCHECK_SYMBOLIZE", v,
				  "not 0 or 1; accepted: 1 (source lines "
				  "through addr2line) or 0 (object+offset); "
				  "using 1");
}

/* A positive number of at most UINT32_MAX, or dflt. */
static uint32_t read_limit(const char *name, uint32_t dflt)
{
	const char *v = env(name);
	uint64_t n;

	if (!v)
		return dflt;
	if (parse_number(v, UINT32_MAX, &n) && n > 0)
		return (uint32_t)n;
	lc__config_report(name, v,
			  "not a positive number; accepted: 1 to %u; using "
			  "%u",
			  UINT32_MAX, dflt);
	return dflt;
}

void lc__config_read(void)
{
	read_log(); /* first: the other lines go where it says */
	read_action();
	read_exitcode();
	read_dump();
	read_watchdog();
	read_symbolize();
	lc__cfg.max_classes = read_limit("LOCKCHECK_MAX_CLASSES", 1u << 20);
	lc__cfg.max_held = read_limit("LOCKCHECK_MAX_HELD", 1u << 16);
	lc__cfg.max_chains = read_limit("LOCKCHECK_MAX_CHAINS", 1u << 22);
}
