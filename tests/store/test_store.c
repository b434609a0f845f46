/* The store API, the same tests on SQLite and on PostgreSQL. */
#include "lktest.h"
#include "test_db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/store.h"

typedef struct fixture {
        lk_store_backend backend;
        char *dir;
        char *pg_url;
        lk_config cfg;
        lk_store *store;
        lk_ctx ctx;
} fixture;

static lk_store_backend sqlite_backend = LK_STORE_SQLITE;
static lk_store_backend postgres_backend = LK_STORE_POSTGRES;

static const char *url_of(fixture *f) {
        return f->backend == LK_STORE_POSTGRES ? f->pg_url : NULL;
}

static lk_store *make_store(fixture *f) {
        lk_store *store;
        lk_err err = LK_ERR_INIT;
        if (lk_store_new(&(lk_store_options){.url = url_of(f), .config = &f->cfg}, &store, &err) < 0)
                fail_msg("%s", err.msg);
        return store;
}

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->backend = *(lk_store_backend *)*state;
        f->dir = lktest_tmpdir();
        lk_config_init(&f->cfg);
        lk_free(f->cfg.root_dir);
        f->cfg.root_dir = lk_strdup(f->dir);
        f->cfg.database.lock.lease_refresh_interval = 50 * LK_USEC_PER_MSEC;
        f->cfg.database.lock.lease_duration = LK_USEC_PER_SEC;
        lk_config_finish(&f->cfg, NULL);
        if (f->backend == LK_STORE_POSTGRES)
                f->pg_url = lktest_pg_create_db();
        f->store = make_store(f);
        lk_ctx_init(&f->ctx, LK_USEC_INFINITY);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lk_service_close(lk_store_service(f->store), NULL);
        lk_store_free(f->store);
        lk_ctx_done(&f->ctx);
        lk_config_done(&f->cfg);
        lktest_pg_drop_db(f->pg_url);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

static void start(fixture *f) {
        lk_err err = LK_ERR_INIT;
        if (lk_service_start(lk_store_service(f->store), &f->ctx, &err) < 0)
                fail_msg("%s", err.msg);
}

/* ---- bodies ---- */

static void exec_sql(fixture *f, const char *sql) {
        lktest_store_exec(f->store, sql);
}

static int64_t count(fixture *f, const char *sql) {
        return lktest_store_int(f->store, sql);
}

/* ---- tests ---- */

static void start_migrates_and_reports_health(void **state) {
        fixture *f = *state;
        start(f);
        int version = -1;
        assert_int_equal(lk_store_version(f->store, &version, NULL), 0);
        assert_int_equal(version, lk_store_migrations_known());
        const char *tables[] = {"jobs", "pipeline_specs", "pipeline_runs", "pipeline_task_runs", "job_spec_errors",
                                "bridge_types", "external_initiators", "users", "sessions", "api_tokens", "keys",
                                "log_broadcasts", "evm_heads", "evm_txes", "evm_tx_attempts"};
        for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
                char sql[128];
                snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", tables[i]);
                assert_int_equal(count(f, sql), 0);
        }
        lk_health_report *report = lk_health_report_new();
        lk_service_health_report(lk_store_service(f->store), report);
        const char *error = "unset";
        assert_true(lk_health_report_get(report, "Database", &error));
        assert_null(error);
        assert_true(lk_health_report_get(report, "Database.Lock", &error));
        assert_null(error);
        lk_health_report_free(report);
        int applied = -1;
        assert_int_equal(lk_store_migrate(f->store, &applied, NULL), 0);
        assert_int_equal(applied, 0);
}

