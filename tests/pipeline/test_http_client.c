/* The pipeline's HTTP client against the in-process fixture server:
 * methods, bodies and headers, the body cap, deadlines, concurrency on the
 * one client thread, cancellation, and the restricted (anti-SSRF) mode. */
#include "lktest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixture_server.h"
#include "linkd/alloc.h"
#include "linkd/ctx.h"
#include "pipeline/http_client.h"

#define DISALLOWED_SUFFIX \
        ". Connections to local/private and multicast networks are disabled by default for security reasons"

/* What a callback saw, copied out of the response (only valid during the
 * call). */
typedef struct result {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int calls;
        uint64_t id;
        int error;
        char *error_text;
        long status;
        char *body;
        size_t body_len;
        char **headers;
        size_t header_count;
        lk_usec finished_at;
        /* For callback_can_submit: a request to submit from the callback. */
        lk_http_client *chain_client;
        const lk_http_request *chain_request;
        struct result *chained;
} result;

static result *result_new(void) {
        result *r = lk_calloc(1, sizeof *r);
        pthread_mutex_init(&r->lock, NULL);
        lk_cond_init_monotonic(&r->cond);
        return r;
}

static void result_free(result *r) {
        if (!r)
                return;
        lk_free(r->error_text);
        lk_free(r->body);
        for (size_t i = 0; i < r->header_count; i++)
                lk_free(r->headers[i]);
        lk_free(r->headers);
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        lk_free(r);
}

static void on_done(void *arg, const lk_http_response *response);

static void on_done(void *arg, const lk_http_response *response) {
        result *r = arg;
        if (r->chain_request) {
                r->chained = result_new();
                lk_err err = LK_ERR_INIT;
                if (lk_http_client_submit(r->chain_client, r->chain_request, on_done, r->chained, NULL, &err) < 0)
                        r->chained->error = 1;
        }
        pthread_mutex_lock(&r->lock);
        r->calls++;
        r->error = response->error;
        r->error_text = response->error_text ? lk_strdup(response->error_text) : NULL;
        r->status = response->status;
        r->body = lk_strndup(response->body, response->body_len);
        r->body_len = response->body_len;
        r->headers = lk_calloc(response->header_count + 1, sizeof *r->headers);
        for (size_t i = 0; i < response->header_count; i++)
                r->headers[i] = lk_strdup(response->headers[i]);
        r->header_count = response->header_count;
        r->finished_at = lk_now_monotonic();
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
}

static bool wait_done(result *r, lk_usec timeout) {
        struct timespec until = lk_deadline_after(timeout);
        pthread_mutex_lock(&r->lock);
        while (!r->calls && pthread_cond_timedwait(&r->cond, &r->lock, &until) == 0) {
        }
        bool done = r->calls > 0;
        pthread_mutex_unlock(&r->lock);
        return done;
}

static void must_finish(result *r) {
        if (!wait_done(r, 30 * LK_USEC_PER_SEC))
                fail_msg("no callback within 30 s");
        assert_int_equal(r->calls, 1);
}

/* Looks the header up through lk_http_response_header itself. */
static const char *header(const result *r, const char *name) {
        lk_http_response response = {.headers = (const char *const *)r->headers, .header_count = r->header_count};
        return lk_http_response_header(&response, name);
}

static result *submit(lk_http_client *client, const lk_http_request *request) {
        result *r = result_new();
        lk_err err = LK_ERR_INIT;
        if (lk_http_client_submit(client, request, on_done, r, &r->id, &err) < 0)
                fail_msg("submit %s: %s", request->url, err.msg);
        return r;
}

/* Submits and waits. */
static result *perform(lk_http_client *client, const lk_http_request *request) {
        result *r = submit(client, request);
        must_finish(r);
        return r;
}

static lk_http_request get_request(const char *url, bool restricted) {
        return (lk_http_request){
                .method = "GET",
                .url = url,
                .restricted = restricted,
                .deadline = lk_now_monotonic() + 30 * LK_USEC_PER_SEC,
        };
}

static lk_http_client *new_client(const lk_http_client_options *options) {
        lk_http_client *client = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_http_client_new(options, &client, &err) < 0)
                fail_msg("lk_http_client_new: %s", err.msg);
        return client;
}

