/* A run in memory, shared by the runner (runner.c), its persistence
 * (orm.c) and the result accessors (run.c).  Internal. */
#ifndef LINKD_PIPELINE_RUN_H
#define LINKD_PIPELINE_RUN_H

#include <pthread.h>
#include <stdatomic.h>

#include "linkd/pipeline.h"
#include "pool.h"
#include "spec.h"
#include "task.h"

typedef enum task_status {
        TASK_WAITING,   /* parents still running */
        TASK_QUEUED,    /* in the pool's queue or waiting out a backoff */
        TASK_RUNNING,
        TASK_PENDING,   /* an async bridge answered "pending" */
        TASK_DONE,
        TASK_SKIPPED,   /* never ran: the run was aborted (failEarly) */
} task_status;

struct lk_task_attempt {
        atomic_int refs;        /* the task's start call and its lk_task_finish */
        struct lk__task_run *task;
        struct lk_run *run;     /* a reference, for asynchronous attempts */
        lk_task_call call;
        lk_task_input *inputs;
        lk_value *vars;
        uint64_t http_id;
};

typedef struct lk__task_run {
        struct lk_run *run;
        int id;                 /* the graph's task id */
        lk_job job;             /* queue and timer linkage */
        task_status status;
        int waiting_parents;
        unsigned attempts;
        bool in_retry_timer;
        lk_value *output;       /* owned; NULL when failed or unfinished */
        char *error;            /* owned; NULL unless failed */
        bool resumed;           /* a pending task given its result by resume */
        bool stored;            /* its result is already in the database */
        lk_usec created_at, finished_at; /* realtime */
        lk_usec started_mono;   /* for the execution-time metric */
        char uuid[37];
        lk_task_attempt *attempt; /* while an async attempt is in flight */
} lk__task_run;

struct lk_run {
        atomic_int refs;
        struct lk_runner *runner;
        lk_pipeline_spec *spec;
        pthread_mutex_t lock;
        lk_value *inputs;        /* the initial vars */
        lk__task_run *tasks;     /* by task id */
        size_t task_count;
        int in_flight;           /* queued, running or waiting for a retry */
        bool exiting;            /* a failEarly task failed, or the runner is shutting down */
        bool abandoned;          /* shutdown: store nothing of it */
        bool cancelled;          /* lk_runner_cancel: tasks not started fail */
        lk_usec deadline;        /* MaxRunDuration, monotonic */
        lk_run_state state;
        int64_t id;              /* pipeline_runs.id, 0 until stored */
        bool inserted;           /* the run row exists (pre-inserted or suspended before) */
        bool save_task_runs;
        bool pre_insert;
        lk_usec created_at, finished_at; /* realtime */
        lk_value *outputs, *fatal_errors, *all_errors;
        lk_err store_err;
        lk_run_done_fn done;
        void *done_arg;
        struct lk_run *next_live, *prev_live; /* the runner's list of runs in memory */
        struct lk_run *next_write;            /* the writer's queue */
};

/* Builds outputs, fatal_errors, all_errors and the final state from the
 * tasks' results (run.c). */
void lk__run_finalize(lk_run *run);
lk_run *lk__run_new(struct lk_runner *runner, lk_pipeline_spec *spec, const lk_value *inputs);

#endif
