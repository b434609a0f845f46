/* Black-box: the operator commands (admin, jobs, runs, bridges,
 * initiators, node health) through the real linkd against a real node:
 * the session kept private and never printed, tables and --json, the
 * errors and exit statuses. */
#include "lktest.h"

#include <jansson.h>
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
        "type = \"cron\"\nschemaVersion = 1\nname = \"tick\"\nschedule = \"CRON_TZ=UTC 0 0 0 1 1 *\"\n"          \
        "observationSource = \"a [type=memo value=7]\"\n"
/* Three problems on three lines. */
#define BAD_TOML "type = \"webhook\"\nschemaVersion = 2\nname = 3\nobservationSource = \"a [type=bogus]\"\n"

typedef struct fixture {
        lktest_node node;
        char *root; /* the client's LINKD_ROOT */
        char url[64];
        char *session; /* the last session token seen in the cookie file */
} fixture;

typedef struct result {
        int status;
        char *out, *err;
} result;

static int setup(void **state) {
        /* The client must see only what each test gives it. */
        unsetenv("LINKD_ROOT");
        unsetenv("LINKD_REMOTE_NODE_URL");
        fixture *f = lk_calloc(1, sizeof *f);
        lktest_node_init(&f->node, NULL, ADMIN, PASSWORD);
        f->root = lk_asprintf("%s/client", f->node.dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_node_done(&f->node);
        lk_free(f->root);
        lk_free(f->session);
        lk_free(f);
        return 0;
}

static void start_node(fixture *f) {
        lktest_node_start(&f->node);
        snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", f->node.port);
}

static char *cookie_path(const fixture *f) {
        return lk_asprintf("%s/cookie", f->root);
}

/* Remembers the session in the cookie file, so that no later output may
 * show it either. */
static void note_session(fixture *f) {
        char *path = cookie_path(f);
        char *text = lktest_read_file(path);
        lk_free(path);
        if (!text)
                return;
        text[strcspn(text, "\n")] = '\0';
        assert_true(strlen(text) >= 16);
        lk_free(f->session);
        f->session = text;
}

static void no_secrets(const fixture *f, const char *text) {
        assert_null(strstr(text, PASSWORD));
        if (f->session)
                assert_null(strstr(text, f->session));
}

/* Runs linkd with the words of args (NULL-terminated) and the client's
 * root, checking that no output holds the password or the session. */
static result run_env(fixture *f, const char *extra_env, const char *const *args) {
        char *root_env = lk_asprintf("LINKD_ROOT=%s", f->root);
        const char *env[] = {root_env, extra_env, NULL};
        result r;
        r.status = lktest_run_program(lktest_env("LINKD_BIN"), args, env, &r.out, &r.err);
        lk_free(root_env);
        note_session(f);
        no_secrets(f, r.out);
        no_secrets(f, r.err);
        return r;
}

#define RUN(f, ...) run_env((f), NULL, (const char *const[]){__VA_ARGS__, NULL})

static void done(result *r) {
        lk_free(r->out);
        lk_free(r->err);
}

/* Checks the status and that out and err contain the given texts. */
static void expect(result r, int status, const char *in_out, const char *in_err) {
        if (r.status != status || (in_out && !strstr(r.out, in_out)) || (in_err && !strstr(r.err, in_err)))
                fail_msg("status %d, want %d (stdout want \"%s\", stderr want \"%s\")\nstdout:\n%s\nstderr:\n%s",
                         r.status, status, in_out ? in_out : "", in_err ? in_err : "", r.out, r.err);
}

static void expect_done(result r, int status, const char *in_out, const char *in_err) {
        expect(r, status, in_out, in_err);
        done(&r);
}

static void log_in(fixture *f) {
        expect_done(RUN(f, "admin", "login", "--file", f->node.api, "--remote-node-url", f->url), 0, "Logged in", NULL);
        assert_non_null(f->session);
}

/* The value after "label:" in a command's field listing (lk_free it). */
static char *field(const char *out, const char *label) {
        char *needle = lk_asprintf("%s:", label);
        const char *p = strstr(out, needle);
        if (!p)
                fail_msg("no \"%s\" in:\n%s", needle, out);
        p += strlen(needle);
        p += strspn(p, " ");
        lk_free(needle);
        return lk_strndup(p, strcspn(p, "\n"));
}

static mode_t mode_of(const char *path) {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        return st.st_mode & 07777;
}

/* ---- tests ---- */

static void login_keeps_a_private_session(void **state) {
        fixture *f = *state;
        start_node(f);
        log_in(f);
        char *path = cookie_path(f);
        assert_int_equal(mode_of(path), 0600);
        assert_int_equal(mode_of(f->root), 0700);
        char *remote = lk_asprintf("%s/remote", f->root);
        char *text = lktest_read_file(remote);
        assert_non_null(text);
        assert_non_null(strstr(text, f->url));
        lk_free(text);
        lk_free(remote);
        /* later commands find the node logged in to without --remote-node-url */
        expect_done(RUN(f, "jobs", "list"), 0, "EXTERNAL JOB ID", NULL);

        /* a wrong password keeps nothing and says why */
        char *bad = lktest_write_file(f->node.dir, "bad.txt", ADMIN "\nnot-the-password-at-all\n");
        lk_freep(&f->session);
        unlink(path);
        expect_done(RUN(f, "admin", "login", "--file", bad, "--remote-node-url", f->url), 1, NULL, "401");
        assert_null(lktest_read_file(path));
        lk_free(bad);
        lk_free(path);
}

static void the_session_stays_with_its_node(void **state) {
        fixture *f = *state;
        start_node(f);
        log_in(f);
        /* the same node under another name is another node to the client */
        char *other = lk_asprintf("http://localhost:%s", strrchr(f->url, ':') + 1);
        char *env = lk_asprintf("LINKD_REMOTE_NODE_URL=%s", other);
        expect_done(run_env(f, env, (const char *const[]){"jobs", "list", NULL}), 1, NULL, "linkd admin login");
        expect_done(RUN(f, "jobs", "list", "--remote-node-url", f->url), 0, "EXTERNAL JOB ID", NULL);
        lk_free(env);
        lk_free(other);
}

static void jobs_and_runs(void **state) {
        fixture *f = *state;
        start_node(f);
        log_in(f);
        char *spec = lktest_write_file(f->node.dir, "job.toml", WEBHOOK_TOML);
        result r = RUN(f, "jobs", "create", spec);
        expect(r, 0, "triple", NULL);
        char *id = field(r.out, "ID"), *external = field(r.out, "External job ID");
        assert_int_equal(strlen(external), 36);
        done(&r);

        /* a bad spec: every problem with its line, exit 2 */
        r = RUN(f, "jobs", "create", BAD_TOML);
        expect(r, 2, NULL, "line 2:");
        assert_non_null(strstr(r.err, "line 3:"));
        assert_non_null(strstr(r.err, "line 4:"));
        done(&r);
        expect_done(RUN(f, "jobs", "create", "/no/such/spec.toml"), 2, NULL, "must pass in TOML or filepath");

        r = RUN(f, "jobs", "list");
        expect(r, 0, "ID  NAME    TYPE     EXTERNAL JOB ID", NULL);
        assert_non_null(strstr(r.out, external));
        done(&r);
        r = RUN(f, "jobs", "list", "--json");
        expect(r, 0, NULL, NULL);
        json_t *j = lktest_json(r.out);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 1);
        assert_string_equal(json_string_value(json_object_get(
                                    json_object_get(json_array_get(json_object_get(j, "data"), 0), "attributes"),
                                    "externalJobID")),
                            external);
        json_decref(j);
        done(&r);
        expect_done(RUN(f, "jobs", "show", id), 0, "mult [type=multiply input=\"$(parse)\" times=3]", NULL);

        /* runs by id and by externalJobID; the outputs in the answer */
        char *body = lktest_write_file(f->node.dir, "body.json", "{\"x\": 14}");
        r = RUN(f, "jobs", "run", id, "--body", body);
        expect(r, 0, "completed", NULL);
        char *outputs = field(r.out, "Outputs");
        assert_string_equal(outputs, "[\"42\"]");
        lk_free(outputs);
        char *run_id = field(r.out, "Run ID");
        done(&r);
        expect_done(RUN(f, "jobs", "run", external, "--body", body), 0, "mult    multiply   42", NULL);
        char *bad_body = lktest_write_file(f->node.dir, "bad.json", "{\"y\": 1}");
        expect_done(RUN(f, "jobs", "run", id, "--body", bad_body), 1, "errored", NULL);

        r = RUN(f, "runs", "list", "--job", id);
        expect(r, 0, "ID  JOB  STATE", NULL);
        assert_non_null(strstr(r.out, "completed"));
        assert_non_null(strstr(r.out, "errored"));
        done(&r);
        r = RUN(f, "runs", "list", "--json", "--size", "2");
        expect(r, 0, NULL, NULL);
        j = lktest_json(r.out);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "meta"), "count")), 3);
        assert_int_equal(json_array_size(json_object_get(j, "data")), 2);
        json_decref(j);
        done(&r);
        r = RUN(f, "runs", "show", run_id);
        expect(r, 0, "parse   jsonparse  14", NULL);
        assert_non_null(strstr(r.out, "State:    completed"));
        done(&r);

        expect_done(RUN(f, "jobs", "delete", id), 0, "Deleted job", NULL);
        expect_done(RUN(f, "jobs", "show", id), 1, NULL, "linkd: 404:");
        expect_done(RUN(f, "jobs", "run", id), 1, NULL, "linkd: 404:");
        lk_free(bad_body);
        lk_free(body);
        lk_free(run_id);
        lk_free(id);
        lk_free(external);
        lk_free(spec);
}

