#include "fake_service.h"

#include "lktest.h"

#include <errno.h>
#include <stdio.h>

#include "linkd/alloc.h"

void fake_journal_init(fake_journal *journal) {
        pthread_mutex_init(&journal->lock, NULL);
        journal->text = (lk_buf)LK_BUF_INIT;
}

void fake_journal_done(fake_journal *journal) {
        lk_buf_done(&journal->text);
        pthread_mutex_destroy(&journal->lock);
}

char *fake_journal_text(fake_journal *journal) {
        pthread_mutex_lock(&journal->lock);
        char *copy = lk_strdup(lk_buf_str(&journal->text));
        pthread_mutex_unlock(&journal->lock);
        return copy;
}

void fake_journal_expect(fake_journal *journal, const char *want) {
        char *got = fake_journal_text(journal);
        assert_string_equal(got, want);
        lk_free(got);
}

static void record(fake_service *f, const char *event) {
        if (!f->journal)
                return;
        pthread_mutex_lock(&f->journal->lock);
        lk_buf_printf(&f->journal->text, "%s %s\n", f->name, event);
        pthread_mutex_unlock(&f->journal->lock);
}

typedef struct start_args {
        fake_service *f;
        lk_ctx *ctx;
} start_args;

static int do_start(void *arg, lk_err *err) {
        start_args *a = arg;
        fake_service *f = a->f;
        if (f->start_delay) {
                int cause = lk_ctx_sleep(a->ctx, f->start_delay);
                if (cause) {
                        record(f, "start cancelled");
                        return lk_err_set(err, cause, "%s: %s", f->name, lk_ctx_strerror(cause));
                }
        }
        if (f->start_error) {
                record(f, "start failure");
                return lk_err_set(err, -EIO, "%s", f->start_error);
        }
        record(f, "started");
        return 0;
}

static int fake_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        fake_service *f = (fake_service *)service;
        start_args a = {f, ctx};
        return lk_once_start(&f->once, f->name, do_start, &a, err);
}

static int do_close(void *arg, lk_err *err) {
        fake_service *f = arg;
        if (f->block_close) {
                pthread_mutex_lock(&f->lock);
                f->closing = true;
                pthread_cond_broadcast(&f->changed);
                while (f->block_close)
                        pthread_cond_wait(&f->changed, &f->lock);
                pthread_mutex_unlock(&f->lock);
        }
        if (f->close_error) {
                record(f, "close failure");
                return lk_err_set(err, -EIO, "%s", f->close_error);
        }
        record(f, "closed");
        return 0;
}

static int fake_close(lk_service *service, lk_err *err) {
        fake_service *f = (fake_service *)service;
        return lk_once_stop(&f->once, f->name, do_close, f, err);
}

static int fake_ready(lk_service *service, lk_err *err) {
        fake_service *f = (fake_service *)service;
        pthread_mutex_lock(&f->lock);
        int r = f->ready_error ? lk_err_set(err, -EAGAIN, "%s", f->ready_error) : 0;
        pthread_mutex_unlock(&f->lock);
        return r;
}

static void fake_report(lk_service *service, lk_health_report *report) {
        fake_service *f = (fake_service *)service;
        pthread_mutex_lock(&f->lock);
        if (f->block_health) {
                f->in_health = true;
                pthread_cond_broadcast(&f->changed);
                while (f->block_health)
                        pthread_cond_wait(&f->changed, &f->lock);
                f->in_health = false;
        }
        f->health_calls++;
        lk_health_report_set(report, f->name, f->health_error);
        if (f->sub_service) {
                char sub[128];
                snprintf(sub, sizeof sub, "%s.%s", f->name, f->sub_service);
                lk_health_report_set(report, sub, f->health_error);
        }
        pthread_mutex_unlock(&f->lock);
}

static const lk_service_vtable fake_vtable = {
        .start = fake_start,
        .close = fake_close,
        .ready = fake_ready,
        .health_report = fake_report,
};

void fake_service_init(fake_service *f, const char *name, fake_journal *journal) {
        *f = (fake_service){.journal = journal};
        snprintf(f->name, sizeof f->name, "%s", name);
        lk_once_init(&f->once);
        f->service = (lk_service){.vtable = &fake_vtable, .name = f->name, .once = &f->once};
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->changed, NULL);
}

void fake_service_done(fake_service *f) {
        lk_free(f->ready_error);
        lk_free(f->health_error);
        pthread_cond_destroy(&f->changed);
        pthread_mutex_destroy(&f->lock);
        lk_once_done(&f->once);
}

void fake_service_set_health(fake_service *f, const char *ready_error, const char *health_error) {
        pthread_mutex_lock(&f->lock);
        lk_free(f->ready_error);
        lk_free(f->health_error);
        f->ready_error = ready_error ? lk_strdup(ready_error) : NULL;
        f->health_error = health_error ? lk_strdup(health_error) : NULL;
        pthread_mutex_unlock(&f->lock);
}

void fake_service_release(fake_service *f) {
        pthread_mutex_lock(&f->lock);
        f->block_close = false;
        f->block_health = false;
        pthread_cond_broadcast(&f->changed);
        pthread_mutex_unlock(&f->lock);
}

void fake_service_wait_closing(fake_service *f) {
        pthread_mutex_lock(&f->lock);
        while (!f->closing)
                pthread_cond_wait(&f->changed, &f->lock);
        pthread_mutex_unlock(&f->lock);
}

int fake_service_health_calls(fake_service *f) {
        pthread_mutex_lock(&f->lock);
        int n = f->health_calls;
        pthread_mutex_unlock(&f->lock);
        return n;
}

void fake_service_wait_in_health(fake_service *f) {
        pthread_mutex_lock(&f->lock);
        while (!f->in_health)
                pthread_cond_wait(&f->changed, &f->lock);
        pthread_mutex_unlock(&f->lock);
}

void fake_service_block_health(fake_service *f) {
        pthread_mutex_lock(&f->lock);
        f->block_health = true;
        pthread_mutex_unlock(&f->lock);
}
