/* The HTTP server: libmicrohttpd with an epoll thread pool, serving the
 * probes from the Checker's snapshot (see include/linkd/web.h).
 *
 * /health and /readyz bodies only change when the Checker publishes a new
 * snapshot, so they are rendered once per snapshot into MHD responses that
 * every request then shares; a probe costs no rendering and no allocation
 * beyond MHD's own. */
#include "linkd/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/proc.h"
#include "render.h"

#define CONTENT_JSONAPI "application/vnd.api+json"
#define CONTENT_JSON "application/json"
#define CONTENT_TEXT "text/plain; charset=utf-8"
#define CONTENT_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* The probe responses rendered from one snapshot.  Shared by requests;
 * reference counted because a request may still queue them after a newer
 * snapshot has replaced them. */
typedef struct rendered {
        atomic_int refs;
        uint64_t generation;
        unsigned health_status;
        unsigned ready_status;
        struct MHD_Response *health_json[2][2]; /* [redacted][failing_only] */
        struct MHD_Response *health_text[2][2];
        struct MHD_Response *readyz_full[2]; /* [redacted] */
} rendered;

typedef struct route_entry {
        char *method;
        char *prefix;
        int min_role;
        lk_web_handler_fn fn;
        void *arg;
} route_entry;

typedef struct metrics_entry {
        lk_web_metrics_fn fn;
        void *arg;
} metrics_entry;

typedef enum defer_state {
        DEFER_HANDLING,  /* the handler has not returned yet */
        DEFER_SUSPENDED, /* the connection waits for the send */
        DEFER_READY,     /* the response is there to queue */
} defer_state;

/* Under web->defer_lock, except the response, which the owner fills
 * before sending and the server reads after. */
struct lk_web_deferred {
        lk_web *web;
        struct MHD_Connection *conn;
        lk_web_response response;
        defer_state state;
        int refs;        /* the owner's until the send, the server's until queued or closed */
        bool suspended;  /* in web->suspended */
        bool forced;     /* answered 503 by the close, which waits for it to go out */
        lk_web_deferred *prev, *next;
};

/* A request to a module's route, while its body is read. */
typedef struct api_request {
        lk_web *web;
        const route_entry *route;
        lk_web_deferred *deferred; /* set by lk_web_defer */
        bool forced;               /* a 503 of the close went out on this request */
        lk_web_caller caller;
        char client_ip[INET6_ADDRSTRLEN];
        lk_buf body;
        bool too_large;
} api_request;

#define DEFAULT_MAX_BODY 32768

struct lk_web {
        lk_service service;
        lk_once once;
        lk_web_options options;
        char *listen_ip;
        lk_heartbeat **loops;
        struct MHD_Daemon *daemon;
        uint16_t port;
        struct MHD_Response *empty_body;
        pthread_mutex_t cache_lock;
        rendered *cache;
        route_entry *routes;
        size_t route_count;
        metrics_entry *metrics;
        size_t metrics_count;
        lk_web_authenticate_fn authenticate;
        void *authenticate_arg;
        pthread_mutex_t defer_lock;
        lk_web_deferred *suspended; /* connections waiting for a deferred send */
        bool closing;               /* under defer_lock */
        int forced_pending;         /* 503s the close resumed and waits for */
        pthread_cond_t forced_done;
};

static struct MHD_Response *text_response(const char *content_type, lk_buf *body) {
        size_t len;
        char *data = lk_buf_steal(body, &len);
        struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, data, lk_free);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        return r;
}

