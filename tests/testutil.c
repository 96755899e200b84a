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

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
					rc = buf_append(dst[i], chunk, (size_t)n);
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
	while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR)
		;
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

bool lct_find_line(const char *text, const char *prefix, char *buf,
		   size_t size)
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

void lct_child_dump(const struct lct_child *c, const char *what)
{
	fprintf(stderr, "---- %s: status %#x", what, (unsigned)c->status);
	if (WIFEXITED(c->status))
		fprintf(stderr, " (exit %d)", WEXITSTATUS(c->status));
	if (WIFSIGNALED(c->status))
		fprintf(stderr, " (signal %d)", WTERMSIG(c->status));
	fprintf(stderr, "\n---- stdout:\n%s\n---- stderr:\n%s\n---- end\n",
		c->out ? c->out : "", c->err ? c->err : "");
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

	snprintf(path, sizeof(path), "%s/%s.XXXXXX", base ? base : "/tmp",
		 tag);
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

struct lct_child lct_expect_reports(void (*fn)(void *), void *arg,
				    const char *const *env, const char *kind,
				    size_t n)
{
	struct lct_child c;
	size_t all, mine;

	ck_assert_int_eq(lct_run_fn(fn, arg, env, &c), 0);
	all = lct_count_all_reports(&c);
	mine = kind ? lct_count_reports(&c, kind) : 0;
	if (!lct_exited_with(&c, 0) || mine != n || all != n)
		lct_child_dump(&c, kind ? kind : "expected silence");
	ck_assert_msg(lct_exited_with(&c, 0), "child status %#x",
		      (unsigned)c.status);
	ck_assert_msg(mine == n, "%zu '%s' reports, expected %zu", mine,
		      kind ? kind : "-", n);
	ck_assert_msg(all == n, "%zu reports in all, expected %zu", all, n);
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
