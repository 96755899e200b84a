/*
 * stack.c: backtraces. Capturing is glibc's backtrace() (runtime.c loads the
 * unwinder at init, so capture never dlopens under lc__slow); stacks are
 * kept as raw addresses, one per edge when the edge is first seen.
 * Symbolising happens only when a report is written: each frame is mapped to
 * its object with dl_iterate_phdr, and each object's frames go through one
 * addr2line run (function and file:line when there is debug info). Without
 * addr2line (or with LOCKCHECK_SYMBOLIZE=0) frames show as object+offset.
 * A stack seen before is not stored again: its id is shared (by_hash),
 * so memory grows with the distinct stacks a program has, not with its
 * edges (per-object locks made and destroyed in a loop, deep nesting).
 * Invariant: stack id i (from 1) is the span stacks[i - 1] of store, and
 * spans lie back to back within store_len.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FRAMES 64

extern char **environ;

static void **store; /* frames of all stacks, back to back */
static uint32_t store_len, store_cap;
static struct span {
	uint32_t off, n;
} * stacks; /* by id - 1 */
static uint32_t nstacks, stacks_cap;
static struct lc__u64map by_hash; /* frames' hash (probed on) -> id */

int lc__stack_now(const void *ra, void **frames, int max)
{
	void *raw[MAX_FRAMES];
	int n = backtrace(raw, MAX_FRAMES), start = 0;

	for (int i = 0; i < n; i++)
		if (raw[i] == ra) {
			start = i;
			break;
		}
	n -= start;
	if (n > max)
		n = max;
	memcpy(frames, raw + start, (size_t)n * sizeof(*frames));
	return n;
}

static uint64_t frames_hash(void *const *frames, int n)
{
	uint64_t h = (uint64_t)n;

	for (int i = 0; i < n; i++)
		h = lc__mix64(h ^ (uint64_t)(uintptr_t)frames[i]);
	return h;
}

/* The id of a stored stack with these frames, or 0; *slot gets the
 * by_hash key it has or would get. */
static uint32_t find_stack(void *const *frames, int n, uint64_t *slot)
{
	uint64_t h = frames_hash(frames, n);
	uint32_t id;

	for (; lc__u64map_get(&by_hash, h, &id); h++) {
		const struct span *s = &stacks[id - 1];

		size_t size = (size_t)n * sizeof(*frames);

		if (s->n == (uint32_t)n &&
		    !memcmp(store + s->off, frames, size))
			break;
	}
	*slot = h;
	return lc__u64map_get(&by_hash, h, &id) ? id : 0;
}

uint32_t lc__stack_capture(const void *ra)
{
	void *frames[MAX_FRAMES];
	int n = lc__stack_now(ra, frames, MAX_FRAMES);
	uint64_t slot;
	uint32_t id;

	if (n <= 0)
		return 0;
	id = find_stack(frames, n, &slot);
	if (id)
		return id;
	if (lc__u64map_put(&by_hash, slot, nstacks + 1))
		return 0; /* no memory: the edge shows no stack */
	if (store_len + (uint32_t)n > store_cap) {
		uint32_t cap = store_cap ? store_cap * 2 : 4096;
		void **p;

		while (cap < store_len + (uint32_t)n)
			cap *= 2;
		p = realloc(store, cap * sizeof(*p));
		if (!p)
			goto no_memory;
		store = p;
		store_cap = cap;
	}
	if (nstacks == stacks_cap) {
		uint32_t cap = stacks_cap ? stacks_cap * 2 : 256;
		struct span *p = realloc(stacks, cap * sizeof(*p));

		if (!p)
			goto no_memory;
		stacks = p;
		stacks_cap = cap;
	}
	memcpy(store + store_len, frames, (size_t)n * sizeof(*frames));
	stacks[nstacks] = (struct span){ store_len, (uint32_t)n };
	store_len += (uint32_t)n;
	return ++nstacks;
no_memory:
	lc__u64map_del(&by_hash, slot);
	return 0;
}

int lc__stack_get(uint32_t id, void *const **frames)
{
	if (id == 0 || id > nstacks)
		return 0;
	assert(stacks[id - 1].off + stacks[id - 1].n <= store_len);
	*frames = store + stacks[id - 1].off;
	return (int)stacks[id - 1].n;
}

/* ---- Symbolising ---- */

struct frame {
	uintptr_t addr;	 /* the call instruction: return address - 1 */
	uintptr_t rel;	 /* addr relative to its object's load bias */
	const char *obj; /* object path; "" until found */
	char func[128];
	char where[256]; /* file:line, or "" */
};

struct find {
	struct frame *f;
};

bool lc__exe_path(char *out, size_t size)
{
	static const char *const links[] = { "/proc/thread-self/exe",
					     "/proc/self/exe" };

	assert(size > 0);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		ssize_t n = readlink(links[i], out, size - 1);

		if (n > 0) {
			out[n] = '\0';
			return true;
		}
	}
	out[0] = '\0';
	return false;
}

/* The main program's path: "/proc/self/exe" would name addr2line itself
 * once addr2line runs. */
