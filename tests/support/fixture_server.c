/* The fixture HTTP server (see fixture_server.h). */
#include "fixture_server.h"

#include "lktest.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "linkd/ctx.h"
#include "linkd/time.h"

struct lkfx_server {
        struct MHD_Daemon *daemon;
        char ip[INET_ADDRSTRLEN];
        uint16_t port;
        pthread_mutex_t lock;
        pthread_cond_t changed; /* a request was recorded, or the server is stopping */
        bool stopping;
        lkfx_request *log;
        size_t log_count, log_cap;
};

/* One request as it arrives; MHD keeps it in *con_cls between calls. */
typedef struct exchange {
        char *uri; /* the raw request target, query included */
        char *body;
        size_t body_len, body_cap;
        bool started;
} exchange;

static void *xmalloc(size_t size) {
        void *p = malloc(size ? size : 1);
        if (!p)
                abort();
        return p;
}

static char *xstrdup(const char *s) {
        size_t len = strlen(s);
        char *copy = xmalloc(len + 1);
        memcpy(copy, s, len + 1);
        return copy;
}

static char *xmemdup0(const char *s, size_t len) {
        char *copy = xmalloc(len + 1);
        if (len)
                memcpy(copy, s, len);
        copy[len] = '\0';
        return copy;
}

/* MHD calls this before the first call of on_request, with the raw URI,
 * which on_request only gets without its query string. */
static void *log_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
        exchange *x = calloc(1, sizeof *x);
        if (!x)
                abort();
        x->uri = xstrdup(uri);
        return x;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
        exchange *x = *con_cls;
        if (!x)
                return;
        free(x->uri);
        free(x->body);
        free(x);
        *con_cls = NULL;
}

typedef struct header_list {
        char **lines;
        size_t count, cap;
} header_list;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        header_list *list = cls;
        if (list->count == list->cap) {
                list->cap = list->cap ? 2 * list->cap : 16;
                list->lines = realloc(list->lines, list->cap * sizeof *list->lines);
                if (!list->lines)
                        abort();
        }
        size_t len = strlen(key) + strlen(value ? value : "") + 3;
        char *line = xmalloc(len);
        snprintf(line, len, "%s: %s", key, value ? value : "");
        list->lines[list->count++] = line;
        return MHD_YES;
}

static void record(lkfx_server *s, struct MHD_Connection *conn, const char *method, const exchange *x) {
        header_list headers = {0};
        MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers);
        lkfx_request req = {
                .method = xstrdup(method),
                .path = xstrdup(x->uri),
                .body = xmemdup0(x->body, x->body_len),
                .body_len = x->body_len,
                .headers = headers.lines,
                .header_count = headers.count,
        };
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (info && info->client_addr && info->client_addr->sa_family == AF_INET)
                req.client_port = ntohs(((const struct sockaddr_in *)(const void *)info->client_addr)->sin_port);
        pthread_mutex_lock(&s->lock);
        if (s->log_count == s->log_cap) {
                s->log_cap = s->log_cap ? 2 * s->log_cap : 32;
                s->log = realloc(s->log, s->log_cap * sizeof *s->log);
                if (!s->log)
                        abort();
        }
        s->log[s->log_count++] = req;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
}

