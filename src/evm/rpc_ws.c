/* See include/linkd/rpc_ws.h.
 *
 * libwebsockets is not thread-safe, lws_cancel_service apart: only the
 * service thread touches the context and the connection.  A caller puts
 * its request on the outgoing queue and its call on the list of calls in
 * flight, under the lock, and wakes the service thread, which asks for
 * the socket to become writable and then writes the queue; answers are
 * matched to the calls by id under the same lock, and each waiting
 * caller has its own condition variable.  The callbacks to the user
 * (state, heads) run on the service thread without the lock. */
#include "linkd/rpc_ws.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/ctx.h"
#include "linkd/heads.h"
#include "linkd/rpc.h"

#include "evm/jsonrpc.h"

#define DEFAULT_TIMEOUT (10 * LK_USEC_PER_SEC)
#define DEFAULT_BACKOFF_MIN LK_USEC_PER_SEC
#define DEFAULT_BACKOFF_MAX (30 * LK_USEC_PER_SEC)
#define DEFAULT_MAX_MESSAGE ((size_t)32 << 20)
/* Above this, the buffer of a reassembled message is given back rather
 * than kept for the next one: one large block must not pin 32 MiB. */
#define KEEP_RX_CAPACITY ((size_t)1 << 20)
#define PROTOCOL "lk-rpc-ws"
/* Debian's bundle of the system's trusted CAs: libwebsockets' own default
 * ("../share", relative to nothing) finds none, and wss:// would then
 * trust no server. */
#define CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

typedef enum conn_state { DOWN, CONNECTING, UP } conn_state;

/* A call waiting for its answer, on its caller's stack.  While it is on
 * the list only the lock's holder touches it; whoever takes it off (the
 * service thread with an answer or a failure, the caller at its
 * deadline) sets done or gives up on it. */
typedef struct call {
        struct call *next;
        uint64_t id;
        const char *method;
        bool done;
        int status;
        json_t *result;
        json_t *error; /* the node's error object, when it answered with one */
        lk_err err;
        pthread_cond_t answered;
} call;

/* A message to write: LWS_PRE bytes of room for the frame's header, then
 * the text. */
typedef struct outgoing {
        struct outgoing *next;
        uint64_t id; /* to take a call's request back when it times out unwritten */
        size_t len;
        unsigned char data[];
} outgoing;

struct lk_rpc_ws {
        char *name;
        char *url;     /* kept only to be wiped at the end */
        char *parts;   /* lws_parse_uri's cut-up copy of the URL: address points into it */
        const char *address;
        char *host;    /* the Host header: the address, and the port unless the scheme's own */
        char *path;    /* the URL's path, without the '/' that starts it */
        int port;
        bool tls;
        lk_usec timeout, backoff_min, backoff_max;
        size_t max_message;
        lk_rpc_ws_state_fn on_state;
        void *arg;

        struct lws_context *context;
        struct lws_protocols protocols[2];
        lws_retry_bo_t idle;
        pthread_t thread;
        bool thread_running;

        /* the service thread's own */
        struct lws *wsi;
        lws_sorted_usec_list_t retry;
        lk_buf rx;             /* the message being reassembled */
        lk_usec backoff;       /* the next wait before connecting again */
        lk_usec connected_at;

        atomic_bool stop;      /* set once, by lk_rpc_ws_free */
        pthread_mutex_t lock;  /* everything below */
        conn_state state;
        char why_down[LK_ERR_MSG_MAX]; /* why the last connection ended or failed, without the node's name */
        lk_err broken;         /* set when the service thread closes the connection itself, and why */
        uint64_t next_id;
        call *calls;
        outgoing *out_head, **out_tail;
        lk_rpc_ws_head_fn heads_fn;
        void *heads_arg;
        bool in_heads_fn;
        pthread_cond_t heads_idle;
        uint64_t subscribe_id, unsubscribe_id; /* the calls in flight the client makes itself; 0: none */
        bool subscribed;
        char subscription[80]; /* the node's ID of the live subscription */
        lk_err subscribe_err;  /* why the last eth_subscribe failed */
        uint64_t connections, heads, ignored;
};

/* ---- queue and calls (under the lock) ---- */