static const char *self_exe(void)
{
	static char path[4096];

	if (!path[0])
		lc__exe_path(path, sizeof(path));
	return path[0] ? path : "/proc/self/exe";
}

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct frame *f = ((struct find *)arg)->f;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || f->addr < lo ||
		    f->addr >= lo + ph->p_memsz)
			continue;
		f->rel = f->addr - info->dlpi_addr;
		f->obj = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name
							       : self_exe();
		return 1;
	}
	return 0;
}

/* Reads what a child wrote to fd into buf (NUL-terminated). */
static void read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size &&
	       (n = read(fd, buf + len, size - 1 - len)) != 0) {
		if (n < 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
}

/* Drops the prefixes build systems leave in debug info paths. */
static const char *short_path(const char *path)
{
	static const char *const prefixes[] = { "/proc/self/cwd/", "./" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
			path += strlen(prefixes[i]);
	return path;
}

/* Runs argv with its stdout into out (NUL-terminated), stderr discarded,
 * and no signal blocked (lc__slow blocks them in the caller). Returns 0,
 * or -1 when it could not run (out is then empty). */
static int run_capture(char *const argv[], char *out, size_t size)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	int pipefd[2], err;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null",
					 O_WRONLY, 0);
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (!err)
		read_all(pipefd[0], out, size);
	close(pipefd[0]);
	if (!err)
		waitpid(pid, NULL, 0); /* ECHILD if the host reaps all: fine */
	return err ? -1 : 0;
}

/* Fills func and where of frames[idx[k]] from addr2line's output: two lines
 * per address, the function, then file:line; "??" for unknown. */
static void parse_addr2line(struct frame *frames, const int *idx, int n,
			    char *out)
{
	char *line, *save;
	int k = 0;

	for (line = strtok_r(out, "\n", &save); line && k < 2 * n;
	     line = strtok_r(NULL, "\n", &save), k++) {
		struct frame *f = &frames[idx[k / 2]];

		if (strncmp(line, "??", 2) == 0)
			continue;
		if (k % 2 == 0)
			snprintf(f->func, sizeof(f->func), "%s", line);
		else
			snprintf(f->where, sizeof(f->where), "%s",
				 short_path(line));
	}
}

/* Runs addr2line -f -C on frames[idx[0..n)] (all of one object). */
static void addr2line(struct frame *frames, const int *idx, int n)
{
	static char out[MAX_FRAMES * 400]; /* lc__slow is held */
	char hex[MAX_FRAMES][24], *argv[MAX_FRAMES + 6];
	int argc = 0;

	argv[argc++] = "addr2line";
	argv[argc++] = "-f";
	argv[argc++] = "-C";
	argv[argc++] = "-e";
	argv[argc++] = (char *)frames[idx[0]].obj;
	for (int i = 0; i < n; i++) {
		snprintf(hex[i], sizeof(hex[i]), "%#lx",
			 (unsigned long)frames[idx[i]].rel);
		argv[argc++] = hex[i];
	}
	argv[argc] = NULL;
	if (run_capture(argv, out, sizeof(out)) == 0)
		parse_addr2line(frames, idx, n, out);
}

static void symbolise(struct frame *frames, int n)
{
	/* No dladdr(): it takes the loader's lock, which a dlopen() holds
	 * while it runs constructors that may be waiting for lc__slow. */
	for (int i = 0; i < n; i++) {
		struct find arg = { &frames[i] };

		frames[i].obj = "";
		dl_iterate_phdr(find_object, &arg);
	}
	if (!lc__cfg.symbolize)
		return;
	for (int i = 0; i < n; i++) {
		int idx[MAX_FRAMES], m = 0;
		bool done = false;

		for (int j = 0; j < i; j++)
			done |= frames[j].obj == frames[i].obj;
		if (done || !frames[i].obj[0])
			continue;
		idx[m++] = i;
		for (int j = i + 1; j < n; j++)
			if (frames[j].obj == frames[i].obj)
				idx[m++] = j;
		addr2line(frames, idx, m);
	}
}

/* Drops the directories of a path: reports stay short. */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

void lc__print_stack(struct lc__buf *b, void *const *addrs, int n,
		     const char *indent)
{
	struct frame *frames;

	if (n > MAX_FRAMES)
		n = MAX_FRAMES;
	frames = calloc((size_t)n, sizeof(*frames));
	if (!frames)
		return;
	for (int i = 0; i < n; i++)
		frames[i].addr = (uintptr_t)addrs[i] - 1;
	symbolise(frames, n);
	for (int i = 0; i < n; i++) {
		const struct frame *f = &frames[i];

		lc__buf_add(b, "%s#%d ", indent, i);
		lc__buf_put_text(b, f->func[0] ? f->func : "??");
		if (f->where[0]) {
			lc__buf_add(b, " at ");
			lc__buf_put_text(b, f->where);
		} else if (f->obj[0]) {
			lc__buf_add(b, " (");
			lc__buf_put_text(b, base_name(f->obj));
			lc__buf_add(b, "+%#lx)", (unsigned long)f->rel);
		}
		lc__buf_add(b, "\n");
		if (strcmp(f->func, "main") == 0 ||
		    strcmp(f->func, "start_thread") == 0)
			break; /* what lies beyond is the C library's */
	}
	free(frames);
}
