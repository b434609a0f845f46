/* The Scheduler (see include/linkd/scheduler.h): one timer thread, a
 * min-heap of jobs by due time, and an index of jobs by id.
 *
 * The thread sleeps on a CLOCK_MONOTONIC condition variable until the
 * heap's top is due by the realtime clock (the options' clock), but never
 * longer than MAX_SLEEP at once: the realtime clock may be stepped, and a
 * fresh look each second bounds what a step can cost.
 *
 * Everything due at one moment is taken off the heap in one pass under
 * the lock and then fired with the lock released: with a thousand jobs
 * due on the same second, a lock handed back and forth with the threads
 * reporting finished runs (lk_scheduler_run_done) per firing cost more
 * than the firings themselves. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "linkd/alloc.h"
#include "linkd/cron.h"
#include "linkd/ctx.h"
#include "linkd/prom.h"
#include "linkd/scheduler.h"

#define MAX_SLEEP LK_USEC_PER_SEC
#define RECORD_RETRY (5 * LK_USEC_PER_SEC)
/* How many missed times a late wake-up walks through one by one before it
 * looks back from now instead. */
#define CATCH_UP_STEPS 4096
#define NOT_IN_HEAP SIZE_MAX

typedef struct sjob {
        int64_t id;
        lk_cron *cron;
        bool once;             /* @at */
        unsigned max_runs;     /* 0 = unlimited */
        unsigned in_flight;    /* fired, not yet reported done */
        uint64_t fired, skipped;
        int64_t next;          /* the Unix second it is scheduled for */
        lk_usec due;           /* realtime; the heap's key (a retry may put it after next) */
        size_t heap_index;
        lk_scheduler_fire_fn fire;
        void *arg;
        unsigned firing;       /* in the batch being fired, or being recorded: not freed meanwhile */
        atomic_bool removed;   /* read without the lock by the batch's firing loop */
        bool timer_frees;      /* removed from its own callback: the timer thread frees it */
} sjob;

typedef struct due_firing {
        sjob *job;
        int64_t scheduled;
} due_firing;

struct lk_scheduler {
        lk_service service;
        lk_once once;
        lk_log *log;
        lk_scheduler_clock_fn now;
        void *now_arg;
        lk_store *store;

        pthread_mutex_t lock;
        pthread_cond_t changed; /* the heap changed, a poke, or stop */
        pthread_cond_t idle;    /* a callback ended, or a pass finished */
        sjob **jobs;            /* by id */
        size_t job_count, job_cap;
        sjob **heap;
        size_t heap_len, heap_cap;
        int64_t *fired_once;    /* @at jobs fired, without a store; sorted */
        size_t fired_once_count, fired_once_cap;
        due_firing *batch;      /* taken off the heap, fired with the lock released */
        size_t batch_len, batch_cap;
        char *record_error;     /* the last failure to record an @at firing */
        uint64_t poke_requested, poke_done;
        bool stop;
        bool thread_running;
        pthread_t thread;
};

static lk_scheduler *of_service(lk_service *service) {
        return (lk_scheduler *)((char *)service - offsetof(lk_scheduler, service));
}

static lk_usec clock_now(const lk_scheduler *s) {
        return s->now ? s->now(s->now_arg) : lk_now_realtime();
}

static int64_t floor_seconds(lk_usec t) {
        return t >= 0 ? t / LK_USEC_PER_SEC : -((-t + LK_USEC_PER_SEC - 1) / LK_USEC_PER_SEC);
}

static void job_free(sjob *j) {
        lk_cron_free(j->cron);
        lk_free(j);
}

/* ---- the heap, ordered by (due, id) ---- */

static bool before(const sjob *a, const sjob *b) {
        return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void heap_set(lk_scheduler *s, size_t i, sjob *j) {
        s->heap[i] = j;
        j->heap_index = i;
}

static void sift_up(lk_scheduler *s, size_t i) {
        sjob *j = s->heap[i];
        while (i > 0 && before(j, s->heap[(i - 1) / 2])) {
                heap_set(s, i, s->heap[(i - 1) / 2]);
                i = (i - 1) / 2;
        }
        heap_set(s, i, j);
}

static void sift_down(lk_scheduler *s, size_t i) {
        sjob *j = s->heap[i];
        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= s->heap_len)
                        break;
                if (c + 1 < s->heap_len && before(s->heap[c + 1], s->heap[c]))
                        c++;
                if (!before(s->heap[c], j))
                        break;
                heap_set(s, i, s->heap[c]);
                i = c;
        }
        heap_set(s, i, j);
}

