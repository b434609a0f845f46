#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/prom.h"
#include "spec.h"

#define BUCKETS 1024
/* A cap on label combinations, so that a flood of one-off pipelines (the
 * CLI, tests) cannot grow the table without bound. */
#define MAX_SERIES 20000

typedef struct series {
        struct series *next;
        uint64_t hash;
        int64_t job_id;
        char *job_name, *task_id, *task_type;
        int64_t last_nanoseconds;
        uint64_t completed, errored, pending;
} series;

struct lk__metrics {
        pthread_mutex_t lock;
        series *buckets[BUCKETS];
        size_t series_count;
        atomic_uint_fast64_t runs[4]; /* by lk_run_state */
        atomic_int_fast64_t in_flight;
};

lk__metrics *lk__metrics_new(void) {
        lk__metrics *m = lk_calloc(1, sizeof *m);
        pthread_mutex_init(&m->lock, NULL);
        return m;
}

lk__metrics *lk__metrics_free(lk__metrics *m) {
        if (!m)
                return NULL;
        for (size_t b = 0; b < BUCKETS; b++) {
                for (series *s = m->buckets[b], *next; s; s = next) {
                        next = s->next;
                        lk_free(s->job_name);
                        lk_free(s->task_id);
                        lk_free(s->task_type);
                        lk_free(s);
                }
        }
        pthread_mutex_destroy(&m->lock);
        lk_free(m);
        return NULL;
}

static uint64_t fnv1a(uint64_t h, const char *s) {
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211u;
        return (h ^ 0xff) * 1099511628211u; /* a separator, so ("ab","c") != ("a","bc") */
}

void lk__metrics_task(lk__metrics *m, const lk_pipeline_spec *spec, int task_id, lk_usec elapsed, const char *status) {
        const lk_graph_task *g = &spec->graph->tasks[task_id];
        uint64_t h = 1469598103934665603u ^ (uint64_t)spec->job_id;
        h = fnv1a(fnv1a(fnv1a(h, spec->job_name), g->dot_id), g->type);
        pthread_mutex_lock(&m->lock);
        series *s = m->buckets[h % BUCKETS];
        while (s && !(s->hash == h && s->job_id == spec->job_id && strcmp(s->task_id, g->dot_id) == 0 &&
                      strcmp(s->task_type, g->type) == 0 && strcmp(s->job_name, spec->job_name) == 0))
                s = s->next;
        if (!s && m->series_count < MAX_SERIES) {
                s = lk_calloc(1, sizeof *s);
                *s = (series){.next = m->buckets[h % BUCKETS], .hash = h, .job_id = spec->job_id,
                              .job_name = lk_strdup(spec->job_name), .task_id = lk_strdup(g->dot_id),
                              .task_type = lk_strdup(g->type)};
                m->buckets[h % BUCKETS] = s;
                m->series_count++;
        }
        if (s) {
                s->last_nanoseconds = elapsed * 1000;
                if (strcmp(status, "completed") == 0)
                        s->completed++;
                else if (strcmp(status, "errored") == 0)
                        s->errored++;
                else
                        s->pending++;
        }
        pthread_mutex_unlock(&m->lock);
}

void lk__metrics_run(lk__metrics *m, lk_run_state state) {
        if ((unsigned)state < 4)
                atomic_fetch_add_explicit(&m->runs[state], 1, memory_order_relaxed);
}

void lk__metrics_runs_in_flight(lk__metrics *m, int64_t n) {
        atomic_store_explicit(&m->in_flight, n, memory_order_relaxed);
}

static void labels(lk_buf *out, const series *s, bool with_task_id) {
        lk_buf_printf(out, "{job_id=\"%" PRId64 "\",job_name=", s->job_id);
        lk_prom_label_value(out, s->job_name);
        if (with_task_id) {
                lk_buf_puts(out, ",task_id=");
                lk_prom_label_value(out, s->task_id);
        }
        lk_buf_puts(out, ",task_type=");
        lk_prom_label_value(out, s->task_type);
}

void lk__metrics_render(lk__metrics *m, lk_buf *out) {
        pthread_mutex_lock(&m->lock);
        lk_prom_family(out, "pipeline_task_execution_time", "gauge",
                       "How long each pipeline task took to execute, in nanoseconds (the last attempt)");
        for (size_t b = 0; b < BUCKETS; b++) {
                for (const series *s = m->buckets[b]; s; s = s->next) {
                        lk_buf_puts(out, "pipeline_task_execution_time");
                        labels(out, s, true);
                        lk_buf_printf(out, "} %" PRId64 "\n", s->last_nanoseconds);
                }
        }
        lk_prom_family(out, "pipeline_tasks_total", "counter", "The total number of pipeline tasks executed");
        static const char *const statuses[] = {"completed", "errored", "pending"};
        for (size_t b = 0; b < BUCKETS; b++) {
                for (const series *s = m->buckets[b]; s; s = s->next) {
                        uint64_t counts[] = {s->completed, s->errored, s->pending};
                        for (size_t k = 0; k < 3; k++) {
                                if (!counts[k])
                                        continue;
                                lk_buf_puts(out, "pipeline_tasks_total");
                                labels(out, s, false);
                                lk_buf_printf(out, ",status=\"%s\"} %" PRIu64 "\n", statuses[k], counts[k]);
                        }
                }
        }
        pthread_mutex_unlock(&m->lock);
        lk_prom_family(out, "pipeline_runs_total", "counter", "The total number of pipeline runs, by final state");
        for (int state = 0; state < 4; state++)
                lk_buf_printf(out, "pipeline_runs_total{state=\"%s\"} %" PRIuFAST64 "\n",
                              lk_run_state_name((lk_run_state)state),
                              atomic_load_explicit(&m->runs[state], memory_order_relaxed));
        lk_prom_family(out, "pipeline_runs_in_flight", "gauge", "Pipeline runs in memory: executing or being stored");
        lk_buf_printf(out, "pipeline_runs_in_flight %" PRIdFAST64 "\n",
                      atomic_load_explicit(&m->in_flight, memory_order_relaxed));
}
