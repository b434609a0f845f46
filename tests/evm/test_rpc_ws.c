/* The WebSocket JSON-RPC client: against a real chain (ganache serves
 * WebSocket on its HTTP port), calls, many at once from several threads,
 * and newHeads as blocks are mined; against a misbehaving WebSocket
 * server written here (libwebsockets' server side), garbage, silence,
 * answers to other ids, node errors, large and fragmented messages, an
 * oversized one, invalid notifications and dropped connections, each the
 * right error naming the node and never its URL, and after a drop a new
 * connection and a new subscription.  The head tracker with newHeads
 * polls as soon as a block is mined, and polls alone, saying so in its
 * health report, while the subscription is down.  Over wss:// the
 * server's certificate is checked. */
#include "lktest.h"
#include "ganache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "linkd/alloc.h"
#include "linkd/head_tracker.h"
#include "linkd/heads.h"
#include "linkd/rpc.h"
#include "linkd/rpc_ws.h"

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

/* Waits up to 10 s for cond, checking every 10 ms. */
#define WAIT_FOR(cond)                                                                                             \
        do {                                                                                                       \
                for (int i_ = 0; i_ < 1000 && !(cond); i_++)                                                       \
                        usleep(10 * 1000);                                                                         \
                if (!(cond))                                                                                       \
                        fail_msg("waited 10 s in vain for %s", #cond);                                             \
        } while (0)

/* What a subscriber saw. */
typedef struct heads_seen {
        pthread_mutex_t lock;
        lk_head heads[64];
        int count;
        int ups, downs;
        char last_why[LK_ERR_MSG_MAX];
} heads_seen;

static void on_head(void *arg, const lk_head *head) {
        heads_seen *s = arg;
        pthread_mutex_lock(&s->lock);
        if (s->count < 64)
                s->heads[s->count++] = *head;
        pthread_mutex_unlock(&s->lock);
}

static void on_state(void *arg, bool connected, const char *why) {
        heads_seen *s = arg;
        pthread_mutex_lock(&s->lock);
        if (connected) {
                s->ups++;
        } else {
                s->downs++;
                snprintf(s->last_why, sizeof s->last_why, "%s", why);
        }
        pthread_mutex_unlock(&s->lock);
}

/* A counter another thread moves, read under its lock. */
static int counted(pthread_mutex_t *lock, const int *counter) {
        pthread_mutex_lock(lock);
        int n = *counter;
        pthread_mutex_unlock(lock);
        return n;
}

#define SEEN(s, field) counted(&(s)->lock, &(s)->field)

static lk_rpc_ws_status status_of(lk_rpc_ws *ws) {
        lk_rpc_ws_status st;
        lk_rpc_ws_status_get(ws, &st);
        return st;
}

/* ---- against ganache ---- */

typedef struct chain {
        lktest_ganache ganache;
        lk_rpc *http;
        lk_rpc_pool *pool; /* the head tracker's */
        lk_rpc_ws *ws;
        heads_seen seen;
} chain;

static int chain_setup(void **state) {
        chain *c = lk_calloc(1, sizeof *c);
        lktest_ganache_start(&c->ganache);
        pthread_mutex_init(&c->seen.lock, NULL);
        char url[80];
        snprintf(url, sizeof url, "ws://127.0.0.1:%u", c->ganache.port);
        lk_err err = LK_ERR_INIT;
        c->pool = lktest_pool_of("ganache-http", c->ganache.url, LKTEST_GANACHE_CHAIN_ID, 0);
        if (lk_rpc_new(&(lk_rpc_options){.name = "ganache-http", .url = c->ganache.url}, &c->http, &err) < 0 ||
            lk_rpc_ws_new(&(lk_rpc_ws_options){.name = "ganache", .url = url, .on_state = on_state, .arg = &c->seen},
                          &c->ws, &err) < 0)
                fail_msg("%s", err.msg);
        *state = c;
        return 0;
}

static int chain_teardown(void **state) {
        chain *c = *state;
        lk_rpc_ws_free(c->ws);
        lk_rpc_free(c->http);
        lk_rpc_pool_free(c->pool);
        lktest_ganache_stop(&c->ganache);
        pthread_mutex_destroy(&c->seen.lock);
        lk_free(c);
        return 0;
}

static void calls_on_ganache(void **state) {
        chain *c = *state;
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_ws_call(c->ws, "eth_chainId", NULL, &result, &err), 0);
        assert_string_equal(json_string_value(result), "0x539");
        json_decref(result);
        assert_true(status_of(c->ws).connected);
        assert_int_equal(status_of(c->ws).connections, 1);

        assert_int_equal(lk_rpc_ws_call(c->ws, "no_such_method", json_pack("[i]", 1), &result, &err), LK_RPC_ENODE);
        assert_non_null(strstr(err.msg, "RPC node ganache: no_such_method: "));
        assert_non_null(strstr(err.msg, "does not exist"));

        uint8_t hash[32] = {0};
        assert_int_equal(lk_rpc_ws_call(c->ws, "eth_getBlockByHash", json_pack("[ob]", lk_rpc_hex(hash, 32), 0),
                                        &result, &err),
                         0);
        assert_true(json_is_null(result));
        json_decref(result);
}

