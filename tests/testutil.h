/*
 * testutil.h: run code in a child process and look at what it said.
 *
 * Every checker test provokes its finding in a child: a report may abort the
 * process (LOCKCHECK_ACTION=abort), a missed deadlock would hang it, and the
 * checker reports each finding once per process, so a fresh process per case
 * keeps cases independent. The child gets an alarm so a hang becomes a
 * failure (SIGALRM), not a stuck suite.
 *
 * Do all lc_ work of a case inside the child: a checker initialised in the
 * parent would be inherited with its environment and its findings.
 */
#ifndef LC_TESTUTIL_H
#define LC_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

/* Check's ck_assert records every passing check with a write(2); loops
 * use these, which call into Check only when they fail. */
#define EXPECT(cond)                                                           \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);  \
	} while (0)
#define EXPECT_EQ(a, b)                                                        \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_)                                                  \
			ck_abort_msg("%s:%d: %s == %lld, %s == %lld",          \
				     __FILE__, __LINE__, #a, a_, #b, b_);      \
	} while (0)

/* What a child did: its wait status, its peak memory and everything it
 * wrote. */
struct lct_child {
	int status;	 /* raw status from waitpid */
	long max_rss_kb; /* peak resident set (wait4); for an exec'd command
			  * never below this process's at the fork */
	char *out;	 /* stdout, NUL-terminated (never NULL after a run) */
	size_t out_len;
	char *err; /* stderr, NUL-terminated (never NULL after a run) */
	size_t err_len;
};

/* Seconds a child may run before SIGALRM ends it. */
#define LCT_CHILD_ALARM 60

/*
 * Runs fn(arg) in a forked child with the environment assignments in env
 * ("NAME=value" strings, NULL-terminated; NULL for none) applied first.
 * The child exits 0 when fn returns. Returns 0, or an errno value when the
 * child could not be started (then *c is empty but safe to free).
 */
int lct_run_fn(void (*fn)(void *), void *arg, const char *const *env,
	       struct lct_child *c);

/* Runs argv (argv[0] looked up in PATH) like lct_run_fn. */
int lct_run_cmd(const char *const *argv, const char *const *env,
		struct lct_child *c);

/* Frees the captured output; safe on a zeroed or already freed child. */
void lct_child_free(struct lct_child *c);

/* True when the child exited normally with this code. */
bool lct_exited_with(const struct lct_child *c, int code);

/* True when the child was ended by this signal. */
bool lct_killed_by(const struct lct_child *c, int sig);

/* Number of lines of text that begin with prefix. */
size_t lct_count_prefix(const char *text, const char *prefix);

/* Number of "lockcheck: <kind>:" report lines in the child's stderr. */
size_t lct_count_reports(const struct lct_child *c, const char *kind);

/* Number of report lines of any kind ("lockcheck: " at a line start). */
size_t lct_count_all_reports(const struct lct_child *c);

/* The first line of text beginning with prefix, copied into buf (cut at
 * size); returns false when there is none. */
bool lct_find_line(const char *text, const char *prefix, char *buf,
		   size_t size);

/* The checker's default exit status for a process that reported a
 * finding (LOCKCHECK_EXITCODE unset). */
#define LCT_FINDING_EXIT 66

/* The status a checked child with findings exits with under env: its
 * LOCKCHECK_EXITCODE=N when it has a valid one (0 to 255), else
 * LCT_FINDING_EXIT. */
int lct_finding_status(const char *const *env);

/*
 * Runs fn(arg) in a child and fails the current Check test, showing the
 * child's output, unless its stderr holds exactly n report lines of this
 * kind and no report of any other kind (kind NULL and n 0: no report at
 * all), and it exited with the status that says so: 0 with no report,
 * lct_finding_status(env) with some. Returns the child for more checks;
 * free it.
 */
struct lct_child lct_expect_reports(void (*fn)(void *), void *arg,
				    const char *const *env, const char *kind,
				    size_t n);

/* Runs fn(arg) on a new thread and waits for it: a way to take locks "in
 * another thread" one step at a time, without any real deadlock. */
void lct_in_thread(void (*fn)(void *), void *arg);

/* Same, with the thread named (lc_thread_set_name is not used: the pthread
 * name is, so this also shows that reports pick pthread names up). */
void lct_in_named_thread(const char *name, void (*fn)(void *), void *arg);

