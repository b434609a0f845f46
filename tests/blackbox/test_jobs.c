/* Black-box: jobs through the real linkd and its API — create, list, show,
 * run (webhook), runs, delete; cron jobs firing across a restart; a job
 * whose services cannot start keeps its error until dismissed; bad specs
 * get every error with its line; roles. */
#include "lktest.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linkd/alloc.h"

#define STARTUP_LIMIT (30 * LK_USEC_PER_SEC)
#define ADMIN "admin@example.com"
#define PASSWORD "the-operators-password-1"

#define WEBHOOK_TOML                                                                                             \
        "type = \"webhook\"\nschemaVersion = 1\nname = \"triple\"\n"                                          \
        "observationSource = \"\"\"\n"                                                                         \
        "parse [type=jsonparse path=\"x\" data=\"$(jobRun.requestBody)\"]\n"                                  \
        "mult [type=multiply input=\"$(parse)\" times=3]\n"                                                     \
        "parse -> mult\n\"\"\"\n"
#define CRON_TOML                                                                                                \
        "type = \"cron\"\nschemaVersion = 1\nname = \"tick\"\nschedule = \"CRON_TZ=UTC * * * * * *\"\n"       \
        "observationSource = \"a [type=memo value=7]\"\n"
#define DIRECTREQUEST_TOML                                                                                       \
        "type = \"directrequest\"\nschemaVersion = 1\nname = \"dr\"\n"                                        \
        "contractAddress = \"0x613a38AC1659769640aaE063C651F48E0250454C\"\n"                                  \
        "observationSource = \"a [type=memo value=1]\"\n"

typedef struct fixture {
        char *dir;
        char *config;
        char *api;
        char *secrets;  /* NULL: SQLite */
        char *pg_url;
        lktest_proc proc;
        unsigned port;
        char *cookie;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        char *text = lk_asprintf("RootDir = '%s/root'\n[WebServer]\nHTTPPort = 0\n", f->dir);
        f->config = lktest_write_file(f->dir, "linkd.toml", text);
        lk_free(text);
        f->api = lktest_write_file(f->dir, "api.txt", ADMIN "\n" PASSWORD "\n");
        chmod(f->api, 0600);
        *state = f;
        return 0;
}