typedef struct worker {
        chain *c;
        int first;
        int failures;
        char why[LK_ERR_MSG_MAX + 32];
} worker;

/* Asks for blocks by number, each answer checked to be for its own
 * question: answers to calls in flight together are matched by id. */
static void *ask_blocks(void *arg) {
        worker *w = arg;
        for (int i = 0; i < 40; i++) {
                int64_t number = (w->first + i) % 9;
                json_t *block = NULL;
                lk_err err = LK_ERR_INIT;
                lk_head h;
                if (lk_rpc_ws_call(w->c->ws, "eth_getBlockByNumber",
                                   json_pack("[ob]", lk_rpc_quantity_json((uint64_t)number), 0), &block, &err) < 0 ||
                    lk_rpc_block_head(block, &h, &err) < 0 || h.number != number) {
                        if (!w->failures++)
                                snprintf(w->why, sizeof w->why, "block %lld: %s", (long long)number,
                                         err.code ? err.msg : "another block");
                }
                json_decref(block);
        }
        return NULL;
}

static void concurrent_calls(void **state) {
        chain *c = *state;
        lktest_ganache_mine(c->http, 8, 0);
        enum { THREADS = 8 };
        pthread_t threads[THREADS];
        worker workers[THREADS];
        for (int i = 0; i < THREADS; i++) {
                workers[i] = (worker){.c = c, .first = i};
                pthread_create(&threads[i], NULL, ask_blocks, &workers[i]);
        }
        for (int i = 0; i < THREADS; i++) {
                pthread_join(threads[i], NULL);
                if (workers[i].failures)
                        fail_msg("thread %d: %d failures, the first: %s", i, workers[i].failures, workers[i].why);
        }
        assert_int_equal(status_of(c->ws).ignored, 0);
}

static void new_heads_on_ganache(void **state) {
        chain *c = *state;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_ws_subscribe_heads(c->ws, on_head, &c->seen, &err), 0);
        assert_int_equal(lk_rpc_ws_subscribe_heads(c->ws, on_head, &c->seen, &err), -EBUSY);
        WAIT_FOR(status_of(c->ws).subscribed);
        assert_string_equal(status_of(c->ws).error, "");
        lktest_ganache_mine(c->http, 3, 0);
        WAIT_FOR(SEEN(&c->seen, count) >= 3);
        for (int i = 0; i < 3; i++) {
                char number[24];
                snprintf(number, sizeof number, "0x%x", i + 1);
                json_t *block = NULL;
                lk_head want;
                if (lk_rpc_call(c->http, "eth_getBlockByNumber", json_pack("[sb]", number, 0), &block, &err) < 0 ||
                    lk_rpc_block_head(block, &want, &err) < 0)
                        fail_msg("%s", err.msg);
                json_decref(block);
                assert_int_equal(c->seen.heads[i].number, i + 1);
                assert_memory_equal(c->seen.heads[i].hash, want.hash, 32);
        }
        lk_rpc_ws_unsubscribe_heads(c->ws);
        assert_false(status_of(c->ws).subscribed);
        lktest_ganache_mine(c->http, 1, 0);
        /* an answer to the unsubscription, and no head after it */
        json_t *result = NULL;
        assert_int_equal(lk_rpc_ws_call(c->ws, "eth_blockNumber", NULL, &result, &err), 0);
        json_decref(result);
        usleep(100 * 1000);
        assert_int_equal(SEEN(&c->seen, count), 3);
        assert_int_equal(status_of(c->ws).heads, 3);
}