/* Writes the child's status and output to stderr, for failing asserts
 * (a stream over 64 KiB: its first and last 32 KiB). */
void lct_child_dump(const struct lct_child *c, const char *what);

/*
 * Assertions about a child. Each fails the current test like ck_assert,
 * but first writes the child's status, stdout and stderr to the test's
 * stderr (lct_child_dump): a failure always shows what the child said.
 * Use them for every check of a child's status or output.
 *
 *   LCT_ASSERT_RAN(rc, c)           rc (of lct_run_fn/_cmd) is 0
 *   LCT_ASSERT_CHILD(c, cond)       any condition on the child
 *   LCT_ASSERT_EXITED(c, code)      exited normally with code
 *   LCT_ASSERT_KILLED(c, sig)       ended by signal sig
 *   LCT_ASSERT_REPORTS(c, kind, n)  exactly n "lockcheck: kind:" lines
 *   LCT_ASSERT_ERR_HAS(c, text)     stderr contains text
 *   LCT_ASSERT_OUT_HAS(c, text)     stdout contains text
 *   LCT_ASSERT_LINE(c, prefix, suffix)
 *                                   stderr has a line beginning with
 *                                   prefix, and the first ends with suffix
 *                                   (a report line: its kind and place
 *                                   at the start, its function at the end)
 */
#define LCT_ASSERT_CHILD(c, cond)                                              \
	do {                                                                   \
		if (!(cond))                                                   \
			lct_child_fail((c), __FILE__, __LINE__, "%s", #cond);  \
	} while (0)
#define LCT_ASSERT_RAN(rc, c) lct_assert_ran_at((rc), (c), __FILE__, __LINE__)
#define LCT_ASSERT_EXITED(c, code)                                             \
	lct_assert_exited_at((c), (code), __FILE__, __LINE__)
#define LCT_ASSERT_KILLED(c, sig)                                              \
	lct_assert_killed_at((c), (sig), __FILE__, __LINE__)
#define LCT_ASSERT_REPORTS(c, kind, n)                                         \
	lct_assert_reports_at((c), (kind), (n), __FILE__, __LINE__)
#define LCT_ASSERT_ERR_HAS(c, text)                                            \
	lct_assert_has_at((c), true, (text), __FILE__, __LINE__)
#define LCT_ASSERT_OUT_HAS(c, text)                                            \
	lct_assert_has_at((c), false, (text), __FILE__, __LINE__)
#define LCT_ASSERT_LINE(c, prefix, suffix)                                     \
	lct_assert_line_at((c), (prefix), (suffix), __FILE__, __LINE__)

/* Dumps the child, then fails the test with "file:line: message". */
void lct_child_fail(const struct lct_child *c, const char *file, int line,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The functions behind the macros above. */
void lct_assert_ran_at(int rc, const struct lct_child *c, const char *file,
		       int line);
void lct_assert_exited_at(const struct lct_child *c, int code, const char *file,
			  int line);
void lct_assert_killed_at(const struct lct_child *c, int sig, const char *file,
			  int line);
void lct_assert_reports_at(const struct lct_child *c, const char *kind,
			   size_t n, const char *file, int line);
void lct_assert_has_at(const struct lct_child *c, bool err, const char *text,
		       const char *file, int line);
void lct_assert_line_at(const struct lct_child *c, const char *prefix,
			const char *suffix, const char *file, int line);

/* Path of a file next to the test binary's runfiles ("tools/lockgraph/
 * lockgraph" style workspace paths); NULL when it cannot be found. The
 * returned string is static storage, overwritten by the next call. */
const char *lct_runfile(const char *workspace_path);

/* A fresh empty directory under TEST_TMPDIR (or /tmp); static storage. */
const char *lct_tmpdir(const char *tag);

/* Reads a whole file; *len gets its size. NULL when unreadable. Free it. */
char *lct_read_file(const char *path, size_t *len);

/* Number of entries in directory dir (not "." or ".."); -1 when it cannot
 * be read. */
int lct_count_entries(const char *dir);

/* The text of the one lock-graph dump (a *.graph file) in directory dir;
 * NULL when there is not exactly one entry in dir, or it is no dump. */
char *lct_read_only_dump(const char *dir);

/* Runs every test of s (CK_NORMAL output) and frees it; returns the exit
 * status for main: EXIT_SUCCESS when none failed. */
int lct_run_suite(Suite *s);

#endif /* LC_TESTUTIL_H */
