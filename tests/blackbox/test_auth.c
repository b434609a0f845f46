/* Black-box: the API's authentication through the real linkd — the first
 * admin from `--api FILE`, logging in and out with the session cookie,
 * roles (401 anonymous, 403 too low), bad bodies, login throttling, and
 * /health hiding check outputs from anonymous callers. */
#include "lktest.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "linkd/alloc.h"
#include "test_node.h"

#define ADMIN "admin@example.com"
#define ADMIN_PASSWORD "two-operators-walk-into-a-bar"

typedef struct fixture {
        lktest_node node;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        lktest_node_init(&f->node, NULL, ADMIN, ADMIN_PASSWORD);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lktest_node_done(&f->node);
        lk_free(f);
        return 0;
}

static void start_node(fixture *f) {
        lktest_node_start(&f->node);
}

static void stop_node(fixture *f) {
        lktest_node_stop(&f->node);
}

static lktest_http call(fixture *f, const char *method, const char *path, const char *cookie, const char *body) {
        return lktest_node_call(&f->node, cookie, method, path, body);
}

static void expect(fixture *f, const char *method, const char *path, const char *cookie, const char *body,
                   long status, const char *body_part) {
        lktest_http r = call(f, method, path, cookie, body);
        if (r.status != status || (body_part && !strstr(r.body, body_part)))
                fail_msg("%s %s: got %ld %s, want %ld with %s", method, path, r.status, r.body, status,
                         body_part ? body_part : "any body");
        lktest_http_done(&r);
}

