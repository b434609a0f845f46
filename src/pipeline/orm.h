/* The runner's SQL (internal): Chainlink's pipeline ORM over lk_store. */
#ifndef LINKD_PIPELINE_ORM_H
#define LINKD_PIPELINE_ORM_H

#include "run.h"

/* Inserts the run row (state running, the initial vars); sets run->id. */
/* in_insert (may be NULL) runs inside the same transaction. */
int lk__orm_insert_run(lk_store *store, lk_run *run, int (*in_insert)(lk_db *, void *, int64_t, lk_err *),
                       void *in_insert_arg, lk_err *err);

/* Stores finished runs that have no row yet, in one transaction: their run
 * rows with multi-row INSERTs, then the task runs of those that errored or
 * asked for them.  Sets each run's id. */
int lk__orm_insert_finished(lk_store *store, lk_run *const *runs, size_t count, lk_err *err);

/* A run that already has its row: updates it (state, outputs, errors,
 * finished_at) and upserts every task run with a result or pending. */
int lk__orm_update_run(lk_store *store, lk_run *run, lk_err *err);

/* Suspends run: locks its row, reads back its task runs and, when a task
 * that is pending here has meanwhile been given a result (a resume that
 * raced this pass), adopts the result and sets *ret_restart instead of
 * suspending.  Otherwise stores the task runs and the state. */
int lk__orm_suspend_run(lk_store *store, lk_run *run, bool *ret_restart, lk_err *err);

/* Upserts one task run's row (a resume that reached a run in memory). */
int lk__orm_store_task_run(lk_store *store, const lk_run *run, const lk__task_run *task, lk_err *err);

int lk__orm_delete_run(lk_store *store, int64_t run_id, lk_err *err);

/* Resume, the database side: gives the pending task run its result (JSON
 * text of the value, or the error) and flips its run from suspended to
 * running.  *ret_run_id: the run.  -ENOENT when there is no such pending
 * task run in a running or suspended run. */
int lk__orm_resume(lk_store *store, const char *task_run_id, const char *value_json, const char *error,
                   int64_t *ret_run_id, lk_err *err);

/* A stored run, to execute it again. */
typedef struct lk__stored_run {
        int64_t id;
        int64_t spec_id;
        char *source;
        lk_usec max_task_duration;
        bool gas_limit_set; /* its job's gasLimit */
        uint32_t gas_limit;
        lk_value *inputs;
        lk_usec created_at;
        struct lk__stored_task {
                char id[37];
                char *dot_id;
                lk_value *output;  /* NULL when none */
                char *error;       /* NULL when none */
                bool finished;
        } *tasks;
        size_t task_count;
} lk__stored_run;

int lk__orm_load_run(lk_store *store, int64_t run_id, lk__stored_run *ret, lk_err *err);
void lk__stored_run_done(lk__stored_run *stored);

/* Ids of runs left running that were created before before (realtime). */
int lk__orm_unfinished_runs(lk_store *store, lk_usec before, int64_t **ret_ids, size_t *ret_count, lk_err *err);

/* Deletes the spec's completed runs beyond the newest keep. */
int lk__orm_prune(lk_store *store, int64_t spec_id, int64_t keep, int64_t *ret_deleted, lk_err *err);

/* Deletes runs finished before before (realtime), in batches. */
int lk__orm_reap(lk_store *store, lk_usec before, int64_t *ret_deleted, lk_err *err);

#endif