static void cron_jobs_show_their_next_fire_times(void **state) {
        fixture *f = *state;
        start_node(f);
        log_in(f);
        char *spec = lktest_write_file(f->node.dir, "cron.toml", CRON_TOML);
        result r = RUN(f, "jobs", "create", spec);
        expect(r, 0, "cron", NULL);
        char *id = field(r.out, "ID");
        done(&r);
        r = RUN(f, "jobs", "show", id);
        expect(r, 0, "Next fire times:", NULL);
        const char *times = strstr(r.out, "Next fire times:");
        size_t n = 0;
        for (const char *p = times; (p = strstr(p, "-01-01T00:00:00")) != NULL; p++)
                n++;
        assert_int_equal(n, 5);
        done(&r);
        lk_free(id);
        lk_free(spec);
}

static void bridges_and_initiators(void **state) {
        fixture *f = *state;
        start_node(f);
        log_in(f);
        result r = RUN(f, "bridges", "create", "price", "http://127.0.0.1:1/ea", "--confirmations", "3",
                       "--minimum-contract-payment", "100");
        expect(r, 0, "will not be shown again", NULL);
        char *token = field(r.out, "Incoming token");
        assert_true(strlen(token) >= 16);
        done(&r);
        r = RUN(f, "bridges", "list");
        expect(r, 0, "price  http://127.0.0.1:1/ea  3              100", NULL);
        assert_null(strstr(r.out, token));
        done(&r);
        expect_done(RUN(f, "bridges", "create", "price", "http://127.0.0.1:1/ea"), 1, NULL, "linkd: 409:");
        expect_done(RUN(f, "bridges", "create", "p2", "http://x", "--confirmations", "-1"), 2, NULL,
                    "--confirmations");
        expect_done(RUN(f, "bridges", "delete", "price"), 0, "Deleted bridge price", NULL);
        r = RUN(f, "bridges", "list", "--json");
        json_t *j = lktest_json(r.out);
        assert_int_equal(json_array_size(json_object_get(j, "data")), 0);
        json_decref(j);
        done(&r);

        r = RUN(f, "initiators", "create", "ei", "http://127.0.0.1:1/ei");
        expect(r, 0, "will not be shown again", NULL);
        char *key = field(r.out, "Access key"), *secret = field(r.out, "Secret");
        assert_true(strlen(secret) >= 16);
        done(&r);
        r = RUN(f, "initiators", "list");
        expect(r, 0, "NAME  URL", NULL);
        assert_non_null(strstr(r.out, key));
        assert_null(strstr(r.out, secret));
        done(&r);
        expect_done(RUN(f, "initiators", "delete", "ei"), 0, "Deleted external initiator ei", NULL);
        expect_done(RUN(f, "initiators", "delete", "ei"), 1, NULL, "linkd: 404:");
        lk_free(key);
        lk_free(secret);
        lk_free(token);
}

