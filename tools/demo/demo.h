/*
 * demo.h: what the demo's parts share. The demo is one binary: run with no
 * subcommand it is the narrator, which starts itself again with a
 * subcommand for each scene, so every scene is a process of its own with a
 * lock-graph dump of its own for lockgraph to merge at the end.
 */
#ifndef DEMO_H
#define DEMO_H

#include <stddef.h>
#include <stdint.h>

/* Scenes, each the main of a child process; they return its exit status. */
int demo_naive_bank(void);
int demo_ledger_bank(void);
int demo_services(void);
int demo_worker(const char *first, const char *second);
int demo_stats(const char *version); /* "racy" or "fixed" */
int demo_flusher(void);
int demo_hang(void);

/* The load both banks carry: tellers, accounts, transfers per teller. */
enum { BANK_TELLERS = 4, BANK_ACCOUNTS = 8, BANK_TRANSFERS = 50000 };
#define BANK_OPENING 10000 /* each account's opening balance */

/* A fast, good enough random generator, one state per thread. */
static inline uint64_t demo_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Prints a line indented under the current heading. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* DEMO_H */
