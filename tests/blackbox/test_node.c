/* Black-box: the real linkd binary, driven as an operator would drive it. */
#include "lktest.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

#define STARTUP_LIMIT (20 * LK_USEC_PER_SEC)

typedef struct fixture {
        char *dir;
        char *root;
        char *config;
        lktest_proc proc;
        unsigned port;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        f->root = lk_asprintf("%s/root", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_proc_done(&f->proc);
        lk_free(f->config);
        lk_free(f->root);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

/* Writes a config with an ephemeral port and a fast health poll, plus
 * extra lines, starts linkd and waits until it announces its URL. */
static void start_node(fixture *f, const char *extra, const char *const *env) {
        lk_buf text = LK_BUF_INIT;
        lk_buf_printf(&text, "RootDir = '%s'\n%s\n[WebServer]\nHTTPPort = 0\n[HealthCheck]\nPollInterval = '50ms'\n",
                      f->root, extra ? extra : "");
        lk_free(f->config);
        f->config = lktest_write_file(f->dir, "linkd.toml", lk_buf_str(&text));
        lk_buf_done(&text);
        const char *argv[] = {"node", "start", "--config", f->config, NULL};
        lktest_proc_start(&f->proc, f->dir, argv, env);
        char *line = lktest_proc_wait_log(&f->proc, "API listening", STARTUP_LIMIT);
        if (!line) {
                char *log = lktest_read_file(f->proc.log_path);
                fail_msg("linkd did not start; its log:\n%s", log ? log : "(none)");
        }
        f->port = lktest_port_from_log(line);
        lk_free(line);
}

static lktest_http get(fixture *f, const char *path) {
        char url[256];
        snprintf(url, sizeof url, "http://127.0.0.1:%u%s", f->port, path);
        lktest_http r;
        if (lktest_http_request("GET", url, NULL, &r) < 0)
                fail_msg("no answer from %s", url);
        return r;
}

/* Polls path until it answers with status, or fails after 10 s. */
static lktest_http wait_status(fixture *f, const char *path, long status) {
        lk_usec until = lk_now_monotonic() + 10 * LK_USEC_PER_SEC;
        for (;;) {
                lktest_http r = get(f, path);
                if (r.status == status)
                        return r;
                if (lk_now_monotonic() > until)
                        fail_msg("%s stayed %ld (want %ld): %s", path, r.status, status, r.body);
                lktest_http_done(&r);
                usleep(20000);
        }
}

static void stop_node(fixture *f, int sig, int want_status) {
        kill(f->proc.pid, sig);
        if (!lktest_proc_wait(&f->proc, 10 * LK_USEC_PER_SEC))
                fail_msg("linkd did not exit after signal %d", sig);
        if (f->proc.exit_status != want_status) {
                char *log = lktest_read_file(f->proc.log_path);
                fail_msg("exit status %d, want %d; log:\n%s", f->proc.exit_status, want_status, log);
        }
}

static void probes_answer_and_shutdown_is_ordered(void **state) {
        fixture *f = *state;
        start_node(f, NULL, NULL);
        lktest_http r = get(f, "/readyz");
        assert_int_equal(r.status, 200);
        lktest_http_done(&r);
        r = get(f, "/health");
        assert_int_equal(r.status, 200);
        json_error_t jerr;
        json_t *doc = json_loads(r.body, 0, &jerr);
        assert_non_null(doc);
        json_t *data = json_object_get(doc, "data");
        const char *names[] = {"Database",       "Database.Lock", "HealthChecker", "JobSpawner",
                               "PipelineRunner", "RootDir",       "Scheduler",     "WebServer"};
        assert_int_equal(json_array_size(data), 8);
        for (size_t i = 0; i < 8; i++) {
                json_t *check = json_array_get(data, i);
                assert_string_equal(json_string_value(json_object_get(check, "id")), names[i]);
                json_t *attributes = json_object_get(check, "attributes");
                assert_string_equal(json_string_value(json_object_get(attributes, "status")), "passing");
        }
        json_decref(doc);
        lktest_http_done(&r);
        r = get(f, "/livez");
        assert_int_equal(r.status, 200);
        lktest_http_done(&r);
        r = get(f, "/metrics");
        assert_non_null(strstr(r.body, "health{service_id=\"RootDir\"} 1\n"));
        lktest_http_done(&r);

        stop_node(f, SIGTERM, 0);
        char *log = lktest_read_file(f->proc.log_path);
        const char *checker = strstr(log, "msg=\"Closed service\" service=HealthChecker");
        const char *database = strstr(log, "msg=\"Closed service\" service=Database");
        const char *rootdir = strstr(log, "msg=\"Closed service\" service=RootDir");
        const char *web = strstr(log, "msg=\"Closed service\" service=WebServer");
        if (!checker || !database || !rootdir || !web || !(checker < database && database < rootdir && rootdir < web))
                fail_msg("services not closed in reverse start order:\n%s", log);
        assert_non_null(strstr(log, "msg=\"Shutting down due to signal\" signal=terminated"));
        assert_non_null(strstr(log, "msg=\"Graceful shutdown\""));
        lk_free(log);
}

static void failing_service_turns_health_503_and_recovers(void **state) {
        fixture *f = *state;
        start_node(f, NULL, NULL);
        char *moved = lk_asprintf("%s/moved-away", f->dir);
        assert_int_equal(rename(f->root, moved), 0);
        lktest_http r = wait_status(f, "/health", 503);
        /* anonymous callers see the state, not the output (which names a path) */
        char *want = lk_asprintf("\"id\":\"RootDir\",\"attributes\":{\"name\":\"RootDir\",\"status\":\"failing\","
                                 "\"output\":\"\"}");
        if (!strstr(r.body, want))
                fail_msg("%s not in %s", want, r.body);
        lk_free(want);
        lktest_http_done(&r);
        r = get(f, "/health?failing");
        assert_null(strstr(r.body, "WebServer"));
        lktest_http_done(&r);
        r = get(f, "/health.txt");
        assert_non_null(strstr(r.body, "!  RootDir\n"));
        assert_null(strstr(r.body, "No such file"));
        assert_non_null(strstr(r.body, "ok WebServer\n"));
        lktest_http_done(&r);
        r = get(f, "/metrics");
        assert_non_null(strstr(r.body, "health{service_id=\"RootDir\"} 0\n"));
        lktest_http_done(&r);

        assert_int_equal(rename(moved, f->root), 0);
        r = wait_status(f, "/health", 200);
        lktest_http_done(&r);
        char *line = lktest_proc_wait_log(&f->proc, "msg=\"Health check failing\" check=RootDir", LK_USEC_PER_SEC);
        assert_non_null(line);
        lk_free(line);
        line = lktest_proc_wait_log(&f->proc, "msg=\"Health check passing\" check=RootDir", LK_USEC_PER_SEC);
        assert_non_null(line);
        lk_free(line);
        lk_free(moved);
        stop_node(f, SIGINT, 0);
}

static void json_logs(void **state) {
        fixture *f = *state;
        start_node(f, "[Log]\nJSONConsole = true\nLevel = 'debug'\n", NULL);
        stop_node(f, SIGTERM, 0);
        char *log = lktest_read_file(f->proc.log_path);
        int lines = 0;
        for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"), lines++) {
                json_error_t jerr;
                json_t *j = json_loads(line, 0, &jerr);
                if (!j)
                        fail_msg("not a JSON line: %s", line);
                assert_non_null(json_string_value(json_object_get(j, "level")));
                assert_non_null(json_string_value(json_object_get(j, "msg")));
                json_decref(j);
        }
        assert_true(lines > 5);
        lk_free(log);
}

static void bad_config_exits_2_naming_the_place(void **state) {
        fixture *f = *state;
        char *config = lktest_write_file(f->dir, "bad.toml", "[WebServer]\nHTTPPort = 70000\n");
        const char *argv[] = {"node", "start", "--config", config, NULL};
        char *err = NULL;
        assert_int_equal(lktest_run(argv, NULL, &err), 2);
        char *want = lk_asprintf("linkd: invalid configuration: %s:2:12: WebServer.HTTPPort: 70000 is out of range "
                                 "(0 to 65535)\n", config);
        assert_string_equal(err, want);
        lk_free(want);
        lk_free(err);
        lk_free(config);

        config = lktest_write_file(f->dir, "bad2.toml", "[Log]\nLevl = 'info'\n");
        const char *argv2[] = {"node", "validate", "-c", config, NULL};
        assert_int_equal(lktest_run(argv2, NULL, &err), 2);
        assert_non_null(strstr(err, ":2:1: unknown key Log.Levl"));
        lk_free(err);
        lk_free(config);

        const char *argv3[] = {"node", "start", "--config", "/nonexistent.toml", NULL};
        assert_int_equal(lktest_run(argv3, NULL, &err), 2);
        assert_string_equal(err, "linkd: invalid configuration: /nonexistent.toml: No such file or directory\n");
        lk_free(err);

        const char *argv4[] = {"node", "start", "--bogus", NULL};
        assert_int_equal(lktest_run(argv4, NULL, NULL), 2);
        const char *argv5[] = {"frobnicate", NULL};
        assert_int_equal(lktest_run(argv5, NULL, NULL), 2);
}

static void validate_prints_effective_config_with_secrets_masked(void **state) {
        fixture *f = *state;
        char *config = lktest_write_file(f->dir, "c.toml", "[WebServer]\nHTTPPort = 7777\n");
        char *secrets = lktest_write_file(f->dir, "s.toml", "[Database]\nURL = 'postgresql://u:hunter2@h/db'\n");
        const char *argv[] = {"node", "validate", "--config", config, "--secrets", secrets, NULL};
        char *out = NULL, *err = NULL;
        assert_int_equal(chmod(secrets, 0644), 0);
        assert_int_equal(lktest_run(argv, NULL, &err), 0);
        assert_non_null(strstr(err, "is accessible to group or others (mode 644); chmod 600 it"));
        lk_free(err);
        assert_int_equal(chmod(secrets, 0600), 0);
        assert_int_equal(lktest_run(argv, &out, &err), 0);
        assert_string_equal(err, "");
        lk_free(err);
        const char *want_start = "# Secrets:\n[Database]\nURL = 'xxxxx'\n\n"
                                 "# Input Configuration:\n[WebServer]\nHTTPPort = 7777\n\n"
                                 "# Effective Configuration, with defaults applied:\nRootDir = './linkd-data'\n";
        if (strncmp(out, want_start, strlen(want_start)) != 0)
                fail_msg("got:\n%s", out);
        assert_non_null(strstr(out, "[WebServer]\nListenIP = '127.0.0.1'\nHTTPPort = 7777\n"));
        assert_non_null(strstr(out, "ShutdownGracePeriod = '5s'\n"));
        assert_non_null(strstr(out, "MemThreshold = '4.00gb'\n"));
        assert_null(strstr(out, "hunter2"));
        const char *end = "\nValid configuration.\n";
        assert_string_equal(out + strlen(out) - strlen(end), end);
        lk_free(out);
        lk_free(config);
        lk_free(secrets);
}

static void port_in_use_fails_start_with_status_1(void **state) {
        fixture *f = *state;
        start_node(f, NULL, NULL);
        char *config = lk_asprintf("RootDir = '%s/other'\n[WebServer]\nHTTPPort = %u\n", f->dir, f->port);
        char *path = lktest_write_file(f->dir, "second.toml", config);
        const char *argv[] = {"node", "start", "--config", path, NULL};
        char *err = NULL;
        assert_int_equal(lktest_run(argv, NULL, &err), 1);
        char *want = lk_asprintf("cannot listen on 127.0.0.1 port %u: Address already in use", f->port);
        if (!strstr(err, want))
                fail_msg("%s not in:\n%s", want, err);
        lk_free(want);
        lk_free(err);
        lk_free(path);
        lk_free(config);
        stop_node(f, SIGTERM, 0);
}

/* Receives datagrams on a unix socket and collects them. */
static char *receive_notifications(int fd, const char *until_state, lk_usec timeout) {
        lk_buf all = LK_BUF_INIT;
        lk_usec until = lk_now_monotonic() + timeout;
        while (!strstr(lk_buf_str(&all), until_state) && lk_now_monotonic() < until) {
                char msg[256];
                ssize_t n = recv(fd, msg, sizeof msg - 1, MSG_DONTWAIT);
                if (n > 0) {
                        msg[n] = '\0';
                        lk_buf_printf(&all, "%s\n", msg);
                } else {
                        usleep(5000);
                }
        }
        return lk_buf_steal(&all, NULL);
}

static void speaks_systemd_notify(void **state) {
        fixture *f = *state;
        char *sock_path = lk_asprintf("%s/notify.sock", f->dir);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path);
        assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
        char *notify_env = lk_asprintf("NOTIFY_SOCKET=%s", sock_path);
        const char *env[] = {notify_env, "WATCHDOG_USEC=200000", NULL};
        start_node(f, NULL, env);
        char *got = receive_notifications(fd, "READY=1", 10 * LK_USEC_PER_SEC);
        assert_non_null(strstr(got, "READY=1"));
        lk_free(got);
        /* Pings every 100 ms: two arrive well within a few seconds. */
        got = receive_notifications(fd, "WATCHDOG=1\nWATCHDOG=1", 10 * LK_USEC_PER_SEC);
        assert_non_null(strstr(got, "WATCHDOG=1\nWATCHDOG=1"));
        lk_free(got);
        kill(f->proc.pid, SIGTERM);
        got = receive_notifications(fd, "STOPPING=1", 10 * LK_USEC_PER_SEC);
        assert_non_null(strstr(got, "STOPPING=1"));
        lk_free(got);
        stop_node(f, SIGTERM, 0);
        close(fd);
        lk_free(notify_env);
        lk_free(sock_path);
}