/* Users are created from a credentials file, never a password argument. */
static void admin_creates_users(void **state) {
        fixture *f = *state;
        start_node(f);
        log_in(f);
        char *file = lktest_write_file(f->node.dir, "viewer.txt", "viewer@example.com\nlooking-but-not-touching-1\n");
        expect_done(RUN(f, "admin", "users", "create", "--file", file, "--role", "view"), 0,
                    "Created user viewer@example.com with role view", NULL);
        expect_done(RUN(f, "admin", "users", "create", "--file", file), 1, NULL, "409");
        expect_done(RUN(f, "admin", "users", "create", "--role", "view"), 2, NULL, "needs --file");
        result r = RUN(f, "admin", "users", "list");
        expect(r, 0, "viewer@example.com", NULL);
        assert_null(strstr(r.out, "looking-but-not-touching"));
        done(&r);
        /* the viewer may not create users */
        char *cookie_file = lk_asprintf("%s/cookie", f->root);
        unlink(cookie_file);
        lk_free(cookie_file);
        expect_done(RUN(f, "admin", "login", "--file", file, "--remote-node-url", f->url), 0, "Logged in", NULL);
        expect_done(RUN(f, "admin", "users", "create", "--file", f->node.api), 1, NULL, "403");
        lk_free(file);
}

