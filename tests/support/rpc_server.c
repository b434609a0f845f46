/* See rpc_server.h. */
#include "rpc_server.h"

#include "lktest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define WITH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang */
#define WITH_ASAN 1
#endif
#endif
#if defined(WITH_ASAN)
#include <sanitizer/lsan_interface.h>
#define LSAN_IGNORE(statement)                                                                                     \
        do {                                                                                                       \
                __lsan_disable();                                                                                  \
                statement;                                                                                         \
                __lsan_enable();                                                                                   \
        } while (0)
#else
#define LSAN_IGNORE(statement) statement
#endif

typedef struct message {
        struct message *next;
        char *text;
        size_t len;
        int pieces; /* fragments to send it as */
} message;

/* An HTTP exchange: libwebsockets' per-connection space. */
typedef struct http_session {
        lk_buf body;
        char *reply; /* to write once the headers are out */
} http_session;

struct lkrs_server {
        struct lws_context *context;
        struct lws_protocols protocols[2];
        pthread_t thread;
        atomic_bool stop;
        pthread_mutex_t lock; /* all below */
        bool drop;
        int port;
        lkrs_behaviour behaviour;
        unsigned chain_id;
        struct lws *wsi; /* the WebSocket connection: one at a time */
        message *out;
        int piece;       /* of out's first message, already sent */
        lk_buf rx;
        int subscribes, connections;
};

static void send_locked(lkrs_server *s, char *text, int pieces) {
        message *m = lk_calloc(1, sizeof *m), **p = &s->out;
        m->text = text;
        m->len = strlen(text);
        m->pieces = pieces;
        while (*p)
                p = &(*p)->next;
        *p = m;
}

static void free_messages(lkrs_server *s) {
        for (message *m; (m = s->out);) {
                s->out = m->next;
                lk_free(m->text);
                lk_free(m);
        }
        s->piece = 0;
}

static char *big_answer(json_int_t id) {
        char *filler = lk_malloc(LKRS_BIG_LEN + 1);
        memset(filler, 'a', LKRS_BIG_LEN);
        filler[LKRS_BIG_LEN] = '\0';
        char *text = lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"%s\"}", (long long)id, filler);
        lk_free(filler);
        return text;
}

static char *result_text(json_int_t id, const char *result) {
        return lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":%s}", (long long)id, result);
}

/* Under the lock: the answer to one request, by the behaviour, into
 * *ret_text (NULL: none) to be sent in *ret_pieces fragments; false to
 * close the connection. */
static bool reply_locked(lkrs_server *s, json_t *request, char **ret_text, int *ret_pieces) {
        json_int_t id = json_integer_value(json_object_get(request, "id"));
        const char *method = json_string_value(json_object_get(request, "method"));
        *ret_text = NULL;
        *ret_pieces = 1;
        if (method && strcmp(method, "eth_subscribe") == 0) {
                s->subscribes++;
                *ret_text = result_text(id, "\"0xfeed\"");
                return true;
        }
        if (method && strcmp(method, "eth_unsubscribe") == 0) {
                *ret_text = result_text(id, "true");
                return true;
        }
        json_t *first = json_array_get(json_object_get(request, "params"), 0);
        switch (s->behaviour) {
        case LKRS_ANSWER: {
                char chain[24] = "\"0x2a\"";
                if (method && strcmp(method, "eth_chainId") == 0 && s->chain_id)
                        snprintf(chain, sizeof chain, "\"0x%x\"", s->chain_id);
                char *result = first ? json_dumps(first, JSON_ENCODE_ANY) : NULL;
                *ret_text = result_text(id, result ? result : chain);
                free(result);
                return true;
        }
        case LKRS_GARBAGE:
                *ret_text = lk_strdup("<html>502 Bad Gateway</html>");
                return true;
        case LKRS_SILENT:
                return true;
        case LKRS_WRONG_ID:
                *ret_text = result_text(id + 1000, "\"0x2a\"");
                return true;
        case LKRS_NODE_ERROR:
                *ret_text = lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32000,\"message\":"
                                        "\"execution reverted\"}}",
                                        (long long)id);
                return true;
        case LKRS_NO_RESULT:
                *ret_text = lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld}", (long long)id);
                return true;
        case LKRS_BIG:
                *ret_text = big_answer(id);
                return true;
        case LKRS_FRAGMENTED:
                *ret_text = big_answer(id);
                *ret_pieces = 3;
                return true;
        case LKRS_DROP:
                return false;
        }
        return true;
}

/* As reply_locked, for a request that may be a batch (an array): its
 * answers in one array, none if none has one. */
