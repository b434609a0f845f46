#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/ctx.h"

struct lk_pool {
        pthread_mutex_t lock;
        pthread_cond_t work;
        lk_job *head, *tail;
        unsigned idle;
        bool stopping;
        unsigned thread_count;
        pthread_t *threads;
        char name[16];
};

static _Thread_local const lk_pool *current_pool;

static void *worker(void *arg) {
        lk_pool *pool = arg;
        current_pool = pool;
        pthread_mutex_lock(&pool->lock);
        for (;;) {
                while (!pool->head && !pool->stopping) {
                        pool->idle++;
                        pthread_cond_wait(&pool->work, &pool->lock);
                        pool->idle--;
                }
                lk_job *job = pool->head;
                if (!job)
                        break; /* stopping and drained */
                pool->head = job->next;
                if (!pool->head)
                        pool->tail = NULL;
                pthread_mutex_unlock(&pool->lock);
                job->next = NULL;
                job->run(job);
                pthread_mutex_lock(&pool->lock);
        }
        pthread_mutex_unlock(&pool->lock);
        return NULL;
}

int lk_pool_new(unsigned threads, const char *name, lk_pool **ret_pool, lk_err *err) {
        if (!threads) {
                long cpus = sysconf(_SC_NPROCESSORS_ONLN);
                threads = cpus > 0 ? (unsigned)cpus : 1;
        }
        lk_pool *pool = lk_calloc(1, sizeof *pool);
        pthread_mutex_init(&pool->lock, NULL);
        pthread_cond_init(&pool->work, NULL);
        snprintf(pool->name, sizeof pool->name, "%s", name);
        pool->threads = lk_calloc(threads, sizeof *pool->threads);
        for (unsigned i = 0; i < threads; i++) {
                int r = pthread_create(&pool->threads[i], NULL, worker, pool);
                if (r != 0) {
                        lk_pool_free(pool);
                        return lk_err_set(err, -r, "%s: cannot start worker thread: %s", name, strerror(r));
                }
                char thread_name[32]; /* the kernel keeps 15 characters */
                snprintf(thread_name, sizeof thread_name, "%.10s-%u", name, i % 1000);
                thread_name[15] = '\0';
                pthread_setname_np(pool->threads[i], thread_name);
                pool->thread_count++;
        }
        *ret_pool = pool;
        return 0;
}

lk_pool *lk_pool_free(lk_pool *pool) {
        if (!pool)
                return NULL;
        pthread_mutex_lock(&pool->lock);
        pool->stopping = true;
        pthread_cond_broadcast(&pool->work);
        pthread_mutex_unlock(&pool->lock);
        for (unsigned i = 0; i < pool->thread_count; i++)
                pthread_join(pool->threads[i], NULL);
        lk_free(pool->threads);
        pthread_cond_destroy(&pool->work);
        pthread_mutex_destroy(&pool->lock);
        lk_free(pool);
        return NULL;
}

void lk_pool_submit(lk_pool *pool, lk_job *job) {
        job->next = NULL;
        pthread_mutex_lock(&pool->lock);
        if (pool->tail)
                pool->tail->next = job;
        else
                pool->head = job;
        pool->tail = job;
        /* Waking a thread costs more than the typical task; a busy worker
         * will come back to the queue soon enough. */
        if (pool->idle)
                pthread_cond_signal(&pool->work);
        pthread_mutex_unlock(&pool->lock);
}

unsigned lk_pool_threads(const lk_pool *pool) {
        return pool->thread_count;
}

bool lk_pool_is_worker(const lk_pool *pool) {
        return current_pool == pool;
}

/* ---- timers: a binary min-heap on due ---- */

struct lk_timers {
        lk_pool *pool;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        lk_job **heap;
        size_t count, cap;
        bool stopping;
        pthread_t thread;
};

static void heap_set(lk_timers *t, size_t i, lk_job *job) {
        t->heap[i] = job;
        job->heap_slot = i;
}

