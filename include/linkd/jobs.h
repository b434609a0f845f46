/* Stored jobs: a job row, its pipeline spec and its errors
 * (job_spec_errors), over lk_store.  The spawner (include/linkd/spawner.h)
 * is the one writer; the API reads. */
#ifndef LINKD_JOBS_H
#define LINKD_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/job.h"
#include "linkd/store.h"

/* A stored job as the API shows it. */
typedef struct lk_job_row {
        int64_t id;
        char external_job_id[37];
        char *name;               /* owned; NULL when the spec had none */
        char type[16];            /* "cron", "webhook", ... */
        int64_t schema_version;
        int64_t pipeline_spec_id;
        char *toml;               /* owned: the spec as submitted */
        char *observation_source; /* owned */
        lk_usec max_task_duration;
        lk_usec created_at;       /* realtime */
        int64_t error_count;      /* undismissed job_spec_errors */
} lk_job_row;

/* Frees what row owns. */
void lk_job_row_done(lk_job_row *row);
/* Frees count rows and the array.  Accepts NULL. */
void lk_job_rows_free(lk_job_row *rows, size_t count);

/* Stores spec (with the TOML it came from) and its pipeline spec in one
 * transaction.  -EEXIST "a job with externalJobID ... already exists". */
int lk_jobs_insert(lk_store *store, const lk_job_spec *spec, const char *toml, int64_t *ret_job_id,
                   int64_t *ret_pipeline_spec_id, lk_err *err);
/* Jobs by id, oldest first: offset and limit page them (limit 0: all);
 * *ret_total is the number of jobs. */
int lk_jobs_list(lk_store *store, int64_t offset, int64_t limit, lk_job_row **ret_rows, size_t *ret_count,
                 int64_t *ret_total, lk_err *err);
/* -ENOENT "job N not found". */
int lk_jobs_get(lk_store *store, int64_t id, lk_job_row *ret_row, lk_err *err);
/* The job with that externalJobID (any case).  -ENOENT. */
int lk_jobs_find_external(lk_store *store, const char *external_job_id, int64_t *ret_id, lk_err *err);
/* Deletes the job, its pipeline spec, runs and errors.  -ENOENT. */
int lk_jobs_delete(lk_store *store, int64_t id, lk_err *err);

/* The ids of the jobs whose pipelines have a bridge task naming bridge,
 * in *ret_ids (lk_free it), as Chainlink checks before deleting a bridge. */
int lk_jobs_using_bridge(lk_store *store, const char *bridge, int64_t **ret_ids, size_t *ret_count, lk_err *err);

/* ---- job_spec_errors ---- */

/* Records description for the job, or counts one more occurrence of it. */
int lk_job_error_record(lk_store *store, int64_t job_id, const char *description, lk_err *err);

typedef void (*lk_job_error_fn)(void *arg, int64_t id, const char *description, int64_t occurrences,
                                lk_usec created_at, lk_usec updated_at);
/* Calls fn for the job's errors, oldest first. */
int lk_job_error_list(lk_store *store, int64_t job_id, lk_job_error_fn fn, void *arg, lk_err *err);
/* Dismisses (deletes) one error.  -ENOENT. */
int lk_job_error_dismiss(lk_store *store, int64_t error_id, lk_err *err);

#endif
