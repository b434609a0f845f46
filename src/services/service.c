/* StartStopOnce and the service dispatch (see include/linkd/service.h). */
#include "linkd/service.h"

#include <errno.h>

static const char *const state_names[] = {
        "Unstarted", "Started", "Starting", "StartFailed", "Stopping", "Stopped", "StopFailed",
};

const char *lk_state_name(lk_state state) {
        if ((unsigned)state < sizeof state_names / sizeof state_names[0])
                return state_names[state];
        return "unrecognized state";
}

void lk_once_init(lk_once *once) {
        atomic_init(&once->state, LK_STATE_UNSTARTED);
        pthread_rwlock_init(&once->lock, NULL);
}

void lk_once_done(lk_once *once) {
        pthread_rwlock_destroy(&once->lock);
}

lk_state lk_once_state(lk_once *once) {
        return (lk_state)atomic_load(&once->state);
}

static void set_state(lk_once *once, lk_state from, lk_state to) {
        int expected = from;
        /* Only the holder of the exclusive lock moves out of Starting and
         * Stopping, so this cannot fail; if it did, the state machine is
         * corrupt and continuing would hide it. */
        if (!atomic_compare_exchange_strong(&once->state, &expected, to))
                __builtin_trap();
}

int lk_once_start(lk_once *once, const char *name, lk_once_fn fn, void *arg, lk_err *err) {
        int expected = LK_STATE_UNSTARTED;
        if (!atomic_compare_exchange_strong(&once->state, &expected, LK_STATE_STARTING))
                return lk_err_set(err, -EALREADY, "%s has already been started once; state=%s", name,
                                  lk_state_name((lk_state)expected));
        pthread_rwlock_wrlock(&once->lock);
        int r = fn(arg, err);
        set_state(once, LK_STATE_STARTING, r < 0 ? LK_STATE_START_FAILED : LK_STATE_STARTED);
        pthread_rwlock_unlock(&once->lock);
        return r < 0 ? r : 0;
}

static int stop_refused(const char *name, lk_state state, lk_err *err) {
        switch (state) {
        case LK_STATE_STOPPED:
                return lk_err_set(err, -EALREADY, "%s has already been stopped: already stopped", name);
        case LK_STATE_UNSTARTED:
                return lk_err_set(err, -ENOTCONN, "%s has not been started: cannot stop unstarted service", name);
        default:
                return lk_err_set(err, -EBUSY, "%s cannot be stopped from this state; state=%s", name,
                                  lk_state_name(state));
        }
}

int lk_once_stop(lk_once *once, const char *name, lk_once_fn fn, void *arg, lk_err *err) {
        pthread_rwlock_wrlock(&once->lock);
        int expected = LK_STATE_STARTED;
        if (!atomic_compare_exchange_strong(&once->state, &expected, LK_STATE_STOPPING)) {
                pthread_rwlock_unlock(&once->lock);
                return stop_refused(name, (lk_state)expected, err);
        }
        int r = fn(arg, err);
        set_state(once, LK_STATE_STOPPING, r < 0 ? LK_STATE_STOP_FAILED : LK_STATE_STOPPED);
        pthread_rwlock_unlock(&once->lock);
        return r < 0 ? r : 0;
}

bool lk_once_if_started(lk_once *once, void (*fn)(void *arg), void *arg) {
        pthread_rwlock_rdlock(&once->lock);
        bool run = lk_once_state(once) == LK_STATE_STARTED;
        if (run)
                fn(arg);
        pthread_rwlock_unlock(&once->lock);
        return run;
}

bool lk_once_if_not_stopped(lk_once *once, void (*fn)(void *arg), void *arg) {
        pthread_rwlock_rdlock(&once->lock);
        bool run = lk_once_state(once) != LK_STATE_STOPPED;
        if (run)
                fn(arg);
        pthread_rwlock_unlock(&once->lock);
        return run;
}

int lk_once_ready(lk_once *once, lk_err *err) {
        lk_state state = lk_once_state(once);
        if (state == LK_STATE_STARTED)
                return 0;
        return lk_err_set(err, -EAGAIN, "service is \"%s\", not started", lk_state_name(state));
}

int lk_once_healthy(lk_once *once, lk_err *err) {
        return lk_once_ready(once, err);
}

int lk_service_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        return service->vtable->start(service, ctx, err);
}

int lk_service_close(lk_service *service, lk_err *err) {
        return service->vtable->close(service, err);
}

int lk_service_ready(lk_service *service, lk_err *err) {
        if (service->vtable->ready)
                return service->vtable->ready(service, err);
        return service->once ? lk_once_ready(service->once, err) : 0;
}

int lk_service_healthy(lk_service *service, lk_err *err) {
        if (service->vtable->healthy)
                return service->vtable->healthy(service, err);
        return service->once ? lk_once_healthy(service->once, err) : 0;
}

void lk_service_health_report(lk_service *service, lk_health_report *report) {
        if (service->vtable->health_report) {
                service->vtable->health_report(service, report);
                return;
        }
        lk_err err = LK_ERR_INIT;
        int r = lk_service_healthy(service, &err);
        lk_health_report_set(report, service->name, r < 0 ? lk_err_msg(&err) : NULL);
}