static void heap_up(lk_timers *t, size_t i) {
        lk_job *job = t->heap[i];
        while (i > 0 && t->heap[(i - 1) / 2]->due > job->due) {
                heap_set(t, i, t->heap[(i - 1) / 2]);
                i = (i - 1) / 2;
        }
        heap_set(t, i, job);
}

static void heap_down(lk_timers *t, size_t i) {
        lk_job *job = t->heap[i];
        for (;;) {
                size_t child = 2 * i + 1;
                if (child >= t->count)
                        break;
                if (child + 1 < t->count && t->heap[child + 1]->due < t->heap[child]->due)
                        child++;
                if (t->heap[child]->due >= job->due)
                        break;
                heap_set(t, i, t->heap[child]);
                i = child;
        }
        heap_set(t, i, job);
}

static void heap_remove(lk_timers *t, size_t i) {
        t->heap[i]->heap_slot = SIZE_MAX;
        t->count--;
        if (i == t->count)
                return;
        heap_set(t, i, t->heap[t->count]);
        if (i > 0 && t->heap[(i - 1) / 2]->due > t->heap[i]->due)
                heap_up(t, i);
        else
                heap_down(t, i);
}

static void *timer_thread(void *arg) {
        lk_timers *t = arg;
        pthread_mutex_lock(&t->lock);
        while (!t->stopping) {
                if (!t->count) {
                        pthread_cond_wait(&t->changed, &t->lock);
                        continue;
                }
                lk_usec now = lk_now_monotonic();
                lk_job *first = t->heap[0];
                if (first->due > now) {
                        struct timespec until = lk_deadline_after(first->due - now);
                        pthread_cond_timedwait(&t->changed, &t->lock, &until);
                        continue;
                }
                heap_remove(t, 0);
                lk_pool_submit(t->pool, first);
        }
        pthread_mutex_unlock(&t->lock);
        return NULL;
}

int lk_timers_new(lk_pool *pool, lk_timers **ret_timers, lk_err *err) {
        lk_timers *t = lk_calloc(1, sizeof *t);
        t->pool = pool;
        pthread_mutex_init(&t->lock, NULL);
        lk_cond_init_monotonic(&t->changed);
        int r = pthread_create(&t->thread, NULL, timer_thread, t);
        if (r != 0) {
                pthread_cond_destroy(&t->changed);
                pthread_mutex_destroy(&t->lock);
                lk_free(t);
                return lk_err_set(err, -r, "cannot start timer thread: %s", strerror(r));
        }
        pthread_setname_np(t->thread, "lk-timers");
        *ret_timers = t;
        return 0;
}

lk_timers *lk_timers_free(lk_timers *t) {
        if (!t)
                return NULL;
        pthread_mutex_lock(&t->lock);
        t->stopping = true;
        pthread_cond_signal(&t->changed);
        pthread_mutex_unlock(&t->lock);
        pthread_join(t->thread, NULL);
        for (size_t i = 0; i < t->count; i++)
                t->heap[i]->heap_slot = SIZE_MAX;
        lk_free(t->heap);
        pthread_cond_destroy(&t->changed);
        pthread_mutex_destroy(&t->lock);
        lk_free(t);
        return NULL;
}

void lk_timers_add(lk_timers *t, lk_job *job, lk_usec due) {
        pthread_mutex_lock(&t->lock);
        if (t->count == t->cap) {
                t->cap = t->cap ? 2 * t->cap : 64;
                t->heap = lk_realloc(t->heap, t->cap * sizeof *t->heap);
        }
        job->due = due;
        heap_set(t, t->count, job);
        heap_up(t, t->count++);
        if (t->heap[0] == job)
                pthread_cond_signal(&t->changed);
        pthread_mutex_unlock(&t->lock);
}

bool lk_timers_cancel(lk_timers *t, lk_job *job) {
        pthread_mutex_lock(&t->lock);
        bool waiting = job->heap_slot != SIZE_MAX;
        if (waiting)
                heap_remove(t, job->heap_slot);
        pthread_mutex_unlock(&t->lock);
        return waiting;
}
