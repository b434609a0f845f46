/* The pipeline's HTTP client (see http_client.h): one libcurl multi handle,
 * driven by one thread.  Submitters build the easy handle on their own
 * thread and hand it over through a mutex-protected queue; the client
 * thread starts it, runs every transfer and calls the callbacks.  Nothing
 * but the client thread touches the multi handle, except
 * curl_multi_wakeup, which libcurl documents as callable from any thread. */
#include "http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

#define NAME "http client"
#define TOO_LARGE "http: request body too large"
#define DISALLOWED_FMT                                                                                   \
        "disallowed IP %s. Connections to local/private and multicast networks are disabled by default " \
        "for security reasons"
/* Go's http.Client gives up when a tenth redirect response arrives, having
 * followed nine; curl counts the redirects it follows. */
#define MAX_REDIRECTS 9L
#define SPARE_HANDLES 256
/* Go's Transport refuses response headers past 10 MiB by default; without a
 * cap a hostile server could make us hold an unbounded header list. */
#define MAX_HEADER_BYTES ((size_t)10 << 20)
/* curl_multi_poll returns sooner when a transfer has a timer due or a
 * submitter wakes it; this only bounds an idle wait. */
#define IDLE_POLL_MS 60000

/* An IP address in the form the checks compare: IPv4 (also the IPv4-mapped
 * IPv6 form) in the first four bytes. */
typedef struct ip_address {
        int family; /* AF_INET or AF_INET6 */
        uint8_t bytes[16];
} ip_address;

typedef struct request request;
struct request {
        request *next, *prev; /* the submit queue (next only), then the active list */
        lk_http_client *client;
        uint64_t id;
        CURL *easy;
        char *method;
        char *url;
        char *body; /* never NULL: curl takes "" as an empty POST body */
        size_t body_len;
        struct curl_slist *headers;
        lk_usec deadline;
        uint64_t max_size; /* 0: no cap */
        lk_http_done_fn done;
        void *arg;

        /* The response being received; reset when a new one starts (after a
         * redirect or an interim 1xx). */
        lk_buf response_body;
        char **lines;
        size_t line_count, line_cap;
        size_t header_bytes;
        bool headers_done; /* later header lines are trailers */

        /* Why a callback aborted the transfer, which curl only reports as a
         * write error or a failed connect. */
        int abort_error;
        const char *abort_text;
        char refused_ip[INET6_ADDRSTRLEN];
        char errbuf[CURL_ERROR_SIZE];
};

struct lk_http_client {
        CURLM *multi;
        pthread_t thread;
        bool thread_started;
        uint64_t default_max_size;
        ip_address *blocked;
        size_t blocked_count;
        struct curl_slist *resolve;
        /* Easy handles of finished requests, reset, for the next ones:
         * curl_easy_init allocates and clears a large struct per request.
         * Under lock. */
        CURL *spare[SPARE_HANDLES];
        size_t spare_count;

        pthread_mutex_t lock;
        /* Under lock. */
        request *queue_head, *queue_tail;
        uint64_t *cancels;
        size_t cancel_count, cancel_cap;
        bool closing;
        bool woken; /* a wakeup is pending: later submits need not send another */
        uint64_t last_id;
        size_t in_flight;