/* ---- the head tracker with newHeads ---- */

static lk_head_tracker *start_tracker(lk_rpc_pool *http, lk_rpc_ws *ws, lk_usec poll_interval) {
        lk_head_tracker *t = NULL;
        lk_err err = LK_ERR_INIT;
        lk_head_tracker_options o = {.chain_id = LKTEST_GANACHE_CHAIN_ID, .rpc = http, .ws = ws,
                                     .poll_interval = poll_interval};
        if (lk_head_tracker_new(&o, &t, &err) < 0 || lk_service_start(lk_head_tracker_service(t), NULL, &err) < 0)
                fail_msg("%s", err.msg);
        return t;
}

static int64_t tracked_number(lk_head_tracker *t) {
        lk_head h;
        return lk_head_tracker_latest(t, &h) ? h.number : -1;
}

/* The tracker's health entry name: NULL when passing. */
static char *health_of(lk_head_tracker *t, const char *name) {
        lk_health_report *report = lk_health_report_new();
        lk_service_health_report(lk_head_tracker_service(t), report);
        return lktest_health_entry(report, name);
}

static void stop_and_free(lk_head_tracker *t) {
        lk_service_close(lk_head_tracker_service(t), NULL);
        lk_head_tracker_free(t);
}

static void tracker_polls_when_a_head_is_announced(void **state) {
        chain *c = *state;
        lk_head_tracker *t = start_tracker(c->pool, c->ws, 30 * LK_USEC_PER_SEC);
        WAIT_FOR(tracked_number(t) == 0 && status_of(c->ws).subscribed);
        assert_null(health_of(t, "EVM.1337.HeadTracker.Subscription"));
        for (int64_t n = 1; n <= 3; n++) {
                lk_usec start = lk_now_monotonic();
                lktest_ganache_mine(c->http, 1, 0);
                WAIT_FOR(tracked_number(t) == n);
                /* a poll of its own would come after 30 s */
                assert_true(lk_now_monotonic() - start < 5 * LK_USEC_PER_SEC);
        }
        assert_null(health_of(t, "EVM.1337.HeadTracker"));
        stop_and_free(t);
        /* the tracker is no longer the client's subscriber */
        assert_false(status_of(c->ws).subscribed);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_ws_subscribe_heads(c->ws, on_head, &c->seen, &err), 0);
        lk_rpc_ws_unsubscribe_heads(c->ws);
}

static void tracker_polls_while_the_subscription_is_down(void **state) {
        chain *c = *state;
        lk_rpc_ws *dead = NULL;
        lk_err err = LK_ERR_INIT;
        lk_rpc_ws_options o = {.name = "gone", .url = "ws://127.0.0.1:1/v3/KEY", .backoff_min = 50 * LK_USEC_PER_MSEC,
                               .backoff_max = 200 * LK_USEC_PER_MSEC};
        assert_int_equal(lk_rpc_ws_new(&o, &dead, &err), 0);
        lk_head_tracker *t = start_tracker(c->pool, dead, 50 * LK_USEC_PER_MSEC);
        lktest_ganache_mine(c->http, 2, 0);
        WAIT_FOR(tracked_number(t) == 2);
        char *why = health_of(t, "EVM.1337.HeadTracker.Subscription");
        assert_non_null(why);
        assert_non_null(strstr(why, "no newHeads subscription (RPC node gone: "));
        assert_non_null(strstr(why, "): polling every 50ms instead"));
        assert_null(strstr(why, "KEY"));
        lk_free(why);
        assert_null(health_of(t, "EVM.1337.HeadTracker"));
        stop_and_free(t);
        lk_rpc_ws_free(dead);
}

/* ---- against a misbehaving server ---- */

