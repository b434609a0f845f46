/* The JSON-RPC client: strict decoding of what nodes answer; against a
 * real chain (ganache), calls, batches, the chain ID check and
 * transactions signed by linkd and mined; against a misbehaving server,
 * garbage, HTTP errors, silence and refusal, each an error that names the
 * node and never its URL. */
#include "lktest.h"
#include "fixture_server.h"
#include "ganache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/heads.h"
#include "linkd/rpc.h"
#include "linkd/tx.h"

static json_t *text(const char *s) {
        return json_string(s);
}

static void decoders(void **state) {
        (void)state;
        uint64_t v = 1;
        uint8_t word[32], addr[20];
        lk_err err = LK_ERR_INIT;
        json_t *j;
        static const struct {
                const char *in;
                uint64_t want;
        } good[] = {{"0x0", 0}, {"0x1", 1}, {"0x539", 1337}, {"0xffffffffffffffff", UINT64_MAX}};
        for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
                j = text(good[i].in);
                assert_int_equal(lk_rpc_quantity(j, &v, &err), 0);
                assert_int_equal(v, good[i].want);
                json_decref(j);
        }
        static const struct {
                const char *in, *want;
        } bad[] = {
                {"0x", "quantity has 0 hex digits (1 to 16)"},
                {"0x01", "quantity has leading zeros"},
                {"539", "quantity is not a 0x-prefixed string"},
                {"0x1g", "quantity is not hex"},
                {"0x10000000000000000", "quantity has 17 hex digits (1 to 16)"},
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                j = text(bad[i].in);
                assert_int_equal(lk_rpc_quantity(j, &v, &err), -EPROTO);
                assert_string_equal(err.msg, bad[i].want);
                json_decref(j);
        }
        j = json_integer(5);
        assert_int_equal(lk_rpc_quantity(j, &v, &err), -EPROTO);
        json_decref(j);
        j = text("0x1bc16d674ec80000");
        assert_int_equal(lk_rpc_quantity_word(j, word, &err), 0);
        lktest_assert_hex(word, 32, "1bc16d674ec80000");
        json_decref(j);
        j = text("0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1");
        assert_int_equal(lk_rpc_data(j, addr, 20, &err), 0);
        assert_int_equal(lk_rpc_data(j, word, 32, &err), -EPROTO);
        assert_string_equal(err.msg, "data has 40 hex digits, not 64");
        json_decref(j);
        j = lk_rpc_hex(addr, 20);
        assert_string_equal(json_string_value(j), "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1");
        json_decref(j);
        /* DATA of any length: a call's return data */
        uint8_t *bytes = NULL;
        size_t len = 99;
        j = text("0x");
        assert_int_equal(lk_rpc_bytes(j, &bytes, &len, &err), 0);
        assert_int_equal(len, 0);
        lk_free(bytes);
        json_decref(j);
        j = text("0x00ff10");
        assert_int_equal(lk_rpc_bytes(j, &bytes, &len, &err), 0);
        assert_int_equal(len, 3);
        lktest_assert_hex(bytes, 3, "00ff10");
        lk_free(bytes);
        json_decref(j);
        static const char *const not_data[] = {"0x0", "00ff", "0xzz", "0X00"};
        for (size_t i = 0; i < sizeof not_data / sizeof not_data[0]; i++) {
                j = text(not_data[i]);
                assert_int_equal(lk_rpc_bytes(j, &bytes, &len, &err), -EPROTO);
                json_decref(j);
        }
}

