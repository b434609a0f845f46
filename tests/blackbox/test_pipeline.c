/* Black-box: the real linkd running pipelines - `linkd pipeline run` as an
 * operator types it, and the node serving PATCH /v2/resume/:taskRunID and
 * finishing, exactly once, a run that a kill -9 interrupted. */
#include "lktest.h"

#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture_server.h"
#include "linkd/alloc.h"
#include "linkd/file.h"
#include "linkd/pipeline.h"
#include "linkd/store.h"

#define STARTUP_LIMIT (30 * LK_USEC_PER_SEC)

typedef struct fixture {
        char *dir;
        char *root;
        char *config;
        lktest_proc proc;
        unsigned port;
        lkfx_server *fx;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        f->root = lk_asprintf("%s/root", f->dir);
        f->fx = lkfx_start();
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_proc_done(&f->proc);
        lkfx_stop(f->fx);
        lk_free(f->config);
        lk_free(f->root);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

/* ---- linkd pipeline run ---- */

static json_t *parse_json(const char *text) {
        json_error_t error;
        json_t *j = json_loads(text, 0, &error);
        if (!j)
                fail_msg("not JSON (%s): %s", error.text, text);
        return j;
}

static int pipeline_run(fixture *f, const char *dot, const char *vars, char **ret_out, char **ret_err) {
        char *path = lktest_write_file(f->dir, "pipeline.dot", dot);
        const char *argv[] = {"pipeline", "run", vars ? "--vars" : path, vars ? vars : NULL, vars ? path : NULL, NULL};
        int status = lktest_run(argv, ret_out, ret_err);
        lk_free(path);
        return status;
}

static void cli_prints_the_run(void **state) {
        fixture *f = *state;
        char *out, *err;
        int status = pipeline_run(f,
                                  "a [type=jsonparse path=p data=\"$(j)\"]\n"
                                  "c [type=multiply input=\"$(a)\" times=\"$(t)\" index=1]\n"
                                  "d [type=hexdecode input=\"0x0102\" index=0]\n"
                                  "a -> c\n",
                                  "{\"t\": 4, \"j\": \"{\\\"p\\\": 2.5}\"}", &out, &err);
        assert_int_equal(status, 0);
        json_t *j = parse_json(out);
        assert_string_equal(json_string_value(json_object_get(j, "state")), "completed");
        char *outputs = json_dumps(json_object_get(j, "outputs"), JSON_COMPACT);
        assert_string_equal(outputs, "[\"0x0102\",\"10\"]"); /* by index; bytes as 0x hex, decimals as strings */
        free(outputs);
        json_t *runs = json_object_get(j, "taskRuns");
        assert_int_equal(json_array_size(runs), 3);
        json_t *first = json_array_get(runs, 0);
        assert_non_null(json_object_get(first, "dotId"));
        assert_non_null(json_object_get(first, "type"));
        assert_true(json_is_null(json_object_get(first, "error")));
        json_decref(j);
        lk_free(out);
        lk_free(err);
}

static void cli_exit_status_tells_the_outcome(void **state) {
        fixture *f = *state;
        char *out, *err;
        assert_int_equal(pipeline_run(f, "a [type=fail msg=\"no luck\"]", NULL, &out, &err), 1);
        json_t *j = parse_json(out);
        assert_string_equal(json_string_value(json_object_get(j, "state")), "errored");
        char *fatal = json_dumps(json_object_get(j, "fatalErrors"), JSON_COMPACT);
        assert_string_equal(fatal, "[\"no luck\"]");
        free(fatal);
        json_decref(j);
        lk_free(out);
        lk_free(err);

        /* a pipeline that does not parse: status 2, where and what */
        assert_int_equal(pipeline_run(f, "a [type=multiply\nb -> ", NULL, &out, &err), 2);
        assert_string_equal(out, "");
        assert_non_null(strstr(err, "could not unmarshal DOT into a pipeline.Graph"));
        lk_free(out);
        lk_free(err);
        assert_int_equal(pipeline_run(f, "a [type=nope]", NULL, &out, &err), 2);
        assert_non_null(strstr(err, "UnmarshalTaskFromMap: unknown task type: \"nope\""));
        lk_free(out);
        lk_free(err);
        assert_int_equal(pipeline_run(f, "a [type=sum]", "[1,2]", &out, &err), 2);
        assert_non_null(strstr(err, "--vars: must be a JSON object"));
        lk_free(out);
        lk_free(err);
}

static void cli_reads_standard_input(void **state) {
        (void)state;
        const char *bin = lktest_env("LINKD_BIN");
        char *script = lk_asprintf("printf 'a [type=sum values=<[1, 2, 3]>]' | '%s' pipeline run -", bin);
        const char *argv[] = {"-c", script, NULL};
        char *out, *err;
        assert_int_equal(lktest_run_program("sh", argv, NULL, &out, &err), 0);
        assert_non_null(strstr(out, "\"outputs\":[\"6\"]"));
        lk_free(out);
        lk_free(err);
        lk_free(script);
}

/* ---- the node ---- */

typedef struct db_args {
        const char *sql;
        int64_t number;
        char *text;
} db_args;

static int exec_body(lk_db *db, void *arg, lk_err *err) {
        return lk_db_exec(db, ((db_args *)arg)->sql, err);
}

static int query_body(lk_db *db, void *arg, lk_err *err) {
        db_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, a->sql, &st, err);
        if (r < 0)
                return r;
        if ((r = lk_stmt_step(st, err)) == 1) {
                a->number = lk_stmt_int64(st, 0);
                a->text = lk_stmt_is_null(st, 0) ? NULL : lk_strdup(lk_stmt_text(st, 0, NULL));
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

/* Opens the node's SQLite database (migrated) while the node is down. */
static lk_store *open_db(fixture *f, lk_config *cfg) {
        lk_config_init(cfg);
        lk_free(cfg->root_dir);
        cfg->root_dir = lk_strdup(f->root);
        lk_config_finish(cfg, NULL);
        lk_store *store;
        lk_err err = LK_ERR_INIT;
        if (lk_dir_ensure_private(f->root, &err) < 0 || lk_store_new(&(lk_store_options){.config = cfg}, &store, &err) < 0 ||
            lk_service_start(lk_store_service(store), NULL, &err) < 0)
                fail_msg("database: %s", err.msg);
        return store;
}

static void close_db(lk_store *store, lk_config *cfg) {
        lk_service_close(lk_store_service(store), NULL);
        lk_store_free(store);
        lk_config_done(cfg);
}

static void exec_sql(lk_store *store, const char *sql) {
        db_args a = {sql, 0, NULL};
        lk_err err = LK_ERR_INIT;
        if (lk_store_tx(store, exec_body, &a, &err) < 0)
                fail_msg("%s: %s", sql, err.msg);
}

static char *query_text(lk_store *store, const char *sql) {
        db_args a = {sql, 0, NULL};
        lk_err err = LK_ERR_INIT;
        if (lk_store_read(store, query_body, &a, &err) < 0)
                fail_msg("%s: %s", sql, err.msg);
        return a.text;
}

/* A stored pipeline with one run left "running", as a crash leaves it. */
static void seed_running_run(fixture *f, const char *dot) {
        lk_config cfg;
        lk_store *store = open_db(f, &cfg);
        int64_t spec_id;
        lk_err err = LK_ERR_INIT;
        if (lk_pipeline_spec_store(store, dot, 0, &spec_id, &err) < 0)
                fail_msg("%s", err.msg);
        char *sql = lk_asprintf("INSERT INTO pipeline_runs (pipeline_spec_id, state, inputs, created_at)"
                                " VALUES (%" PRId64 ", 'running', '{}', '2026-01-01 00:00:00.000000+00:00')",
                                spec_id);
        exec_sql(store, sql);
        lk_free(sql);
        char *url = lkfx_url(f->fx, "/pending");
        sql = lk_asprintf("INSERT INTO bridge_types (name, url, incoming_token_hash, salt, outgoing_token)"
                          " VALUES ('slowpoke', '%s', 'x', 'x', 'x')",
                          url);
        exec_sql(store, sql);
        lk_free(sql);
        free(url);
        close_db(store, &cfg);
}

static void start_node(fixture *f) {
        char *text = lk_asprintf("RootDir = '%s'\n[WebServer]\nHTTPPort = 0\nBridgeResponseURL = 'https://node.example'\n"
                                 "[HealthCheck]\nPollInterval = '100ms'\n",
                                 f->root);
        lk_free(f->config);
        f->config = lktest_write_file(f->dir, "linkd.toml", text);
        lk_free(text);
        const char *argv[] = {"node", "start", "--config", f->config, NULL};
        lktest_proc_start(&f->proc, f->dir, argv, NULL);
        char *line = lktest_proc_wait_log(&f->proc, "API listening", STARTUP_LIMIT);
        if (!line) {
                char *log = lktest_read_file(f->proc.log_path);
                fail_msg("linkd did not start; its log:\n%s", log ? log : "(none)");
        }
        f->port = lktest_port_from_log(line);
        lk_free(line);
}

static void stop_node(fixture *f) {
        kill(f->proc.pid, SIGTERM);
        if (!lktest_proc_wait(&f->proc, 20 * LK_USEC_PER_SEC))
                fail_msg("linkd did not exit");
        assert_int_equal(f->proc.exit_status, 0);
        lktest_proc_done(&f->proc);
}

static lktest_http patch(fixture *f, const char *id, const char *body) {
        char url[256];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/v2/resume/%s", f->port, id);
        const char *headers[] = {"Content-Type: application/json", NULL};
        lktest_http r;
        if (lktest_http_send("PATCH", url, headers, body, strlen(body), &r) < 0)
                fail_msg("no answer from %s", url);
        return r;
}

static void node_resumes_an_async_bridge_over_http(void **state) {
        fixture *f = *state;
        seed_running_run(f, "ask [type=bridge name=slowpoke async=true]\n"
                            "price [type=jsonparse path=\"data,price\"]\n"
                            "ask -> price");
        start_node(f);
        /* the node picks the run up and asks the bridge, telling it where
         * to answer */
        assert_true(lkfx_wait_hits(f->fx, "/pending", 1, 20000));
        lkfx_request req;
        assert_true(lkfx_last(f->fx, "/pending", &req));
        const char *at = strstr(req.body, "https://node.example/v2/resume/");
        assert_non_null(at);
        char id[37];
        memcpy(id, at + strlen("https://node.example/v2/resume/"), 36);
        id[36] = '\0';
        lkfx_request_done(&req);

        lktest_http r = patch(f, "not-a-uuid", "{\"value\": 1}");
        assert_int_equal(r.status, 422);
        lktest_http_done(&r);
        r = patch(f, "00000000-0000-4000-8000-000000000000", "{\"value\": 1}");
        assert_int_equal(r.status, 404);
        lktest_http_done(&r);
        r = patch(f, id, "{\"value\": 1, \"error\": \"x\"}");
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "must provide only one of either 'value' or 'error' key"));
        lktest_http_done(&r);
        r = patch(f, id, "{\"value\": {\"data\": {\"price\": 1234.5}}}");
        assert_int_equal(r.status, 200);
        lktest_http_done(&r);
        r = patch(f, id, "{\"value\": {\"data\": {\"price\": 1}}}");
        assert_int_equal(r.status, 404); /* answered already */
        lktest_http_done(&r);

        lktest_http m;
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", f->port);
        assert_int_equal(lktest_http_request("GET", url, NULL, &m), 0);
        assert_non_null(strstr(m.body, "pipeline_runs_total{state=\"suspended\"} 1"));
        lktest_http_done(&m);
        stop_node(f);

        lk_config cfg;
        lk_store *store = open_db(f, &cfg);
        char *state_text = query_text(store, "SELECT state FROM pipeline_runs");
        assert_string_equal(state_text, "completed");
        lk_free(state_text);
        char *outputs = query_text(store, "SELECT outputs FROM pipeline_runs");
        assert_string_equal(outputs, "[1234.5]");
        lk_free(outputs);
        close_db(store, &cfg);
}

