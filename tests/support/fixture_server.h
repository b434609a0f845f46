/* An in-process HTTP server for tests of code that makes HTTP requests
 * (the pipeline's HTTP client, the http and bridge tasks): libmicrohttpd
 * on 127.0.0.1 (or another local address), an ephemeral port, a thread per connection so that a slow
 * route never holds up another request.
 *
 * Routes (query values are percent-decoded):
 *   /json[?body=TEXT]            200 application/json, TEXT or {"ok":true}
 *   /text                        200 text/plain "hello world"
 *   /slow?ms=N[&body=TEXT]       waits N ms (default 1000), then 200
 *                                application/json TEXT or {"ok":true}
 *   /status?code=N[&body=TEXT]   status N (default 200), text/plain TEXT
 *   /big?bytes=N[&json=1]        200 text/plain, N bytes of 'a'; with json=1
 *                                a JSON string of N bytes in all ("aa…a")
 *   /redirect[?to=URL][&code=N]  N (default 302) with Location: URL; without
 *                                to, Location: /redirect (an endless loop)
 *   /pending                     200 application/json {}, with the header
 *                                X-Chainlink-Pending: true
 *   /echo                        200 application/json describing the request:
 *                                {"method":..,"path":..,"headers":{lowercased
 *                                name: value, repeats joined by ", "},
 *                                "body":..} (path with its query; body null
 *                                when it is not UTF-8)
 *   anything else                404 text/plain "not found"
 *
 * Every request is recorded, whatever the route, before it is answered
 * (for /slow: before the wait).  All functions are thread-safe.  Strings
 * these functions return are malloc(3)ed: release them with free(), not
 * lk_free. */
#ifndef LKTEST_FIXTURE_SERVER_H
#define LKTEST_FIXTURE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lkfx_server lkfx_server;

/* A recorded request. */
typedef struct lkfx_request {
        char *method;
        char *path;     /* as sent, query string included: "/json?body=x" */
        char *body;     /* NUL-terminated; "" when none */
        size_t body_len;
        char **headers; /* "Name: value" lines, in the order received */
        size_t header_count;
        uint16_t client_port; /* the same for requests on one connection */
} lkfx_request;

/* Starts a server on 127.0.0.1; fails the running test (cmocka's
 * fail_msg) if it cannot. */
lkfx_server *lkfx_start(void);
/* As lkfx_start, on the IPv4 address ip (one of the host's own). */
lkfx_server *lkfx_start_on(const char *ip);
/* Stops the server: wakes every /slow request (they answer at once) and
 * waits for the connection threads.  Accepts NULL; returns NULL. */
lkfx_server *lkfx_stop(lkfx_server *server);

uint16_t lkfx_port(const lkfx_server *server);
/* "http://IP:PORT" followed by path (which starts with '/'); free(). */
char *lkfx_url(const lkfx_server *server, const char *path);

/* Requests whose path (with query) starts with path_prefix so far. */
size_t lkfx_hits(lkfx_server *server, const char *path_prefix);
/* Copies the latest request whose path starts with path_prefix into *ret
 * (release it with lkfx_request_done); false, *ret zeroed, when none. */
bool lkfx_last(lkfx_server *server, const char *path_prefix, lkfx_request *ret);
/* Forgets every recorded request. */
void lkfx_reset(lkfx_server *server);

/* The value of header name (case-insensitive) in a recorded request, or NULL. */
const char *lkfx_request_header(const lkfx_request *request, const char *name);
void lkfx_request_done(lkfx_request *request);

/* Waits until at least count requests with path_prefix were recorded;
 * false if timeout_ms passed first. */
bool lkfx_wait_hits(lkfx_server *server, const char *path_prefix, size_t count, unsigned timeout_ms);

#endif