static void rollback_then_migrate_again(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_open(f->store, &err), 0);
        int applied = 0, version = -1;
        int known = lk_store_migrations_known();
        assert_int_equal(lk_store_migrate(f->store, &applied, &err), 0);
        assert_int_equal(applied, known);
        for (int v = known - 1; v >= 0; v--) {
                assert_int_equal(lk_store_rollback(f->store, &version, &err), 0);
                assert_int_equal(version, v);
        }
        assert_int_equal(count(f, "SELECT COUNT(*) FROM linkd_migrations"), 0);
        assert_int_equal(lk_store_rollback(f->store, &version, &err), -ENOENT);
        assert_string_equal(err.msg, "no migration to roll back");
        assert_int_equal(lk_store_migrate(f->store, &applied, &err), 0);
        assert_int_equal(applied, known);
        assert_int_equal(count(f, "SELECT COUNT(*) FROM jobs"), 0);
}

static void newer_database_is_refused(void **state) {
        fixture *f = *state;
        start(f);
        exec_sql(f, "INSERT INTO linkd_migrations (version, name, applied_at) VALUES (999, 'from the future', 'x')");
        lk_service_close(lk_store_service(f->store), NULL);
        lk_store_free(f->store);
        f->store = make_store(f);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_service_start(lk_store_service(f->store), &f->ctx, &err), -EPROTO);
        char want[256];
        snprintf(want, sizeof want, "is at migration 999, newer than this linkd knows (%d)", lk_store_migrations_known());
        if (!strstr(err.msg, want))
                fail_msg("%s not in %s", want, err.msg);
}

typedef struct run_args {
        int64_t spec_id;
        int64_t run_id;
        lk_usec created;
        bool fail_after_insert;
} run_args;

static int insert_run(lk_db *db, void *arg, lk_err *err) {
        run_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO pipeline_specs (dot_dag_source) VALUES ($1) RETURNING id", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, "ds1 [type=memo value=\"it's\"]", SIZE_MAX);
        r = lk_stmt_step(st, err);
        a->spec_id = r == 1 ? lk_stmt_int64(st, 0) : 0;
        lk_stmt_done(st);
        if (r != 1)
                return r < 0 ? r : -EIO;
        r = lk_db_prepare(db, "INSERT INTO pipeline_runs (pipeline_spec_id, state, outputs, created_at, finished_at)"
                              " VALUES ($1, $2, $3, $4, $4) RETURNING id", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->spec_id);
        lk_stmt_bind_text(st, 2, "completed", SIZE_MAX);
        lk_stmt_bind_text(st, 3, "[\"42.5\"]", SIZE_MAX);
        lk_stmt_bind_time(st, 4, a->created);
        r = lk_stmt_step(st, err);
        a->run_id = r == 1 ? lk_stmt_int64(st, 0) : 0;
        lk_stmt_done(st);
        if (r != 1)
                return r < 0 ? r : -EIO;
        return a->fail_after_insert ? lk_err_set(err, -ECANCELED, "changed my mind") : 0;
}

typedef struct read_args {
        int64_t run_id;
        char state[32];
        char outputs[64];
        lk_usec created;
        bool finished_null;
} read_args;

static int read_run(lk_db *db, void *arg, lk_err *err) {
        read_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT state, outputs, created_at, finished_at FROM pipeline_runs WHERE id = $1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->run_id);
        r = lk_stmt_step(st, err);
        if (r == 1) {
                snprintf(a->state, sizeof a->state, "%s", lk_stmt_text(st, 0, NULL));
                snprintf(a->outputs, sizeof a->outputs, "%s", lk_stmt_text(st, 1, NULL));
                a->created = lk_stmt_time(st, 2);
                a->finished_null = lk_stmt_is_null(st, 3);
        }
        lk_stmt_done(st);
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static void write_and_read_back(void **state) {
        fixture *f = *state;
        start(f);
        run_args a = {.created = INT64_C(1795555124150337)};
        lk_err err = LK_ERR_INIT;
        if (lk_store_tx(f->store, insert_run, &a, &err) < 0)
                fail_msg("%s", err.msg);
        assert_true(a.run_id > 0);
        read_args r = {.run_id = a.run_id};
        if (lk_store_read(f->store, read_run, &r, &err) < 0)
                fail_msg("%s", err.msg);
        assert_string_equal(r.state, "completed");
        assert_true(strstr(r.outputs, "42.5") != NULL);
        assert_int_equal(r.created, a.created);
        assert_false(r.finished_null);
}