        /* Client thread only. */
        request *active;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;

/* curl_global_init is not thread-safe, and pipelines may create clients
 * from several threads. */
static void global_init(void) {
        global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void ip_from_in6(const struct in6_addr *in6, ip_address *ret) {
        if (IN6_IS_ADDR_V4MAPPED(in6)) {
                ret->family = AF_INET;
                memcpy(ret->bytes, &in6->s6_addr[12], 4);
        } else {
                ret->family = AF_INET6;
                memcpy(ret->bytes, in6->s6_addr, 16);
        }
}

static bool ip_from_sockaddr(const struct sockaddr *sa, ip_address *ret) {
        *ret = (ip_address){0};
        if (sa->sa_family == AF_INET) {
                ret->family = AF_INET;
                memcpy(ret->bytes, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
                return true;
        }
        if (sa->sa_family == AF_INET6) {
                ip_from_in6(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ret);
                return true;
        }
        return false;
}

static bool ip_parse(const char *text, ip_address *ret) {
        *ret = (ip_address){0};
        struct in6_addr in6;
        if (inet_pton(AF_INET, text, ret->bytes) == 1) {
                ret->family = AF_INET;
                return true;
        }
        if (inet_pton(AF_INET6, text, &in6) == 1) {
                ip_from_in6(&in6, ret);
                return true;
        }
        return false;
}

static void ip_format(const ip_address *ip, char buf[static INET6_ADDRSTRLEN]) {
        if (!inet_ntop(ip->family, ip->bytes, buf, INET6_ADDRSTRLEN))
                snprintf(buf, INET6_ADDRSTRLEN, "?");
}

/* Go's IP.IsGlobalUnicast, except that all of 0.0.0.0/8 counts as
 * unspecified (Linux does not route it anyway), and minus Go's IsPrivate,
 * as Chainlink's restricted dialer checks both. */
static bool ip_allowed(const ip_address *ip) {
        const uint8_t *b = ip->bytes;
        if (ip->family == AF_INET) {
                if (b[0] == 0 || b[0] == 127 || b[0] == 10)
                        return false; /* unspecified, loopback, private */
                if ((b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168))
                        return false; /* private */
                if (b[0] == 169 && b[1] == 254)
                        return false; /* link-local */
                if (b[0] >= 224 && b[0] <= 239)
                        return false; /* multicast */
                if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
                        return false; /* broadcast */
                return true;
        }
        static const uint8_t zero[15];
        if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
                return false; /* unspecified, loopback */
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
                return false; /* link-local */
        if ((b[0] & 0xfe) == 0xfc)
                return false; /* unique local (private) */
        if (b[0] == 0xff)
                return false; /* multicast */
        return true;
}

static bool ip_refused(const lk_http_client *client, const ip_address *ip) {
        if (!ip_allowed(ip))
                return true;
        for (size_t i = 0; client && i < client->blocked_count; i++)
                if (client->blocked[i].family == ip->family &&
                    memcmp(client->blocked[i].bytes, ip->bytes, ip->family == AF_INET ? 4 : 16) == 0)
                        return true;
        return false;
}

bool lk__http_address_refused(const lk_http_client *client, const struct sockaddr *address) {
        ip_address ip;
        return !ip_from_sockaddr(address, &ip) || ip_refused(client, &ip);
}

/* Go's url.Error names the operation after the method: "Get", "Post". */
static void put_op(lk_buf *out, const char *method) {
        lk_buf_putc(out, method[0]);
        for (const char *p = method + 1; *p; p++)
                lk_buf_putc(out, (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p));
}

/* The URL with any password replaced by "xxxxx", as Go's URL.Redacted, so
 * that credentials in a bridge URL never reach an error text (and from
 * there the database and the logs). */
static void put_redacted_url(lk_buf *out, const char *url) {
        const char *authority = strstr(url, "://");
        if (authority) {
                authority += 3;
                size_t authority_len = strcspn(authority, "/?#");
                const char *at = NULL;
                for (const char *p = authority; p < authority + authority_len; p++)
                        if (*p == '@')
                                at = p;
                const char *colon = at ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
                if (colon) {
                        lk_buf_append(out, url, (size_t)(colon + 1 - url));
                        lk_buf_puts(out, "xxxxx");
                        lk_buf_puts(out, at);
                        return;
                }
        }
        lk_buf_puts(out, url);
}

/* `Get "http://x/": <detail>` as Go's url.Error.  For redirects Go names
 * the URL that failed, which curl calls the effective URL. */
static char *transport_error_text(const request *r, const char *detail) {
        const char *url = r->url;
        long redirects = 0;
        char *effective = NULL;
        if (r->easy && curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_COUNT, &redirects) == CURLE_OK &&
            redirects > 0 && curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
                url = effective;
        lk_buf text = LK_BUF_INIT;
        put_op(&text, r->method);
        lk_buf_puts(&text, " \"");
        put_redacted_url(&text, url);
        lk_buf_printf(&text, "\": %s", detail);
        return lk_buf_steal(&text, NULL);
}

static void reset_response(request *r) {
        lk_buf_reset(&r->response_body);
        for (size_t i = 0; i < r->line_count; i++)
                lk_free(r->lines[i]);
        r->line_count = 0;
        r->header_bytes = 0;
        r->headers_done = false;
}

static CURL *take_easy(lk_http_client *c) {
        CURL *e = NULL;
        pthread_mutex_lock(&c->lock);
        if (c->spare_count > 0)
                e = c->spare[--c->spare_count];
        pthread_mutex_unlock(&c->lock);
        return e ? e : curl_easy_init();
}

/* Reset leaves no option of the last request behind (the restricted
 * callbacks included); connections live in the multi handle's cache. */
static void recycle_easy(lk_http_client *c, CURL *e) {
        curl_easy_reset(e);
        pthread_mutex_lock(&c->lock);
        if (c->spare_count < SPARE_HANDLES) {
                c->spare[c->spare_count++] = e;
                e = NULL;
        }
        pthread_mutex_unlock(&c->lock);
        if (e)
                curl_easy_cleanup(e);
}

static request *request_free(request *r) {
        if (!r)
                return NULL;
        if (r->easy)
                recycle_easy(r->client, r->easy);
        curl_slist_free_all(r->headers);
        reset_response(r);
        lk_free(r->lines);
        lk_buf_done(&r->response_body);
        lk_free(r->method);
        lk_free(r->url);
        lk_free(r->body);
        lk_free(r);
        return NULL;
}

static size_t on_body(char *data, size_t size, size_t count, void *arg) {
        request *r = arg;
        size_t len = size * count;
        if (r->max_size && (len > r->max_size || r->response_body.len > r->max_size - len)) {
                r->abort_error = -EFBIG;
                r->abort_text = TOO_LARGE;
                return 0; /* anything but len aborts the transfer */
        }
        lk_buf_append(&r->response_body, data, len);
        return len;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void add_line(request *r, char *line) {
        if (r->line_count == r->line_cap) {
                r->line_cap = r->line_cap ? 2 * r->line_cap : 16;
                r->lines = lk_realloc(r->lines, r->line_cap * sizeof *r->lines);
        }
        r->lines[r->line_count++] = line;
}

/* curl passes every header line of every response, status lines included:
 * a status line starts a new response, so that only the final one's
 * headers (and body) are kept. */
static size_t on_header(char *data, size_t size, size_t count, void *arg) {
        request *r = arg;
        size_t len = size * count;
        if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
                reset_response(r);
                return len;
        }
        r->header_bytes += len;
        if (r->header_bytes > MAX_HEADER_BYTES) {
                r->abort_error = -EIO;
                r->abort_text = "net/http: server response headers exceeded 10485760 bytes; aborted";
                return 0;
        }
        size_t end = len;
        while (end > 0 && is_space(data[end - 1]))
                end--;
        if (end == 0) {
                r->headers_done = true;
                return len;
        }
        if (r->headers_done)
                return len; /* a trailer: Go keeps those apart from the headers, and so do we (by dropping them) */
        if (data[0] == ' ' || data[0] == '\t') {
                /* An obsolete folded continuation of the previous line. */
                if (r->line_count) {
                        size_t start = 0;
                        while (start < end && is_space(data[start]))
                                start++;
                        char *prev = r->lines[r->line_count - 1];
                        r->lines[r->line_count - 1] =
                                lk_asprintf("%s %.*s", prev, (int)(end - start), data + start);
                        lk_free(prev);
                }
                return len;
        }
        const char *colon = memchr(data, ':', end);
        if (!colon)
                return len;
        size_t name_len = (size_t)(colon - data);
        while (name_len > 0 && is_space(data[name_len - 1]))
                name_len--;
        size_t value = (size_t)(colon + 1 - data);
        while (value < end && is_space(data[value]))
                value++;
        add_line(r, lk_asprintf("%.*s: %.*s", (int)name_len, data, (int)(end - value), data + value));
        return len;
}

/* Runs for every connection a restricted request opens, after DNS and
 * before connect, so that a refused address is never even connected to. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *address) {
        request *r = arg;
        if (lk__http_address_refused(r->client, &address->addr)) {
                ip_address ip;
                if (ip_from_sockaddr(&address->addr, &ip))
                        ip_format(&ip, r->refused_ip);
                else
                        snprintf(r->refused_ip, sizeof r->refused_ip, "(address family %d)", address->family);
                return CURL_SOCKET_BAD;
        }
        return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* Runs before every request a restricted transfer sends, each redirect
 * included, on a new connection or a reused one.  on_open_socket does not
 * see a reused connection, and curl ignores FRESH_CONNECT when it follows
 * a redirect: without this, a redirect to 127.0.0.1 could ride on a
 * connection an unrestricted request left in the pool. */
static int on_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port, int local_port) {
        request *r = arg;
        ip_address ip;
        if (ip_parse(primary_ip, &ip) && !ip_refused(r->client, &ip))
                return CURL_PREREQFUNC_OK;
        snprintf(r->refused_ip, sizeof r->refused_ip, "%s", primary_ip);
        if (ip.family)
                ip_format(&ip, r->refused_ip);
        return CURL_PREREQFUNC_ABORT;
}

const char *lk_http_response_header(const lk_http_response *response, const char *name) {
        size_t len = strlen(name);
        for (size_t i = 0; i < response->header_count; i++) {
                const char *line = response->headers[i];
                if (strncasecmp(line, name, len) == 0 && line[len] == ':') {
                        const char *value = line + len + 1;
                        while (*value == ' ' || *value == '\t')
                                value++;
                        return value;
                }
        }
        return NULL;
}

/* Hands the result to the callback and frees the request. */
static void finish(lk_http_client *c, request *r, int error, const char *error_text) {
        pthread_mutex_lock(&c->lock);
        c->in_flight--;
        pthread_mutex_unlock(&c->lock);
        lk_http_response response = {.error = error, .error_text = error_text, .body = ""};
        if (!error) {
                curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &response.status);
                response.body = lk_buf_str(&r->response_body);
                response.body_len = r->response_body.len;
                response.headers = (const char *const *)r->lines;
                response.header_count = r->line_count;
        }
        r->done(r->arg, &response);
        request_free(r);
}

static void finish_with_detail(lk_http_client *c, request *r, int error, const char *detail) {
        char *text = transport_error_text(r, detail);
        finish(c, r, error, text);
        lk_free(text);
}

static void detach(lk_http_client *c, request *r) {
        curl_multi_remove_handle(c->multi, r->easy);
        if (r->prev)
                r->prev->next = r->next;
        else
                c->active = r->next;
        if (r->next)
                r->next->prev = r->prev;
        r->next = r->prev = NULL;
}

static void complete(lk_http_client *c, request *r, CURLcode code) {
        if (code == CURLE_OK) {
                finish(c, r, 0, NULL);
                return;
        }
        if (r->abort_error) {
                finish(c, r, r->abort_error, r->abort_text);
                return;
        }
        if (r->refused_ip[0]) {
                char text[256];
                snprintf(text, sizeof text, DISALLOWED_FMT, r->refused_ip);
                finish(c, r, -EACCES, text);
                return;
        }
        const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
        if (code == CURLE_OPERATION_TIMEDOUT) {
                /* Go says "context deadline exceeded" and adds why in
                 * parentheses (as for Client.Timeout). */
                char text[CURL_ERROR_SIZE + 64];
                snprintf(text, sizeof text, "context deadline exceeded (%s)", detail);
                finish_with_detail(c, r, -ETIMEDOUT, text);
        } else if (code == CURLE_TOO_MANY_REDIRECTS) {
                finish_with_detail(c, r, -EIO, "stopped after 10 redirects");
        } else if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
                finish_with_detail(c, r, -EINVAL, detail);
        } else {
                finish_with_detail(c, r, -EIO, detail);
        }
}

