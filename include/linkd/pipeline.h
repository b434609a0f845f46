/* The pipeline engine: Chainlink's DOT observationSource pipelines, parsed
 * once into a spec and executed by the runner (Chainlink's JobRunner).
 *
 * A run executes every task as soon as its parents have finished, on a
 * bounded pool of worker threads; http and bridge tasks wait on the
 * HTTP client's own thread, so a slow endpoint holds no worker.  A run
 * ends completed (no terminal task failed), errored, or suspended (an
 * async bridge is still to answer through PATCH /v2/resume/:taskRunID).
 *
 * With a store, runs are persisted as Chainlink persists them: a
 * synchronous run once, finished, in one transaction (batched with other
 * runs finishing at the same moment); a run with an async bridge (or one
 * the caller asks to pre-insert) before it executes, so that a crash
 * cannot lose it: the runner re-runs runs left "running" when it starts,
 * reusing the task results already stored. */
#ifndef LINKD_PIPELINE_H
#define LINKD_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/config.h"
#include "linkd/err.h"
#include "linkd/log.h"
#include "linkd/service.h"
#include "linkd/store.h"
#include "linkd/time.h"
#include "linkd/value.h"

#define LK_RUNNER_NAME "PipelineRunner"

/* ---- specs ---- */

typedef struct lk_pipeline_spec lk_pipeline_spec;

typedef struct lk_pipeline_spec_options {
        const char *source;          /* the DOT observationSource */
        size_t source_len;           /* SIZE_MAX: strlen */
        int64_t id;                  /* pipeline_specs.id; 0 when not stored */
        lk_usec max_task_duration;   /* the job's maxTaskDuration; 0 = none */
        int64_t job_id;              /* for metrics labels; 0 = none */
        const char *job_name;        /* may be NULL */
        bool gas_limit_set;          /* the job has a gasLimit: */
        uint32_t gas_limit;          /* the EVM tasks' gas limit before the chain's LimitDefault */
} lk_pipeline_spec_options;

/* Parses and validates the pipeline: DOT syntax, the reserved name
 * "input", cycles, every task's type and base attributes (index, timeout,
 * retries, minBackoff, maxBackoff, failEarly).  Errors name the task and
 * the line.  The caller owns a reference. */
int lk_pipeline_spec_new(const lk_pipeline_spec_options *options, lk_pipeline_spec **ret_spec, lk_err *err);
lk_pipeline_spec *lk_pipeline_spec_ref(lk_pipeline_spec *spec);
/* Accepts NULL; returns NULL. */
lk_pipeline_spec *lk_pipeline_spec_unref(lk_pipeline_spec *spec);
size_t lk_pipeline_spec_task_count(const lk_pipeline_spec *spec);
/* Whether a bridge task of the pipeline names bridge (case-insensitive,
 * as bridge names are). */
bool lk_pipeline_spec_uses_bridge(const lk_pipeline_spec *spec, const char *bridge);
/* Whether the pipeline has a task that can suspend the run (an async
 * bridge): such runs are stored before they execute. */
bool lk_pipeline_spec_has_async(const lk_pipeline_spec *spec);

/* The same inside the caller's transaction (a job is stored with its
 * pipeline spec in one). */
int lk_pipeline_spec_insert(lk_db *db, const char *source, lk_usec max_task_duration, int64_t *ret_id,
                            lk_err *err);

/* Stores the spec's source in pipeline_specs; sets *ret_id. */
int lk_pipeline_spec_store(lk_store *store, const char *source, lk_usec max_task_duration, int64_t *ret_id,
                           lk_err *err);

/* ---- runs ---- */

typedef enum lk_run_state {
        LK_RUN_RUNNING,
        LK_RUN_SUSPENDED,
        LK_RUN_ERRORED,
        LK_RUN_COMPLETED,
} lk_run_state;

/* "running", "suspended", "errored", "completed". */
const char *lk_run_state_name(lk_run_state state);

typedef struct lk_run lk_run;

typedef struct lk_task_run_info {
        const char *id;        /* UUID */
        const char *dot_id;
        const char *type;
        int32_t index;
        const lk_value *output; /* NULL when it failed or has not finished */
        const char *error;      /* NULL unless it failed */
        lk_usec created_at, finished_at; /* realtime; finished_at 0 while pending */
} lk_task_run_info;

lk_run *lk_run_ref(lk_run *run);
lk_run *lk_run_unref(lk_run *run);
lk_run_state lk_run_state_of(const lk_run *run);
/* pipeline_runs.id; 0 when the run was not stored. */
int64_t lk_run_id(const lk_run *run);
/* Arrays in the order of the terminal tasks' index: their values (null
 * where failed) and their errors (null where fine); all_errors has one
 * entry per task.  Borrowed. */
const lk_value *lk_run_outputs(const lk_run *run);
const lk_value *lk_run_fatal_errors(const lk_run *run);
const lk_value *lk_run_all_errors(const lk_run *run);
size_t lk_run_task_run_count(const lk_run *run);
/* Task runs in (index, topological) order. */
void lk_run_task_run(const lk_run *run, size_t i, lk_task_run_info *ret_info);
/* When storing the finished run failed, why (the run is still reported). */
const lk_err *lk_run_store_error(const lk_run *run);
/* One JSON object: {"state","outputs","fatalErrors","allErrors",
 * "taskRuns":[{"dotId","type","output","error"}]}, values as Chainlink
 * stores them (decimals as strings, bytes as 0x hex). */
