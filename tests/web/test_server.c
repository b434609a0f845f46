/* The HTTP server in-process: every probe, content negotiation, status
 * codes, and malformed requests answered with a 4xx. */
#include "lktest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_service.h"
#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/web.h"

typedef struct fixture {
        lk_web_deferred *volatile never; /* serve_never's */
        lk_checker *checker;
        lk_web *web;
        fake_service db;
        lk_heartbeat loop;
        lk_ctx ctx;
        char base[64];
} fixture;

/* The test's authenticator: "X-Test-Role: N" makes the caller role N. */
static void authenticate(void *arg, const lk_web_request *request, lk_web_caller *ret_caller) {
        const char *role = lk_web_request_header(request, "X-Test-Role");
        if (role) {
                ret_caller->role = atoi(role);
                snprintf(ret_caller->email, sizeof ret_caller->email, "role%s@example.com", role);
        }
}

static void serve_whoami(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk_buf_printf(&response->body, "{\"email\":\"%s\",\"role\":%d}", request->caller->email,
                      request->caller->role);
}

/* ---- deferred answers ---- */

static void *send_later(void *arg) {
        usleep(50000);
        lk_web_deferred *d = arg;
        lk_buf_puts(&lk_web_deferred_response(d)->body, "{\"answer\":\"later\"}");
        lk_web_deferred_send(d);
        return NULL;
}

static void serve_later(void *arg, const lk_web_request *request, lk_web_response *response) {
        pthread_t t;
        pthread_create(&t, NULL, send_later, lk_web_defer(request));
        pthread_detach(t);
}

/* Sent before the handler returns: answered without a suspend. */
static void serve_now(void *arg, const lk_web_request *request, lk_web_response *response) {
        lk_web_deferred *d = lk_web_defer(request);
        lk_web_deferred_response(d)->status = 202;
        lk_buf_puts(&lk_web_deferred_response(d)->body, "{\"answer\":\"now\"}");
        lk_web_deferred_send(d);
}

/* Never sent until the test says: *arg receives the deferred. */
static void serve_never(void *arg, const lk_web_request *request, lk_web_response *response) {
        *(lk_web_deferred *volatile *)arg = lk_web_defer(request);
}

static int setup_common(void **state, bool with_auth) {
        fixture *f = lk_calloc(1, sizeof *f);
        lk_ctx_init(&f->ctx, LK_USEC_INFINITY);
        f->checker = lk_checker_new(&(lk_checker_options){.poll_interval = 3600 * LK_USEC_PER_SEC});
        fake_service_init(&f->db, "Database", NULL);
        f->db.sub_service = "Lock";
        lk_checker_register(f->checker, "Database", &f->db.service, NULL);
        lk_heartbeat_init(&f->loop, "main loop", LK_USEC_PER_SEC);
        lk_heartbeat *loops[] = {&f->loop};
        f->web = lk_web_new(&(lk_web_options){
                .listen_ip = "127.0.0.1",
                .port = 0,
                .threads = 2,
                .checker = f->checker,
                .loops = loops,
                .loop_count = 1,
                .version = "9.9.9",
                .commit = "cafe",
                .started_at = lk_now_realtime(),
        });
        lk_checker_register(f->checker, LK_WEB_NAME, lk_web_service(f->web), NULL);
        if (with_auth) {
                lk_web_set_authenticator(f->web, authenticate, NULL);
                lk_web_route(f->web, "GET", "/v2/edit", 2, serve_whoami, NULL);
                lk_web_route(f->web, "GET", "/v2/open", LK_WEB_PUBLIC, serve_whoami, NULL);
                lk_web_route(f->web, "GET", "/v2/later", LK_WEB_PUBLIC, serve_later, NULL);
                lk_web_route(f->web, "GET", "/v2/now", LK_WEB_PUBLIC, serve_now, NULL);
                lk_web_route(f->web, "GET", "/v2/never", LK_WEB_PUBLIC, serve_never, (void *)&f->never);
        }
        lk_err err = LK_ERR_INIT;
        if (lk_service_start(lk_web_service(f->web), &f->ctx, &err) < 0)
                fail_msg("%s", err.msg);
        snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", lk_web_port(f->web));
        *state = f;
        return 0;
}

static int setup(void **state) {
        return setup_common(state, false);
}

static int setup_with_auth(void **state) {
        return setup_common(state, true);
}