typedef struct fixture {
        lkfx_server *server;
        lk_http_client *client;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->server = lkfx_start();
        f->client = new_client(&(lk_http_client_options){.max_response_size = 64 * 1024});
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        f->client = lk_http_client_free(f->client);
        f->server = lkfx_stop(f->server);
        lk_free(f);
        return 0;
}

/* A GET through the fixture's client to path on its server. */
static result *get(fixture *f, const char *path, bool restricted) {
        char *url = lkfx_url(f->server, path);
        lk_http_request req = get_request(url, restricted);
        result *r = perform(f->client, &req);
        free(url);
        return r;
}

static void get_json(void **state) {
        fixture *f = *state;
        result *r = get(f, "/json", false);
        assert_int_equal(r->error, 0);
        assert_null(r->error_text);
        assert_int_equal(r->status, 200);
        assert_string_equal(r->body, "{\"ok\":true}");
        assert_int_equal(r->body_len, 11);
        assert_string_equal(header(r, "Content-Type"), "application/json");
        assert_int_equal(lk_http_client_in_flight(f->client), 0);
        result_free(r);

        r = get(f, "/json?body=%7B%22a%22%3A1%7D", false);
        assert_string_equal(r->body, "{\"a\":1}");
        result_free(r);
        assert_int_equal(lkfx_hits(f->server, "/json"), 2);
}

static uint16_t last_client_port(fixture *f, const char *path) {
        lkfx_request seen;
        assert_true(lkfx_last(f->server, path, &seen));
        uint16_t port = seen.client_port;
        lkfx_request_done(&seen);
        assert_true(port != 0);
        return port;
}

/* Unrestricted requests to one server share a connection. */
static void connections_are_reused(void **state) {
        fixture *f = *state;
        result *r = get(f, "/text", false);
        assert_int_equal(r->status, 200);
        result_free(r);
        uint16_t first = last_client_port(f, "/text");
        r = get(f, "/json", false);
        assert_int_equal(r->status, 200);
        result_free(r);
        assert_int_equal(last_client_port(f, "/json"), first);
}

static json_t *echo_of(const result *r) {
        json_error_t jerr;
        json_t *echo = json_loads(r->body, 0, &jerr);
        if (!echo)
                fail_msg("/echo answered %s: %s", r->body, jerr.text);
        return echo;
}

