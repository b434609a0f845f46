/* bench/store: the store's write path and its most common read, each next
 * to a baseline measured in the same run.
 *
 *  1. Inserts N finished pipeline runs of 5 task runs each through the
 *     store API, in transactions of B runs as the runner flushes finished
 *     runs: per run a prepared INSERT ... RETURNING id, then one prepared
 *     INSERT per task run (--shape batch: one multi-row INSERT ...
 *     RETURNING id of the batch's runs, then one of their task runs).  The
 *     same rows, written to SQL files (one BEGIN ... COMMIT per batch, with
 *     explicit ids, in both forms a careful operator might write: an
 *     INSERT per row, or one multi-row INSERT per table and batch), are
 *     loaded by the database's own client (sqlite3, psql) into freshly
 *     migrated databases of the same schema: the raw-engine baseline, the
 *     faster form counting.  Every database is checked to hold the same
 *     rows.  R rounds of fresh databases, in rotating order; the median
 *     round counts.
 *  2. Grows pipeline_runs to M rows spread over S pipeline specs (with
 *     INSERT ... SELECT: the point is the query, not the load), prints the
 *     plan of "the last 100 runs of a job", and times K executions of it
 *     through the store API for random specs: p50, p99 and max.
 *
 * The last line is machine-readable (bench/store/run parses it). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/config.h"
#include "linkd/ctx.h"
#include "linkd/store.h"

extern char **environ;

#define TASKS 5
/* 2026-01-01 00:00:00 UTC: fixed, so that both paths write the same rows. */
#define EPOCH_SECONDS INT64_C(1767225600)
/* Rows per growth transaction: each statement stays well inside the
 * default DefaultQueryTimeout (10 s), which the store enforces. */
#define GROW_CHUNK 100000

typedef struct options {
        const char *url;          /* NULL: SQLite in a temporary RootDir */
        const char *baseline_url; /* PostgreSQL: an empty database for psql */
        const char *tmp;          /* parent of the work directory */
        long runs, batch, read_rows, reads, specs, rounds;
        bool batch_shape; /* --shape batch */
        bool keep;
} options;

/* ---- the rows ---- */

static const char *const dot_ids[TASKS] = {"ds1", "ds1_parse", "ds1_multiply", "median", "answer"};
static const char *const task_types[TASKS] = {"http", "jsonparse", "multiply", "median", "any"};

typedef struct task_row {
        char id[37];
        char output[64];
        lk_usec created, finished;
} task_row;

typedef struct run_row {
        char meta[256];
        char outputs[32];
        lk_usec created, finished;
        task_row tasks[TASKS];
} run_row;

/* splitmix64: a fixed seed makes every run of the bench write the same
 * values, so figures from different runs compare. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void) {
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        return z ^ (z >> 31);
}

static void make_uuid(char out[static 37]) {
        uint64_t hi = next_random(), lo = next_random();
        hi = (hi & ~UINT64_C(0xf000)) | UINT64_C(0x4000);             /* version 4 */
        lo = (lo & ~(UINT64_C(3) << 62)) | (UINT64_C(2) << 62);        /* RFC 4122 variant */
        snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64, hi >> 32,
                 (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48, lo & UINT64_C(0xffffffffffff));
}

/* What a finished direct-request run of a five-task price feed stores:
 * meta with the request (~215 bytes), the answer as outputs, a null per
 * final task as errors, and each task's output as the runner keeps it. */
static void make_run(run_row *run, long index) {
        uint64_t h[4] = {next_random(), next_random(), next_random(), next_random()};
        uint64_t q[4] = {next_random(), next_random(), next_random(), next_random()};
        snprintf(run->meta, sizeof run->meta,
                 "{\"jobRun\":{\"requestTxHash\":\"0x%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "\","
                 "\"requestId\":\"0x%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "\","
                 "\"blockNumber\":%ld,\"logIndex\":%d}}",
                 h[0], h[1], h[2], h[3], q[0], q[1], q[2], q[3], 19000000 + index, (int)(next_random() % 40));
        unsigned cents = (unsigned)(next_random() % 400000) + 100000; /* 1000.00 .. 4999.99 */
        unsigned frac = (unsigned)(next_random() % 100);              /* two more digits after the median */
        char price[16], median[16];
        snprintf(price, sizeof price, "%u.%02u", cents / 100, cents % 100);
        snprintf(median, sizeof median, "%u.%02u%02u", cents / 100, cents % 100, frac);
        snprintf(run->outputs, sizeof run->outputs, "[\"%s\"]", median);
        run->created = (EPOCH_SECONDS + index) * LK_USEC_PER_SEC;
        for (int t = 0; t < TASKS; t++) {
                task_row *task = &run->tasks[t];
                make_uuid(task->id);
                task->created = run->created + t * 50 * LK_USEC_PER_MSEC + 120;
                task->finished = task->created + (t == 0 ? 40 : 1) * LK_USEC_PER_MSEC + 310;
        }
        snprintf(run->tasks[0].output, sizeof run->tasks[0].output, "{\"data\":{\"result\":\"%s\"}}", price);
        snprintf(run->tasks[1].output, sizeof run->tasks[1].output, "\"%s\"", price);
        snprintf(run->tasks[2].output, sizeof run->tasks[2].output, "\"%u000000\"", cents);
        snprintf(run->tasks[3].output, sizeof run->tasks[3].output, "\"%s\"", median);
        snprintf(run->tasks[4].output, sizeof run->tasks[4].output, "\"%s\"", median);
        run->finished = run->tasks[TASKS - 1].finished + 500;
}

/* ---- small helpers ---- */

static double now_seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall-clock and CPU seconds of a piece of work; server: PostgreSQL's
 * CPU seconds for it where known, else -1. */
typedef struct timing {
        double wall, user, sys, server;
} timing;