static void enqueue_locked(lk_rpc_ws *ws, uint64_t id, json_t *request) {
        char *text = json_dumps(request, JSON_COMPACT);
        json_decref(request);
        size_t len = strlen(text);
        outgoing *m = lk_malloc(sizeof *m + LWS_PRE + len);
        m->next = NULL;
        m->id = id;
        m->len = len;
        memcpy(m->data + LWS_PRE, text, len);
        free(text);
        *ws->out_tail = m;
        ws->out_tail = &m->next;
}

static outgoing *dequeue_locked(lk_rpc_ws *ws) {
        outgoing *m = ws->out_head;
        if (m && !(ws->out_head = m->next))
                ws->out_tail = &ws->out_head;
        return m;
}

static void drop_outgoing_locked(lk_rpc_ws *ws, uint64_t id) {
        for (outgoing **p = &ws->out_head; *p; p = &(*p)->next) {
                if ((*p)->id != id)
                        continue;
                outgoing *m = *p;
                *p = m->next;
                if (!*p)
                        ws->out_tail = p;
                lk_free(m);
                return;
        }
}

static void clear_outgoing_locked(lk_rpc_ws *ws) {
        outgoing *m;
        while ((m = dequeue_locked(ws)))
                lk_free(m);
}

static call *take_call_locked(lk_rpc_ws *ws, uint64_t id) {
        for (call **p = &ws->calls; *p; p = &(*p)->next) {
                if ((*p)->id != id)
                        continue;
                call *c = *p;
                *p = c->next;
                return c;
        }
        return NULL;
}

static void queue_subscribe_locked(lk_rpc_ws *ws) {
        ws->subscribe_id = ws->next_id++;
        enqueue_locked(ws, ws->subscribe_id, lk__jsonrpc_request("eth_subscribe", json_pack("[s]", "newHeads"),
                                                                 ws->subscribe_id));
}

/* ---- the connection (service thread) ---- */

static lk_rpc_ws *of_retry(lws_sorted_usec_list_t *sul) {
        return (lk_rpc_ws *)((char *)sul - offsetof(lk_rpc_ws, retry));
}

static void connect_now(lk_rpc_ws *ws);

static void on_retry(lws_sorted_usec_list_t *sul) {
        connect_now(of_retry(sul));
}

/* The connection is gone, or could not be made: every call in flight
 * fails with code (or with what the service thread broke it for) and
 * the next attempt is scheduled.  Once per connection: later reports of
 * the same end are ignored. */
static void went_down(lk_rpc_ws *ws, int code, const char *fmt, ...) LK_PRINTF(3, 4);
static void went_down(lk_rpc_ws *ws, int code, const char *fmt, ...) {
        pthread_mutex_lock(&ws->lock);
        if (ws->state == DOWN) {
                pthread_mutex_unlock(&ws->lock);
                return;
        }
        if (lk_err_is_set(&ws->broken)) {
                code = ws->broken.code;
                snprintf(ws->why_down, sizeof ws->why_down, "%s", ws->broken.msg);
                lk_err_clear(&ws->broken);
        } else {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(ws->why_down, sizeof ws->why_down, fmt, ap);
                va_end(ap);
        }
        bool was_up = ws->state == UP;
        ws->state = DOWN;
        ws->wsi = NULL;
        ws->subscribed = false;
        ws->subscription[0] = '\0';
        ws->subscribe_id = ws->unsubscribe_id = 0;
        for (call *c; (c = ws->calls);) {
                ws->calls = c->next;
                c->status = lk_err_set(&c->err, code, "RPC node %s: %s: %s", ws->name, c->method, ws->why_down);
                c->done = true;
                pthread_cond_signal(&c->answered);
        }
        clear_outgoing_locked(ws);
        lk_err why = LK_ERR_INIT;
        lk_err_set(&why, code, "RPC node %s: %s", ws->name, ws->why_down);
        pthread_mutex_unlock(&ws->lock);

        lk_buf_done(&ws->rx);
        if (atomic_load(&ws->stop))
                return;
        /* a connection that lasted starts the backoff over; one that
         * drops as soon as it is made keeps doubling it */
        if (was_up && lk_now_monotonic() - ws->connected_at >= ws->backoff_max)
                ws->backoff = ws->backoff_min;
        lws_sul_schedule(ws->context, 0, &ws->retry, on_retry, ws->backoff);
        ws->backoff = ws->backoff * 2 < ws->backoff_max ? ws->backoff * 2 : ws->backoff_max;
        if (ws->on_state)
                ws->on_state(ws->arg, false, why.msg);
}