static void a_run_killed_mid_flight_completes_once_after_restart(void **state) {
        fixture *f = *state;
        char *slow = lkfx_url(f->fx, "/slow?ms=1500&body=21");
        char *dot = lk_asprintf("fetch [type=http url=\"%s\"]\nscale [type=multiply input=\"$(fetch)\" times=2]\n"
                                "fetch -> scale",
                                slow);
        free(slow);
        seed_running_run(f, dot);
        start_node(f);
        /* the node re-runs the run it finds running; kill it mid-request */
        assert_true(lkfx_wait_hits(f->fx, "/slow", 1, 20000));
        kill(f->proc.pid, SIGKILL);
        assert_true(lktest_proc_wait(&f->proc, 10 * LK_USEC_PER_SEC));
        lktest_proc_done(&f->proc);

        start_node(f);
        assert_true(lkfx_wait_hits(f->fx, "/slow", 2, 20000));
        stop_node(f); /* shutdown lets the run in flight finish and be stored */

        lk_config cfg;
        lk_store *store = open_db(f, &cfg);
        char *count = query_text(store, "SELECT COUNT(*) FROM pipeline_runs");
        assert_string_equal(count, "1");
        lk_free(count);
        char *state_text = query_text(store, "SELECT state FROM pipeline_runs");
        assert_string_equal(state_text, "completed");
        lk_free(state_text);
        char *outputs = query_text(store, "SELECT outputs FROM pipeline_runs");
        assert_string_equal(outputs, "[\"42\"]");
        lk_free(outputs);
        close_db(store, &cfg);
        assert_int_equal(lkfx_hits(f->fx, "/slow"), 2);
        lk_free(dot);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(cli_prints_the_run, setup, teardown),
                cmocka_unit_test_setup_teardown(cli_exit_status_tells_the_outcome, setup, teardown),
                cmocka_unit_test_setup_teardown(cli_reads_standard_input, setup, teardown),
                cmocka_unit_test_setup_teardown(node_resumes_an_async_bridge_over_http, setup, teardown),
                cmocka_unit_test_setup_teardown(a_run_killed_mid_flight_completes_once_after_restart, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
