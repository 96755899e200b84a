/*
 * demo.c: the narrator. `demo [LOCKGRAPH]` runs the scenes, each as a child
 * process of this same binary started through a ds_reaper, all writing
 * their lock graphs into one directory; then feeds that directory to
 * lockgraph (the path given, when there is one); last, an unmodified
 * pthread program runs under tools/lockcheck-run. `demo SCENE` runs one
 * scene in this process. The narrator exits 0 when every scene ended as
 * the story says (the naive bank stopped by the checker, every other
 * process clean, lockgraph's verdict 1, lockcheck-run's 66), 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "ds/reaper.h"

extern char **environ;

static char self[4096]; /* this binary */
static char dumps[64];	/* the scenes' LOCKCHECK_DUMP directory */
static int surprises;	/* scenes that did not end as the story says */

void say(const char *fmt, ...)
{
	va_list ap;

	fputs("   ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void heading(const char *fmt, ...)
{
	va_list ap;

	fputc('\n', stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Counts e as a surprise unless it ended as wanted (how, code). */
static void expect_end(const struct ds_reaper_exit *e, int how, int code,
		       const char *what)
{
	char got[96];

	if (e->how == how && e->code == code)
		return;
	surprises++;
	say("(unexpected: %s %s)", what,
	    ds_reaper_describe(e, got, sizeof(got)));
}

/* This process's environment without LOCKCHECK_ variables, plus extra
 * (NULL-terminated). The caller frees the array, not the strings. */
static const char **scene_env(const char *const *extra)
{
	size_t n = 0, k = 0;
	const char **env;

	while (environ[n])
		n++;
	env = calloc(n + 8, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LOCKCHECK_", 10) != 0)
			env[k++] = environ[i];
	for (; extra && *extra && k < n + 7; extra++)
		env[k++] = *extra;
	return env;
}

/* Runs `demo scene` through r with extra environment; returns how it
 * ended (how == 0 when it could not start). A scene still running after
 * limit_ms (>= 0) gets SIGABRT. */
static struct ds_reaper_exit run_scene_for(struct ds_reaper *r,
					   const char *scene,
					   const char *extra_env, int limit_ms)
{
	char dump_env[128];
	const char *extra[] = { dump_env, extra_env, NULL };
	const char *argv[] = { self, scene, NULL };
	const char **env;
	struct ds_reaper_exit e = { 0 };
	pid_t pid;

	snprintf(dump_env, sizeof(dump_env), "LOCKCHECK_DUMP=%s", dumps);
	fflush(NULL);
	env = scene_env(extra);
	if (env && ds_reaper_spawn(r, argv, env, &pid) == 0 &&
	    ds_reaper_wait(r, pid, limit_ms, &e) == ETIMEDOUT) {
		kill(pid, SIGABRT);
		ds_reaper_wait(r, pid, -1, &e);
	}
	free(env);
	return e;
}

static struct ds_reaper_exit run_scene(struct ds_reaper *r, const char *scene,
				       const char *extra_env)
{
	return run_scene_for(r, scene, extra_env, -1);
}

static void scene_bank(struct ds_reaper *r)
{
	struct ds_reaper_exit e;
	char how[96];

	heading("1. A naive bank: transfer() locks the paying account, then "
		"the receiving one");
	say("%d tellers move money between %d accounts at random.",
	    BANK_TELLERS, BANK_ACCOUNTS);
	say("Run with LOCKCHECK_ACTION=abort: the first finding ends it.\n");
	e = run_scene(r, "naive-bank", "LOCKCHECK_ACTION=abort");
	expect_end(&e, DS_REAPER_KILLED, SIGABRT, "naive bank");
	putchar('\n');
	say("naive bank %s: the first time the tellers' lock orders",
	    ds_reaper_describe(&e, how, sizeof(how)));
	say("closed a cycle, the checker reported it and stopped the run,");
	say("before any teller could hang.");

	heading("2. The same load on ds_ledger (ascending account ids, "
		"declared as order keys)");
	e = run_scene(r, "ledger-bank", NULL);
	expect_end(&e, DS_REAPER_EXITED, 0, "ledger bank");
	say("ledger bank %s, no report.",
	    ds_reaper_describe(&e, how, sizeof(how)));
}

static void scene_workers(struct ds_reaper *r)
{
	struct ds_reaper_exit e;

	heading("4. Two processes, each correct on its own");
	e = run_scene(r, "worker-a", NULL);
	expect_end(&e, DS_REAPER_EXITED, 0, "worker a");
	e = run_scene(r, "worker-b", NULL);
	expect_end(&e, DS_REAPER_EXITED, 0, "worker b");
}

static void scene_race(struct ds_reaper *r)
{
	struct ds_reaper_exit e;
	char how[96];

	heading("5. A race: workers count under stats_lock, a reporter "
		"reads without it");
	say("The counters are declared guarded by stats_lock (lc_guard).\n");
	e = run_scene(r, "stats-racy", "LOCKCHECK_EXITCODE=66");
	expect_end(&e, DS_REAPER_EXITED, 66, "racy stats");
	putchar('\n');
	say("racy stats %s: the unlocked read is reported at once, whatever",
	    ds_reaper_describe(&e, how, sizeof(how)));
	say("the schedule. The fix reads under the lock:");
	e = run_scene(r, "stats-fixed", NULL);
	expect_end(&e, DS_REAPER_EXITED, 0, "fixed stats");
	say("fixed stats %s, no report.",
	    ds_reaper_describe(&e, how, sizeof(how)));
}

static void scene_waits(struct ds_reaper *r)
{
	struct ds_reaper_exit e;
	char how[96];

	heading("6. Waiting while holding what the waker needs");
	say("The flusher waits on a condvar holding `table`; the writer "
	    "takes");
	say("`table` before it signals. It did not hang this time.\n");
	e = run_scene(r, "flusher", NULL);
	expect_end(&e, DS_REAPER_EXITED, 66, "flusher");
	say("flusher %s: predicted, never hung.",
	    ds_reaper_describe(&e, how, sizeof(how)));

	heading("7. A real hang, explained (LOCKCHECK_WATCHDOG=1)");
	say("A teller and an auditor take two locks in opposite orders, "
	    "at once.\n");
	e = run_scene_for(r, "hang", "LOCKCHECK_WATCHDOG=1", 4000);
	expect_end(&e, DS_REAPER_KILLED, SIGABRT, "hang");
	say("hang %s: the watchdog's report is the wait-for graph of the "
	    "hung",
	    ds_reaper_describe(&e, how, sizeof(how)));
	say("threads; the process stayed hung until the narrator aborted "
	    "it.");
}

static void scene_batch(struct ds_reaper *r)
{
	static const char *const jobs[][4] = {
		{ "true", NULL },
		{ "false", NULL },
		{ "sh", "-c", "exit 3", NULL },
		{ "sleep", "60", NULL },
		{ "no-such-program", NULL },
	};
	enum { NJOBS = sizeof(jobs) / sizeof(jobs[0]) };
	pid_t pid[NJOBS];
	int err[NJOBS];
	struct ds_reaper_exit *list;
	size_t drained;
	char how[96];

	say("ds_reaper: a batch of real processes (one killed on purpose):");
	for (int i = 0; i < NJOBS; i++)
		err[i] = ds_reaper_spawn(r, jobs[i], NULL, &pid[i]);
	if (!err[3])
		kill(pid[3], SIGKILL);
	for (int i = 0; i < NJOBS; i++) {
		struct ds_reaper_exit e;

		if (err[i])
			say("  %-16s could not start: %s", jobs[i][0],
			    strerror(err[i]));
		else if (ds_reaper_wait(r, pid[i], 10000, &e) == 0)
			say("  %-16s pid %-7d %s", jobs[i][0], (int)pid[i],
			    ds_reaper_describe(&e, how, sizeof(how)));
	}
	list = ds_reaper_drain(r, &drained);
	say("  drained %zu records (every child of this run, each once)",
	    drained);
	ds_reaper_exits_free(list);
}

/* Runs lockgraph with args (NULL-terminated, after the command name)
 * through r; returns its exit record. */
static struct ds_reaper_exit lockgraph_run(struct ds_reaper *r,
					   const char *lockgraph,
					   const char *const *args)
{
	const char *argv[8] = { lockgraph };
	struct ds_reaper_exit e = { 0 };
	pid_t pid;
	int n = 1;

	for (; *args && n < 7; args++)
		argv[n++] = *args;
	fflush(NULL);
	if (ds_reaper_spawn(r, argv, NULL, &pid) == 0)
		ds_reaper_wait(r, pid, -1, &e);
	return e;
}

static void scene_lockgraph(const char *lockgraph, struct ds_reaper *r)
{
	char svg[128];
	struct ds_reaper_exit e;

	heading("8. lockgraph: the dumps of every process, merged");
	if (!lockgraph) {
		say("(run `demo PATH-TO-LOCKGRAPH` to merge the dumps in %s)",
		    dumps);
		return;
	}
	say("$ lockgraph report %s\n", dumps);
	lockgraph_run(r, lockgraph, (const char *[]){ "report", dumps, NULL });
	printf("\n");
	say("$ lockgraph check %s   (the CI gate)", dumps);
	e = lockgraph_run(r, lockgraph,
			  (const char *[]){ "check", dumps, NULL });
	expect_end(&e, DS_REAPER_EXITED, 1, "lockgraph check");
	say("exit status %d: the workers' cycle fails the build, though "
	    "neither",
	    e.how == DS_REAPER_EXITED ? e.code : -1);
	say("process alone could see it.\n");
	say("$ lockgraph guards %s   (which lock guards which data)\n", dumps);
	lockgraph_run(r, lockgraph, (const char *[]){ "guards", dumps, NULL });
	printf("\n");
	say("the counters stats_lock always guarded, and the one the racy");
	say("reporter read without it: unguarded shared data.\n");
	snprintf(svg, sizeof(svg), "%s/lockgraph.svg", dumps);
	e = lockgraph_run(r, lockgraph,
			  (const char *[]){ "dot", "--svg", svg, dumps, NULL });
	if (e.how == DS_REAPER_EXITED && e.code == 0)
		say("picture: %s (cycle edges in red)", svg);
}

/* The last scene: a program built with no lockcheck at all (unmodified,
 * next to this binary), checked as it is by tools/lockcheck-run, which is
 * run from the source tree (tools/dev demo runs the narrator there). */
static void scene_unmodified(struct ds_reaper *r)
{
	char prog[4200], dir[128];
	const char *argv[] = {
		"tools/lockcheck-run", "--dump", dir, "--", prog, NULL
	};
	struct ds_reaper_exit e = { 0 };
	const char **env;
	pid_t pid;

	heading("9. A program nobody rebuilt: tools/lockcheck-run");
	snprintf(prog, sizeof(prog), "%.*s/unmodified/unmodified",
		 (int)(strrchr(self, '/') - self), self);
	snprintf(dir, sizeof(dir), "%s/unmodified", dumps);
	if (access(argv[0], X_OK) != 0 || access(prog, X_OK) != 0) {
		say("(run from the source tree after tools/dev demo built "
		    "tools/demo/unmodified)");
		return;
	}
	say("unmodified.c calls pthread_mutex_lock itself; the checker is "
	    "preloaded");
	say("and names its locks by their variables, or by module+offset:\n");
	say("$ tools/lockcheck-run --dump %s -- unmodified\n", dir);
	fflush(NULL);
	env = scene_env(NULL);
	if (env && ds_reaper_spawn(r, argv, env, &pid) == 0)
		ds_reaper_wait(r, pid, -1, &e);
	free(env);
	expect_end(&e, DS_REAPER_EXITED, 66, "lockcheck-run unmodified");
	printf("\n");
	say("exit status %d: the inversion was found in a run that did "
	    "not hang.",
	    e.how == DS_REAPER_EXITED ? e.code : -1);
}

static int narrate(const char *lockgraph)
{
	struct ds_reaper_exit e;
	struct ds_reaper *r;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || !mkdtemp(strcpy(dumps, "/tmp/lockcheck-demo.XXXXXX")))
		return 1;
	self[n] = '\0';
	if (ds_reaper_create(&r))
		return 1;
	dup2(STDOUT_FILENO, STDERR_FILENO); /* reports in line with the story */
	printf("lockcheck demo: a lock-order and race checker at work (this "
	       "build has "
	       "LOCKCHECK=1)\n");
	scene_bank(r);
	heading("3. Services under load");
	e = run_scene(r, "services", NULL);
	expect_end(&e, DS_REAPER_EXITED, 0, "services");
	scene_batch(r);
	scene_workers(r);
	scene_race(r);
	scene_waits(r);
	scene_lockgraph(lockgraph, r);
	scene_unmodified(r);
	ds_reaper_destroy(r);
	if (surprises)
		printf("\n%d scene%s did not end as the story says.\n",
		       surprises, surprises == 1 ? "" : "s");
	return surprises ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *scene = argc > 1 ? argv[1] : "";

	if (strcmp(scene, "naive-bank") == 0)
		return demo_naive_bank();
	if (strcmp(scene, "ledger-bank") == 0)
		return demo_ledger_bank();
	if (strcmp(scene, "services") == 0)
		return demo_services();
	if (strcmp(scene, "worker-a") == 0)
		return demo_worker("registry", "journal");
	if (strcmp(scene, "worker-b") == 0)
		return demo_worker("journal", "registry");
	if (strcmp(scene, "stats-racy") == 0)
		return demo_stats("racy");
	if (strcmp(scene, "stats-fixed") == 0)
		return demo_stats("fixed");
	if (strcmp(scene, "flusher") == 0)
		return demo_flusher();
	if (strcmp(scene, "hang") == 0)
		return demo_hang();
	return narrate(argc > 1 ? argv[1] : NULL);
}
