/*
 * finding_set.c: the findings a process has seen. A finding is reported
 * once: its kind and a signature the reporter computes (the cycle's
 * classes, the misuse's class and site) are remembered. Reported findings
 * are kept for the dump and counted for LOCKCHECK_EXITCODE. All under
 * lc__slow but the count. Invariant: nkept <= kept_cap.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[LC__FINDING_KINDS] = {
	[LC__FINDING_LOCK_ORDER_CYCLE] = "lock-order-cycle",
	[LC__FINDING_ORDER_VIOLATION] = "order-violation",
	[LC__FINDING_RECURSIVE_LOCK] = "recursive-lock",
	[LC__FINDING_UNLOCK_NOT_HELD] = "unlock-not-held",
	[LC__FINDING_DESTROY_HELD] = "destroy-held",
	[LC__FINDING_EXIT_HELD] = "exit-held",
	[LC__FINDING_ASSERT_HELD] = "assert-held",
	[LC__FINDING_SIGNAL_UNSAFE] = "signal-unsafe",
	[LC__FINDING_WAIT_CYCLE] = "wait-cycle",
	[LC__FINDING_WAIT_TIMEOUT] = "wait-timeout",
	[LC__FINDING_RACE] = "race",
	[LC__FINDING_LIMIT] = "limit",
	[LC__FINDING_CONFIG] = "config",
};

/* What the dump records of each finding. */
struct kept {
	enum lc__finding kind;
	char *summary;
	uint32_t *classes;
	uint32_t nclasses;
};

static struct lc__u64map seen; /* signature -> 1 */
static bool lost; /* a finding could not be kept: the dump says so */
static struct kept *kept;
static uint32_t nkept, kept_cap;
static _Atomic uint32_t reported;

const char *lc__finding_name(enum lc__finding kind)
{
	assert(kind < LC__FINDING_KINDS && names[kind]);
	return names[kind];
}

static uint64_t seen_key(enum lc__finding kind, uint64_t signature)
{
	return lc__mix64(signature ^ ((uint64_t)kind << 56));
}

bool lc__finding_seen(enum lc__finding kind, uint64_t signature)
{
	return lc__u64map_get(&seen, seen_key(kind, signature), NULL);
}

bool lc__finding_is_new(enum lc__finding kind, uint64_t signature)
{
	if (lc__finding_seen(kind, signature))
		return false;
	/* no memory: may repeat, never lost */
	lc__u64map_put(&seen, seen_key(kind, signature), 1);
	return true;
}

static struct kept *kept_slot(void)
{
	struct kept *k;

	assert(nkept <= kept_cap);
	if (nkept == kept_cap) {
		uint32_t cap = kept_cap ? kept_cap * 2 : 16;

		k = realloc(kept, cap * sizeof(*k));
		if (!k)
			return NULL;
		kept = k;
		kept_cap = cap;
	}
	return &kept[nkept];
}

void lc__finding_keep(enum lc__finding kind, const char *summary, size_t len,
		      const uint32_t *classes, uint32_t n)
{
	struct kept *k = kept_slot();

	atomic_fetch_add(&reported, 1);
	if (!k)
		goto lost;
	k->kind = kind;
	k->summary = strndup(summary, len);
	k->classes = n ? malloc(n * sizeof(*classes)) : NULL;
	if (!k->summary || (n && !k->classes)) {
		free(k->summary);
		free(k->classes);
		goto lost;
	}
	if (n)
		memcpy(k->classes, classes, n * sizeof(*classes));
	k->nclasses = n;
	nkept++;
	return;
lost: /* a dump without the finding must not pass for a whole one */
	lost = true;
	lc__report_limit("memory", "no memory to keep a finding for the "
				   "dump; the dump lacks it");
}

void lc__findings_forget(void)
{
	for (uint32_t i = 0; i < nkept; i++) {
		free(kept[i].summary);
		free(kept[i].classes);
	}
	nkept = 0;
	lost = false;
	atomic_store(&reported, 0);
}

uint32_t lc__findings_count(void)
{
	return atomic_load(&reported);
}

void lc__findings_each(void (*fn)(enum lc__finding kind, const char *summary,
				  const uint32_t *classes, uint32_t n,
				  void *arg),
		       void *arg)
{
	for (uint32_t i = 0; i < nkept; i++)
		fn(kept[i].kind, kept[i].summary, kept[i].classes,
		   kept[i].nclasses, arg);
	if (lost) /* needs no memory, unlike the findings it stands for */
		fn(LC__FINDING_LIMIT,
		   "memory: findings were lost for want "
		   "of memory; this dump lacks them",
		   NULL, 0, arg);
}
