/* The pipeline's HTTP client: libcurl's multi interface on one thread of
 * its own, so that thousands of requests can wait on slow endpoints
 * without holding a worker thread each.  Connections are reused across
 * requests (one connection cache per client).
 *
 * Restricted requests (the http task's allowUnrestrictedNetworkAccess =
 * false) may only connect to global unicast addresses.  The check is made
 * on the address curl is about to connect to, after DNS resolution and
 * for every connection a request makes, redirects included, so that a
 * name resolving to 127.0.0.1 or a redirect to 10.0.0.1 is refused just
 * like the literal address; it mirrors Chainlink's restricted dialer:
 * loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
 * (169.254/16, fe80::/10), multicast, unspecified and broadcast addresses
 * are refused, IPv4-mapped IPv6 addresses judged as their IPv4 form, and
 * so is the database host's address when one is configured. */
#ifndef LINKD_PIPELINE_HTTP_CLIENT_H
#define LINKD_PIPELINE_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/time.h"

typedef struct lk_http_client lk_http_client;

typedef struct lk_http_client_options {
        /* Default cap on a response body ([JobPipeline.HTTPRequest] MaxSize);
         * 0 for none. */
        uint64_t max_response_size;
        /* Extra refused addresses for restricted requests (the database
         * host's, as Chainlink blocks it); IP literals; may be NULL. */
        const char *const *blocked_addresses;
        size_t blocked_address_count;
        /* curl's --resolve entries ("host:port:address"), so that tests can
         * give a name an address without touching the system's DNS; NULL
         * in production. */
        const char *const *resolve;
        size_t resolve_count;
} lk_http_client_options;

/* Starts the client's thread.  The caller owns the client. */
int lk_http_client_new(const lk_http_client_options *options, lk_http_client **ret_client, lk_err *err);
/* Cancels every request still in flight (their callbacks run, with
 * -ECANCELED, before this returns), stops the thread.  Accepts NULL;
 * returns NULL. */
lk_http_client *lk_http_client_free(lk_http_client *client);

typedef struct lk_http_request {
        const char *method;        /* "GET", "POST", ... */
        const char *url;           /* absolute http or https URL */
        const void *body;          /* may be NULL */
        size_t body_len;
        const char *const *headers; /* "Name: value" lines; may be NULL */
        size_t header_count;
        bool restricted;           /* refuse non-global addresses (see above) */
        lk_usec deadline;          /* monotonic instant; LK_USEC_INFINITY for none */
        uint64_t max_response_size; /* 0: the client's default */
} lk_http_request;

typedef struct lk_http_response {
        /* 0 when a response arrived (any status), else:
         *   -ETIMEDOUT   the deadline passed
         *   -ECANCELED   lk_http_client_cancel or lk_http_client_free
         *   -EFBIG       the body exceeded the size cap
         *   -EACCES      a restricted request was about to connect to a
         *                refused address
         *   -EINVAL      the URL or method is unusable
         *   -EIO         any other transport failure */
        int error;
        /* For errors, what went wrong as Go's net/http would word it:
         *   Get "http://x/": dial tcp 10.0.0.1:80: connect: connection refused
         *   disallowed IP 10.0.0.1. Connections to local/private and multicast
         *     networks are disabled by default for security reasons
         *   http: request body too large */
        const char *error_text;
        long status;
        const char *body; /* NUL-terminated; "" when empty */
        size_t body_len;
        const char *const *headers; /* "Name: value" lines of the final response */
        size_t header_count;
} lk_http_response;

/* The value of header name (case-insensitive) in response, or NULL. */
const char *lk_http_response_header(const lk_http_response *response, const char *name);

/* Called once per request on the client's thread; response (and
 * everything it points to) is only valid during the call.  It must not
 * block: hand the result over and return. */
typedef void (*lk_http_done_fn)(void *arg, const lk_http_response *response);

/* Queues request (copied: the caller may free it on return) and returns at
 * once.  *ret_id, if not NULL, identifies it for lk_http_client_cancel.
 * Fails only when the client is shutting down (-ECANCELED) or the request
 * cannot be built (-EINVAL: an invalid method or header line, a URL that
 * does not parse or whose scheme is not http or https); done is then not
 * called. */
int lk_http_client_submit(lk_http_client *client, const lk_http_request *request, lk_http_done_fn done, void *arg,
                          uint64_t *ret_id, lk_err *err);

/* Aborts request id if still in flight; its callback runs with
 * -ECANCELED (possibly before this returns, on the client thread).  A
 * finished or unknown id is ignored. */
void lk_http_client_cancel(lk_http_client *client, uint64_t id);

/* Requests in flight, for metrics and tests. */
size_t lk_http_client_in_flight(lk_http_client *client);

/* Internal, for tests: whether a restricted request is refused a
 * connection to address (the rules above; client NULL: no blocked
 * addresses). */
struct sockaddr;
bool lk__http_address_refused(const lk_http_client *client, const struct sockaddr *address);

#endif
