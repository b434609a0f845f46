/* The health Checker, after core/services/checker.go.
 *
 * Services are registered under a name.  The checker polls every service's
 * ready and health callbacks once when it starts and then every
 * poll_interval (Chainlink: 15 s), on its own thread, and publishes the
 * results as an immutable snapshot.  Probes only ever read the latest
 * snapshot, so a slow or stuck service can never block /readyz or /health.
 *
 * Differences from Chainlink, on purpose: duplicate and empty names are
 * errors (Chainlink silently overwrites duplicates); Unregister removes the
 * service's cached results (Chainlink keeps reporting a removed service's
 * last failure forever); a service's stale sub-entries disappear when its
 * report no longer has them; and until the checker has started (and again
 * once it is closing) the checker reports itself as not ready, so a probe
 * never sees "ready" before the node has started. */
#ifndef LINKD_CHECKER_H
#define LINKD_CHECKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "linkd/health.h"
#include "linkd/log.h"
#include "linkd/service.h"
#include "linkd/time.h"

#define LK_CHECKER_NAME "HealthChecker"
#define LK_CHECKER_DEFAULT_INTERVAL (15 * LK_USEC_PER_SEC)

/* One poll's results.  Immutable once published; reference counted. */
typedef struct lk_health_snapshot {
        atomic_int refs;
        uint64_t generation;      /* increases with every publication */
        bool ready;               /* every readiness entry passes */
        bool healthy;             /* every health entry passes */
        lk_health_report *readiness; /* registered name -> Ready() error */
        lk_health_report *health;    /* report name -> health error */
        lk_usec taken_at;         /* realtime */
} lk_health_snapshot;

lk_health_snapshot *lk_health_snapshot_ref(lk_health_snapshot *snapshot);
/* Accepts NULL; returns NULL. */
lk_health_snapshot *lk_health_snapshot_unref(lk_health_snapshot *snapshot);

typedef struct lk_checker lk_checker;

typedef struct lk_checker_options {
        lk_usec poll_interval; /* 0 = LK_CHECKER_DEFAULT_INTERVAL */
        lk_log *log;           /* borrowed; may be NULL; health transitions are logged */
} lk_checker_options;

/* The caller owns the checker and frees it after closing it. */
lk_checker *lk_checker_new(const lk_checker_options *options);
/* Accepts NULL; returns NULL.  The checker must not be running. */
lk_checker *lk_checker_free(lk_checker *checker);

/* The checker as a service, named LK_CHECKER_NAME; owned by the checker. */
lk_service *lk_checker_service(lk_checker *checker);

/* Registers service under name (copied; the service is borrowed until
 * unregistered or the checker is freed).  Errors: an empty name or a NULL
 * service ("misconfigured check ..."), a name already registered
 * ("duplicate name ..."), both -EINVAL.  While the checker runs, the new
 * service is polled right away instead of at the next tick. */
int lk_checker_register(lk_checker *checker, const char *name, lk_service *service, lk_err *err);

/* Unregisters name and drops its cached results.  Waits for a poll in
 * progress, so that once it returns the checker never touches the service
 * again.  Errors: "name cannot be empty", "no check named ..." (-ENOENT). */
int lk_checker_unregister(lk_checker *checker, const char *name, lk_err *err);

/* The latest snapshot; the caller owns the reference. */
lk_health_snapshot *lk_checker_snapshot(lk_checker *checker);

/* Copies of the latest snapshot's maps; caller frees *ret_errors. */
bool lk_checker_is_ready(lk_checker *checker, lk_health_report **ret_errors);
bool lk_checker_is_healthy(lk_checker *checker, lk_health_report **ret_errors);

/* Liveness of the polling thread: false when a poll has been running for
 * longer than 2 * poll_interval + 1 s, with the service it is stuck in
 * written to why (which may be NULL). */
bool lk_checker_alive(lk_checker *checker, char *why, size_t why_size);

/* Starts polling before the checker itself starts, so that /health can
 * tell what a long start is waiting for (a standby waiting for the
 * database lock).  The checker still reports itself, and so the node, not
 * ready until its Start, which the Application runs last.  Idempotent. */
int lk_checker_begin_polling(lk_checker *checker, lk_err *err);

/* Wakes the polling thread for an immediate poll (does not wait for it). */
void lk_checker_poll_soon(lk_checker *checker);

#endif