static void heap_push(lk_scheduler *s, sjob *j) {
        if (s->heap_len == s->heap_cap) {
                s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 16;
                s->heap = lk_realloc(s->heap, s->heap_cap * sizeof *s->heap);
        }
        heap_set(s, s->heap_len++, j);
        sift_up(s, j->heap_index);
}

static void heap_remove(lk_scheduler *s, sjob *j) {
        size_t i = j->heap_index;
        j->heap_index = NOT_IN_HEAP;
        sjob *last = s->heap[--s->heap_len];
        if (i == s->heap_len)
                return;
        heap_set(s, i, last);
        sift_down(s, i);
        sift_up(s, last->heap_index);
}

/* Puts j in the heap for its next time, if it has one. */
static void schedule(lk_scheduler *s, sjob *j, int64_t next) {
        j->next = next;
        if (next == LK_CRON_NONE)
                return;
        j->due = next * LK_USEC_PER_SEC;
        heap_push(s, j);
}

/* ---- sorted id arrays ---- */

/* The position of id in jobs, or where it would go; *found says which. */
static size_t job_slot(const lk_scheduler *s, int64_t id, bool *found) {
        size_t lo = 0, hi = s->job_count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->jobs[mid]->id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < s->job_count && s->jobs[lo]->id == id;
        return lo;
}

static sjob *find_job(const lk_scheduler *s, int64_t id) {
        bool found;
        size_t i = job_slot(s, id, &found);
        return found ? s->jobs[i] : NULL;
}

static void index_insert(lk_scheduler *s, size_t at, sjob *j) {
        if (s->job_count == s->job_cap) {
                s->job_cap = s->job_cap ? 2 * s->job_cap : 16;
                s->jobs = lk_realloc(s->jobs, s->job_cap * sizeof *s->jobs);
        }
        memmove(s->jobs + at + 1, s->jobs + at, (s->job_count - at) * sizeof *s->jobs);
        s->jobs[at] = j;
        s->job_count++;
}

static void index_erase(lk_scheduler *s, size_t at) {
        memmove(s->jobs + at, s->jobs + at + 1, (s->job_count - at - 1) * sizeof *s->jobs);
        s->job_count--;
}

/* Records id in the in-memory set; false when it was there already. */
static bool remember_fired(lk_scheduler *s, int64_t id) {
        size_t lo = 0, hi = s->fired_once_count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (s->fired_once[mid] < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < s->fired_once_count && s->fired_once[lo] == id)
                return false;
        if (s->fired_once_count == s->fired_once_cap) {
                s->fired_once_cap = s->fired_once_cap ? 2 * s->fired_once_cap : 16;
                s->fired_once = lk_realloc(s->fired_once, s->fired_once_cap * sizeof *s->fired_once);
        }
        memmove(s->fired_once + lo + 1, s->fired_once + lo, (s->fired_once_count - lo) * sizeof *s->fired_once);
        s->fired_once[lo] = id;
        s->fired_once_count++;
        return true;
}

/* ---- late wake-ups ---- */

/* Walks from *t through the schedule's times up to now_s, at most steps
 * of them; true when it reached the last one (left in *t, the one after
 * it in *after). */
static bool walk_to(const lk_cron *cron, int64_t *t, int64_t *after, int64_t now_s, int steps) {
        for (int i = 0; i < steps; i++) {
                int64_t n = lk_cron_next(cron, *t);
                if (n == LK_CRON_NONE || n > now_s) {
                        *after = n;
                        return true;
                }
                *t = n;
        }
        return false;
}

/* The latest of the schedule's times from scheduled (which is due) up to
 * now_s, and in *after the one after it.  Far behind, it looks back from
 * now in doubling windows for a time, then walks forward from it. */
static int64_t latest_due(const lk_cron *cron, int64_t scheduled, int64_t now_s, int64_t *after) {
        int64_t t = scheduled;
        if (walk_to(cron, &t, after, now_s, CATCH_UP_STEPS))
                return t;
        for (int64_t k = 1; now_s - k > t; k *= 2) {
                int64_t n = lk_cron_next(cron, now_s - k);
                if (n != LK_CRON_NONE && n <= now_s) {
                        t = n;
                        break;
                }
        }
        if (!walk_to(cron, &t, after, now_s, CATCH_UP_STEPS))
                *after = lk_cron_next(cron, t);
        return t;
}

