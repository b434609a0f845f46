/* The runner: schedules a run's tasks as their parents finish, on the
 * worker pool (synchronous tasks) or the HTTP client's thread (http and
 * bridge), and hands finished and suspended runs to the writer thread,
 * which stores them in batches and then tells the caller.
 *
 * Locking: runner->lock guards the list of runs in memory, the writer's
 * queue and the closing flag; run->lock guards one run's tasks.  The
 * runner's lock may be taken before a run's, never after.  Neither is
 * held while calling into the pool, the timers' cancel, the HTTP client,
 * the store or a caller's callback. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "linkd/alloc.h"
#include "metrics.h"
#include "orm.h"
#include "run.h"

#define FAIL_EARLY_TEXT "task run cancelled (fail early)"
#define WRITE_BATCH 512

struct lk_runner {
        lk_service service;
        lk_once once;
        const lk_config *config;
        lk_store *store;
        lk_log *log;
        unsigned workers;
        lk_http_client_options http_options;
        lk_pool *pool;
        lk_timers *timers;
        lk_http_client *http;
        lk_task_env env;
        lk_pipeline_evm evm;     /* env.evm points here when the node gave one */
        lk__metrics *metrics;
        lk_value *empty_vars;    /* what tasks that read no vars see */

        pthread_mutex_t lock;
        pthread_cond_t changed;
        lk_run *live;            /* runs in memory: executing or waiting for the writer */
        size_t live_count;
        int64_t *loading;        /* ids of stored runs being loaded (resume, recovery) */
        size_t loading_count;
        bool accepting;
        lk_run *write_head, *write_tail;
        pthread_cond_t write_ready; /* the writer waits here, and only it */
        bool writer_waiting;
        bool writer_stop;
        bool writer_running;
        pthread_t writer;

        lk_job reaper_job;
        lk_usec started_at;      /* realtime */
        /* runs stored per spec since the last pruning, for sampled pruning */
        struct prune_count {
                int64_t spec_id;
                int64_t inserted;
        } *prune_counts;
        size_t prune_count_len;
};

static void pass_done(lk_run *run);
static void execute(lk__task_run *t);

/* ---- the live list ---- */

static void live_add_locked(lk_runner *rn, lk_run *run) {
        run->prev_live = NULL;
        run->next_live = rn->live;
        if (rn->live)
                rn->live->prev_live = run;
        rn->live = run;
        rn->live_count++;
        lk__metrics_runs_in_flight(rn->metrics, (int64_t)rn->live_count);
}

static void live_remove(lk_runner *rn, lk_run *run) {
        pthread_mutex_lock(&rn->lock);
        if (run->prev_live)
                run->prev_live->next_live = run->next_live;
        else
                rn->live = run->next_live;
        if (run->next_live)
                run->next_live->prev_live = run->prev_live;
        run->next_live = run->prev_live = NULL;
        rn->live_count--;
        lk__metrics_runs_in_flight(rn->metrics, (int64_t)rn->live_count);
        pthread_cond_broadcast(&rn->changed);
        pthread_mutex_unlock(&rn->lock);
}

/* ---- scheduling ---- */

static void job_run(lk_job *job) {
        lk__task_run *t = (lk__task_run *)((char *)job - offsetof(lk__task_run, job));
        execute(t);
}

static void submit(lk_runner *rn, lk__task_run *t) {
        lk_job_init(&t->job, job_run);
        lk_pool_submit(rn->pool, &t->job);
}

/* Marks the children of t whose last parent this was as queued, adding
 * them to ready.  Under run->lock. */
static void release_children(lk_run *run, const lk__task_run *t, lk__task_run **ready, size_t *ready_count) {
        const lk__task_options *o = &run->spec->tasks[t->id];
        for (size_t i = 0; i < o->dependent_count; i++) {
                lk__task_run *child = &run->tasks[o->dependents[i]];
                if (--child->waiting_parents > 0 || child->status != TASK_WAITING || run->exiting)
                        continue;
                child->status = TASK_QUEUED;
                run->in_flight++;
                ready[(*ready_count)++] = child;
        }
}

/* failEarly: nothing new starts; retries waiting out a backoff are
 * dropped; HTTP requests in flight are cancelled (after the lock is
 * released: the client may call back at once). */
static size_t abort_locked(lk_run *run, uint64_t *http_ids) {
        size_t n = 0;
        run->exiting = true;
        for (size_t i = 0; i < run->task_count; i++) {
                lk__task_run *t = &run->tasks[i];
                if (t->in_retry_timer && lk_timers_cancel(run->runner->timers, &t->job)) {
                        t->in_retry_timer = false;
                        t->status = TASK_DONE;
                        lk_free(t->error);
                        t->error = lk_strdup(FAIL_EARLY_TEXT);
                        run->in_flight--;
                }
                if (t->status == TASK_RUNNING && t->attempt && t->attempt->http_id)
                        http_ids[n++] = t->attempt->http_id;
        }
        return n;
}

/* Records an attempt's result; returns the task to run next on this
 * thread (one of the children it released), or NULL. */