static const char *echo_str(json_t *echo, const char *key) {
        json_t *v = json_object_get(echo, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *echo_header(json_t *echo, const char *name) {
        json_t *v = json_object_get(json_object_get(echo, "headers"), name);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

static void post_body_and_headers_reach_server(void **state) {
        fixture *f = *state;
        char *url = lkfx_url(f->server, "/echo?x=1");
        const char *headers[] = {"Content-Type: application/json", "X-Custom:  yes ", "X-Empty:"};
        lk_http_request req = get_request(url, false);
        req.method = "POST";
        req.body = "{\"a\":1}";
        req.body_len = 7;
        req.headers = headers;
        req.header_count = 3;
        result *r = perform(f->client, &req);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 200);
        json_t *echo = echo_of(r);
        assert_string_equal(echo_str(echo, "method"), "POST");
        assert_string_equal(echo_str(echo, "path"), "/echo?x=1");
        assert_string_equal(echo_str(echo, "body"), "{\"a\":1}");
        assert_string_equal(echo_header(echo, "content-type"), "application/json");
        assert_string_equal(echo_header(echo, "content-length"), "7");
        assert_string_equal(echo_header(echo, "x-custom"), "yes");
        assert_string_equal(echo_header(echo, "x-empty"), "");
        /* Neither curl's 100-continue handshake nor its default Accept. */
        assert_null(echo_header(echo, "expect"));
        assert_null(echo_header(echo, "accept"));
        assert_null(echo_header(echo, "accept-encoding"));
        json_decref(echo);
        result_free(r);

        /* A body without a Content-Type goes without one, not as a form. */
        req.headers = NULL;
        req.header_count = 0;
        req.method = "PUT";
        r = perform(f->client, &req);
        echo = echo_of(r);
        assert_string_equal(echo_str(echo, "method"), "PUT");
        assert_string_equal(echo_str(echo, "body"), "{\"a\":1}");
        assert_null(echo_header(echo, "content-type"));
        json_decref(echo);
        result_free(r);

        req.method = "PATCH";
        req.body = NULL;
        req.body_len = 0;
        r = perform(f->client, &req);
        echo = echo_of(r);
        assert_string_equal(echo_str(echo, "method"), "PATCH");
        assert_string_equal(echo_str(echo, "body"), "");
        assert_string_equal(echo_header(echo, "content-length"), "0");
        json_decref(echo);
        result_free(r);

        req.method = "DELETE";
        r = perform(f->client, &req);
        echo = echo_of(r);
        assert_string_equal(echo_str(echo, "method"), "DELETE");
        assert_null(echo_header(echo, "content-length"));
        json_decref(echo);
        result_free(r);

        /* A GET may carry a body too, and stays a GET. */
        req.method = "GET";
        req.body = "q";
        req.body_len = 1;
        r = perform(f->client, &req);
        echo = echo_of(r);
        assert_string_equal(echo_str(echo, "method"), "GET");
        assert_string_equal(echo_str(echo, "body"), "q");
        json_decref(echo);
        result_free(r);
        free(url);

        url = lkfx_url(f->server, "/text");
        req = get_request(url, false);
        req.method = "HEAD";
        r = perform(f->client, &req);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 200);
        assert_string_equal(r->body, "");
        result_free(r);
        lkfx_request seen;
        assert_true(lkfx_last(f->server, "/text", &seen));
        assert_string_equal(seen.method, "HEAD");
        lkfx_request_done(&seen);
        free(url);
}

static void error_status_returns_body(void **state) {
        fixture *f = *state;
        result *r = get(f, "/status?code=500&body=boom", false);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 500);
        assert_string_equal(r->body, "boom");
        result_free(r);
        r = get(f, "/nowhere", false);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 404);
        result_free(r);
}

static void body_cap(void **state) {
        fixture *f = *state;
        lk_http_client *client = new_client(&(lk_http_client_options){.max_response_size = 100});
        char *url = lkfx_url(f->server, "/big?bytes=100");
        lk_http_request req = get_request(url, false);
        result *r = perform(client, &req);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->body_len, 100);
        result_free(r);
        free(url);

        const char *over[] = {"/big?bytes=101", "/big?bytes=5000000"};
        for (size_t i = 0; i < 2; i++) {
                url = lkfx_url(f->server, over[i]);
                req = get_request(url, false);
                r = perform(client, &req);
                assert_int_equal(r->error, -EFBIG);
                assert_string_equal(r->error_text, "http: request body too large");
                assert_int_equal(r->status, 0);
                assert_string_equal(r->body, "");
                result_free(r);
                free(url);
        }

        /* Per request: above and below the client's default. */
        url = lkfx_url(f->server, "/big?bytes=500");
        req = get_request(url, false);
        req.max_response_size = 1000;
        r = perform(client, &req);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->body_len, 500);
        result_free(r);
        free(url);
        url = lkfx_url(f->server, "/json"); /* 11 bytes */
        req = get_request(url, false);
        req.max_response_size = 10;
        r = perform(client, &req);
        assert_int_equal(r->error, -EFBIG);
        result_free(r);
        req.max_response_size = 11;
        r = perform(client, &req);
        assert_int_equal(r->error, 0);
        assert_string_equal(r->body, "{\"ok\":true}");
        result_free(r);
        free(url);
        lk_http_client_free(client);
}

static void deadline(void **state) {
        fixture *f = *state;
        char *url = lkfx_url(f->server, "/slow?ms=10000");
        lk_http_request req = get_request(url, false);
        lk_usec started = lk_now_monotonic();
        req.deadline = started + 300 * LK_USEC_PER_MSEC;
        result *r = perform(f->client, &req);
        lk_usec took = r->finished_at - started;
        assert_int_equal(r->error, -ETIMEDOUT);
        char want[256];
        snprintf(want, sizeof want, "Get \"%s\": context deadline exceeded (", url);
        if (strncmp(r->error_text, want, strlen(want)) != 0)
                fail_msg("error text %s, want it to start with %s", r->error_text, want);
        assert_true(took >= 250 * LK_USEC_PER_MSEC);
        assert_true(took < 3 * LK_USEC_PER_SEC);
        result_free(r);

        /* A deadline already past never reaches the server. */
        lkfx_reset(f->server);
        req.deadline = lk_now_monotonic() - 1;
        r = perform(f->client, &req);
        assert_int_equal(r->error, -ETIMEDOUT);
        snprintf(want, sizeof want, "Get \"%s\": context deadline exceeded", url);
        assert_string_equal(r->error_text, want);
        result_free(r);
        assert_int_equal(lkfx_hits(f->server, "/slow"), 0);
        free(url);
}

