/* The job spawner (the service "JobSpawner"): creates, starts, runs and
 * deletes jobs.
 *
 * At start it loads every stored job and starts its services: a cron job
 * is scheduled, a webhook job waits for runs, a directrequest job listens
 * for requests on its chain (lk_directrequest), a vrf job for its key's
 * requests (lk_vrf_listener).  A job whose services cannot
 * start stays stored, and the reason goes to job_spec_errors.  Creating a
 * job stores it (job, pipeline spec, type spec in one transaction) and
 * then starts it; deleting stops it first, then removes it, so no job is
 * left running after its delete and none starts twice. */
#ifndef LINKD_SPAWNER_H
#define LINKD_SPAWNER_H

#include "linkd/job.h"
#include "linkd/jobs.h"
#include "linkd/log.h"
#include "linkd/pipeline.h"
#include "linkd/scheduler.h"
#include "linkd/service.h"
#include "linkd/store.h"

#define LK_SPAWNER_NAME "JobSpawner"

typedef struct lk_spawner lk_spawner;

typedef struct lk_spawner_options {
        lk_store *store;         /* borrowed */
        lk_runner *runner;       /* borrowed; started before the spawner */
        lk_scheduler *scheduler; /* borrowed */
        lk_log *log;             /* borrowed; may be NULL */
        const lk_pipeline_evm *evm; /* copied; the chains directrequest jobs listen on; may be NULL */
        /* Called once the stored jobs are started (their subscriptions
         * made), at every start; may be NULL. */
        void (*jobs_started)(void *arg);
        void *jobs_started_arg;
} lk_spawner_options;

int lk_spawner_new(const lk_spawner_options *options, lk_spawner **ret_spawner, lk_err *err);
/* Close the service first.  Accepts NULL; returns NULL. */
lk_spawner *lk_spawner_free(lk_spawner *spawner);
lk_service *lk_spawner_service(lk_spawner *spawner);

/* Validates toml (len bytes) as a job spec, stores it and starts it.  On
 * -EINVAL every problem is in *ret_errors (initialised by the caller, who
 * frees it); -EEXIST for a taken externalJobID.  A job that is stored but
 * whose services fail to start is still created (its error recorded). */
int lk_spawner_create(lk_spawner *spawner, const char *toml, size_t len, int64_t *ret_job_id,
                      lk_job_errors *ret_errors, lk_err *err);
/* Stops the job, then deletes it with its runs.  -ENOENT. */
int lk_spawner_delete(lk_spawner *spawner, int64_t job_id, lk_err *err);

/* Starts webhook job job_id once with request_body as jobRun.requestBody
 * and meta (may be NULL) as jobRun.meta, without waiting: done(done_arg,
 * run) is called once when the run has finished and been stored (or has
 * suspended), on a runner thread; on an error return it is not called.
 * -ENOENT for no such job, -EINVAL for one that is not a webhook job. */
int lk_spawner_start_webhook(lk_spawner *spawner, int64_t job_id, const char *request_body, size_t body_len,
                             const lk_value *meta, lk_run_done_fn done, void *done_arg, lk_err *err);
/* Whether the webhook job lists the external initiator name. */
bool lk_spawner_initiator_allowed(lk_spawner *spawner, int64_t job_id, const char *name);

/* The schedule of a running cron job (a copy to lk_free), or NULL. */
char *lk_spawner_schedule(lk_spawner *spawner, int64_t job_id);

/* Validates a cron schedule as a job spec does (lk_cron_parse). */
int lk_spawner_validate_schedule(const char *schedule, lk_err *err);

#endif