static rendered *render(const lk_health_snapshot *s) {
        rendered *c = lk_calloc(1, sizeof *c);
        atomic_init(&c->refs, 1);
        c->generation = s->generation;
        c->health_status = s->healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        c->ready_status = s->ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        lk_buf body = LK_BUF_INIT;
        for (int redacted = 0; redacted < 2; redacted++)
                for (int failing = 0; failing < 2; failing++) {
                        lk__render_checks_json(&body, s->health, failing, redacted);
                        c->health_json[redacted][failing] = text_response(CONTENT_JSONAPI, &body);
                        lk__render_checks_text(&body, s->health, failing, redacted);
                        c->health_text[redacted][failing] = text_response(CONTENT_TEXT, &body);
                }
        for (int redacted = 0; redacted < 2; redacted++) {
                lk__render_checks_json(&body, s->readiness, false, redacted);
                c->readyz_full[redacted] = text_response(CONTENT_JSONAPI, &body);
        }
        return c;
}

static void rendered_unref(rendered *c) {
        if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
                return;
        for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++) {
                        MHD_destroy_response(c->health_json[i][j]);
                        MHD_destroy_response(c->health_text[i][j]);
                }
        for (int i = 0; i < 2; i++)
                MHD_destroy_response(c->readyz_full[i]);
        lk_free(c);
}

/* The responses for the Checker's latest snapshot, rendering them if this
 * is the first request since it was published. */
static rendered *current_rendered(lk_web *web) {
        lk_health_snapshot *s = lk_checker_snapshot(web->options.checker);
        pthread_mutex_lock(&web->cache_lock);
        if (!web->cache || web->cache->generation != s->generation) {
                rendered_unref(web->cache);
                web->cache = render(s);
        }
        rendered *c = web->cache;
        atomic_fetch_add(&c->refs, 1);
        pthread_mutex_unlock(&web->cache_lock);
        lk_health_snapshot_unref(s);
        return c;
}

static bool has_query_arg(struct MHD_Connection *conn, const char *key) {
        const char *value;
        size_t value_len;
        return MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &value, &value_len) ==
               MHD_YES;
}

/* Whether the client asks for text/plain before any JSON type, reading the
 * Accept header's media ranges in the order given (as gin's
 * NegotiateFormat, which Chainlink uses, does). */
static bool prefers_text(struct MHD_Connection *conn) {
        const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        if (!accept)
                return false;
        for (const char *p = accept; *p;) {
                p += strspn(p, " \t,");
                size_t len = strcspn(p, ";,");
                size_t end = len;
                while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
                        end--;
                if ((end == 10 && strncasecmp(p, "text/plain", 10) == 0) || (end == 6 && strncasecmp(p, "text/*", 6) == 0))
                        return true;
                if ((end >= 16 && strncasecmp(p, "application/json", 16) == 0) ||
                    (end == 24 && strncasecmp(p, CONTENT_JSONAPI, 24) == 0) ||
                    (end == 3 && strncmp(p, "*/*", 3) == 0) || (end == 13 && strncasecmp(p, "application/*", 13) == 0))
                        return false;
                p += strcspn(p, ",");
        }
        return false;
}

static enum MHD_Result queue_error(struct MHD_Connection *conn, unsigned status, const char *detail,
                                   const char *allow) {
        lk_buf body = LK_BUF_INIT;
        lk_buf_puts(&body, "{\"errors\":[{\"detail\":\"");
        lk_buf_put_json_escaped(&body, detail, strlen(detail));
        lk_buf_puts(&body, "\"}]}");
        struct MHD_Response *r = text_response(CONTENT_JSON, &body);
        if (allow)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        enum MHD_Result result = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return result;
}

static void client_ip(struct MHD_Connection *conn, char out[static INET6_ADDRSTRLEN]) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = info ? info->client_addr : NULL;
        out[0] = '\0';
        if (sa && sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, INET6_ADDRSTRLEN);
        else if (sa && sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, INET6_ADDRSTRLEN);
}

static void identify(lk_web *web, struct MHD_Connection *conn, const char *method, const char *url,
                     const char *ip, lk_web_caller *ret_caller) {
        *ret_caller = (lk_web_caller){.role = LK_WEB_PUBLIC};
        if (!web->authenticate)
                return;
        lk_web_request request = {.method = method, .path = url, .tail = "", .body = "", .client_ip = ip,
                                  .connection = conn};
        web->authenticate(web->authenticate_arg, &request, ret_caller);
}

