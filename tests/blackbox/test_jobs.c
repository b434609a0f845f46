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
#include "test_node.h"

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
        lktest_node node;
        char *cookie;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        lktest_node_init(&f->node, NULL, ADMIN, PASSWORD);
        *state = f;
        return 0;
}

/* The same node on a fresh PostgreSQL database. */
static int setup_postgres(void **state) {
        setup(state);
        lktest_node_use_postgres(&((fixture *)*state)->node);
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_node_done(&f->node);
        lk_free(f->cookie);
        lk_free(f);
        return 0;
}

static lktest_http call_as(fixture *f, const char *cookie, const char *method, const char *path, const char *body) {
        return lktest_node_call(&f->node, cookie, method, path, body);
}

static lktest_http call(fixture *f, const char *method, const char *path, const char *body) {
        return call_as(f, f->cookie, method, path, body);
}

static char *log_in(fixture *f, const char *email, const char *password) {
        return lktest_node_login(&f->node, email, password);
}

static void start_node(fixture *f) {
        lktest_node_start(&f->node);
        lk_free(f->cookie);
        f->cookie = log_in(f, ADMIN, PASSWORD);
}

static void stop_node(fixture *f) {
        lktest_node_stop(&f->node);
}

/* Calls and checks the status; returns the JSON body (caller decrefs). */
static json_t *expect_json(fixture *f, const char *method, const char *path, const char *body, long status) {
        lktest_http r = call(f, method, path, body);
        if (r.status != status)
                fail_msg("%s %s: got %ld %s, want %ld", method, path, r.status, r.body, status);
        json_t *j = lktest_json(r.body);
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
        /* pages link to their neighbours, keeping the filter */
        snprintf(path, sizeof path, "/v2/jobs/%s/runs", external);
        json_decref(expect_json(f, "POST", path, "{\"x\": 1}", 200));
        snprintf(path, sizeof path, "/v2/pipeline/runs?jobID=%lld&size=1", (long long)id);
        j = expect_json(f, "GET", path, NULL, 200);
        char want[96];
        snprintf(want, sizeof want, "/v2/pipeline/runs?jobID=%lld&page=2&size=1", (long long)id);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "links"), "next")), want);
        assert_int_equal(json_array_size(json_object_get(j, "data")), 1);
        json_decref(j);
        snprintf(path, sizeof path, "/v2/jobs/%lld/runs?page=2&size=1", (long long)id);
        j = expect_json(f, "GET", path, NULL, 200);
        snprintf(want, sizeof want, "/v2/jobs/%lld/runs?page=1&size=1", (long long)id);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "links"), "prev")), want);
        assert_null(json_object_get(json_object_get(j, "links"), "next"));
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
        char *log = lktest_read_file(f->node.proc.log_path);
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
        j = expect_json(f, "GET", "/v2/jobs?size=0", NULL, 422);
        char *text = json_dumps(j, 0);
        assert_non_null(strstr(text, "invalid size param: must be an integer from 1 to 1000"));
        free(text);
        json_decref(j);
        json_decref(expect_json(f, "GET", "/v2/jobs/abc", NULL, 404));
}

typedef struct initiator {
        char *key, *secret;
} initiator;

static initiator create_initiator(fixture *f, const char *name) {
        char *body = lk_asprintf("{\"name\":\"%s\"}", name);
        json_t *j = expect_json(f, "POST", "/v2/external_initiators", body, 201);
        lk_free(body);
        json_t *attributes = json_object_get(json_object_get(j, "data"), "attributes");
        initiator ei = {lk_strdup(json_string_value(json_object_get(attributes, "incomingAccessKey"))),
                        lk_strdup(json_string_value(json_object_get(attributes, "incomingSecret")))};
        json_decref(j);
        return ei;
}

static long run_as_initiator(fixture *f, const char *external, const initiator *ei, const char *secret) {
        char *url = lk_asprintf("http://127.0.0.1:%u/v2/jobs/%s/runs", f->node.port, external);
        char *key_header = lk_asprintf("X-Chainlink-EA-AccessKey: %s", ei->key);
        char *secret_header = lk_asprintf("X-Chainlink-EA-Secret: %s", secret ? secret : ei->secret);
        const char *headers[] = {key_header, secret_header, NULL};
        lktest_http r;
        assert_int_equal(lktest_http_send("POST", url, headers, "{\"x\": 2}", 8, &r), 0);
        long status = r.status;
        if (status == 200)
                assert_non_null(strstr(r.body, "\"outputs\":[\"6\"]"));
        lktest_http_done(&r);
        lk_free(url);
        lk_free(key_header);
        lk_free(secret_header);
        return status;
}

