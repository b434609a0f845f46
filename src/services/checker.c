/* The health Checker (see include/linkd/checker.h).
 *
 * Locks, always taken in this order when nested:
 *   poll_lock      held for a whole poll; Unregister takes it so that it
 *                  returns only when no poll can still touch the service.
 *   registry_lock  the registrations and their last results.
 *   state_lock     the published snapshot, the wake-up flags and what the
 *                  poll is doing right now (for liveness). */
#include "linkd/checker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"

typedef struct registration {
        char *name;
        lk_service *service;
        bool polled;
        char *ready_error;        /* last poll; NULL = ready */
        lk_health_report *report; /* last poll */
} registration;

struct lk_checker {
        lk_service service;
        lk_once once;
        lk_usec interval;
        lk_log *log;

        pthread_mutex_t poll_lock;

        pthread_mutex_t registry_lock;
        registration *regs;
        size_t len, cap;

        pthread_mutex_t state_lock;
        pthread_cond_t wake;
        lk_health_snapshot *current;
        uint64_t generation;
        bool stop, poll_requested;
        lk_usec poll_started_at; /* monotonic; 0 when idle */
        char polling[128];       /* the service a poll is inside */

        pthread_t thread;
        bool thread_running;
};

lk_health_snapshot *lk_health_snapshot_ref(lk_health_snapshot *snapshot) {
        atomic_fetch_add(&snapshot->refs, 1);
        return snapshot;
}

lk_health_snapshot *lk_health_snapshot_unref(lk_health_snapshot *snapshot) {
        if (!snapshot || atomic_fetch_sub(&snapshot->refs, 1) != 1)
                return NULL;
        lk_health_report_free(snapshot->readiness);
        lk_health_report_free(snapshot->health);
        lk_free(snapshot);
        return NULL;
}

static void log_transitions(lk_checker *c, const lk_health_snapshot *old, const lk_health_snapshot *now) {
        for (size_t i = 0; i < lk_health_report_len(now->health); i++) {
                const char *name = lk_health_report_name(now->health, i);
                const char *error = lk_health_report_error(now->health, i);
                const char *old_error = NULL;
                if (strcmp(name, LK_CHECKER_NAME) == 0)
                        continue; /* its own state changes are the lifecycle, logged by the Application */
                bool known = old && lk_health_report_get(old->health, name, &old_error);
                if (error && (!known || !old_error || strcmp(old_error, error) != 0))
                        lk_log_warn(c->log, "Health check failing", LK_STR("check", name), LK_STR("err", error));
                else if (!error && known && old_error)
                        lk_log_info(c->log, "Health check passing", LK_STR("check", name));
        }
}

/* Builds a snapshot from the registrations' last results plus the
 * checker's own state, and publishes it.  Caller holds registry_lock. */
static void publish_locked(lk_checker *c) {
        lk_health_snapshot *s = lk_calloc(1, sizeof *s);
        atomic_init(&s->refs, 1);
        s->readiness = lk_health_report_new();
        s->health = lk_health_report_new();
        s->taken_at = lk_now_realtime();
        lk_err own = LK_ERR_INIT;
        lk_once_ready(&c->once, &own);
        lk_health_report_set(s->readiness, LK_CHECKER_NAME, lk_err_is_set(&own) ? own.msg : NULL);
        lk_health_report_set(s->health, LK_CHECKER_NAME, lk_err_is_set(&own) ? own.msg : NULL);
        for (size_t i = 0; i < c->len; i++) {
                const registration *r = &c->regs[i];
                if (!r->polled)
                        continue;
                lk_health_report_set(s->readiness, r->name, r->ready_error);
                lk_health_report_copy(s->health, r->report);
        }
        s->ready = lk_health_report_passing(s->readiness);
        s->healthy = lk_health_report_passing(s->health);

        pthread_mutex_lock(&c->state_lock);
        s->generation = ++c->generation;
        lk_health_snapshot *old = c->current;
        c->current = s;
        pthread_mutex_unlock(&c->state_lock);
        log_transitions(c, old, s);
        lk_health_snapshot_unref(old);
}

static void publish(lk_checker *c) {
        pthread_mutex_lock(&c->registry_lock);
        publish_locked(c);
        pthread_mutex_unlock(&c->registry_lock);
}

typedef struct poll_result {
        const char *name;    /* borrowed from the registration */
        lk_service *service;
        char *ready_error;
        lk_health_report *report;
} poll_result;

static void set_polling(lk_checker *c, const char *name) {
        pthread_mutex_lock(&c->state_lock);
        snprintf(c->polling, sizeof c->polling, "%s", name ? name : "");
        c->poll_started_at = name ? lk_now_monotonic() : 0;
        pthread_mutex_unlock(&c->state_lock);
}