static void failed_body_rolls_back(void **state) {
        fixture *f = *state;
        start(f);
        run_args a = {.created = lk_now_realtime(), .fail_after_insert = true};
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_tx(f->store, insert_run, &a, &err), -ECANCELED);
        assert_string_equal(err.msg, "changed my mind");
        assert_int_equal(count(f, "SELECT COUNT(*) FROM pipeline_runs"), 0);
        assert_int_equal(count(f, "SELECT COUNT(*) FROM pipeline_specs"), 0);
}

static int insert_user(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO users (email, hashed_password, role) VALUES ($1, $2, $3)", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, arg, SIZE_MAX);
        lk_stmt_bind_text(st, 2, "$argon2id$...", SIZE_MAX);
        lk_stmt_bind_text(st, 3, "admin", SIZE_MAX);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static void constraint_errors_have_codes(void **state) {
        fixture *f = *state;
        start(f);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_tx(f->store, insert_user, "op@example.com", &err), 0);
        assert_int_equal(lk_store_tx(f->store, insert_user, "op@example.com", &err), -EEXIST);
        assert_int_equal(lk_store_tx(f->store, lktest_exec_body, "SELEKT nonsense", &err), -EINVAL);
        assert_int_equal(lk_store_tx(f->store, lktest_exec_body,
                                     "INSERT INTO users (email, hashed_password, role) VALUES ('x', 'y', 'god')", &err),
                         -EINVAL);
        assert_int_equal(count(f, "SELECT COUNT(*) FROM users"), 1);
}

static int types_body(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO keys (id, type, encrypted, created_at) VALUES ($1, 'vrf', $2, $3)", &st,
                              err);
        if (r < 0)
                return r;
        unsigned char blob[256];
        for (int i = 0; i < 256; i++)
                blob[i] = (unsigned char)i;
        lk_stmt_bind_text(st, 1, "k\xc3\xa9y \"quoted\" 'single'", SIZE_MAX);
        lk_stmt_bind_blob(st, 2, blob, sizeof blob);
        lk_stmt_bind_time(st, 3, -INT64_C(86400000001)); /* before 1970 */
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        if (r < 0)
                return r;
        r = lk_db_prepare(db, "SELECT id, encrypted, created_at FROM keys", &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_step(st, err);
        if (r == 1) {
                size_t len;
                const unsigned char *got = lk_stmt_blob(st, 1, &len);
                if (len != 256 || memcmp(got, blob, 256) != 0)
                        r = lk_err_set(err, -EIO, "blob changed on the way (%zu bytes)", len);
                else if (strcmp(lk_stmt_text(st, 0, NULL), "k\xc3\xa9y \"quoted\" 'single'") != 0)
                        r = lk_err_set(err, -EIO, "text changed: %s", lk_stmt_text(st, 0, NULL));
                else if (lk_stmt_time(st, 2) != -INT64_C(86400000001))
                        r = lk_err_set(err, -EIO, "time changed: %lld", (long long)lk_stmt_time(st, 2));
                else
                        r = 0;
        }
        lk_stmt_done(st);
        return r;
}

static void values_round_trip(void **state) {
        fixture *f = *state;
        start(f);
        lk_err err = LK_ERR_INIT;
        if (lk_store_tx(f->store, types_body, NULL, &err) < 0)
                fail_msg("%s", err.msg);
}

/* Eight writers increment one row 100 times each in separate
 * transactions: every increment lands, whatever the backend makes the
 * writers retry. */
typedef struct counter {
        fixture *f;
        int failures;
} counter;

