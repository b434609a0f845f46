/* bench/pipeline: the runner's throughput and footprint, each next to a
 * baseline measured in the same process run (bench/pipeline/run drives it).
 *
 *   compute   memo -> 10 x jsonparse -> 10 x multiply -> median on one
 *             worker thread: tasks/s and us per run, next to the same work
 *             done by straight calls into the value and decimal libraries
 *             (what the engine adds is the difference).
 *   typical   3 x http (to a local server) -> 3 x jsonparse -> median ->
 *             multiply, every run stored in SQLite: runs/s and p50/p99 run
 *             latency, next to a plain libcurl multi loop fetching the same
 *             URLs at the same concurrency (the I/O baseline).
 *   memory    RUNS runs suspended on an async bridge (stored, waiting for
 *             PATCH /v2/resume): RSS before and after.
 *
 * Output: key=value lines. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/decimal.h"
#include "linkd/file.h"
#include "linkd/pipeline.h"
#include "linkd/proc.h"
#include "linkd/store.h"
#include "linkd/value.h"

typedef struct options {
        const char *mode;
        long runs;
        long window;
        unsigned workers;
        const char *base_url; /* typical, memory: the local server */
        const char *dir;      /* typical, memory: where the database goes */
} options;

/* ---- a bounded window of runs in flight ---- */

typedef struct window {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        long in_flight, done, failed, suspended;
        lk_usec *latency; /* per run, by completion order */
        lk_usec *started;
} window;

typedef struct ticket {
        window *w;
        long index;
} ticket;

static void on_done(void *arg, lk_run *run) {
        ticket *t = arg;
        window *w = t->w;
        lk_usec now = lk_now_monotonic();
        pthread_mutex_lock(&w->lock);
        w->latency[w->done] = now - w->started[t->index];
        w->done++;
        w->in_flight--;
        if (lk_run_state_of(run) == LK_RUN_SUSPENDED)
                w->suspended++;
        else if (lk_run_state_of(run) != LK_RUN_COMPLETED || lk_run_store_error(run))
                w->failed++;
        pthread_cond_signal(&w->changed);
        pthread_mutex_unlock(&w->lock);
}

/* Starts runs runs of spec, at most limit in flight; returns the elapsed
 * time. */
static lk_usec drive(lk_runner *runner, lk_pipeline_spec *spec, long runs, long limit, window *w) {
        ticket *tickets = lk_calloc((size_t)runs, sizeof *tickets);
        w->latency = lk_calloc((size_t)runs, sizeof *w->latency);
        w->started = lk_calloc((size_t)runs, sizeof *w->started);
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->changed, NULL);
        lk_usec begin = lk_now_monotonic();
        for (long i = 0; i < runs; i++) {
                pthread_mutex_lock(&w->lock);
                while (w->in_flight >= limit)
                        pthread_cond_wait(&w->changed, &w->lock);
                w->in_flight++;
                w->started[i] = lk_now_monotonic();
                pthread_mutex_unlock(&w->lock);
                tickets[i] = (ticket){w, i};
                lk_err err = LK_ERR_INIT;
                if (lk_runner_start(runner, &(lk_run_request){.spec = spec, .done = on_done, .done_arg = &tickets[i]},
                                    &err) < 0) {
                        fprintf(stderr, "pipeline_bench: %s\n", err.msg);
                        exit(1);
                }
        }
        pthread_mutex_lock(&w->lock);
        while (w->done < runs)
                pthread_cond_wait(&w->changed, &w->lock);
        pthread_mutex_unlock(&w->lock);
        lk_usec elapsed = lk_now_monotonic() - begin;
        lk_free(tickets);
        return elapsed;
}

static int compare_usec(const void *a, const void *b) {
        lk_usec x = *(const lk_usec *)a, y = *(const lk_usec *)b;
        return x < y ? -1 : x > y;
}

