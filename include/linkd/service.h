/* The service interface and its lifecycle, after Chainlink's ServiceCtx and
 * utils.StartStopOnce.
 *
 * A service is a long-running piece of the node.  It implements
 * lk_service_vtable and usually embeds an lk_once, the state machine that
 * makes Start happen once and Close happen once, with Chainlink's error
 * texts.  The Application starts services in a declared order and closes
 * them in reverse; the health Checker polls their ready/health callbacks. */
#ifndef LINKD_SERVICE_H
#define LINKD_SERVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "linkd/ctx.h"
#include "linkd/err.h"
#include "linkd/health.h"

/* The seven states, numbered as Chainlink numbers them. */
typedef enum lk_state {
        LK_STATE_UNSTARTED = 0,
        LK_STATE_STARTED = 1,
        LK_STATE_STARTING = 2,
        LK_STATE_START_FAILED = 3,
        LK_STATE_STOPPING = 4,
        LK_STATE_STOPPED = 5,
        LK_STATE_STOP_FAILED = 6,
} lk_state;

/* "Unstarted", "Started", ... or "unrecognized state" for other values. */
const char *lk_state_name(lk_state state);

/* StartStopOnce.  Start: the first caller moves Unstarted -> Starting
 * without waiting (so concurrent callers fail fast), runs fn under the
 * exclusive lock, and ends in Started or StartFailed.  Stop takes the
 * exclusive lock first, so a stop racing a start waits for the start to
 * finish, then moves Started -> Stopping -> Stopped or StopFailed.  A
 * failed start can be neither retried nor stopped, as in Chainlink. */
typedef struct lk_once {
        atomic_int state;
        pthread_rwlock_t lock;
} lk_once;

typedef int (*lk_once_fn)(void *arg, lk_err *err);

void lk_once_init(lk_once *once);
void lk_once_done(lk_once *once);

/* Errors: "<name> has already been started once; state=<S>" (-EALREADY),
 * otherwise whatever fn returned. */
int lk_once_start(lk_once *once, const char *name, lk_once_fn fn, void *arg, lk_err *err);

/* Errors: "<name> has already been stopped: already stopped" (-EALREADY),
 * "<name> has not been started: cannot stop unstarted service" (-ENOTCONN),
 * "<name> cannot be stopped from this state; state=<S>" (-EBUSY),
 * otherwise whatever fn returned. */
int lk_once_stop(lk_once *once, const char *name, lk_once_fn fn, void *arg, lk_err *err);

lk_state lk_once_state(lk_once *once);

/* Runs fn under the shared lock if the state is Started; returns whether
 * it ran.  fn must not start or stop the same lk_once. */
bool lk_once_if_started(lk_once *once, void (*fn)(void *arg), void *arg);
/* Runs fn under the shared lock unless the state is Stopped. */
bool lk_once_if_not_stopped(lk_once *once, void (*fn)(void *arg), void *arg);

/* 0 when Started; otherwise -EAGAIN and `service is "<S>", not started`. */
int lk_once_ready(lk_once *once, lk_err *err);
int lk_once_healthy(lk_once *once, lk_err *err);

typedef struct lk_service lk_service;

typedef struct lk_service_vtable {
        /* Required.  Must return promptly once ctx is cancelled; must not
         * keep ctx after returning. */
        int (*start)(lk_service *service, lk_ctx *ctx, lk_err *err);
        /* Required.  After close the service cannot be started again. */
        int (*close)(lk_service *service, lk_err *err);
        /* Optional.  NULL: the embedded lk_once decides, or always ready
         * when there is none. */
        int (*ready)(lk_service *service, lk_err *err);
        /* Optional, as ready. */
        int (*healthy)(lk_service *service, lk_err *err);
        /* Optional.  Adds this service's entries (its own name and its
         * sub-services' "<name>.<Sub>") to report.  NULL: one entry,
         * name -> healthy().  Must be fast: report pre-computed state. */
        void (*health_report)(lk_service *service, lk_health_report *report);
} lk_service_vtable;

/* Embed first in the implementation's struct, or point at it. */
struct lk_service {
        const lk_service_vtable *vtable;
        const char *name; /* fully qualified; owned by the implementation */
        lk_once *once;    /* optional: the state machine ready/healthy default to */
};

int lk_service_start(lk_service *service, lk_ctx *ctx, lk_err *err);
int lk_service_close(lk_service *service, lk_err *err);
int lk_service_ready(lk_service *service, lk_err *err);
int lk_service_healthy(lk_service *service, lk_err *err);
void lk_service_health_report(lk_service *service, lk_health_report *report);

#endif