/* The same node on a fresh PostgreSQL database. */
static int setup_postgres(void **state) {
        setup(state);
        fixture *f = *state;
        f->pg_url = lktest_pg_create_db();
        char *text = lk_asprintf("[Database]\nURL = '%s'\n", f->pg_url);
        f->secrets = lktest_write_file(f->dir, "secrets.toml", text);
        chmod(f->secrets, 0600);
        lk_free(text);
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_proc_done(&f->proc);
        lktest_pg_drop_db(f->pg_url);
        lk_free(f->secrets);
        lk_free(f->config);
        lk_free(f->api);
        lk_free(f->cookie);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

static lktest_http call_as(fixture *f, const char *cookie, const char *method, const char *path, const char *body) {
        char *url = lk_asprintf("http://127.0.0.1:%u%s", f->port, path);
        char *cookie_header = cookie ? lk_asprintf("Cookie: clsession=%s", cookie) : NULL;
        const char *headers[] = {"Content-Type: application/json", cookie_header, NULL};
        lktest_http r;
        assert_int_equal(lktest_http_send(method, url, headers, body ? body : "", body ? strlen(body) : 0, &r), 0);
        lk_free(url);
        lk_free(cookie_header);
        return r;
}

static lktest_http call(fixture *f, const char *method, const char *path, const char *body) {
        return call_as(f, f->cookie, method, path, body);
}

static char *log_in(fixture *f, const char *email, const char *password) {
        char *body = lk_asprintf("{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
        lktest_http r = call_as(f, NULL, "POST", "/sessions", body);
        lk_free(body);
        if (r.status != 200)
                fail_msg("login: %ld %s", r.status, r.body);
        char *set_cookie = lktest_http_header(&r, "Set-Cookie");
        char *token = lk_strndup(set_cookie + 10, strcspn(set_cookie + 10, ";"));
        lk_free(set_cookie);
        lktest_http_done(&r);
        return token;
}

static void start_node(fixture *f) {
        const char *argv[] = {"node",   "start", "--config",  f->config, "--api",
                              f->api,   f->secrets ? "--secrets" : NULL, f->secrets, NULL};
        lktest_proc_start(&f->proc, f->dir, argv, NULL);
        char *line = lktest_proc_wait_log(&f->proc, "API listening", STARTUP_LIMIT);
        if (!line) {
                char *log = lktest_read_file(f->proc.log_path);
                fail_msg("linkd did not start; its log:\n%s", log ? log : "(none)");
        }
        f->port = lktest_port_from_log(line);
        lk_free(line);
        lk_free(f->cookie);
        f->cookie = log_in(f, ADMIN, PASSWORD);
}

static void stop_node(fixture *f) {
        kill(f->proc.pid, SIGTERM);
        assert_true(lktest_proc_wait(&f->proc, 10 * LK_USEC_PER_SEC));
        assert_int_equal(f->proc.exit_status, 0);
        lktest_proc_done(&f->proc);
}

static json_t *json_of(const lktest_http *r) {
        json_error_t error;
        json_t *j = json_loads(r->body, 0, &error);
        if (!j)
                fail_msg("not JSON (%s): %s", error.text, r->body);
        return j;
}

/* Calls and checks the status; returns the JSON body (caller decrefs). */
static json_t *expect_json(fixture *f, const char *method, const char *path, const char *body, long status) {
        lktest_http r = call(f, method, path, body);
        if (r.status != status)
                fail_msg("%s %s: got %ld %s, want %ld", method, path, r.status, r.body, status);
        json_t *j = json_of(&r);
        lktest_http_done(&r);
        return j;
}

static char *create_body(const char *toml) {
        json_t *j = json_pack("{s:s}", "toml", toml);
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        char *copy = lk_strdup(text);
        free(text);
        return copy;
}

/* Creates the job; returns its id, and its externalJobID in external. */
static int64_t create_job(fixture *f, const char *toml, char external[37]) {
        char *body = create_body(toml);
        json_t *j = expect_json(f, "POST", "/v2/jobs", body, 200);
        lk_free(body);
        json_t *data = json_object_get(j, "data");
        int64_t id = atoll(json_string_value(json_object_get(data, "id")));
        if (external)
                snprintf(external, 37, "%s",
                         json_string_value(json_object_get(json_object_get(data, "attributes"), "externalJobID")));
        json_decref(j);
        return id;
}

static int64_t run_count(fixture *f, int64_t job_id) {
        char path[64];
        snprintf(path, sizeof path, "/v2/jobs/%lld/runs", (long long)job_id);
        json_t *j = expect_json(f, "GET", path, NULL, 200);
        int64_t n = json_integer_value(json_object_get(json_object_get(j, "meta"), "count"));
        json_decref(j);
        return n;
}

static void webhook_lifecycle(void **state) {
        fixture *f = *state;
        start_node(f);
        char external[37];
        int64_t id = create_job(f, WEBHOOK_TOML, external);

        json_t *j = expect_json(f, "GET", "/v2/jobs", NULL, 200);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 1);
        json_decref(j);
        char path[96];
        snprintf(path, sizeof path, "/v2/jobs/%lld", (long long)id);
        j = expect_json(f, "GET", path, NULL, 200);
        json_t *attributes = json_object_get(json_object_get(j, "data"), "attributes");
        assert_string_equal(json_string_value(json_object_get(attributes, "type")), "webhook");
        assert_string_equal(json_string_value(json_object_get(attributes, "name")), "triple");
        assert_string_equal(json_string_value(json_object_get(attributes, "toml")), WEBHOOK_TOML);
        json_decref(j);

        /* a run: the body is jobRun.requestBody; the answer is the finished run */
        snprintf(path, sizeof path, "/v2/jobs/%s/runs", external);
        j = expect_json(f, "POST", path, "{\"x\": 14}", 200);
        json_t *run = json_object_get(json_object_get(j, "data"), "attributes");
        assert_string_equal(json_string_value(json_object_get(run, "state")), "completed");
        char *outputs = json_dumps(json_object_get(run, "outputs"), JSON_COMPACT);
        assert_string_equal(outputs, "[\"42\"]");
        free(outputs);
        int64_t run_id = atoll(json_string_value(json_object_get(json_object_get(j, "data"), "id")));
        json_decref(j);
        assert_int_equal(run_count(f, id), 1);
        snprintf(path, sizeof path, "/v2/jobs/%lld/runs/%lld", (long long)id, (long long)run_id);
        j = expect_json(f, "GET", path, NULL, 200);
        json_t *task_runs = json_object_get(json_object_get(json_object_get(j, "data"), "attributes"), "taskRuns");
        assert_int_equal(json_array_size(task_runs), 2);
        json_decref(j);
        /* the same run among every job's runs */
        snprintf(path, sizeof path, "/v2/pipeline/runs/%lld", (long long)run_id);
        j = expect_json(f, "GET", path, NULL, 200);
        json_t *attributes_of_run = json_object_get(json_object_get(j, "data"), "attributes");
        assert_int_equal(json_array_size(json_object_get(attributes_of_run, "taskRuns")), 2);
        assert_int_equal(atoll(json_string_value(json_object_get(attributes_of_run, "jobID"))), id);
        json_decref(j);
        snprintf(path, sizeof path, "/v2/pipeline/runs?jobID=%lld", (long long)id);
        j = expect_json(f, "GET", path, NULL, 200);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 1);
        json_decref(j);
        json_decref(expect_json(f, "GET", "/v2/pipeline/runs/999", NULL, 404));

        /* deleted: gone, with its runs */
        snprintf(path, sizeof path, "/v2/jobs/%lld", (long long)id);
        lktest_http r = call(f, "DELETE", path, NULL);
        assert_int_equal(r.status, 204);
        lktest_http_done(&r);
        json_decref(expect_json(f, "GET", path, NULL, 404));
        snprintf(path, sizeof path, "/v2/jobs/%s/runs", external);
        j = expect_json(f, "POST", path, "{\"x\": 1}", 404);
        char *text = json_dumps(j, 0);
        assert_non_null(strstr(text, "job does not exist"));
        free(text);
        json_decref(j);
}