static int teardown(void **state) {
        fixture *f = *state;
        lk_service_close(lk_checker_service(f->checker), NULL);
        lk_service_close(lk_web_service(f->web), NULL);
        lk_web_free(f->web);
        lk_checker_free(f->checker);
        fake_service_done(&f->db);
        lk_ctx_done(&f->ctx);
        lk_free(f);
        return 0;
}

static void start_checker(fixture *f) {
        assert_int_equal(lk_service_start(lk_checker_service(f->checker), &f->ctx, NULL), 0);
}

static lktest_http get(fixture *f, const char *path, const char *const *headers) {
        char url[256];
        snprintf(url, sizeof url, "%s%s", f->base, path);
        lktest_http r;
        if (lktest_http_request("GET", url, headers, &r) < 0)
                fail_msg("no response from %s", url);
        return r;
}

static void assert_header(const lktest_http *r, const char *name, const char *want) {
        char *got = lktest_http_header(r, name);
        if (!got)
                fail_msg("no %s header in:\n%s", name, r->headers);
        assert_string_equal(got, want);
        lk_free(got);
}

static void readyz_before_and_after_start(void **state) {
        fixture *f = *state;
        lktest_http r = get(f, "/readyz", NULL);
        assert_int_equal(r.status, 503);
        assert_int_equal(r.body_len, 0);
        lktest_http_done(&r);
        start_checker(f);
        r = get(f, "/readyz", NULL);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 0);
        lktest_http_done(&r);
        r = get(f, "/readyz?full", NULL);
        assert_int_equal(r.status, 200);
        assert_header(&r, "Content-Type", "application/vnd.api+json");
        assert_non_null(strstr(r.body, "\"id\":\"Database\""));
        assert_null(strstr(r.body, "Database.Lock")); /* readiness is by registered name */
        lktest_http_done(&r);
}

static void readyz_full_reports_unready_service(void **state) {
        fixture *f = *state;
        fake_service_set_health(&f->db, "waiting for lease", NULL);
        start_checker(f);
        lktest_http r = get(f, "/readyz?full=1", NULL);
        assert_int_equal(r.status, 503);
        assert_non_null(strstr(r.body, "\"status\":\"failing\",\"output\":\"waiting for lease\""));
        lktest_http_done(&r);
}

static void health_json_and_status(void **state) {
        fixture *f = *state;
        start_checker(f);
        lktest_http r = get(f, "/health", NULL);
        assert_int_equal(r.status, 200);
        assert_header(&r, "Content-Type", "application/vnd.api+json");
        assert_string_equal(r.body,
                "{\"data\":["
                "{\"type\":\"checks\",\"id\":\"Database\",\"attributes\":{\"name\":\"Database\",\"status\":\"passing\",\"output\":\"\"}},"
                "{\"type\":\"checks\",\"id\":\"Database.Lock\",\"attributes\":{\"name\":\"Database.Lock\",\"status\":\"passing\",\"output\":\"\"}},"
                "{\"type\":\"checks\",\"id\":\"HealthChecker\",\"attributes\":{\"name\":\"HealthChecker\",\"status\":\"passing\",\"output\":\"\"}},"
                "{\"type\":\"checks\",\"id\":\"WebServer\",\"attributes\":{\"name\":\"WebServer\",\"status\":\"passing\",\"output\":\"\"}}"
                "]}");
        lktest_http_done(&r);

        fake_service_set_health(&f->db, NULL, "connection refused");
        lk_checker_poll_soon(f->checker);
        lk_usec until = lk_now_monotonic() + 10 * LK_USEC_PER_SEC;
        for (;;) {
                r = get(f, "/health", NULL);
                if (r.status == 503)
                        break;
                lktest_http_done(&r);
                assert_true(lk_now_monotonic() < until);
        }
        assert_non_null(strstr(r.body, "\"id\":\"Database\",\"attributes\":{\"name\":\"Database\",\"status\":\"failing\","
                                        "\"output\":\"connection refused\"}"));
        lktest_http_done(&r);
        r = get(f, "/health?failing", NULL);
        assert_int_equal(r.status, 503);
        assert_null(strstr(r.body, "WebServer"));
        assert_non_null(strstr(r.body, "Database.Lock"));
        lktest_http_done(&r);
}