typedef enum behaviour {
        ANSWER,     /* the first parameter as the result, else "0x2a" */
        GARBAGE,    /* text that is not JSON */
        SILENT,     /* nothing */
        WRONG_ID,   /* the answer, for another id */
        NODE_ERROR, /* a JSON-RPC error */
        NO_RESULT,  /* an object with the id and nothing else */
        BIG,        /* a result of BIG_LEN characters in one frame */
        FRAGMENTED, /* the same, as three fragments */
        DROP,       /* the connection closed */
} behaviour;

#define BIG_LEN (300 * 1000)

typedef struct message {
        struct message *next;
        char *text;
        size_t len;
        int pieces; /* fragments to send it as */
} message;

typedef struct server {
        struct lws_context *context;
        struct lws_protocols protocols[2];
        pthread_t thread;
        atomic_bool stop;
        pthread_mutex_t lock; /* all below */
        bool drop;
        int port;
        behaviour behaviour;
        struct lws *wsi; /* the connection: one at a time */
        message *out;
        int piece;       /* of out's first message, already sent */
        lk_buf rx;
        int subscribes, connections;
} server;

static void send_locked(server *s, char *text, int pieces) {
        message *m = lk_calloc(1, sizeof *m), **p = &s->out;
        m->text = text;
        m->len = strlen(text);
        m->pieces = pieces;
        while (*p)
                p = &(*p)->next;
        *p = m;
}

static void free_messages(server *s) {
        for (message *m; (m = s->out);) {
                s->out = m->next;
                lk_free(m->text);
                lk_free(m);
        }
        s->piece = 0;
}

static char *big_answer(json_int_t id) {
        char *filler = lk_malloc(BIG_LEN + 1);
        memset(filler, 'a', BIG_LEN);
        filler[BIG_LEN] = '\0';
        char *text = lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"%s\"}", (long long)id, filler);
        lk_free(filler);
        return text;
}

/* Under the lock: the answer to one request, by the behaviour; false to
 * close the connection. */
static bool answer_locked(server *s, json_t *request) {
        json_int_t id = json_integer_value(json_object_get(request, "id"));
        const char *method = json_string_value(json_object_get(request, "method"));
        if (method && strcmp(method, "eth_subscribe") == 0) {
                s->subscribes++;
                send_locked(s, lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"0xfeed\"}", (long long)id), 1);
                return true;
        }
        if (method && strcmp(method, "eth_unsubscribe") == 0) {
                send_locked(s, lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":true}", (long long)id), 1);
                return true;
        }
        char *result = NULL;
        json_t *first = json_array_get(json_object_get(request, "params"), 0);
        switch (s->behaviour) {
        case ANSWER:
                result = first ? json_dumps(first, JSON_ENCODE_ANY) : strdup("\"0x2a\"");
                send_locked(s, lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":%s}", (long long)id, result), 1);
                free(result);
                return true;
        case GARBAGE:
                send_locked(s, lk_strdup("<html>502 Bad Gateway</html>"), 1);
                return true;
        case SILENT:
                return true;
        case WRONG_ID:
                send_locked(s, lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"0x2a\"}", (long long)id + 1000),
                            1);
                return true;
        case NODE_ERROR:
                send_locked(s,
                            lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld,\"error\":{\"code\":-32000,\"message\":"
                                        "\"execution reverted\"}}",
                                        (long long)id),
                            1);
                return true;
        case NO_RESULT:
                send_locked(s, lk_asprintf("{\"jsonrpc\":\"2.0\",\"id\":%lld}", (long long)id), 1);
                return true;
        case BIG:
                send_locked(s, big_answer(id), 1);
                return true;
        case FRAGMENTED:
                send_locked(s, big_answer(id), 3);
                return true;
        case DROP:
                return false;
        }
        return true;
}

