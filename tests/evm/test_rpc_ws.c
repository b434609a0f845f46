/* The WebSocket JSON-RPC client: against a real chain (ganache serves
 * WebSocket on its HTTP port), calls and batches, many calls at once
 * from several threads, and newHeads as blocks are mined; against a
 * misbehaving server (tests/support/rpc_server), garbage, silence,
 * answers to other ids, node errors, large and fragmented messages, an
 * oversized one, invalid notifications and dropped connections, each the
 * right error naming the node and never its URL, and after a drop a new
 * connection and a new subscription.  The head tracker with newHeads
 * polls as soon as a block is mined, and polls alone, saying so in its
 * health report, while the subscription is down.  Over wss:// the
 * server's certificate is checked. */
#include "lktest.h"
#include "ganache.h"
#include "rpc_server.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/head_tracker.h"
#include "linkd/heads.h"
#include "linkd/rpc.h"
#include "linkd/rpc_ws.h"

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
        json_t *error = NULL;
        assert_int_equal(lk_rpc_ws_call_error(c->ws, "no_such_method", NULL, &result, &error, &err), LK_RPC_ENODE);
        assert_true(json_is_integer(json_object_get(error, "code")));
        assert_non_null(strstr(json_string_value(json_object_get(error, "message")), "does not exist"));
        json_decref(error);

        uint8_t hash[32] = {0};
        assert_int_equal(lk_rpc_ws_call(c->ws, "eth_getBlockByHash", json_pack("[ob]", lk_rpc_hex(hash, 32), 0),
                                        &result, &err),
                         0);
        assert_true(json_is_null(result));
        json_decref(result);

        uint64_t chain_id = 0;
        assert_int_equal(lk_rpc_ws_check_chain_id(c->ws, LKTEST_GANACHE_CHAIN_ID, &chain_id, &err), 0);
        assert_int_equal(chain_id, LKTEST_GANACHE_CHAIN_ID);
        assert_int_equal(lk_rpc_ws_check_chain_id(c->ws, 1, NULL, &err), -EINVAL);
        assert_string_equal(err.msg, "RPC node ganache: chain ID 1337, but the chain is configured as 1");
}