static void connect_now(lk_rpc_ws *ws) {
        if (atomic_load(&ws->stop))
                return;
        pthread_mutex_lock(&ws->lock);
        ws->state = CONNECTING;
        pthread_mutex_unlock(&ws->lock);
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = ws->context;
        ci.address = ws->address;
        ci.port = ws->port;
        ci.path = ws->path;
        ci.host = ws->host;
        ci.origin = ws->address;
        ci.ssl_connection = ws->tls ? LCCSCF_USE_SSL : 0;
        ci.local_protocol_name = PROTOCOL;
        ci.pwsi = &ws->wsi;
        ci.retry_and_idle_policy = &ws->idle;
        /* a failure may have been reported already, through the callback */
        if (!lws_client_connect_via_info(&ci))
                went_down(ws, -ECONNREFUSED, "cannot connect");
}

static void established(lk_rpc_ws *ws, struct lws *wsi) {
        ws->connected_at = lk_now_monotonic();
        pthread_mutex_lock(&ws->lock);
        ws->state = UP;
        ws->connections++;
        ws->why_down[0] = '\0';
        if (ws->heads_fn)
                queue_subscribe_locked(ws);
        bool pending = ws->out_head != NULL;
        pthread_mutex_unlock(&ws->lock);
        if (pending)
                lws_callback_on_writable(wsi);
        if (ws->on_state)
                ws->on_state(ws->arg, true, NULL);
}

static int writable(lk_rpc_ws *ws, struct lws *wsi) {
        pthread_mutex_lock(&ws->lock);
        outgoing *m = ws->state == UP ? dequeue_locked(ws) : NULL;
        bool more = ws->out_head != NULL;
        pthread_mutex_unlock(&ws->lock);
        if (!m)
                return 0;
        /* lws keeps what the socket does not take at once and sends it
         * before it reports the socket writable again */
        int n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
        bool whole = n >= 0 && (size_t)n >= m->len;
        lk_free(m);
        if (!whole) {
                pthread_mutex_lock(&ws->lock);
                lk_err_set(&ws->broken, -ECONNRESET, "cannot write to the connection");
                pthread_mutex_unlock(&ws->lock);
                return -1;
        }
        if (more)
                lws_callback_on_writable(wsi);
        return 0;
}

/* The service thread was woken: requests may be waiting. */
static void woken(lk_rpc_ws *ws) {
        pthread_mutex_lock(&ws->lock);
        bool pending = ws->state == UP && ws->out_head;
        pthread_mutex_unlock(&ws->lock);
        if (pending && ws->wsi)
                lws_callback_on_writable(ws->wsi);
}

/* ---- answers and notifications (service thread) ---- */

static void subscribe_answered_locked(lk_rpc_ws *ws, json_t *msg) {
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        int r = lk__jsonrpc_result(ws->name, "eth_subscribe", msg, &result, NULL, &err);
        ws->subscribe_id = 0;
        const char *id = json_string_value(result);
        if (r == 0 && (!id || strlen(id) >= sizeof ws->subscription))
                r = lk_err_set(&err, -EPROTO, "RPC node %s: eth_subscribe: the subscription ID is not a short string",
                               ws->name);
        if (r < 0) {
                ws->subscribe_err = err;
        } else if (!ws->heads_fn) {
                /* the subscriber left while the node was answering */
                ws->unsubscribe_id = ws->next_id++;
                enqueue_locked(ws, ws->unsubscribe_id,
                               lk__jsonrpc_request("eth_unsubscribe", json_pack("[s]", id), ws->unsubscribe_id));
        } else {
                snprintf(ws->subscription, sizeof ws->subscription, "%s", id);
                ws->subscribed = true;
                lk_err_clear(&ws->subscribe_err);
        }
        json_decref(result);
}

