/* Failover between a chain's RPC nodes, against real ganache chains: a
 * dead first node is passed over and reported, a node on another chain is
 * refused, a node that comes back is used again after its recheck, and a
 * node's own JSON-RPC error is no reason to fail over.  Against a
 * misbehaving server first and ganache second: garbage, silence, a wrong
 * chain ID over HTTP, and a dropped WebSocket (then a wrong chain ID on
 * the new connection), each passed over to ganache and reported without
 * the URL, until the server behaves again and is used again.  A pool of
 * one WebSocket-only node answers calls and batches. */
#include "lktest.h"
#include "ganache.h"
#include "rpc_server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/rpc_pool.h"

#define RECHECK (100 * LK_USEC_PER_MSEC)

static lk_rpc_pool *pool_of(int64_t chain_id, const lk_rpc_pool_node *nodes, size_t n) {
        lk_rpc_pool *p = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_pool_new(&(lk_rpc_pool_options){.chain_id = chain_id, .nodes = nodes, .node_count = n,
                                                   .timeout = 300 * LK_USEC_PER_MSEC, .recheck_after = RECHECK},
                            &p, &err) < 0)
                fail_msg("%s", err.msg);
        return p;
}

static int chain_id_call(lk_rpc_pool *p, lk_err *err) {
        json_t *result = NULL;
        int r = lk_rpc_pool_call(p, "eth_chainId", NULL, &result, err);
        json_decref(result);
        return r;
}

/* The node's health entry: NULL when passing. */
static char *health_of(lk_rpc_pool *p, const char *name) {
        lk_health_report *report = lk_health_report_new();
        lk_rpc_pool_health(p, report);
        return lktest_health_entry(report, name);
}

static void fails_over_and_comes_back(void **state) {
        (void)state;
        lktest_ganache a = {0}, b = {0};
        lktest_ganache_start(&a);
        lktest_ganache_start(&b);
        char a_url[96];
        snprintf(a_url, sizeof a_url, "%s/?key=SECRETKEY", a.url); /* a key in the URL, as providers put it */
        lk_rpc_pool_node nodes[] = {{.name = "a", .http_url = a_url},
                                    {.name = "b", .http_url = b.url},
                                    {.name = "sender", .http_url = b.url, .send_only = true}};
        lk_rpc_pool *p = pool_of(LKTEST_GANACHE_CHAIN_ID, nodes, 3);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(chain_id_call(p, &err), 0);
        assert_null(health_of(p, "EVM.1337.Node.a"));
        /* a goes away: b answers, a is reported without its URL */
        lktest_ganache_stop(&a);
        assert_int_equal(chain_id_call(p, &err), 0);
        char *why = health_of(p, "EVM.1337.Node.a");
        assert_non_null(why);
        assert_non_null(strstr(why, "RPC node a"));
        assert_null(strstr(why, "SECRETKEY"));
        lk_free(why);
        assert_null(health_of(p, "EVM.1337.Node.b"));
        assert_null(health_of(p, "EVM.1337.Node.sender"));
        /* a node's own error is the request's fault: no failover */
        json_t *result = NULL, *error = NULL;
        assert_int_equal(lk_rpc_pool_call_error(p, "no_suchMethod", NULL, &result, &error, &err), LK_RPC_ENODE);
        assert_true(json_is_integer(json_object_get(error, "code")));
        json_decref(error);
        assert_null(health_of(p, "EVM.1337.Node.b"));
        /* a comes back on its port: after the recheck it is used again */
        lktest_ganache_start(&a);
        usleep(150 * 1000);
        assert_int_equal(chain_id_call(p, &err), 0);
        assert_null(health_of(p, "EVM.1337.Node.a"));
        /* both gone */
        lktest_ganache_stop(&a);
        lktest_ganache_stop(&b);
        usleep(150 * 1000);
        assert_int_equal(chain_id_call(p, &err), -EHOSTUNREACH);
        assert_non_null(strstr(err.msg, "chain 1337: no RPC node answered: RPC node a"));
        assert_null(strstr(err.msg, "SECRETKEY"));
        lk_rpc_pool_free(p);
}

