/* A writer for tests/store/test_crash.c, which SIGKILLs it at random
 * moments:
 *
 *     store_crasher URL_OR_EMPTY ROOT_DIR JOURNAL THREADS
 *
 * It opens the store (URL, or SQLite at ROOT_DIR/linkd.db when URL is
 * empty), starts the store service (which migrates), then runs THREADS
 * threads that each, forever, write one finished pipeline run with its
 * five task runs in one transaction.  Only after the commit returned 0
 * does a thread append the run's id to JOURNAL, as one line in one
 * write(2) on an O_APPEND descriptor: the journal is the list of runs the
 * store reported committed, and a line is in it whole or not at all.
 *
 * It never exits by itself unless something fails (status 1, with the
 * reason on stderr): the test treats any end other than its own SIGKILL as
 * a failure.  It dies with the process that started it.
 *
 * On PostgreSQL it takes the advisory lock rather than the default lease:
 * a killed holder's lease would keep the next process waiting for a whole
 * LeaseDuration, while an advisory lock ends with the killed session. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/config.h"
#include "linkd/ctx.h"
#include "linkd/store.h"

#define TASKS 5

/* The pipeline every run executes: two sources, their parsers, and the
 * median of the two as the answer (dot ids are unique per run). */
static const char dag[] = "ds1 [type=bridge name=\"coinmarketcap\"];\n"
                          "ds1_parse [type=jsonparse path=\"data,result\"];\n"
                          "ds2 [type=http method=GET url=\"https://api.example.com/eth-usd\"];\n"
                          "ds2_parse [type=jsonparse path=\"price\"];\n"
                          "answer [type=median];\n"
                          "ds1 -> ds1_parse -> answer;\n"
                          "ds2 -> ds2_parse -> answer;\n";

static const struct {
        const char *dot_id;
        const char *type;
} tasks[TASKS] = {
        {"ds1", "bridge"},           {"ds1_parse", "jsonparse"}, {"ds2", "http"},
        {"ds2_parse", "jsonparse"}, {"answer", "median"},
};

typedef struct crasher {
        lk_store *store;
        int64_t spec_id;
        int journal_fd;
} crasher;

/* One run as written: everything is decided before the transaction, so
 * that a retried body writes exactly the same rows. */
typedef struct run {
        int64_t spec_id;
        char task_ids[TASKS][37];
        char outputs[TASKS][96];
        char run_outputs[64];
        char meta[160];
        lk_usec created, finished;
        int64_t run_id; /* set by the body */
} run;

static _Noreturn void die(const char *what, const lk_err *err) {
        fprintf(stderr, "store_crasher: %s: %s\n", what, err ? err->msg : strerror(errno));
        _exit(1);
}

static void random_bytes(void *buf, size_t len) {
        unsigned char *p = buf;
        while (len > 0) {
                ssize_t n = getrandom(p, len, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        die("getrandom", NULL);
                }
                p += n;
                len -= (size_t)n;
        }
}