static lk__task_run *complete(lk__task_run *t, lk_task_result *res, bool run_inline) {
        lk_run *run = t->run;
        lk_runner *rn = run->runner;
        const lk__task_options *o = &run->spec->tasks[t->id];
        lk__task_run *ready_stack[16];
        lk__task_run **ready = o->dependent_count <= 16 ? ready_stack : lk_malloc(o->dependent_count * sizeof *ready);
        size_t ready_count = 0;
        uint64_t *http_ids = NULL;
        size_t http_count = 0;
        bool failed = !res->pending && !res->value;
        lk__metrics_task(rn->metrics, run->spec, t->id, lk_now_monotonic() - t->started_mono,
                         res->pending ? "pending" : failed ? "errored" : "completed");

        pthread_mutex_lock(&run->lock);
        t->attempt = NULL;
        if (res->pending) {
                t->status = TASK_PENDING;
                run->in_flight--;
        } else {
                lk_value_unref(t->output);
                lk_free(t->error);
                t->output = res->value;
                t->error = failed ? lk_strdup(res->err.msg) : NULL;
                res->value = NULL;
                t->finished_at = lk_now_realtime();
                if (failed && o->fail_early && !run->exiting) {
                        http_ids = lk_malloc(run->task_count * sizeof *http_ids);
                        http_count = abort_locked(run, http_ids);
                }
                if (failed && !run->exiting && !run->cancelled && t->attempts < o->retries) {
                        t->status = TASK_QUEUED;
                        t->in_retry_timer = true;
                        lk_job_init(&t->job, job_run);
                        lk_timers_add(rn->timers, &t->job,
                                      lk_now_monotonic() +
                                              lk__backoff_for_attempt(o->min_backoff, o->max_backoff, t->attempts - 1));
                } else {
                        t->status = TASK_DONE;
                        run->in_flight--;
                        release_children(run, t, ready, &ready_count);
                }
        }
        bool pass_over = run->in_flight == 0;
        pthread_mutex_unlock(&run->lock);

        for (size_t i = 0; i < http_count; i++)
                lk_http_client_cancel(rn->http, http_ids[i]);
        lk_free(http_ids);
        lk__task_run *next = NULL;
        for (size_t i = 0; i < ready_count; i++) {
                if (run_inline && !next)
                        next = ready[i];
                else
                        submit(rn, ready[i]);
        }
        if (ready != ready_stack)
                lk_free(ready);
        if (pass_over)
                pass_done(run);
        return next;
}

/* The vars a task sees: the run's initial vars and every finished task's
 * result (its error, if it failed), as Chainlink copies them when it
 * schedules the task.  Under run->lock. */
static lk_value *vars_snapshot(const lk_run *run) {
        lk_value *vars = lk_value_map();
        for (size_t i = 0; i < lk_value_map_len(run->inputs); i++) {
                const char *key;
                size_t len;
                lk_value *v = lk_value_map_at(run->inputs, i, &key, &len);
                lk_value_map_put(vars, key, len, lk_value_ref(v));
        }
        for (size_t i = 0; i < run->task_count; i++) {
                const lk__task_run *t = &run->tasks[i];
                if (t->status != TASK_DONE && !(t->status == TASK_QUEUED && t->attempts))
                        continue;
                const char *dot_id = run->spec->graph->tasks[i].dot_id;
                lk_value *v = t->error ? lk_value_error(t->error) : t->output ? lk_value_ref(t->output) : lk_value_null();
                lk_value_map_put(vars, dot_id, SIZE_MAX, v);
        }
        return vars;
}

static lk_usec attempt_deadline(const lk_run *run, const lk__task_options *o) {
        lk_usec now = lk_now_monotonic(), deadline = run->deadline;
        if (o->timeout_set && o->timeout > 0 && now + o->timeout < deadline)
                deadline = now + o->timeout;
        if (run->spec->max_task_duration > 0 && now + run->spec->max_task_duration < deadline)
                deadline = now + run->spec->max_task_duration;
        return deadline;
}

static lk_task_attempt *attempt_new(lk__task_run *t) {
        lk_run *run = t->run;
        const lk_graph_task *g = &run->spec->graph->tasks[t->id];
        const lk__task_options *o = &run->spec->tasks[t->id];
        lk_task_attempt *a = lk_calloc(1, sizeof *a);
        atomic_init(&a->refs, 1);
        a->task = t;
        a->inputs = g->input_count ? lk_calloc(g->input_count, sizeof *a->inputs) : NULL;
        for (size_t i = 0; i < g->input_count; i++) {
                const lk__task_run *parent = &run->tasks[g->inputs[i]];
                a->inputs[i].value = parent->error ? NULL : parent->output;
                a->inputs[i].error = parent->error;
        }
        a->vars = o->uses_vars ? vars_snapshot(run) : NULL;
        a->call = (lk_task_call){
                .spec = g,
                .vars = a->vars ? a->vars : run->runner->empty_vars,
                .inputs = a->inputs,
                .input_count = g->input_count,
                .env = &run->runner->env,
                .task_run_id = t->uuid,
                .spec_id = run->spec->id,
                .run_id = run->id,
                .gas_limit_set = run->spec->gas_limit_set,
                .gas_limit = run->spec->gas_limit,
                .deadline = attempt_deadline(run, o),
                .timeout_set = o->timeout_set,
        };
        return a;
}

static lk_task_attempt *attempt_free(lk_task_attempt *a) {
        if (a && atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) == 1) {
                lk_free(a->inputs);
                lk_value_unref(a->vars);
                lk_run_unref(a->run);
                lk_free(a);
        }
        return NULL;
}

void lk_task_attempt_set_http(lk_task_attempt *attempt, uint64_t request_id) {
        lk_run *run = attempt->task->run;
        pthread_mutex_lock(&run->lock);
        attempt->http_id = request_id;
        bool aborted = run->exiting && request_id;
        pthread_mutex_unlock(&run->lock);
        if (aborted) /* failEarly came between submitting and registering */
                lk_http_client_cancel(run->runner->http, request_id);
}