static void a_node_on_another_chain_is_refused(void **state) {
        (void)state;
        lktest_ganache g = {.chain_id = 5};
        lktest_ganache_start(&g);
        lk_rpc_pool_node nodes[] = {{.name = "wrong", .http_url = g.url}};
        lk_rpc_pool *p = pool_of(LKTEST_GANACHE_CHAIN_ID, nodes, 1);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(chain_id_call(p, &err), -EHOSTUNREACH);
        char *why = health_of(p, "EVM.1337.Node.wrong");
        assert_non_null(why);
        assert_string_equal(why, "RPC node wrong: chain ID 5, but the chain is configured as 1337");
        lk_free(why);
        lk_rpc_pool_free(p);
        lktest_ganache_stop(&g);
        lk_rpc_pool *none = NULL;
        assert_int_equal(lk_rpc_pool_new(&(lk_rpc_pool_options){.chain_id = 1}, &none, &err), -EINVAL);
        lk_rpc_pool_node nameless[] = {{.name = "nothing"}};
        assert_int_equal(lk_rpc_pool_new(&(lk_rpc_pool_options){.chain_id = 1, .nodes = nameless, .node_count = 1},
                                         &none, &err),
                         -EINVAL);
        assert_string_equal(err.msg, "RPC node nothing has neither an HTTP nor a WebSocket URL");
}

/* ---- a misbehaving server first, ganache second ---- */

typedef struct pair {
        lkrs_server *server;
        lktest_ganache ganache;
        lk_rpc_pool *pool;
} pair;

/* The server's node "bad" (over HTTP, or WebSocket only), with a key in
 * its URL's path as providers put it, then ganache's node "ganache". */
static int pair_setup(void **state, bool ws) {
        pair *f = lk_calloc(1, sizeof *f);
        f->server = lkrs_start(NULL);
        lkrs_set_chain_id(f->server, LKTEST_GANACHE_CHAIN_ID);
        lktest_ganache_start(&f->ganache);
        char url[96];
        snprintf(url, sizeof url, "%s://127.0.0.1:%d/v3/SECRETKEY", ws ? "ws" : "http", lkrs_port(f->server));
        lk_rpc_pool_node nodes[] = {{.name = "bad", .http_url = ws ? NULL : url, .ws_url = ws ? url : NULL},
                                    {.name = "ganache", .http_url = f->ganache.url}};
        f->pool = pool_of(LKTEST_GANACHE_CHAIN_ID, nodes, 2);
        *state = f;
        return 0;
}

static int http_pair_setup(void **state) {
        return pair_setup(state, false);
}

static int ws_pair_setup(void **state) {
        return pair_setup(state, true);
}

static int pair_teardown(void **state) {
        pair *f = *state;
        lk_rpc_pool_free(f->pool);
        lkrs_stop(f->server);
        lktest_ganache_stop(&f->ganache);
        lk_free(f);
        return 0;
}

/* Who answered eth_blockNumber: the server says 0x2a, ganache (no block
 * mined) 0x0. */
static const char *answered_by(lk_rpc_pool *p) {
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_pool_call(p, "eth_blockNumber", NULL, &result, &err) < 0)
                fail_msg("%s", err.msg);
        const char *who = strcmp(json_string_value(result), "0x2a") == 0 ? "bad" : "ganache";
        json_decref(result);
        return who;
}

/* Node bad's health fails, saying has, naming the node and not its URL. */
static void bad_is_failing(pair *f, const char *has) {
        char *why = health_of(f->pool, "EVM.1337.Node.bad");
        if (!why)
                fail_msg("node bad passes its health check");
        if (!strstr(why, "RPC node bad") || !strstr(why, has))
                fail_msg("\"%s\" lacks \"%s\"", why, has);
        if (strstr(why, "SECRETKEY") || strstr(why, "127.0.0.1") || strstr(why, "/v3"))
                fail_msg("\"%s\" shows the URL", why);
        lk_free(why);
        assert_null(health_of(f->pool, "EVM.1337.Node.ganache"));
}

/* The server behaves again: after the recheck the pool uses it again. */
static void bad_recovers(pair *f) {
        lkrs_behave(f->server, LKRS_ANSWER);
        lkrs_set_chain_id(f->server, LKTEST_GANACHE_CHAIN_ID);
        usleep((useconds_t)(RECHECK + 50 * LK_USEC_PER_MSEC));
        assert_string_equal(answered_by(f->pool), "bad");
        assert_null(health_of(f->pool, "EVM.1337.Node.bad"));
}