/* ---- firing ---- */

/* Puts j's firing for scheduled in the batch, unless it has its maximum
 * of runs in progress. */
static void batch_add(lk_scheduler *s, sjob *j, int64_t scheduled) {
        if (j->max_runs && j->in_flight >= j->max_runs) {
                j->skipped++;
                return;
        }
        j->in_flight++;
        j->fired++;
        j->firing++;
        if (s->batch_len == s->batch_cap) {
                s->batch_cap = s->batch_cap ? 2 * s->batch_cap : 64;
                s->batch = lk_realloc(s->batch, s->batch_cap * sizeof *s->batch);
        }
        s->batch[s->batch_len++] = (due_firing){j, scheduled};
}

/* Ends what held j (a firing or a record), freeing it if it was removed
 * from its own callback meanwhile. */
static void release(sjob *j) {
        if (--j->firing == 0 && j->timer_frees)
                job_free(j);
}

/* Calls the batch's callbacks with the lock released.  A job removed
 * meanwhile is skipped; lk_scheduler_remove waits for the batch, so none
 * fires after remove returns. */
static void fire_batch(lk_scheduler *s) {
        size_t n = s->batch_len;
        if (n == 0)
                return;
        due_firing *batch = s->batch;
        pthread_mutex_unlock(&s->lock);
        for (size_t i = 0; i < n; i++) {
                sjob *j = batch[i].job;
                if (!atomic_load(&j->removed))
                        j->fire(j->arg, j->id, batch[i].scheduled);
        }
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < n; i++)
                release(batch[i].job);
        s->batch_len = 0;
        pthread_cond_broadcast(&s->idle);
}

typedef struct fired_row {
        int64_t job_id;
        lk_usec at;
} fired_row;

static int insert_fired(lk_db *db, void *arg, lk_err *err) {
        const fired_row *row = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO cron_fired (job_id, fired_at) VALUES ($1, $2)", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, row->job_id);
        lk_stmt_bind_time(st, 2, row->at);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* Records the firing in the store, with the lock released (j cannot be
 * freed meanwhile: remove waits while it is firing).  0, -EEXIST when it
 * had fired before, or another error. */
static int record_stored(lk_scheduler *s, sjob *j, lk_usec now) {
        j->firing++;
        pthread_mutex_unlock(&s->lock);
        lk_err err = LK_ERR_INIT;
        fired_row row = {j->id, now};
        int r = lk_store_tx(s->store, insert_fired, &row, &err);
        pthread_mutex_lock(&s->lock);
        j->firing--;
        pthread_cond_broadcast(&s->idle);
        bool was_failing = s->record_error != NULL;
        lk_freep(&s->record_error);
        if (r < 0 && r != -EEXIST) {
                s->record_error = lk_asprintf("cannot record the firing of one-time job %lld: %s",
                                              (long long)j->id, err.msg);
                /* The job is held back until the record is made. */
                if (!was_failing)
                        lk_log_error(s->log, "Cannot record a one-time cron job's firing; retrying",
                                     LK_INT("job_id", j->id), LK_ERROR(&err));
        }
        return r;
}

static void fire_once(lk_scheduler *s, sjob *j, lk_usec now) {
        int r = s->store ? record_stored(s, j, now) : (remember_fired(s, j->id) ? 0 : -EEXIST);
        if (atomic_load(&j->removed) || r == -EEXIST)
                return; /* a remover waits for the record, then frees it */
        if (r < 0) {
                j->due = now + RECORD_RETRY;
                heap_push(s, j);
                return;
        }
        batch_add(s, j, j->next);
}

/* j is the heap's top and due at now. */
static void take_due(lk_scheduler *s, sjob *j, lk_usec now) {
        heap_remove(s, j);
        if (j->once) {
                fire_once(s, j, now);
                return;
        }
        int64_t next;
        int64_t scheduled = latest_due(j->cron, j->next, floor_seconds(now), &next);
        schedule(s, j, next);
        batch_add(s, j, scheduled);
}

static void sleep_until_due(lk_scheduler *s, lk_usec now) {
        lk_usec wait = MAX_SLEEP;
        if (s->heap_len && s->heap[0]->due - now < wait)
                wait = s->heap[0]->due - now;
        struct timespec deadline = lk_deadline_after(wait);
        pthread_cond_timedwait(&s->changed, &s->lock, &deadline);
}

static void *timer_loop(void *arg) {
        lk_scheduler *s = arg;
        pthread_setname_np(pthread_self(), "lk-scheduler");
        /* A cron job's second is a promise: wake within a microsecond of
         * it, not within the kernel's default 50 us timer slack. */
        prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
        pthread_mutex_lock(&s->lock);
        while (!s->stop) {
                uint64_t pass = s->poke_requested;
                lk_usec now = clock_now(s);
                while (!s->stop && s->heap_len && s->heap[0]->due <= now)
                        take_due(s, s->heap[0], now);
                fire_batch(s);
                now = clock_now(s);
                s->poke_done = pass;
                pthread_cond_broadcast(&s->idle);
                if (!s->stop && s->poke_requested == pass)
                        sleep_until_due(s, now);
        }
        s->poke_done = s->poke_requested;
        pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

/* ---- the service ---- */

static int start_locked(void *arg, lk_err *err) {
        lk_scheduler *s = arg;
        pthread_mutex_lock(&s->lock);
        s->stop = false;
        int t = pthread_create(&s->thread, NULL, timer_loop, s);
        s->thread_running = t == 0;
        pthread_mutex_unlock(&s->lock);
        if (t != 0)
                return lk_err_set(err, -t, "%s: cannot start its thread: %s", LK_SCHEDULER_NAME, strerror(t));
        return 0;
}

static int scheduler_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        (void)ctx;
        lk_scheduler *s = of_service(service);
        return lk_once_start(&s->once, LK_SCHEDULER_NAME, start_locked, s, err);
}

static void stop_thread(lk_scheduler *s) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_broadcast(&s->changed);
        bool running = s->thread_running;
        pthread_mutex_unlock(&s->lock);
        if (running)
                pthread_join(s->thread, NULL);
        pthread_mutex_lock(&s->lock);
        s->thread_running = false;
        pthread_mutex_unlock(&s->lock);
}

