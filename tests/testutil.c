/*
 * testutil.c: child processes for tests, with their output captured through
 * two pipes read together (poll), so a chatty child never blocks on a full
 * pipe while the parent waits for the other one.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include "dump_agree.h"

#include <check.h>
#include <pthread.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_append(struct buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void apply_env(const char *const *env)
{
	for (; env && *env; env++) {
		const char *eq = strchr(*env, '=');
		char name[256];

		if (!eq || (size_t)(eq - *env) >= sizeof(name))
			continue;
		memcpy(name, *env, eq - *env);
		name[eq - *env] = '\0';
		setenv(name, eq + 1, 1);
	}
}

/* Reads both pipes until both close. */
static int collect(int out_fd, int err_fd, struct buf *out, struct buf *err)
{
	struct pollfd p[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	struct buf *dst[2] = { out, err };
	int open_fds = 2, rc = 0;

	while (open_fds > 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		for (int i = 0; i < 2; i++) {
			char chunk[8192];
			ssize_t n;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, chunk, sizeof(chunk));
			if (n > 0) {
				if (!rc)
					rc = buf_append(dst[i], chunk,
							(size_t)n);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			close(p[i].fd);
			p[i].fd = -1;
			open_fds--;
		}
	}
	return rc;
}

/* Waits for the child: its status and peak memory into c. */
static void reap(pid_t pid, struct lct_child *c)
{
	struct rusage ru;

	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &c->status, 0, &ru) < 0 && errno == EINTR)
		;
	c->max_rss_kb = ru.ru_maxrss;
}

static int run(void (*fn)(void *), void *arg, const char *const *argv,
	       const char *const *env, struct lct_child *c)
{
	struct buf out = { 0 }, err = { 0 };
	struct lct_dump_hook hook;
	int po[2], pe[2], rc;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	if (pipe2(po, O_CLOEXEC))
		return errno;
	if (pipe2(pe, O_CLOEXEC)) {
		rc = errno;
		close(po[0]);
		close(po[1]);
		return rc;
	}
	env = lct_dump_hook_env(&hook, env);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = errno;
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		lct_dump_hook_check(&hook, -1, 0);
		return rc;
	}
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		alarm(LCT_CHILD_ALARM);
		apply_env(env);
		if (argv) {
			execvp(argv[0], (char *const *)argv);
			fprintf(stderr, "exec %s: %s\n", argv[0],
				strerror(errno));
			_exit(127);
		}
		fn(arg);
		exit(0);
	}
	close(po[1]);
	close(pe[1]);
	rc = collect(po[0], pe[0], &out, &err);
	reap(pid, c);
	lct_dump_hook_check(&hook, pid, c->status);
	if (!rc)
		rc = buf_append(&out, "", 0);
	if (!rc)
		rc = buf_append(&err, "", 0);
	c->out = out.p;
	c->out_len = out.len;
	c->err = err.p;
	c->err_len = err.len;
	return rc;
}

int lct_run_fn(void (*fn)(void *), void *arg, const char *const *env,
	       struct lct_child *c)
{
	return run(fn, arg, NULL, env, c);
}

int lct_run_cmd(const char *const *argv, const char *const *env,
		struct lct_child *c)
{
	return run(NULL, NULL, argv, env, c);
}

void lct_child_free(struct lct_child *c)
{
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
	c->out_len = c->err_len = 0;
}

bool lct_exited_with(const struct lct_child *c, int code)
{
	return WIFEXITED(c->status) && WEXITSTATUS(c->status) == code;
}

bool lct_killed_by(const struct lct_child *c, int sig)
{
	return WIFSIGNALED(c->status) && WTERMSIG(c->status) == sig;
}

size_t lct_count_prefix(const char *text, const char *prefix)
{
	size_t n = 0, plen = strlen(prefix);

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');

		if (strncmp(line, prefix, plen) == 0)
			n++;
		line = nl ? nl + 1 : NULL;
	}
	return n;
}