static int increment(lk_db *db, void *arg, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "UPDATE job_spec_errors SET occurrences = occurrences + 1 WHERE id = 1", &st, err);
        if (r < 0)
                return r;
        r = lk_stmt_run(st, err);
        if (r == 0 && lk_stmt_changes(st) != 1)
                r = lk_err_set(err, -EIO, "no row updated");
        lk_stmt_done(st);
        return r;
}

static void *writer(void *arg) {
        counter *c = arg;
        for (int i = 0; i < 100; i++) {
                lk_err err = LK_ERR_INIT;
                if (lk_store_tx(c->f->store, increment, NULL, &err) < 0)
                        __atomic_add_fetch(&c->failures, 1, __ATOMIC_RELAXED);
        }
        return NULL;
}

static void concurrent_writers_all_land(void **state) {
        fixture *f = *state;
        start(f);
        exec_sql(f, "INSERT INTO pipeline_specs (id, dot_dag_source) VALUES (1, '')");
        exec_sql(f, "INSERT INTO jobs (id, external_job_id, type, schema_version, pipeline_spec_id)"
                    " VALUES (1, '0eec7e1d-d0d2-476c-a1a8-72dfb6633f02', 'cron', 1, 1)");
        exec_sql(f, "INSERT INTO job_spec_errors (id, job_id, description, occurrences) VALUES (1, 1, 'x', 0)");
        counter c = {f, 0};
        pthread_t threads[8];
        for (int i = 0; i < 8; i++)
                pthread_create(&threads[i], NULL, writer, &c);
        for (int i = 0; i < 8; i++)
                pthread_join(threads[i], NULL);
        assert_int_equal(c.failures, 0);
        assert_int_equal(count(f, "SELECT occurrences FROM job_spec_errors WHERE id = 1"), 800);
}

static void many_statements_and_rows(void **state) {
        fixture *f = *state;
        start(f);
        /* More distinct statements than a connection caches. */
        for (int i = 0; i < 100; i++) {
                char sql[160];
                snprintf(sql, sizeof sql, "INSERT INTO bridge_types (name, url, incoming_token_hash, salt, outgoing_token)"
                                          " VALUES ('b%d', 'http://x', 'h', 's', 'o')", i);
                exec_sql(f, sql);
                snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM bridge_types WHERE name <> 'x%d'", i);
                assert_int_equal(count(f, sql), i + 1);
        }
}

/* The health entry for the database, "<passing>" when it passes. */
static void database_health(fixture *f, char *buf, size_t size) {
        lk_health_report *report = lk_health_report_new();
        lk_service_health_report(lk_store_service(f->store), report);
        const char *error = NULL;
        lk_health_report_get(report, "Database", &error);
        snprintf(buf, size, "%s", error ? error : "<passing>");
        lk_health_report_free(report);
}

/* Waits until the Database check passes, or (passing false) fails with
 * a text containing reason: on the way there it may fail for another one
 * for a moment (the connection is gone, "... is not open", before a new
 * one is refused). */
static void wait_health(fixture *f, bool passing, const char *reason, char *buf, size_t size) {
        lk_usec until = lk_now_monotonic() + 20 * LK_USEC_PER_SEC;
        for (;;) {
                database_health(f, buf, size);
                bool is_passing = strcmp(buf, "<passing>") == 0;
                if (is_passing == passing && (passing || strstr(buf, reason)))
                        return;
                if (lk_now_monotonic() > until)
                        fail_msg("Database health stayed \"%s\"", buf);
                usleep(20000);
        }
}

/* A database the node cannot reach makes the Database check fail with
 * the reason, and it passes again once the database is back.  SQLite: the
 * file goes away; PostgreSQL: the database refuses new connections and
 * the store's are terminated. */
