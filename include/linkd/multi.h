/* MultiStart and MultiClose, after core/services/multi.go. */
#ifndef LINKD_MULTI_H
#define LINKD_MULTI_H

#include <stddef.h>

#include "linkd/service.h"

/* Starts services together and remembers which ones started, so that they
 * can be closed (in reverse) if a later one fails.  The services are
 * borrowed: they must outlive the lk_multistart's use of them. */
/* Optional observers of the closing, for callers that report progress
 * (the Application logs each close and names a service that hangs). */
typedef struct lk_multistart_hooks {
        void (*closing)(void *arg, lk_service *service);
        /* err is cleared when the close succeeded */
        void (*closed)(void *arg, lk_service *service, const lk_err *err);
        void *arg;
} lk_multistart_hooks;

typedef struct lk_multistart {
        lk_service **started;
        size_t len;
        size_t cap;
        lk_multistart_hooks hooks;
} lk_multistart;

#define LK_MULTISTART_INIT {NULL, 0, 0, {NULL, NULL, NULL}}

/* Starts each service in order.  On the first failure, closes every
 * service this lk_multistart has started (including in earlier calls) in
 * reverse order - not the one that failed - and returns the start error
 * joined with the close errors by "; ". */
int lk_multistart_start(lk_multistart *ms, lk_ctx *ctx, lk_service *const *services, size_t count,
                        lk_err *err);

/* Closes every started service in reverse order, one after the other,
 * collecting every error; forgets them, so a second call does nothing. */
int lk_multistart_close(lk_multistart *ms, lk_err *err);

/* Close, returning reason joined with any close errors.  reason must be set. */
int lk_multistart_close_because(lk_multistart *ms, const lk_err *reason, lk_err *err);

/* Frees the bookkeeping (does not close anything). */
void lk_multistart_done(lk_multistart *ms);

/* Closes all services concurrently, one thread each, waits for all, and
 * returns every error joined by "; " in the services' order. */
int lk_multiclose(lk_service *const *services, size_t count, lk_err *err);

#endif