static void http_garbage(void **state) {
        pair *f = *state;
        assert_string_equal(answered_by(f->pool), "bad");
        assert_null(health_of(f->pool, "EVM.1337.Node.bad"));
        assert_null(lk_rpc_pool_ws(f->pool));
        lkrs_behave(f->server, LKRS_GARBAGE);
        assert_string_equal(answered_by(f->pool), "ganache");
        bad_is_failing(f, "answer is not JSON");
        /* within the recheck, ganache alone */
        assert_string_equal(answered_by(f->pool), "ganache");
        bad_recovers(f);
}

static void http_silence(void **state) {
        pair *f = *state;
        assert_string_equal(answered_by(f->pool), "bad");
        lkrs_behave(f->server, LKRS_SILENT);
        lk_usec start = lk_now_monotonic();
        assert_string_equal(answered_by(f->pool), "ganache");
        lk_usec took = lk_now_monotonic() - start;
        assert_true(took >= 290 * LK_USEC_PER_MSEC && took < 2 * LK_USEC_PER_SEC);
        bad_is_failing(f, "no answer within 300 ms");
        bad_recovers(f);
}

static void http_wrong_chain_id(void **state) {
        pair *f = *state;
        lkrs_set_chain_id(f->server, 5);
        assert_string_equal(answered_by(f->pool), "ganache");
        bad_is_failing(f, "RPC node bad: chain ID 5, but the chain is configured as 1337");
        bad_recovers(f);
}

static bool ws_connected(lk_rpc_ws *ws) {
        lk_rpc_ws_status st;
        lk_rpc_ws_status_get(ws, &st);
        return st.connected;
}

static void ws_dropped(void **state) {
        pair *f = *state;
        lk_rpc_ws *ws = lk_rpc_pool_ws(f->pool);
        assert_non_null(ws);
        assert_string_equal(answered_by(f->pool), "bad");
        assert_null(health_of(f->pool, "EVM.1337.Node.bad"));
        /* dropped, and dropped again at each request on a new connection */
        lkrs_behave(f->server, LKRS_DROP);
        lkrs_drop(f->server);
        LKTEST_WAIT_FOR(!ws_connected(ws));
        bad_is_failing(f, "the connection was closed");
        lk_usec start = lk_now_monotonic();
        assert_string_equal(answered_by(f->pool), "ganache");
        assert_true(lk_now_monotonic() - start < 250 * LK_USEC_PER_MSEC); /* no waiting for the 300 ms timeout */
        bad_is_failing(f, "RPC node bad");
        /* a batch too */
        lk_rpc_request batch[2] = {{.method = "eth_blockNumber"}, {.method = "eth_chainId"}};
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_pool_batch(f->pool, batch, 2, &err), 0);
        assert_int_equal(batch[0].status, 0);
        assert_string_equal(json_string_value(batch[0].result), "0x0");
        assert_string_equal(json_string_value(batch[1].result), "0x539");
        json_decref(batch[0].result);
        json_decref(batch[1].result);
        /* a new connection to another chain is refused */
        lkrs_set_chain_id(f->server, 5);
        lkrs_behave(f->server, LKRS_ANSWER);
        LKTEST_WAIT_FOR(ws_connected(ws));
        usleep((useconds_t)(RECHECK + 50 * LK_USEC_PER_MSEC));
        assert_string_equal(answered_by(f->pool), "ganache");
        bad_is_failing(f, "RPC node bad: chain ID 5, but the chain is configured as 1337");
        bad_recovers(f);
        /* a batch over WebSocket, each request with its own status */
        lk_rpc_request more[2] = {{.method = "eth_getBalance", .params = json_pack("[s]", "0x7")},
                                  {.method = "eth_blockNumber"}};
        assert_int_equal(lk_rpc_pool_batch(f->pool, more, 2, &err), 0);
        assert_string_equal(json_string_value(more[0].result), "0x7");
        assert_string_equal(json_string_value(more[1].result), "0x2a");
        json_decref(more[0].result);
        json_decref(more[1].result);
}