static void poll_one(lk_checker *c, poll_result *p) {
        set_polling(c, p->name);
        lk_err err = LK_ERR_INIT;
        if (lk_service_ready(p->service, &err) < 0)
                p->ready_error = lk_strdup(lk_err_is_set(&err) ? err.msg : "not ready");
        p->report = lk_health_report_new();
        lk_service_health_report(p->service, p->report);
}

/* Polls every registered service without holding registry_lock while
 * calling into them, then stores the results and publishes. */
static void poll_all(lk_checker *c) {
        pthread_mutex_lock(&c->poll_lock);
        pthread_mutex_lock(&c->registry_lock);
        size_t n = c->len;
        poll_result *results = lk_calloc(n ? n : 1, sizeof *results);
        for (size_t i = 0; i < n; i++)
                results[i] = (poll_result){.name = c->regs[i].name, .service = c->regs[i].service};
        pthread_mutex_unlock(&c->registry_lock);

        for (size_t i = 0; i < n; i++)
                poll_one(c, &results[i]);
        set_polling(c, NULL);

        pthread_mutex_lock(&c->registry_lock);
        /* Registrations only move when one is removed, and removal waits
         * for poll_lock, so the first n are the ones polled. */
        for (size_t i = 0; i < n; i++) {
                registration *r = &c->regs[i];
                lk_free(r->ready_error);
                lk_health_report_free(r->report);
                r->ready_error = results[i].ready_error;
                r->report = results[i].report;
                r->polled = true;
        }
        publish_locked(c);
        pthread_mutex_unlock(&c->registry_lock);
        pthread_mutex_unlock(&c->poll_lock);
        lk_free(results);
}

static void *poll_loop(void *arg) {
        lk_checker *c = arg;
        for (;;) {
                pthread_mutex_lock(&c->state_lock);
                struct timespec deadline = lk_deadline_after(c->interval);
                while (!c->stop && !c->poll_requested)
                        if (pthread_cond_timedwait(&c->wake, &c->state_lock, &deadline) == ETIMEDOUT)
                                break;
                bool stop = c->stop;
                c->poll_requested = false;
                pthread_mutex_unlock(&c->state_lock);
                if (stop)
                        return NULL;
                poll_all(c);
        }
}

/* Starts the polling thread (once) after a first poll. */
static int begin_polling(lk_checker *c, lk_err *err) {
        pthread_mutex_lock(&c->state_lock);
        bool running = c->thread_running;
        c->stop = false;
        pthread_mutex_unlock(&c->state_lock);
        poll_all(c);
        if (running)
                return 0;
        int r = pthread_create(&c->thread, NULL, poll_loop, c);
        if (r != 0)
                return lk_err_set(err, -r, "%s: cannot start polling thread: %s", LK_CHECKER_NAME, strerror(r));
        pthread_mutex_lock(&c->state_lock);
        c->thread_running = true;
        pthread_mutex_unlock(&c->state_lock);
        return 0;
}

int lk_checker_begin_polling(lk_checker *c, lk_err *err) {
        return begin_polling(c, err);
}

static int start_locked(void *arg, lk_err *err) {
        return begin_polling(arg, err);
}

static int checker_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        lk_checker *c = (lk_checker *)service;
        int r = lk_once_start(&c->once, LK_CHECKER_NAME, start_locked, c, err);
        publish(c); /* now that the state says whether we started */
        return r;
}

static void end_polling(lk_checker *c) {
        pthread_mutex_lock(&c->state_lock);
        bool running = c->thread_running;
        c->stop = true;
        c->thread_running = false;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->state_lock);
        if (running)
                pthread_join(c->thread, NULL);
}

static int stop_locked(void *arg, lk_err *err) {
        lk_checker *c = arg;
        publish(c); /* "Stopping": probes turn unready before anything closes */
        end_polling(c);
        return 0;
}

static int checker_close(lk_service *service, lk_err *err) {
        lk_checker *c = (lk_checker *)service;
        int r = lk_once_stop(&c->once, LK_CHECKER_NAME, stop_locked, c, err);
        publish(c);
        return r;
}

static const lk_service_vtable checker_vtable = {
        .start = checker_start,
        .close = checker_close,
};

lk_checker *lk_checker_new(const lk_checker_options *options) {
        lk_checker *c = lk_calloc(1, sizeof *c);
        lk_once_init(&c->once);
        c->service = (lk_service){.vtable = &checker_vtable, .name = LK_CHECKER_NAME, .once = &c->once};
        c->interval = options && options->poll_interval > 0 ? options->poll_interval : LK_CHECKER_DEFAULT_INTERVAL;
        c->log = options ? options->log : NULL;
        pthread_mutex_init(&c->poll_lock, NULL);
        pthread_mutex_init(&c->registry_lock, NULL);
        pthread_mutex_init(&c->state_lock, NULL);
        lk_cond_init_monotonic(&c->wake);
        publish(c);
        return c;
}