static void webhook_lifecycle_on_postgres(void **state) {
        webhook_lifecycle(state);
}

static void cron_jobs_fire_across_a_restart(void **state) {
        fixture *f = *state;
        start_node(f);
        int64_t id = create_job(f, CRON_TOML, NULL);
        lk_usec until = lk_now_monotonic() + 15 * LK_USEC_PER_SEC;
        while (run_count(f, id) < 2) {
                assert_true(lk_now_monotonic() < until);
                usleep(200000);
        }
        stop_node(f);
        start_node(f);
        int64_t before = run_count(f, id);
        until = lk_now_monotonic() + 15 * LK_USEC_PER_SEC;
        while (run_count(f, id) < before + 2) {
                assert_true(lk_now_monotonic() < until);
                usleep(200000);
        }
        /* after its delete a job never runs again */
        char path[64];
        snprintf(path, sizeof path, "/v2/jobs/%lld", (long long)id);
        lktest_http r = call(f, "DELETE", path, NULL);
        assert_int_equal(r.status, 204);
        lktest_http_done(&r);
        sleep(2);
        char *log = lktest_read_file(f->proc.log_path);
        assert_null(strstr(log, "cannot store pipeline run"));
        lk_free(log);
        json_t *j = expect_json(f, "GET", "/v2/jobs", NULL, 200);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 0);
        json_decref(j);
}

static int64_t error_count(fixture *f, int64_t id, int64_t *ret_first_error_id) {
        char path[64];
        snprintf(path, sizeof path, "/v2/jobs/%lld", (long long)id);
        json_t *j = expect_json(f, "GET", path, NULL, 200);
        json_t *attributes = json_object_get(json_object_get(j, "data"), "attributes");
        int64_t n = json_integer_value(json_object_get(attributes, "errorCount"));
        json_t *errors = json_object_get(attributes, "errors");
        assert_int_equal((int64_t)json_array_size(errors), n);
        if (n && ret_first_error_id) {
                json_t *first = json_array_get(errors, 0);
                *ret_first_error_id = json_integer_value(json_object_get(first, "id"));
                assert_non_null(strstr(json_string_value(json_object_get(first, "description")), "EVM chain"));
        }
        json_decref(j);
        return n;
}

static void failing_jobs_keep_their_error(void **state) {
        fixture *f = *state;
        start_node(f);
        int64_t id = create_job(f, DIRECTREQUEST_TOML, NULL);
        int64_t error_id = 0;
        assert_int_equal(error_count(f, id, &error_id), 1);
        char path[64];
        snprintf(path, sizeof path, "/v2/job_spec_errors/%lld", (long long)error_id);
        lktest_http r = call(f, "DELETE", path, NULL);
        assert_int_equal(r.status, 204);
        lktest_http_done(&r);
        assert_int_equal(error_count(f, id, NULL), 0);
        json_decref(expect_json(f, "DELETE", path, NULL, 404));
        /* kept across a restart, where it fails again */
        stop_node(f);
        start_node(f);
        assert_int_equal(error_count(f, id, NULL), 1);
}

