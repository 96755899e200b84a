/*
 * guard.c: the flag of a thread inside the preload (preload.h).
 */
#define _GNU_SOURCE
#include "preload.h"

_Thread_local bool lc__pre_busy __attribute__((tls_model("initial-exec")));