static void batches_on_ganache(void **state) {
        chain *c = *state;
        lk_rpc_request batch[3] = {
                {.method = "eth_chainId"},
                {.method = "no_such_method", .params = json_pack("[i]", 1)},
                {.method = "eth_getBlockByNumber", .params = json_pack("[sb]", "0x0", 0)},
        };
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_ws_batch(c->ws, batch, 3, &err), 0);
        assert_int_equal(batch[0].status, 0);
        assert_string_equal(json_string_value(batch[0].result), "0x539");
        assert_int_equal(batch[1].status, LK_RPC_ENODE);
        assert_null(batch[1].result);
        assert_non_null(strstr(batch[1].err.msg, "RPC node ganache: no_such_method: "));
        assert_int_equal(batch[2].status, 0);
        lk_head genesis;
        assert_int_equal(lk_rpc_block_head(batch[2].result, &genesis, &err), 0);
        assert_int_equal(genesis.number, 0);
        for (int i = 0; i < 3; i++) {
                assert_null(batch[i].params);
                json_decref(batch[i].result);
        }
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
        LKTEST_WAIT_FOR(status_of(c->ws).subscribed);
        assert_string_equal(status_of(c->ws).error, "");
        lktest_ganache_mine(c->http, 3, 0);
        LKTEST_WAIT_FOR(SEEN(&c->seen, count) >= 3);
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
        LKTEST_WAIT_FOR(tracked_number(t) == 0 && status_of(c->ws).subscribed);
        assert_null(health_of(t, "EVM.1337.HeadTracker.Subscription"));
        for (int64_t n = 1; n <= 3; n++) {
                lk_usec start = lk_now_monotonic();
                lktest_ganache_mine(c->http, 1, 0);
                LKTEST_WAIT_FOR(tracked_number(t) == n);
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
        LKTEST_WAIT_FOR(tracked_number(t) == 2);
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

typedef struct bad {
        lkrs_server *server;
        lk_rpc_ws *ws;
        heads_seen seen;
} bad;

#define SMALL_MAX_MESSAGE (256 * 1000)

static int bad_setup(void **state) {
        bad *b = lk_calloc(1, sizeof *b);
        pthread_mutex_init(&b->seen.lock, NULL);
        b->server = lkrs_start(NULL);
        char url[80];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/v3/KEY", lkrs_port(b->server));
        lk_err err = LK_ERR_INIT;
        lk_rpc_ws_options o = {.name = "bad", .url = url, .timeout = 400 * LK_USEC_PER_MSEC,
                               .backoff_min = 20 * LK_USEC_PER_MSEC, .backoff_max = 200 * LK_USEC_PER_MSEC,
                               .max_message = 2 * LKRS_BIG_LEN, .on_state = on_state, .arg = &b->seen};
        if (lk_rpc_ws_new(&o, &b->ws, &err) < 0)
                fail_msg("%s", err.msg);
        *state = b;
        return 0;
}

static int bad_teardown(void **state) {
        bad *b = *state;
        lk_rpc_ws_free(b->ws);
        lkrs_stop(b->server);
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
        lkrs_behave(b->server, LKRS_NODE_ERROR);
        assert_string_equal(call_fails(b->ws, LK_RPC_ENODE), "RPC node bad: eth_blockNumber: execution reverted");
        /* in a batch, a malformed answer is the request's own failure, a silent node the batch's */
        lk_rpc_request batch[2] = {{.method = "eth_blockNumber"},
                                   {.method = "eth_getBalance", .params = json_pack("[s]", "0x7")}};
        lk_err err = LK_ERR_INIT;
        lkrs_behave(b->server, LKRS_NO_RESULT);
        assert_int_equal(lk_rpc_ws_batch(b->ws, batch, 2, &err), 0);
        assert_int_equal(batch[0].status, -EPROTO);
        assert_int_equal(batch[1].status, -EPROTO);
        lkrs_behave(b->server, LKRS_SILENT);
        batch[1].params = json_pack("[s]", "0x7");
        assert_int_equal(lk_rpc_ws_batch(b->ws, batch, 2, &err), -ETIMEDOUT);
        assert_string_equal(err.msg, "RPC node bad: eth_blockNumber: no answer within 400 ms");
        assert_null(batch[0].result);
        assert_null(batch[1].params);
        assert_int_equal(batch[1].status, -ETIMEDOUT);
        lkrs_behave(b->server, LKRS_NO_RESULT);
        assert_string_equal(call_fails(b->ws, -EPROTO), "RPC node bad: eth_blockNumber: the answer has no result");
        lkrs_behave(b->server, LKRS_ANSWER);
        call_works(b->ws);
        assert_int_equal(status_of(b->ws).connections, 1);
}

static void garbage_breaks_the_connection(void **state) {
        bad *b = *state;
        call_works(b->ws);
        lkrs_behave(b->server, LKRS_GARBAGE);
        const char *why = call_fails(b->ws, -EPROTO);
        assert_non_null(strstr(why, "a message that is not JSON"));
        /* it connects again and works with a server that behaves again */
        lkrs_behave(b->server, LKRS_ANSWER);
        LKTEST_WAIT_FOR(status_of(b->ws).connected && status_of(b->ws).connections == 2);
        call_works(b->ws);
        assert_int_equal(SEEN(&b->seen, downs), 1);
        assert_non_null(strstr(b->seen.last_why, "RPC node bad: a message that is not JSON"));
}

static void silence_and_wrong_ids_time_out(void **state) {
        bad *b = *state;
        call_works(b->ws);
        lkrs_behave(b->server, LKRS_SILENT);
        lk_usec start = lk_now_monotonic();
        assert_string_equal(call_fails(b->ws, -ETIMEDOUT), "RPC node bad: eth_blockNumber: no answer within 400 ms");
        lk_usec took = lk_now_monotonic() - start;
        assert_true(took >= 390 * LK_USEC_PER_MSEC && took < 2 * LK_USEC_PER_SEC);
        lkrs_behave(b->server, LKRS_WRONG_ID);
        call_fails(b->ws, -ETIMEDOUT);
        assert_int_equal(status_of(b->ws).ignored, 1);
        /* the connection is still good */
        lkrs_behave(b->server, LKRS_ANSWER);
        call_works(b->ws);
        assert_int_equal(status_of(b->ws).connections, 1);
}

static void large_fragmented_and_oversized_messages(void **state) {
        bad *b = *state;
        lk_err err = LK_ERR_INIT;
        for (lkrs_behaviour how = LKRS_BIG; how <= LKRS_FRAGMENTED; how++) {
                lkrs_behave(b->server, how);
                json_t *result = NULL;
                if (lk_rpc_ws_call(b->ws, "eth_blockNumber", NULL, &result, &err) < 0)
                        fail_msg("%s", err.msg);
                assert_int_equal(strlen(json_string_value(result)), LKRS_BIG_LEN);
                json_decref(result);
        }
        /* a client that takes less */
        lk_rpc_ws *small = NULL;
        char url[80];
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/v3/KEY", lkrs_port(b->server));
        lk_rpc_ws_options o = {.name = "bad", .url = url, .timeout = 2 * LK_USEC_PER_SEC,
                               .backoff_min = 20 * LK_USEC_PER_MSEC, .max_message = SMALL_MAX_MESSAGE};
        lk_rpc_ws_free(b->ws); /* the server takes one connection at a time */
        b->ws = NULL;
        assert_int_equal(lk_rpc_ws_new(&o, &small, &err), 0);
        b->ws = small;
        lkrs_behave(b->server, LKRS_FRAGMENTED);
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
        LKTEST_WAIT_FOR(status_of(b->ws).subscribed);
        lkrs_send(b->server, head_notification("0xfeed", 16, "a"));
        LKTEST_WAIT_FOR(SEEN(&b->seen, count) == 1);
        assert_int_equal(b->seen.heads[0].number, 16);
        assert_int_equal(b->seen.heads[0].hash[31], 0xaa);

        /* invalid notifications: counted and ignored */
        lkrs_send(b->server, head_notification("0xother", 17, "b"));
        lkrs_send(b->server, head_notification("0xfeed", 18, "z"));
        lkrs_send(b->server, "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":7}");
        lkrs_send(b->server, "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\"}");
        lkrs_send(b->server, "[1,2,3]");
        lkrs_send(b->server, head_notification("0xfeed", 19, "c"));
        LKTEST_WAIT_FOR(SEEN(&b->seen, count) == 2);
        assert_int_equal(b->seen.heads[1].number, 19);
        assert_int_equal(status_of(b->ws).ignored, 5);

        /* a drop while a call waits: the call fails at once */
        lkrs_behave(b->server, LKRS_DROP);
        lk_usec start = lk_now_monotonic();
        const char *why = call_fails(b->ws, -ECONNRESET);
        assert_true(lk_now_monotonic() - start < 300 * LK_USEC_PER_MSEC);
        assert_string_equal(why, "RPC node bad: eth_blockNumber: the connection was closed");
        lkrs_behave(b->server, LKRS_ANSWER);
        LKTEST_WAIT_FOR(status_of(b->ws).subscribed && lkrs_subscribes(b->server) == 2);
        assert_int_equal(status_of(b->ws).connections, 2);
        lkrs_send(b->server, head_notification("0xfeed", 20, "d"));
        LKTEST_WAIT_FOR(SEEN(&b->seen, count) == 3);
        assert_int_equal(b->seen.heads[2].number, 20);

        /* a drop while idle is seen too, and mended the same way */
        lkrs_drop(b->server);
        LKTEST_WAIT_FOR(lkrs_subscribes(b->server) == 3 && status_of(b->ws).subscribed);
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
        LKTEST_WAIT_FOR(SEEN(&seen, downs) == 1);
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
        lkrs_server *srv = lkrs_start(dir);
        char url[80];
        snprintf(url, sizeof url, "wss://localhost:%d/v3/KEY", lkrs_port(srv));
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

        lkrs_stop(srv);
        lk_free(key);
        lk_free(cert);
        lktest_rmrf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(calls_on_ganache, chain_setup, chain_teardown),
                cmocka_unit_test_setup_teardown(batches_on_ganache, chain_setup, chain_teardown),
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