static void concurrent_slow_requests(void **state) {
        fixture *f = *state;
        enum { N = 20, DELAY_MS = 500 };
        char path[64];
        snprintf(path, sizeof path, "/slow?ms=%d", DELAY_MS);
        char *url = lkfx_url(f->server, path);
        result *r[N];
        lk_usec started = lk_now_monotonic();
        for (int i = 0; i < N; i++) {
                lk_http_request req = get_request(url, false);
                r[i] = submit(f->client, &req);
        }
        assert_int_equal(lk_http_client_in_flight(f->client), N);
        lk_usec last = 0;
        for (int i = 0; i < N; i++) {
                must_finish(r[i]);
                assert_int_equal(r[i]->error, 0);
                assert_int_equal(r[i]->status, 200);
                if (r[i]->finished_at > last)
                        last = r[i]->finished_at;
                result_free(r[i]);
        }
        /* One after the other they would take N * DELAY_MS. */
        lk_usec took = last - started;
        if (took >= 5 * DELAY_MS * LK_USEC_PER_MSEC)
                fail_msg("%d requests of %d ms took %lld ms", N, DELAY_MS, (long long)(took / LK_USEC_PER_MSEC));
        assert_int_equal(lk_http_client_in_flight(f->client), 0);
        assert_int_equal(lkfx_hits(f->server, "/slow"), N);
        free(url);
}

static void cancel_in_flight(void **state) {
        fixture *f = *state;
        char *url = lkfx_url(f->server, "/slow?ms=20000");
        lk_http_request req = get_request(url, false);
        result *r = submit(f->client, &req);
        assert_true(lkfx_wait_hits(f->server, "/slow", 1, 10000));
        lk_usec cancelled = lk_now_monotonic();
        lk_http_client_cancel(f->client, r->id);
        must_finish(r);
        assert_int_equal(r->error, -ECANCELED);
        char want[256];
        snprintf(want, sizeof want, "Get \"%s\": context canceled", url);
        assert_string_equal(r->error_text, want);
        assert_true(r->finished_at - cancelled < 2 * LK_USEC_PER_SEC);
        assert_int_equal(lk_http_client_in_flight(f->client), 0);
        /* Finished and unknown ids are ignored. */
        lk_http_client_cancel(f->client, r->id);
        lk_http_client_cancel(f->client, 987654321);
        result_free(r);

        /* Cancelled before the client thread has even started it. */
        r = submit(f->client, &req);
        lk_http_client_cancel(f->client, r->id);
        must_finish(r);
        assert_int_equal(r->error, -ECANCELED);
        result_free(r);

        /* The client still works. */
        r = get(f, "/json", false);
        assert_int_equal(r->status, 200);
        result_free(r);
        free(url);
}

static void free_cancels_in_flight(void **state) {
        fixture *f = *state;
        lk_http_client *client = new_client(NULL);
        char *url = lkfx_url(f->server, "/slow?ms=20000");
        enum { N = 3 };
        result *r[N];
        for (int i = 0; i < N; i++) {
                lk_http_request req = get_request(url, false);
                req.deadline = LK_USEC_INFINITY;
                r[i] = submit(client, &req);
        }
        assert_true(lkfx_wait_hits(f->server, "/slow", N, 10000));
        lk_usec started = lk_now_monotonic();
        assert_null(lk_http_client_free(client));
        assert_true(lk_now_monotonic() - started < 5 * LK_USEC_PER_SEC);
        for (int i = 0; i < N; i++) {
                /* Called before lk_http_client_free returned: no waiting. */
                assert_int_equal(r[i]->calls, 1);
                assert_int_equal(r[i]->error, -ECANCELED);
                result_free(r[i]);
        }
        free(url);
        assert_null(lk_http_client_free(NULL));
}