static const char *arg(struct MHD_Connection *conn, const char *key) {
        return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

static unsigned long arg_ulong(struct MHD_Connection *conn, const char *key, unsigned long fallback) {
        const char *v = arg(conn, key);
        if (!v || !*v)
                return fallback;
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        return *end ? fallback : n;
}

/* Queues a response that owns data (malloc'd), with an optional extra header. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *content_type, char *data,
                               size_t len, const char *header, const char *value) {
        struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(data);
                return MHD_NO;
        }
        if (content_type)
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        if (header)
                MHD_add_response_header(r, header, value);
        enum MHD_Result result = MHD_queue_response(conn, status, r);
        MHD_destroy_response(r);
        return result;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *content_type,
                                    const char *text) {
        return respond(conn, status, content_type, xstrdup(text), strlen(text), NULL, NULL);
}

/* Sleeps ms, cut short when the server stops so that lkfx_stop never
 * waits out a slow request. */
static void slow_wait(lkfx_server *s, unsigned long ms) {
        struct timespec until = lk_deadline_after((lk_usec)ms * LK_USEC_PER_MSEC);
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && pthread_cond_timedwait(&s->changed, &s->lock, &until) == 0) {
        }
        pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result serve_echo(struct MHD_Connection *conn, const char *method, const exchange *x) {
        header_list headers = {0};
        MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers);
        json_t *by_name = json_object();
        for (size_t i = 0; i < headers.count; i++) {
                char *line = headers.lines[i];
                char *colon = strchr(line, ':');
                *colon = '\0';
                for (char *p = line; *p; p++)
                        if (*p >= 'A' && *p <= 'Z')
                                *p = (char)(*p - 'A' + 'a');
                const char *value = colon + 2;
                json_t *prev = json_object_get(by_name, line);
                if (prev) {
                        size_t len = strlen(json_string_value(prev)) + strlen(value) + 3;
                        char *joined = xmalloc(len);
                        snprintf(joined, len, "%s, %s", json_string_value(prev), value);
                        json_object_set_new(by_name, line, json_string(joined));
                        free(joined);
                } else {
                        json_object_set_new(by_name, line, json_string(value));
                }
                free(line);
        }
        free(headers.lines);
        json_t *body = json_stringn(x->body ? x->body : "", x->body_len);
        json_t *echo = json_object();
        json_object_set_new(echo, "method", json_string(method));
        json_object_set_new(echo, "path", json_string(x->uri));
        json_object_set_new(echo, "headers", by_name);
        json_object_set_new(echo, "body", body ? body : json_null());
        char *text = json_dumps(echo, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(echo);
        return respond(conn, MHD_HTTP_OK, "application/json", text, strlen(text), NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        lkfx_server *s = cls;
        exchange *x = *con_cls;
        if (!x) {
                /* Not reached with the URI logger installed; kept so that
                 * a missing exchange is a clean 500, not a crash. */
                return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "no exchange");
        }
        if (!x->started) {
                /* The first call comes before any of the body. */
                x->started = true;
                return MHD_YES;
        }
        if (*upload_data_size) {
                if (x->body_len + *upload_data_size + 1 > x->body_cap) {
                        x->body_cap = 2 * (x->body_len + *upload_data_size + 1);
                        x->body = realloc(x->body, x->body_cap);
                        if (!x->body)
                                abort();
                }
                memcpy(x->body + x->body_len, upload_data, *upload_data_size);
                x->body_len += *upload_data_size;
                *upload_data_size = 0;
                return MHD_YES;
        }
        record(s, conn, method, x);

        if (strcmp(url, "/json") == 0) {
                const char *body = arg(conn, "body");
                return respond_text(conn, MHD_HTTP_OK, "application/json", body ? body : "{\"ok\":true}");
        }
        if (strcmp(url, "/text") == 0)
                return respond_text(conn, MHD_HTTP_OK, "text/plain", "hello world");
        if (strcmp(url, "/slow") == 0) {
                slow_wait(s, arg_ulong(conn, "ms", 1000));
                const char *body = arg(conn, "body");
                return respond_text(conn, MHD_HTTP_OK, "application/json", body ? body : "{\"ok\":true}");
        }
        if (strcmp(url, "/status") == 0) {
                const char *body = arg(conn, "body");
                return respond_text(conn, (unsigned)arg_ulong(conn, "code", 200), "text/plain", body ? body : "");
        }
        if (strcmp(url, "/big") == 0) {
                size_t n = arg_ulong(conn, "bytes", 0);
                char *data = xmalloc(n);
                memset(data, 'a', n);
                if (arg_ulong(conn, "json", 0) && n >= 2) {
                        data[0] = data[n - 1] = '"';
                        return respond(conn, MHD_HTTP_OK, "application/json", data, n, NULL, NULL);
                }
                return respond(conn, MHD_HTTP_OK, "text/plain", data, n, NULL, NULL);
        }
        if (strcmp(url, "/redirect") == 0) {
                const char *to = arg(conn, "to");
                return respond(conn, (unsigned)arg_ulong(conn, "code", MHD_HTTP_FOUND), NULL, xstrdup(""), 0,
                               MHD_HTTP_HEADER_LOCATION, to ? to : "/redirect");
        }
        if (strcmp(url, "/pending") == 0)
                return respond(conn, MHD_HTTP_OK, "application/json", xstrdup("{}"), 2, "X-Chainlink-Pending", "true");
        if (strcmp(url, "/echo") == 0)
                return serve_echo(conn, method, x);
        return respond_text(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found");
}

lkfx_server *lkfx_start(void) {
        return lkfx_start_on("127.0.0.1");
}

lkfx_server *lkfx_start_on(const char *ip) {
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
        if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
                fail_msg("fixture server: %s is not an IPv4 address", ip);
        lkfx_server *s = calloc(1, sizeof *s);
        if (!s)
                abort();
        snprintf(s->ip, sizeof s->ip, "%s", ip);
        pthread_mutex_init(&s->lock, NULL);
        lk_cond_init_monotonic(&s->changed);
        /* A thread per connection: /slow sleeps in the handler. */
        s->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL,
                                     0, NULL, NULL, on_request, s,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                     MHD_OPTION_URI_LOG_CALLBACK, log_uri, s,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                     MHD_OPTION_CONNECTION_LIMIT, 1000u,
                                     MHD_OPTION_END);
        if (!s->daemon)
                fail_msg("fixture server: cannot start libmicrohttpd on %s", ip);
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || !info->port)
                fail_msg("fixture server: no port");
        s->port = info->port;
        return s;
}