/* One piece of the first message, as one frame. */
static int write_piece(server *s, struct lws *wsi) {
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

static int on_server_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        server *s = lws_context_user(lws_get_context(wsi));
        int r = 0;
        switch (reason) {
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
                pthread_mutex_lock(&s->lock);
                lk_buf_append(&s->rx, in, len);
                if (lws_is_final_fragment(wsi)) {
                        json_t *request = json_loadb(lk_buf_str(&s->rx), s->rx.len, 0, NULL);
                        lk_buf_reset(&s->rx);
                        r = answer_locked(s, request) ? 0 : -1;
                        json_decref(request);
                        if (s->out)
                                lws_callback_on_writable(wsi);
                }
                pthread_mutex_unlock(&s->lock);
                return r;
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
        server *s = arg;
        while (!atomic_load(&s->stop) && lws_service(s->context, 0) >= 0)
                ;
        return NULL;
}

/* A server on 127.0.0.1; with cert_dir, over TLS with its cert.pem and
 * key.pem. */
static server *server_start_in(const char *cert_dir) {
        server *s = lk_calloc(1, sizeof *s);
        pthread_mutex_init(&s->lock, NULL);
        s->protocols[0] = (struct lws_protocols){.name = "misbehaving", .callback = on_server_event, .rx_buffer_size = 4096};
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
        assert_non_null(s->context);
        s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->context, "default"));
        assert_true(s->port > 0);
        pthread_create(&s->thread, NULL, serve, s);
        return s;
}

static server *server_start(void) {
        return server_start_in(NULL);
}

static void server_stop(server *s) {
        atomic_store(&s->stop, true);
        lws_cancel_service(s->context);
        pthread_join(s->thread, NULL);
        lws_context_destroy(s->context);
        free_messages(s);
        lk_buf_done(&s->rx);
        pthread_mutex_destroy(&s->lock);
        lk_free(s);
}

static void server_behave(server *s, behaviour b) {
        pthread_mutex_lock(&s->lock);
        s->behaviour = b;
        pthread_mutex_unlock(&s->lock);
}

/* Sends text (a notification) on the current connection. */
static void server_send(server *s, const char *text) {
        pthread_mutex_lock(&s->lock);
        send_locked(s, lk_strdup(text), 1);
        pthread_mutex_unlock(&s->lock);
        lws_cancel_service(s->context);
}

static void server_drop(server *s) {
        pthread_mutex_lock(&s->lock);
        s->drop = true;
        pthread_mutex_unlock(&s->lock);
        lws_cancel_service(s->context);
}

typedef struct bad {
        server *server;
        lk_rpc_ws *ws;
        heads_seen seen;
} bad;

#define SMALL_MAX_MESSAGE (256 * 1000)

static int bad_setup(void **state) {
        bad *b = lk_calloc(1, sizeof *b);
        pthread_mutex_init(&b->seen.lock, NULL);
        b->server = server_start();
        char url[80];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/v3/KEY", b->server->port);
        lk_err err = LK_ERR_INIT;
        lk_rpc_ws_options o = {.name = "bad", .url = url, .timeout = 400 * LK_USEC_PER_MSEC,
                               .backoff_min = 20 * LK_USEC_PER_MSEC, .backoff_max = 200 * LK_USEC_PER_MSEC,
                               .max_message = 2 * BIG_LEN, .on_state = on_state, .arg = &b->seen};
        if (lk_rpc_ws_new(&o, &b->ws, &err) < 0)
                fail_msg("%s", err.msg);
        *state = b;
        return 0;
}

static int bad_teardown(void **state) {
        bad *b = *state;
        lk_rpc_ws_free(b->ws);
        server_stop(b->server);
        pthread_mutex_destroy(&b->seen.lock);
        lk_free(b);
        return 0;
}

/* Calls eth_blockNumber, expecting code; returns the error's message
 * (static), checked to name the node and not the URL's secret. */
static const char *call_fails(lk_rpc_ws *ws, int code) {
        static lk_err err;
        json_t *result = NULL;
        lk_err_clear(&err);
        int r = lk_rpc_ws_call(ws, "eth_blockNumber", NULL, &result, &err);
        if (r != code)
                fail_msg("want %d, got %d (%s)", code, r, err.msg);
        assert_null(result);
        assert_non_null(strstr(err.msg, "RPC node bad: eth_blockNumber: "));
        assert_null(strstr(err.msg, "KEY"));
        return err.msg;
}