/* Check outputs can name hosts, paths and addresses: with an
 * authenticator, only authenticated callers see them. */
static bool redact_health(lk_web *web, struct MHD_Connection *conn, const char *url) {
        if (!web->authenticate)
                return false;
        char ip[INET6_ADDRSTRLEN];
        client_ip(conn, ip);
        lk_web_caller caller;
        identify(web, conn, MHD_HTTP_METHOD_GET, url, ip, &caller);
        return caller.role == LK_WEB_PUBLIC;
}

static enum MHD_Result serve_health(lk_web *web, struct MHD_Connection *conn, const char *url, bool text) {
        rendered *c = current_rendered(web);
        bool failing = has_query_arg(conn, "failing");
        bool redacted = redact_health(web, conn, url);
        struct MHD_Response *r = text || prefers_text(conn) ? c->health_text[redacted][failing]
                                                            : c->health_json[redacted][failing];
        enum MHD_Result result = MHD_queue_response(conn, c->health_status, r);
        rendered_unref(c);
        return result;
}

static enum MHD_Result serve_readyz(lk_web *web, struct MHD_Connection *conn, const char *url) {
        rendered *c = current_rendered(web);
        bool full = has_query_arg(conn, "full");
        struct MHD_Response *r = full ? c->readyz_full[redact_health(web, conn, url)] : web->empty_body;
        enum MHD_Result result = MHD_queue_response(conn, c->ready_status, r);
        rendered_unref(c);
        return result;
}

static enum MHD_Result serve_livez(lk_web *web, struct MHD_Connection *conn) {
        lk_buf body = LK_BUF_INIT;
        char why[256];
        if (!lk_checker_alive(web->options.checker, why, sizeof why))
                lk_buf_printf(&body, "%s\n", why);
        for (size_t i = 0; i < web->options.loop_count; i++) {
                lk_usec age;
                if (!lk_heartbeat_alive(web->loops[i], &age))
                        lk_buf_printf(&body, "%s has not run for %.1fs\n", web->loops[i]->name,
                                      (double)age / LK_USEC_PER_SEC);
        }
        unsigned status = body.len ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
        if (!body.len)
                lk_buf_puts(&body, "ok\n");
        struct MHD_Response *r = text_response(CONTENT_TEXT, &body);
        enum MHD_Result result = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return result;
}