static void start(lk_http_client *c, request *r) {
        if (r->deadline != LK_USEC_INFINITY) {
                lk_usec left = r->deadline - lk_now_monotonic();
                if (left <= 0) {
                        finish_with_detail(c, r, -ETIMEDOUT, "context deadline exceeded");
                        return;
                }
                lk_usec ms = (left + LK_USEC_PER_MSEC - 1) / LK_USEC_PER_MSEC;
                curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, ms > LONG_MAX ? LONG_MAX : (long)ms);
        }
        CURLMcode m = curl_multi_add_handle(c->multi, r->easy);
        if (m != CURLM_OK) {
                finish_with_detail(c, r, -EIO, curl_multi_strerror(m));
                return;
        }
        r->prev = NULL;
        r->next = c->active;
        if (c->active)
                c->active->prev = r;
        c->active = r;
}

static request *find_active(lk_http_client *c, uint64_t id) {
        for (request *r = c->active; r; r = r->next)
                if (r->id == id)
                        return r;
        return NULL;
}

static void *run(void *arg) {
        lk_http_client *c = arg;
        for (;;) {
                pthread_mutex_lock(&c->lock);
                request *queue = c->queue_head;
                c->queue_head = c->queue_tail = NULL;
                uint64_t *cancels = c->cancels;
                size_t cancel_count = c->cancel_count;
                c->cancels = NULL;
                c->cancel_count = c->cancel_cap = 0;
                bool closing = c->closing;
                c->woken = false;
                pthread_mutex_unlock(&c->lock);

                /* Submits first: a cancel always follows its submit, and may
                 * be in this same batch. */
                while (queue) {
                        request *r = queue;
                        queue = r->next;
                        r->next = NULL;
                        if (closing)
                                finish_with_detail(c, r, -ECANCELED, "context canceled");
                        else
                                start(c, r);
                }
                for (size_t i = 0; i < cancel_count; i++) {
                        request *r = find_active(c, cancels[i]);
                        if (r) {
                                detach(c, r);
                                finish_with_detail(c, r, -ECANCELED, "context canceled");
                        }
                }
                lk_free(cancels);
                if (closing) {
                        /* closing was set under the lock, so no submit can
                         * have slipped in since: this is the last batch. */
                        while (c->active) {
                                request *r = c->active;
                                detach(c, r);
                                finish_with_detail(c, r, -ECANCELED, "context canceled");
                        }
                        return NULL;
                }

                int running;
                curl_multi_perform(c->multi, &running);
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(c->multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        /* msg does not survive curl_multi_remove_handle. */
                        CURLcode code = msg->data.result;
                        char *private = NULL;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private);
                        request *r = (request *)(void *)private;
                        detach(c, r);
                        complete(c, r, code);
                }
                if (curl_multi_poll(c->multi, NULL, 0, IDLE_POLL_MS, NULL) != CURLM_OK) {
                        /* Only when poll(2) itself fails: do not spin. */
                        struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};
                        nanosleep(&pause, NULL);
                }
        }
}

