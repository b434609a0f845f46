/* lk_ctx: a cancellation context, the C counterpart of the context.Context
 * that ServiceCtx.Start receives.  Start must return promptly once the
 * context is cancelled and must not keep the pointer after it returns.
 *
 * A context is cancelled explicitly (lk_ctx_cancel) or by reaching its
 * deadline.  It is safe to use from several threads. */
#ifndef LINKD_CTX_H
#define LINKD_CTX_H

#include <pthread.h>
#include <stdbool.h>

#include "linkd/time.h"

typedef struct lk_ctx {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        int cause;          /* 0 while live; -ECANCELED or -ETIMEDOUT after */
        lk_usec deadline;   /* monotonic; LK_USEC_INFINITY for none */
} lk_ctx;

/* deadline_after: LK_USEC_INFINITY for a context without deadline. */
void lk_ctx_init(lk_ctx *ctx, lk_usec deadline_after);
void lk_ctx_done(lk_ctx *ctx);

/* Cancels with -ECANCELED; wakes every waiter.  Idempotent. */
void lk_ctx_cancel(lk_ctx *ctx);

/* 0 while live, -ECANCELED once cancelled, -ETIMEDOUT once past deadline.
 * A NULL ctx is never cancelled. */
int lk_ctx_err(lk_ctx *ctx);

/* Sleeps up to usec, returning early when the context ends.  Returns 0
 * after a full sleep, otherwise lk_ctx_err(). */
int lk_ctx_sleep(lk_ctx *ctx, lk_usec usec);

/* "context canceled" / "context deadline exceeded" as Go spells them. */
const char *lk_ctx_strerror(int cause);

/* Initialises a condition variable on CLOCK_MONOTONIC, so that timed waits
 * are immune to wall-clock jumps. */
void lk_cond_init_monotonic(pthread_cond_t *cond);

#endif