static void callback_can_submit(void **state) {
        fixture *f = *state;
        char *first_url = lkfx_url(f->server, "/text");
        char *second_url = lkfx_url(f->server, "/json");
        lk_http_request second = get_request(second_url, false);
        lk_http_request first = get_request(first_url, false);
        result *r = result_new();
        r->chain_client = f->client;
        r->chain_request = &second;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_http_client_submit(f->client, &first, on_done, r, NULL, &err), 0);
        must_finish(r);
        assert_string_equal(r->body, "hello world");
        assert_non_null(r->chained);
        must_finish(r->chained);
        assert_string_equal(r->chained->body, "{\"ok\":true}");
        result_free(r->chained);
        result_free(r);
        free(first_url);
        free(second_url);
}

static void assert_disallowed(const result *r, const char *ip) {
        char want[256];
        snprintf(want, sizeof want, "disallowed IP %s%s", ip, DISALLOWED_SUFFIX);
        assert_int_equal(r->error, -EACCES);
        assert_string_equal(r->error_text, want);
}

static void restricted_refuses_loopback_literal(void **state) {
        fixture *f = *state;
        result *r = get(f, "/json", true);
        assert_disallowed(r, "127.0.0.1");
        assert_string_equal(r->error_text, "disallowed IP 127.0.0.1. Connections to local/private and multicast "
                                           "networks are disabled by default for security reasons");
        result_free(r);
        assert_int_equal(lkfx_hits(f->server, "/"), 0);

        char url[128];
        snprintf(url, sizeof url, "http://[::1]:%u/json", lkfx_port(f->server));
        lk_http_request req = get_request(url, true);
        r = perform(f->client, &req);
        assert_disallowed(r, "::1");
        result_free(r);

        /* Unrestricted, the same URL is fine. */
        r = get(f, "/json", false);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 200);
        result_free(r);
}

/* The connection the unrestricted request leaves in the pool must not
 * carry the restricted one past the check. */
static void restricted_never_reuses_a_connection(void **state) {
        fixture *f = *state;
        for (int i = 0; i < 3; i++) {
                result *r = get(f, "/json", false);
                assert_int_equal(r->status, 200);
                result_free(r);
                r = get(f, "/json", true);
                assert_disallowed(r, "127.0.0.1");
                result_free(r);
        }
        assert_int_equal(lkfx_hits(f->server, "/json"), 3);
}

static void restricted_refuses_name_resolving_to_loopback(void **state) {
        fixture *f = *state;
        char resolve[64];
        snprintf(resolve, sizeof resolve, "evil.test:%u:127.0.0.1", lkfx_port(f->server));
        const char *resolves[] = {resolve};
        lk_http_client *client = new_client(&(lk_http_client_options){.resolve = resolves, .resolve_count = 1});
        char url[256];
        snprintf(url, sizeof url, "http://evil.test:%u/json", lkfx_port(f->server));

        /* The name does resolve (unrestricted, it is served)... */
        lk_http_request req = get_request(url, false);
        result *r = perform(client, &req);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 200);
        result_free(r);
        /* ...but a restricted request checks the address it resolved to. */
        req = get_request(url, true);
        r = perform(client, &req);
        assert_disallowed(r, "127.0.0.1");
        result_free(r);

        /* A redirect from that name is refused at the first connect. */
        snprintf(url, sizeof url, "http://evil.test:%u/redirect?to=http%%3A%%2F%%2F127.0.0.1%%3A%u%%2Fjson",
                 lkfx_port(f->server), lkfx_port(f->server));
        req = get_request(url, true);
        r = perform(client, &req);
        assert_disallowed(r, "127.0.0.1");
        result_free(r);
        assert_int_equal(lkfx_hits(f->server, "/redirect"), 0);
        lk_http_client_free(client);
}

/* An IPv4 address of this host that restricted requests may reach, if it
 * has one (a test network's 192.0.2.x does; a bare laptop may not). */