/* A method is an HTTP token, as Go's validMethod requires. */
static bool valid_method(const char *method) {
        if (!*method)
                return false;
        for (const char *p = method; *p; p++)
                if (*p <= ' ' || *p >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *p))
                        return false;
        return true;
}

/* Go's http.NewRequest fails on an unparsable URL and Client.Do on a
 * scheme other than http and https; both are caught here, before a
 * request exists. */
static int check_url(const char *method, const char *url, lk_err *err) {
        CURLU *u = curl_url();
        if (!u)
                return lk_err_set(err, -ENOMEM, "%s: out of memory", NAME);
        int r = 0;
        char *scheme = NULL;
        CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
        if (uc != CURLUE_OK) {
                lk_buf text = LK_BUF_INIT;
                put_redacted_url(&text, url);
                r = lk_err_set(err, -EINVAL, "parse \"%s\": %s", lk_buf_str(&text), curl_url_strerror(uc));
                lk_buf_done(&text);
        } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || !scheme ||
                   (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
                lk_buf text = LK_BUF_INIT;
                put_op(&text, method);
                lk_buf_puts(&text, " \"");
                put_redacted_url(&text, url);
                r = lk_err_set(err, -EINVAL, "%s\": unsupported protocol scheme \"%s\"", lk_buf_str(&text),
                               scheme ? scheme : "");
                lk_buf_done(&text);
        }
        curl_free(scheme);
        curl_url_cleanup(u);
        return r;
}

