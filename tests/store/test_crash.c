/* Crash safety, on SQLite and on PostgreSQL: tests/tools/store_crasher
 * writes pipeline runs with their task runs from several threads, one
 * transaction per run, and journals each run after its commit returned.
 * This test SIGKILLs it at random moments, many times over the same
 * database, and after every kill checks with the store API that every
 * journalled run is there with all five task runs and that no run is
 * partial - whatever the kill interrupted (BEGIN, an INSERT, COMMIT, the
 * journal write, the migration on the very first start). */
#include "lktest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/store.h"

#define KILLS 60 /* a multiple of 10: the last kill is followed by SQLite's integrity check */
#define MIN_DELAY_MS 20
#define MAX_DELAY_MS 300
#define THREADS "4"
#define TASKS 5
#define INTEGRITY_MAX 512

extern char **environ;

typedef struct run_row {
        int64_t id;
        int64_t tasks;
        bool consistent; /* completed, finished, and the answer task matches the run's output */
} run_row;

typedef struct table {
        int version;
        int found_version; /* as the kill left it, before the next start migrated on */
        run_row *runs;
        size_t count, cap;
        int64_t task_rows;
        char problem[256]; /* the first inconsistent run, described */
} table;

typedef struct journal {
        int64_t *ids; /* sorted */
        size_t count, cap;
} journal;

typedef struct fixture {
        lk_store_backend backend;
        char *dir;
        char *pg_url;
        char *journal_path;
        char *log_path;
        lk_config cfg;
        pid_t child;
        lk_store *reader; /* the test's own view of the database */
        table table;
        journal journal;
} fixture;

static lk_store_backend sqlite_backend = LK_STORE_SQLITE;
static lk_store_backend postgres_backend = LK_STORE_POSTGRES;

static int setup(void **state) {
        lk_store_backend backend = *(lk_store_backend *)*state;
        /* First, since it fails the test when there is no cluster: then
         * nothing is allocated yet. */
        char *pg_url = backend == LK_STORE_POSTGRES ? lktest_pg_create_db() : NULL;
        fixture *f = lk_calloc(1, sizeof *f);
        f->backend = backend;
        f->pg_url = pg_url;
        f->dir = lktest_tmpdir();
        f->journal_path = lk_asprintf("%s/journal", f->dir);
        f->log_path = lk_asprintf("%s/crasher.log", f->dir);
        lk_config_init(&f->cfg);
        lk_free(f->cfg.root_dir);
        f->cfg.root_dir = lk_strdup(f->dir);
        lk_config_finish(&f->cfg, NULL);
        *state = f;
        return 0;
}

/* Reaps the crasher if it still runs: it must never outlive the test. */
static void stop_child(fixture *f) {
        if (f->child <= 0)
                return;
        kill(f->child, SIGKILL);
        while (waitpid(f->child, NULL, 0) < 0 && errno == EINTR)
                ;
        f->child = 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        stop_child(f);
        lk_store_free(f->reader);
        lk_free(f->table.runs);
        lk_free(f->journal.ids);
        lk_config_done(&f->cfg);
        lktest_pg_drop_db(f->pg_url);
        lk_free(f->journal_path);
        lk_free(f->log_path);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

/* ---- the crasher ---- */

/* Our environment with ASAN_OPTIONS replaced: the crasher never exits
 * normally, so leak checking would only turn a real failure's status 1
 * into LeakSanitizer's, and the stack-use-after-return check only slows
 * it down.  Other sanitizer reports still end it with status 1. */
static char **child_environment(void) {
        size_t n = 0;
        while (environ[n])
                n++;
        char **env = lk_calloc(n + 2, sizeof *env);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "ASAN_OPTIONS=", strlen("ASAN_OPTIONS=")) != 0)
                        env[k++] = environ[i];
        env[k++] = "ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=0:abort_on_error=0";
        env[k] = NULL;
        return env;
}

static void start_child(fixture *f) {
        const char *program = lktest_env("LINKD_STORE_CRASHER");
        char *argv[] = {(char *)program, f->pg_url ? f->pg_url : "", f->dir, f->journal_path, THREADS, NULL};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, f->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        char **env = child_environment();
        int e = posix_spawn(&f->child, program, &actions, NULL, argv, env);
        posix_spawn_file_actions_destroy(&actions);
        lk_free(env);
        if (e != 0) {
                f->child = 0;
                fail_msg("cannot start %s: %s", program, strerror(e));
        }
}

