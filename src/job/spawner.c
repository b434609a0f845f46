/* The job spawner (see include/linkd/spawner.h).
 *
 * Locking: spawner->lock guards the list of active jobs.  It is never
 * held while calling the scheduler (whose fire callback takes it) or the
 * runner. */
#include "linkd/spawner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/bridges.h"
#include "linkd/cron.h"
#include "linkd/directrequest.h"
#include "linkd/vrf_listener.h"

/* A started job. */
typedef struct active_job {
        lk_spawner *spawner;
        int64_t id;
        lk_job_spec *spec;          /* owned */
        lk_pipeline_spec *pipeline; /* owned reference, with its stored ids; NULL when not runnable yet */
        bool scheduled;
        lk_directrequest *directrequest; /* a directrequest job's listener */
        lk_vrf_listener *vrf;            /* a vrf job's */
} active_job;

struct lk_spawner {
        lk_service service;
        lk_once once;
        lk_store *store;
        lk_runner *runner;
        lk_scheduler *scheduler;
        lk_log *log;
        lk_pipeline_evm evm; /* chain is NULL without chains */
        void (*jobs_started)(void *arg);
        void *jobs_started_arg;
        pthread_mutex_t lock;
        active_job **jobs; /* under lock */
        size_t job_count, job_cap;
};

int lk_spawner_validate_schedule(const char *schedule, lk_err *err) {
        lk_cron *c = NULL;
        int r = lk_cron_parse(schedule, &c, err);
        lk_cron_free(c);
        return r;
}

static const lk_job_spec_parse_options parse_options = {.validate_schedule = lk_spawner_validate_schedule};

/* ---- the active list ---- */

static void active_free(active_job *job) {
        if (!job)
                return;
        lk_job_spec_free(job->spec);
        lk_pipeline_spec_unref(job->pipeline);
        lk_free(job);
}

static void add_active(lk_spawner *sp, active_job *job) {
        pthread_mutex_lock(&sp->lock);
        if (sp->job_count == sp->job_cap) {
                sp->job_cap = sp->job_cap ? 2 * sp->job_cap : 16;
                sp->jobs = lk_realloc(sp->jobs, sp->job_cap * sizeof *sp->jobs);
        }
        sp->jobs[sp->job_count++] = job;
        pthread_mutex_unlock(&sp->lock);
}

/* Takes the job out of the list; the caller owns it. */
static active_job *take_active(lk_spawner *sp, int64_t id) {
        active_job *found = NULL;
        pthread_mutex_lock(&sp->lock);
        for (size_t i = 0; i < sp->job_count && !found; i++)
                if (sp->jobs[i]->id == id) {
                        found = sp->jobs[i];
                        sp->jobs[i] = sp->jobs[--sp->job_count];
                }
        pthread_mutex_unlock(&sp->lock);
        return found;
}

/* ---- runs ---- */

/* A new reference to the job's pipeline and its jobSpec vars, or -ENOENT,
 * or -EINVAL for a job of another type. */
static int find_runnable(lk_spawner *sp, int64_t id, lk_job_type type, lk_pipeline_spec **ret_pipeline,
                         lk_value **ret_job_spec_vars, lk_err *err) {
        int r = lk_err_set(err, -ENOENT, "job does not exist");
        pthread_mutex_lock(&sp->lock);
        for (size_t i = 0; i < sp->job_count; i++) {
                active_job *job = sp->jobs[i];
                if (job->id != id)
                        continue;
                if (job->spec->type != type || !job->pipeline) {
                        r = lk_err_set(err, -EINVAL, "job %lld is a %s job, not a %s job", (long long)id,
                                       lk_job_type_name(job->spec->type), lk_job_type_name(type));
                        break;
                }
                *ret_pipeline = lk_pipeline_spec_ref(job->pipeline);
                *ret_job_spec_vars = lk_job_spec_vars(job->id, job->spec);
                r = 0;
                break;
        }
        pthread_mutex_unlock(&sp->lock);
        return r;
}

static lk_value *run_vars(lk_value *job_spec, lk_value *job_run) {
        lk_value *vars = lk_value_map();
        lk_value_map_put(vars, "jobSpec", 7, job_spec);
        lk_value_map_put(vars, "jobRun", 6, job_run);
        return vars;
}

typedef struct cron_run {
        lk_spawner *spawner;
        int64_t job_id;
} cron_run;

static void cron_run_done(void *arg, lk_run *run) {
        (void)run;
        cron_run *c = arg;
        lk_scheduler_run_done(c->spawner->scheduler, c->job_id);
        lk_free(c);
}