static bool header_named(const char *line, const char *name) {
        size_t len = strlen(name);
        return strncasecmp(line, name, len) == 0 && (line[len] == ':' || line[len] == ' ' || line[len] == '\t');
}

/* The request headers as curl takes them, plus the suppression of the
 * headers curl adds on its own and Go's client does not send. */
static int build_headers(request *r, const lk_http_request *req, bool posts_body, lk_err *err) {
        bool has_accept = false, has_expect = false, has_content_type = false;
        for (size_t i = 0; i < req->header_count; i++) {
                const char *line = req->headers[i];
                const char *colon = line ? strchr(line, ':') : NULL;
                if (!colon || colon == line || strpbrk(line, "\r\n") || strcspn(line, " \t") < (size_t)(colon - line))
                        return lk_err_set(err, -EINVAL, "net/http: invalid header line \"%s\"",
                                          line ? line : "(null)");
                has_accept |= header_named(line, "Accept");
                has_expect |= header_named(line, "Expect");
                has_content_type |= header_named(line, "Content-Type");
                /* Go trims the value; and "Name:" would make curl drop the
                 * header, where "Name;" sends it empty. */
                const char *value = colon + 1;
                while (*value == ' ' || *value == '\t')
                        value++;
                size_t value_len = strlen(value);
                while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
                        value_len--;
                char *trimmed = value_len ? lk_asprintf("%.*s: %.*s", (int)(colon - line), line, (int)value_len, value)
                                          : lk_asprintf("%.*s;", (int)(colon - line), line);
                struct curl_slist *next = curl_slist_append(r->headers, trimmed);
                lk_free(trimmed);
                if (!next)
                        return lk_err_set(err, -ENOMEM, "%s: out of memory", NAME);
                r->headers = next;
        }
        /* "Expect: 100-continue" would cost a round trip (or a one-second
         * wait) on every large POST. */
        const char *suppress[3];
        size_t n = 0;
        if (!has_expect)
                suppress[n++] = "Expect:";
        if (!has_accept)
                suppress[n++] = "Accept:";
        if (posts_body && !has_content_type)
                suppress[n++] = "Content-Type:"; /* not curl's form-urlencoded default */
        for (size_t i = 0; i < n; i++) {
                struct curl_slist *next = curl_slist_append(r->headers, suppress[i]);
                if (!next)
                        return lk_err_set(err, -ENOMEM, "%s: out of memory", NAME);
                r->headers = next;
        }
        return 0;
}