void lk_task_finish(lk_task_attempt *attempt, lk_task_result *result) {
        complete(attempt->task, result, false);
        lk_value_unref(result->value);
        attempt_free(attempt);
}

static void execute(lk__task_run *t) {
        while (t) {
                lk_run *run = t->run;
                const lk__task_options *o = &run->spec->tasks[t->id];
                pthread_mutex_lock(&run->lock);
                t->in_retry_timer = false;
                if (run->exiting || run->cancelled) {
                        /* queued before a failEarly task failed, or the run was cancelled */
                        bool cancelled = !run->exiting;
                        pthread_mutex_unlock(&run->lock);
                        lk_task_result res = {0};
                        lk_task_fail(&res, -ECANCELED, "%s", cancelled ? "context canceled" : FAIL_EARLY_TEXT);
                        t = complete(t, &res, true);
                        continue;
                }
                t->status = TASK_RUNNING;
                t->attempts++;
                if (!t->created_at)
                        t->created_at = lk_now_realtime();
                t->started_mono = lk_now_monotonic();
                lk_task_attempt *a = attempt_new(t);
                if (o->type->start)
                        t->attempt = a;
                pthread_mutex_unlock(&run->lock);
                if (o->type->start) {
                        /* The attempt, and the run it belongs to, outlive
                         * both start's return and lk_task_finish, whichever
                         * comes last. */
                        a->run = lk_run_ref(run);
                        atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
                        o->type->start(&a->call, a);
                        attempt_free(a);
                        return;
                }
                lk_task_result res = {0};
                o->type->run(&a->call, &res);
                if (!res.value && !lk_err_is_set(&res.err))
                        res.value = lk_value_null(); /* a task that returned nothing returned nil */
                attempt_free(a);
                t = complete(t, &res, true);
                lk_value_unref(res.value);
        }
}

/* Starts what is ready: tasks without unfinished parents. */
static void start_pass(lk_run *run) {
        lk__task_run *ready_stack[16];
        lk__task_run **ready = run->task_count <= 16 ? ready_stack : lk_malloc(run->task_count * sizeof *ready);
        size_t ready_count = 0;
        pthread_mutex_lock(&run->lock);
        for (size_t i = 0; i < run->task_count; i++) {
                lk__task_run *t = &run->tasks[i];
                if (t->status == TASK_WAITING && t->waiting_parents == 0) {
                        t->status = TASK_QUEUED;
                        run->in_flight++;
                        ready[ready_count++] = t;
                }
        }
        bool idle = run->in_flight == 0;
        pthread_mutex_unlock(&run->lock);
        for (size_t i = 0; i < ready_count; i++)
                submit(run->runner, ready[i]);
        if (ready != ready_stack)
                lk_free(ready);
        if (idle)
                pass_done(run);
}

/* ---- the end of a pass ---- */

static void writer_enqueue(lk_runner *rn, lk_run *run) {
        pthread_mutex_lock(&rn->lock);
        run->next_write = NULL;
        if (rn->write_tail)
                rn->write_tail->next_write = run;
        else
                rn->write_head = run;
        rn->write_tail = run;
        /* A writer that is not waiting comes back to the queue by itself:
         * a wake-up per run would cost more than most runs. */
        if (rn->writer_waiting)
                pthread_cond_signal(&rn->write_ready);
        pthread_mutex_unlock(&rn->lock);
}

/* Pending tasks that got their result while the pass ran release their
 * children.  Returns whether anything was started.  Under run->lock. */
static bool resume_locked(lk_run *run, lk__task_run **ready, size_t *ready_count) {
        bool any = false;
        for (size_t i = 0; i < run->task_count; i++) {
                lk__task_run *t = &run->tasks[i];
                if (t->status != TASK_PENDING || !t->resumed)
                        continue;
                t->status = TASK_DONE;
                t->resumed = false;
                any = true;
                release_children(run, t, ready, ready_count);
        }
        return any;
}

/* The pass is over (nothing queued, running or waiting for a retry):
 * run again what a resume released, or finish, or suspend. */
static void pass_done(lk_run *run) {
        lk__task_run *ready_stack[16];
        lk__task_run **ready = run->task_count <= 16 ? ready_stack : lk_malloc(run->task_count * sizeof *ready);
        size_t ready_count = 0;
        pthread_mutex_lock(&run->lock);
        bool resumed = !run->exiting && resume_locked(run, ready, &ready_count);
        bool pending = false;
        if (!resumed) {
                for (size_t i = 0; i < run->task_count; i++) {
                        lk__task_run *t = &run->tasks[i];
                        pending |= t->status == TASK_PENDING;
                        if (run->exiting && t->status != TASK_DONE) {
                                t->status = TASK_SKIPPED;
                                lk_free(t->error);
                                t->error = lk_strdup(FAIL_EARLY_TEXT);
                        }
                }
                if (run->abandoned)
                        ; /* stays "running": stored ones are re-run at the next start */
                else if (pending && !run->exiting)
                        run->state = LK_RUN_SUSPENDED;
                else
                        lk__run_finalize(run);
        }
        pthread_mutex_unlock(&run->lock);
        if (resumed) {
                for (size_t i = 0; i < ready_count; i++)
                        submit(run->runner, ready[i]);
                if (ready != ready_stack)
                        lk_free(ready);
                if (!ready_count)
                        pass_done(run); /* resumed tasks without children */
                return;
        }
        if (ready != ready_stack)
                lk_free(ready);
        writer_enqueue(run->runner, run);
}

/* ---- starting runs ---- */