static double percentile_ms(lk_usec *v, long n, double p) {
        qsort(v, (size_t)n, sizeof *v, compare_usec);
        long i = (long)(p * (double)(n - 1));
        return (double)v[i] / 1000.0;
}

static lk_runner *new_runner(const lk_config *cfg, lk_store *store, unsigned workers) {
        lk_runner *runner;
        lk_err err = LK_ERR_INIT;
        if (lk_runner_new(&(lk_runner_options){.config = cfg, .store = store, .workers = workers}, &runner, &err) < 0 ||
            lk_service_start(lk_runner_service(runner), NULL, &err) < 0) {
                fprintf(stderr, "pipeline_bench: %s\n", err.msg);
                exit(1);
        }
        return runner;
}

static void close_runner(lk_runner *runner) {
        lk_service_close(lk_runner_service(runner), NULL);
        lk_runner_free(runner);
}

static lk_pipeline_spec *spec_of(const char *dot, int64_t id) {
        lk_pipeline_spec *spec;
        lk_err err = LK_ERR_INIT;
        if (lk_pipeline_spec_new(&(lk_pipeline_spec_options){.source = dot, .source_len = SIZE_MAX, .id = id}, &spec,
                                 &err) < 0) {
                fprintf(stderr, "pipeline_bench: %s\n", err.msg);
                exit(1);
        }
        return spec;
}

/* ---- compute ---- */

static const char *const fields[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};

static char *compute_dot(void) {
        lk_buf b = LK_BUF_INIT;
        lk_buf_puts(&b, "memo [type=memo value=<\"{");
        for (int i = 0; i < 10; i++)
                lk_buf_printf(&b, "%s\\\"%s\\\": {\\\"price\\\": %d.%02d}", i ? ", " : "", fields[i], 1000 + i * 7, i * 3);
        lk_buf_puts(&b, "}\">]\n");
        for (int i = 0; i < 10; i++) {
                lk_buf_printf(&b, "parse%d [type=jsonparse path=\"%s,price\"]\n", i, fields[i]);
                lk_buf_printf(&b, "scale%d [type=multiply times=100]\n", i);
                lk_buf_printf(&b, "memo -> parse%d -> scale%d -> median\n", i, i);
        }
        lk_buf_puts(&b, "median [type=median]\n");
        return lk_buf_steal(&b, NULL);
}

/* Swapping the structs swaps GMP's limb pointers: nothing is copied or
 * freed twice. */
static void swap_decimals(lk_decimal *a, lk_decimal *b) {
        lk_decimal t = *a;
        *a = *b;
        *b = t;
}

/* The same work through the libraries directly: what a hand-written
 * program would do for one run. */
static void compute_by_hand(const char *json, size_t len, lk_decimal *out) {
        lk_decimal values[10], hundred;
        lk_decimal_init(&hundred);
        lk_decimal_from_int64(&hundred, 100);
        for (int i = 0; i < 10; i++) {
                lk_value *doc;
                if (lk_value_from_json(json, len, &doc, NULL) < 0)
                        abort();
                lk_value *price = lk_value_map_get(lk_value_map_get(doc, fields[i], 1), "price", 5);
                lk_decimal_init(&values[i]);
                lk_decimal_from_double(&values[i], lk_value_get_float64(price), NULL);
                lk_decimal product;
                lk_decimal_init(&product);
                lk_decimal_mul(&product, &values[i], &hundred, NULL);
                lk_decimal_set(&values[i], &product);
                lk_decimal_clear(&product);
                lk_value_unref(doc);
        }
        /* median of 10: sort, mean of the middle two */
        for (int i = 1; i < 10; i++)
                for (int k = i; k > 0 && lk_decimal_cmp(&values[k - 1], &values[k]) > 0; k--)
                        swap_decimals(&values[k - 1], &values[k]);
        lk_decimal two;
        lk_decimal_init(&two);
        lk_decimal_from_int64(&two, 2);
        lk_decimal sum;
        lk_decimal_init(&sum);
        lk_decimal_add(&sum, &values[4], &values[5]);
        lk_decimal_div(out, &sum, &two, NULL);
        lk_decimal_clear(&sum);
        for (int i = 0; i < 10; i++)
                lk_decimal_clear(&values[i]);
        lk_decimal_clear(&two);
        lk_decimal_clear(&hundred);
}