static void ws_only_on_ganache(void **state) {
        (void)state;
        lktest_ganache g = {0};
        lktest_ganache_start(&g);
        char url[64];
        snprintf(url, sizeof url, "ws://127.0.0.1:%u", g.port);
        lk_rpc_pool_node nodes[] = {{.name = "ganache", .ws_url = url}};
        lk_rpc_pool *p = pool_of(LKTEST_GANACHE_CHAIN_ID, nodes, 1);
        assert_non_null(lk_rpc_pool_ws(p));
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_pool_call(p, "eth_chainId", NULL, &result, &err), 0);
        assert_string_equal(json_string_value(result), "0x539");
        json_decref(result);
        assert_int_equal(lk_rpc_pool_call(p, "no_suchMethod", NULL, &result, &err), LK_RPC_ENODE);
        assert_non_null(strstr(err.msg, "RPC node ganache: no_suchMethod: "));
        lk_rpc_request batch[3] = {
                {.method = "eth_blockNumber"},
                {.method = "eth_getBalance", .params = json_pack("[ss]", "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",
                                                                "latest")},
                {.method = "no_suchMethod"},
        };
        assert_int_equal(lk_rpc_pool_batch(p, batch, 3, &err), 0);
        assert_int_equal(batch[0].status, 0);
        assert_string_equal(json_string_value(batch[0].result), "0x0");
        assert_int_equal(batch[1].status, 0);
        uint8_t balance[32];
        assert_int_equal(lk_rpc_quantity_word(batch[1].result, balance, &err), 0);
        assert_int_equal(batch[2].status, LK_RPC_ENODE);
        assert_null(batch[2].result);
        assert_non_null(strstr(batch[2].err.msg, "RPC node ganache: no_suchMethod: "));
        for (int i = 0; i < 3; i++) {
                assert_null(batch[i].params);
                json_decref(batch[i].result);
        }
        assert_null(health_of(p, "EVM.1337.Node.ganache"));
        /* ganache gone: the node is failing, and no other answers */
        lktest_ganache_stop(&g);
        LKTEST_WAIT_FOR(!ws_connected(lk_rpc_pool_ws(p)));
        char *why = health_of(p, "EVM.1337.Node.ganache");
        assert_non_null(why);
        lk_free(why);
        assert_int_equal(lk_rpc_pool_call(p, "eth_chainId", NULL, &result, &err), -EHOSTUNREACH);
        lk_rpc_pool_free(p);
}

/* A silent send-only node costs its timeout once, not on every send: it
 * rests (failing its health check) until the recheck, and the sends go on
 * through ganache meanwhile. */
static void a_silent_send_only_node_rests(void **state) {
        (void)state;
        lkrs_server *server = lkrs_start(NULL);
        lkrs_behave(server, LKRS_SILENT);
        lktest_ganache g = {0};
        lktest_ganache_start(&g);
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", lkrs_port(server));
        lk_rpc_pool_node nodes[] = {{.name = "ganache", .http_url = g.url},
                                    {.name = "sender", .http_url = url, .send_only = true}};
        lk_rpc_pool *p = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_pool_new(&(lk_rpc_pool_options){.chain_id = LKTEST_GANACHE_CHAIN_ID, .nodes = nodes,
                                                                .node_count = 2, .timeout = 300 * LK_USEC_PER_MSEC,
                                                                .recheck_after = 60 * LK_USEC_PER_SEC},
                                         &p, &err),
                         0);
        for (int i = 0; i < 3; i++) {
                lk_usec start = lk_now_monotonic();
                json_t *result = NULL;
                assert_int_equal(lk_rpc_pool_send(p, "eth_chainId", NULL, &result, &err), 0);
                json_decref(result);
                lk_usec took = lk_now_monotonic() - start;
                if (i == 0)
                        assert_true(took >= 300 * LK_USEC_PER_MSEC);
                else if (took >= 300 * LK_USEC_PER_MSEC)
                        fail_msg("send %d waited %lld us for the resting node", i, (long long)took);
        }
        char *why = health_of(p, "EVM.1337.Node.sender");
        assert_non_null(why);
        assert_non_null(strstr(why, "RPC node sender"));
        lk_free(why);
        assert_null(health_of(p, "EVM.1337.Node.ganache"));
        lk_rpc_pool_free(p);
        lktest_ganache_stop(&g);
        lkrs_stop(server);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fails_over_and_comes_back),
                cmocka_unit_test(a_node_on_another_chain_is_refused),
                cmocka_unit_test_setup_teardown(http_garbage, http_pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(http_silence, http_pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(http_wrong_chain_id, http_pair_setup, pair_teardown),
                cmocka_unit_test_setup_teardown(ws_dropped, ws_pair_setup, pair_teardown),
                cmocka_unit_test(ws_only_on_ganache),
                cmocka_unit_test(a_silent_send_only_node_rests),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
