/* The Nurse, after core/services/nurse.go: a service that polls the
 * node's vitals and, when one is unwell, gathers profiles to disk so that
 * an operator can find a leak or a stall after the fact.
 *
 * Every PollInterval the checks run in the order they were added (first
 * the built-in "mem": resident memory or linkd's heap >= MemThreshold,
 * and "threads": threads >= GoroutineThreshold); the first unwell one
 * asks for a gathering.  Requests queue in one slot; extra ones are
 * dropped and counted; one gathering runs at a time.  A gathering writes,
 * under ProfileRoot, files sharing one microsecond timestamp:
 *
 *   <ts>.cpu.pprof      SIGPROF samples of all threads for GatherDuration
 *   <ts>.heap.pprof     sampled allocations by stack, delta over GatherDuration
 *   <ts>.threads.pprof  every thread's stack when the gathering began
 *   <ts>.vitals.json    RSS, heap, threads, fds, load, the reason and meta
 *
 * and appends an entry to nurse.log.  Profiles are gzip'd profile.proto,
 * symbolized, for `go tool pprof`.  MaxProfileSize bounds all of them:
 * the oldest gatherings are deleted to make room. */
#ifndef LINKD_NURSE_H
#define LINKD_NURSE_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/config.h"
#include "linkd/log.h"
#include "linkd/service.h"

#define LK_NURSE_NAME "Nurse"

/* Key/value details of why a gathering was asked for (Go's Meta). */
typedef struct lk_meta_entry {
        char *key;
        char *value;
} lk_meta_entry;

typedef struct lk_meta {
        lk_meta_entry *entries;
        size_t len, cap;
} lk_meta;

#define LK_META_INIT {NULL, 0, 0}

void lk_meta_addf(lk_meta *meta, const char *key, const char *fmt, ...) LK_PRINTF(3, 4);
void lk_meta_done(lk_meta *meta);

/* A check: returns true when unwell, describing why in meta. */
typedef bool (*lk_nurse_check_fn)(void *arg, lk_meta *meta);

typedef struct lk_nurse lk_nurse;

typedef struct lk_nurse_options {
        const lk_config *config; /* borrowed: [AutoPprof]; must outlive the Nurse */
        lk_log *log;             /* borrowed; may be NULL */
} lk_nurse_options;

typedef struct lk_nurse_stats {
        uint64_t gatherings; /* completed */
        uint64_t dropped;    /* requests that found the queue full */
        uint64_t failures;   /* gatherings that could not write a profile */
        uint64_t removed;    /* old gatherings deleted to respect MaxProfileSize */
} lk_nurse_stats;

lk_nurse *lk_nurse_new(const lk_nurse_options *options);
/* Accepts NULL; returns NULL.  Close it first. */
lk_nurse *lk_nurse_free(lk_nurse *nurse);

/* The Nurse as a service named LK_NURSE_NAME; owned by the Nurse.  Its
 * health fails while the last gathering could not write its profiles. */
lk_service *lk_nurse_service(lk_nurse *nurse);

/* Adds (or replaces, for the same reason) a check.  fn must be fast and
 * thread-safe; arg is borrowed. */
void lk_nurse_add_check(lk_nurse *nurse, const char *reason, lk_nurse_check_fn fn, void *arg);

/* Asks for a gathering (meta copied; may be NULL).  Returns false when the
 * one-slot queue is full (the request is dropped and counted) or the Nurse
 * is not running. */
bool lk_nurse_gather_vitals(lk_nurse *nurse, const char *reason, const lk_meta *meta);

void lk_nurse_stats_get(lk_nurse *nurse, lk_nurse_stats *ret_stats);

/* One poll: runs the checks now, as the poll loop does.  Exposed for
 * tests and bench/nurse. */
void lk__nurse_run_checks(lk_nurse *nurse);

/* How many of the oldest gatherings (sizes given oldest first) must go so
 * that other_bytes + the rest + incoming <= max; *ret_fits tells whether
 * even deleting them all is enough.  Exposed for tests. */
size_t lk__nurse_plan_cap(const uint64_t *gathering_sizes, size_t count, uint64_t other_bytes, uint64_t incoming,
                          uint64_t max, bool *ret_fits);

#endif