/* Takes the caller's reference to run. */
static int begin(lk_runner *rn, lk_run *run, lk_err *err) {
        pthread_mutex_lock(&rn->lock);
        if (!rn->accepting) {
                pthread_mutex_unlock(&rn->lock);
                lk_run_unref(run);
                return lk_err_set(err, -ESHUTDOWN, "%s is not running", LK_RUNNER_NAME);
        }
        live_add_locked(rn, run);
        pthread_mutex_unlock(&rn->lock);
        lk_usec max = rn->config->job_pipeline.max_run_duration;
        run->deadline = max > 0 ? lk_now_monotonic() + max : LK_USEC_INFINITY;
        start_pass(run);
        return 0;
}

int lk_runner_start(lk_runner *rn, const lk_run_request *request, lk_err *err) {
        lk_run *run = lk__run_new(rn, request->spec, request->vars);
        run->save_task_runs = request->save_task_runs;
        run->pre_insert = request->pre_insert || request->spec->has_async;
        run->done = request->done;
        run->done_arg = request->done_arg;
        if (run->pre_insert && rn->store) {
                if (request->spec->id <= 0) {
                        lk_run_unref(run);
                        return lk_err_set(err, -EINVAL, "the pipeline spec must be stored before a run that "
                                                        "suspends or is pre-inserted");
                }
                int r = lk__orm_insert_run(rn->store, run, request->in_insert, request->in_insert_arg, err);
                if (r < 0) {
                        lk_run_unref(run);
                        return request->in_insert ? r : lk_err_prefix(err, "cannot store the pipeline run");
                }
                run->inserted = true;
        }
        return begin(rn, run, err);
}

typedef struct waiter {
        pthread_mutex_t lock;
        pthread_cond_t done;
        lk_run *run;
} waiter;

static void wake(void *arg, lk_run *run) {
        waiter *w = arg;
        pthread_mutex_lock(&w->lock);
        w->run = lk_run_ref(run);
        pthread_cond_signal(&w->done);
        pthread_mutex_unlock(&w->lock);
}

int lk_runner_run(lk_runner *rn, const lk_run_request *request, lk_run **ret_run, lk_err *err) {
        waiter w = {.run = NULL};
        pthread_mutex_init(&w.lock, NULL);
        pthread_cond_init(&w.done, NULL);
        lk_run_request r = *request;
        r.done = wake;
        r.done_arg = &w;
        int result = lk_runner_start(rn, &r, err);
        if (result == 0) {
                pthread_mutex_lock(&w.lock);
                while (!w.run)
                        pthread_cond_wait(&w.done, &w.lock);
                pthread_mutex_unlock(&w.lock);
                *ret_run = w.run;
        }
        pthread_cond_destroy(&w.done);
        pthread_mutex_destroy(&w.lock);
        return result;
}

/* Builds a run from what the database holds and executes it again:
 * stored results are kept, pending tasks stay pending. */
static int restart_stored(lk_runner *rn, int64_t run_id, lk_err *err) {
        lk__stored_run stored;
        int r = lk__orm_load_run(rn->store, run_id, &stored, err);
        if (r < 0)
                return r;
        lk_pipeline_spec *spec;
        lk_pipeline_spec_options so = {.source = stored.source, .source_len = SIZE_MAX, .id = stored.spec_id,
                                       .max_task_duration = stored.max_task_duration,
                                       .gas_limit_set = stored.gas_limit_set, .gas_limit = stored.gas_limit};
        r = lk_pipeline_spec_new(&so, &spec, err);
        if (r < 0) {
                lk__stored_run_done(&stored);
                return lk_err_prefix(err, "pipeline run %" PRId64, run_id);
        }
        lk_run *run = lk__run_new(rn, spec, stored.inputs);
        lk_pipeline_spec_unref(spec);
        run->id = run_id;
        run->inserted = run->pre_insert = true;
        run->save_task_runs = true;
        run->created_at = stored.created_at;
        for (size_t i = 0; i < stored.task_count; i++) {
                const struct lk__stored_task *s = &stored.tasks[i];
                for (size_t k = 0; k < run->task_count; k++) {
                        lk__task_run *t = &run->tasks[k];
                        if (strcmp(run->spec->graph->tasks[k].dot_id, s->dot_id) != 0)
                                continue;
                        memcpy(t->uuid, s->id, sizeof t->uuid);
                        t->stored = true;
                        if (s->finished) {
                                t->status = TASK_DONE;
                                t->output = s->error ? NULL : s->output ? lk_value_ref(s->output) : lk_value_null();
                                t->error = s->error ? lk_strdup(s->error) : NULL;
                        } else {
                                t->status = TASK_PENDING;
                        }
                }
        }
        for (size_t k = 0; k < run->task_count; k++) {
                if (run->tasks[k].status != TASK_DONE)
                        continue;
                const lk__task_options *o = &run->spec->tasks[k];
                for (size_t d = 0; d < o->dependent_count; d++)
                        run->tasks[o->dependents[d]].waiting_parents--;
        }
        lk__stored_run_done(&stored);
        return begin(rn, run, err);
}

/* ---- resume ---- */

/* A live run with a pending task run of that id: gives it its result and
 * returns the run (a new reference) and the task.  The end of the pass,
 * or the writer, picks the result up. */