/* On the scheduler's thread: hands the run to the runner and returns. */
static void cron_fire(void *arg, int64_t job_id, int64_t scheduled) {
        (void)scheduled;
        active_job *job = arg;
        lk_spawner *sp = job->spawner;
        lk_value *job_run = lk_value_map();
        lk_value_map_put(job_run, "meta", 4, lk_value_map());
        lk_value *vars = run_vars(lk_job_spec_vars(job->id, job->spec), job_run);
        cron_run *c = lk_malloc(sizeof *c);
        *c = (cron_run){sp, job_id};
        lk_err err = LK_ERR_INIT;
        if (lk_runner_start(sp->runner,
                            &(lk_run_request){.spec = job->pipeline,
                                              .vars = vars,
                                              .pre_insert = lk_pipeline_spec_has_async(job->pipeline),
                                              .done = cron_run_done,
                                              .done_arg = c},
                            &err) < 0) {
                lk_log_warn(sp->log, "Cannot start a cron run", LK_INT("job_id", job_id), LK_ERROR(&err));
                cron_run_done(c, NULL);
        }
        lk_value_unref(vars);
}

/* The run request of a webhook run (pipeline and vars are new references
 * the caller lets go). */
static int webhook_request(lk_spawner *sp, int64_t job_id, const char *request_body, size_t body_len,
                           const lk_value *meta, lk_run_request *ret, lk_err *err) {
        lk_pipeline_spec *pipeline = NULL;
        lk_value *job_spec = NULL;
        int r = find_runnable(sp, job_id, LK_JOB_WEBHOOK, &pipeline, &job_spec, err);
        if (r < 0)
                return r;
        lk_value *job_run = lk_value_map();
        lk_value_map_put(job_run, "requestBody", 11, lk_value_string(request_body, body_len));
        lk_value_map_put(job_run, "meta", 4, meta ? lk_value_ref((lk_value *)meta) : lk_value_null());
        *ret = (lk_run_request){.spec = pipeline,
                                .vars = run_vars(job_spec, job_run),
                                .save_task_runs = true,
                                .pre_insert = lk_pipeline_spec_has_async(pipeline)};
        return 0;
}

static void request_done(lk_run_request *request) {
        lk_value_unref((lk_value *)request->vars);
        lk_pipeline_spec_unref(request->spec);
}

int lk_spawner_start_webhook(lk_spawner *sp, int64_t job_id, const char *request_body, size_t body_len,
                             const lk_value *meta, lk_run_done_fn done, void *done_arg, lk_err *err) {
        lk_run_request request;
        int r = webhook_request(sp, job_id, request_body, body_len, meta, &request, err);
        if (r < 0)
                return r;
        request.done = done;
        request.done_arg = done_arg;
        r = lk_runner_start(sp->runner, &request, err);
        request_done(&request);
        return r;
}

bool lk_spawner_initiator_allowed(lk_spawner *sp, int64_t job_id, const char *name) {
        bool allowed = false;
        pthread_mutex_lock(&sp->lock);
        for (size_t i = 0; i < sp->job_count; i++) {
                const lk_job_spec *spec = sp->jobs[i]->spec;
                if (sp->jobs[i]->id != job_id || spec->type != LK_JOB_WEBHOOK)
                        continue;
                for (size_t k = 0; k < spec->u.webhook.external_initiator_count; k++)
                        allowed |= strcmp(spec->u.webhook.external_initiators[k].name, name) == 0;
        }
        pthread_mutex_unlock(&sp->lock);
        return allowed;
}

char *lk_spawner_schedule(lk_spawner *sp, int64_t job_id) {
        char *schedule = NULL;
        pthread_mutex_lock(&sp->lock);
        for (size_t i = 0; i < sp->job_count && !schedule; i++)
                if (sp->jobs[i]->id == job_id && sp->jobs[i]->spec->type == LK_JOB_CRON)
                        schedule = lk_strdup(sp->jobs[i]->spec->u.cron.schedule);
        pthread_mutex_unlock(&sp->lock);
        return schedule;
}

/* ---- starting and stopping one job ---- */

static void record_error(lk_spawner *sp, int64_t job_id, const char *description) {
        lk_err err = LK_ERR_INIT;
        lk_log_error(sp->log, "Failed to start the job's services", LK_INT("job_id", job_id),
                     LK_STR("err", description));
        if (lk_job_error_record(sp->store, job_id, description, &err) < 0)
                lk_log_error(sp->log, "Cannot record the job's error", LK_INT("job_id", job_id), LK_ERROR(&err));
}

/* The pipeline again, now with the ids the runner stores runs under. */
static int stored_pipeline(const lk_job_spec *spec, int64_t job_id, int64_t pipeline_spec_id,
                           lk_pipeline_spec **ret, lk_err *err) {
        return lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = spec->observation_source,
                                                                .source_len = SIZE_MAX,
                                                                .id = pipeline_spec_id,
                                                                .max_task_duration = spec->max_task_duration,
                                                                .job_id = job_id,
                                                                .job_name = spec->name,
                                                                .gas_limit_set = spec->gas_limit_set,
                                                                .gas_limit = spec->gas_limit},
                                    ret, err);
}

