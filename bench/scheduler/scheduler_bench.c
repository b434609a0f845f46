/* bench/scheduler: the Scheduler's punctuality with many cron jobs, next
 * to a baseline measured in the same process run (bench/scheduler/run
 * drives it).
 *
 *   baseline   one thread sleeping to JOBS absolute CLOCK_REALTIME
 *              deadlines per second (clock_nanosleep TIMER_ABSTIME),
 *              spread evenly over the second: the raw OS timer's lateness.
 *   scheduler  JOBS jobs "CRON_TZ=UTC * * * * * *", each firing a memo
 *              pipeline on a real lk_runner (no store): the lateness of
 *              each run's start (its task's start on a runner worker)
 *              against its scheduled second (and, apart, when the
 *              scheduler called fire), the runs lost (expected
 *              firings minus runs started), and the CPU used.
 *
 * Usage: scheduler_bench JOBS DURATION_S BASELINE_S.  Output: key=value
 * lines. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/config.h"
#include "linkd/pipeline.h"
#include "linkd/scheduler.h"

#define SCHEDULE "CRON_TZ=UTC * * * * * *"

typedef struct samples {
        lk_usec *v;
        atomic_size_t n;
        size_t cap;
} samples;

static void samples_init(samples *s, size_t cap) {
        s->v = lk_calloc(cap, sizeof *s->v);
        atomic_init(&s->n, 0);
        s->cap = cap;
}

static void samples_add(samples *s, lk_usec v) {
        size_t i = atomic_fetch_add(&s->n, 1);
        if (i < s->cap)
                s->v[i] = v;
}

static int compare_usec(const void *a, const void *b) {
        lk_usec x = *(const lk_usec *)a, y = *(const lk_usec *)b;
        return x < y ? -1 : x > y;
}

static void print_latency(const char *prefix, samples *s) {
        size_t n = atomic_load(&s->n);
        if (n > s->cap)
                n = s->cap;
        if (n == 0) {
                printf("%s_samples=0\n", prefix);
                return;
        }
        qsort(s->v, n, sizeof *s->v, compare_usec);
        printf("%s_samples=%zu %s_p50_ms=%.3f %s_p99_ms=%.3f %s_max_ms=%.3f\n", prefix, n, prefix,
               (double)s->v[(n - 1) / 2] / 1000.0, prefix, (double)s->v[(size_t)(0.99 * (double)(n - 1))] / 1000.0,
               prefix, (double)s->v[n - 1] / 1000.0);
}

static double cpu_seconds(int who) {
        struct rusage ru;
        getrusage(who, &ru);
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- the baseline ---- */

static void baseline(long jobs, long seconds) {
        samples s;
        samples_init(&s, (size_t)(jobs * seconds));
        double cpu0 = cpu_seconds(RUSAGE_THREAD);
        lk_usec start = (lk_now_realtime() / LK_USEC_PER_SEC + 1) * LK_USEC_PER_SEC;
        for (long sec = 0; sec < seconds; sec++) {
                for (long i = 0; i < jobs; i++) {
                        lk_usec deadline = start + sec * LK_USEC_PER_SEC + i * LK_USEC_PER_SEC / jobs;
                        struct timespec ts = {deadline / LK_USEC_PER_SEC, (deadline % LK_USEC_PER_SEC) * 1000};
                        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) != 0) {
                        }
                        samples_add(&s, lk_now_realtime() - deadline);
                }
        }
        double cpu = cpu_seconds(RUSAGE_THREAD) - cpu0;
        print_latency("baseline_lateness", &s);
        printf("baseline_cpu_s=%.3f baseline_cpu_pct=%.2f\n", cpu, 100.0 * cpu / (double)seconds);
        lk_free(s.v);
}

/* ---- the scheduler ---- */

typedef struct bench {
        lk_runner *runner;
        lk_scheduler *scheduler;
        lk_pipeline_spec *spec;
        samples lateness;
        samples fire_lateness; /* the scheduler's own part: when fire is called */
        atomic_long fired, started, failed;
} bench;

typedef struct ticket {
        bench *b;
        int64_t job_id;
        int64_t scheduled;
} ticket;

static void on_done(void *arg, lk_run *run) {
        ticket *t = arg;
        bench *b = t->b;
        if (lk_run_state_of(run) != LK_RUN_COMPLETED || lk_run_task_run_count(run) == 0) {
                atomic_fetch_add(&b->failed, 1);
        } else {
                lk_task_run_info info;
                lk_run_task_run(run, 0, &info);
                samples_add(&b->lateness, info.created_at - t->scheduled * LK_USEC_PER_SEC);
                atomic_fetch_add(&b->started, 1);
        }
        lk_scheduler_run_done(b->scheduler, t->job_id);
        lk_free(t);
}