static void notified(lk_rpc_ws *ws, json_t *msg) {
        json_t *params = json_object_get(msg, "params");
        const char *subscription = json_string_value(json_object_get(params, "subscription"));
        lk_head head;
        pthread_mutex_lock(&ws->lock);
        bool ours = subscription && ws->subscribed && ws->heads_fn && strcmp(subscription, ws->subscription) == 0;
        if (!ours || lk_rpc_block_head(json_object_get(params, "result"), &head, NULL) < 0) {
                ws->ignored++;
                pthread_mutex_unlock(&ws->lock);
                return;
        }
        ws->heads++;
        lk_rpc_ws_head_fn fn = ws->heads_fn;
        void *arg = ws->heads_arg;
        ws->in_heads_fn = true;
        pthread_mutex_unlock(&ws->lock);
        fn(arg, &head);
        pthread_mutex_lock(&ws->lock);
        ws->in_heads_fn = false;
        pthread_cond_broadcast(&ws->heads_idle);
        pthread_mutex_unlock(&ws->lock);
}

/* Returns whether something was queued. */
static bool answered(lk_rpc_ws *ws, json_t *msg) {
        json_t *id = json_object_get(msg, "id");
        pthread_mutex_lock(&ws->lock);
        uint64_t n = json_is_integer(id) ? (uint64_t)json_integer_value(id) : 0;
        bool queued = false;
        call *c;
        if (n && n == ws->subscribe_id) {
                subscribe_answered_locked(ws, msg);
                queued = ws->unsubscribe_id != 0;
        } else if (n && n == ws->unsubscribe_id) {
                ws->unsubscribe_id = 0;
        } else if (n && (c = take_call_locked(ws, n))) {
                c->status = lk__jsonrpc_result(ws->name, c->method, msg, &c->result, &c->error, &c->err);
                /* the result (or error) leaves the message here, under the
                 * lock: the message is freed on this thread and the result
                 * on the caller's, and jansson's reference counts alone do
                 * not order the two frees */
                json_object_del(msg, "result");
                json_object_del(msg, "error");
                c->done = true;
                pthread_cond_signal(&c->answered);
        } else {
                ws->ignored++;
        }
        pthread_mutex_unlock(&ws->lock);
        return queued;
}

static int received(lk_rpc_ws *ws, struct lws *wsi, const void *in, size_t len) {
        if (ws->rx.len + len > ws->max_message) {
                pthread_mutex_lock(&ws->lock);
                lk_err_set(&ws->broken, -EPROTO, "a message larger than %zu bytes", ws->max_message);
                pthread_mutex_unlock(&ws->lock);
                return -1;
        }
        lk_buf_append(&ws->rx, in, len);
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
                return 0;
        json_error_t error;
        json_t *msg = json_loadb(lk_buf_str(&ws->rx), ws->rx.len, 0, &error);
        if (ws->rx.cap > KEEP_RX_CAPACITY)
                lk_buf_done(&ws->rx);
        else
                lk_buf_reset(&ws->rx);
        if (!msg) {
                pthread_mutex_lock(&ws->lock);
                lk_err_set(&ws->broken, -EPROTO, "a message that is not JSON: %s", error.text);
                pthread_mutex_unlock(&ws->lock);
                return -1;
        }
        const char *method = json_string_value(json_object_get(msg, "method"));
        if (method && strcmp(method, "eth_subscription") == 0)
                notified(ws, msg);
        else if (answered(ws, msg))
                lws_callback_on_writable(wsi);
        json_decref(msg);
        return 0;
}

static void connection_failed(lk_rpc_ws *ws, const char *in, size_t len) {
        const char *reason = in ? in : "no reason given";
        went_down(ws, -ECONNREFUSED, "cannot connect: %.*s", (int)(in && len ? len : strlen(reason)), reason);
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        (void)user;
        struct lws_context *context = wsi ? lws_get_context(wsi) : NULL;
        lk_rpc_ws *ws = context ? lws_context_user(context) : NULL;
        if (!ws)
                return 0;
        switch (reason) {
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
                established(ws, wsi);
                return 0;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
                connection_failed(ws, in, len);
                return 0;
        case LWS_CALLBACK_CLIENT_CLOSED:
                went_down(ws, -ECONNRESET, "the connection was closed");
                return 0;
        case LWS_CALLBACK_WSI_DESTROY:
                /* closed without either report above (should not happen) */
                if (wsi == ws->wsi)
                        went_down(ws, -ECONNRESET, "the connection was closed");
                return 0;
        case LWS_CALLBACK_CLIENT_RECEIVE:
                return received(ws, wsi, in, len);
        case LWS_CALLBACK_CLIENT_WRITEABLE:
                return writable(ws, wsi);
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
                woken(ws);
                return 0;
        default:
                return 0;
        }
}