/* An on-chain job's listener on its chain; a job whose chain is not
 * configured stays stored with the reason recorded. */
static void start_listener(lk_spawner *sp, active_job *job) {
        bool vrf = job->spec->type == LK_JOB_VRF;
        const char *chain_id = vrf ? job->spec->u.vrf.evm_chain_id : job->spec->u.directrequest.evm_chain_id;
        lk_chain *chain = sp->evm.chain ? sp->evm.chain(sp->evm.arg, chain_id) : NULL;
        lk_err err = LK_ERR_INIT;
        int r;
        if (!chain) {
                r = lk_err_set(&err, -ENODEV, "%s job: no EVM chain %s is configured", lk_job_type_name(job->spec->type),
                               chain_id ? chain_id : "");
        } else if (vrf) {
                lk_vrf_listener_options o = {.job_id = job->id, .spec = job->spec, .pipeline = job->pipeline,
                                             .chain = chain, .runner = sp->runner, .store = sp->store, .log = sp->log};
                r = lk_vrf_listener_start(&o, &job->vrf, &err);
        } else {
                lk_directrequest_options o = {.job_id = job->id, .spec = job->spec, .pipeline = job->pipeline,
                                              .chain = chain, .runner = sp->runner, .store = sp->store, .log = sp->log};
                r = lk_directrequest_start(&o, &job->directrequest, &err);
        }
        if (r < 0)
                record_error(sp, job->id, err.msg);
}

/* Takes spec.  The job becomes active even when a service fails (the
 * failure is recorded), so that it can be deleted and shown. */
static void start_job(lk_spawner *sp, int64_t job_id, int64_t pipeline_spec_id, lk_job_spec *spec) {
        active_job *job = lk_calloc(1, sizeof *job);
        *job = (active_job){.spawner = sp, .id = job_id, .spec = spec};
        lk_err err = LK_ERR_INIT;
        if (spec->pipeline_runnable && stored_pipeline(spec, job_id, pipeline_spec_id, &job->pipeline, &err) < 0)
                record_error(sp, job_id, err.msg);
        add_active(sp, job);
        if ((spec->type == LK_JOB_DIRECTREQUEST || spec->type == LK_JOB_VRF) && job->pipeline)
                start_listener(sp, job);
        else if (spec->type == LK_JOB_DIRECTREQUEST || spec->type == LK_JOB_VRF)
                record_error(sp, job_id, "the pipeline uses a task this version of linkd does not run");
        if (spec->type == LK_JOB_CRON && job->pipeline) {
                if (lk_scheduler_add(sp->scheduler, job_id, spec->u.cron.schedule, spec->u.cron.max_concurrent_runs,
                                     cron_fire, job, &err) < 0)
                        record_error(sp, job_id, err.msg);
                else
                        job->scheduled = true;
        }
}

static void stop_job(lk_spawner *sp, active_job *job) {
        if (job->scheduled)
                lk_scheduler_remove(sp->scheduler, job->id);
        job->directrequest = lk_directrequest_stop(job->directrequest);
        job->vrf = lk_vrf_listener_stop(job->vrf);
        active_free(job);
}

/* ---- create and delete ---- */

/* A webhook job may name only external initiators that exist, with
 * Chainlink's message for each one that does not. */
static int check_initiators(lk_spawner *sp, const lk_job_spec *spec, lk_job_errors *errors, lk_err *err) {
        if (spec->type != LK_JOB_WEBHOOK)
                return 0;
        int r = 0;
        for (size_t i = 0; i < spec->u.webhook.external_initiator_count; i++) {
                const char *name = spec->u.webhook.external_initiators[i].name;
                bool exists = false;
                lk_err why = LK_ERR_INIT;
                if (lk_external_initiator_exists(sp->store, name, &exists, &why) < 0)
                        return lk_err_set(err, why.code, "%s", why.msg);
                if (exists)
                        continue;
                char message[512];
                snprintf(message, sizeof message, "unable to find external initiator named %s: "
                         "sql: no rows in result set", name);
                if (errors)
                        lk_job_errors_add(errors, 0, message);
                if (r == 0)
                        r = lk_err_set(err, -EINVAL, "%s", message);
        }
        return r;
}