static bool global_local_address(char ip[static INET_ADDRSTRLEN]) {
        struct ifaddrs *list;
        if (getifaddrs(&list) < 0)
                return false;
        bool found = false;
        for (struct ifaddrs *a = list; a && !found; a = a->ifa_next) {
                if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || lk__http_address_refused(NULL, a->ifa_addr))
                        continue;
                found = inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr, ip,
                                  INET_ADDRSTRLEN) != NULL;
        }
        freeifaddrs(list);
        return found;
}

/* Every hop of a restricted request is checked, also one that could ride
 * on a pooled connection: an unrestricted request leaves one to
 * 127.0.0.1 behind, and a redirect from an allowed address points there. */
static void restricted_checks_every_hop(void **state) {
        fixture *f = *state;
        char ip[INET_ADDRSTRLEN];
        if (!global_local_address(ip)) {
                print_message("# skipped: this host has no global unicast IPv4 address to serve from\n");
                skip();
        }
        lkfx_server *outer = lkfx_start_on(ip);
        char *outer_json = lkfx_url(outer, "/json");
        lk_http_request req = get_request(outer_json, true);
        result *r = perform(f->client, &req);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 200);
        result_free(r);

        r = get(f, "/json", false);
        assert_int_equal(r->status, 200);
        result_free(r);
        char path[128];
        snprintf(path, sizeof path, "/redirect?to=http%%3A%%2F%%2F127.0.0.1%%3A%u%%2Fjson", lkfx_port(f->server));
        char *outer_redirect = lkfx_url(outer, path);
        req = get_request(outer_redirect, true);
        r = perform(f->client, &req);
        assert_disallowed(r, "127.0.0.1");
        result_free(r);
        assert_int_equal(lkfx_hits(outer, "/redirect"), 1);
        assert_int_equal(lkfx_hits(f->server, "/json"), 1);

        req = get_request(outer_redirect, false);
        r = perform(f->client, &req);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 200);
        result_free(r);
        assert_int_equal(lkfx_hits(f->server, "/json"), 2);
        free(outer_json);
        free(outer_redirect);
        lkfx_stop(outer);
}

static void unrestricted_follows_redirects(void **state) {
        fixture *f = *state;
        char path[128];
        snprintf(path, sizeof path, "/redirect?to=http%%3A%%2F%%2F127.0.0.1%%3A%u%%2Fpending", lkfx_port(f->server));
        result *r = get(f, path, false);
        assert_int_equal(r->error, 0);
        assert_int_equal(r->status, 200);
        assert_string_equal(r->body, "{}");
        /* The final response's headers only. */
        assert_string_equal(header(r, "X-Chainlink-Pending"), "true");
        assert_null(header(r, "Location"));
        result_free(r);
        assert_int_equal(lkfx_hits(f->server, "/redirect"), 1);
        assert_int_equal(lkfx_hits(f->server, "/pending"), 1);

        /* Go's client stops at the tenth redirect response. */
        r = get(f, "/redirect", false);
        assert_int_equal(r->error, -EIO);
        char want[128];
        snprintf(want, sizeof want, "Get \"http://127.0.0.1:%u/redirect\": stopped after 10 redirects",
                 lkfx_port(f->server));
        assert_string_equal(r->error_text, want);
        result_free(r);
        assert_int_equal(lkfx_hits(f->server, "/redirect"), 1 + 10);
}

static bool refused(const lk_http_client *client, const char *ip) {
        struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(80)};
        struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
        if (inet_pton(AF_INET, ip, &in4.sin_addr) == 1)
                return lk__http_address_refused(client, (const struct sockaddr *)&in4);
        if (inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1)
                return lk__http_address_refused(client, (const struct sockaddr *)&in6);
        fail_msg("bad address %s in the test", ip);
        return false;
}