static void on_fire(void *arg, int64_t job_id, int64_t scheduled) {
        bench *b = arg;
        samples_add(&b->fire_lateness, lk_now_realtime() - scheduled * LK_USEC_PER_SEC);
        atomic_fetch_add(&b->fired, 1);
        ticket *t = lk_malloc(sizeof *t);
        *t = (ticket){b, job_id, scheduled};
        lk_err err = LK_ERR_INIT;
        if (lk_runner_start(b->runner, &(lk_run_request){.spec = b->spec, .done = on_done, .done_arg = t}, &err) < 0) {
                atomic_fetch_add(&b->failed, 1);
                lk_scheduler_run_done(b->scheduler, job_id);
                lk_free(t);
        }
}

static void die(const char *what, const lk_err *err) {
        fprintf(stderr, "scheduler_bench: %s: %s\n", what, err->msg);
        exit(1);
}

static void run_scheduler(long jobs, long seconds) {
        lk_config cfg;
        lk_config_init(&cfg);
        bench b = {0};
        samples_init(&b.lateness, (size_t)(jobs * (seconds + 2)));
        samples_init(&b.fire_lateness, (size_t)(jobs * (seconds + 2)));
        lk_err err = LK_ERR_INIT;
        if (lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = "memo [type=memo value=\"1\"];",
                                                             .source_len = SIZE_MAX},
                                 &b.spec, &err) < 0)
                die("spec", &err);
        if (lk_runner_new(&(lk_runner_options){.config = &cfg}, &b.runner, &err) < 0 ||
            lk_service_start(lk_runner_service(b.runner), NULL, &err) < 0)
                die("runner", &err);
        if (lk_scheduler_new(&(lk_scheduler_options){0}, &b.scheduler, &err) < 0)
                die("scheduler", &err);
        /* Added mid-second, stopped mid-second: no firing is half-counted. */
        lk_usec now = lk_now_realtime();
        lk_usec mid = (now / LK_USEC_PER_SEC) * LK_USEC_PER_SEC + LK_USEC_PER_SEC / 2;
        if (mid < now)
                mid += LK_USEC_PER_SEC;
        usleep((useconds_t)(mid - now));
        double cpu0 = cpu_seconds(RUSAGE_SELF);
        int64_t first = lk_now_realtime() / LK_USEC_PER_SEC + 1;
        for (long i = 0; i < jobs; i++)
                if (lk_scheduler_add(b.scheduler, i + 1, SCHEDULE, 0, on_fire, &b, &err) < 0)
                        die("add", &err);
        if (lk_service_start(lk_scheduler_service(b.scheduler), NULL, &err) < 0)
                die("start", &err);
        usleep((useconds_t)(seconds * LK_USEC_PER_SEC));
        int64_t last = lk_now_realtime() / LK_USEC_PER_SEC;
        lk_service_close(lk_scheduler_service(b.scheduler), NULL);
        lk_service_close(lk_runner_service(b.runner), NULL);
        double cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
        long expected = jobs * (long)(last - first + 1);
        long started = atomic_load(&b.started);
        print_latency("fire_lateness", &b.fire_lateness);
        print_latency("start_lateness", &b.lateness);
        printf("expected=%ld fired=%ld started=%ld failed=%ld lost=%ld\n", expected, atomic_load(&b.fired), started,
               atomic_load(&b.failed), expected - started);
        printf("cpu_s=%.3f cpu_pct=%.2f\n", cpu, 100.0 * cpu / (double)seconds);
        lk_scheduler_free(b.scheduler);
        lk_runner_free(b.runner);
        lk_pipeline_spec_unref(b.spec);
        lk_free(b.lateness.v);
        lk_free(b.fire_lateness.v);
        lk_config_done(&cfg);
}

int main(int argc, char **argv) {
        if (argc != 4) {
                fprintf(stderr, "usage: scheduler_bench JOBS DURATION_S BASELINE_S\n");
                return 2;
        }
        long jobs = strtol(argv[1], NULL, 10), seconds = strtol(argv[2], NULL, 10), base = strtol(argv[3], NULL, 10);
        if (jobs <= 0 || seconds <= 0 || base < 0) {
                fprintf(stderr, "scheduler_bench: JOBS and DURATION_S must be positive\n");
                return 2;
        }
        printf("jobs=%ld duration_s=%ld baseline_s=%ld\n", jobs, seconds, base);
        if (base)
                baseline(jobs, base);
        run_scheduler(jobs, seconds);
        return 0;
}
