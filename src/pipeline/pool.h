/* A fixed pool of worker threads with one FIFO of jobs, and a timer thread
 * that hands jobs to the pool when they fall due (retry backoffs, the
 * reaper).  Jobs are intrusive (embedded in the caller's structures), so
 * submitting never allocates and never fails. */
#ifndef LINKD_PIPELINE_POOL_H
#define LINKD_PIPELINE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/time.h"

typedef struct lk_job lk_job;
typedef void (*lk_job_fn)(lk_job *job);

struct lk_job {
        lk_job *next;   /* the pool's */
        lk_job_fn run;
        lk_usec due;    /* the timer's */
        size_t heap_slot; /* the timer's; SIZE_MAX when not scheduled */
};

static inline void lk_job_init(lk_job *job, lk_job_fn run) {
        job->next = NULL;
        job->run = run;
        job->due = 0;
        job->heap_slot = SIZE_MAX;
}

typedef struct lk_pool lk_pool;

/* threads 0: one per online CPU. */
int lk_pool_new(unsigned threads, const char *name, lk_pool **ret_pool, lk_err *err);
/* Runs every queued job, then joins the threads.  Accepts NULL. */
lk_pool *lk_pool_free(lk_pool *pool);
/* job must stay valid until it has run. */
void lk_pool_submit(lk_pool *pool, lk_job *job);
unsigned lk_pool_threads(const lk_pool *pool);
/* Whether the calling thread is one of pool's workers. */
bool lk_pool_is_worker(const lk_pool *pool);

/* Timers: job is submitted to pool at the monotonic instant due.  A job
 * is scheduled at most once at a time. */
typedef struct lk_timers lk_timers;
int lk_timers_new(lk_pool *pool, lk_timers **ret_timers, lk_err *err);
/* Drops the jobs not yet due (they never run).  Accepts NULL. */
lk_timers *lk_timers_free(lk_timers *timers);
void lk_timers_add(lk_timers *timers, lk_job *job, lk_usec due);
/* Whether job was still waiting (it will not run now). */
bool lk_timers_cancel(lk_timers *timers, lk_job *job);

#endif