/* Go sends a body (if only "Content-Length: 0") with POST, PUT and PATCH,
 * and with any other method given one, except HEAD. */
static bool sends_body(const char *method, size_t body_len) {
        if (strcmp(method, "HEAD") == 0)
                return false;
        return body_len || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
}

static int build_easy(lk_http_client *c, request *r, bool restricted, lk_err *err) {
        CURL *e = r->easy = take_easy(c);
        if (!e)
                return lk_err_set(err, -ENOMEM, "%s: cannot create a curl handle", NAME);
        CURLcode code = CURLE_OK;
#define SET(option, value)                                        \
        do {                                                      \
                if (code == CURLE_OK)                             \
                        code = curl_easy_setopt(e, option, value); \
        } while (0)
        SET(CURLOPT_URL, r->url);
        SET(CURLOPT_PRIVATE, (char *)r);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, MAX_REDIRECTS);
        SET(CURLOPT_ERRORBUFFER, r->errbuf);
        SET(CURLOPT_WRITEFUNCTION, on_body);
        SET(CURLOPT_WRITEDATA, r);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, r);
        SET(CURLOPT_HTTPHEADER, r->headers);
        if (c->resolve)
                SET(CURLOPT_RESOLVE, c->resolve);
        bool body = sends_body(r->method, r->body_len);
        if (strcmp(r->method, "HEAD") == 0)
                SET(CURLOPT_NOBODY, 1L);
        if (body) {
                SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
                SET(CURLOPT_POSTFIELDS, r->body);
        }
        /* POSTFIELDS makes curl say POST, NOBODY HEAD, neither GET. */
        if (strcmp(r->method, "POST") != 0 && strcmp(r->method, "HEAD") != 0 &&
            (strcmp(r->method, "GET") != 0 || body))
                SET(CURLOPT_CUSTOMREQUEST, r->method);
        if (restricted) {
                SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
                SET(CURLOPT_OPENSOCKETDATA, r);
                SET(CURLOPT_PREREQFUNCTION, on_prereq);
                SET(CURLOPT_PREREQDATA, r);
                /* A pooled connection was checked (or not) when an earlier
                 * request opened it: one an unrestricted request opened to
                 * 127.0.0.1 must not carry a restricted one.  (on_prereq
                 * would refuse it too, but only after the reuse.) */
                SET(CURLOPT_FRESH_CONNECT, 1L);
                SET(CURLOPT_FORBID_REUSE, 1L);
        }