static void *serve(void *arg) {
        lk_rpc_ws *ws = arg;
        pthread_setname_np(pthread_self(), "lk-rpc-ws");
        connect_now(ws);
        while (!atomic_load(&ws->stop) && lws_service(ws->context, 0) >= 0)
                ;
        return NULL;
}

/* ---- the client ---- */

/* libwebsockets logs to stderr unless told otherwise, and the setting is
 * the process's: library code must not log. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet(void) {
        lws_set_log_level(0, NULL);
}

static int parse_url(lk_rpc_ws *ws, const char *url, lk_err *err) {
        ws->parts = lk_strdup(url);
        const char *scheme = NULL, *address = NULL, *path = NULL;
        int port = 0;
        if (lws_parse_uri(ws->parts, &scheme, &address, &port, &path) != 0 || !*address || port <= 0 || port > 65535)
                return lk_err_set(err, -EINVAL, "RPC node %s: the URL is not ws://host[:port][/path]", ws->name);
        ws->tls = strcmp(scheme, "wss") == 0;
        ws->address = address;
        ws->port = port;
        ws->host = port == (ws->tls ? 443 : 80) ? lk_strdup(address) : lk_asprintf("%s:%d", address, port);
        /* without its '/': libwebsockets puts one before it */
        ws->path = lk_strdup(path);
        return 0;
}

int lk_rpc_ws_new(const lk_rpc_ws_options *o, lk_rpc_ws **ret, lk_err *err) {
        const char *name = o->name ? o->name : "node";
        if (!o->url || (strncmp(o->url, "ws://", 5) != 0 && strncmp(o->url, "wss://", 6) != 0))
                return lk_err_set(err, -EINVAL, "RPC node %s: the URL must be ws:// or wss://", name);
        pthread_once(&quiet_once, quiet);
        lk_rpc_ws *ws = lk_calloc(1, sizeof *ws);
        ws->name = lk_strdup(name);
        ws->url = lk_strdup(o->url);
        ws->timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
        ws->backoff_min = o->backoff_min > 0 ? o->backoff_min : DEFAULT_BACKOFF_MIN;
        ws->backoff_max = o->backoff_max > ws->backoff_min ? o->backoff_max : DEFAULT_BACKOFF_MAX;
        if (ws->backoff_max < ws->backoff_min)
                ws->backoff_max = ws->backoff_min;
        ws->backoff = ws->backoff_min;
        ws->max_message = o->max_message ? o->max_message : DEFAULT_MAX_MESSAGE;
        ws->on_state = o->on_state;
        ws->arg = o->arg;
        pthread_mutex_init(&ws->lock, NULL);
        lk_cond_init_monotonic(&ws->heads_idle);
        ws->out_tail = &ws->out_head;
        ws->next_id = 1;
        /* calls made before the service thread's first attempt wait for it */
        ws->state = CONNECTING;
        int r = parse_url(ws, o->url, err);
        if (r < 0)
                goto fail;

        ws->protocols[0] = (struct lws_protocols){.name = PROTOCOL, .callback = on_event, .rx_buffer_size = 65536};
        /* idle connections are pinged, and dropped when the pings go
         * unanswered: a node that vanished without closing is noticed */
        ws->idle = (lws_retry_bo_t){.secs_since_valid_ping = 30, .secs_since_valid_hangup = 60};
        unsigned secs = (unsigned)((ws->timeout + LK_USEC_PER_SEC - 1) / LK_USEC_PER_SEC);
        struct lws_context_creation_info info;
        memset(&info, 0, sizeof info);
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = ws->protocols;
        info.gid = -1;
        info.uid = -1;
        info.user = ws;
        /* one connection and the wake-up pipe; the default sizes tables by
         * the process's descriptor limit */
        info.fd_limit_per_thread = 16;
        info.timeout_secs = secs;
        info.connect_timeout_secs = secs;
        if (ws->tls) {
                info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
                if (o->ca_file)
                        info.client_ssl_ca_filepath = o->ca_file;
                else if (access(CA_BUNDLE, R_OK) == 0)
                        info.client_ssl_ca_filepath = CA_BUNDLE;
        }
        ws->context = lws_create_context(&info);
        if (!ws->context) {
                r = lk_err_set(err, -ENOMEM, "RPC node %s: cannot create a libwebsockets context", ws->name);
                goto fail;
        }
        r = pthread_create(&ws->thread, NULL, serve, ws);
        if (r != 0) {
                r = lk_err_set(err, -r, "RPC node %s: cannot start its thread: %s", ws->name, strerror(r));
                goto fail;
        }
        ws->thread_running = true;
        *ret = ws;
        return 0;
fail:
        lk_rpc_ws_free(ws);
        return r;
}