static void blocks_and_logs(void **state) {
        (void)state;
        json_error_t error;
        json_t *block = json_loads("{\"number\":\"0x1b4\",\"hash\":\"0xdc0818cf78f21a8e70579cb46a43643f78291264dda342ae"
                                   "31049421c82d21ae\",\"parentHash\":\"0xe99e022112df268087ea7eafaf4790497fd21dbeeb6bd"
                                   "7a1721df161a6657a54\",\"timestamp\":\"0x55ba467c\",\"transactions\":[]}",
                                   0, &error);
        lk_head h;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_block_head(block, &h, &err), 0);
        assert_int_equal(h.number, 436);
        assert_int_equal(h.timestamp, 0x55ba467c);
        lktest_assert_hex(h.parent_hash, 32, "e99e022112df268087ea7eafaf4790497fd21dbeeb6bd7a1721df161a6657a54");
        json_object_set_new(block, "hash", json_string("0x1234"));
        assert_int_equal(lk_rpc_block_head(block, &h, &err), -EPROTO);
        assert_string_equal(err.msg, "block.hash: data has 4 hex digits, not 64");
        json_object_del(block, "number");
        assert_int_equal(lk_rpc_block_head(block, &h, &err), -EPROTO);
        assert_string_equal(err.msg, "block.number: quantity is not a 0x-prefixed string");
        json_decref(block);

        json_t *log = json_loads(
                "{\"address\":\"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1\",\"topics\":[\"0xd78a0cb8bb633d06981248b816e7bd33c2"
                "a35a6089241d099fa519e361cab902\"],\"data\":\"0x0001\",\"blockNumber\":\"0x10\",\"blockHash\":\"0x"
                "dc0818cf78f21a8e70579cb46a43643f78291264dda342ae31049421c82d21ae\",\"transactionHash\":\"0xe99e022112df"
                "268087ea7eafaf4790497fd21dbeeb6bd7a1721df161a6657a54\",\"logIndex\":\"0x2\",\"removed\":false}",
                0, &error);
        lk_evm_log l;
        assert_int_equal(lk_rpc_log(log, &l, &err), 0);
        assert_int_equal(l.topic_count, 1);
        assert_int_equal(l.block_number, 16);
        assert_int_equal(l.log_index, 2);
        assert_string_equal(l.data_hex, "0x0001");
        assert_false(l.removed);
        json_object_set_new(log, "data", json_string("0x123"));
        assert_int_equal(lk_rpc_log(log, &l, &err), -EPROTO);
        assert_string_equal(err.msg, "log.data: data is not 0x and an even number of hex digits");
        json_object_set_new(log, "data", json_string("0x"));
        json_object_set_new(log, "topics", json_pack("[sssss]", "0x", "0x", "0x", "0x", "0x"));
        assert_int_equal(lk_rpc_log(log, &l, &err), -EPROTO);
        assert_string_equal(err.msg, "log.topics is not a list of at most 4 topics");
        json_decref(log);
}

/* ---- against ganache ---- */

static int ganache_setup(void **state) {
        lktest_ganache *g = lk_calloc(1, sizeof *g);
        lktest_ganache_start(g);
        *state = g;
        return 0;
}

static int ganache_teardown(void **state) {
        lktest_ganache *g = *state;
        lktest_ganache_stop(g);
        lk_free(g);
        return 0;
}

static lk_rpc *client(const char *url, lk_usec timeout) {
        lk_rpc *rpc = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_new(&(lk_rpc_options){.name = "primary", .url = url, .timeout = timeout}, &rpc, &err) < 0)
                fail_msg("%s", err.msg);
        return rpc;
}


static void calls_and_batches(void **state) {
        lktest_ganache *g = *state;
        lk_rpc *rpc = client(g->url, 0);
        lk_err err = LK_ERR_INIT;
        uint64_t chain = 0;
        assert_int_equal(lk_rpc_check_chain_id(rpc, LKTEST_GANACHE_CHAIN_ID, &chain, &err), 0);
        assert_int_equal(chain, LKTEST_GANACHE_CHAIN_ID);
        assert_int_equal(lk_rpc_check_chain_id(rpc, 1, NULL, &err), -EINVAL);
        assert_string_equal(err.msg, "RPC node primary: chain ID 1337, but the chain is configured as 1");
        lk_rpc_request batch[3] = {
                {.method = "eth_blockNumber"},
                {.method = "eth_getBalance", .params = json_pack("[ss]", "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1",
                                                                "latest")},
                {.method = "no_suchMethod"},
        };
        assert_int_equal(lk_rpc_batch(rpc, batch, 3, &err), 0);
        uint64_t v;
        assert_int_equal(batch[0].status, 0);
        assert_int_equal(lk_rpc_quantity(batch[0].result, &v, &err), 0);
        uint8_t balance[32];
        assert_int_equal(batch[1].status, 0);
        assert_int_equal(lk_rpc_quantity_word(batch[1].result, balance, &err), 0);
        assert_int_equal(batch[2].status, LK_RPC_ENODE);
        assert_non_null(strstr(batch[2].err.msg, "RPC node primary: no_suchMethod:"));
        for (int i = 0; i < 3; i++)
                json_decref(batch[i].result);
        /* a real block decodes */
        json_t *block = NULL;
        assert_int_equal(lk_rpc_call(rpc, "eth_getBlockByNumber", json_pack("[sb]", "latest", 0), &block, &err), 0);
        lk_head head;
        if (lk_rpc_block_head(block, &head, &err) < 0)
                fail_msg("%s", err.msg);
        json_decref(block);
        lk_rpc_free(rpc);
}

