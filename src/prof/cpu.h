/* The CPU profiler: SIGPROF at a fixed rate of process CPU time
 * (setitimer ITIMER_PROF), each signal recording the interrupted thread's
 * stack into a buffer allocated before sampling starts.  One profile at a
 * time per process: the signal disposition is process-wide state. */
#ifndef LINKD_PROF_CPU_H
#define LINKD_PROF_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "pprof.h"

/* Starts sampling at hz (1..1000) with room for max_samples samples;
 * later ones are counted as dropped.  -EBUSY if a profile is running. */
int lk__cpu_profile_start(unsigned hz, size_t max_samples, lk_err *err);

/* Stops sampling and returns the samples as a profile (sample types
 * samples/count and cpu/nanoseconds, period cpu/nanoseconds), or NULL if
 * no profile was running.  The caller owns the profile.  *ret_dropped gets
 * the samples that did not fit (may be NULL). */
lk_pprof *lk__cpu_profile_stop(uint64_t *ret_dropped);

#endif