/* Fails the test with the end of what the crasher printed. */
static _Noreturn void fail_with_log(fixture *f, int status) {
        char tail[4096] = "(no output)";
        char *log = lktest_read_file(f->log_path);
        if (log && *log) {
                size_t len = strlen(log);
                snprintf(tail, sizeof tail, "%s", log + (len > sizeof tail - 1 ? len - (sizeof tail - 1) : 0));
        }
        lk_free(log);
        fail_msg("the crasher ended by itself (status 0x%x) before it was killed:\n%s", (unsigned)status, tail);
        abort(); /* not reached: fail_msg does not return */
}

/* Kills the crasher, which must still have been running: any other end
 * (an error it reported, a sanitizer finding) fails the test. */
static void kill_child(fixture *f) {
        kill(f->child, SIGKILL);
        int status = 0;
        while (waitpid(f->child, &status, 0) < 0 && errno == EINTR)
                ;
        f->child = 0;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
                fail_with_log(f, status);
}

static void sleep_ms(long ms) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static off_t journal_size(fixture *f) {
        struct stat st;
        return stat(f->journal_path, &st) == 0 ? st.st_size : 0;
}

/* Waits until the crasher has committed (and journalled) a run since it
 * started: its writers are then at work. */
static void wait_for_commit(fixture *f, off_t size_before) {
        lk_usec until = lk_now_monotonic() + 20 * LK_USEC_PER_SEC;
        while (journal_size(f) <= size_before) {
                int status;
                if (waitpid(f->child, &status, WNOHANG) == f->child) {
                        f->child = 0;
                        fail_with_log(f, status);
                }
                if (lk_now_monotonic() > until)
                        fail_msg("the crasher committed nothing within 20 s");
                sleep_ms(2);
        }
}

/* ---- what the database holds ---- */

/* The JSON text of a column, parsed; PostgreSQL's jsonb prints it its own
 * way, so text is compared only after parsing. */
static json_t *parse_json(const char *text) {
        return json_loads(text, JSON_DECODE_ANY, NULL);
}

static bool answer_matches(const char *run_outputs, const char *answer_output) {
        json_t *outputs = parse_json(run_outputs), *answer = parse_json(answer_output);
        bool ok = json_is_array(outputs) && json_array_size(outputs) == 1 && json_is_string(answer) &&
                  json_equal(json_array_get(outputs, 0), answer);
        json_decref(outputs);
        json_decref(answer);
        return ok;
}