/* Ganache's first deterministic account, which has ether. */
static lk_eth_key ganache_key(void) {
        uint8_t secret[32];
        lk_eth_key key;
        lktest_unhex(LKTEST_GANACHE_KEY0, secret, 32);
        assert_int_equal(lk_eth_key_from_secret(&key, secret, NULL), 0);
        return key;
}

/* Transactions linkd signs, sent to and mined by a real chain. */
static void signed_transactions_are_mined(void **state) {
        lktest_ganache *g = *state;
        lk_rpc *rpc = client(g->url, 0);
        lk_eth_key key = ganache_key();
        lk_tx txs[2] = {
                {.type = LK_TX_LEGACY, .chain_id = LKTEST_GANACHE_CHAIN_ID, .gas_limit = 21000, .has_to = true},
                {.type = LK_TX_DYNAMIC_FEE, .chain_id = LKTEST_GANACHE_CHAIN_ID, .gas_limit = 21000, .has_to = true},
        };
        lktest_unhex("4a817c800", txs[0].gas_price, 32);
        lktest_unhex("3b9aca00", txs[1].max_priority_fee_per_gas, 32);
        lktest_unhex("4a817c800", txs[1].max_fee_per_gas, 32);
        for (int i = 0; i < 2; i++) {
                lktest_unhex("ffcf8fdee72ac11b5c542428b35eef5769c409f0", txs[i].to, 20);
                lktest_unhex("de0b6b3a7640000", txs[i].value, 32);
        }
        lk_err err = LK_ERR_INIT;
        for (int i = 0; i < 2; i++) {
                txs[i].nonce = lktest_rpc_quantity(rpc, "eth_getTransactionCount",
                                             json_pack("[os]", lk_rpc_hex(key.address, 20), "pending"));
                lk_buf raw = LK_BUF_INIT;
                uint8_t hash[32], got_hash[32];
                assert_int_equal(lk_tx_sign(&txs[i], &key, &raw, hash, &err), 0);
                json_t *result = NULL;
                if (lk_rpc_call(rpc, "eth_sendRawTransaction",
                                json_pack("[o]", lk_rpc_hex((const uint8_t *)raw.data, raw.len)), &result, &err) < 0)
                        fail_msg("send: %s", err.msg);
                assert_int_equal(lk_rpc_data(result, got_hash, 32, &err), 0);
                assert_memory_equal(got_hash, hash, 32); /* the chain's hash is linkd's */
                json_decref(result);
                json_t *receipt = NULL;
                assert_int_equal(lk_rpc_call(rpc, "eth_getTransactionReceipt", json_pack("[o]", lk_rpc_hex(hash, 32)),
                                             &receipt, &err),
                                 0);
                uint64_t status = 0;
                assert_int_equal(lk_rpc_quantity(json_object_get(receipt, "status"), &status, &err), 0);
                assert_int_equal(status, 1);
                json_decref(receipt);
                lk_buf_done(&raw);
        }
        assert_int_equal(lktest_rpc_quantity(rpc, "eth_getTransactionCount",
                                       json_pack("[os]", lk_rpc_hex(key.address, 20), "latest")),
                         2);
        /* what the node refuses comes back as the node's error */
        json_t *result = NULL;
        assert_int_equal(lk_rpc_call(rpc, "eth_sendRawTransaction", json_pack("[s]", "0x1234"), &result, &err),
                         LK_RPC_ENODE);
        assert_non_null(strstr(err.msg, "RPC node primary: eth_sendRawTransaction: "));
        assert_null(result);
        /* and with it, the error object as the node sent it */
        json_t *error = NULL;
        assert_int_equal(lk_rpc_call_error(rpc, "eth_sendRawTransaction", json_pack("[s]", "0x1234"), &result, &error,
                                           &err),
                         LK_RPC_ENODE);
        assert_true(json_is_integer(json_object_get(error, "code")));
        assert_non_null(strstr(err.msg, json_string_value(json_object_get(error, "message"))));
        json_decref(error);
        /* none when the call succeeds */
        error = NULL;
        assert_int_equal(lk_rpc_call_error(rpc, "eth_chainId", NULL, &result, &error, &err), 0);
        assert_null(error);
        json_decref(result);
        lk_rpc_free(rpc);
}