static int bench_compute(const options *o) {
        lk_config cfg;
        lk_config_init(&cfg);
        char *dot = compute_dot();
        lk_pipeline_spec *spec = spec_of(dot, 0);
        size_t tasks = lk_pipeline_spec_task_count(spec);
        lk_runner *runner = new_runner(&cfg, NULL, 1);
        window warm = {0};
        drive(runner, spec, o->runs / 10 + 1, o->window, &warm); /* warm caches and the allocator */
        window w = {0};
        lk_usec elapsed = drive(runner, spec, o->runs, o->window, &w);
        close_runner(runner);

        /* the baseline: the memo's JSON, parsed and computed by hand */
        lk_buf json = LK_BUF_INIT;
        lk_buf_putc(&json, '{');
        for (int i = 0; i < 10; i++)
                lk_buf_printf(&json, "%s\"%s\": {\"price\": %d.%02d}", i ? ", " : "", fields[i], 1000 + i * 7, i * 3);
        lk_buf_putc(&json, '}');
        lk_decimal result;
        lk_decimal_init(&result);
        lk_usec begin = lk_now_monotonic();
        for (long i = 0; i < o->runs; i++)
                compute_by_hand(json.data, json.len, &result);
        lk_usec by_hand = lk_now_monotonic() - begin;
        lk_decimal_clear(&result);

        double secs = (double)elapsed / LK_USEC_PER_SEC;
        printf("compute_runs=%ld compute_failed=%ld compute_tasks_per_run=%zu\n", o->runs, w.failed, tasks);
        printf("compute_tasks_per_s=%.0f compute_us_per_run=%.1f\n", (double)o->runs * (double)tasks / secs,
               (double)elapsed / (double)o->runs);
        printf("baseline_by_hand_us_per_run=%.1f engine_over_by_hand=%.2f\n", (double)by_hand / (double)o->runs,
               (double)elapsed / (double)by_hand);
        lk_buf_done(&json);
        lk_free(w.latency);
        lk_free(w.started);
        lk_free(warm.latency);
        lk_free(warm.started);
        lk_pipeline_spec_unref(spec);
        lk_free(dot);
        lk_config_done(&cfg);
        return w.failed ? 1 : 0;
}

/* ---- the database ---- */

static lk_store *open_store(lk_config *cfg, const char *dir) {
        lk_config_init(cfg);
        lk_free(cfg->root_dir);
        cfg->root_dir = lk_strdup(dir);
        /* as a node would run it: WAL, synchronous=full (the default) */
        lk_config_finish(cfg, NULL);
        lk_store *store;
        lk_err err = LK_ERR_INIT;
        if (lk_dir_ensure_private(dir, &err) < 0 || lk_store_new(&(lk_store_options){.config = cfg}, &store, &err) < 0 ||
            lk_service_start(lk_store_service(store), NULL, &err) < 0) {
                fprintf(stderr, "pipeline_bench: %s\n", err.msg);
                exit(1);
        }
        return store;
}

static int64_t store_spec(lk_store *store, const char *dot) {
        int64_t id;
        lk_err err = LK_ERR_INIT;
        if (lk_pipeline_spec_store(store, dot, 0, &id, &err) < 0) {
                fprintf(stderr, "pipeline_bench: %s\n", err.msg);
                exit(1);
        }
        return id;
}

static void close_store(lk_store *store, lk_config *cfg) {
        lk_service_close(lk_store_service(store), NULL);
        lk_store_free(store);
        lk_config_done(cfg);
}

/* ---- typical ---- */

static size_t discard(char *data, size_t size, size_t n, void *arg) {
        (void)data;
        (void)arg;
        return size * n;
}