/* A version 4 UUID, as Chainlink gives its task runs. */
static void new_uuid(char out[static 37]) {
        unsigned char b[16];
        random_bytes(b, sizeof b);
        b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* A price with two decimals from 1000.00 to 4999.99, in cents. */
static uint32_t random_cents(void) {
        uint32_t r;
        random_bytes(&r, sizeof r);
        return 100000 + r % 400000;
}

static void prepare_run(run *r, int64_t spec_id) {
        memset(r, 0, sizeof *r);
        r->spec_id = spec_id;
        uint32_t a = random_cents(), b = random_cents();
        if ((a + b) % 2)
                b++; /* the median of two is their mean: keep it in whole cents */
        uint32_t median = (a + b) / 2;
        char answer[32];
        snprintf(answer, sizeof answer, "%" PRIu32 ".%02" PRIu32, median / 100, median % 100);
        snprintf(r->outputs[0], sizeof r->outputs[0], "\"{\\\"data\\\":{\\\"result\\\":%" PRIu32 ".%02" PRIu32 "}}\"",
                 a / 100, a % 100);
        snprintf(r->outputs[1], sizeof r->outputs[1], "\"%" PRIu32 ".%02" PRIu32 "\"", a / 100, a % 100);
        snprintf(r->outputs[2], sizeof r->outputs[2], "\"{\\\"price\\\":%" PRIu32 ".%02" PRIu32 "}\"", b / 100,
                 b % 100);
        snprintf(r->outputs[3], sizeof r->outputs[3], "\"%" PRIu32 ".%02" PRIu32 "\"", b / 100, b % 100);
        snprintf(r->outputs[4], sizeof r->outputs[4], "\"%s\"", answer);
        snprintf(r->run_outputs, sizeof r->run_outputs, "[\"%s\"]", answer);
        uint32_t block;
        random_bytes(&block, sizeof block);
        snprintf(r->meta, sizeof r->meta, "{\"jobRun\":{\"blockNumber\":%" PRIu32 ",\"requestId\":\"%08" PRIx32 "\"},"
                                          "\"oracle\":\"linkd\"}",
                 18000000 + block % 1000000, block);
        for (int i = 0; i < TASKS; i++)
                new_uuid(r->task_ids[i]);
        r->finished = lk_now_realtime();
        r->created = r->finished - 1500 * LK_USEC_PER_MSEC;
}

static int insert_spec(lk_db *db, void *arg, lk_err *err) {
        int64_t *spec_id = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO pipeline_specs (dot_dag_source, max_task_duration) VALUES ($1, $2)"
                                  " RETURNING id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, dag, SIZE_MAX);
        lk_stmt_bind_int64(st, 2, 10 * LK_USEC_PER_SEC * 1000); /* nanoseconds, as Chainlink keeps it */
        r = lk_stmt_step(st, err);
        if (r == 1)
                *spec_id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : r == 1 ? 0 : lk_err_set(err, -EIO, "INSERT ... RETURNING returned no row");
}

static int insert_run(lk_db *db, void *arg, lk_err *err) {
        run *rn = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO pipeline_runs (pipeline_spec_id, state, meta, inputs, outputs,"
                                  " all_errors, fatal_errors, created_at, finished_at)"
                                  " VALUES ($1, 'completed', $2::jsonb, $3::jsonb, $4::jsonb, $5::jsonb, $6::jsonb,"
                                  " $7, $8) RETURNING id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, rn->spec_id);
        lk_stmt_bind_text(st, 2, rn->meta, SIZE_MAX);
        lk_stmt_bind_text(st, 3, "{\"jobSubID\":\"00000000-0000-0000-0000-000000000000\"}", SIZE_MAX);
        lk_stmt_bind_text(st, 4, rn->run_outputs, SIZE_MAX);
        lk_stmt_bind_text(st, 5, "[null]", SIZE_MAX);
        lk_stmt_bind_text(st, 6, "[null]", SIZE_MAX);
        lk_stmt_bind_time(st, 7, rn->created);
        lk_stmt_bind_time(st, 8, rn->finished);
        r = lk_stmt_step(st, err);
        if (r == 1)
                rn->run_id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        if (r != 1)
                return r < 0 ? r : lk_err_set(err, -EIO, "INSERT ... RETURNING returned no row");
        for (int i = 0; i < TASKS; i++) {
                r = lk_db_prepare(db, "INSERT INTO pipeline_task_runs (id, pipeline_run_id, type, \"index\", output,"
                                      " error, dot_id, created_at, finished_at)"
                                      " VALUES ($1::uuid, $2, $3, $4, $5::jsonb, NULL, $6, $7, $8)",
                                  &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_text(st, 1, rn->task_ids[i], SIZE_MAX);
                lk_stmt_bind_int64(st, 2, rn->run_id);
                lk_stmt_bind_text(st, 3, tasks[i].type, SIZE_MAX);
                lk_stmt_bind_int64(st, 4, i);
                lk_stmt_bind_text(st, 5, rn->outputs[i], SIZE_MAX);
                lk_stmt_bind_text(st, 6, tasks[i].dot_id, SIZE_MAX);
                lk_stmt_bind_time(st, 7, rn->created + i * 100 * LK_USEC_PER_MSEC);
                lk_stmt_bind_time(st, 8, rn->created + (i + 1) * 100 * LK_USEC_PER_MSEC);
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void *writer(void *arg) {
        crasher *c = arg;
        for (;;) {
                run rn;
                prepare_run(&rn, c->spec_id);
                lk_err err = LK_ERR_INIT;
                if (lk_store_tx(c->store, insert_run, &rn, &err) < 0)
                        die("writing a run", &err);
                /* Committed: only now may the run be reported. */
                char line[32];
                int len = snprintf(line, sizeof line, "%" PRId64 "\n", rn.run_id);
                if (write(c->journal_fd, line, (size_t)len) != len)
                        die("appending to the journal", NULL);
        }
        return NULL;
}

int main(int argc, char **argv) {
        if (argc != 5) {
                fprintf(stderr, "usage: store_crasher URL_OR_EMPTY ROOT_DIR JOURNAL THREADS\n");
                return 2;
        }
        /* Never outlive the test that started us, even if it dies first. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
                return 1;
        int threads = atoi(argv[4]);
        if (threads < 1 || threads > 64) {
                fprintf(stderr, "store_crasher: THREADS must be 1..64\n");
                return 2;
        }
        lk_config cfg;
        lk_config_init(&cfg);
        lk_free(cfg.root_dir);
        cfg.root_dir = lk_strdup(argv[2]);
        /* The lock must not slow restarts down: the killed process's lease
         * would stay valid for a whole LeaseDuration, while an advisory
         * lock goes with its session, and the new process asks often. */
        lk_free(cfg.database.lock.mode);
        cfg.database.lock.mode = lk_strdup("advisory");
        cfg.database.lock.advisory_check_interval = 20 * LK_USEC_PER_MSEC;
        lk_err err = LK_ERR_INIT;
        if (lk_config_finish(&cfg, &err) < 0)
                die("config", &err);
        crasher c = {0};
        c.journal_fd = open(argv[3], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (c.journal_fd < 0)
                die(argv[3], NULL);
        if (lk_store_new(&(lk_store_options){.url = *argv[1] ? argv[1] : NULL, .config = &cfg}, &c.store, &err) < 0)
                die("lk_store_new", &err);
        lk_ctx ctx;
        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        if (lk_service_start(lk_store_service(c.store), &ctx, &err) < 0)
                die("starting the store", &err);
        if (lk_store_tx(c.store, insert_spec, &c.spec_id, &err) < 0)
                die("writing the pipeline spec", &err);
        pthread_t tids[64];
        for (int i = 0; i < threads; i++) {
                int e = pthread_create(&tids[i], NULL, writer, &c);
                if (e != 0) {
                        errno = e;
                        die("pthread_create", NULL);
                }
        }
        for (int i = 0; i < threads; i++)
                pthread_join(tids[i], NULL);
        return 1; /* not reached: the writers only stop by dying */
}