static void logs_of_a_real_contract(void **state) {
        lktest_ganache *g = *state;
        lk_rpc *rpc = client(g->url, 0);
        uint8_t contract[20];
        lktest_ganache_deploy_logger(rpc, contract);
        uint8_t topics[3][32] = {{0}};
        topics[0][31] = 1;
        topics[1][31] = 2;
        topics[2][31] = 1;
        for (int i = 0; i < 3; i++)
                lktest_ganache_emit(rpc, contract, topics[i]);
        lk_err err = LK_ERR_INIT;
        uint64_t latest = lktest_rpc_quantity(rpc, "eth_blockNumber", NULL);
        lk_rpc_logs logs;
        if (lk_rpc_get_logs(rpc, 0, latest, contract, 1, NULL, 0, &logs, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(logs.count, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_memory_equal(logs.items[i].address, contract, 20);
                assert_int_equal(logs.items[i].topic_count, 1);
                assert_memory_equal(logs.items[i].topics[0], topics[i], 32);
                assert_string_equal(logs.items[i].data_hex, "0x");
                assert_false(logs.items[i].removed);
                if (i)
                        assert_true(logs.items[i].block_number > logs.items[i - 1].block_number);
        }
        lk_rpc_logs_free(&logs);
        /* by topic */
        assert_int_equal(lk_rpc_get_logs(rpc, 0, latest, contract, 1, topics[0], 1, &logs, &err), 0);
        assert_int_equal(logs.count, 2);
        lk_rpc_logs_free(&logs);
        lk_rpc_free(rpc);
}

/* ---- a misbehaving server ---- */

static void misbehaving_nodes(void **state) {
        (void)state;
        lkfx_server *fx = lkfx_start();
        static const struct {
                const char *path;
                int code;
                const char *has;
        } cases[] = {
                {"/json?body=garbage&key=SECRETKEY", -EPROTO, "RPC node primary: answer is not JSON"},
                {"/json?body=%7B%22id%22%3A1%7D&key=SECRETKEY", -EPROTO, "has no result"},
                {"/json?body=%7B%22id%22%3A99%2C%22result%22%3A1%7D&key=SECRETKEY", -EPROTO,
                 "the answer is for another request"},
                {"/json?body=%5B%5D&key=SECRETKEY", -EPROTO, "the answer is not an object"},
                {"/status?code=503&key=SECRETKEY", -EPROTO, "RPC node primary: HTTP status 503"},
                {"/slow?ms=3000&key=SECRETKEY", -ETIMEDOUT, "RPC node primary: no answer within 200 ms"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                char *url = lkfx_url(fx, cases[i].path);
                lk_rpc *rpc = client(url, 200 * LK_USEC_PER_MSEC);
                json_t *result = NULL;
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_rpc_call(rpc, "eth_chainId", NULL, &result, &err), cases[i].code);
                if (!strstr(err.msg, cases[i].has))
                        fail_msg("\"%s\" lacks \"%s\"", err.msg, cases[i].has);
                assert_null(strstr(err.msg, "SECRETKEY"));
                assert_null(result);
                lk_rpc_free(rpc);
                free(url);
        }
        lkfx_stop(fx);
        /* nobody listening */
        lk_rpc *rpc = client("http://127.0.0.1:1/SECRETKEY", 200 * LK_USEC_PER_MSEC);
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rpc_call(rpc, "eth_chainId", NULL, &result, &err), -ECONNREFUSED);
        assert_null(strstr(err.msg, "SECRETKEY"));
        lk_rpc_free(rpc);
        assert_int_equal(lk_rpc_new(&(lk_rpc_options){.name = "x", .url = "ws://host"}, &rpc, &err), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(decoders),
                cmocka_unit_test(blocks_and_logs),
                cmocka_unit_test_setup_teardown(calls_and_batches, ganache_setup, ganache_teardown),
                cmocka_unit_test_setup_teardown(signed_transactions_are_mined, ganache_setup, ganache_teardown),
                cmocka_unit_test_setup_teardown(logs_of_a_real_contract, ganache_setup, ganache_teardown),
                cmocka_unit_test(misbehaving_nodes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