/* The I/O baseline: libcurl's multi interface fetching the three URLs
 * round-robin, concurrency transfers at a time, connections reused. */
static double curl_baseline(const char *const urls[3], long requests, long concurrency) {
        CURLM *multi = curl_multi_init();
        CURL **handles = calloc((size_t)concurrency, sizeof *handles);
        long started = 0, finished = 0;
        lk_usec begin = lk_now_monotonic();
        for (long i = 0; i < concurrency && started < requests; i++, started++) {
                handles[i] = curl_easy_init();
                curl_easy_setopt(handles[i], CURLOPT_URL, urls[started % 3]);
                curl_easy_setopt(handles[i], CURLOPT_WRITEFUNCTION, discard);
                curl_easy_setopt(handles[i], CURLOPT_NOSIGNAL, 1L);
                curl_multi_add_handle(multi, handles[i]);
        }
        while (finished < requests) {
                int running;
                curl_multi_perform(multi, &running);
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        CURL *h = msg->easy_handle;
                        curl_multi_remove_handle(multi, h);
                        finished++;
                        if (started < requests) {
                                curl_easy_setopt(h, CURLOPT_URL, urls[started++ % 3]);
                                curl_multi_add_handle(multi, h);
                        }
                }
                curl_multi_poll(multi, NULL, 0, 100, NULL);
        }
        lk_usec elapsed = lk_now_monotonic() - begin;
        for (long i = 0; i < concurrency; i++) {
                if (handles[i])
                        curl_easy_cleanup(handles[i]);
        }
        free(handles);
        curl_multi_cleanup(multi);
        return (double)requests / ((double)elapsed / LK_USEC_PER_SEC);
}

static int bench_typical(const options *o) {
        lk_config cfg;
        lk_store *store = open_store(&cfg, o->dir);
        char *urls[3];
        for (int i = 0; i < 3; i++)
                urls[i] = lk_asprintf("%s/price%d.json", o->base_url, i);
        char *dot = lk_asprintf("fetch0 [type=http url=\"%s\"]\nfetch1 [type=http url=\"%s\"]\n"
                                "fetch2 [type=http url=\"%s\"]\n"
                                "parse0 [type=jsonparse path=\"data,price\"]\nparse1 [type=jsonparse path=\"data,price\"]\n"
                                "parse2 [type=jsonparse path=\"data,price\"]\n"
                                "median [type=median]\nscale [type=multiply times=100000000]\n"
                                "fetch0 -> parse0 -> median\nfetch1 -> parse1 -> median\nfetch2 -> parse2 -> median\n"
                                "median -> scale\n",
                                urls[0], urls[1], urls[2]);
        lk_pipeline_spec *spec = spec_of(dot, store_spec(store, dot));
        lk_runner *runner = new_runner(&cfg, store, o->workers);
        window warm = {0};
        drive(runner, spec, o->runs / 10 + 1, o->window, &warm);
        window w = {0};
        lk_usec elapsed = drive(runner, spec, o->runs, o->window, &w);
        close_runner(runner);
        close_store(store, &cfg);

        double runs_per_s = (double)o->runs / ((double)elapsed / LK_USEC_PER_SEC);
        double p50 = percentile_ms(w.latency, o->runs, 0.50), p99 = percentile_ms(w.latency, o->runs, 0.99);
        /* the same number of requests, at the runner's HTTP concurrency */
        double curl_rps = curl_baseline((const char *const *)urls, o->runs * 3, o->window * 3);
        printf("typical_runs=%ld typical_failed=%ld\n", o->runs, w.failed);
        printf("typical_runs_per_s=%.0f typical_p50_ms=%.2f typical_p99_ms=%.2f\n", runs_per_s, p50, p99);
        printf("baseline_curl_requests_per_s=%.0f engine_requests_share=%.2f\n", curl_rps, runs_per_s * 3 / curl_rps);
        for (int i = 0; i < 3; i++)
                lk_free(urls[i]);
        lk_free(w.latency);
        lk_free(w.started);
        lk_free(warm.latency);
        lk_free(warm.started);
        lk_pipeline_spec_unref(spec);
        lk_free(dot);
        return w.failed ? 1 : 0;
}