static lk_run *resume_live(lk_runner *rn, const char *task_run_id, const lk_value *value, const char *error,
                           lk__task_run **ret_task) {
        lk_run *found = NULL;
        pthread_mutex_lock(&rn->lock);
        for (lk_run *run = rn->live; run && !found; run = run->next_live) {
                pthread_mutex_lock(&run->lock);
                for (size_t i = 0; i < run->task_count; i++) {
                        lk__task_run *t = &run->tasks[i];
                        if (t->status != TASK_PENDING || t->resumed || strcmp(t->uuid, task_run_id) != 0)
                                continue;
                        t->output = error ? NULL : lk_value_ref((lk_value *)value);
                        t->error = error ? lk_strdup(error) : NULL;
                        t->finished_at = lk_now_realtime();
                        t->resumed = true;
                        found = lk_run_ref(run);
                        *ret_task = t;
                        break;
                }
                pthread_mutex_unlock(&run->lock);
        }
        pthread_mutex_unlock(&rn->lock);
        return found;
}

/* Whether a run in memory is executing that task run: a transaction's
 * receipt can come back before its ethtx task has reported pending. */
static bool task_executing(lk_runner *rn, const char *task_run_id) {
        bool found = false;
        pthread_mutex_lock(&rn->lock);
        for (lk_run *run = rn->live; run && !found; run = run->next_live) {
                pthread_mutex_lock(&run->lock);
                for (size_t i = 0; i < run->task_count && !found; i++)
                        found = (run->tasks[i].status == TASK_RUNNING || run->tasks[i].status == TASK_QUEUED) &&
                                strcmp(run->tasks[i].uuid, task_run_id) == 0;
                pthread_mutex_unlock(&run->lock);
        }
        pthread_mutex_unlock(&rn->lock);
        return found;
}

int lk_runner_cancel(lk_runner *rn, int64_t run_id, lk_err *err) {
        uint64_t *http_ids = NULL;
        size_t http_count = 0;
        bool found = false;
        pthread_mutex_lock(&rn->lock);
        for (lk_run *run = rn->live; run && !found; run = run->next_live) {
                if (run->id != run_id || run_id == 0)
                        continue;
                found = true;
                pthread_mutex_lock(&run->lock);
                run->cancelled = true;
                http_ids = lk_malloc((run->task_count ? run->task_count : 1) * sizeof *http_ids);
                for (size_t i = 0; i < run->task_count; i++)
                        if (run->tasks[i].attempt && run->tasks[i].attempt->http_id)
                                http_ids[http_count++] = run->tasks[i].attempt->http_id;
                pthread_mutex_unlock(&run->lock);
        }
        pthread_mutex_unlock(&rn->lock);
        for (size_t i = 0; i < http_count; i++)
                lk_http_client_cancel(rn->http, http_ids[i]);
        lk_free(http_ids);
        return found ? 0 : lk_err_set(err, -ENOENT, "no pipeline run %" PRId64 " in progress", run_id);
}

static bool is_live_or_loading_locked(lk_runner *rn, int64_t run_id) {
        for (lk_run *run = rn->live; run; run = run->next_live)
                if (run->id == run_id)
                        return true;
        for (size_t i = 0; i < rn->loading_count; i++)
                if (rn->loading[i] == run_id)
                        return true;
        return false;
}

/* Loads and restarts a stored run unless it is already in memory (then
 * the writer's re-read at its next suspension finds what changed). */
static int restart_unless_live(lk_runner *rn, int64_t run_id, lk_err *err) {
        pthread_mutex_lock(&rn->lock);
        if (is_live_or_loading_locked(rn, run_id) || !rn->accepting) {
                bool accepting = rn->accepting;
                pthread_mutex_unlock(&rn->lock);
                return accepting ? 0 : lk_err_set(err, -ESHUTDOWN, "%s is not running", LK_RUNNER_NAME);
        }
        rn->loading = lk_realloc(rn->loading, (rn->loading_count + 1) * sizeof *rn->loading);
        rn->loading[rn->loading_count++] = run_id;
        pthread_mutex_unlock(&rn->lock);
        int r = restart_stored(rn, run_id, err);
        pthread_mutex_lock(&rn->lock);
        for (size_t i = 0; i < rn->loading_count; i++) {
                if (rn->loading[i] == run_id) {
                        rn->loading[i] = rn->loading[--rn->loading_count];
                        break;
                }
        }
        pthread_mutex_unlock(&rn->lock);
        return r;
}

static int resume(lk_runner *rn, const char *task_run_id, const lk_value *value, const char *error, lk_err *err);

int lk_runner_resume(lk_runner *rn, const char *task_run_id, const lk_value *value, const char *error,
                     lk_err *err) {
        if ((value == NULL) == (error == NULL))
                return lk_err_set(err, -EINVAL, "must provide only one of either 'value' or 'error' key");
        /* Chainlink keeps the answer as the raw JSON the bridge sent (a
         * json.RawMessage); a string holding that text behaves the same
         * for the tasks that read it and is stored as Chainlink stores it. */
        lk_value *raw = NULL;
        if (value) {
                lk_buf text = LK_BUF_INIT;
                lk_value_to_json(value, &text);
                raw = lk_value_string(lk_buf_str(&text), text.len);
                lk_buf_done(&text);
        }
        int r = resume(rn, task_run_id, raw, error, err);
        lk_value_unref(raw);
        return r;
}