static void address_classifier(void **state) {
        static const struct {
                const char *ip;
                bool refused;
        } cases[] = {
                {"127.0.0.1", true},        {"127.255.0.9", true},     {"10.1.2.3", true},
                {"172.16.0.1", true},       {"172.31.255.255", true},  {"172.32.0.1", false},
                {"172.15.255.255", false},  {"192.168.1.1", true},     {"192.169.0.1", false},
                {"8.8.8.8", false},         {"100.64.0.1", false},     {"169.254.1.1", true},
                {"169.253.1.1", false},     {"224.0.0.1", true},       {"239.255.255.255", true},
                {"240.0.0.1", false},       {"255.255.255.254", false}, {"255.255.255.255", true},
                {"0.0.0.0", true},          {"0.1.2.3", true},         {"::1", true},
                {"::", true},               {"fe80::1", true},         {"febf::1", true},
                {"fec0::1", false},         {"fc00::1", true},         {"fd12::1", true},
                {"ff02::1", true},          {"2001:4860::8888", false}, {"::ffff:127.0.0.1", true},
                {"::ffff:10.0.0.1", true},  {"::ffff:8.8.8.8", false}, {"::2", false},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                if (refused(NULL, cases[i].ip) != cases[i].refused)
                        fail_msg("%s: refused %s, want %s", cases[i].ip, cases[i].refused ? "false" : "true",
                                 cases[i].refused ? "true" : "false");
        }
        struct sockaddr unix_family = {.sa_family = AF_UNIX};
        assert_true(lk__http_address_refused(NULL, &unix_family));

        const char *blocked[] = {"8.8.4.4", "2001:db8::5", "::ffff:1.2.3.4"};
        lk_http_client *client =
                new_client(&(lk_http_client_options){.blocked_addresses = blocked, .blocked_address_count = 3});
        assert_true(refused(client, "8.8.4.4"));
        assert_true(refused(client, "::ffff:8.8.4.4"));
        assert_true(refused(client, "2001:db8::5"));
        assert_true(refused(client, "1.2.3.4"));
        assert_false(refused(client, "8.8.8.8"));
        assert_false(refused(client, "2001:db8::6"));
        assert_true(refused(client, "10.0.0.1"));
        lk_http_client_free(client);

        const char *bad[] = {"db.example.com"};
        lk_http_client *none = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_http_client_new(&(lk_http_client_options){.blocked_addresses = bad,
                                                                      .blocked_address_count = 1},
                                            &none, &err),
                         -EINVAL);
        assert_null(none);
        assert_string_equal(err.msg, "http client: blocked address \"db.example.com\" is not an IP address");
}

/* A port with a socket bound but not listening: connecting is refused,
 * and nothing else can take the port meanwhile. */
static int closed_port(uint16_t *ret_port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof addr;
        assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
        *ret_port = ntohs(addr.sin_port);
        return fd;
}

static void connection_refused(void **state) {
        fixture *f = *state;
        uint16_t port;
        int fd = closed_port(&port);
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/x", port);
        lk_http_request req = get_request(url, false);
        result *r = perform(f->client, &req);
        assert_int_equal(r->error, -EIO);
        char want[160];
        snprintf(want, sizeof want, "Get \"%s\": ", url);
        if (strncmp(r->error_text, want, strlen(want)) != 0)
                fail_msg("error text %s, want it to start with %s", r->error_text, want);
        print_message("# %s\n", r->error_text);
        result_free(r);

        /* A password in the URL never reaches the error text. */
        snprintf(url, sizeof url, "http://user:secret@127.0.0.1:%u/x", port);
        req = get_request(url, false);
        req.method = "POST";
        r = perform(f->client, &req);
        assert_int_equal(r->error, -EIO);
        snprintf(want, sizeof want, "Post \"http://user:xxxxx@127.0.0.1:%u/x\": ", port);
        if (strncmp(r->error_text, want, strlen(want)) != 0)
                fail_msg("error text %s, want it to start with %s", r->error_text, want);
        assert_null(strstr(r->error_text, "secret"));
        result_free(r);
        close(fd);
}

static void response_header_lookup(void **state) {
        fixture *f = *state;
        result *r = get(f, "/pending", false);
        assert_int_equal(r->status, 200);
        assert_string_equal(header(r, "X-Chainlink-Pending"), "true");
        assert_string_equal(header(r, "x-chainlink-pending"), "true");
        assert_string_equal(header(r, "X-CHAINLINK-PENDING"), "true");
        assert_null(header(r, "X-Chainlink"));
        assert_null(header(r, "X-Missing"));
        bool found = false;
        for (size_t i = 0; i < r->header_count; i++)
                found |= strcmp(r->headers[i], "X-Chainlink-Pending: true") == 0;
        assert_true(found);
        result_free(r);
}

