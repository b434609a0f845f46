/* MultiStart / MultiClose (see include/linkd/multi.h). */
#include "linkd/multi.h"

#include <pthread.h>

#include "linkd/alloc.h"

static void remember(lk_multistart *ms, lk_service *service) {
        if (ms->len == ms->cap) {
                ms->cap = ms->cap ? ms->cap * 2 : 8;
                ms->started = lk_realloc(ms->started, ms->cap * sizeof *ms->started);
        }
        ms->started[ms->len++] = service;
}

int lk_multistart_start(lk_multistart *ms, lk_ctx *ctx, lk_service *const *services, size_t count,
                        lk_err *err) {
        for (size_t i = 0; i < count; i++) {
                lk_err start_err = LK_ERR_INIT;
                int r = lk_service_start(services[i], ctx, &start_err);
                if (r < 0) {
                        if (!lk_err_is_set(&start_err))
                                lk_err_set(&start_err, r, "failed to start %s", services[i]->name);
                        return lk_multistart_close_because(ms, &start_err, err);
                }
                remember(ms, services[i]);
        }
        return 0;
}

int lk_multistart_close(lk_multistart *ms, lk_err *err) {
        int result = 0;
        while (ms->len > 0) {
                lk_service *service = ms->started[--ms->len];
                lk_err close_err = LK_ERR_INIT;
                if (ms->hooks.closing)
                        ms->hooks.closing(ms->hooks.arg, service);
                int r = lk_service_close(service, &close_err);
                if (r < 0 && !lk_err_is_set(&close_err))
                        lk_err_set(&close_err, r, "failed to close %s", service->name);
                if (ms->hooks.closed)
                        ms->hooks.closed(ms->hooks.arg, service, &close_err);
                if (r < 0) {
                        if (!result)
                                result = r;
                        lk_err_join(err, &close_err);
                }
        }
        return result;
}

int lk_multistart_close_because(lk_multistart *ms, const lk_err *reason, lk_err *err) {
        lk_err all = *reason;
        lk_multistart_close(ms, &all);
        if (err)
                *err = all;
        return reason->code;
}

void lk_multistart_done(lk_multistart *ms) {
        lk_freep(&ms->started);
        ms->len = ms->cap = 0;
}

typedef struct close_job {
        lk_service *service;
        pthread_t thread;
        bool spawned;
        int result;
        lk_err err;
} close_job;

static void *close_one(void *arg) {
        close_job *job = arg;
        job->result = lk_service_close(job->service, &job->err);
        if (job->result < 0 && !lk_err_is_set(&job->err))
                lk_err_set(&job->err, job->result, "failed to close %s", job->service->name);
        return NULL;
}

int lk_multiclose(lk_service *const *services, size_t count, lk_err *err) {
        if (count == 0)
                return 0;
        close_job *jobs = lk_calloc(count, sizeof *jobs);
        for (size_t i = 0; i < count; i++) {
                jobs[i].service = services[i];
                /* Without a thread (resource exhaustion) close inline:
                 * slower, but every service still gets closed. */
                jobs[i].spawned = pthread_create(&jobs[i].thread, NULL, close_one, &jobs[i]) == 0;
                if (!jobs[i].spawned)
                        close_one(&jobs[i]);
        }
        int result = 0;
        for (size_t i = 0; i < count; i++) {
                if (jobs[i].spawned)
                        pthread_join(jobs[i].thread, NULL);
                if (jobs[i].result < 0) {
                        if (!result)
                                result = jobs[i].result;
                        lk_err_join(err, &jobs[i].err);
                }
        }
        lk_free(jobs);
        return result;
}