static void call_works(lk_rpc_ws *ws) {
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_ws_call(ws, "eth_getBalance", json_pack("[s]", "0x7"), &result, &err) < 0)
                fail_msg("%s", err.msg);
        assert_string_equal(json_string_value(result), "0x7");
        json_decref(result);
}

static void answers_and_node_errors(void **state) {
        bad *b = *state;
        call_works(b->ws);
        server_behave(b->server, NODE_ERROR);
        assert_string_equal(call_fails(b->ws, LK_RPC_ENODE), "RPC node bad: eth_blockNumber: execution reverted");
        server_behave(b->server, NO_RESULT);
        assert_string_equal(call_fails(b->ws, -EPROTO), "RPC node bad: eth_blockNumber: the answer has no result");
        server_behave(b->server, ANSWER);
        call_works(b->ws);
        assert_int_equal(status_of(b->ws).connections, 1);
}

static void garbage_breaks_the_connection(void **state) {
        bad *b = *state;
        call_works(b->ws);
        server_behave(b->server, GARBAGE);
        const char *why = call_fails(b->ws, -EPROTO);
        assert_non_null(strstr(why, "a message that is not JSON"));
        /* it connects again and works with a server that behaves again */
        server_behave(b->server, ANSWER);
        WAIT_FOR(status_of(b->ws).connected && status_of(b->ws).connections == 2);
        call_works(b->ws);
        assert_int_equal(SEEN(&b->seen, downs), 1);
        assert_non_null(strstr(b->seen.last_why, "RPC node bad: a message that is not JSON"));
}

static void silence_and_wrong_ids_time_out(void **state) {
        bad *b = *state;
        call_works(b->ws);
        server_behave(b->server, SILENT);
        lk_usec start = lk_now_monotonic();
        assert_string_equal(call_fails(b->ws, -ETIMEDOUT), "RPC node bad: eth_blockNumber: no answer within 400 ms");
        lk_usec took = lk_now_monotonic() - start;
        assert_true(took >= 390 * LK_USEC_PER_MSEC && took < 2 * LK_USEC_PER_SEC);
        server_behave(b->server, WRONG_ID);
        call_fails(b->ws, -ETIMEDOUT);
        assert_int_equal(status_of(b->ws).ignored, 1);
        /* the connection is still good */
        server_behave(b->server, ANSWER);
        call_works(b->ws);
        assert_int_equal(status_of(b->ws).connections, 1);
}

static void large_fragmented_and_oversized_messages(void **state) {
        bad *b = *state;
        lk_err err = LK_ERR_INIT;
        for (behaviour how = BIG; how <= FRAGMENTED; how++) {
                server_behave(b->server, how);
                json_t *result = NULL;
                if (lk_rpc_ws_call(b->ws, "eth_blockNumber", NULL, &result, &err) < 0)
                        fail_msg("%s", err.msg);
                assert_int_equal(strlen(json_string_value(result)), BIG_LEN);
                json_decref(result);
        }
        /* a client that takes less */
        lk_rpc_ws *small = NULL;
        char url[80];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/v3/KEY", b->server->port);
        lk_rpc_ws_options o = {.name = "bad", .url = url, .timeout = 2 * LK_USEC_PER_SEC,
                               .backoff_min = 20 * LK_USEC_PER_MSEC, .max_message = SMALL_MAX_MESSAGE};
        lk_rpc_ws_free(b->ws); /* the server takes one connection at a time */
        b->ws = NULL;
        assert_int_equal(lk_rpc_ws_new(&o, &small, &err), 0);
        b->ws = small;
        server_behave(b->server, FRAGMENTED);
        const char *why = call_fails(small, -EPROTO);
        assert_string_equal(why, "RPC node bad: eth_blockNumber: a message larger than 256000 bytes");
}

static const char *head_notification(const char *subscription, int number, const char *hash_digit) {
        static char text[512];
        char hash[65];
        memset(hash, hash_digit[0], 64);
        hash[64] = '\0';
        snprintf(text, sizeof text,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"subscription\":\"%s\","
                 "\"result\":{\"number\":\"0x%x\",\"hash\":\"0x%s\",\"parentHash\":\"0x%064d\",\"timestamp\":\"0x5\"}}}",
                 subscription, number, hash, 0);
        return text;
}

