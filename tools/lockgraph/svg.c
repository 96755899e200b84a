/*
 * svg.c: `dot --svg FILE`: pipes the DOT text into Graphviz's dot. dot is
 * looked up in PATH first, so a missing Graphviz gets a clear message
 * instead of an exec error; when dot fails, the message says how it ended
 * (exit status or signal) and the first line dot wrote to stderr, kept in
 * a temporary file (not a pipe: dot could fill it while we still write
 * its input).
 */
#define _GNU_SOURCE
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* True when an executable named prog is in a directory of PATH. */
static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);

		if (n && n + strlen(prog) + 2 <= sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path,
				 prog);
			if (access(buf, X_OK) == 0)
				return true;
		}
		path = colon ? colon + 1 : NULL;
	}
	return false;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int spawn_dot(const char *out, int in_fd, int err_fd, pid_t *pid)
{
	char *argv[] = { "dot", "-Tsvg", "-o", (char *)out, NULL };
	posix_spawn_file_actions_t fa;
	int err;

	if (posix_spawn_file_actions_init(&fa))
		return ENOMEM;
	err = posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
	if (!err)
		err = posix_spawn_file_actions_adddup2(&fa, err_fd,
						       STDERR_FILENO);
	if (!err)
		err = posix_spawnp(pid, "dot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

/* "exit status N" or "killed by signal N", and dot's first stderr line
 * (control bytes become '?' in main's message). */
static int dot_failed(const char *out, int status, FILE *errs,
		      struct lg_err *err)
{
	char how[48], line[256] = "";

	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exit status %d",
			 WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "killed by signal %d",
			 WTERMSIG(status));
	rewind(errs);
	if (fgets(line, sizeof(line), errs))
		line[strcspn(line, "\n")] = '\0';
	return lg_errf(err, EIO, "--svg: dot could not write %s (%s)%s%s", out,
		       how, line[0] ? ": " : "", line);
}

/* Feeds the text to dot on a pipe and waits for it. */
static int pipe_to_dot(const char *dot, size_t len, const char *out,
		       struct lg_err *err)
{
	FILE *errs = tmpfile();
	int fds[2], status = 0, rc;
	pid_t pid;

	if (!errs || pipe2(fds, O_CLOEXEC)) {
		rc = lg_errf(err, EIO, "--svg: cannot start dot: %s",
			     strerror(errno));
		if (errs)
			fclose(errs);
		return rc;
	}
	rc = spawn_dot(out, fds[0], fileno(errs), &pid);
	close(fds[0]);
	if (rc) {
		close(fds[1]);
		fclose(errs);
		return lg_errf(err, EIO, "--svg: cannot run dot: %s",
			       strerror(rc));
	}
	signal(SIGPIPE, SIG_IGN); /* dot may exit early: see its status */
	rc = write_all(fds[1], dot, len);
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = dot_failed(out, status, errs, err);
	else if (rc)
		rc = lg_errf(err, EIO, "--svg: dot stopped reading its input");
	fclose(errs);
	return rc;
}

int lg_svg(const char *dot, size_t len, const char *out, struct lg_err *err)
{
	if (!in_path("dot"))
		return lg_errf(err, ENOENT,
			       "--svg: Graphviz's 'dot' is not installed (on "
			       "Debian: apt-get install graphviz); 'lockgraph "
			       "dot' prints the DOT text to render elsewhere");
	return pipe_to_dot(dot, len, out, err);
}