static void bad_specs_get_every_error(void **state) {
        fixture *f = *state;
        start_node(f);
        char *body = create_body("type = \"cron\"\nschemaVersion = 2\nschedule = \"* * *\"\n");
        json_t *j = expect_json(f, "POST", "/v2/jobs", body, 422);
        lk_free(body);
        json_t *errors = json_object_get(j, "errors");
        assert_int_equal(json_array_size(errors), 3);
        assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "detail")),
                            "line 2: invalid schema version");
        assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 1), "detail")),
                            "pipeline spec not specified");
        assert_int_equal(json_integer_value(json_object_get(json_array_get(errors, 2), "line")), 3);
        json_decref(j);
        body = create_body("type = \"cron\"\nschemaVersion = ");
        j = expect_json(f, "POST", "/v2/jobs", body, 422);
        lk_free(body);
        assert_non_null(strstr(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0),
                                                                 "detail")),
                               "line 2"));
        json_decref(j);
        json_decref(expect_json(f, "POST", "/v2/jobs", "{\"toml\": 1}", 422));
        json_decref(expect_json(f, "POST", "/v2/jobs", "{\"toml\": \"\", \"extra\": true}", 422));
        json_decref(expect_json(f, "POST", "/v2/jobs", "{\"toml\": ", 422));
        /* a taken externalJobID */
        const char *with_id = "type = \"webhook\"\nschemaVersion = 1\n"
                              "externalJobID = \"0EEC7E1D-D0D2-476C-A1A8-72DFB6633F40\"\n"
                              "observationSource = \"a [type=memo value=1]\"\n";
        create_job(f, with_id, NULL);
        body = create_body(with_id);
        json_decref(expect_json(f, "POST", "/v2/jobs", body, 409));
        lk_free(body);
        json_decref(expect_json(f, "GET", "/v2/jobs?size=0", NULL, 422));
        json_decref(expect_json(f, "GET", "/v2/jobs/abc", NULL, 404));
}

static void roles(void **state) {
        fixture *f = *state;
        start_node(f);
        char external[37];
        create_job(f, WEBHOOK_TOML, external);
        const char *users[][2] = {{"viewer@example.com", "view"}, {"runner@example.com", "run"}};
        for (int i = 0; i < 2; i++) {
                char *body = lk_asprintf("{\"email\":\"%s\",\"password\":\"%s\",\"role\":\"%s\"}", users[i][0], PASSWORD,
                                         users[i][1]);
                json_decref(expect_json(f, "POST", "/v2/users", body, 201));
                lk_free(body);
        }
        char *viewer = log_in(f, "viewer@example.com", PASSWORD), *runner = log_in(f, "runner@example.com", PASSWORD);
        char *create = create_body(WEBHOOK_TOML);
        char runs[96];
        snprintf(runs, sizeof runs, "/v2/jobs/%s/runs", external);
        struct {
                const char *who, *method, *path, *body;
                long status;
        } cases[] = {
                {NULL, "GET", "/v2/jobs", NULL, 401},
                {NULL, "POST", "/v2/jobs", create, 401},
                {NULL, "POST", runs, "{}", 401},
                {NULL, "DELETE", "/v2/jobs/1", NULL, 401},
                {viewer, "GET", "/v2/jobs", NULL, 200},
                {viewer, "POST", "/v2/jobs", create, 403},
                {viewer, "POST", runs, "{\"x\":1}", 403},
                {viewer, "DELETE", "/v2/jobs/1", NULL, 403},
                {runner, "POST", runs, "{\"x\":1}", 200},
                {runner, "POST", "/v2/jobs", create, 403},
                {runner, "DELETE", "/v2/job_spec_errors/1", NULL, 403},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                lktest_http r = call_as(f, cases[i].who, cases[i].method, cases[i].path, cases[i].body);
                if (r.status != cases[i].status)
                        fail_msg("case %zu: %s %s: %ld %s", i, cases[i].method, cases[i].path, r.status, r.body);
                lktest_http_done(&r);
        }
        lk_free(create);
        lk_free(viewer);
        lk_free(runner);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(webhook_lifecycle, setup, teardown),
                cmocka_unit_test_setup_teardown(webhook_lifecycle_on_postgres, setup_postgres, teardown),
                cmocka_unit_test_setup_teardown(cron_jobs_fire_across_a_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(failing_jobs_keep_their_error, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_specs_get_every_error, setup, teardown),
                cmocka_unit_test_setup_teardown(roles, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