static void health_follows_reachability(void **state) {
        fixture *f = *state;
        /* an outage longer than the fixture's 1 s lease gives the lock up
         * for good, as it must; a busy machine makes this one that long */
        lk_store_free(f->store);
        f->cfg.database.lock.lease_duration = 60 * LK_USEC_PER_SEC;
        f->store = make_store(f);
        start(f);
        char health[512];
        /* passing once its monitor has looked (at once, or a moment later on a busy machine) */
        wait_health(f, true, NULL, health, sizeof health);
        char *path = lk_asprintf("%s/linkd.db", f->dir), *moved = lk_asprintf("%s/moved.db", f->dir);
        if (f->backend == LK_STORE_SQLITE) {
                assert_int_equal(rename(path, moved), 0);
                wait_health(f, false, "No such file or directory", health, sizeof health);
                assert_int_equal(rename(moved, path), 0);
        } else {
                const char *db = strchr(strchr(f->pg_url, '@'), '/') + 1; /* postgresql://u:p@/NAME?host=... */
                char sql[512];
                snprintf(sql, sizeof sql, "ALTER DATABASE %.*s CONNECTION LIMIT 0", (int)strcspn(db, "?"), db);
                lktest_pg_admin(sql);
                snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                                          "'%.*s' AND pid <> pg_backend_pid()", (int)strcspn(db, "?"), db);
                lktest_pg_admin(sql);
                wait_health(f, false, "too many connections", health, sizeof health);
                snprintf(sql, sizeof sql, "ALTER DATABASE %.*s CONNECTION LIMIT -1", (int)strcspn(db, "?"), db);
                lktest_pg_admin(sql);
        }
        wait_health(f, true, NULL, health, sizeof health);
        lk_free(path);
        lk_free(moved);
}

static void display_url_hides_password(void **state) {
        fixture *f = *state;
        lk_store *s;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_new(&(lk_store_options){.url = "postgresql://linkd:hunter2@db.example:5432/linkd"
                                                                 "?sslmode=require&password=hunter3",
                                                          .config = &f->cfg},
                                      &s, &err),
                         0);
        assert_string_equal(lk_store_display_url(s),
                            "postgresql://linkd:xxxxx@db.example:5432/linkd?sslmode=require&password=xxxxx");
        lk_store_free(s);
        assert_int_equal(lk_store_new(&(lk_store_options){.url = "mysql://root:hunter2@h/db", .config = &f->cfg}, &s,
                                      &err),
                         -EINVAL);
        assert_null(strstr(err.msg, "hunter2"));
        assert_int_equal(lk_store_new(&(lk_store_options){.url = "sqlite:", .config = &f->cfg}, &s, &err), -EINVAL);
}

static void assert_network_hosts(fixture *f, const char *url, const char *want) {
        lk_store *s;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_store_new(&(lk_store_options){.url = url, .config = &f->cfg}, &s, &err), 0);
        char *got = lk_store_network_hosts(s);
        if (want)
                assert_string_equal(got, want);
        else
                assert_null(got);
        lk_free(got);
        lk_store_free(s);
}

/* What the http task's restricted requests refuse besides private ranges. */
static void network_hosts_of_the_url(void **state) {
        fixture *f = *state;
        assert_network_hosts(f, "postgresql://u:p@db.example:5432/linkd", "db.example");
        assert_network_hosts(f, "postgres://u:p@[2001:db8::7]:5432/linkd", "2001:db8::7");
        assert_network_hosts(f, "postgresql://u@a.example,b.example:5433/linkd?hostaddr=192.0.2.7,192.0.2.8",
                             "a.example,b.example,192.0.2.7,192.0.2.8");
        assert_network_hosts(f, "postgresql://u@/linkd?host=/run/postgresql", NULL);
        assert_network_hosts(f, "postgresql://u@%2Fvar%2Frun%2Fpg,db.example/linkd", "db.example");
        assert_network_hosts(f, "sqlite:///tmp/x.db", NULL);
        assert_network_hosts(f, NULL, NULL);
}

