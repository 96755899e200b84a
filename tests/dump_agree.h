/*
 * dump_agree.h: lockgraph must agree with the checker on every dump the
 * suite writes.
 *
 * lct_run_fn and lct_run_cmd (testutil.c) give every child a dump
 * directory unless the test chose LOCKCHECK_DUMP itself, and after the
 * child ends they check the dump it wrote, in that directory or in the
 * test's (in checked builds a child writes one at exit; in the plain build
 * none is written and there is nothing to check):
 * the cycles the process reported (lock-order-cycle findings of two or
 * more classes) must be cycles lockgraph finds on its own on that dump,
 * and, when the process exited normally, every cycle lockgraph finds must
 * be one the process reported. A dump with a `limit` finding is not
 * judged: a limit means the checker saw less.
 */
#ifndef LC_DUMP_AGREE_H
#define LC_DUMP_AGREE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The verdicts on one dump. whole: the process exited normally, so every
 * cycle lockgraph finds must have been reported. True when they agree (or
 * the dump is not judged); else false with the reason in why.
 */
bool lct_dump_agrees(const char *path, bool whole, char *why, size_t size);

/* Where a child's dump goes, between starting and checking it. */
struct lct_dump_hook {
	char dir[4096];	  /* LOCKCHECK_DUMP for the child; "": none */
	bool ours;	  /* a fresh directory, removed after */
	char var[4200];	  /* "LOCKCHECK_DUMP=<dir>" when ours */
	const char **env; /* the child's environment: env plus var */
};

/* The environment to start the child with: env plus a fresh dump
 * directory, or env itself when the test or the caller's environment
 * chose LOCKCHECK_DUMP (its dumps are then checked where they are, and
 * left there). */
const char *const *lct_dump_hook_env(struct lct_dump_hook *h,
				     const char *const *env);

/* After child pid ended with status: checks each dump it wrote (other
 * processes' are skipped) and fails the current test on a disagreement;
 * removes the directory when it is ours. */
void lct_dump_hook_check(struct lct_dump_hook *h, int pid, int status);

#endif /* LC_DUMP_AGREE_H */
