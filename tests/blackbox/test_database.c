/* Black-box: the real linkd with its database - bad databases refused
 * with one clear line, and two nodes on one PostgreSQL failing over by
 * lease without ever being active together. */
#include "lktest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

typedef struct fixture {
        char *dir;
        char *pg_url;
        lktest_proc a, b;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_proc_done(&f->a);
        lktest_proc_done(&f->b);
        lktest_pg_drop_db(f->pg_url);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

/* Writes config and secrets for a node named name and returns the argv
 * tail ("--config", ..., "--secrets", ...), all lk_free'd by the caller. */
static char **node_files(fixture *f, const char *name, const char *url, const char *extra) {
        char *root = lk_asprintf("%s/%s", f->dir, name);
        char *text = lk_asprintf("RootDir = '%s'\n%s\n[WebServer]\nHTTPPort = 0\n[HealthCheck]\nPollInterval = '100ms'\n",
                                 root, extra ? extra : "");
        char *config_name = lk_asprintf("%s.toml", name), *secrets_name = lk_asprintf("%s-secrets.toml", name);
        char **files = lk_calloc(3, sizeof *files);
        files[0] = lktest_write_file(f->dir, config_name, text);
        lk_free(text);
        if (url) {
                text = lk_asprintf("[Database]\nURL = '%s'\n", url);
                files[1] = lktest_write_file(f->dir, secrets_name, text);
                chmod(files[1], 0600);
                lk_free(text);
        }
        lk_free(config_name);
        lk_free(secrets_name);
        lk_free(root);
        return files;
}

static void free_files(char **files) {
        lk_free(files[0]);
        lk_free(files[1]);
        lk_free(files);
}

/* Runs `linkd node start` to completion and returns its exit status and
 * the error lines of its log. */
static int run_node(char **files, char **ret_errors) {
        const char *argv[] = {"node", "start", "--config", files[0], files[1] ? "--secrets" : NULL, files[1], NULL};
        char *err = NULL;
        int status = lktest_run(argv, NULL, &err);
        lk_buf errors = LK_BUF_INIT;
        for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
                if (strstr(line, "level=error") || strstr(line, "level=crit") || strncmp(line, "linkd:", 6) == 0)
                        lk_buf_printf(&errors, "%s\n", line);
        lk_free(err);
        *ret_errors = lk_buf_steal(&errors, NULL);
        return status;
}

static int count_lines(const char *text) {
        int n = 0;
        for (; *text; text++)
                n += *text == '\n';
        return n;
}

static void corrupt_sqlite_file_is_refused(void **state) {
        fixture *f = *state;
        char **files = node_files(f, "corrupt", NULL, NULL);
        char *root = lk_asprintf("%s/corrupt", f->dir);
        mkdir(root, 0700);
        char *garbage = lk_malloc(8192);
        for (int i = 0; i < 8192; i++)
                garbage[i] = (char)(i * 7919 % 251 + 1);
        garbage[8191] = '\0';
        lk_free(lktest_write_file(root, "linkd.db", garbage));
        char *errors = NULL;
        assert_int_equal(run_node(files, &errors), 1);
        assert_int_equal(count_lines(errors), 1);
        if (!strstr(errors, "cannot open database sqlite://") || !strstr(errors, "file is not a database"))
                fail_msg("unexpected: %s", errors);
        lk_free(errors);
        lk_free(garbage);
        lk_free(root);
        free_files(files);
}

static void newer_schema_is_refused(void **state) {
        fixture *f = *state;
        char **files = node_files(f, "newer", NULL, NULL);
        const char *migrate[] = {"db", "migrate", "--config", files[0], NULL};
        assert_int_equal(lktest_run(migrate, NULL, NULL), 0);
        char *db = lk_asprintf("%s/newer/linkd.db", f->dir);
        const char *argv[] = {db, "INSERT INTO linkd_migrations VALUES (1000, 'future', 'now')", NULL};
        assert_int_equal(lktest_run_program("sqlite3", argv, NULL, NULL, NULL), 0);
        char *errors = NULL;
        assert_int_equal(run_node(files, &errors), 1);
        assert_int_equal(count_lines(errors), 1);
        if (!strstr(errors, "is at migration 1000, newer than this linkd knows"))
                fail_msg("unexpected: %s", errors);
        lk_free(errors);
        const char *status[] = {"db", "status", "--config", files[0], NULL};
        char *out = NULL;
        assert_int_equal(lktest_run(status, &out, NULL), 0);
        assert_non_null(strstr(out, "1000  applied  (unknown to this linkd)"));
        lk_free(out);
        lk_free(db);
        free_files(files);
}

static void wrong_password_is_refused_without_showing_it(void **state) {
        fixture *f = *state;
        f->pg_url = lktest_pg_create_db();
        /* The test URL is postgresql://linkd:PASSWORD@/db?...: swap the password. */
        const char *colon = strchr(f->pg_url + strlen("postgresql://"), ':');
        const char *at = strchr(f->pg_url, '@');
        char *bad = lk_asprintf("%.*s:NotThePassword%s", (int)(colon - f->pg_url), f->pg_url, at);
        char **files = node_files(f, "badpass", bad, NULL);
        char *errors = NULL;
        assert_int_equal(run_node(files, &errors), 1);
        assert_int_equal(count_lines(errors), 1);
        if (!strstr(errors, "password authentication failed") || strstr(errors, "NotThePassword"))
                fail_msg("unexpected: %s", errors);
        assert_non_null(strstr(errors, "linkd:xxxxx@"));
        lk_free(errors);
        lk_free(bad);
        free_files(files);
}

static void unreachable_host_is_refused(void **state) {
        fixture *f = *state;
        /* A socket directory with no server behind it. */
        char *url = lk_asprintf("postgresql://linkd:secret@/linkd?host=%s&port=5999&connect_timeout=2", f->dir);
        char **files = node_files(f, "unreachable", url, NULL);
        char *errors = NULL;
        assert_int_equal(run_node(files, &errors), 1);
        assert_int_equal(count_lines(errors), 1);
        if (!strstr(errors, "cannot open database postgresql://linkd:xxxxx@") || strstr(errors, "secret"))
                fail_msg("unexpected: %s", errors);
        lk_free(errors);
        lk_free(url);
        free_files(files);
}

/* The realtime instant of the first log line containing needle. */
static lk_usec log_time(lktest_proc *proc, const char *needle) {
        char *line = lktest_proc_wait_log(proc, needle, 0);
        if (!line)
                return 0;
        struct tm tm = {0};
        int micros = 0;
        sscanf(line, "ts=%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &micros);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        lk_free(line);
        return (lk_usec)timegm(&tm) * LK_USEC_PER_SEC + micros;
}

static unsigned port_of(lktest_proc *proc) {
        char *line = lktest_proc_wait_log(proc, "API listening", 30 * LK_USEC_PER_SEC);
        assert_non_null(line);
        unsigned port = lktest_port_from_log(line);
        lk_free(line);
        return port;
}

static lktest_http get(unsigned port, const char *path) {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
        lktest_http r;
        if (lktest_http_request("GET", url, NULL, &r) < 0)
                fail_msg("no answer from %s", url);
        return r;
}

/* Two nodes on one database: the second waits as a hot standby (its
 * probes answer 503 and say why), the first is killed with SIGKILL, the
 * second takes over once the lease has expired, and at no moment were
 * both active.  The bound on how long it took is loose on purpose
 * (three lease durations): under a loaded sanitizer build the log lines
 * come late, and speed is for the benchmarks, not for the tests. */
static void standby_takes_over_from_a_killed_node(void **state) {
        fixture *f = *state;
        f->pg_url = lktest_pg_create_db();
        const char *lease = "[Database.Lock]\nMode = 'lease'\nLeaseDuration = '3s'\nLeaseRefreshInterval = '250ms'\n";
        char **files_a = node_files(f, "a", f->pg_url, lease), **files_b = node_files(f, "b", f->pg_url, lease);
        const char *argv_a[] = {"node", "start", "--config", files_a[0], "--secrets", files_a[1], NULL};
        const char *argv_b[] = {"node", "start", "--config", files_b[0], "--secrets", files_b[1], NULL};
        lktest_proc_start(&f->a, f->dir, argv_a, NULL);
        unsigned port_a = port_of(&f->a);
        lktest_proc_start(&f->b, f->dir, argv_b, NULL);
        char *waiting = lktest_proc_wait_log(&f->b, "Waiting for the database lease", 30 * LK_USEC_PER_SEC);
        assert_non_null(waiting);
        lk_free(waiting);

        /* The standby's probes answer while it waits. */
        char *line = lktest_proc_wait_log(&f->b, "msg=\"HTTP server listening\"", 10 * LK_USEC_PER_SEC);
        assert_non_null(line);
        unsigned port_b = lktest_port_from_log(line);
        lk_free(line);
        lk_usec until;
        lktest_http r;
        until = lk_now_monotonic() + 10 * LK_USEC_PER_SEC;
        for (;;) {
                r = get(port_b, "/health");
                /* anonymous: the state without its output (the log says why) */
                if (strstr(r.body, "\"id\":\"Database.Lock\",\"attributes\":{\"name\":\"Database.Lock\",\"status\":"
                                   "\"failing\",\"output\":\"\"}"))
                        break;
                lktest_http_done(&r);
                if (lk_now_monotonic() > until)
                        fail_msg("the standby's /health never showed Database.Lock failing");
                usleep(50000);
        }
        assert_int_equal(r.status, 503);
        lktest_http_done(&r);
        r = get(port_b, "/readyz");
        assert_int_equal(r.status, 503);
        lktest_http_done(&r);
        r = get(port_a, "/readyz");
        assert_int_equal(r.status, 200);
        lktest_http_done(&r);
        usleep(500000); /* the standby keeps waiting while the holder lives */
        assert_null(lktest_proc_wait_log(&f->b, "Acquired the database lease", 0));

        lk_usec killed = lk_now_realtime();
        kill(f->a.pid, SIGKILL);
        lktest_proc_wait(&f->a, 5 * LK_USEC_PER_SEC);
        char *acquired = lktest_proc_wait_log(&f->b, "Acquired the database lease", 20 * LK_USEC_PER_SEC);
        assert_non_null(acquired);
        lk_free(acquired);
        lk_usec a_acquired = log_time(&f->a, "Acquired the database lease");
        lk_usec b_acquired = log_time(&f->b, "Acquired the database lease");
        assert_true(a_acquired > 0 && b_acquired > 0);
        /* Never both active: B's lease began after A was gone. */
        if (b_acquired < killed)
                fail_msg("the standby acquired the lease %lld us before the holder was killed",
                         (long long)(killed - b_acquired));
        lk_usec took = b_acquired - killed;
        print_message("# took over %.2f s after the kill (LeaseDuration 3 s)\n", (double)took / LK_USEC_PER_SEC);
        assert_true(took <= 9 * LK_USEC_PER_SEC);
        line = lktest_proc_wait_log(&f->b, "API listening", 10 * LK_USEC_PER_SEC);
        assert_non_null(line);
        lk_free(line);
        r = get(port_b, "/readyz");
        assert_int_equal(r.status, 200);
        lktest_http_done(&r);
        kill(f->b.pid, SIGTERM);
        assert_true(lktest_proc_wait(&f->b, 10 * LK_USEC_PER_SEC));
        assert_int_equal(f->b.exit_status, 0);
        free_files(files_a);
        free_files(files_b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(corrupt_sqlite_file_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(wrong_password_is_refused_without_showing_it, setup, teardown),
                cmocka_unit_test_setup_teardown(unreachable_host_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(standby_takes_over_from_a_killed_node, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