static int stop_locked(void *arg, lk_err *err) {
        (void)err;
        stop_thread(arg);
        return 0;
}

static int scheduler_close(lk_service *service, lk_err *err) {
        lk_scheduler *s = of_service(service);
        return lk_once_stop(&s->once, LK_SCHEDULER_NAME, stop_locked, s, err);
}

static void scheduler_health(lk_service *service, lk_health_report *report) {
        lk_scheduler *s = of_service(service);
        lk_err err = LK_ERR_INIT;
        if (lk_once_healthy(&s->once, &err) < 0) {
                lk_health_report_set(report, LK_SCHEDULER_NAME, err.msg);
                return;
        }
        char text[LK_ERR_MSG_MAX] = "";
        pthread_mutex_lock(&s->lock);
        if (s->record_error)
                snprintf(text, sizeof text, "%s", s->record_error);
        pthread_mutex_unlock(&s->lock);
        lk_health_report_set(report, LK_SCHEDULER_NAME, *text ? text : NULL);
}

static const lk_service_vtable scheduler_vtable = {
        .start = scheduler_start,
        .close = scheduler_close,
        .health_report = scheduler_health,
};

int lk_scheduler_new(const lk_scheduler_options *options, lk_scheduler **ret_scheduler, lk_err *err) {
        (void)err;
        lk_scheduler *s = lk_calloc(1, sizeof *s);
        lk_once_init(&s->once);
        s->service = (lk_service){.vtable = &scheduler_vtable, .name = LK_SCHEDULER_NAME, .once = &s->once};
        if (options) {
                s->log = options->log;
                s->now = options->now;
                s->now_arg = options->now_arg;
                s->store = options->store;
        }
        pthread_mutex_init(&s->lock, NULL);
        lk_cond_init_monotonic(&s->changed);
        lk_cond_init_monotonic(&s->idle);
        *ret_scheduler = s;
        return 0;
}

