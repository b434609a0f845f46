/* The heap profiler: samples lk_malloc allocations (on average one per
 * `rate` bytes, through lk_alloc_set_sampler) and keeps, per call stack,
 * how many sampled allocations and bytes were made and freed.  Profiles
 * are deltas between two snapshots, like Chainlink's allocs/heap: what was
 * allocated during the window and how live memory changed. */
#ifndef LINKD_PROF_HEAP_H
#define LINKD_PROF_HEAP_H

#include <stdint.h>

#include "pprof.h"

/* Samples one allocation per rate bytes on average (1: every allocation;
 * 0: stop sampling).  Blocks already sampled stay accounted when freed. */
void lk__heap_profile_set_rate(uint64_t rate);

typedef struct lk_heap_snapshot lk_heap_snapshot;

/* The counters now.  The caller owns the snapshot. */
lk_heap_snapshot *lk__heap_snapshot(void);
lk_heap_snapshot *lk__heap_snapshot_free(lk_heap_snapshot *snapshot);

/* later minus earlier as a profile with sample types alloc_objects/count,
 * alloc_space/bytes, inuse_objects/count, inuse_space/bytes, scaled from
 * the sampled counts to estimates of the real ones.  The caller owns it. */
lk_pprof *lk__heap_profile_delta(const lk_heap_snapshot *earlier, const lk_heap_snapshot *later);

#endif