void lk_run_to_json(const lk_run *run, lk_buf *out);

/* ---- the runner ---- */

typedef struct lk_runner lk_runner;

typedef struct lk_chain lk_chain;
typedef struct lk_point lk_point;
typedef struct lk_scalar lk_scalar;

/* What the EVM tasks (ethcall, ethtx, estimategaslimit, ethgetblock, vrf,
 * vrfv2) borrow from the node: its chains and its VRF keys.  The node
 * fills it in; without it those tasks fail, saying no chain is
 * configured.  Both functions are called from the runner's threads. */
typedef struct lk_pipeline_evm {
        /* The chain whose id is the decimal chain_id, or the node's first
         * chain when chain_id is NULL or empty; NULL when there is none.
         * The chain is borrowed: it outlives the runner's runs. */
        lk_chain *(*chain)(void *arg, const char *chain_id);
        /* The secret of the keystore's VRF key whose public key is
         * public_key, in *ret_secret (the caller wipes it); -ENOENT when
         * the keystore has no such key. */
        int (*vrf_secret)(void *arg, const lk_point *public_key, lk_scalar *ret_secret, lk_err *err);
        void *arg;
} lk_pipeline_evm;

typedef struct lk_runner_options {
        const lk_config *config; /* borrowed: [JobPipeline], [WebServer] Bridge* */
        lk_store *store;         /* borrowed; NULL: runs are not persisted */
        const lk_pipeline_evm *evm; /* copied; NULL: no chains (the EVM tasks fail) */
        lk_log *log;             /* borrowed; may be NULL */
        unsigned workers;        /* 0: one per online CPU */
        /* Addresses the http task's restricted requests also refuse (the
         * database host's); may be NULL. */
        const char *const *blocked_addresses;
        size_t blocked_address_count;
        /* curl --resolve entries, for tests that need a DNS name. */
        const char *const *http_resolve;
        size_t http_resolve_count;
} lk_runner_options;

int lk_runner_new(const lk_runner_options *options, lk_runner **ret_runner, lk_err *err);
/* Close the service first.  Accepts NULL; returns NULL. */
lk_runner *lk_runner_free(lk_runner *runner);
/* The runner as a service named LK_RUNNER_NAME.  Start starts the
 * workers, then re-runs runs left running by a crash and schedules the
 * reaper; Close stops taking runs, waits for those in flight (their HTTP
 * requests cancelled after [ShutdownGracePeriod]) and stores them. */
lk_service *lk_runner_service(lk_runner *runner);

/* Called once per run: when it has finished (and been stored, if there is
 * a store) or suspended.  run is borrowed for the call (lk_run_ref to
 * keep it).  Runs on a runner thread: hand the result over, do not block. */
typedef void (*lk_run_done_fn)(void *arg, lk_run *run);

typedef struct lk_run_request {
        lk_pipeline_spec *spec;  /* a reference is taken */
        const lk_value *vars;    /* the initial vars (a map: jobSpec, jobRun, ...); NULL = {}; a reference is taken */
        bool save_task_runs;     /* store the task runs of successful runs too */
        bool pre_insert;         /* store the run before it executes */
        /* With pre_insert (and a store): called inside the transaction that
         * stores the run, with the run's id, so that what started the run
         * (a log consumed) is recorded with it or not at all.  An error
         * stores nothing and is lk_runner_start's. */
        int (*in_insert)(lk_db *db, void *arg, int64_t run_id, lk_err *err);
        void *in_insert_arg;
        lk_run_done_fn done;     /* may be NULL */
        void *done_arg;
} lk_run_request;

/* Starts a run and returns at once.  -ESHUTDOWN once the runner is
 * closing, or the error of pre-inserting the run. */
int lk_runner_start(lk_runner *runner, const lk_run_request *request, lk_err *err);
/* Starts a run and waits for it (done and done_arg are ignored).  The
 * caller owns *ret_run. */
int lk_runner_run(lk_runner *runner, const lk_run_request *request, lk_run **ret_run, lk_err *err);

/* PATCH /v2/resume/:taskRunID: gives a suspended (pending) task its result,
 * exactly one of value and error, and resumes the run.  The task's output
 * becomes the JSON text of value, as Chainlink keeps the bridge's raw
 * JSON.  The result is in the database before this returns.  -ENOENT when
 * no pending task run has that id; -EAGAIN when the task run is still
 * executing (it may be about to suspend: ask again). */
int lk_runner_resume(lk_runner *runner, const char *task_run_id, const lk_value *value, const char *error,
                     lk_err *err);

/* Cancels a run still in memory, as Chainlink cancels a run's context:
 * tasks not yet started fail with "context canceled", HTTP requests in
 * flight are cancelled, and the run ends errored and is stored.  -ENOENT
 * when no run of that id is in memory (finished, or suspended and
 * stored). */
int lk_runner_cancel(lk_runner *runner, int64_t run_id, lk_err *err);
/* Runs the reaper once now: deletes runs finished before now - threshold.
 * *ret_deleted: how many. */
int lk_runner_reap(lk_runner *runner, lk_usec threshold, int64_t *ret_deleted, lk_err *err);

/* Prometheus text for the runner's metrics. */
void lk_runner_metrics(lk_runner *runner, lk_buf *out);

#endif