/* Requests that cannot be built fail the submit with -EINVAL; the callback
 * is not called. */
static void unusable_requests_fail_submit(void **state) {
        fixture *f = *state;
        char *good_url = lkfx_url(f->server, "/json");
        static const char *const bad_headers[][1] = {{"X-Bad: a\r\nInjected: 1"}, {"NoColon"}, {": value"},
                                                      {"Bad Name: x"}};
        struct {
                const char *method;
                const char *url;
                const char *const *headers;
                const char *want;
        } cases[] = {
                {"GET", "not a url", NULL, "parse \"not a url\": "},
                {"GET", "/relative", NULL, "parse \"/relative\": "},
                {"GET", "ftp://127.0.0.1/x", NULL, "Get \"ftp://127.0.0.1/x\": unsupported protocol scheme \"ftp\""},
                {"POST", "file:///etc/passwd", NULL,
                 "Post \"file:///etc/passwd\": unsupported protocol scheme \"file\""},
                {"GE T", good_url, NULL, "net/http: invalid method \"GE T\""},
                {"GET", good_url, bad_headers[0], "net/http: invalid header line"},
                {"GET", good_url, bad_headers[1], "net/http: invalid header line"},
                {"GET", good_url, bad_headers[2], "net/http: invalid header line"},
                {"GET", good_url, bad_headers[3], "net/http: invalid header line"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                lk_http_request req = get_request(cases[i].url, false);
                req.method = cases[i].method;
                req.headers = cases[i].headers;
                req.header_count = cases[i].headers ? 1 : 0;
                result *r = result_new();
                lk_err err = LK_ERR_INIT;
                uint64_t id = 77;
                assert_int_equal(lk_http_client_submit(f->client, &req, on_done, r, &id, &err), -EINVAL);
                assert_int_equal(err.code, -EINVAL);
                if (strncmp(err.msg, cases[i].want, strlen(cases[i].want)) != 0)
                        fail_msg("case %zu: error %s, want it to start with %s", i, err.msg, cases[i].want);
                assert_int_equal(id, 77);
                assert_int_equal(lk_http_client_in_flight(f->client), 0);
                assert_false(wait_done(r, 50 * LK_USEC_PER_MSEC));
                result_free(r);
        }
        free(good_url);
        assert_int_equal(lkfx_hits(f->server, "/"), 0);
}

int main(void) {
        /* libcurl honours these; the fixture servers are local. */
        static const char *const proxies[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                              "ALL_PROXY"};
        for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
                unsetenv(proxies[i]);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(get_json, setup, teardown),
                cmocka_unit_test_setup_teardown(connections_are_reused, setup, teardown),
                cmocka_unit_test_setup_teardown(post_body_and_headers_reach_server, setup, teardown),
                cmocka_unit_test_setup_teardown(error_status_returns_body, setup, teardown),
                cmocka_unit_test_setup_teardown(body_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(deadline, setup, teardown),
                cmocka_unit_test_setup_teardown(concurrent_slow_requests, setup, teardown),
                cmocka_unit_test_setup_teardown(cancel_in_flight, setup, teardown),
                cmocka_unit_test_setup_teardown(free_cancels_in_flight, setup, teardown),
                cmocka_unit_test_setup_teardown(callback_can_submit, setup, teardown),
                cmocka_unit_test_setup_teardown(restricted_refuses_loopback_literal, setup, teardown),
                cmocka_unit_test_setup_teardown(restricted_never_reuses_a_connection, setup, teardown),
                cmocka_unit_test_setup_teardown(restricted_refuses_name_resolving_to_loopback, setup, teardown),
                cmocka_unit_test_setup_teardown(restricted_checks_every_hop, setup, teardown),
                cmocka_unit_test_setup_teardown(unrestricted_follows_redirects, setup, teardown),
                cmocka_unit_test(address_classifier),
                cmocka_unit_test_setup_teardown(connection_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(response_header_lookup, setup, teardown),
                cmocka_unit_test_setup_teardown(unusable_requests_fail_submit, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