static void health_text_forms(void **state) {
        fixture *f = *state;
        fake_service_set_health(&f->db, NULL, "disk\nfull");
        start_checker(f);
        const char *want = "!  Database\n\tdisk\n\tfull\n!  Database.Lock\n\tdisk\n\tfull\nok HealthChecker\nok WebServer\n";
        lktest_http r = get(f, "/health.txt", NULL);
        assert_int_equal(r.status, 503);
        assert_header(&r, "Content-Type", "text/plain; charset=utf-8");
        assert_string_equal(r.body, want);
        lktest_http_done(&r);
        const char *accept_text[] = {"Accept: text/plain", NULL};
        r = get(f, "/health", accept_text);
        assert_string_equal(r.body, want);
        lktest_http_done(&r);
        const char *accept_json_first[] = {"Accept: application/json, text/plain;q=0.9", NULL};
        r = get(f, "/health", accept_json_first);
        assert_header(&r, "Content-Type", "application/vnd.api+json");
        lktest_http_done(&r);
        r = get(f, "/health.txt?failing", NULL);
        assert_string_equal(r.body, "!  Database\n\tdisk\n\tfull\n!  Database.Lock\n\tdisk\n\tfull\n");
        lktest_http_done(&r);
}

static void assert_get(fixture *f, const char *path, const char *role, long status, const char *body_part) {
        char header[64];
        snprintf(header, sizeof header, "X-Test-Role: %s", role ? role : "");
        const char *headers[] = {header, NULL};
        lktest_http r = get(f, path, role ? headers : NULL);
        if (r.status != status || (body_part && !strstr(r.body, body_part)))
                fail_msg("GET %s as %s: got %ld %s, want %ld with %s", path, role ? role : "anonymous", r.status,
                         r.body, status, body_part ? body_part : "any body");
        lktest_http_done(&r);
}

/* 401 for anonymous callers, 403 below the route's role, the caller
 * handed to the handler; public routes open to all. */
static void routes_check_roles(void **state) {
        fixture *f = *state;
        assert_get(f, "/v2/edit", NULL, 401, "Unauthorized");
        assert_get(f, "/v2/edit", "1", 403, "Forbidden");
        assert_get(f, "/v2/edit", "2", 200, "{\"email\":\"role2@example.com\",\"role\":2}");
        assert_get(f, "/v2/edit", "3", 200, "\"role\":3");
        assert_get(f, "/v2/open", NULL, 200, "{\"email\":\"\",\"role\":-1}");
}

/* With an authenticator, check outputs are for authenticated callers. */
static void health_outputs_need_authentication(void **state) {
        fixture *f = *state;
        start_checker(f);
        fake_service_set_health(&f->db, "waiting for lease", "connection refused to 10.0.0.7");
        lk_checker_poll_soon(f->checker);
        lk_usec until = lk_now_monotonic() + 10 * LK_USEC_PER_SEC;
        for (;;) {
                lktest_http r = get(f, "/health", NULL);
                bool failing = r.status == 503;
                lktest_http_done(&r);
                if (failing)
                        break;
                assert_true(lk_now_monotonic() < until);
        }
        const char *anonymous = "\"name\":\"Database\",\"status\":\"failing\",\"output\":\"\"}";
        const char *detailed = "\"status\":\"failing\",\"output\":\"connection refused to 10.0.0.7\"}";
        assert_get(f, "/health", NULL, 503, anonymous);
        assert_get(f, "/health", "0", 503, detailed);
        assert_get(f, "/health.txt", NULL, 503, "!  Database\n");
        lktest_http r = get(f, "/health.txt", NULL);
        assert_null(strstr(r.body, "10.0.0.7"));
        lktest_http_done(&r);
        assert_get(f, "/health.txt", "0", 503, "\tconnection refused to 10.0.0.7");
        r = get(f, "/readyz?full", NULL);
        assert_int_equal(r.status, 503);
        assert_null(strstr(r.body, "waiting for lease"));
        lktest_http_done(&r);
        assert_get(f, "/readyz?full", "0", 503, "waiting for lease");
}

/* Answers that come from another thread, later or at once, many at a
 * time: each client gets its own. */
static void deferred_answers(void **state) {
        fixture *f = *state;
        assert_get(f, "/v2/now", NULL, 202, "{\"answer\":\"now\"}");
        assert_get(f, "/v2/later", NULL, 200, "{\"answer\":\"later\"}");
        for (int i = 0; i < 20; i++)
                assert_get(f, i % 2 ? "/v2/later" : "/v2/now", NULL, i % 2 ? 200 : 202, NULL);
}

typedef struct pending_get {
        fixture *f;
        long status;
} pending_get;

static void *get_never(void *arg) {
        pending_get *p = arg;
        lktest_http r = get(p->f, "/v2/never", NULL);
        p->status = r.status;
        lktest_http_done(&r);
        return NULL;
}

/* A connection still waiting when the server closes gets 503, and the
 * late send after the close only lets go. */
