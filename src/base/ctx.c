/* lk_ctx: cancellation contexts (see include/linkd/ctx.h). */
#include "linkd/ctx.h"

#include <errno.h>

void lk_cond_init_monotonic(pthread_cond_t *cond) {
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(cond, &attr);
        pthread_condattr_destroy(&attr);
}

void lk_ctx_init(lk_ctx *ctx, lk_usec deadline_after) {
        pthread_mutex_init(&ctx->lock, NULL);
        lk_cond_init_monotonic(&ctx->changed);
        ctx->cause = 0;
        ctx->deadline = deadline_after == LK_USEC_INFINITY ? LK_USEC_INFINITY
                                                           : lk_now_monotonic() + deadline_after;
}

void lk_ctx_done(lk_ctx *ctx) {
        pthread_cond_destroy(&ctx->changed);
        pthread_mutex_destroy(&ctx->lock);
}

void lk_ctx_cancel(lk_ctx *ctx) {
        pthread_mutex_lock(&ctx->lock);
        if (!ctx->cause)
                ctx->cause = -ECANCELED;
        pthread_cond_broadcast(&ctx->changed);
        pthread_mutex_unlock(&ctx->lock);
}

/* Caller holds ctx->lock. */
static int cause_locked(lk_ctx *ctx) {
        if (!ctx->cause && ctx->deadline != LK_USEC_INFINITY && lk_now_monotonic() >= ctx->deadline)
                ctx->cause = -ETIMEDOUT;
        return ctx->cause;
}

int lk_ctx_err(lk_ctx *ctx) {
        if (!ctx)
                return 0;
        pthread_mutex_lock(&ctx->lock);
        int cause = cause_locked(ctx);
        pthread_mutex_unlock(&ctx->lock);
        return cause;
}

int lk_ctx_sleep(lk_ctx *ctx, lk_usec usec) {
        if (!ctx) {
                struct timespec ts = {(time_t)(usec / LK_USEC_PER_SEC), (long)(usec % LK_USEC_PER_SEC) * 1000};
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
                return 0;
        }
        lk_usec until = lk_now_monotonic() + usec;
        pthread_mutex_lock(&ctx->lock);
        if (ctx->deadline < until)
                until = ctx->deadline;
        int cause;
        while (!(cause = cause_locked(ctx))) {
                lk_usec left = until - lk_now_monotonic();
                if (left <= 0) {
                        cause = cause_locked(ctx); /* the deadline may be what ended the sleep */
                        break;
                }
                struct timespec ts = lk_deadline_after(left);
                pthread_cond_timedwait(&ctx->changed, &ctx->lock, &ts);
        }
        pthread_mutex_unlock(&ctx->lock);
        return cause;
}

const char *lk_ctx_strerror(int cause) {
        switch (cause) {
        case 0: return "";
        case -ETIMEDOUT: return "context deadline exceeded";
        default: return "context canceled";
        }
}