lk_scheduler *lk_scheduler_free(lk_scheduler *s) {
        if (!s)
                return NULL;
        stop_thread(s);
        for (size_t i = 0; i < s->job_count; i++)
                job_free(s->jobs[i]);
        lk_free(s->jobs);
        lk_free(s->heap);
        lk_free(s->batch);
        lk_free(s->fired_once);
        lk_free(s->record_error);
        pthread_cond_destroy(&s->idle);
        pthread_cond_destroy(&s->changed);
        pthread_mutex_destroy(&s->lock);
        lk_once_done(&s->once);
        lk_free(s);
        return NULL;
}

lk_service *lk_scheduler_service(lk_scheduler *s) {
        return &s->service;
}

/* ---- jobs ---- */

int lk_scheduler_add(lk_scheduler *s, int64_t job_id, const char *schedule_text, unsigned max_concurrent_runs,
                     lk_scheduler_fire_fn fire, void *arg, lk_err *err) {
        lk_cron *cron;
        int r = lk_cron_parse(schedule_text, &cron, err);
        if (r < 0)
                return r;
        sjob *j = lk_calloc(1, sizeof *j);
        *j = (sjob){.id = job_id, .cron = cron, .once = strncmp(schedule_text, "@at ", 4) == 0,
                    .max_runs = max_concurrent_runs, .heap_index = NOT_IN_HEAP, .fire = fire, .arg = arg};
        pthread_mutex_lock(&s->lock);
        bool found;
        size_t at = job_slot(s, job_id, &found);
        if (found) {
                pthread_mutex_unlock(&s->lock);
                job_free(j);
                return lk_err_set(err, -EEXIST, "job %lld is already scheduled", (long long)job_id);
        }
        index_insert(s, at, j);
        /* A one-time job is due at its instant even when that has passed:
         * it fires at the first chance unless it fired before. */
        schedule(s, j, lk_cron_next(cron, j->once ? LK_CRON_MIN_TIME : floor_seconds(clock_now(s))));
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static bool on_timer_thread(const lk_scheduler *s) {
        return s->thread_running && pthread_equal(pthread_self(), s->thread);
}

void lk_scheduler_remove(lk_scheduler *s, int64_t job_id) {
        pthread_mutex_lock(&s->lock);
        bool found;
        size_t at = job_slot(s, job_id, &found);
        if (!found) {
                pthread_mutex_unlock(&s->lock);
                return;
        }
        sjob *j = s->jobs[at];
        index_erase(s, at);
        if (j->heap_index != NOT_IN_HEAP)
                heap_remove(s, j);
        atomic_store(&j->removed, true);
        if (j->firing && on_timer_thread(s)) {
                j->timer_frees = true;
                pthread_mutex_unlock(&s->lock);
                return;
        }
        while (j->firing)
                pthread_cond_wait(&s->idle, &s->lock);
        pthread_mutex_unlock(&s->lock);
        job_free(j);
}

void lk_scheduler_run_done(lk_scheduler *s, int64_t job_id) {
        pthread_mutex_lock(&s->lock);
        sjob *j = find_job(s, job_id);
        if (j && j->in_flight)
                j->in_flight--;
        pthread_mutex_unlock(&s->lock);
}

static void metric_family(lk_scheduler *s, lk_buf *out, const char *name, const char *help, bool skipped) {
        lk_prom_family(out, name, "counter", help);
        for (size_t i = 0; i < s->job_count; i++) {
                const sjob *j = s->jobs[i];
                lk_buf_printf(out, "%s{job_id=\"%lld\"} %llu\n", name, (long long)j->id,
                              (unsigned long long)(skipped ? j->skipped : j->fired));
        }
}

void lk_scheduler_metrics(lk_scheduler *s, lk_buf *out) {
        pthread_mutex_lock(&s->lock);
        metric_family(s, out, "scheduler_runs_fired_total", "Cron job runs started by the scheduler.", false);
        metric_family(s, out, "scheduler_runs_skipped_total",
                      "Cron job runs skipped because the job had maxConcurrentRuns runs in progress.", true);
        pthread_mutex_unlock(&s->lock);
}

void lk__scheduler_poke(lk_scheduler *s) {
        pthread_mutex_lock(&s->lock);
        uint64_t pass = ++s->poke_requested;
        pthread_cond_broadcast(&s->changed);
        while (s->thread_running && !s->stop && s->poke_done < pass)
                pthread_cond_wait(&s->idle, &s->lock);
        pthread_mutex_unlock(&s->lock);
}