#undef SET
        if (code != CURLE_OK)
                return lk_err_set(err, -EINVAL, "%s: %s", NAME, curl_easy_strerror(code));
        return 0;
}

int lk_http_client_submit(lk_http_client *client, const lk_http_request *req, lk_http_done_fn done, void *arg,
                          uint64_t *ret_id, lk_err *err) {
        const char *method = req->method && *req->method ? req->method : "GET";
        if (!done)
                return lk_err_set(err, -EINVAL, "%s: no callback", NAME);
        if (!valid_method(method))
                return lk_err_set(err, -EINVAL, "net/http: invalid method \"%s\"", method);
        if (!req->url)
                return lk_err_set(err, -EINVAL, "%s: no URL", NAME);
        int ret = check_url(method, req->url, err);
        if (ret < 0)
                return ret;
        if (req->body_len && !req->body)
                return lk_err_set(err, -EINVAL, "%s: body_len without a body", NAME);

        request *r = lk_calloc(1, sizeof *r);
        r->client = client;
        r->method = lk_strdup(method);
        r->url = lk_strdup(req->url);
        r->body = lk_malloc(req->body_len + 1);
        if (req->body_len)
                memcpy(r->body, req->body, req->body_len);
        r->body[req->body_len] = '\0';
        r->body_len = req->body_len;
        r->deadline = req->deadline;
        r->max_size = req->max_response_size ? req->max_response_size : client->default_max_size;
        r->done = done;
        r->arg = arg;
        ret = build_headers(r, req, sends_body(method, req->body_len), err);
        if (ret >= 0)
                ret = build_easy(client, r, req->restricted, err);
        if (ret < 0) {
                request_free(r);
                return ret;
        }

        pthread_mutex_lock(&client->lock);
        if (client->closing) {
                pthread_mutex_unlock(&client->lock);
                request_free(r);
                return lk_err_set(err, -ECANCELED, "%s: shutting down", NAME);
        }
        r->id = ++client->last_id;
        if (client->queue_tail)
                client->queue_tail->next = r;
        else
                client->queue_head = r;
        client->queue_tail = r;
        client->in_flight++;
        if (!client->woken) {
                client->woken = true;
                curl_multi_wakeup(client->multi);
        }
        uint64_t id = r->id; /* r belongs to the client thread once unlocked */
        pthread_mutex_unlock(&client->lock);
        if (ret_id)
                *ret_id = id;
        return 0;
}