/* For the URL and its parts: they may hold an API key. */
static void free_wiped(char *s, size_t len) {
        if (s)
                explicit_bzero(s, len);
        lk_free(s);
}

lk_rpc_ws *lk_rpc_ws_free(lk_rpc_ws *ws) {
        if (!ws)
                return NULL;
        atomic_store(&ws->stop, true);
        if (ws->thread_running) {
                lws_cancel_service(ws->context);
                pthread_join(ws->thread, NULL);
        }
        if (ws->context) {
                lws_sul_cancel(&ws->retry);
                lws_context_destroy(ws->context);
        }
        clear_outgoing_locked(ws);
        lk_buf_done(&ws->rx);
        pthread_cond_destroy(&ws->heads_idle);
        pthread_mutex_destroy(&ws->lock);
        free_wiped(ws->parts, strlen(ws->url));
        free_wiped(ws->path, ws->path ? strlen(ws->path) : 0);
        free_wiped(ws->url, strlen(ws->url));
        lk_free(ws->host);
        lk_free(ws->name);
        lk_free(ws);
        return NULL;
}

static bool on_service_thread(lk_rpc_ws *ws) {
        return ws->thread_running && pthread_equal(pthread_self(), ws->thread);
}

int lk_rpc_ws_call(lk_rpc_ws *ws, const char *method, json_t *params, json_t **ret_result, lk_err *err) {
        return lk_rpc_ws_call_error(ws, method, params, ret_result, NULL, err);
}

int lk_rpc_ws_call_error(lk_rpc_ws *ws, const char *method, json_t *params, json_t **ret_result, json_t **ret_error,
                         lk_err *err) {
        if (on_service_thread(ws)) {
                json_decref(params);
                return lk_err_set(err, -EDEADLK, "RPC node %s: %s: called from the client's own thread", ws->name,
                                  method);
        }
        call c = {.method = method};
        pthread_mutex_lock(&ws->lock);
        if (ws->state == DOWN || atomic_load(&ws->stop)) {
                int r = lk_err_set(err, -ENOTCONN, "RPC node %s: %s: not connected: %s", ws->name, method,
                                   atomic_load(&ws->stop) ? "the client is closing" : ws->why_down);
                pthread_mutex_unlock(&ws->lock);
                json_decref(params);
                return r;
        }
        c.id = ws->next_id++;
        enqueue_locked(ws, c.id, lk__jsonrpc_request(method, params, c.id));
        lk_cond_init_monotonic(&c.answered);
        c.next = ws->calls;
        ws->calls = &c;
        pthread_mutex_unlock(&ws->lock);
        lws_cancel_service(ws->context);

        struct timespec until = lk_deadline_after(ws->timeout);
        pthread_mutex_lock(&ws->lock);
        while (!c.done)
                if (pthread_cond_timedwait(&c.answered, &ws->lock, &until) == ETIMEDOUT)
                        break;
        if (!c.done) {
                take_call_locked(ws, c.id);
                drop_outgoing_locked(ws, c.id);
                c.status = lk_err_set(&c.err, -ETIMEDOUT, "RPC node %s: %s: no answer within %lld ms", ws->name,
                                      method, (long long)(ws->timeout / LK_USEC_PER_MSEC));
        }
        pthread_mutex_unlock(&ws->lock);
        pthread_cond_destroy(&c.answered);
        if (ret_error && c.error)
                *ret_error = c.error;
        else
                json_decref(c.error);
        if (c.status < 0) {
                if (err)
                        *err = c.err;
                return c.status;
        }
        *ret_result = c.result;
        return 0;
}

/* A call's failure that says the connection, not the answer, failed. */
static bool connection_failed_code(int code) {
        return code < 0 && code != LK_RPC_ENODE && code != -EPROTO;
}