lk_checker *lk_checker_free(lk_checker *c) {
        if (!c)
                return NULL;
        end_polling(c); /* polling that began before a start that never came */
        for (size_t i = 0; i < c->len; i++) {
                lk_free(c->regs[i].name);
                lk_free(c->regs[i].ready_error);
                lk_health_report_free(c->regs[i].report);
        }
        lk_free(c->regs);
        lk_health_snapshot_unref(c->current);
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->state_lock);
        pthread_mutex_destroy(&c->registry_lock);
        pthread_mutex_destroy(&c->poll_lock);
        lk_once_done(&c->once);
        lk_free(c);
        return NULL;
}

lk_service *lk_checker_service(lk_checker *c) {
        return &c->service;
}

static registration *find_locked(lk_checker *c, const char *name) {
        for (size_t i = 0; i < c->len; i++)
                if (strcmp(c->regs[i].name, name) == 0)
                        return &c->regs[i];
        return NULL;
}

int lk_checker_register(lk_checker *c, const char *name, lk_service *service, lk_err *err) {
        if (!name || !*name || !service)
                return lk_err_set(err, -EINVAL, "misconfigured check \"%s\" for %s", name ? name : "",
                                  service ? service->name : "<nil>");
        pthread_mutex_lock(&c->registry_lock);
        if (find_locked(c, name) || strcmp(name, LK_CHECKER_NAME) == 0) {
                pthread_mutex_unlock(&c->registry_lock);
                return lk_err_set(err, -EINVAL, "duplicate name \"%s\": service names must be unique", name);
        }
        if (c->len == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 16;
                c->regs = lk_realloc(c->regs, c->cap * sizeof *c->regs);
        }
        c->regs[c->len++] = (registration){.name = lk_strdup(name), .service = service};
        pthread_mutex_unlock(&c->registry_lock);
        pthread_mutex_lock(&c->state_lock);
        bool polling = c->thread_running;
        pthread_mutex_unlock(&c->state_lock);
        if (polling)
                lk_checker_poll_soon(c);
        return 0;
}

int lk_checker_unregister(lk_checker *c, const char *name, lk_err *err) {
        if (!name || !*name)
                return lk_err_set(err, -EINVAL, "name cannot be empty");
        pthread_mutex_lock(&c->poll_lock);
        pthread_mutex_lock(&c->registry_lock);
        registration *r = find_locked(c, name);
        int result = 0;
        if (r) {
                lk_free(r->name);
                lk_free(r->ready_error);
                lk_health_report_free(r->report);
                size_t at = (size_t)(r - c->regs);
                memmove(r, r + 1, (c->len - at - 1) * sizeof *r);
                c->len--;
                publish_locked(c);
        } else {
                result = lk_err_set(err, -ENOENT, "no check named \"%s\"", name);
        }
        pthread_mutex_unlock(&c->registry_lock);
        pthread_mutex_unlock(&c->poll_lock);
        return result;
}

lk_health_snapshot *lk_checker_snapshot(lk_checker *c) {
        pthread_mutex_lock(&c->state_lock);
        lk_health_snapshot *s = lk_health_snapshot_ref(c->current);
        pthread_mutex_unlock(&c->state_lock);
        return s;
}

static bool snapshot_copy(lk_checker *c, bool readiness, lk_health_report **ret_errors) {
        lk_health_snapshot *s = lk_checker_snapshot(c);
        bool ok = readiness ? s->ready : s->healthy;
        if (ret_errors) {
                *ret_errors = lk_health_report_new();
                lk_health_report_copy(*ret_errors, readiness ? s->readiness : s->health);
        }
        lk_health_snapshot_unref(s);
        return ok;
}

bool lk_checker_is_ready(lk_checker *c, lk_health_report **ret_errors) {
        return snapshot_copy(c, true, ret_errors);
}

bool lk_checker_is_healthy(lk_checker *c, lk_health_report **ret_errors) {
        return snapshot_copy(c, false, ret_errors);
}

bool lk_checker_alive(lk_checker *c, char *why, size_t why_size) {
        lk_usec limit = 2 * c->interval + LK_USEC_PER_SEC;
        pthread_mutex_lock(&c->state_lock);
        lk_usec started = c->poll_started_at;
        bool alive = started == 0 || lk_now_monotonic() - started < limit;
        if (!alive && why)
                snprintf(why, why_size, "health poll stuck in %s for %llds", c->polling,
                         (long long)((lk_now_monotonic() - started) / LK_USEC_PER_SEC));
        pthread_mutex_unlock(&c->state_lock);
        return alive;
}

void lk_checker_poll_soon(lk_checker *c) {
        pthread_mutex_lock(&c->state_lock);
        c->poll_requested = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->state_lock);
}