static int resume(lk_runner *rn, const char *task_run_id, const lk_value *value, const char *error, lk_err *err) {
        lk__task_run *task;
        lk_run *live;
        if (rn->store) {
                /* The database first, as Chainlink's ResumeRun: once this
                 * returns, the result survives a crash. */
                lk_buf json = LK_BUF_INIT;
                if (value)
                        lk_value_to_json(value, &json);
                int64_t run_id = 0;
                int r = lk__orm_resume(rn->store, task_run_id, value ? lk_buf_str(&json) : NULL, error, &run_id, err);
                lk_buf_done(&json);
                if (r == 0) {
                        if ((live = resume_live(rn, task_run_id, value, error, &task)))
                                lk_run_unref(live);
                        else
                                r = restart_unless_live(rn, run_id, err);
                        return r;
                }
                if (r != -ENOENT)
                        return r;
                lk_err_clear(err);
        }
        /* Not in the database yet: the run is still in its first pass. */
        live = resume_live(rn, task_run_id, value, error, &task);
        if (!live && task_executing(rn, task_run_id))
                return lk_err_set(err, -EAGAIN, "task run %s is still executing", task_run_id);
        if (!live)
                return lk_err_set(err, -ENOENT, "no pending task run with id %s", task_run_id);
        int r = 0;
        if (rn->store && live->inserted)
                r = lk__orm_store_task_run(rn->store, live, task, err);
        lk_run_unref(live);
        return r;
}

/* ---- the writer ---- */

static void deliver(lk_runner *rn, lk_run *run) {
        lk__metrics_run(rn->metrics, run->state);
        live_remove(rn, run);
        if (run->done)
                run->done(run->done_arg, run);
        lk_run_unref(run);
}

static void note_store_error(lk_runner *rn, lk_run *run, const lk_err *err) {
        run->store_err = *err;
        lk_log_error(rn->log, "cannot store pipeline run", LK_INT("run_id", run->id), LK_ERROR(err));
}

static void prune_after_insert(lk_runner *rn, const lk_run *run) {
        int64_t keep = rn->config->job_pipeline.max_successful_runs;
        if (run->state != LK_RUN_COMPLETED || keep <= 0)
                return;
        struct prune_count *c = NULL;
        for (size_t i = 0; i < rn->prune_count_len && !c; i++)
                if (rn->prune_counts[i].spec_id == run->spec->id)
                        c = &rn->prune_counts[i];
        if (!c) {
                rn->prune_counts = lk_realloc(rn->prune_counts, (rn->prune_count_len + 1) * sizeof *c);
                c = &rn->prune_counts[rn->prune_count_len++];
                *c = (struct prune_count){run->spec->id, 0};
        }
        /* Chainlink's sampling: every run when few are kept, every
         * MaxSuccessfulRuns/20 otherwise. */
        int64_t every = keep < 1000 ? 1 : keep / 20;
        if (++c->inserted < every)
                return;
        c->inserted = 0;
        lk_err err = LK_ERR_INIT;
        int64_t deleted = 0;
        if (lk__orm_prune(rn->store, run->spec->id, keep, &deleted, &err) < 0)
                lk_log_warn(rn->log, "cannot prune pipeline runs", LK_INT("spec_id", run->spec->id), LK_ERROR(&err));
}

/* One run that is not part of a batch insert. */
static void write_one(lk_runner *rn, lk_run *run) {
        lk_err err = LK_ERR_INIT;
        if (run->exiting) {
                /* failEarly: Chainlink's FailSilently stores nothing */
                if (run->inserted && lk__orm_delete_run(rn->store, run->id, &err) < 0)
                        note_store_error(rn, run, &err);
                run->id = 0;
        } else if (run->state == LK_RUN_SUSPENDED) {
                bool restart = false;
                /* A bridge whose async flag came from a variable: the run
                 * was not known to suspend, so it has no row yet. */
                if (!run->inserted && run->spec->id > 0 && lk__orm_insert_run(rn->store, run, NULL, NULL, &err) == 0)
                        run->inserted = true;
                if (!run->inserted) {
                        if (!lk_err_is_set(&err))
                                lk_err_set(&err, -EINVAL, "the pipeline spec is not stored");
                        note_store_error(rn, run, &err);
                } else if (lk__orm_suspend_run(rn->store, run, &restart, &err) < 0) {
                        note_store_error(rn, run, &err);
                } else if (restart) {
                        pass_done(run);
                        return;
                }
        } else if (lk__orm_update_run(rn->store, run, &err) < 0) {
                note_store_error(rn, run, &err);
        } else {
                prune_after_insert(rn, run);
        }
        /* A resume that reached the run in memory after the suspension was
         * stored: go on now. */
        if (run->state == LK_RUN_SUSPENDED) {
                pthread_mutex_lock(&run->lock);
                bool resumed = false;
                for (size_t i = 0; i < run->task_count; i++)
                        resumed |= run->tasks[i].status == TASK_PENDING && run->tasks[i].resumed;
                pthread_mutex_unlock(&run->lock);
                if (resumed) {
                        run->state = LK_RUN_RUNNING;
                        pass_done(run);
                        return;
                }
        }
        deliver(rn, run);
}

static bool batchable(const lk_runner *rn, const lk_run *run) {
        return !run->inserted && !run->exiting && run->state != LK_RUN_SUSPENDED && !run->abandoned &&
               rn->config->job_pipeline.max_successful_runs > 0 && run->spec->id > 0;
}