static void node_health(void **state) {
        fixture *f = *state;
        start_node(f);
        log_in(f);
        expect_done(RUN(f, "node", "health"), 0, "ok WebServer", NULL);
        result r = RUN(f, "node", "health", "--json");
        expect(r, 0, NULL, NULL);
        json_t *j = lktest_json(r.out);
        assert_true(json_array_size(json_object_get(j, "data")) > 0);
        json_decref(j);
        done(&r);
        r = RUN(f, "node", "health", "--failing");
        expect(r, 0, NULL, NULL);
        assert_null(strstr(r.out, "ok "));
        done(&r);
}

static void logout_ends_the_session(void **state) {
        fixture *f = *state;
        start_node(f);
        log_in(f);
        expect_done(RUN(f, "admin", "logout"), 0, "Logged out", NULL);
        char *path = cookie_path(f);
        assert_null(lktest_read_file(path));
        lk_free(path);
        expect_done(RUN(f, "jobs", "list"), 1, NULL, "linkd: 401:");
        expect_done(RUN(f, "bridges", "list"), 1, NULL, "run `linkd admin login`");
}

static void errors_without_a_node(void **state) {
        fixture *f = *state;
        expect_done(RUN(f, "jobs", "list", "--remote-node-url", "http://127.0.0.1:1"), 1, NULL,
                    "cannot reach the node at http://127.0.0.1:1");
        expect_done(RUN(f, "jobs", "list", "--page", "0"), 2, NULL, "--page");
        expect_done(RUN(f, "jobs", "show"), 2, NULL, "usage: linkd jobs");
        expect_done(RUN(f, "jobs", "list", "--bogus"), 2, NULL, "unknown option");
        expect_done(RUN(f, "bridges", "create", "only-a-name"), 2, NULL, "usage: linkd bridges");
        expect_done(RUN(f, "runs"), 2, NULL, "usage: linkd runs");
        char *bad = lktest_write_file(f->node.dir, "one-line.txt", ADMIN "\n");
        expect_done(RUN(f, "admin", "login", "--file", bad), 2, NULL, "password on the second");
        lk_free(bad);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(login_keeps_a_private_session, setup, teardown),
                cmocka_unit_test_setup_teardown(the_session_stays_with_its_node, setup, teardown),
                cmocka_unit_test_setup_teardown(jobs_and_runs, setup, teardown),
                cmocka_unit_test_setup_teardown(cron_jobs_show_their_next_fire_times, setup, teardown),
                cmocka_unit_test_setup_teardown(bridges_and_initiators, setup, teardown),
                cmocka_unit_test_setup_teardown(admin_creates_users, setup, teardown),
                cmocka_unit_test_setup_teardown(node_health, setup, teardown),
                cmocka_unit_test_setup_teardown(logout_ends_the_session, setup, teardown),
                cmocka_unit_test_setup_teardown(errors_without_a_node, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