static int read_table(lk_db *db, void *arg, lk_err *err) {
        table *t = arg;
        t->count = 0;
        t->task_rows = 0;
        t->problem[0] = '\0';
        /* One snapshot for every query: on PostgreSQL the killed
         * crasher's session may still commit a run it had sent COMMIT for,
         * and under READ COMMITTED the two queries below could then
         * disagree. */
        int r = 0;
        if (lk_db_backend(db) == LK_STORE_POSTGRES)
                r = lk_db_exec(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", err);
        if (r < 0)
                return r;
        lk_stmt *st;
        r = lk_db_prepare(db, "SELECT r.id, r.state, r.finished_at IS NOT NULL, r.outputs,"
                                  " (SELECT COUNT(*) FROM pipeline_task_runs t WHERE t.pipeline_run_id = r.id),"
                                  " (SELECT t.output FROM pipeline_task_runs t"
                                  "  WHERE t.pipeline_run_id = r.id AND t.dot_id = 'answer')"
                                  " FROM pipeline_runs r ORDER BY r.id",
                              &st, err);
        if (r < 0)
                return r;
        while ((r = lk_stmt_step(st, err)) == 1) {
                if (t->count == t->cap) {
                        t->cap = t->cap ? 2 * t->cap : 1024;
                        t->runs = lk_realloc(t->runs, t->cap * sizeof *t->runs);
                }
                run_row *row = &t->runs[t->count++];
                row->id = lk_stmt_int64(st, 0);
                row->tasks = lk_stmt_int64(st, 4);
                row->consistent = strcmp(lk_stmt_text(st, 1, NULL), "completed") == 0 && lk_stmt_bool(st, 2) &&
                                  !lk_stmt_is_null(st, 5) &&
                                  answer_matches(lk_stmt_text(st, 3, NULL), lk_stmt_text(st, 5, NULL));
                if (!row->consistent && !t->problem[0])
                        snprintf(t->problem, sizeof t->problem, "run %" PRId64 ": state %s, outputs %s, answer %s",
                                 row->id, lk_stmt_text(st, 1, NULL), lk_stmt_text(st, 3, NULL),
                                 lk_stmt_text(st, 5, NULL));
        }
        lk_stmt_done(st);
        if (r < 0)
                return r;
        r = lk_db_prepare(db, "SELECT COUNT(*) FROM pipeline_task_runs", &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_step(st, err);
        if (r == 1)
                t->task_rows = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int integrity_check(lk_db *db, void *arg, lk_err *err) {
        char *result = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "PRAGMA integrity_check", &st, err);
        if (r < 0)
                return r;
        size_t used = 0;
        while ((r = lk_stmt_step(st, err)) == 1)
                if (used < INTEGRITY_MAX)
                        used += (size_t)snprintf(result + used, INTEGRITY_MAX - used, "%s%s", used ? "; " : "",
                                                 lk_stmt_text(st, 0, NULL));
        lk_stmt_done(st);
        return r;
}

/* Opens the database as the next process would after the crash (SQLite
 * recovers its WAL here) and reads it.  Before the first migration
 * committed there is nothing to read. */
static void read_database(fixture *f, bool check_integrity) {
        table *t = &f->table;
        lk_err err = LK_ERR_INIT;
        if (lk_store_new(&(lk_store_options){.url = f->pg_url, .config = &f->cfg}, &f->reader, &err) < 0)
                fail_msg("%s", err.msg);
        lk_store *store = f->reader;
        if (lk_store_open(store, &err) < 0)
                fail_msg("opening the database after a kill: %s", err.msg);
        if (lk_store_version(store, &t->version, &err) < 0)
                fail_msg("reading the schema version after a kill: %s", err.msg);
        t->found_version = t->version;
        /* Killed between two migrations (each is its own transaction): the
         * next start goes on from there, and must be able to. */
        int applied = 0;
        if (t->version > 0 && t->version < lk_store_migrations_known()) {
                if (lk_store_migrate(store, &applied, &err) < 0)
                        fail_msg("migrating on from version %d after a kill: %s", t->version, err.msg);
                if (lk_store_version(store, &t->version, &err) < 0)
                        fail_msg("reading the schema version after a kill: %s", err.msg);
        }
        if (t->version == lk_store_migrations_known() && lk_store_read(store, read_table, t, &err) < 0)
                fail_msg("reading the runs after a kill: %s", err.msg);
        if (check_integrity) {
                char result[INTEGRITY_MAX] = "";
                if (lk_store_read(store, integrity_check, result, &err) < 0)
                        fail_msg("PRAGMA integrity_check: %s", err.msg);
                assert_string_equal(result, "ok");
        }
        lk_store_close(store);
        f->reader = lk_store_free(store);
}

/* ---- the journal ---- */

static int compare_ids(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
}

/* Every line is a run id the crasher saw committed; a line is written
 * whole by one write(2), so a torn or empty line is a failure too. */
static void read_journal(fixture *f) {
        journal *j = &f->journal;
        j->count = 0;
        char *text = lktest_read_file(f->journal_path);
        if (!text)
                return; /* not created yet: killed before it opened it */
        for (const char *p = text; *p;) {
                char *end;
                errno = 0;
                long long id = strtoll(p, &end, 10);
                if (end == p || *end != '\n' || errno || id <= 0)
                        fail_msg("journal line %zu is torn or malformed: \"%.40s\"", j->count + 1, p);
                if (j->count == j->cap) {
                        j->cap = j->cap ? 2 * j->cap : 1024;
                        j->ids = lk_realloc(j->ids, j->cap * sizeof *j->ids);
                }
                j->ids[j->count++] = id;
                p = end + 1;
        }
        lk_free(text);
        if (j->count == 0)
                return;
        qsort(j->ids, j->count, sizeof *j->ids, compare_ids);
        for (size_t i = 1; i < j->count; i++)
                if (j->ids[i] == j->ids[i - 1])
                        fail_msg("run %" PRId64 " was reported committed twice: an earlier commit was lost and "
                                 "its id reused", j->ids[i]);
}

static const run_row *find_run(const table *t, int64_t id) {
        size_t lo = 0, hi = t->count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (t->runs[mid].id == id)
                        return &t->runs[mid];
                if (t->runs[mid].id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* ---- the test ---- */

static void verify(const table *t, const journal *j, int n) {
        if (t->version == 0) {
                if (j->count > 0)
                        fail_msg("after kill %d: %zu runs reported committed, but the schema is gone", n, j->count);
                return;
        }
        if (t->version != lk_store_migrations_known())
                fail_msg("after kill %d: schema at version %d of %d: a migration was left half-done", n, t->version,
                         lk_store_migrations_known());
        if (t->found_version < lk_store_migrations_known() && j->count > 0)
                fail_msg("after kill %d: %zu runs reported committed before the schema was complete", n, j->count);
        for (size_t i = 0; i < j->count; i++)
                if (!find_run(t, j->ids[i]))
                        fail_msg("after kill %d: run %" PRId64 " was reported committed but is not in the database",
                                 n, j->ids[i]);
        for (size_t i = 0; i < t->count; i++)
                if (t->runs[i].tasks != TASKS)
                        fail_msg("after kill %d: run %" PRId64 " has %" PRId64 " task runs instead of %d: a partial "
                                 "transaction is visible", n, t->runs[i].id, t->runs[i].tasks, TASKS);
        if (t->problem[0])
                fail_msg("after kill %d: %s", n, t->problem);
        if (t->task_rows != (int64_t)t->count * TASKS)
                fail_msg("after kill %d: %" PRId64 " task runs for %zu runs: some belong to no run", n, t->task_rows,
                         t->count);
}

static void kill_repeatedly(fixture *f, const char *name) {
        unsigned seed;
        if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
                seed = (unsigned)time(NULL) ^ (unsigned)getpid();
        print_message("# %s: kill delays from seed %u\n", name, seed);
        size_t last_journal = 0;
        int grew = 0, short_delays = 0;
        lk_usec started = lk_now_monotonic();
        for (int n = 1; n <= KILLS; n++) {
                /* Spread the delays over the whole range.  Every other kill
                 * counts from the start, so that some land in process
                 * start-up, connecting, taking the lock and migrating; the
                 * others count from the first commit, so that they land
                 * among the writers' transactions however slowly the
                 * crasher starts (PostgreSQL connections take a while). */
                long delay = MIN_DELAY_MS + (long)(rand_r(&seed) % (MAX_DELAY_MS - MIN_DELAY_MS + 1));
                short_delays += delay < 100;
                off_t size_before = journal_size(f);
                start_child(f);
                if (n % 2 == 0)
                        wait_for_commit(f, size_before);
                sleep_ms(delay);
                kill_child(f);
                /* SQLite's own check now and then: it reads every page. */
                read_database(f, f->backend == LK_STORE_SQLITE && n % 10 == 0);
                read_journal(f);
                verify(&f->table, &f->journal, n);
                grew += f->journal.count > last_journal;
                last_journal = f->journal.count;
        }
        lk_usec elapsed = lk_now_monotonic() - started;
        print_message("# %s: %d kills, %zu runs committed, %zu in the table (%d kills after new commits, "
                      "%d delays under 100 ms), %.1f s\n",
                      name, KILLS, f->journal.count, f->table.count, grew, short_delays,
                      (double)elapsed / LK_USEC_PER_SEC);
        /* The kills must have hit the writers at work, not only start-up:
         * runs were committed between kills, again and again. */
        if (grew < KILLS / 4)
                fail_msg("only %d of %d kills came after new commits: the crasher spends its time starting up", grew,
                         KILLS);
}

static void sqlite_survives_kills(void **state) {
        kill_repeatedly(*state, "sqlite");
}

static void postgresql_survives_kills(void **state) {
        kill_repeatedly(*state, "postgresql");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_prestate_setup_teardown(sqlite_survives_kills, setup, teardown, &sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(postgresql_survives_kills, setup, teardown,
                                                         &postgres_backend),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