void lk_http_client_cancel(lk_http_client *client, uint64_t id) {
        if (!client || !id)
                return;
        pthread_mutex_lock(&client->lock);
        if (!client->closing && id <= client->last_id) {
                if (client->cancel_count == client->cancel_cap) {
                        client->cancel_cap = client->cancel_cap ? 2 * client->cancel_cap : 8;
                        client->cancels = lk_realloc(client->cancels, client->cancel_cap * sizeof *client->cancels);
                }
                client->cancels[client->cancel_count++] = id;
                if (!client->woken) {
                        client->woken = true;
                        curl_multi_wakeup(client->multi);
                }
        }
        pthread_mutex_unlock(&client->lock);
}

size_t lk_http_client_in_flight(lk_http_client *client) {
        pthread_mutex_lock(&client->lock);
        size_t n = client->in_flight;
        pthread_mutex_unlock(&client->lock);
        return n;
}

int lk_http_client_new(const lk_http_client_options *options, lk_http_client **ret_client, lk_err *err) {
        static const lk_http_client_options no_options;
        if (!options)
                options = &no_options;
        pthread_once(&global_once, global_init);
        if (global_result != CURLE_OK)
                return lk_err_set(err, -EIO, "%s: curl_global_init: %s", NAME, curl_easy_strerror(global_result));

        lk_http_client *c = lk_calloc(1, sizeof *c);
        pthread_mutex_init(&c->lock, NULL);
        c->default_max_size = options->max_response_size;
        int ret = 0;
        c->blocked = lk_calloc(options->blocked_address_count ? options->blocked_address_count : 1, sizeof *c->blocked);
        for (size_t i = 0; i < options->blocked_address_count && ret == 0; i++) {
                const char *text = options->blocked_addresses[i];
                if (!text || !ip_parse(text, &c->blocked[c->blocked_count++]))
                        ret = lk_err_set(err, -EINVAL, "%s: blocked address \"%s\" is not an IP address", NAME,
                                         text ? text : "(null)");
        }
        for (size_t i = 0; i < options->resolve_count && ret == 0; i++) {
                struct curl_slist *next = curl_slist_append(c->resolve, options->resolve[i]);
                if (!next)
                        ret = lk_err_set(err, -ENOMEM, "%s: out of memory", NAME);
                else
                        c->resolve = next;
        }
        if (ret == 0 && !(c->multi = curl_multi_init()))
                ret = lk_err_set(err, -ENOMEM, "%s: cannot create a curl multi handle", NAME);
        if (ret == 0) {
                int r = pthread_create(&c->thread, NULL, run, c);
                if (r != 0)
                        ret = lk_err_set(err, -r, "%s: cannot start its thread: %s", NAME, strerror(r));
                else {
                        c->thread_started = true;
                        pthread_setname_np(c->thread, "lk-http");
                }
        }
        if (ret < 0) {
                lk_http_client_free(c);
                return ret;
        }
        *ret_client = c;
        return 0;
}

lk_http_client *lk_http_client_free(lk_http_client *client) {
        if (!client)
                return NULL;
        if (client->thread_started) {
                pthread_mutex_lock(&client->lock);
                client->closing = true;
                curl_multi_wakeup(client->multi);
                pthread_mutex_unlock(&client->lock);
                pthread_join(client->thread, NULL);
        }
        if (client->multi)
                curl_multi_cleanup(client->multi);
        for (size_t i = 0; i < client->spare_count; i++)
                curl_easy_cleanup(client->spare[i]);
        curl_slist_free_all(client->resolve);
        lk_free(client->blocked);
        lk_free(client->cancels);
        pthread_mutex_destroy(&client->lock);
        lk_free(client);
        return NULL;
}