static bool reply_any_locked(lkrs_server *s, json_t *request, char **ret_text, int *ret_pieces) {
        if (!json_is_array(request))
                return reply_locked(s, request, ret_text, ret_pieces);
        lk_buf all = LK_BUF_INIT;
        size_t i;
        json_t *one;
        bool keep = true;
        json_array_foreach(request, i, one) {
                char *text = NULL;
                keep = keep && reply_locked(s, one, &text, ret_pieces);
                if (text)
                        lk_buf_printf(&all, "%s%s", all.len ? "," : "[", text);
                lk_free(text);
        }
        *ret_text = all.len ? lk_asprintf("%s]", lk_buf_str(&all)) : NULL;
        *ret_pieces = 1;
        lk_buf_done(&all);
        return keep;
}

/* One piece of the first message, as one frame. */
static int write_piece(lkrs_server *s, struct lws *wsi) {
        message *m = s->out;
        size_t from = m->len * (size_t)s->piece / (size_t)m->pieces;
        size_t to = m->len * (size_t)(s->piece + 1) / (size_t)m->pieces;
        unsigned char *frame = lk_malloc(LWS_PRE + to - from);
        memcpy(frame + LWS_PRE, m->text + from, to - from);
        int flags = lws_write_ws_flags(LWS_WRITE_TEXT, s->piece == 0, s->piece + 1 == m->pieces);
        int n = lws_write(wsi, frame + LWS_PRE, to - from, (enum lws_write_protocol)flags);
        lk_free(frame);
        if (++s->piece == m->pieces) {
                s->out = m->next;
                s->piece = 0;
                lk_free(m->text);
                lk_free(m);
        }
        if (s->out)
                lws_callback_on_writable(wsi);
        return n < 0 ? -1 : 0;
}

/* ---- HTTP ---- */

/* The whole request is in: its answer's headers now, its body when the
 * connection is writable. */
static int http_request(lkrs_server *s, struct lws *wsi, http_session *h) {
        json_t *request = json_loadb(lk_buf_str(&h->body), h->body.len, 0, NULL);
        lk_buf_done(&h->body);
        int pieces;
        pthread_mutex_lock(&s->lock);
        bool keep = reply_any_locked(s, request, &h->reply, &pieces);
        pthread_mutex_unlock(&s->lock);
        json_decref(request);
        if (!keep)
                return -1;
        if (!h->reply)
                return 0; /* silence */
        unsigned char headers[LWS_PRE + 512];
        unsigned char *start = headers + LWS_PRE, *p = start, *end = headers + sizeof headers - 1;
        if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", strlen(h->reply), &p, end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
                return -1;
        lws_callback_on_writable(wsi);
        return 0;
}