static void request_clear(lkfx_request *r) {
        free(r->method);
        free(r->path);
        free(r->body);
        for (size_t i = 0; i < r->header_count; i++)
                free(r->headers[i]);
        free(r->headers);
        *r = (lkfx_request){0};
}

lkfx_server *lkfx_stop(lkfx_server *s) {
        if (!s)
                return NULL;
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        if (s->daemon)
                MHD_stop_daemon(s->daemon);
        lkfx_reset(s);
        free(s->log);
        pthread_cond_destroy(&s->changed);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

uint16_t lkfx_port(const lkfx_server *s) {
        return s->port;
}

char *lkfx_url(const lkfx_server *s, const char *path) {
        size_t len = strlen(path) + INET_ADDRSTRLEN + 16;
        char *url = xmalloc(len);
        snprintf(url, len, "http://%s:%u%s", s->ip, (unsigned)s->port, path);
        return url;
}

static bool matches(const lkfx_request *r, const char *prefix) {
        return strncmp(r->path, prefix, strlen(prefix)) == 0;
}

size_t lkfx_hits(lkfx_server *s, const char *path_prefix) {
        size_t n = 0;
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->log_count; i++)
                n += matches(&s->log[i], path_prefix);
        pthread_mutex_unlock(&s->lock);
        return n;
}

bool lkfx_wait_hits(lkfx_server *s, const char *path_prefix, size_t count, unsigned timeout_ms) {
        struct timespec until = lk_deadline_after((lk_usec)timeout_ms * LK_USEC_PER_MSEC);
        bool reached = false;
        pthread_mutex_lock(&s->lock);
        for (;;) {
                size_t n = 0;
                for (size_t i = 0; i < s->log_count; i++)
                        n += matches(&s->log[i], path_prefix);
                if (n >= count) {
                        reached = true;
                        break;
                }
                if (pthread_cond_timedwait(&s->changed, &s->lock, &until) != 0)
                        break;
        }
        pthread_mutex_unlock(&s->lock);
        return reached;
}

bool lkfx_last(lkfx_server *s, const char *path_prefix, lkfx_request *ret) {
        *ret = (lkfx_request){0};
        bool found = false;
        pthread_mutex_lock(&s->lock);
        for (size_t i = s->log_count; i-- > 0;) {
                const lkfx_request *r = &s->log[i];
                if (!matches(r, path_prefix))
                        continue;
                ret->method = xstrdup(r->method);
                ret->path = xstrdup(r->path);
                ret->body = xmemdup0(r->body, r->body_len);
                ret->body_len = r->body_len;
                ret->headers = xmalloc(r->header_count * sizeof *ret->headers);
                for (size_t j = 0; j < r->header_count; j++)
                        ret->headers[j] = xstrdup(r->headers[j]);
                ret->header_count = r->header_count;
                ret->client_port = r->client_port;
                found = true;
                break;
        }
        pthread_mutex_unlock(&s->lock);
        return found;
}

void lkfx_reset(lkfx_server *s) {
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->log_count; i++)
                request_clear(&s->log[i]);
        s->log_count = 0;
        pthread_mutex_unlock(&s->lock);
}

const char *lkfx_request_header(const lkfx_request *r, const char *name) {
        size_t len = strlen(name);
        for (size_t i = 0; i < r->header_count; i++)
                if (strncasecmp(r->headers[i], name, len) == 0 && r->headers[i][len] == ':')
                        return r->headers[i] + len + 2;
        return NULL;
}

void lkfx_request_done(lkfx_request *r) {
        if (r)
                request_clear(r);
}