static void drops_reconnects_and_resubscribes(void **state) {
        bad *b = *state;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_ws_subscribe_heads(b->ws, on_head, &b->seen, &err), 0);
        WAIT_FOR(status_of(b->ws).subscribed);
        server_send(b->server, head_notification("0xfeed", 16, "a"));
        WAIT_FOR(SEEN(&b->seen, count) == 1);
        assert_int_equal(b->seen.heads[0].number, 16);
        assert_int_equal(b->seen.heads[0].hash[31], 0xaa);

        /* invalid notifications: counted and ignored */
        server_send(b->server, head_notification("0xother", 17, "b"));
        server_send(b->server, head_notification("0xfeed", 18, "z"));
        server_send(b->server, "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":7}");
        server_send(b->server, "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\"}");
        server_send(b->server, "[1,2,3]");
        server_send(b->server, head_notification("0xfeed", 19, "c"));
        WAIT_FOR(SEEN(&b->seen, count) == 2);
        assert_int_equal(b->seen.heads[1].number, 19);
        assert_int_equal(status_of(b->ws).ignored, 5);

        /* a drop while a call waits: the call fails at once */
        server_behave(b->server, DROP);
        lk_usec start = lk_now_monotonic();
        const char *why = call_fails(b->ws, -ECONNRESET);
        assert_true(lk_now_monotonic() - start < 300 * LK_USEC_PER_MSEC);
        assert_string_equal(why, "RPC node bad: eth_blockNumber: the connection was closed");
        server_behave(b->server, ANSWER);
        WAIT_FOR(status_of(b->ws).subscribed && SEEN(b->server, subscribes) == 2);
        assert_int_equal(status_of(b->ws).connections, 2);
        server_send(b->server, head_notification("0xfeed", 20, "d"));
        WAIT_FOR(SEEN(&b->seen, count) == 3);
        assert_int_equal(b->seen.heads[2].number, 20);

        /* a drop while idle is seen too, and mended the same way */
        server_drop(b->server);
        WAIT_FOR(SEEN(b->server, subscribes) == 3 && status_of(b->ws).subscribed);
        assert_int_equal(status_of(b->ws).connections, 3);
        assert_int_equal(SEEN(&b->seen, downs), 2);
        assert_int_equal(SEEN(&b->seen, ups), 3);
        call_works(b->ws);
        lk_rpc_ws_unsubscribe_heads(b->ws);
}

static void nobody_there(void **state) {
        (void)state;
        lk_err err = LK_ERR_INIT;
        lk_rpc_ws *ws = NULL;
        assert_int_equal(lk_rpc_ws_new(&(lk_rpc_ws_options){.name = "bad", .url = "http://127.0.0.1:1/KEY"}, &ws, &err),
                         -EINVAL);
        assert_string_equal(err.msg, "RPC node bad: the URL must be ws:// or wss://");
        assert_int_equal(lk_rpc_ws_new(&(lk_rpc_ws_options){.name = "bad", .url = "ws://:80/KEY"}, &ws, &err), -EINVAL);
        assert_null(strstr(err.msg, "KEY"));

        heads_seen seen = {.count = 0};
        pthread_mutex_init(&seen.lock, NULL);
        lk_rpc_ws_options o = {.name = "bad", .url = "ws://127.0.0.1:1/v3/KEY", .timeout = 2 * LK_USEC_PER_SEC,
                               .backoff_min = 10 * LK_USEC_PER_SEC, .on_state = on_state, .arg = &seen};
        assert_int_equal(lk_rpc_ws_new(&o, &ws, &err), 0);
        assert_int_equal(lk_rpc_ws_subscribe_heads(ws, on_head, &seen, &err), 0);
        /* the first call waits for the first attempt, which fails */
        json_t *result = NULL;
        int r = lk_rpc_ws_call(ws, "eth_blockNumber", NULL, &result, &err);
        assert_true(r == -ECONNREFUSED || r == -ENOTCONN);
        assert_non_null(strstr(err.msg, "RPC node bad: eth_blockNumber: "));
        assert_null(strstr(err.msg, "KEY"));
        /* then, until the next attempt, calls fail at once */
        lk_usec start = lk_now_monotonic();
        assert_int_equal(lk_rpc_ws_call(ws, "eth_blockNumber", NULL, &result, &err), -ENOTCONN);
        assert_true(lk_now_monotonic() - start < 100 * LK_USEC_PER_MSEC);
        assert_non_null(strstr(err.msg, "RPC node bad: eth_blockNumber: not connected: cannot connect"));
        lk_rpc_ws_status st = status_of(ws);
        assert_false(st.connected);
        assert_false(st.subscribed);
        assert_non_null(strstr(st.error, "RPC node bad: cannot connect"));
        assert_null(strstr(st.error, "KEY"));
        /* on_state runs after the calls were failed */
        WAIT_FOR(SEEN(&seen, downs) == 1);
        assert_int_equal(SEEN(&seen, ups), 0);
        lk_rpc_ws_free(ws);
        pthread_mutex_destroy(&seen.lock);
}

