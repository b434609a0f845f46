/* Every thread's stack at one moment, like Go's goroutine profile: each
 * thread is sent a signal whose handler records its own stack. */
#ifndef LINKD_PROF_THREADS_H
#define LINKD_PROF_THREADS_H

#include "linkd/err.h"
#include "linkd/time.h"
#include "pprof.h"

/* A profile with one sample per thread (sample type threads/count),
 * labelled thread=<name> and tid=<id>.  Threads that do not answer within
 * timeout (they block the signal) are listed in a comment.  One snapshot
 * at a time per process; -EBUSY otherwise. */
int lk__thread_stacks(lk_usec timeout, lk_pprof **ret_profile, lk_err *err);

#endif