size_t lct_count_reports(const struct lct_child *c, const char *kind)
{
	char prefix[128];

	snprintf(prefix, sizeof(prefix), "lockcheck: %s: ", kind);
	return lct_count_prefix(c->err, prefix);
}

size_t lct_count_all_reports(const struct lct_child *c)
{
	return lct_count_prefix(c->err, "lockcheck: ");
}

bool lct_find_line(const char *text, const char *prefix, char *buf, size_t size)
{
	size_t plen = strlen(prefix);

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (strncmp(line, prefix, plen) == 0) {
			if (len >= size)
				len = size - 1;
			memcpy(buf, line, len);
			buf[len] = '\0';
			return true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

#define DUMP_PART 32768 /* bytes of a stream's head and of its tail */

/* One captured stream; a long one as its head and its tail. */
static void dump_stream(const char *name, const char *s, size_t len)
{
	fprintf(stderr, "---- %s (%zu bytes):\n", name, len);
	if (!s)
		s = "";
	if (len <= 2 * DUMP_PART) {
		fprintf(stderr, "%s\n", s);
		return;
	}
	fwrite(s, 1, DUMP_PART, stderr);
	fprintf(stderr, "\n---- [%zu bytes left out] ----\n",
		len - 2 * DUMP_PART);
	fwrite(s + len - DUMP_PART, 1, DUMP_PART, stderr);
	fputc('\n', stderr);
}

void lct_child_dump(const struct lct_child *c, const char *what)
{
	fprintf(stderr, "---- %s: status %#x", what, (unsigned)c->status);
	if (WIFEXITED(c->status))
		fprintf(stderr, " (exit %d)", WEXITSTATUS(c->status));
	if (WIFSIGNALED(c->status))
		fprintf(stderr, " (signal %d, %s)", WTERMSIG(c->status),
			strsignal(WTERMSIG(c->status)));
	fprintf(stderr, ", peak RSS %ld KiB\n", c->max_rss_kb);
	dump_stream("stdout", c->out, c->out_len);
	dump_stream("stderr", c->err, c->err_len);
	fprintf(stderr, "---- end\n");
}

void lct_child_fail(const struct lct_child *c, const char *file, int line,
		    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lct_child_dump(c, msg);
	ck_abort_msg("%s:%d: %s (the child's output is above)", file, line,
		     msg);
}

void lct_assert_ran_at(int rc, const struct lct_child *c, const char *file,
		       int line)
{
	if (rc)
		lct_child_fail(c, file, line, "the child did not run: %s",
			       strerror(rc));
}

/* "exit 3", "signal 6 (Aborted)" or "status 0x..." of a wait status. */
static void describe(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "status %#x", (unsigned)status);
}

void lct_assert_exited_at(const struct lct_child *c, int code, const char *file,
			  int line)
{
	char how[96];

	if (lct_exited_with(c, code))
		return;
	describe(c->status, how, sizeof(how));
	lct_child_fail(c, file, line, "child ended with %s, want exit %d", how,
		       code);
}

void lct_assert_killed_at(const struct lct_child *c, int sig, const char *file,
			  int line)
{
	char how[96];

	if (lct_killed_by(c, sig))
		return;
	describe(c->status, how, sizeof(how));
	lct_child_fail(c, file, line, "child ended with %s, want signal %d",
		       how, sig);
}

void lct_assert_reports_at(const struct lct_child *c, const char *kind,
			   size_t n, const char *file, int line)
{
	size_t have = lct_count_reports(c, kind);

	if (have != n)
		lct_child_fail(c, file, line, "%zu '%s' reports, want %zu",
			       have, kind, n);
}

void lct_assert_has_at(const struct lct_child *c, bool err, const char *text,
		       const char *file, int line)
{
	const char *s = err ? c->err : c->out;

	if (!s || !strstr(s, text))
		lct_child_fail(c, file, line, "no '%s' in the child's %s", text,
			       err ? "stderr" : "stdout");
}

void lct_assert_line_at(const struct lct_child *c, const char *prefix,
			const char *suffix, const char *file, int line)
{
	char buf[1024];
	size_t n, slen = strlen(suffix);

	if (!lct_find_line(c->err, prefix, buf, sizeof(buf))) {
		lct_child_fail(c, file, line,
			       "no line beginning '%s' in the child's stderr",
			       prefix);
		return;
	}
	n = strlen(buf);
	if (n < slen || strcmp(buf + n - slen, suffix) != 0)
		lct_child_fail(c, file, line,
			       "the line '%s' does not end with '%s'", buf,
			       suffix);
}

const char *lct_runfile(const char *workspace_path)
{
	static char path[4096];
	const char *roots[] = { getenv("TEST_SRCDIR"), getenv("RUNFILES_DIR") };
	const char *ws = getenv("TEST_WORKSPACE");

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		if (!roots[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", roots[i],
			 ws ? ws : "lockcheck", workspace_path);
		if (access(path, F_OK) == 0)
			return path;
	}
	/* Outside Bazel: relative to the current directory. */
	snprintf(path, sizeof(path), "%s", workspace_path);
	return access(path, F_OK) == 0 ? path : NULL;
}

const char *lct_tmpdir(const char *tag)
{
	static char path[4096];
	const char *base = getenv("TEST_TMPDIR");

	snprintf(path, sizeof(path), "%s/%s.XXXXXX", base ? base : "/tmp", tag);
	return mkdtemp(path);
}

char *lct_read_file(const char *path, size_t *len)
{
	struct buf b = { 0 };
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (buf_append(&b, chunk, (size_t)n)) {
			free(b.p);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	if (n < 0 || buf_append(&b, "", 0)) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}

int lct_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

char *lct_read_only_dump(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4400] = "";
	size_t len;

	if (!d)
		return NULL;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			snprintf(path, sizeof(path), "%s/%.255s", dir,
				 e->d_name);
	closedir(d);
	len = strlen(path);
	if (lct_count_entries(dir) != 1 || len < 6 ||
	    strcmp(path + len - 6, ".graph") != 0)
		return NULL;
	return lct_read_file(path, NULL);
}

int lct_finding_status(const char *const *env)
{
	static const char var[] = "LOCKCHECK_EXITCODE=";
	int code = LCT_FINDING_EXIT;

	for (; env && *env; env++) {
		const char *v = *env + sizeof(var) - 1;
		char *end;
		long n;

		if (strncmp(*env, var, sizeof(var) - 1) != 0)
			continue;
		n = strtol(v, &end, 10);
		/* a value the checker refuses leaves the default */
		code = *v >= '0' && *v <= '9' && !*end && n <= 255
			       ? (int)n
			       : LCT_FINDING_EXIT;
	}
	return code;
}

struct lct_child lct_expect_reports(void (*fn)(void *), void *arg,
				    const char *const *env, const char *kind,
				    size_t n)
{
	int status = n ? lct_finding_status(env) : 0;
	struct lct_child c;
	size_t all;

	LCT_ASSERT_RAN(lct_run_fn(fn, arg, env, &c), &c);
	LCT_ASSERT_EXITED(&c, status);
	if (kind)
		LCT_ASSERT_REPORTS(&c, kind, n);
	all = lct_count_all_reports(&c);
	if (all != n)
		lct_child_fail(&c, __FILE__, __LINE__,
			       "%zu reports in all, want %zu (%s)", all, n,
			       kind ? kind : "silence");
	return c;
}

struct thread_call {
	void (*fn)(void *);
	void *arg;
	const char *name;
};

static void *thread_main(void *p)
{
	struct thread_call *call = p;

	if (call->name)
		pthread_setname_np(pthread_self(), call->name);
	call->fn(call->arg);
	return NULL;
}

void lct_in_named_thread(const char *name, void (*fn)(void *), void *arg)
{
	struct thread_call call = { fn, arg, name };
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, thread_main, &call), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

void lct_in_thread(void (*fn)(void *), void *arg)
{
	lct_in_named_thread(NULL, fn, arg);
}

int lct_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