int lk_spawner_create(lk_spawner *sp, const char *toml, size_t len, int64_t *ret_job_id, lk_job_errors *ret_errors,
                      lk_err *err) {
        lk_job_spec *spec;
        int r = lk_job_spec_parse(toml, len, &parse_options, &spec, ret_errors, err);
        if (r < 0)
                return r;
        if ((r = check_initiators(sp, spec, ret_errors, err)) < 0) {
                lk_job_spec_free(spec);
                return r;
        }
        char *text = lk_strndup(toml, len);
        int64_t job_id = 0, pipeline_spec_id = 0;
        r = lk_jobs_insert(sp->store, spec, text, &job_id, &pipeline_spec_id, err);
        lk_free(text);
        if (r < 0) {
                lk_job_spec_free(spec);
                return r;
        }
        start_job(sp, job_id, pipeline_spec_id, spec);
        lk_log_info(sp->log, "Created job", LK_INT("job_id", job_id), LK_STR("type", lk_job_type_name(spec->type)));
        *ret_job_id = job_id;
        return 0;
}

int lk_spawner_delete(lk_spawner *sp, int64_t job_id, lk_err *err) {
        active_job *job = take_active(sp, job_id);
        if (job)
                stop_job(sp, job);
        int r = lk_jobs_delete(sp->store, job_id, err);
        if (r == 0)
                lk_log_info(sp->log, "Deleted job", LK_INT("job_id", job_id));
        return r;
}

/* ---- the service ---- */

static void start_stored(lk_spawner *sp, const lk_job_row *row) {
        lk_job_spec *spec;
        lk_job_errors errors = LK_JOB_ERRORS_INIT;
        lk_err err = LK_ERR_INIT;
        if (lk_job_spec_parse(row->toml, strlen(row->toml), &parse_options, &spec, &errors, &err) < 0) {
                record_error(sp, row->id, err.msg);
                lk_job_errors_done(&errors);
                return;
        }
        /* the stored identity wins over a regenerated one */
        memcpy(spec->external_job_id, row->external_job_id, sizeof spec->external_job_id);
        start_job(sp, row->id, row->pipeline_spec_id, spec);
}

static int start_all(void *arg, lk_err *err) {
        lk_spawner *sp = arg;
        lk_job_row *rows = NULL;
        size_t count = 0;
        int64_t total = 0;
        int r = lk_jobs_list(sp->store, 0, 0, &rows, &count, &total, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < count; i++)
                start_stored(sp, &rows[i]);
        lk_log_info(sp->log, "Started jobs", LK_INT("jobs", (int64_t)count));
        lk_job_rows_free(rows, count);
        return 0;
}

static int spawner_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        (void)ctx;
        lk_spawner *sp = (lk_spawner *)service;
        int r = lk_once_start(&sp->once, LK_SPAWNER_NAME, start_all, sp, err);
        if (r == 0 && sp->jobs_started)
                sp->jobs_started(sp->jobs_started_arg);
        return r;
}

static int stop_all(void *arg, lk_err *err) {
        (void)err;
        lk_spawner *sp = arg;
        for (;;) {
                pthread_mutex_lock(&sp->lock);
                active_job *job = sp->job_count ? sp->jobs[--sp->job_count] : NULL;
                pthread_mutex_unlock(&sp->lock);
                if (!job)
                        return 0;
                stop_job(sp, job);
        }
}

static int spawner_close(lk_service *service, lk_err *err) {
        lk_spawner *sp = (lk_spawner *)service;
        return lk_once_stop(&sp->once, LK_SPAWNER_NAME, stop_all, sp, err);
}

static const lk_service_vtable spawner_vtable = {
        .start = spawner_start,
        .close = spawner_close,
};

int lk_spawner_new(const lk_spawner_options *options, lk_spawner **ret_spawner, lk_err *err) {
        if (!options->store || !options->runner || !options->scheduler)
                return lk_err_set(err, -EINVAL, "%s: needs a store, a runner and a scheduler", LK_SPAWNER_NAME);
        lk_spawner *sp = lk_calloc(1, sizeof *sp);
        lk_once_init(&sp->once);
        sp->service = (lk_service){.vtable = &spawner_vtable, .name = LK_SPAWNER_NAME, .once = &sp->once};
        sp->store = options->store;
        sp->runner = options->runner;
        sp->scheduler = options->scheduler;
        sp->log = options->log;
        if (options->evm)
                sp->evm = *options->evm;
        sp->jobs_started = options->jobs_started;
        sp->jobs_started_arg = options->jobs_started_arg;
        pthread_mutex_init(&sp->lock, NULL);
        *ret_spawner = sp;
        return 0;
}

lk_spawner *lk_spawner_free(lk_spawner *sp) {
        if (!sp)
                return NULL;
        for (size_t i = 0; i < sp->job_count; i++)
                active_free(sp->jobs[i]);
        lk_free(sp->jobs);
        pthread_mutex_destroy(&sp->lock);
        lk_once_done(&sp->once);
        lk_free(sp);
        return NULL;
}

lk_service *lk_spawner_service(lk_spawner *sp) {
        return &sp->service;
}