static int http_writable(struct lws *wsi, http_session *h) {
        if (!h->reply)
                return 0;
        size_t len = strlen(h->reply);
        unsigned char *body = lk_malloc(LWS_PRE + len);
        memcpy(body + LWS_PRE, h->reply, len);
        lk_freep(&h->reply);
        int n = lws_write(wsi, body + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        lk_free(body);
        if (n < 0 || lws_http_transaction_completed(wsi))
                return -1;
        return 0;
}

/* ---- WebSocket ---- */

static int ws_received(lkrs_server *s, struct lws *wsi, const void *in, size_t len) {
        int r = 0;
        pthread_mutex_lock(&s->lock);
        lk_buf_append(&s->rx, in, len);
        if (lws_is_final_fragment(wsi)) {
                json_t *request = json_loadb(lk_buf_str(&s->rx), s->rx.len, 0, NULL);
                lk_buf_reset(&s->rx);
                char *text = NULL;
                int pieces;
                r = reply_locked(s, request, &text, &pieces) ? 0 : -1;
                if (text)
                        send_locked(s, text, pieces);
                json_decref(request);
                if (s->out)
                        lws_callback_on_writable(wsi);
        }
        pthread_mutex_unlock(&s->lock);
        return r;
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        lkrs_server *s = lws_context_user(lws_get_context(wsi));
        http_session *h = user;
        int r = 0;
        switch (reason) {
        case LWS_CALLBACK_HTTP:
                return 0; /* the body follows */
        case LWS_CALLBACK_HTTP_BODY:
                lk_buf_append(&h->body, in, len);
                return 0;
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
                return http_request(s, wsi, h);
        case LWS_CALLBACK_HTTP_WRITEABLE:
                return http_writable(wsi, h);
        case LWS_CALLBACK_CLOSED_HTTP:
                if (h) {
                        lk_buf_done(&h->body);
                        lk_freep(&h->reply);
                }
                return 0;
        case LWS_CALLBACK_ESTABLISHED:
                pthread_mutex_lock(&s->lock);
                s->wsi = wsi;
                s->connections++;
                free_messages(s);
                pthread_mutex_unlock(&s->lock);
                return 0;
        case LWS_CALLBACK_CLOSED:
                pthread_mutex_lock(&s->lock);
                if (s->wsi == wsi)
                        s->wsi = NULL;
                free_messages(s);
                pthread_mutex_unlock(&s->lock);
                return 0;
        case LWS_CALLBACK_RECEIVE:
                return ws_received(s, wsi, in, len);
        case LWS_CALLBACK_SERVER_WRITEABLE:
                pthread_mutex_lock(&s->lock);
                if (s->drop && s->wsi == wsi) {
                        s->drop = false;
                        r = -1;
                } else if (s->out) {
                        r = write_piece(s, wsi);
                }
                pthread_mutex_unlock(&s->lock);
                return r;
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
                pthread_mutex_lock(&s->lock);
                if (s->wsi && (s->out || s->drop))
                        lws_callback_on_writable(s->wsi);
                pthread_mutex_unlock(&s->lock);
                return 0;
        default:
                return lws_callback_http_dummy(wsi, reason, user, in, len);
        }
}

static void *serve(void *arg) {
        lkrs_server *s = arg;
        while (!atomic_load(&s->stop) && lws_service(s->context, 0) >= 0)
                ;
        return NULL;
}

/* ---- the server ---- */

lkrs_server *lkrs_start(const char *cert_dir) {
        lws_set_log_level(0, NULL); /* the process's setting: tests print TAP only */
        lkrs_server *s = lk_calloc(1, sizeof *s);
        pthread_mutex_init(&s->lock, NULL);
        s->protocols[0] = (struct lws_protocols){.name = "misbehaving", .callback = on_event,
                                                 .per_session_data_size = sizeof(http_session),
                                                 .rx_buffer_size = 4096};
        struct lws_context_creation_info info;
        memset(&info, 0, sizeof info);
        info.port = 0;
        info.iface = "127.0.0.1";
        info.protocols = s->protocols;
        info.gid = -1;
        info.uid = -1;
        info.user = s;
        info.fd_limit_per_thread = 64;
        char *cert = NULL, *key = NULL;
        if (cert_dir) {
                cert = lk_asprintf("%s/cert.pem", cert_dir);
                key = lk_asprintf("%s/key.pem", cert_dir);
                info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
                info.ssl_cert_filepath = cert;
                info.ssl_private_key_filepath = key;
        }
        /* libwebsockets 4.1.6 never frees what a TLS server context
         * allocates as it is created (its certificate stores) once it has
         * served a TLS connection; that is the test server's, not the
         * client's under test, whose leaks still show */
        LSAN_IGNORE(s->context = lws_create_context(&info));
        lk_free(cert);
        lk_free(key);
        if (!s->context)
                fail_msg("cannot start the test RPC server");
        s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->context, "default"));
        if (s->port <= 0)
                fail_msg("the test RPC server has no port");
        pthread_create(&s->thread, NULL, serve, s);
        return s;
}

lkrs_server *lkrs_stop(lkrs_server *s) {
        if (!s)
                return NULL;
        atomic_store(&s->stop, true);
        lws_cancel_service(s->context);
        pthread_join(s->thread, NULL);
        lws_context_destroy(s->context);
        free_messages(s);
        lk_buf_done(&s->rx);
        pthread_mutex_destroy(&s->lock);
        lk_free(s);
        return NULL;
}

int lkrs_port(const lkrs_server *s) {
        return s->port;
}

void lkrs_behave(lkrs_server *s, lkrs_behaviour b) {
        pthread_mutex_lock(&s->lock);
        s->behaviour = b;
        pthread_mutex_unlock(&s->lock);
}

void lkrs_set_chain_id(lkrs_server *s, unsigned chain_id) {
        pthread_mutex_lock(&s->lock);
        s->chain_id = chain_id;
        pthread_mutex_unlock(&s->lock);
}

void lkrs_send(lkrs_server *s, const char *text) {
        pthread_mutex_lock(&s->lock);
        send_locked(s, lk_strdup(text), 1);
        pthread_mutex_unlock(&s->lock);
        lws_cancel_service(s->context);
}

void lkrs_drop(lkrs_server *s) {
        pthread_mutex_lock(&s->lock);
        s->drop = true;
        pthread_mutex_unlock(&s->lock);
        lws_cancel_service(s->context);
}

static int counted(lkrs_server *s, const int *counter) {
        pthread_mutex_lock(&s->lock);
        int n = *counter;
        pthread_mutex_unlock(&s->lock);
        return n;
}

int lkrs_connections(lkrs_server *s) {
        return counted(s, &s->connections);
}

int lkrs_subscribes(lkrs_server *s) {
        return counted(s, &s->subscribes);
}