/* wss://: the server's certificate is checked, against the system's CAs
 * or the ones given. */
static void wss_checks_the_certificate(void **state) {
        (void)state;
        char *dir = lktest_tmpdir();
        char *key = lk_asprintf("%s/key.pem", dir), *cert = lk_asprintf("%s/cert.pem", dir);
        const char *argv[] = {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                              "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                              "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", NULL};
        char *out = NULL, *errors = NULL;
        if (lktest_run_program("openssl", argv, NULL, &out, &errors) != 0)
                fail_msg("openssl: %s", errors);
        lk_free(out);
        lk_free(errors);
        server *srv = server_start_in(dir);
        char url[80];
        snprintf(url, sizeof url, "wss://localhost:%d/v3/KEY", srv->port);
        lk_err err = LK_ERR_INIT;
        json_t *result = NULL;

        lk_rpc_ws *untrusting = NULL;
        lk_rpc_ws_options o = {.name = "bad", .url = url, .timeout = 2 * LK_USEC_PER_SEC,
                               .backoff_min = 10 * LK_USEC_PER_SEC};
        assert_int_equal(lk_rpc_ws_new(&o, &untrusting, &err), 0);
        int r = lk_rpc_ws_call(untrusting, "eth_blockNumber", NULL, &result, &err);
        assert_true(r == -ECONNREFUSED || r == -ENOTCONN);
        assert_non_null(strstr(err.msg, "RPC node bad: eth_blockNumber: "));
        assert_null(strstr(err.msg, "KEY"));
        assert_int_equal(status_of(untrusting).connections, 0);
        lk_rpc_ws_free(untrusting);

        lk_rpc_ws *trusting = NULL;
        o.ca_file = cert;
        assert_int_equal(lk_rpc_ws_new(&o, &trusting, &err), 0);
        call_works(trusting);
        lk_rpc_ws_free(trusting);

        server_stop(srv);
        lk_free(key);
        lk_free(cert);
        lktest_rmrf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(calls_on_ganache, chain_setup, chain_teardown),
                cmocka_unit_test_setup_teardown(concurrent_calls, chain_setup, chain_teardown),
                cmocka_unit_test_setup_teardown(new_heads_on_ganache, chain_setup, chain_teardown),
                cmocka_unit_test_setup_teardown(tracker_polls_when_a_head_is_announced, chain_setup, chain_teardown),
                cmocka_unit_test_setup_teardown(tracker_polls_while_the_subscription_is_down, chain_setup,
                                                chain_teardown),
                cmocka_unit_test_setup_teardown(answers_and_node_errors, bad_setup, bad_teardown),
                cmocka_unit_test_setup_teardown(garbage_breaks_the_connection, bad_setup, bad_teardown),
                cmocka_unit_test_setup_teardown(silence_and_wrong_ids_time_out, bad_setup, bad_teardown),
                cmocka_unit_test_setup_teardown(large_fragmented_and_oversized_messages, bad_setup, bad_teardown),
                cmocka_unit_test_setup_teardown(drops_reconnects_and_resubscribes, bad_setup, bad_teardown),
                cmocka_unit_test(nobody_there),
                cmocka_unit_test(wss_checks_the_certificate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
