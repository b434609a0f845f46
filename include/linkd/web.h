/* The HTTP server (libmicrohttpd): the probes now, the /v2 API later.
 *
 *   GET /readyz          200 or 503, empty body; ?full adds the JSON:API list
 *   GET /health          JSON:API checks, 200 when all pass, 503 otherwise;
 *                        ?failing keeps the failing ones; Accept: text/plain
 *                        (or /health.txt) gives the text form
 *   GET /livez           200 while the node's own loops respond
 *   GET /metrics         Prometheus text format 0.0.4
 *
 * Everything the probes print comes from the Checker's published snapshot;
 * a request never calls into a service.  Other modules add their routes
 * (lk_web_route) and metrics (lk_web_add_metrics) before the server
 * starts. */
#ifndef LINKD_WEB_H
#define LINKD_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "linkd/buf.h"
#include "linkd/checker.h"
#include "linkd/heartbeat.h"
#include "linkd/log.h"
#include "linkd/service.h"

#define LK_WEB_NAME "WebServer"

typedef struct lk_web lk_web;

typedef struct lk_web_options {
        const char *listen_ip;   /* IPv4 or IPv6 literal */
        uint16_t port;           /* 0 = an ephemeral port, see lk_web_port */
        unsigned threads;        /* 0 = one per online CPU */
        lk_checker *checker;     /* borrowed */
        lk_log *log;             /* borrowed; may be NULL */
        lk_heartbeat *const *loops; /* borrowed; /livez checks each */
        size_t loop_count;
        const char *version;     /* borrowed */
        const char *commit;      /* borrowed */
        lk_usec started_at;      /* realtime, for uptime_seconds */
        uint64_t max_body;       /* [WebServer] HTTPMaxSize; 0: 32768 */
} lk_web_options;

/* The caller owns the server and frees it after closing it.  Options are
 * copied; the pointers in them are borrowed. */
lk_web *lk_web_new(const lk_web_options *options);
lk_web *lk_web_free(lk_web *web);

/* The server as a service named LK_WEB_NAME; owned by the server. */
lk_service *lk_web_service(lk_web *web);

/* The port actually listened on, once started. */
uint16_t lk_web_port(lk_web *web);

/* Routes open to anyone; other routes name the lowest role (an lk_role
 * of include/linkd/auth.h, as an int: the server knows no more of roles
 * than their order) that may call them. */
#define LK_WEB_PUBLIC (-1)

/* Who sent a request, as the authenticator found. */
typedef struct lk_web_caller {
        int role;        /* LK_WEB_PUBLIC when anonymous */
        char email[256]; /* "" when anonymous */
} lk_web_caller;

/* A request as a route's handler sees it.  Everything is borrowed for the
 * call. */
typedef struct lk_web_request {
        const char *method;
        const char *path;      /* without the query string */
        const char *tail;      /* path after the route's prefix */
        const char *body;      /* NUL-terminated; "" when none */
        size_t body_len;
        const char *client_ip; /* the peer's address, for rate limits */
        const lk_web_caller *caller;
        void *connection;      /* for lk_web_request_header */
        void *state;           /* the server's, for lk_web_defer */
} lk_web_request;

/* A request header (case-insensitive name), or NULL. */
const char *lk_web_request_header(const lk_web_request *request, const char *name);
/* A query-string argument (decoded), or NULL. */
const char *lk_web_request_query(const lk_web_request *request, const char *name);
/* A cookie the request carries, or NULL. */
const char *lk_web_request_cookie(const lk_web_request *request, const char *name);

/* Finds who sent request (a session cookie, an API token) and fills
 * *ret_caller, which starts anonymous; leaves it so when the credentials
 * are missing or not valid.  Runs on the server's threads; may use the
 * database.  request->caller is NULL during the call. */
typedef void (*lk_web_authenticate_fn)(void *arg, const lk_web_request *request, lk_web_caller *ret_caller);
/* Without an authenticator every caller is anonymous.  With one, /health
 * shows check outputs only to authenticated callers.  Call before the
 * server starts. */
void lk_web_set_authenticator(lk_web *web, lk_web_authenticate_fn fn, void *arg);

/* What a handler fills in; the server sends it.  status defaults to 200,
 * content_type to application/json. */
typedef struct lk_web_response {
        unsigned status;
        const char *content_type; /* a static string */
        lk_buf body;
        char *set_cookie;         /* a Set-Cookie value from lk_malloc, or NULL; the server frees it */
} lk_web_response;

/* Sets a JSON:API error body {"errors":[{"detail": ...}]} and status. */
void lk_web_response_error(lk_web_response *response, unsigned status, const char *fmt, ...) LK_PRINTF(3, 4);

/* An answer that comes later: a handler that waits for something (a
 * pipeline run) calls lk_web_defer and returns without blocking the
 * server's thread; whoever finishes fills lk_web_deferred_response and
 * calls lk_web_deferred_send, from any thread, exactly once.  When the
 * server closes first, the client gets 503 and the send only frees. */
typedef struct lk_web_deferred lk_web_deferred;

/* The caller owns the result until lk_web_deferred_send. */
lk_web_deferred *lk_web_defer(const lk_web_request *request);
/* The response to fill: status 200 and JSON unless changed. */
lk_web_response *lk_web_deferred_response(lk_web_deferred *deferred);
/* Sends the response and gives up the caller's hold on deferred. */
void lk_web_deferred_send(lk_web_deferred *deferred);

/* Runs on one of the server's threads; may block briefly (a database
 * transaction), not for long. */
typedef void (*lk_web_handler_fn)(void *arg, const lk_web_request *request, lk_web_response *response);

/* Routes requests with method whose path starts with prefix (longest
 * prefix wins) to fn.  Unless min_role is LK_WEB_PUBLIC, an anonymous
 * caller gets 401 and one with a lower role 403, before the body is read;
 * a public route's handler still sees who called (request->caller).
 * Request bodies up to max_body are read first (longer ones get 413).
 * Call before the server starts. */
void lk_web_route(lk_web *web, const char *method, const char *prefix, int min_role, lk_web_handler_fn fn,
                  void *arg);

/* The routes added, in order: for tests that sweep every route, and for
 * documentation.  Strings are borrowed from the server. */
size_t lk_web_route_count(const lk_web *web);
void lk_web_route_at(const lk_web *web, size_t i, const char **ret_method, const char **ret_prefix, int *ret_min_role);

/* Adds fn's Prometheus text to /metrics.  Call before the server starts. */
typedef void (*lk_web_metrics_fn)(void *arg, lk_buf *out);
void lk_web_add_metrics(lk_web *web, lk_web_metrics_fn fn, void *arg);

#endif