static enum MHD_Result serve_metrics(lk_web *web, struct MHD_Connection *conn) {
        lk_health_snapshot *s = lk_checker_snapshot(web->options.checker);
        lk_proc_stats proc;
        bool have_proc = lk_proc_stats_read(&proc, LK_PROC_FDS, NULL) == 0;
        lk_alloc_stats heap;
        lk_alloc_stats_get(&heap);
        lk__metrics_input in = {
                .snapshot = s,
                .proc = have_proc ? &proc : NULL,
                .version = web->options.version,
                .commit = web->options.commit,
                .uptime_seconds = (double)(lk_now_realtime() - web->options.started_at) / LK_USEC_PER_SEC,
                .heap_bytes = heap.bytes_in_use,
        };
        lk_buf body = LK_BUF_INIT;
        lk__render_metrics(&body, &in);
        lk_health_snapshot_unref(s);
        for (size_t i = 0; i < web->metrics_count; i++)
                web->metrics[i].fn(web->metrics[i].arg, &body);
        struct MHD_Response *r = text_response(CONTENT_METRICS, &body);
        enum MHD_Result result = MHD_queue_response(conn, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return result;
}

static bool has_body(struct MHD_Connection *conn) {
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
               (length && strspn(length, "0") != strlen(length));
}

typedef enum route { ROUTE_NONE, ROUTE_READYZ, ROUTE_HEALTH, ROUTE_HEALTH_TXT, ROUTE_LIVEZ, ROUTE_METRICS } route;

static route find_route(const char *url) {
        static const struct {
                const char *path;
                route route;
        } routes[] = {
                {"/readyz", ROUTE_READYZ},   {"/health", ROUTE_HEALTH},   {"/health.txt", ROUTE_HEALTH_TXT},
                {"/livez", ROUTE_LIVEZ},     {"/metrics", ROUTE_METRICS},
        };
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
                if (strcmp(url, routes[i].path) == 0)
                        return routes[i].route;
        return ROUTE_NONE;
}

static const route_entry *find_api_route(lk_web *web, const char *url, const char *method, bool *ret_path_known) {
        const route_entry *best = NULL;
        *ret_path_known = false;
        for (size_t i = 0; i < web->route_count; i++) {
                const route_entry *e = &web->routes[i];
                size_t n = strlen(e->prefix);
                if (strncmp(url, e->prefix, n) != 0)
                        continue;
                *ret_path_known = true;
                if (strcmp(method, e->method) == 0 && (!best || n > strlen(best->prefix)))
                        best = e;
        }
        return best;
}

static unsigned long long content_length(struct MHD_Connection *conn) {
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        return length ? strtoull(length, NULL, 10) : 0;
}

const char *lk_web_request_header(const lk_web_request *request, const char *name) {
        return MHD_lookup_connection_value(request->connection, MHD_HEADER_KIND, name);
}

const char *lk_web_request_query(const lk_web_request *request, const char *name) {
        return MHD_lookup_connection_value(request->connection, MHD_GET_ARGUMENT_KIND, name);
}

const char *lk_web_request_cookie(const lk_web_request *request, const char *name) {
        return MHD_lookup_connection_value(request->connection, MHD_COOKIE_KIND, name);
}

void lk_web_response_error(lk_web_response *response, unsigned status, const char *fmt, ...) {
        char detail[LK_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
        response->status = status;
        lk_buf_reset(&response->body);
        lk_buf_puts(&response->body, "{\"errors\":[{\"detail\":\"");
        lk_buf_put_json_escaped(&response->body, detail, strlen(detail));
        lk_buf_puts(&response->body, "\"}]}");
}

static enum MHD_Result queue_api_response(struct MHD_Connection *conn, lk_web_response *response) {
        struct MHD_Response *r = text_response(response->content_type ? response->content_type : CONTENT_JSON,
                                               &response->body);
        if (response->set_cookie)
                MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, response->set_cookie);
        enum MHD_Result result = MHD_queue_response(conn, response->status, r);
        MHD_destroy_response(r);
        lk_buf_done(&response->body);
        lk_freep(&response->set_cookie);
        return result;
}

/* A 503 of the close is out (or its connection gone); the caller holds
 * defer_lock. */
static void forced_done_locked(lk_web *web) {
        if (--web->forced_pending == 0)
                pthread_cond_broadcast(&web->forced_done);
}

/* Drops one hold on d; the caller holds defer_lock. */
static void deferred_unref_locked(lk_web_deferred *d) {
        if (--d->refs > 0)
                return;
        lk_buf_done(&d->response.body);
        lk_free(d->response.set_cookie);
        lk_free(d);
}

static void unlink_suspended_locked(lk_web *web, lk_web_deferred *d) {
        if (!d->suspended)
                return;
        if (d->prev)
                d->prev->next = d->next;
        else
                web->suspended = d->next;
        if (d->next)
                d->next->prev = d->prev;
        d->suspended = false;
}

/* Queues the deferred response and lets the server's hold go. */
static enum MHD_Result answer_deferred(lk_web *web, struct MHD_Connection *conn, api_request *a) {
        lk_web_deferred *d = a->deferred;
        pthread_mutex_lock(&web->defer_lock);
        bool forced = d->forced;
        pthread_mutex_unlock(&web->defer_lock);
        /* A 503 of the close leaves d's response alone: its owner may
         * still be filling it. */
        enum MHD_Result result = forced ? queue_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down", NULL)
                                        : queue_api_response(conn, &d->response);
        pthread_mutex_lock(&web->defer_lock);
        a->deferred = NULL;
        a->forced = d->forced; /* the close waits until it has gone out */
        deferred_unref_locked(d);
        pthread_mutex_unlock(&web->defer_lock);
        return result;
}

/* After the handler deferred: suspend the connection, unless the answer
 * is already there (or the server is closing: 503 now). */
static enum MHD_Result suspend_or_answer(lk_web *web, struct MHD_Connection *conn, api_request *a) {
        lk_web_deferred *d = a->deferred;
        pthread_mutex_lock(&web->defer_lock);
        if (d->state == DEFER_HANDLING && !web->closing) {
                d->state = DEFER_SUSPENDED;
                d->suspended = true;
                d->prev = NULL;
                d->next = web->suspended;
                if (web->suspended)
                        web->suspended->prev = d;
                web->suspended = d;
                MHD_suspend_connection(conn);
                pthread_mutex_unlock(&web->defer_lock);
                return MHD_YES;
        }
        if (d->state == DEFER_HANDLING) {
                /* Closing: 503 now; the owner's later send only lets go. */
                d->state = DEFER_READY;
                a->deferred = NULL;
                deferred_unref_locked(d);
                pthread_mutex_unlock(&web->defer_lock);
                return queue_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down", NULL);
        }
        pthread_mutex_unlock(&web->defer_lock);
        return answer_deferred(web, conn, a);
}

static enum MHD_Result serve_api(lk_web *web, struct MHD_Connection *conn, const char *url, const char *method,
                                 api_request *a) {
        if (a->too_large)
                return queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large", NULL);
        lk_web_request request = {
                .method = method,
                .path = url,
                .tail = url + strlen(a->route->prefix),
                .body = lk_buf_str(&a->body),
                .body_len = a->body.len,
                .client_ip = a->client_ip,
                .caller = &a->caller,
                .connection = conn,
                .state = a,
        };
        lk_web_response response = {.status = MHD_HTTP_OK, .content_type = CONTENT_JSON, .body = LK_BUF_INIT};
        a->route->fn(a->route->arg, &request, &response);
        if (a->deferred) {
                lk_buf_done(&response.body);
                lk_free(response.set_cookie);
                return suspend_or_answer(web, conn, a);
        }
        return queue_api_response(conn, &response);
}

/* A module's route: the body is collected (up to max_body), then the
 * handler answers. */
static enum MHD_Result on_api_request(lk_web *web, struct MHD_Connection *conn, const char *url, const char *method,
                                      const char *upload_data, size_t *upload_data_size, void **request_state) {
        api_request *a = *request_state;
        uint64_t max = web->options.max_body ? web->options.max_body : DEFAULT_MAX_BODY;
        if (!a) {
                bool known;
                const route_entry *entry = find_api_route(web, url, method, &known);
                if (!entry)
                        return queue_error(conn, known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
                                           known ? "method not allowed" : "not found", NULL);
                lk_web_caller caller;
                char ip[INET6_ADDRSTRLEN];
                client_ip(conn, ip);
                /* Public routes learn the caller too: some answer anyone
                 * but do more for a known one. */
                identify(web, conn, method, url, ip, &caller);
                if (entry->min_role != LK_WEB_PUBLIC) {
                        if (caller.role == LK_WEB_PUBLIC)
                                return queue_error(conn, MHD_HTTP_UNAUTHORIZED, "Unauthorized", NULL);
                        if (caller.role < entry->min_role)
                                return queue_error(conn, MHD_HTTP_FORBIDDEN, "Forbidden", NULL);
                }
                if (content_length(conn) > max)
                        return queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large", NULL);
                a = lk_calloc(1, sizeof *a);
                a->web = web;
                a->route = entry;
                a->caller = caller;
                memcpy(a->client_ip, ip, sizeof ip);
                *request_state = a;
                return MHD_YES;
        }
        if (*upload_data_size) {
                /* A chunked body cannot be refused before it is read: it is
                 * read and dropped, and refused at the end. */
                if (a->body.len + *upload_data_size > max)
                        a->too_large = true;
                else
                        lk_buf_append(&a->body, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (a->deferred) /* resumed: the deferred answer is ready */
                return answer_deferred(web, conn, a);
        return serve_api(web, conn, url, method, a);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **request_state,
                         enum MHD_RequestTerminationCode code) {
        (void)conn;
        (void)code;
        lk_web *web = cls;
        api_request *a = *request_state;
        if (a && (void *)a != (void *)web) {
                if (a->deferred || a->forced) {
                        pthread_mutex_lock(&web->defer_lock);
                        if (a->deferred) { /* never answered: the connection went */
                                unlink_suspended_locked(web, a->deferred);
                                if (a->deferred->forced)
                                        forced_done_locked(web);
                                deferred_unref_locked(a->deferred);
                        } else {
                                forced_done_locked(web);
                        }
                        pthread_mutex_unlock(&web->defer_lock);
                }
                lk_buf_done(&a->body);
                lk_free(a);
        }
        *request_state = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **request_state) {
        lk_web *web = cls;
        route r = find_route(url);
        if (r == ROUTE_NONE && web->route_count)
                return on_api_request(web, conn, url, method, upload_data, upload_data_size, request_state);
        if (!*request_state) {
                /* Refusals go out at once; MHD then closes the connection,
                 * which is right for a request we will not read. */
                if (r == ROUTE_NONE)
                        return queue_error(conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
                if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                        return queue_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "GET, HEAD");
                /* MHD cannot answer in the middle of a body, so a body is
                 * refused before it is read. */
                if (has_body(conn))
                        return queue_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "this endpoint takes no request body",
                                           NULL);
                /* Good requests are answered on MHD's second call, once it
                 * knows there is no body left; answering now would make it
                 * close the connection instead of keeping it alive. */
                *request_state = web; /* any non-NULL marker */
                return MHD_YES;
        }
        if (*upload_data_size) {
                *upload_data_size = 0; /* unreachable after has_body(); discard rather than trust it */
                return MHD_YES;
        }
        switch (r) {
        case ROUTE_READYZ: return serve_readyz(web, conn, url);
        case ROUTE_HEALTH: return serve_health(web, conn, url, false);
        case ROUTE_HEALTH_TXT: return serve_health(web, conn, url, true);
        case ROUTE_LIVEZ: return serve_livez(web, conn);
        case ROUTE_METRICS: return serve_metrics(web, conn);
        case ROUTE_NONE: break;
        }
        return MHD_NO;
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap) LK_PRINTF(2, 0);
static void on_mhd_error(void *cls, const char *fmt, va_list ap) {
        lk_web *web = cls;
        char msg[512];
        vsnprintf(msg, sizeof msg, fmt, ap);
        msg[strcspn(msg, "\n")] = '\0';
        lk_log_debug(web->options.log, "HTTP server message", LK_STR("detail", msg));
}

/* Creates the listening socket ourselves, so that a failure to bind says
 * exactly why (MHD only reports that it could not start). */
static int open_listener(lk_web *web, bool *ret_ipv6, lk_err *err) {
        struct sockaddr_storage addr = {0};
        socklen_t addr_len;
        struct sockaddr_in *in4 = (struct sockaddr_in *)&addr;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;
        if (inet_pton(AF_INET, web->listen_ip, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons(web->options.port);
                addr_len = sizeof *in4;
                *ret_ipv6 = false;
        } else if (inet_pton(AF_INET6, web->listen_ip, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(web->options.port);
                addr_len = sizeof *in6;
                *ret_ipv6 = true;
        } else {
                return lk_err_set(err, -EINVAL, "%s: invalid listen address \"%s\"", LK_WEB_NAME, web->listen_ip);
        }
        int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return lk_err_set(err, -errno, "%s: socket: %s", LK_WEB_NAME, strerror(errno));
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&addr, addr_len) < 0 || listen(fd, 1024) < 0) {
                int e = errno;
                close(fd);
                return lk_err_set(err, -e, "%s: cannot listen on %s port %u: %s", LK_WEB_NAME, web->listen_ip,
                                  web->options.port, strerror(e));
        }
        getsockname(fd, (struct sockaddr *)&addr, &addr_len);
        web->port = ntohs(addr.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
        return fd;
}

static int start_locked(void *arg, lk_err *err) {
        lk_web *web = arg;
        bool ipv6 = false;
        int fd = open_listener(web, &ipv6, err);
        if (fd < 0)
                return fd;
        unsigned threads = web->options.threads;
        if (!threads) {
                long cpus = sysconf(_SC_NPROCESSORS_ONLN);
                threads = cpus > 0 ? (unsigned)cpus : 1;
        }
        /* poll(2), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll
         * mode sometimes misses a client's half-close that arrives with a
         * partial request and holds the connection until the 30 s timeout
         * (found by fuzz/fuzz_http).  poll is level-triggered and does not,
         * and with a thread per core it serves the probes just as fast. */
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                         (ipv6 ? MHD_USE_IPv6 : 0);
        /* The logger goes first so that it also receives what MHD says
         * about the options after it. */
        web->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, web,
                                       MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, web,
                                       MHD_OPTION_LISTEN_SOCKET, fd,
                                       MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
                                       MHD_OPTION_CONNECTION_LIMIT, 1024u,
                                       MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                                       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
                                       MHD_OPTION_STRICT_FOR_CLIENT, 1,
                                       MHD_OPTION_NOTIFY_COMPLETED, on_completed, web,
                                       MHD_OPTION_END);
        if (!web->daemon) {
                close(fd);
                return lk_err_set(err, -EIO, "%s: cannot start the HTTP daemon on %s port %u", LK_WEB_NAME,
                                  web->listen_ip, web->port);
        }
        return 0;
}

static int web_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        lk_web *web = (lk_web *)service;
        return lk_once_start(&web->once, LK_WEB_NAME, start_locked, web, err);
}

/* MHD must not stop with suspended connections: they get 503 now (not
 * their owners' responses, which may still be being filled), and a later
 * send only lets its hold go. */
static void resume_all_for_close(lk_web *web) {
        pthread_mutex_lock(&web->defer_lock);
        web->closing = true;
        while (web->suspended) {
                lk_web_deferred *d = web->suspended;
                unlink_suspended_locked(web, d);
                d->state = DEFER_READY;
                d->forced = true;
                web->forced_pending++;
                MHD_resume_connection(d->conn);
        }
        /* The 503s go out before the daemon stops (a bounded wait: a
         * client that does not read cannot hold the close). */
        struct timespec deadline = lk_deadline_after(2 * LK_USEC_PER_SEC);
        while (web->forced_pending > 0)
                if (pthread_cond_timedwait(&web->forced_done, &web->defer_lock, &deadline) == ETIMEDOUT)
                        break;
        pthread_mutex_unlock(&web->defer_lock);
}

static int stop_locked(void *arg, lk_err *err) {
        lk_web *web = arg;
        resume_all_for_close(web);
        /* MHD_stop_daemon closes the listening socket we handed it. */
        MHD_stop_daemon(web->daemon);
        web->daemon = NULL;
        return 0;
}

static int web_close(lk_service *service, lk_err *err) {
        lk_web *web = (lk_web *)service;
        return lk_once_stop(&web->once, LK_WEB_NAME, stop_locked, web, err);
}

static const lk_service_vtable web_vtable = {
        .start = web_start,
        .close = web_close,
};

lk_web *lk_web_new(const lk_web_options *options) {
        lk_web *web = lk_calloc(1, sizeof *web);
        lk_once_init(&web->once);
        web->service = (lk_service){.vtable = &web_vtable, .name = LK_WEB_NAME, .once = &web->once};
        web->options = *options;
        web->listen_ip = lk_strdup(options->listen_ip);
        web->loops = lk_calloc(options->loop_count ? options->loop_count : 1, sizeof *web->loops);
        for (size_t i = 0; i < options->loop_count; i++)
                web->loops[i] = options->loops[i];
        web->empty_body = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(web->empty_body, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        pthread_mutex_init(&web->cache_lock, NULL);
        pthread_mutex_init(&web->defer_lock, NULL);
        lk_cond_init_monotonic(&web->forced_done);
        return web;
}

void lk_web_route(lk_web *web, const char *method, const char *prefix, int min_role, lk_web_handler_fn fn,
                  void *arg) {
        web->routes = lk_realloc(web->routes, (web->route_count + 1) * sizeof *web->routes);
        web->routes[web->route_count++] = (route_entry){lk_strdup(method), lk_strdup(prefix), min_role, fn, arg};
}

lk_web_deferred *lk_web_defer(const lk_web_request *request) {
        api_request *a = request->state;
        lk_web_deferred *d = lk_calloc(1, sizeof *d);
        *d = (lk_web_deferred){.web = a->web,
                               .conn = request->connection,
                               .response = {.status = MHD_HTTP_OK, .content_type = CONTENT_JSON, .body = LK_BUF_INIT},
                               .state = DEFER_HANDLING,
                               .refs = 2};
        a->deferred = d;
        return d;
}

lk_web_response *lk_web_deferred_response(lk_web_deferred *d) {
        return &d->response;
}

void lk_web_deferred_send(lk_web_deferred *d) {
        lk_web *web = d->web;
        pthread_mutex_lock(&web->defer_lock);
        if (d->state == DEFER_SUSPENDED) {
                unlink_suspended_locked(web, d);
                d->state = DEFER_READY;
                MHD_resume_connection(d->conn);
        } else if (d->state == DEFER_HANDLING) {
                d->state = DEFER_READY; /* the handler's thread answers when it returns */
        }
        deferred_unref_locked(d);
        pthread_mutex_unlock(&web->defer_lock);
}

size_t lk_web_route_count(const lk_web *web) {
        return web->route_count;
}

void lk_web_route_at(const lk_web *web, size_t i, const char **ret_method, const char **ret_prefix, int *ret_min_role) {
        *ret_method = web->routes[i].method;
        *ret_prefix = web->routes[i].prefix;
        *ret_min_role = web->routes[i].min_role;
}

void lk_web_set_authenticator(lk_web *web, lk_web_authenticate_fn fn, void *arg) {
        web->authenticate = fn;
        web->authenticate_arg = arg;
}

void lk_web_add_metrics(lk_web *web, lk_web_metrics_fn fn, void *arg) {
        web->metrics = lk_realloc(web->metrics, (web->metrics_count + 1) * sizeof *web->metrics);
        web->metrics[web->metrics_count++] = (metrics_entry){fn, arg};
}

lk_web *lk_web_free(lk_web *web) {
        if (!web)
                return NULL;
        for (size_t i = 0; i < web->route_count; i++) {
                lk_free(web->routes[i].method);
                lk_free(web->routes[i].prefix);
        }
        lk_free(web->routes);
        lk_free(web->metrics);
        if (web->daemon)
                MHD_stop_daemon(web->daemon);
        rendered_unref(web->cache);
        MHD_destroy_response(web->empty_body);
        pthread_mutex_destroy(&web->cache_lock);
        pthread_mutex_destroy(&web->defer_lock);
        pthread_cond_destroy(&web->forced_done);
        lk_once_done(&web->once);
        lk_free(web->loops);
        lk_free(web->listen_ip);
        lk_free(web);
        return NULL;
}

lk_service *lk_web_service(lk_web *web) {
        return &web->service;
}

uint16_t lk_web_port(lk_web *web) {
        return web->port;
}
