/* Every route of the node's API, swept: an anonymous caller gets 401 and
 * a caller one role too low 403, and only the routes on the list of public
 * ones answer anyone.  The routes come from the running node itself, so a
 * route added later is swept without touching this test. */
#include "lktest.h"

#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/app.h"
#include "linkd/auth.h"
#include "linkd/web.h"

#define PASSWORD "sweeping-every-route-1"

/* Public on purpose: the probes are not routes; resume is the bridge's
 * (the task run id is its credential); sessions are how one logs in; POST
 * /v2/jobs checks inside (edit to create, run or an external initiator to
 * run a webhook job). */
static const char *const public_routes[] = {"PATCH /v2/resume/", "POST /sessions", "DELETE /sessions",
                                            "POST /v2/jobs", NULL};

typedef struct fixture {
        char *dir;
        lk_config cfg;
        lk_app *app;
        lk_ctx ctx;
        char *tokens[4]; /* a session per role, by lk_role */
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->dir = lktest_tmpdir();
        lk_config_init(&f->cfg);
        lk_free(f->cfg.root_dir);
        f->cfg.root_dir = lk_asprintf("%s/root", f->dir);
        f->cfg.web_server.http_port = 0;
        lk_config_finish(&f->cfg, NULL);
        lk_ctx_init(&f->ctx, LK_USEC_INFINITY);
        lk_err err = LK_ERR_INIT;
        if (lk_app_new(&(lk_app_options){.config = &f->cfg, .version = "v", .commit = "c",
                                         .started_at = lk_now_realtime()},
                       &f->app, &err) < 0 ||
            lk_app_start(f->app, &f->ctx, &err) < 0)
                fail_msg("%s", err.msg);
        const char *emails[] = {"view@example.com", "run@example.com", "edit@example.com", "admin@example.com"};
        for (int role = LK_ROLE_VIEW; role <= LK_ROLE_ADMIN; role++) {
                f->tokens[role] = lk_malloc(LK_SESSION_TOKEN_LEN + 1);
                if (lk_user_create(lk_app_store(f->app), emails[role], PASSWORD, (lk_role)role, &err) < 0 ||
                    lk_session_create(lk_app_store(f->app), emails[role], f->tokens[role], &err) < 0)
                        fail_msg("%s", err.msg);
        }
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lk_app_stop(f->app, 5 * LK_USEC_PER_SEC, NULL, 0, NULL);
        lk_app_free(f->app);
        for (int i = 0; i < 4; i++)
                lk_free(f->tokens[i]);
        lk_ctx_done(&f->ctx);
        lk_config_done(&f->cfg);
        lktest_rmrf(f->dir);
        lk_free(f);
        return 0;
}

/* The status of method path as the given role (-1: anonymous). */
static long status_of(fixture *f, const char *method, const char *path, int role) {
        char *url = lk_asprintf("http://127.0.0.1:%u%s", lk_web_port(lk_app_web(f->app)), path);
        char *cookie = role >= 0 ? lk_asprintf("Cookie: clsession=%s", f->tokens[role]) : NULL;
        const char *headers[] = {"Content-Type: application/json", cookie, NULL};
        lktest_http r;
        if (lktest_http_send(method, url, headers, "{}", 2, &r) < 0)
                fail_msg("no answer from %s %s", method, url);
        long status = r.status;
        lktest_http_done(&r);
        lk_free(url);
        lk_free(cookie);
        return status;
}

static bool is_public(const char *method, const char *prefix) {
        char name[256];
        snprintf(name, sizeof name, "%s %s", method, prefix);
        for (const char *const *p = public_routes; *p; p++)
                if (strcmp(*p, name) == 0)
                        return true;
        return false;
}

static void every_route_checks_its_role(void **state) {
        fixture *f = *state;
        lk_web *web = lk_app_web(f->app);
        size_t swept = 0;
        for (size_t i = 0; i < lk_web_route_count(web); i++) {
                const char *method, *prefix;
                int min_role;
                lk_web_route_at(web, i, &method, &prefix, &min_role);
                if (min_role == LK_WEB_PUBLIC) {
                        if (!is_public(method, prefix))
                                fail_msg("%s %s is open to anyone but not on the list of public routes", method,
                                         prefix);
                        continue;
                }
                /* A path under the prefix, as a request for one item. */
                char path[256];
                snprintf(path, sizeof path, "%s%s", prefix, prefix[strlen(prefix) - 1] == '/' ? "1" : "/1");
                const char *paths[] = {prefix, path};
                for (int k = 0; k < 2; k++) {
                        long anonymous = status_of(f, method, paths[k], -1);
                        if (anonymous != 401)
                                fail_msg("%s %s answered %ld to an anonymous caller", method, paths[k], anonymous);
                        if (min_role > LK_ROLE_VIEW) {
                                long low = status_of(f, method, paths[k], min_role - 1);
                                if (low != 403)
                                        fail_msg("%s %s answered %ld to role %s", method, paths[k], low,
                                                 lk_role_name((lk_role)(min_role - 1)));
                        }
                        long allowed = status_of(f, method, paths[k], min_role);
                        if (allowed == 401 || allowed == 403)
                                fail_msg("%s %s refused role %s (%ld)", method, paths[k],
                                         lk_role_name((lk_role)min_role), allowed);
                }
                swept++;
        }
        print_message("# swept %zu routes\n", swept);
        assert_true(swept >= 10);
}

/* POST /v2/jobs is public at the door; its handler checks the role. */
static void job_creation_checks_inside(void **state) {
        fixture *f = *state;
        assert_int_equal(status_of(f, "POST", "/v2/jobs", -1), 401);
        assert_int_equal(status_of(f, "POST", "/v2/jobs", LK_ROLE_RUN), 403);
        assert_int_equal(status_of(f, "POST", "/v2/jobs", LK_ROLE_EDIT), 422); /* {} is not a job */
        /* nobody learns whether a job exists without credentials */
        assert_int_equal(status_of(f, "POST", "/v2/jobs/0eec7e1d-d0d2-476c-a1a8-72dfb6633f40/runs", -1), 401);
        assert_int_equal(status_of(f, "POST", "/v2/jobs/0eec7e1d-d0d2-476c-a1a8-72dfb6633f40/runs", LK_ROLE_RUN), 404);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(every_route_checks_its_role, setup, teardown),
                cmocka_unit_test_setup_teardown(job_creation_checks_inside, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