#define EI_WEBHOOK_TOML(NAME)                                                                                   \
        "type = \"webhook\"\nschemaVersion = 1\n"                                                          \
        "externalInitiators = [ { name = \"" NAME "\", spec = \"{}\" } ]\n"                               \
        "observationSource = \"\"\"\n"                                                                       \
        "parse [type=jsonparse path=\"x\" data=\"$(jobRun.requestBody)\"]\n"                                \
        "mult [type=multiply input=\"$(parse)\" times=3]\n"                                                   \
        "parse -> mult\n\"\"\"\n"

/* Webhook runs by external initiators: only one the job lists, with its
 * secret, and only when [JobPipeline] ExternalInitiatorsEnabled. */
static void initiators_run_webhook_jobs(void **state) {
        fixture *f = *state;
        lktest_node_done(&f->node);
        lktest_node_init(&f->node, "[JobPipeline]\nExternalInitiatorsEnabled = true\n", ADMIN, PASSWORD);
        start_node(f);
        initiator one = create_initiator(f, "ei-one"), two = create_initiator(f, "ei-two");
        char *body = create_body(EI_WEBHOOK_TOML("ei-missing"));
        json_t *j = expect_json(f, "POST", "/v2/jobs", body, 422);
        lk_free(body);
        assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "detail")),
                            "unable to find external initiator named ei-missing: sql: no rows in result set");
        json_decref(j);
        char external[37];
        create_job(f, EI_WEBHOOK_TOML("ei-one"), external);
        assert_int_equal(run_as_initiator(f, external, &one, NULL), 200);
        assert_int_equal(run_as_initiator(f, external, &two, NULL), 401);
        assert_int_equal(run_as_initiator(f, external, &one, "00000000000000000000000000000000"), 401);
        lk_free(one.key);
        lk_free(one.secret);

        /* the same initiator, on a node that does not let initiators in */
        stop_node(f);
        char *text = lk_asprintf("RootDir = '%s/root'\n[WebServer]\nHTTPPort = 0\n", f->node.dir);
        lk_free(lktest_write_file(f->node.dir, "linkd.toml", text));
        lk_free(text);
        start_node(f);
        initiator again = {two.key, two.secret};
        create_job(f, EI_WEBHOOK_TOML("ei-two"), external);
        assert_int_equal(run_as_initiator(f, external, &again, NULL), 401);
        lk_free(two.key);
        lk_free(two.secret);
}

/* A bridge that a job's pipeline uses cannot be deleted until the job is. */
static void bridges_in_use_stay(void **state) {
        fixture *f = *state;
        start_node(f);
        json_decref(expect_json(f, "POST", "/v2/bridge_types", "{\"name\":\"price\",\"url\":\"http://127.0.0.1:9/\"}", 201));
        int64_t id = create_job(f,
                                "type = \"webhook\"\nschemaVersion = 1\n"
                                "observationSource = \"b [type=bridge name=\\\"Price\\\"]\"\n",
                                NULL);
        char *expected = lk_asprintf("can't remove the bridge because there are jobs associated with it: [%lld]",
                                     (long long)id);
        json_t *j = expect_json(f, "DELETE", "/v2/bridge_types/price", NULL, 409);
        assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "errors"), 0), "detail")),
                            expected);
        json_decref(j);
        lk_free(expected);
        char path[64];
        snprintf(path, sizeof path, "/v2/jobs/%lld", (long long)id);
        lktest_http r = call(f, "DELETE", path, NULL);
        assert_int_equal(r.status, 204);
        lktest_http_done(&r);
        json_decref(expect_json(f, "DELETE", "/v2/bridge_types/price", NULL, 200));
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
                cmocka_unit_test_setup_teardown(bridges_in_use_stay, setup, teardown),
                cmocka_unit_test_setup_teardown(initiators_run_webhook_jobs, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