/* Logs in and returns the session cookie's value. */
static char *log_in(fixture *f, const char *email, const char *password) {
        char *body = lk_asprintf("{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
        lktest_http r = call(f, "POST", "/sessions", NULL, body);
        lk_free(body);
        if (r.status != 200)
                fail_msg("login %s: %ld %s", email, r.status, r.body);
        assert_non_null(strstr(r.body, "\"authenticated\":true"));
        char *set_cookie = lktest_http_header(&r, "Set-Cookie");
        assert_non_null(set_cookie);
        assert_non_null(strstr(set_cookie, "HttpOnly"));
        assert_non_null(strstr(set_cookie, "SameSite=Strict"));
        assert_true(strncmp(set_cookie, "clsession=", 10) == 0);
        char *token = lk_strndup(set_cookie + 10, strcspn(set_cookie + 10, ";"));
        lk_free(set_cookie);
        lktest_http_done(&r);
        return token;
}

static void roles_sessions_and_bodies(void **state) {
        fixture *f = *state;
        start_node(f);
        char *log = lktest_proc_wait_log(&f->node.proc, "Created the first admin user", 0);
        assert_non_null(log);
        assert_null(strstr(log, ADMIN_PASSWORD));
        lk_free(log);

        /* anonymous */
        expect(f, "GET", "/v2/users", NULL, NULL, 401, "Unauthorized");
        expect(f, "POST", "/v2/users", NULL, "{}", 401, "Unauthorized");
        expect(f, "GET", "/v2/users", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", NULL, 401,
               NULL);
        expect(f, "POST", "/sessions", NULL, "{\"email\":\"" ADMIN "\",\"password\":\"not-the-password-at-all\"}", 401,
               "invalid email or password");
        expect(f, "POST", "/sessions", NULL, "{\"email\":\"nobody@example.com\",\"password\":\"" ADMIN_PASSWORD "\"}",
               401, "invalid email or password");

        /* the admin */
        char *admin = log_in(f, ADMIN, ADMIN_PASSWORD);
        expect(f, "GET", "/v2/users", admin, NULL, 200, "\"id\":\"" ADMIN "\"");
        expect(f, "POST", "/v2/users", admin,
               "{\"email\":\"viewer@example.com\",\"password\":\"just-looking-around-1\",\"role\":\"view\"}", 201,
               "\"role\":\"view\"");
        expect(f, "POST", "/v2/users", admin,
               "{\"email\":\"viewer@example.com\",\"password\":\"just-looking-around-1\",\"role\":\"view\"}", 409,
               "already exists");
        expect(f, "POST", "/v2/users", admin, "{\"email\":\"x@example.com\",\"password\":\"short\",\"role\":\"view\"}",
               422, "at least 16 characters");
        expect(f, "POST", "/v2/users", admin, "{\"email\":\"x@example.com\",", 422, "invalid JSON body");
        expect(f, "POST", "/v2/users", admin, "{\"email\":\"x@example.com\",\"admin\":true}", 422,
               "unknown field \\\"admin\\\"");
        expect(f, "POST", "/v2/users", admin,
               "{\"email\":\"x@example.com\",\"password\":\"just-looking-around-1\",\"role\":\"root\"}", 422,
               "invalid role");

        /* a role too low */
        char *viewer = log_in(f, "viewer@example.com", "just-looking-around-1");
        expect(f, "GET", "/v2/users", viewer, NULL, 403, "Forbidden");

        /* logging out ends the session */
        lktest_http r = call(f, "DELETE", "/sessions", viewer, NULL);
        assert_int_equal(r.status, 200);
        char *cleared = lktest_http_header(&r, "Set-Cookie");
        assert_non_null(cleared);
        assert_non_null(strstr(cleared, "Max-Age=0"));
        lk_free(cleared);
        lktest_http_done(&r);
        expect(f, "GET", "/v2/users", viewer, NULL, 401, NULL);
        expect(f, "GET", "/v2/users", admin, NULL, 200, "viewer@example.com");

        /* the probes stay open */
        expect(f, "GET", "/readyz", NULL, NULL, 200, NULL);
        expect(f, "GET", "/health", NULL, NULL, 200, "\"status\":\"passing\"");
        expect(f, "GET", "/health", admin, NULL, 200, "\"status\":\"passing\"");
        lk_free(admin);
        lk_free(viewer);

        /* a restart keeps the users and creates no second admin */
        stop_node(f);
        start_node(f);
        assert_null(lktest_proc_wait_log(&f->node.proc, "Created the first admin user", 0));
        admin = log_in(f, ADMIN, ADMIN_PASSWORD);
        expect(f, "GET", "/v2/users", admin, NULL, 200, "viewer@example.com");
        lk_free(admin);
}

static char *json_field(const char *body, const char *name) {
        char *needle = lk_asprintf("\"%s\":\"", name);
        const char *p = strstr(body, needle);
        if (!p)
                fail_msg("no %s in %s", name, body);
        p += strlen(needle);
        lk_free(needle);
        return lk_strndup(p, strcspn(p, "\""));
}

static long get_with_token(fixture *f, const char *key, const char *secret) {
        char *url = lk_asprintf("http://127.0.0.1:%u/v2/users", f->node.port);
        char *h1 = lk_asprintf("X-API-KEY: %s", key), *h2 = lk_asprintf("X-API-SECRET: %s", secret);
        const char *headers[] = {h1, h2, NULL};
        lktest_http r;
        assert_int_equal(lktest_http_request("GET", url, headers, &r), 0);
        long status = r.status;
        lktest_http_done(&r);
        lk_free(url);
        lk_free(h1);
        lk_free(h2);
        return status;
}

static void api_tokens(void **state) {
        fixture *f = *state;
        start_node(f);
        char *admin = log_in(f, ADMIN, ADMIN_PASSWORD);
        expect(f, "POST", "/v2/user/token", NULL, "{\"password\":\"" ADMIN_PASSWORD "\"}", 401, NULL);
        expect(f, "POST", "/v2/user/token", admin, "{\"password\":\"not-my-password-at-all\"}", 401,
               "incorrect password");
        lktest_http r = call(f, "POST", "/v2/user/token", admin, "{\"password\":\"" ADMIN_PASSWORD "\"}");
        assert_int_equal(r.status, 201);
        char *key = json_field(r.body, "accessKey"), *secret = json_field(r.body, "secret");
        lktest_http_done(&r);
        assert_int_equal(get_with_token(f, key, secret), 200);
        assert_int_equal(get_with_token(f, key, "0000000000000000000000000000000000000000000000000000000000000000"), 401);
        expect(f, "POST", "/v2/user/token/delete", admin, "{\"password\":\"" ADMIN_PASSWORD "\"}", 200, NULL);
        assert_int_equal(get_with_token(f, key, secret), 401);
        char *log = lktest_read_file(f->node.proc.log_path);
        assert_null(strstr(log, secret));
        lk_free(log);
        lk_free(key);
        lk_free(secret);
        lk_free(admin);
}

static void failed_logins_are_throttled(void **state) {
        fixture *f = *state;
        start_node(f);
        for (int i = 0; i < 10; i++)
                expect(f, "POST", "/sessions", NULL,
                       "{\"email\":\"" ADMIN "\",\"password\":\"guess-guess-guess-guess\"}", 401, NULL);
        /* now even the right password waits */
        expect(f, "POST", "/sessions", NULL, "{\"email\":\"" ADMIN "\",\"password\":\"" ADMIN_PASSWORD "\"}", 429,
               "too many failed login attempts");
        char *log = lktest_read_file(f->node.proc.log_path);
        assert_null(strstr(log, "guess-guess"));
        assert_null(strstr(log, ADMIN_PASSWORD));
        lk_free(log);
}

static void bad_api_files_are_refused(void **state) {
        fixture *f = *state;
        const char *cases[][2] = {
                {ADMIN "\nshort\n", "password must be at least 16 characters long"},
                {ADMIN "\n", "must hold an email on its first line and a password on its second"},
                {"", "must hold an email"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *path = lktest_write_file(f->node.dir, "bad-api.txt", cases[i][0]);
                chmod(path, 0600);
                const char *argv[] = {"node", "start", "--config", f->node.config, "--api", path, NULL};
                char *out, *err;
                assert_int_equal(lktest_run(argv, &out, &err), 2);
                if (!strstr(err, cases[i][1]))
                        fail_msg("case %zu: %s", i, err);
                lk_free(out);
                lk_free(err);
                lk_free(path);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(roles_sessions_and_bodies, setup, teardown),
                cmocka_unit_test_setup_teardown(api_tokens, setup, teardown),
                cmocka_unit_test_setup_teardown(failed_logins_are_throttled, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_api_files_are_refused, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
