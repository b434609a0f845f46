/* Failover between a chain's RPC nodes, against real ganache chains: a
 * dead first node is passed over and reported, a node on another chain is
 * refused, a node that comes back is used again after its recheck, and a
 * node's own JSON-RPC error is no reason to fail over. */
#include "lktest.h"
#include "ganache.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/rpc_pool.h"

static lk_rpc_pool *pool_of(int64_t chain_id, const lk_rpc_pool_node *nodes, size_t n) {
        lk_rpc_pool *p = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_pool_new(&(lk_rpc_pool_options){.chain_id = chain_id, .nodes = nodes, .node_count = n,
                                                   .timeout = 500 * LK_USEC_PER_MSEC,
                                                   .recheck_after = 100 * LK_USEC_PER_MSEC},
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
        const char *error = NULL;
        if (!lk_health_report_get(report, name, &error))
                fail_msg("no health entry %s", name);
        char *copy = error ? lk_strdup(error) : NULL;
        lk_health_report_free(report);
        return copy;
}

static void fails_over_and_comes_back(void **state) {
        (void)state;
        lktest_ganache a = {0}, b = {0};
        lktest_ganache_start(&a);
        lktest_ganache_start(&b);
        char a_url[96];
        snprintf(a_url, sizeof a_url, "%s/?key=SECRETKEY", a.url); /* a key in the URL, as providers put it */
        lk_rpc_pool_node nodes[] = {{"a", a_url, false}, {"b", b.url, false}, {"sender", b.url, true}};
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
        json_t *result = NULL;
        assert_int_equal(lk_rpc_pool_call(p, "no_suchMethod", NULL, &result, &err), LK_RPC_ENODE);
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
        lk_rpc_pool_node nodes[] = {{"wrong", g.url, false}};
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
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fails_over_and_comes_back),
                cmocka_unit_test(a_node_on_another_chain_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