static void nurse_runs_inside_the_node(void **state) {
        fixture *f = *state;
        start_node(f, "[AutoPprof]\nEnabled = true\nMemThreshold = '1mb'\nPollInterval = '50ms'\n"
                      "GatherDuration = '100ms'\n", NULL);
        char *line = lktest_proc_wait_log(&f->proc, "msg=\"Nurse gathered vitals\"", 30 * LK_USEC_PER_SEC);
        assert_non_null(line);
        assert_non_null(strstr(line, "gathering="));
        lk_free(line);
        line = lktest_proc_wait_log(&f->proc, "msg=\"Nurse is gathering vitals\" reason=mem", LK_USEC_PER_SEC);
        assert_non_null(line);
        lk_free(line);
        lktest_http r = get(f, "/health");
        assert_non_null(strstr(r.body, "\"id\":\"Nurse\",\"attributes\":{\"name\":\"Nurse\",\"status\":\"passing\""));
        lktest_http_done(&r);
        stop_node(f, SIGTERM, 0);
        char *log = lktest_read_file(f->proc.log_path);
        const char *nurse = strstr(log, "msg=\"Closed service\" service=Nurse");
        const char *rootdir = strstr(log, "msg=\"Closed service\" service=RootDir");
        if (!nurse || !rootdir || nurse > rootdir)
                fail_msg("the Nurse must close before RootDir:\n%s", log);
        lk_free(log);
}

static void root_dir_is_private(void **state) {
        fixture *f = *state;
        start_node(f, NULL, NULL);
        struct stat st;
        assert_int_equal(stat(f->root, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        stop_node(f, SIGTERM, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(probes_answer_and_shutdown_is_ordered, setup, teardown),
                cmocka_unit_test_setup_teardown(failing_service_turns_health_503_and_recovers, setup, teardown),
                cmocka_unit_test_setup_teardown(json_logs, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_config_exits_2_naming_the_place, setup, teardown),
                cmocka_unit_test_setup_teardown(validate_prints_effective_config_with_secrets_masked, setup, teardown),
                cmocka_unit_test_setup_teardown(port_in_use_fails_start_with_status_1, setup, teardown),
                cmocka_unit_test_setup_teardown(speaks_systemd_notify, setup, teardown),
                cmocka_unit_test_setup_teardown(root_dir_is_private, setup, teardown),
                cmocka_unit_test_setup_teardown(nurse_runs_inside_the_node, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
