/*
 * The whole library in a LOCKCHECK=0 build: the lock wrappers are inline
 * pthread calls in the header, so all that remains is the link-mode marker
 * and the thread-naming call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "lockcheck/lockcheck.h"

/* Referenced by every object built with LOCKCHECK=0 (see lockcheck.h). */
const int lc_built_with_LOCKCHECK_0 = 0;

int lc_thread_set_name(const char *name)
{
	char shortname[16];

	if (!name)
		return EINVAL;
	strncpy(shortname, name, sizeof(shortname) - 1);
	shortname[sizeof(shortname) - 1] = '\0';
	return pthread_setname_np(pthread_self(), shortname);
}