static void write_batch(lk_runner *rn, lk_run **runs, size_t count) {
        lk_run **batch = lk_malloc(count * sizeof *batch);
        size_t n = 0;
        for (size_t i = 0; i < count; i++) {
                lk_run *run = runs[i];
                bool nothing_to_store = !rn->store || run->abandoned ||
                                        (!run->inserted && !run->exiting && run->state != LK_RUN_SUSPENDED &&
                                         !batchable(rn, run));
                if (nothing_to_store) {
                        deliver(rn, run);
                        runs[i] = NULL;
                } else if (batchable(rn, run)) {
                        batch[n++] = run;
                        runs[i] = NULL;
                }
        }
        if (n) {
                lk_err err = LK_ERR_INIT;
                if (lk__orm_insert_finished(rn->store, batch, n, &err) < 0) {
                        for (size_t i = 0; i < n; i++)
                                batch[i]->store_err = err;
                        lk_log_error(rn->log, "cannot store pipeline runs", LK_INT("runs", n), LK_ERROR(&err));
                }
                for (size_t i = 0; i < n; i++) {
                        if (!lk_err_is_set(&batch[i]->store_err))
                                prune_after_insert(rn, batch[i]);
                        deliver(rn, batch[i]);
                }
        }
        lk_free(batch);
        for (size_t i = 0; i < count; i++)
                if (runs[i])
                        write_one(rn, runs[i]);
}

static void *writer_main(void *arg) {
        lk_runner *rn = arg;
        lk_run **runs = lk_malloc(WRITE_BATCH * sizeof *runs);
        pthread_mutex_lock(&rn->lock);
        for (;;) {
                while (!rn->write_head && !rn->writer_stop) {
                        rn->writer_waiting = true;
                        pthread_cond_wait(&rn->write_ready, &rn->lock);
                        rn->writer_waiting = false;
                }
                if (!rn->write_head)
                        break;
                size_t count = 0;
                while (rn->write_head && count < WRITE_BATCH) {
                        runs[count++] = rn->write_head;
                        rn->write_head = rn->write_head->next_write;
                }
                if (!rn->write_head)
                        rn->write_tail = NULL;
                pthread_mutex_unlock(&rn->lock);
                write_batch(rn, runs, count);
                pthread_mutex_lock(&rn->lock);
        }
        pthread_mutex_unlock(&rn->lock);
        lk_free(runs);
        return NULL;
}

/* ---- recovery and the reaper ---- */

static void recover(lk_runner *rn) {
        int64_t *ids = NULL;
        size_t count = 0;
        lk_err err = LK_ERR_INIT;
        if (lk__orm_unfinished_runs(rn->store, rn->started_at, &ids, &count, &err) < 0) {
                lk_log_error(rn->log, "cannot list unfinished pipeline runs", LK_ERROR(&err));
                return;
        }
        for (size_t i = 0; i < count; i++) {
                lk_err_clear(&err);
                if (restart_unless_live(rn, ids[i], &err) < 0)
                        lk_log_error(rn->log, "cannot resume an unfinished pipeline run", LK_INT("run_id", ids[i]),
                                     LK_ERROR(&err));
        }
        if (count)
                lk_log_info(rn->log, "resumed pipeline runs left unfinished", LK_INT("runs", count));
        lk_free(ids);
}

int lk_runner_reap(lk_runner *rn, lk_usec threshold, int64_t *ret_deleted, lk_err *err) {
        if (!rn->store)
                return lk_err_set(err, -ENOTSUP, "the runner has no database");
        return lk__orm_reap(rn->store, lk_now_realtime() - threshold, ret_deleted, err);
}

static void reaper_run(lk_job *job) {
        lk_runner *rn = (lk_runner *)((char *)job - offsetof(lk_runner, reaper_job));
        int64_t deleted = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_runner_reap(rn, rn->config->job_pipeline.reaper_threshold, &deleted, &err) < 0)
                lk_log_warn(rn->log, "pipeline run reaper failed", LK_ERROR(&err));
        else if (deleted)
                lk_log_info(rn->log, "reaped old pipeline runs", LK_INT("deleted", deleted));
        pthread_mutex_lock(&rn->lock);
        bool again = rn->accepting;
        pthread_mutex_unlock(&rn->lock);
        if (again) {
                /* Jittered by up to 10%, as Chainlink's, so that nodes sharing a
                 * database do not reap in step. */
                lk_usec interval = rn->config->job_pipeline.reaper_interval;
                lk_usec jitter = (lk_usec)((double)interval * 0.1 * ((double)random() / RAND_MAX));
                lk_job_init(&rn->reaper_job, reaper_run);
                lk_timers_add(rn->timers, &rn->reaper_job, lk_now_monotonic() + interval + jitter);
        }
}

/* ---- the service ---- */

static int start_locked(void *arg, lk_err *err) {
        lk_runner *rn = arg;
        unsigned workers = rn->workers ? rn->workers : (unsigned)rn->config->job_pipeline.worker_threads;
        int r = lk_pool_new(workers, "lk-pipeline", &rn->pool, err);
        if (r == 0)
                r = lk_timers_new(rn->pool, &rn->timers, err);
        if (r == 0)
                r = lk_http_client_new(&rn->http_options, &rn->http, err);
        if (r == 0) {
                int t = pthread_create(&rn->writer, NULL, writer_main, rn);
                if (t != 0)
                        r = lk_err_set(err, -t, "%s: cannot start the writer thread: %s", LK_RUNNER_NAME, strerror(t));
                rn->writer_running = t == 0;
        }
        if (r < 0)
                return lk_err_prefix(err, "%s", LK_RUNNER_NAME);
        pthread_setname_np(rn->writer, "lk-run-writer");
        rn->env.http = rn->http;
        rn->env.pool = rn->pool;
        rn->started_at = lk_now_realtime();
        pthread_mutex_lock(&rn->lock);
        rn->accepting = true;
        pthread_mutex_unlock(&rn->lock);
        if (rn->store) {
                recover(rn);
                if (rn->config->job_pipeline.reaper_interval > 0) {
                        lk_job_init(&rn->reaper_job, reaper_run);
                        lk_timers_add(rn->timers, &rn->reaper_job, lk_now_monotonic());
                }
        }
        return 0;
}