/* ---- memory ---- */

static int exec_body(lk_db *db, void *arg, lk_err *err) {
        return lk_db_exec(db, arg, err);
}

static uint64_t rss_bytes(void) {
        lk_proc_stats s;
        return lk_proc_stats_read(&s, 0, NULL) == 0 ? s.resident_bytes : 0;
}

static int bench_memory(const options *o) {
        lk_config cfg;
        lk_store *store = open_store(&cfg, o->dir);
        char *sql = lk_asprintf("INSERT INTO bridge_types (name, url, incoming_token_hash, salt, outgoing_token)"
                                " VALUES ('adapter', '%s/pending.json', 'x', 'x', 'x')",
                                o->base_url);
        lk_err err = LK_ERR_INIT;
        if (lk_store_tx(store, exec_body, sql, &err) < 0) {
                fprintf(stderr, "pipeline_bench: %s\n", err.msg);
                return 1;
        }
        lk_free(sql);
        const char *dot = "ask [type=bridge name=adapter async=true]\nparse [type=jsonparse path=\"data,price\"]\n"
                          "scale [type=multiply times=100]\nask -> parse -> scale\n";
        lk_pipeline_spec *spec = spec_of(dot, store_spec(store, dot));
        lk_runner *runner = new_runner(&cfg, store, o->workers);
        uint64_t before = rss_bytes();
        window w = {0};
        lk_usec elapsed = drive(runner, spec, o->runs, o->window, &w);
        uint64_t after = rss_bytes();
        close_runner(runner);
        close_store(store, &cfg);
        printf("memory_suspended_runs=%ld memory_failed=%ld memory_seconds=%.2f\n", w.suspended, w.failed,
               (double)elapsed / LK_USEC_PER_SEC);
        printf("memory_rss_before_mb=%.1f memory_rss_after_mb=%.1f\n", (double)before / 1e6, (double)after / 1e6);
        lk_free(w.latency);
        lk_free(w.started);
        lk_pipeline_spec_unref(spec);
        return w.suspended == o->runs ? 0 : 1;
}

int main(int argc, char **argv) {
        options o = {.runs = 20000, .window = 64, .workers = 0};
        static const struct option long_options[] = {
                {"runs", required_argument, NULL, 'r'},   {"window", required_argument, NULL, 'w'},
                {"workers", required_argument, NULL, 't'}, {"url", required_argument, NULL, 'u'},
                {"dir", required_argument, NULL, 'd'},    {NULL, 0, NULL, 0},
        };
        for (int opt; (opt = getopt_long(argc, argv, "", long_options, NULL)) != -1;) {
                switch (opt) {
                case 'r': o.runs = atol(optarg); break;
                case 'w': o.window = atol(optarg); break;
                case 't': o.workers = (unsigned)atoi(optarg); break;
                case 'u': o.base_url = optarg; break;
                case 'd': o.dir = optarg; break;
                default: goto usage;
                }
        }
        if (optind != argc - 1 || o.runs <= 0 || o.window <= 0)
                goto usage;
        o.mode = argv[optind];
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (strcmp(o.mode, "compute") == 0)
                return bench_compute(&o);
        if (strcmp(o.mode, "typical") == 0 && o.base_url && o.dir)
                return bench_typical(&o);
        if (strcmp(o.mode, "memory") == 0 && o.base_url && o.dir)
                return bench_memory(&o);
usage:
        fputs("usage: pipeline_bench [--runs N] [--window W] [--workers T] compute\n"
              "       pipeline_bench [--runs N] [--window W] [--workers T] --url BASE --dir DIR typical|memory\n",
              stderr);
        return 2;
}
