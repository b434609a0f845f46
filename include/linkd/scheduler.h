/* The Scheduler: fires cron jobs at the times their schedules give
 * (include/linkd/cron.h), on one timer thread for all jobs, which sleeps
 * until the earliest job of a min-heap is due.
 *
 * Fire times come from the schedule alone: the next one is lk_cron_next of
 * the previous scheduled time (of now, when the job is added), never the
 * previous one plus an interval, so a job does not drift however late the
 * thread wakes.  When the thread wakes after several of a job's times
 * have passed (a suspended machine, a stalled process), it fires the job
 * once, for the latest of them, and carries on from there - robfig/cron
 * too fires once and reschedules from now - rather than firing a burst.
 * Daylight-saving gaps and overlaps are lk_cron's business.
 *
 * A job whose max_concurrent_runs fired runs have not yet been reported
 * done (lk_scheduler_run_done) is skipped at its time; skips are counted
 * per job (scheduler_runs_skipped_total).
 *
 * One-time jobs ("@at <time>") fire once when their time has passed,
 * also if it passed while the node was down (at the next start).  The
 * firing is recorded before the job fires (in cron_fired, in a
 * transaction of its own, when there is a store; in memory otherwise), so
 * it never fires twice.  When recording fails for another reason than an
 * earlier record, the firing is retried every 5 seconds, and the
 * health report says why.
 *
 * The service is named "Scheduler".  Its health report has one entry,
 * "Scheduler": failing when not started, or when recording an @at firing
 * failed the last time it was tried. */
#ifndef LINKD_SCHEDULER_H
#define LINKD_SCHEDULER_H

#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/err.h"
#include "linkd/log.h"
#include "linkd/service.h"
#include "linkd/store.h"
#include "linkd/time.h"

#define LK_SCHEDULER_NAME "Scheduler"

typedef struct lk_scheduler lk_scheduler;

/* A realtime clock, in microseconds since the Unix epoch. */
typedef lk_usec (*lk_scheduler_clock_fn)(void *arg);

typedef struct lk_scheduler_options {
        lk_log *log;                 /* borrowed; may be NULL */
        lk_scheduler_clock_fn now;   /* NULL: lk_now_realtime */
        void *now_arg;
        lk_store *store;             /* borrowed; may be NULL: @at firings are kept in memory */
} lk_scheduler_options;

/* Called on the timer thread when job_id is due, with the Unix second it
 * was scheduled for.  Must not block: hand the run over (to the pipeline
 * runner, which is asynchronous) and return.  It may call
 * lk_scheduler_run_done and lk_scheduler_remove (even for its own job). */
typedef void (*lk_scheduler_fire_fn)(void *arg, int64_t job_id, int64_t scheduled);

int lk_scheduler_new(const lk_scheduler_options *options, lk_scheduler **ret_scheduler, lk_err *err);
/* Close the service first.  Accepts NULL; returns NULL. */
lk_scheduler *lk_scheduler_free(lk_scheduler *scheduler);
lk_service *lk_scheduler_service(lk_scheduler *scheduler);

/* Schedules job_id by schedule (parsed here), before or after the service
 * starts.  max_concurrent_runs 0 means unlimited, as in Chainlink.
 * Errors: the schedule's parse error (-EINVAL), a job_id already
 * scheduled (-EEXIST). */
int lk_scheduler_add(lk_scheduler *scheduler, int64_t job_id, const char *schedule, unsigned max_concurrent_runs,
                     lk_scheduler_fire_fn fire, void *arg, lk_err *err);

/* Unschedules job_id (nothing if it is not scheduled).  Once it returns,
 * fire is not running for the job and will not be called again - except
 * when called from the job's own fire callback, which is then simply not
 * called again. */
void lk_scheduler_remove(lk_scheduler *scheduler, int64_t job_id);

/* A run that fire started has finished (for max_concurrent_runs).  Extra
 * calls, and calls for jobs no longer scheduled, are ignored. */
void lk_scheduler_run_done(lk_scheduler *scheduler, int64_t job_id);

/* Prometheus text: scheduler_runs_fired_total and
 * scheduler_runs_skipped_total, labelled job_id. */
void lk_scheduler_metrics(lk_scheduler *scheduler, lk_buf *out);

/* For tests with a fake clock: wakes the timer thread and waits until it
 * has fired everything due at the clock's current time.  Returns at once
 * when the thread is not running.  Not from a fire callback. */
void lk__scheduler_poke(lk_scheduler *scheduler);

#endif