int lk_rpc_ws_batch(lk_rpc_ws *ws, lk_rpc_request *requests, size_t count, lk_err *err) {
        int r = 0;
        for (size_t i = 0; i < count; i++) {
                json_t *params = requests[i].params;
                requests[i].params = NULL;
                requests[i].result = NULL;
                lk_err_clear(&requests[i].err);
                if (r < 0) {
                        json_decref(params);
                        continue;
                }
                requests[i].status = lk_rpc_ws_call(ws, requests[i].method, params, &requests[i].result,
                                                    &requests[i].err);
                if (connection_failed_code(requests[i].status)) {
                        r = requests[i].status;
                        if (err)
                                *err = requests[i].err;
                }
        }
        if (r < 0)
                for (size_t i = 0; i < count; i++) {
                        json_decref(requests[i].result);
                        requests[i].result = NULL;
                        requests[i].status = lk_err_set(&requests[i].err, r, "RPC node %s: %s: the batch failed",
                                                        ws->name, requests[i].method);
                }
        return r;
}

int lk_rpc_ws_check_chain_id(lk_rpc_ws *ws, uint64_t want, uint64_t *ret_chain_id, lk_err *err) {
        json_t *result = NULL;
        int r = lk_rpc_ws_call(ws, "eth_chainId", NULL, &result, err);
        if (r == 0)
                r = lk__jsonrpc_chain_id(ws->name, result, want, ret_chain_id, err);
        json_decref(result);
        return r;
}

int lk_rpc_ws_subscribe_heads(lk_rpc_ws *ws, lk_rpc_ws_head_fn fn, void *arg, lk_err *err) {
        pthread_mutex_lock(&ws->lock);
        if (ws->heads_fn) {
                pthread_mutex_unlock(&ws->lock);
                return lk_err_set(err, -EBUSY, "RPC node %s: newHeads has a subscriber already", ws->name);
        }
        ws->heads_fn = fn;
        ws->heads_arg = arg;
        lk_err_clear(&ws->subscribe_err);
        bool now = ws->state == UP && !ws->subscribe_id;
        if (now)
                queue_subscribe_locked(ws);
        pthread_mutex_unlock(&ws->lock);
        if (now)
                lws_cancel_service(ws->context);
        return 0;
}

void lk_rpc_ws_unsubscribe_heads(lk_rpc_ws *ws) {
        pthread_mutex_lock(&ws->lock);
        ws->heads_fn = NULL;
        ws->heads_arg = NULL;
        bool send = ws->subscribed && ws->state == UP;
        if (send) {
                ws->unsubscribe_id = ws->next_id++;
                enqueue_locked(ws, ws->unsubscribe_id,
                               lk__jsonrpc_request("eth_unsubscribe", json_pack("[s]", ws->subscription),
                                                   ws->unsubscribe_id));
        }
        ws->subscribed = false;
        ws->subscription[0] = '\0';
        if (!on_service_thread(ws))
                while (ws->in_heads_fn)
                        pthread_cond_wait(&ws->heads_idle, &ws->lock);
        pthread_mutex_unlock(&ws->lock);
        if (send)
                lws_cancel_service(ws->context);
}

void lk_rpc_ws_status_get(lk_rpc_ws *ws, lk_rpc_ws_status *ret) {
        pthread_mutex_lock(&ws->lock);
        ret->connected = ws->state == UP;
        ret->subscribed = ws->subscribed;
        ret->connections = ws->connections;
        ret->heads = ws->heads;
        ret->ignored = ws->ignored;
        /* through an lk_err, which cuts an overlong message with "..." */
        lk_err why = LK_ERR_INIT;
        if (ws->state != UP)
                lk_err_set(&why, -ENOTCONN, "RPC node %s: %s", ws->name, ws->why_down[0] ? ws->why_down : "connecting");
        else if (ws->heads_fn && !ws->subscribed && lk_err_is_set(&ws->subscribe_err))
                why = ws->subscribe_err;
        else if (ws->heads_fn && !ws->subscribed)
                lk_err_set(&why, -EAGAIN, "RPC node %s: eth_subscribe(newHeads): no answer yet", ws->name);
        snprintf(ret->error, sizeof ret->error, "%s", lk_err_msg(&why));
        pthread_mutex_unlock(&ws->lock);
}