static double tv_seconds(struct timeval tv) {
        return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static _Noreturn void die(const char *what, const lk_err *err) {
        fprintf(stderr, "store_bench: %s: %s\n", what, err ? lk_err_msg(err) : strerror(errno));
        exit(1);
}

/* The text the SQLite backend stores for a time (and a literal
 * PostgreSQL's timestamptz accepts): "2026-01-01 00:00:00.000120+00:00". */
static void format_time(lk_usec usec, char out[static 40]) {
        time_t secs = (time_t)(usec / LK_USEC_PER_SEC);
        struct tm tm;
        gmtime_r(&secs, &tm);
        size_t n = strftime(out, 40, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(out + n, 40 - n, ".%06ld+00:00", (long)(usec % LK_USEC_PER_SEC));
}

static void put_quoted(lk_buf *b, const char *text) {
        lk_buf_putc(b, '\'');
        for (const char *p = text; *p; p++) {
                if (*p == '\'')
                        lk_buf_putc(b, '\'');
                lk_buf_putc(b, *p);
        }
        lk_buf_putc(b, '\'');
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void)st, (void)flag, (void)ftw;
        return remove(path);
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

/* ---- opening a store ---- */

typedef struct bench_store {
        lk_store *store;
        lk_ctx ctx;
} bench_store;

/* Opens and starts the store, which takes the lock and migrates. */
static void open_store(bench_store *bs, const char *url, const lk_config *cfg) {
        lk_err err = LK_ERR_INIT;
        if (lk_store_new(&(lk_store_options){.url = url, .config = cfg}, &bs->store, &err) < 0)
                die("lk_store_new", &err);
        lk_ctx_init(&bs->ctx, LK_USEC_INFINITY);
        if (lk_service_start(lk_store_service(bs->store), &bs->ctx, &err) < 0)
                die(lk_store_display_url(bs->store), &err);
}

static void close_store(bench_store *bs) {
        lk_err err = LK_ERR_INIT;
        if (lk_service_close(lk_store_service(bs->store), &err) < 0)
                fprintf(stderr, "store_bench: closing the store: %s\n", lk_err_msg(&err));
        bs->store = lk_store_free(bs->store);
        lk_ctx_done(&bs->ctx);
}

/* ---- pipeline specs and jobs ---- */

typedef struct specs_arg {
        long count;
        int64_t *ids;
} specs_arg;

static int create_specs_body(lk_db *db, void *arg, lk_err *err) {
        specs_arg *a = arg;
        for (long i = 0; i < a->count; i++) {
                char dot[512], uuid[37], name[64];
                snprintf(dot, sizeof dot,
                         "ds1 [type=http method=GET url=\"https://prices.example.com/v1/eth-usd?feed=%ld\"];\n"
                         "ds1_parse [type=jsonparse path=\"data,result\"];\n"
                         "ds1_multiply [type=multiply times=100000000];\n"
                         "median [type=median];\nanswer [type=any index=0];\n"
                         "ds1 -> ds1_parse -> ds1_multiply -> median -> answer;\n",
                         i);
                lk_stmt *st;
                int r = lk_db_prepare(db, "INSERT INTO pipeline_specs (dot_dag_source, max_task_duration)"
                                          " VALUES ($1, $2) RETURNING id", &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_text(st, 1, dot, SIZE_MAX);
                lk_stmt_bind_int64(st, 2, 10 * LK_USEC_PER_SEC * 1000); /* nanoseconds, as Chainlink keeps it */
                r = lk_stmt_step(st, err);
                if (r == 1)
                        a->ids[i] = lk_stmt_int64(st, 0);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
                make_uuid(uuid);
                snprintf(name, sizeof name, "ETH/USD feed %ld", i);
                r = lk_db_prepare(db, "INSERT INTO jobs (external_job_id, name, type, schema_version, pipeline_spec_id)"
                                      " VALUES ($1::uuid, $2, $3, $4, $5)", &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_text(st, 1, uuid, SIZE_MAX);
                lk_stmt_bind_text(st, 2, name, SIZE_MAX);
                lk_stmt_bind_text(st, 3, "directrequest", SIZE_MAX);
                lk_stmt_bind_int64(st, 4, 1);
                lk_stmt_bind_int64(st, 5, a->ids[i]);
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void create_specs(lk_store *store, long count, int64_t *ids) {
        lk_err err = LK_ERR_INIT;
        if (lk_store_tx(store, create_specs_body, &(specs_arg){count, ids}, &err) < 0)
                die("creating pipeline specs and jobs", &err);
}

/* ---- 1. inserting finished runs ---- */

static const char insert_run_sql[] =
        "INSERT INTO pipeline_runs (pipeline_spec_id, state, meta, inputs, outputs, all_errors, fatal_errors,"
        " created_at, finished_at)"
        " VALUES ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb, $8::timestamptz, $9::timestamptz)"
        " RETURNING id";
static const char insert_task_sql[] =
        "INSERT INTO pipeline_task_runs (id, pipeline_run_id, type, \"index\", output, error, dot_id,"
        " created_at, finished_at)"
        " VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6, $7, $8::timestamptz, $9::timestamptz)";

typedef struct batch_arg {
        int64_t spec_id;
        const run_row *runs;
        long count;
        int64_t *ids;           /* out: the ids RETURNING gave */
        const char *multi_runs;  /* --shape batch: the two statements for count runs */
        const char *multi_tasks;
} batch_arg;

/* One flush of finished runs: what the runner will do, statement by
 * statement, with the statements cached on the connection. */
static int insert_batch_body(lk_db *db, void *arg, lk_err *err) {
        batch_arg *a = arg;
        for (long i = 0; i < a->count; i++) {
                const run_row *run = &a->runs[i];
                lk_stmt *st;
                int r = lk_db_prepare(db, insert_run_sql, &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_int64(st, 1, a->spec_id);
                lk_stmt_bind_text(st, 2, "completed", SIZE_MAX);
                lk_stmt_bind_text(st, 3, run->meta, SIZE_MAX);
                lk_stmt_bind_null(st, 4);
                lk_stmt_bind_text(st, 5, run->outputs, SIZE_MAX);
                lk_stmt_bind_text(st, 6, "[null]", SIZE_MAX);
                lk_stmt_bind_text(st, 7, "[null]", SIZE_MAX);
                lk_stmt_bind_time(st, 8, run->created);
                lk_stmt_bind_time(st, 9, run->finished);
                r = lk_stmt_step(st, err);
                if (r == 1)
                        a->ids[i] = lk_stmt_int64(st, 0);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
                if (r == 0)
                        return lk_err_set(err, -EIO, "INSERT ... RETURNING id returned no row");
                for (int t = 0; t < TASKS; t++) {
                        const task_row *task = &run->tasks[t];
                        r = lk_db_prepare(db, insert_task_sql, &st, err);
                        if (r < 0)
                                return r;
                        lk_stmt_bind_text(st, 1, task->id, SIZE_MAX);
                        lk_stmt_bind_int64(st, 2, a->ids[i]);
                        lk_stmt_bind_text(st, 3, task_types[t], SIZE_MAX);
                        lk_stmt_bind_int64(st, 4, 0);
                        lk_stmt_bind_text(st, 5, task->output, SIZE_MAX);
                        lk_stmt_bind_null(st, 6);
                        lk_stmt_bind_text(st, 7, dot_ids[t], SIZE_MAX);
                        lk_stmt_bind_time(st, 8, task->created);
                        lk_stmt_bind_time(st, 9, task->finished);
                        r = lk_stmt_run(st, err);
                        lk_stmt_done(st);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* --shape batch: "head VALUES ($1::cast, ...), ..." for rows rows, each
 * column with its cast (which the SQLite backend drops). */
static char *multi_row_sql(const char *head, const char *const casts[], int columns, long rows, const char *tail) {
        lk_buf b = LK_BUF_INIT;
        lk_buf_printf(&b, "%s VALUES ", head);
        int n = 0;
        for (long r = 0; r < rows; r++) {
                lk_buf_puts(&b, r ? ", (" : "(");
                for (int c = 0; c < columns; c++)
                        lk_buf_printf(&b, "%s$%d%s", c ? ", " : "", ++n, casts[c]);
                lk_buf_putc(&b, ')');
        }
        lk_buf_puts(&b, tail);
        return lk_buf_steal(&b, NULL);
}

static const char *const run_casts[9] = {"", "", "::jsonb", "::jsonb", "::jsonb", "::jsonb", "::jsonb",
                                         "::timestamptz", "::timestamptz"};
static const char *const task_casts[9] = {"::uuid", "", "", "", "::jsonb", "", "", "::timestamptz", "::timestamptz"};

static char *multi_runs_sql(long rows) {
        return multi_row_sql("INSERT INTO pipeline_runs (pipeline_spec_id, state, meta, inputs, outputs, all_errors,"
                             " fatal_errors, created_at, finished_at)", run_casts, 9, rows, " RETURNING id");
}

static char *multi_tasks_sql(long rows) {
        return multi_row_sql("INSERT INTO pipeline_task_runs (id, pipeline_run_id, type, \"index\", output, error,"
                             " dot_id, created_at, finished_at)", task_casts, 9, rows * TASKS, "");
}

/* --shape batch: the runs in one statement, their ids back in the order
 * of the VALUES (as PostgreSQL and SQLite return them in practice, and as
 * Chainlink's InsertFinishedRuns relies on; the bench checks every id),
 * then all their task runs in another. */
static int insert_batch_multi_body(lk_db *db, void *arg, lk_err *err) {
        batch_arg *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, a->multi_runs, &st, err);
        if (r < 0)
                return r;
        for (long i = 0; i < a->count; i++) {
                const run_row *run = &a->runs[i];
                int p = (int)i * 9;
                lk_stmt_bind_int64(st, p + 1, a->spec_id);
                lk_stmt_bind_text(st, p + 2, "completed", SIZE_MAX);
                lk_stmt_bind_text(st, p + 3, run->meta, SIZE_MAX);
                lk_stmt_bind_null(st, p + 4);
                lk_stmt_bind_text(st, p + 5, run->outputs, SIZE_MAX);
                lk_stmt_bind_text(st, p + 6, "[null]", SIZE_MAX);
                lk_stmt_bind_text(st, p + 7, "[null]", SIZE_MAX);
                lk_stmt_bind_time(st, p + 8, run->created);
                lk_stmt_bind_time(st, p + 9, run->finished);
        }
        long got = 0;
        while ((r = lk_stmt_step(st, err)) == 1)
                if (got < a->count)
                        a->ids[got++] = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        if (r < 0)
                return r;
        if (got != a->count)
                return lk_err_set(err, -EIO, "INSERT ... RETURNING id returned %ld rows for %ld runs", got, a->count);
        r = lk_db_prepare(db, a->multi_tasks, &st, err);
        if (r < 0)
                return r;
        for (long i = 0; i < a->count; i++) {
                for (int t = 0; t < TASKS; t++) {
                        const task_row *task = &a->runs[i].tasks[t];
                        int p = (int)(i * TASKS + t) * 9;
                        lk_stmt_bind_text(st, p + 1, task->id, SIZE_MAX);
                        lk_stmt_bind_int64(st, p + 2, a->ids[i]);
                        lk_stmt_bind_text(st, p + 3, task_types[t], SIZE_MAX);
                        lk_stmt_bind_int64(st, p + 4, 0);
                        lk_stmt_bind_text(st, p + 5, task->output, SIZE_MAX);
                        lk_stmt_bind_null(st, p + 6);
                        lk_stmt_bind_text(st, p + 7, dot_ids[t], SIZE_MAX);
                        lk_stmt_bind_time(st, p + 8, task->created);
                        lk_stmt_bind_time(st, p + 9, task->finished);
                }
        }
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* PostgreSQL on this machine: the CPU seconds the server processes of
 * linkd's connections have used, from /proc (-1 when the server runs
 * elsewhere or PostgreSQL is not the backend): where a statement's time
 * goes that the client does not see. */
#define MAX_BACKENDS 64

typedef struct server_cpu {
        int count;
        int pids[MAX_BACKENDS];
        double seconds[MAX_BACKENDS];
} server_cpu;

static int backend_pids_body(lk_db *db, void *arg, lk_err *err) {
        server_cpu *c = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT pid FROM pg_stat_activity"
                                  " WHERE datname = current_database() AND application_name = 'linkd'", &st, err);
        if (r < 0)
                return r;
        c->count = 0;
        while ((r = lk_stmt_step(st, err)) == 1)
                if (c->count < MAX_BACKENDS)
                        c->pids[c->count++] = (int)lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r;
}

/* utime + stime of a process, or -1. */
static double process_cpu(int pid) {
        char path[64], line[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        bool ok = fgets(line, sizeof line, f) != NULL;
        fclose(f);
        /* The fields after the command name, which may hold spaces:
         * state is the 3rd, utime the 14th, stime the 15th. */
        char *p = ok ? strrchr(line, ')') : NULL;
        unsigned long long utime, stime;
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
                return -1;
        return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static server_cpu sample_server_cpu(lk_store *store) {
        server_cpu c = {0};
        if (lk_store_backend_of(store) != LK_STORE_POSTGRES || lk_store_read(store, backend_pids_body, &c, NULL) < 0)
                c.count = 0;
        for (int i = 0; i < c.count; i++)
                c.seconds[i] = process_cpu(c.pids[i]);
        return c;
}

/* The server CPU used between two samples, or -1 if unknown. */
static double server_cpu_used(const server_cpu *before, const server_cpu *after) {
        double used = 0;
        bool known = false;
        for (int i = 0; i < after->count; i++) {
                if (after->seconds[i] < 0)
                        continue;
                known = true;
                used += after->seconds[i];
                for (int j = 0; j < before->count; j++)
                        if (before->pids[j] == after->pids[i] && before->seconds[j] >= 0)
                                used -= before->seconds[j];
        }
        return known ? used : -1;
}

/* Inserts every run through the store; ids gets each run's id.  The CPU
 * time is the whole process's (the store's monitor thread is idle). */
static timing insert_runs(lk_store *store, int64_t spec_id, const run_row *runs, long count, long batch,
                          bool batch_shape, int64_t *ids) {
        /* The multi-row statements' text, made once as a runner would: for
         * a full batch and for the last, shorter one. */
        char *full_runs = NULL, *full_tasks = NULL, *last_runs = NULL, *last_tasks = NULL;
        if (batch_shape) {
                full_runs = multi_runs_sql(batch < count ? batch : count);
                full_tasks = multi_tasks_sql(batch < count ? batch : count);
                last_runs = multi_runs_sql(count % batch ? count % batch : batch);
                last_tasks = multi_tasks_sql(count % batch ? count % batch : batch);
        }
        server_cpu server_before = sample_server_cpu(store);
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        double began = now_seconds();
        for (long first = 0; first < count; first += batch) {
                bool last = count - first <= batch;
                batch_arg a = {spec_id, runs + first, last ? count - first : batch, ids + first,
                               last ? last_runs : full_runs, last ? last_tasks : full_tasks};
                lk_err err = LK_ERR_INIT;
                if (lk_store_tx(store, batch_shape ? insert_batch_multi_body : insert_batch_body, &a, &err) < 0)
                        die("inserting runs", &err);
        }
        double wall = now_seconds() - began;
        getrusage(RUSAGE_SELF, &after);
        server_cpu server_after = sample_server_cpu(store);
        lk_free(full_runs);
        lk_free(full_tasks);
        lk_free(last_runs);
        lk_free(last_tasks);
        return (timing){wall, tv_seconds(after.ru_utime) - tv_seconds(before.ru_utime),
                        tv_seconds(after.ru_stime) - tv_seconds(before.ru_stime),
                        server_cpu_used(&server_before, &server_after)};
}

/* The two forms a careful operator might write the same rows in, one
 * transaction per batch either way, with explicit run ids (a script has no
 * RETURNING to feed the task runs from): one INSERT per row, as
 * `sqlite3 .dump` and `pg_dump --inserts` write, or one multi-row INSERT
 * per table and batch.  Both are timed; the faster is the baseline. */
typedef enum sql_form {
        PER_ROW,
        MULTI_ROW,
} sql_form;

static const char *const form_names[] = {"per-row", "multi-row"};

static const char runs_insert[] = "INSERT INTO pipeline_runs (id, pipeline_spec_id, state, meta, inputs, outputs,"
                                  " all_errors, fatal_errors, created_at, finished_at) VALUES";
static const char tasks_insert[] = "INSERT INTO pipeline_task_runs (id, pipeline_run_id, type, \"index\", output,"
                                   " error, dot_id, created_at, finished_at) VALUES";

static void put_run_values(lk_buf *b, const run_row *run, int64_t id, int64_t spec_id) {
        char created[40], finished[40];
        format_time(run->created, created);
        format_time(run->finished, finished);
        lk_buf_printf(b, "(%" PRId64 ", %" PRId64 ", 'completed', ", id, spec_id);
        put_quoted(b, run->meta);
        lk_buf_puts(b, ", NULL, ");
        put_quoted(b, run->outputs);
        lk_buf_printf(b, ", '[null]', '[null]', '%s', '%s')", created, finished);
}

static void put_task_values(lk_buf *b, const task_row *task, int t, int64_t run_id) {
        char created[40], finished[40];
        format_time(task->created, created);
        format_time(task->finished, finished);
        lk_buf_printf(b, "('%s', %" PRId64 ", '%s', 0, ", task->id, run_id, task_types[t]);
        put_quoted(b, task->output);
        lk_buf_printf(b, ", NULL, '%s', '%s', '%s')", dot_ids[t], created, finished);
}

static void put_batch(lk_buf *b, sql_form form, const run_row *runs, long start, long end, int64_t first_id,
                      int64_t spec_id) {
        lk_buf_puts(b, "BEGIN;\n");
        if (form == MULTI_ROW)
                lk_buf_printf(b, "%s\n", runs_insert);
        for (long i = start; i < end; i++) {
                if (form == PER_ROW)
                        lk_buf_printf(b, "%s ", runs_insert);
                put_run_values(b, &runs[i], first_id + i, spec_id);
                lk_buf_puts(b, form == PER_ROW || i + 1 == end ? ";\n" : ",\n");
        }
        if (form == MULTI_ROW)
                lk_buf_printf(b, "%s\n", tasks_insert);
        for (long i = start; i < end; i++) {
                for (int t = 0; t < TASKS; t++) {
                        if (form == PER_ROW)
                                lk_buf_printf(b, "%s ", tasks_insert);
                        put_task_values(b, &runs[i].tasks[t], t, first_id + i);
                        lk_buf_puts(b, form == PER_ROW || (i + 1 == end && t + 1 == TASKS) ? ";\n" : ",\n");
                }
        }
        lk_buf_puts(b, "COMMIT;\n");
}

/* Writes the SQL file; its size in bytes. */
static size_t write_sql_file(const char *path, lk_store_backend backend, sql_form form, int64_t spec_id,
                             const run_row *runs, long count, long batch, int64_t first_id) {
        FILE *f = fopen(path, "we");
        if (!f)
                die(path, NULL);
        lk_buf b = LK_BUF_INIT;
        /* The pragmas the store's connections use (src/store/sqlite.c). */
        if (backend == LK_STORE_SQLITE)
                lk_buf_puts(&b, "PRAGMA journal_mode = WAL;\nPRAGMA synchronous = FULL;\nPRAGMA foreign_keys = ON;\n");
        size_t total = 0;
        for (long start = 0; start < count; start += batch) {
                long end = start + batch < count ? start + batch : count;
                put_batch(&b, form, runs, start, end, first_id, spec_id);
                /* The sequence behind the explicit ids, as an operator would
                 * set it after loading. */
                if (end == count && backend == LK_STORE_POSTGRES)
                        lk_buf_puts(&b, "SELECT setval('pipeline_runs_id_seq', (SELECT max(id) FROM pipeline_runs));\n");
                if (b.len > (1u << 20) || end == count) {
                        if (fwrite(b.data, 1, b.len, f) != b.len)
                                die(path, NULL);
                        total += b.len;
                        lk_buf_reset(&b);
                }
        }
        lk_buf_done(&b);
        if (fclose(f) != 0)
                die(path, NULL);
        return total;
}

/* Runs argv with stdin from in_path (or /dev/null) and stdout to
 * /dev/null; what it took, its CPU time from wait4.  A failure ends the
 * bench, unless it may fail: then it is quiet and wall is negative. */
static timing time_command(char *const argv[], const char *in_path, bool may_fail) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        if (may_fail)
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        double began = now_seconds();
        pid_t pid;
        int e = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (e != 0) {
                errno = e;
                die(argv[0], NULL);
        }
        int status;
        struct rusage ru;
        while (wait4(pid, &status, 0, &ru) < 0)
                if (errno != EINTR)
                        die("wait4", NULL);
        timing t = {now_seconds() - began, tv_seconds(ru.ru_utime), tv_seconds(ru.ru_stime), -1};
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (may_fail) {
                        t.wall = -1;
                        return t;
                }
                fprintf(stderr, "store_bench: %s failed (status %d)\n", argv[0], status);
                exit(1);
        }
        return t;
}

/* Row counts and content lengths: equal in both databases when they hold
 * the same rows (PostgreSQL normalises jsonb the same way in both). */
typedef struct digest {
        int64_t runs, run_ids, meta_len, outputs_len, tasks, task_output_len, task_spans;
} digest;

static int digest_body(lk_db *db, void *arg, lk_err *err) {
        digest *d = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT count(*), COALESCE(sum(id), 0), COALESCE(sum(length(meta::text)), 0),"
                                  " COALESCE(sum(length(outputs::text)), 0) FROM pipeline_runs", &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_step(st, err);
        if (r == 1) {
                d->runs = lk_stmt_int64(st, 0);
                d->run_ids = lk_stmt_int64(st, 1);
                d->meta_len = lk_stmt_int64(st, 2);
                d->outputs_len = lk_stmt_int64(st, 3);
        }
        lk_stmt_done(st);
        if (r < 0)
                return r;
        r = lk_db_prepare(db, "SELECT count(*), COALESCE(sum(length(output::text)), 0),"
                              " COALESCE(sum(length(dot_id) * pipeline_run_id), 0) FROM pipeline_task_runs", &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_step(st, err);
        if (r == 1) {
                d->tasks = lk_stmt_int64(st, 0);
                d->task_output_len = lk_stmt_int64(st, 1);
                d->task_spans = lk_stmt_int64(st, 2);
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static digest digest_of(lk_store *store) {
        digest d = {0};
        lk_err err = LK_ERR_INIT;
        if (lk_store_read(store, digest_body, &d, &err) < 0)
                die("checking the rows", &err);
        return d;
}

/* Makes url a freshly migrated database holding one pipeline spec; its id.
 * Opened without the service (no lock, as the `linkd db` commands do): a
 * PostgreSQL database used before is rolled back to no schema and migrated
 * again, which gives it new, empty tables. */
static int64_t fresh_database(const char *url, const lk_config *cfg) {
        lk_store *store;
        lk_err err = LK_ERR_INIT;
        if (lk_store_new(&(lk_store_options){.url = url, .config = cfg}, &store, &err) < 0 ||
            lk_store_open(store, &err) < 0)
                die(url, &err);
        int version;
        if (lk_store_version(store, &version, &err) < 0)
                die("baseline schema version", &err);
        for (; version > 0;)
                if (lk_store_rollback(store, &version, &err) < 0)
                        die("rolling the baseline back", &err);
        if (lk_store_migrate(store, NULL, &err) < 0)
                die("migrating the baseline", &err);
        int64_t spec;
        create_specs(store, 1, &spec);
        lk_store_close(store);
        lk_store_free(store);
        return spec;
}

static digest baseline_digest(const char *url, const lk_config *cfg) {
        lk_store *store;
        lk_err err = LK_ERR_INIT;
        if (lk_store_new(&(lk_store_options){.url = url, .config = cfg}, &store, &err) < 0 ||
            lk_store_open(store, &err) < 0)
                die(url, &err);
        digest d = digest_of(store);
        lk_store_close(store);
        lk_store_free(store);
        return d;
}

/* ---- 2. reading the last runs of a job ---- */

typedef struct grow_arg {
        int64_t from, to;        /* row numbers, inclusive */
        int64_t first_spec;
        long specs;
} grow_arg;

/* Rows shaped like the inserted ones (meta of the same length, the same
 * outputs and errors, finished), interleaved over the specs as concurrent
 * jobs interleave, so a job's newest rows are spread over the table. */
static const char grow_sqlite[] =
        "WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)"
        " INSERT INTO pipeline_runs (pipeline_spec_id, state, meta, outputs, all_errors, fatal_errors,"
        " created_at, finished_at)"
        " SELECT $3 + i % $4, 'completed',"
        " '{\"jobRun\":{\"requestTxHash\":\"0x' || printf('%064x', i * 2654435761) || '\",\"requestId\":\"0x'"
        " || printf('%064x', i * 40503) || '\",\"blockNumber\":' || (19000000 + i) || ',\"logIndex\":'"
        " || (i % 40) || '}}',"
        " '[\"' || (1000 + i % 4000) || '.' || printf('%04d', i % 10000) || '\"]', '[null]', '[null]',"
        " strftime('%Y-%m-%d %H:%M:%f', 1767225600 + i, 'unixepoch') || '000+00:00',"
        " strftime('%Y-%m-%d %H:%M:%f', 1767225600.3 + i, 'unixepoch') || '000+00:00'"
        " FROM n";
static const char grow_postgres[] =
        "INSERT INTO pipeline_runs (pipeline_spec_id, state, meta, outputs, all_errors, fatal_errors,"
        " created_at, finished_at)"
        " SELECT $3::bigint + i % $4::bigint, 'completed',"
        " ('{\"jobRun\":{\"requestTxHash\":\"0x' || lpad(to_hex(i * 2654435761), 64, '0') || '\",\"requestId\":\"0x'"
        " || lpad(to_hex(i * 40503), 64, '0') || '\",\"blockNumber\":' || (19000000 + i) || ',\"logIndex\":'"
        " || (i % 40) || '}}')::jsonb,"
        " ('[\"' || (1000 + i % 4000) || '.' || lpad((i % 10000)::text, 4, '0') || '\"]')::jsonb,"
        " '[null]', '[null]', to_timestamp(1767225600 + i), to_timestamp(1767225600.3 + i)"
        " FROM generate_series($1::bigint, $2::bigint) AS g(i)";

static int grow_body(lk_db *db, void *arg, lk_err *err) {
        grow_arg *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, lk_db_backend(db) == LK_STORE_SQLITE ? grow_sqlite : grow_postgres, &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->from);
        lk_stmt_bind_int64(st, 2, a->to);
        lk_stmt_bind_int64(st, 3, a->first_spec);
        lk_stmt_bind_int64(st, 4, a->specs);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static const char last_runs_sql[] = "SELECT id, state, outputs, created_at, finished_at FROM pipeline_runs"
                                    " WHERE pipeline_spec_id = $1 ORDER BY id DESC LIMIT 100";

typedef struct plan_arg {
        int64_t spec;
        lk_buf text;
} plan_arg;

static int plan_body(lk_db *db, void *arg, lk_err *err) {
        plan_arg *a = arg;
        bool sqlite = lk_db_backend(db) == LK_STORE_SQLITE;
        char sql[512];
        snprintf(sql, sizeof sql, "%s %s", sqlite ? "EXPLAIN QUERY PLAN" : "EXPLAIN", last_runs_sql);
        lk_stmt *st;
        int r = lk_db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->spec);
        lk_buf_reset(&a->text);
        while ((r = lk_stmt_step(st, err)) == 1) {
                /* SQLite: id, parent, notused, detail; PostgreSQL: one line of text. */
                if (a->text.len)
                        lk_buf_puts(&a->text, " | ");
                lk_buf_puts(&a->text, lk_stmt_text(st, sqlite ? 3 : 0, NULL));
        }
        lk_stmt_done(st);
        return r;
}

typedef struct read_arg {
        int64_t spec;
        long rows;
        int64_t checksum; /* uses what was read, as a caller would */
} read_arg;

static int read_body(lk_db *db, void *arg, lk_err *err) {
        read_arg *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, last_runs_sql, &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->spec);
        a->rows = 0;
        while ((r = lk_stmt_step(st, err)) == 1) {
                size_t state_len, outputs_len;
                lk_stmt_text(st, 1, &state_len);
                lk_stmt_text(st, 2, &outputs_len);
                a->checksum += lk_stmt_int64(st, 0) + (int64_t)(state_len + outputs_len) + lk_stmt_time(st, 3) +
                               lk_stmt_time(st, 4);
                a->rows++;
        }
        lk_stmt_done(st);
        return r;
}

typedef struct latency {
        double p50, p99, max; /* milliseconds */
} latency;

static latency time_reads(lk_store *store, const int64_t *specs, long spec_count, long reads) {
        double *ms = lk_calloc((size_t)reads, sizeof *ms);
        read_arg a = {0};
        lk_err err = LK_ERR_INIT;
        /* One query per job first: the steady state of a node, whose pages
         * of recent runs are cached, not the first touch after a load. */
        for (long s = 0; s < spec_count; s++) {
                a.spec = specs[s];
                if (lk_store_read(store, read_body, &a, &err) < 0)
                        die("reading runs", &err);
        }
        for (long i = 0; i < reads; i++) {
                a.spec = specs[next_random() % (uint64_t)spec_count];
                double began = now_seconds();
                if (lk_store_read(store, read_body, &a, &err) < 0)
                        die("reading runs", &err);
                ms[i] = (now_seconds() - began) * 1000;
                if (a.rows != 100) {
                        fprintf(stderr, "store_bench: spec %" PRId64 " gave %ld rows, not 100\n", a.spec, a.rows);
                        exit(1);
                }
        }
        qsort(ms, (size_t)reads, sizeof *ms, compare_double);
        latency l = {ms[(reads - 1) / 2], ms[(long)ceil(reads * 0.99) - 1], ms[reads - 1]};
        lk_free(ms);
        return l;
}

/* ---- main ---- */

/* The work directory goes on every exit, die() included, unless --keep:
 * its files run to hundreds of megabytes. */
static char *work_dir;

static void remove_work_dir(void) {
        if (work_dir)
                nftw(work_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void usage(void) {
        fputs("usage: store_bench [--url URL --baseline-url URL] [--runs N] [--batch B] [--read-rows M]\n"
              "                   [--reads K] [--specs S] [--rounds R] [--shape row|batch] [--tmp DIR] [--keep]\n"
              "  --url           the database linkd writes (postgresql://...); default: SQLite in a\n"
              "                  temporary RootDir\n"
              "  --baseline-url  PostgreSQL: an empty database the psql baseline loads\n"
              "  --runs          finished runs to insert (50000), --batch runs per transaction (100)\n"
              "  --read-rows     pipeline_runs rows for the read test (1000000), over --specs jobs (50)\n"
              "  --reads         timed reads (2000); --tmp where the files go ($TMPDIR or /tmp)\n"
              "  --rounds        insert rounds (3): each loads fresh databases, the median counts\n"
              "  --shape         how linkd inserts a batch: row (a statement per run and per task\n"
              "                  run, the default) or batch (one multi-row INSERT ... RETURNING id of\n"
              "                  the batch's runs, then one of their task runs)\n",
              stderr);
        exit(2);
}

static long number_arg(const char *text) {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno || *end || v < 1)
                usage();
        return v;
}

static options parse_options(int argc, char **argv) {
        options o = {.runs = 50000, .batch = 100, .read_rows = 1000000, .reads = 2000, .specs = 50, .rounds = 3};
        o.tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        static const struct option longs[] = {
                {"url", required_argument, NULL, 'u'},      {"baseline-url", required_argument, NULL, 'b'},
                {"runs", required_argument, NULL, 'n'},     {"batch", required_argument, NULL, 'B'},
                {"read-rows", required_argument, NULL, 'm'}, {"reads", required_argument, NULL, 'k'},
                {"specs", required_argument, NULL, 's'},    {"tmp", required_argument, NULL, 't'},
                {"rounds", required_argument, NULL, 'r'},   {"keep", no_argument, NULL, 'K'},
                {"shape", required_argument, NULL, 'S'},    {NULL, 0, NULL, 0},
        };
        int c;
        while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
                switch (c) {
                case 'u': o.url = optarg; break;
                case 'b': o.baseline_url = optarg; break;
                case 'n': o.runs = number_arg(optarg); break;
                case 'B': o.batch = number_arg(optarg); break;
                case 'm': o.read_rows = number_arg(optarg); break;
                case 'k': o.reads = number_arg(optarg); break;
                case 's': o.specs = number_arg(optarg); break;
                case 't': o.tmp = optarg; break;
                case 'r': o.rounds = number_arg(optarg); break;
                case 'S':
                        if (strcmp(optarg, "row") && strcmp(optarg, "batch"))
                                usage();
                        o.batch_shape = !strcmp(optarg, "batch");
                        break;
                case 'K': o.keep = true; break;
                default: usage();
                }
        }
        if (optind != argc || (o.url && !o.baseline_url) || (!o.url && o.baseline_url))
                usage();
        /* A batch's task runs in one statement: 45 parameters per run, and
         * SQLite takes 32766 at most. */
        if (o.batch_shape && o.batch * TASKS * 9 > 32766) {
                fprintf(stderr, "store_bench: --shape batch takes --batch %d at most\n", 32766 / (TASKS * 9));
                exit(2);
        }
        /* Every job needs its 100 runs to read. */
        if (o.read_rows < o.runs + 100 * o.specs)
                o.read_rows = o.runs + 100 * o.specs;
        return o;
}

static int compare_timing(const void *a, const void *b) {
        return compare_double(&((const timing *)a)->wall, &((const timing *)b)->wall);
}

/* The round whose wall time is the median. */
static timing median_timing(const timing *t, long count) {
        timing *sorted = lk_calloc((size_t)count, sizeof *sorted);
        memcpy(sorted, t, (size_t)count * sizeof *sorted);
        qsort(sorted, (size_t)count, sizeof *sorted, compare_timing);
        timing m = sorted[(count - 1) / 2];
        lk_free(sorted);
        return m;
}

enum { LINKD, CLI_PER_ROW, CLI_MULTI_ROW, METHODS };

int main(int argc, char **argv) {
        /* bench/store/run reads this through a pipe: a line at a time, so
         * that progress shows during a long run. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        options o = parse_options(argc, argv);
        lk_store_backend backend = o.url ? LK_STORE_POSTGRES : LK_STORE_SQLITE;
        const char *backend_name = backend == LK_STORE_SQLITE ? "sqlite" : "postgresql";

        char *work = lk_asprintf("%s/linkd-bench-store-XXXXXX", o.tmp);
        if (!mkdtemp(work))
                die(work, NULL);
        if (!o.keep) {
                work_dir = work;
                atexit(remove_work_dir);
        }

        /* The defaults a node runs with: synchronous = FULL, the 10 s
         * query timeout, the pool sizes. */
        lk_config cfg;
        lk_config_init(&cfg);
        lk_err err = LK_ERR_INIT;
        if (lk_config_finish(&cfg, &err) < 0)
                die("config", &err);

        run_row *runs = lk_calloc((size_t)o.runs, sizeof *runs);
        for (long i = 0; i < o.runs; i++)
                make_run(&runs[i], i);
        int64_t *ids = lk_calloc((size_t)o.runs, sizeof *ids);
        int64_t *specs = lk_calloc((size_t)o.specs, sizeof *specs);

        /* Written before anything is timed, for fresh databases: the spec
         * is the first (id 1), and so are the run ids. */
        char *sql_paths[METHODS] = {NULL};
        size_t sql_bytes[METHODS] = {0};
        for (int m = CLI_PER_ROW; m <= CLI_MULTI_ROW; m++) {
                sql_form form = m == CLI_PER_ROW ? PER_ROW : MULTI_ROW;
                sql_paths[m] = lk_asprintf("%s/rows-%s.sql", work, form_names[form]);
                sql_bytes[m] = write_sql_file(sql_paths[m], backend, form, 1, runs, o.runs, o.batch, 1);
        }

        printf("bench/store %s: %ld runs x %d task runs, %ld runs per transaction, median of %ld rounds\n",
               backend_name, o.runs, TASKS, o.batch, o.rounds);

        /* Each round loads fresh databases three ways, in an order that
         * rotates, so that drift in the disk's speed spreads evenly. */
        timing *results[METHODS];
        for (int m = 0; m < METHODS; m++)
                results[m] = lk_calloc((size_t)o.rounds, sizeof *results[m]);
        bench_store main_store = {0};
        char *root = NULL;
        for (long round = 0; round < o.rounds; round++) {
                digest digests[METHODS];
                for (int k = 0; k < METHODS; k++) {
                        int m = (int)((round + k) % METHODS);
                        if (m == LINKD) {
                                /* SQLite: a new RootDir (the URL is none);
                                 * PostgreSQL: the database made fresh. */
                                if (main_store.store)
                                        close_store(&main_store);
                                if (root)
                                        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
                                lk_free(root);
                                root = lk_asprintf("%s/root-%ld", work, round);
                                if (mkdir(root, 0700) < 0)
                                        die(root, NULL);
                                lk_free(cfg.root_dir);
                                cfg.root_dir = lk_strdup(root);
                                if (o.url)
                                        fresh_database(o.url, &cfg);
                                open_store(&main_store, o.url, &cfg);
                                if (!o.url)
                                        create_specs(main_store.store, 1, specs);
                                else
                                        specs[0] = 1; /* fresh_database made it */
                                if (specs[0] != 1) {
                                        fprintf(stderr, "store_bench: a fresh database's first spec id is not 1\n");
                                        return 1;
                                }
                                results[m][round] = insert_runs(main_store.store, specs[0], runs, o.runs, o.batch,
                                                                 o.batch_shape, ids);
                                for (long i = 0; i < o.runs; i++)
                                        if (ids[i] != i + 1) {
                                                fprintf(stderr, "store_bench: run %ld got id %" PRId64
                                                        ", the SQL files have %ld\n", i, ids[i], i + 1);
                                                return 1;
                                        }
                                digests[m] = digest_of(main_store.store);
                                continue;
                        }
                        sql_form form = m == CLI_PER_ROW ? PER_ROW : MULTI_ROW;
                        char *db_path = lk_asprintf("%s/baseline-%s.db", work, form_names[form]);
                        char *url = o.url ? lk_strdup(o.baseline_url) : lk_asprintf("sqlite://%s", db_path);
                        if (!o.url) {
                                char *wal = lk_asprintf("%s-wal", db_path), *shm = lk_asprintf("%s-shm", db_path);
                                unlink(db_path), unlink(wal), unlink(shm);
                                lk_free(wal), lk_free(shm);
                        }
                        if (fresh_database(url, &cfg) != 1) {
                                fprintf(stderr, "store_bench: a fresh database's first spec id is not 1\n");
                                return 1;
                        }
                        if (backend == LK_STORE_SQLITE) {
                                char *argv_cli[] = {"sqlite3", "-bail", db_path, NULL};
                                results[m][round] = time_command(argv_cli, sql_paths[m], false);
                        } else {
                                char *argv_cli[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", sql_paths[m],
                                                    url, NULL};
                                results[m][round] = time_command(argv_cli, NULL, false);
                        }
                        digests[m] = baseline_digest(url, &cfg);
                        lk_free(url);
                        lk_free(db_path);
                }
                /* The same rows everywhere, and all of them. */
                for (int m = 0; m < METHODS; m++)
                        if (memcmp(&digests[m], &digests[LINKD], sizeof digests[m]) != 0 ||
                            digests[m].runs != o.runs || digests[m].tasks != o.runs * TASKS) {
                                fprintf(stderr, "store_bench: round %ld: %s holds %" PRId64 " runs and %" PRId64
                                        " task runs, not the same rows as linkd's\n", round,
                                        m == LINKD ? "linkd" : form_names[m - 1], digests[m].runs, digests[m].tasks);
                                return 1;
                        }
        }

        static const char *const labels[2][METHODS] = {
                {"", "sqlite3 < rows-per-row.sql", "sqlite3 < rows-multi-row.sql"},
                {"", "psql -f rows-per-row.sql", "psql -f rows-multi-row.sql"},
        };
        const char *linkd_label = o.batch_shape ? "linkd (store API, multi-row per batch)"
                                                : "linkd (store API, statement per row)";
        double rps[METHODS];
        for (int m = 0; m < METHODS; m++) {
                timing t = median_timing(results[m], o.rounds);
                rps[m] = (double)o.runs / t.wall;
                printf("  %-40s %7.2f s  %7.0f runs/s   cpu %5.2f user %5.2f sys", m == LINKD ? linkd_label
                                                                                      : labels[backend][m], t.wall,
                       rps[m], t.user, t.sys);
                if (m != LINKD)
                        printf("  (%.0f MB)", (double)sql_bytes[m] / 1e6);
                else if (t.server >= 0)
                        printf("  server cpu %5.2f", t.server);
                printf("   rounds:");
                for (long r = 0; r < o.rounds; r++)
                        printf(" %.0f", (double)o.runs / results[m][r].wall);
                printf("\n");
        }
        int best = rps[CLI_PER_ROW] >= rps[CLI_MULTI_ROW] ? CLI_PER_ROW : CLI_MULTI_ROW;
        double linkd_rps = rps[LINKD], cli_rps = rps[best];
        const char *cli_form = form_names[best - 1];
        printf("  linkd / baseline (the faster form, %s)  %6.0f%%   (same rows in every database: checked)\n",
               cli_form, 100 * linkd_rps / cli_rps);

        /* 2. The read. */
        create_specs(main_store.store, o.specs - 1, specs + 1);
        for (long s = 1; s < o.specs; s++)
                if (specs[s] != specs[0] + s) {
                        fprintf(stderr, "store_bench: spec ids are not consecutive\n");
                        return 1;
                }
        double grow_began = now_seconds();
        for (int64_t from = o.runs + 1; from <= o.read_rows; from += GROW_CHUNK) {
                grow_arg g = {from, from + GROW_CHUNK - 1 < o.read_rows ? from + GROW_CHUNK - 1 : o.read_rows,
                              specs[0], o.specs};
                if (lk_store_tx(main_store.store, grow_body, &g, &err) < 0)
                        die("growing pipeline_runs", &err);
        }
        double grow_s = now_seconds() - grow_began;
        /* A node's table grows over weeks, not in seconds: let the bulk
         * load settle before timing, so that the reads do not share the
         * disk and CPUs with writing it back.  PostgreSQL: the vacuum and
         * statistics autovacuum would have made by then, and a checkpoint
         * (best effort: it needs a privileged role).  SQLite: no ANALYZE,
         * as a node runs none. */
        if (backend == LK_STORE_POSTGRES) {
                char *vacuum[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "VACUUM ANALYZE pipeline_runs",
                                  (char *)o.url, NULL};
                char *checkpoint[] = {"psql", "-X", "-q", "-c", "CHECKPOINT", (char *)o.url, NULL};
                time_command(vacuum, NULL, false);
                time_command(checkpoint, NULL, true);
        }
        int dir_fd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd >= 0) {
                syncfs(dir_fd);
                close(dir_fd);
        }
        printf("  grew pipeline_runs to %ld rows over %ld jobs in %.1f s\n", o.read_rows, o.specs, grow_s);

        plan_arg plan = {specs[o.specs / 2], LK_BUF_INIT};
        if (lk_store_read(main_store.store, plan_body, &plan, &err) < 0)
                die("EXPLAIN", &err);
        printf("  plan: %s\n", lk_buf_str(&plan.text));

        latency l = time_reads(main_store.store, specs, o.specs, o.reads);
        printf("  last 100 runs of a job, %ld reads: p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", o.reads, l.p50, l.p99,
               l.max);

        /* For bench/store/run; the plan goes last as it has spaces. */
        printf("result backend=%s shape=%s runs=%ld linkd_rps=%.0f cli_rps=%.0f cli_form=%s ratio=%.3f p50_ms=%.3f "
               "p99_ms=%.3f max_ms=%.3f plan=%s\n",
               backend_name, o.batch_shape ? "batch" : "row", o.runs, linkd_rps, cli_rps, cli_form,
               linkd_rps / cli_rps, l.p50, l.p99, l.max,
               lk_buf_str(&plan.text));

        close_store(&main_store);
        for (int m = 0; m < METHODS; m++)
                lk_free(results[m]);
        lk_buf_done(&plan.text);
        lk_free(specs);
        lk_free(ids);
        lk_free(runs);
        lk_config_done(&cfg);
        if (o.keep)
                fprintf(stderr, "store_bench: kept %s\n", work);
        for (int m = 0; m < METHODS; m++)
                lk_free(sql_paths[m]);
        lk_free(root);
        remove_work_dir();
        work_dir = NULL;
        lk_free(work);
        return 0;
}