static int runner_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        (void)ctx;
        lk_runner *rn = (lk_runner *)service;
        return lk_once_start(&rn->once, LK_RUNNER_NAME, start_locked, rn, err);
}

/* Shutdown: runs in memory get ShutdownGracePeriod to finish; then those
 * still going are abandoned (their HTTP requests cancelled, nothing of
 * them stored), which is safe: a run that was never stored was never
 * acknowledged, and a stored one stays "running" and is re-run on the next
 * start. */
static void abandon_live(lk_runner *rn) {
        size_t cap = 64, count = 0;
        uint64_t *ids = lk_malloc(cap * sizeof *ids);
        pthread_mutex_lock(&rn->lock);
        for (lk_run *run = rn->live; run; run = run->next_live) {
                pthread_mutex_lock(&run->lock);
                run->abandoned = true;
                if (count + run->task_count > cap) {
                        cap = 2 * (count + run->task_count);
                        ids = lk_realloc(ids, cap * sizeof *ids);
                }
                count += abort_locked(run, ids + count);
                pthread_mutex_unlock(&run->lock);
        }
        pthread_mutex_unlock(&rn->lock);
        for (size_t i = 0; i < count; i++)
                lk_http_client_cancel(rn->http, ids[i]);
        lk_free(ids);
}

static void wait_live(lk_runner *rn, lk_usec timeout) {
        lk_usec deadline = timeout == LK_USEC_INFINITY ? LK_USEC_INFINITY : lk_now_monotonic() + timeout;
        pthread_mutex_lock(&rn->lock);
        while (rn->live_count || rn->loading_count) {
                lk_usec now = lk_now_monotonic();
                if (now >= deadline)
                        break;
                struct timespec until = lk_deadline_after(deadline == LK_USEC_INFINITY ? LK_USEC_PER_SEC : deadline - now);
                pthread_cond_timedwait(&rn->changed, &rn->lock, &until);
        }
        pthread_mutex_unlock(&rn->lock);
}

static int stop_locked(void *arg, lk_err *err) {
        (void)err;
        lk_runner *rn = arg;
        pthread_mutex_lock(&rn->lock);
        rn->accepting = false;
        pthread_mutex_unlock(&rn->lock);
        if (rn->timers)
                lk_timers_cancel(rn->timers, &rn->reaper_job);
        wait_live(rn, rn->config->shutdown_grace_period);
        abandon_live(rn);
        wait_live(rn, LK_USEC_INFINITY);
        pthread_mutex_lock(&rn->lock);
        rn->writer_stop = true;
        pthread_cond_signal(&rn->write_ready);
        pthread_mutex_unlock(&rn->lock);
        if (rn->writer_running)
                pthread_join(rn->writer, NULL);
        rn->writer_running = false;
        rn->timers = lk_timers_free(rn->timers);
        rn->http = lk_http_client_free(rn->http);
        rn->pool = lk_pool_free(rn->pool);
        return 0;
}

static int runner_close(lk_service *service, lk_err *err) {
        lk_runner *rn = (lk_runner *)service;
        return lk_once_stop(&rn->once, LK_RUNNER_NAME, stop_locked, rn, err);
}

static const lk_service_vtable runner_vtable = {
        .start = runner_start,
        .close = runner_close,
};

int lk_runner_new(const lk_runner_options *options, lk_runner **ret_runner, lk_err *err) {
        if (!options->config)
                return lk_err_set(err, -EINVAL, "%s: no config", LK_RUNNER_NAME);
        lk_runner *rn = lk_calloc(1, sizeof *rn);
        lk_once_init(&rn->once);
        rn->service = (lk_service){.vtable = &runner_vtable, .name = LK_RUNNER_NAME, .once = &rn->once};
        rn->config = options->config;
        rn->store = options->store;
        rn->log = options->log;
        rn->workers = options->workers;
        rn->http_options = (lk_http_client_options){
                .max_response_size = options->config->job_pipeline.http_request.max_size,
                .blocked_addresses = options->blocked_addresses,
                .blocked_address_count = options->blocked_address_count,
                .resolve = options->http_resolve,
                .resolve_count = options->http_resolve_count,
        };
        rn->env = (lk_task_env){.config = options->config, .store = options->store};
        if (options->evm) {
                rn->evm = *options->evm;
                rn->env.evm = &rn->evm;
        }
        rn->empty_vars = lk_value_map();
        lk_job_init(&rn->reaper_job, reaper_run);
        rn->metrics = lk__metrics_new();
        pthread_mutex_init(&rn->lock, NULL);
        lk_cond_init_monotonic(&rn->changed);
        pthread_cond_init(&rn->write_ready, NULL);
        *ret_runner = rn;
        return 0;
}

lk_runner *lk_runner_free(lk_runner *rn) {
        if (!rn)
                return NULL;
        if (lk_once_state(&rn->once) == LK_STATE_STARTED)
                runner_close(&rn->service, NULL);
        lk_once_done(&rn->once);
        lk__metrics_free(rn->metrics);
        lk_value_unref(rn->empty_vars);
        lk_free(rn->loading);
        lk_free(rn->prune_counts);
        pthread_cond_destroy(&rn->changed);
        pthread_cond_destroy(&rn->write_ready);
        pthread_mutex_destroy(&rn->lock);
        lk_free(rn);
        return NULL;
}

lk_service *lk_runner_service(lk_runner *rn) {
        return &rn->service;
}

void lk_runner_metrics(lk_runner *rn, lk_buf *out) {
        lk__metrics_render(rn->metrics, out);
}