static void second_node_on_sqlite_is_refused(void **state) {
        fixture *f = *state;
        start(f);
        lk_store *other = make_store(f);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_service_start(lk_store_service(other), &f->ctx, &err), -EBUSY);
        if (!strstr(err.msg, "is in use by another linkd process"))
                fail_msg("unexpected: %s", err.msg);
        lk_store_free(other);
}

static void sqlite_file_is_private(void **state) {
        fixture *f = *state;
        start(f);
        char *path = lk_asprintf("%s/linkd.db", f->dir);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        lk_free(path);
}

/* A standby waits for the lease while the holder lives, reports it, and
 * takes over once the holder is gone. */
static void *start_standby(void *arg) {
        void **args = arg;
        fixture *f = args[0];
        lk_store *standby = args[1];
        lk_err err = LK_ERR_INIT;
        intptr_t r = lk_service_start(lk_store_service(standby), &f->ctx, &err);
        return (void *)r;
}

static void standby_takes_over(fixture *f, const char *mode, const char *waiting_for) {
        lk_free(f->cfg.database.lock.mode);
        f->cfg.database.lock.mode = lk_strdup(mode);
        f->cfg.database.lock.advisory_check_interval = 50 * LK_USEC_PER_MSEC;
        start(f);
        lk_store *standby = make_store(f);
        void *args[2] = {f, standby};
        pthread_t t;
        pthread_create(&t, NULL, start_standby, args);
        lk_health_report *report = NULL;
        lk_usec until = lk_now_monotonic() + 10 * LK_USEC_PER_SEC;
        const char *error = NULL;
        for (;;) {
                lk_health_report_free(report);
                report = lk_health_report_new();
                lk_service_health_report(lk_store_service(standby), report);
                if (lk_health_report_get(report, "Database.Lock", &error) && error)
                        break;
                assert_true(lk_now_monotonic() < until);
                usleep(10000);
        }
        assert_string_equal(error, waiting_for);
        lk_health_report_free(report);
        lk_err err = LK_ERR_INIT;
        assert_true(lk_service_ready(lk_store_service(standby), &err) < 0);
        /* The holder goes away; the standby must take over. */
        lk_service_close(lk_store_service(f->store), NULL);
        void *result;
        pthread_join(t, &result);
        assert_int_equal((intptr_t)result, 0);
        assert_int_equal(lk_service_ready(lk_store_service(standby), &err), 0);
        lk_service_close(lk_store_service(standby), NULL);
        lk_store_free(standby);
}

static void postgres_lease_standby_takes_over(void **state) {
        standby_takes_over(*state, "lease", "waiting for lease");
}

static void postgres_advisory_standby_takes_over(void **state) {
        standby_takes_over(*state, "advisory", "waiting for advisory lock");
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define BOTH(test)                                                                                                  \
        cmocka_unit_test_prestate_setup_teardown(test, setup, teardown, &sqlite_backend),                          \
                cmocka_unit_test_prestate_setup_teardown(test, setup, teardown, &postgres_backend)
                BOTH(start_migrates_and_reports_health),
                BOTH(rollback_then_migrate_again),
                BOTH(newer_database_is_refused),
                BOTH(write_and_read_back),
                BOTH(failed_body_rolls_back),
                BOTH(constraint_errors_have_codes),
                BOTH(values_round_trip),
                BOTH(concurrent_writers_all_land),
                BOTH(many_statements_and_rows),
                BOTH(health_follows_reachability),
                cmocka_unit_test_prestate_setup_teardown(display_url_hides_password, setup, teardown, &sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(network_hosts_of_the_url, setup, teardown, &sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(second_node_on_sqlite_is_refused, setup, teardown,
                                                         &sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(sqlite_file_is_private, setup, teardown, &sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(postgres_lease_standby_takes_over, setup, teardown,
                                                         &postgres_backend),
                cmocka_unit_test_prestate_setup_teardown(postgres_advisory_standby_takes_over, setup, teardown,
                                                         &postgres_backend),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