static void close_answers_waiting_requests(void **state) {
        fixture *f = *state;
        pending_get p = {f, 0};
        pthread_t t;
        pthread_create(&t, NULL, get_never, &p);
        lk_usec until = lk_now_monotonic() + 10 * LK_USEC_PER_SEC;
        while (!f->never) {
                assert_true(lk_now_monotonic() < until);
                usleep(1000);
        }
        usleep(20000); /* let the handler return and the connection suspend */
        lk_service_close(lk_web_service(f->web), NULL);
        pthread_join(t, NULL);
        assert_int_equal(p.status, 503);
        lk_web_deferred_send(f->never);
}

static void livez_watches_loops(void **state) {
        fixture *f = *state;
        start_checker(f);
        lk_heartbeat_beat(&f->loop);
        lktest_http r = get(f, "/livez", NULL);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok\n");
        lktest_http_done(&r);
        /* A loop whose last beat is older than three periods is stuck. */
        atomic_store(&f->loop.last, lk_now_monotonic() - 5 * LK_USEC_PER_SEC);
        r = get(f, "/livez", NULL);
        assert_int_equal(r.status, 503);
        assert_non_null(strstr(r.body, "main loop has not run for 5."));
        lktest_http_done(&r);
}

static void metrics(void **state) {
        fixture *f = *state;
        start_checker(f);
        lktest_http r = get(f, "/metrics", NULL);
        assert_int_equal(r.status, 200);
        assert_header(&r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        assert_non_null(strstr(r.body, "health{service_id=\"Database.Lock\"} 1\n"));
        assert_non_null(strstr(r.body, "version{commit=\"cafe\",version=\"9.9.9\"} 1\n"));
        assert_non_null(strstr(r.body, "\nprocess_resident_memory_bytes "));
        assert_non_null(strstr(r.body, "\nprocess_open_fds "));
        assert_non_null(strstr(r.body, "\nuptime_seconds "));
        lktest_http_done(&r);
}

static void head_has_no_body(void **state) {
        fixture *f = *state;
        start_checker(f);
        char url[256];
        snprintf(url, sizeof url, "%s/health", f->base);
        lktest_http r;
        assert_int_equal(lktest_http_request("HEAD", url, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.body_len, 0);
        lktest_http_done(&r);
}

static void unknown_path_and_method(void **state) {
        fixture *f = *state;
        lktest_http r = get(f, "/v2/nothing", NULL);
        assert_int_equal(r.status, 404);
        assert_string_equal(r.body, "{\"errors\":[{\"detail\":\"not found\"}]}");
        lktest_http_done(&r);
        char url[256];
        snprintf(url, sizeof url, "%s/health", f->base);
        const char *methods[] = {"POST", "DELETE", "PUT", "PATCH", "OPTIONS"};
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
                assert_int_equal(lktest_http_request(methods[i], url, NULL, &r), 0);
                assert_int_equal(r.status, 405);
                assert_header(&r, "Allow", "GET, HEAD");
                lktest_http_done(&r);
        }
}

static unsigned status_of(const char *response) {
        unsigned status = 0;
        if (sscanf(response, "HTTP/1.%*d %u", &status) != 1)
                fail_msg("not an HTTP response: \"%.200s\"", response);
        return status;
}

static void malformed_requests_get_4xx(void **state) {
        fixture *f = *state;
        unsigned port = lk_web_port(f->web);
        struct {
                const char *name;
                const char *request;
                unsigned want;
        } cases[] = {
                {"no version", "GET /health\r\n\r\n", 400},
                {"unsupported version", "GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 505},
                {"HTTP/1.1 without Host", "GET /health HTTP/1.1\r\n\r\n", 400},
                {"header without colon", "GET /health HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n", 400},
                {"unknown method", "BREW /health HTTP/1.1\r\nHost: x\r\n\r\n", 405},
                {"body on a probe", "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413},
                {"bad content length", "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400},
                {"chunked body on a probe", "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 413},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *response = lktest_raw_exchange("127.0.0.1", port, cases[i].request, strlen(cases[i].request),
                                                     2 * LK_USEC_PER_SEC);
                if (!*response)
                        fail_msg("%s: no response", cases[i].name);
                unsigned status = status_of(response);
                if (status != cases[i].want)
                        fail_msg("%s: got %u, want %u", cases[i].name, status, cases[i].want);
                lk_free(response);
        }
        /* Bytes that are not HTTP at all: the connection is dropped, and
         * the server goes on serving. */
        const char garbage[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n";
        lk_free(lktest_raw_exchange("127.0.0.1", port, garbage, sizeof garbage - 1, 2 * LK_USEC_PER_SEC));
        lktest_http r = get(f, "/readyz", NULL);
        assert_int_equal(r.status, 503);
        lktest_http_done(&r);
}

static void oversized_headers_and_urls(void **state) {
        fixture *f = *state;
        unsigned port = lk_web_port(f->web);
        lk_buf req = LK_BUF_INIT;
        lk_buf_puts(&req, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
        for (int i = 0; i < 100000; i++)
                lk_buf_putc(&req, 'a');
        lk_buf_puts(&req, "\r\n\r\n");
        char *response = lktest_raw_exchange("127.0.0.1", port, req.data, req.len, 5 * LK_USEC_PER_SEC);
        unsigned status = status_of(response);
        assert_true(status == 431 || status == 413);
        lk_free(response);
        lk_buf_reset(&req);
        lk_buf_puts(&req, "GET /health?");
        for (int i = 0; i < 100000; i++)
                lk_buf_putc(&req, 'q');
        lk_buf_puts(&req, " HTTP/1.1\r\nHost: x\r\n\r\n");
        response = lktest_raw_exchange("127.0.0.1", port, req.data, req.len, 5 * LK_USEC_PER_SEC);
        status = status_of(response);
        assert_true(status == 414 || status == 431);
        lk_free(response);
        lk_buf_done(&req);
        /* The server is still fine afterwards. */
        lktest_http r = get(f, "/readyz", NULL);
        assert_int_equal(r.status, 503);
        lktest_http_done(&r);
}

static void keeps_connections_alive(void **state) {
        fixture *f = *state;
        start_checker(f);
        const char *two = "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        char *response = lktest_raw_exchange("127.0.0.1", lk_web_port(f->web), two, strlen(two), 5 * LK_USEC_PER_SEC);
        const char *second = strstr(response + 1, "HTTP/1.1 200");
        assert_true(strncmp(response, "HTTP/1.1 200", 12) == 0);
        assert_non_null(second);
        lk_free(response);
}

static void port_in_use_is_a_clear_error(void **state) {
        fixture *f = *state;
        lk_web *other = lk_web_new(&(lk_web_options){
                .listen_ip = "127.0.0.1",
                .port = lk_web_port(f->web),
                .checker = f->checker,
                .version = "x",
                .commit = "y",
        });
        lk_err err = LK_ERR_INIT;
        assert_true(lk_service_start(lk_web_service(other), &f->ctx, &err) < 0);
        char want[128];
        snprintf(want, sizeof want, "WebServer: cannot listen on 127.0.0.1 port %u: Address already in use",
                 lk_web_port(f->web));
        assert_string_equal(err.msg, want);
        lk_web_free(other);
        other = lk_web_new(&(lk_web_options){.listen_ip = "not-an-ip", .checker = f->checker});
        assert_true(lk_service_start(lk_web_service(other), &f->ctx, &err) < 0);
        assert_string_equal(err.msg, "WebServer: invalid listen address \"not-an-ip\"");
        lk_web_free(other);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(readyz_before_and_after_start, setup, teardown),
                cmocka_unit_test_setup_teardown(readyz_full_reports_unready_service, setup, teardown),
                cmocka_unit_test_setup_teardown(health_json_and_status, setup, teardown),
                cmocka_unit_test_setup_teardown(health_text_forms, setup, teardown),
                cmocka_unit_test_setup_teardown(livez_watches_loops, setup, teardown),
                cmocka_unit_test_setup_teardown(metrics, setup, teardown),
                cmocka_unit_test_setup_teardown(head_has_no_body, setup, teardown),
                cmocka_unit_test_setup_teardown(unknown_path_and_method, setup, teardown),
                cmocka_unit_test_setup_teardown(malformed_requests_get_4xx, setup, teardown),
                cmocka_unit_test_setup_teardown(oversized_headers_and_urls, setup, teardown),
                cmocka_unit_test_setup_teardown(keeps_connections_alive, setup, teardown),
                cmocka_unit_test_setup_teardown(port_in_use_is_a_clear_error, setup, teardown),
                cmocka_unit_test_setup_teardown(routes_check_roles, setup_with_auth, teardown),
                cmocka_unit_test_setup_teardown(deferred_answers, setup_with_auth, teardown),
                cmocka_unit_test_setup_teardown(close_answers_waiting_requests, setup_with_auth, teardown),
                cmocka_unit_test_setup_teardown(health_outputs_need_authentication, setup_with_auth, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
