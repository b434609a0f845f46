/* The transaction manager against a real chain (ganache) and a real store
 * (SQLite and PostgreSQL): each request is sent once, in nonce order, and
 * confirmed; asking twice under one idempotency key gives one
 * transaction; a price the chain will not take is bumped, both when the
 * node refuses it and when it sits unmined for BumpThreshold blocks; what
 * a crash left (an attempt saved and perhaps sent, a key without funds) is
 * finished by the next manager with the very bytes saved; a transaction the
 * node refuses for good gives its nonce back; a receipt a reorg takes away
 * makes the transaction go out again. */
#include "lktest.h"
#include "ganache.h"
#include "test_db.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/hex.h"
#include "linkd/txm.h"

#define GWEI 1000000000LL

typedef struct fixture {
        lktest_db *db;
        lktest_ganache ganache;
        lk_rpc *rpc;       /* the test's own view of the chain */
        lk_rpc_pool *pool; /* the manager's */
        lk_eth_key key;    /* ganache's first account */
        lk_txm *txm;       /* freed by the teardown if a test fails */
        lk_log *log;       /* the manager's, on stderr: $LKTEST_LOG_LEVEL or warnings */
} fixture;

static int start_fixture(void **state, bool strict) {
        lktest_db_setup(state);
        fixture *f = lk_calloc(1, sizeof *f);
        f->db = *state;
        f->ganache.strict = strict;
        lk_log_level level = LK_LOG_WARN;
        const char *wanted = getenv("LKTEST_LOG_LEVEL");
        if (wanted)
                lk_log_level_parse(wanted, &level);
        f->log = lk_log_new(&(lk_log_options){.fd = STDERR_FILENO, .level = level});
        lktest_ganache_start(&f->ganache);
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_new(&(lk_rpc_options){.name = "ganache", .url = f->ganache.url}, &f->rpc, &err) < 0)
                fail_msg("%s", err.msg);
        f->pool = lktest_pool_of("ganache", f->ganache.url, LKTEST_GANACHE_CHAIN_ID, 0);
        uint8_t secret[32];
        lktest_unhex(LKTEST_GANACHE_KEY0, secret, 32);
        if (lk_eth_key_from_secret(&f->key, secret, &err) < 0)
                fail_msg("%s", err.msg);
        *state = f;
        return 0;
}

static int setup(void **state) {
        return start_fixture(state, false);
}

static int setup_strict(void **state) {
        return start_fixture(state, true);
}

static int teardown(void **state) {
        fixture *f = *state;
        void *db = f->db;
        lk_txm_free(f->txm);
        lk_rpc_pool_free(f->pool);
        lk_rpc_free(f->rpc);
        lktest_ganache_stop(&f->ganache);
        lk_log_free(f->log);
        lk_free(f);
        return lktest_db_teardown(&db);
}

static lk_txm_gas test_gas(void) {
        return (lk_txm_gas){.limit_default = 21000, .price_default = 2 * GWEI, .tip_cap_default = GWEI,
                            .fee_cap_default = 20 * GWEI, .price_max = 50 * GWEI, .bump_min = GWEI / 2,
                            .bump_percent = 20, .bump_threshold = 3};
}

static lk_txm *start_txm(fixture *f, const lk_eth_key *key, lk_txm_gas gas) {
        lk_err err = LK_ERR_INIT;
        lk_txm *m;
        lk_txm_options o = {.chain_id = LKTEST_GANACHE_CHAIN_ID, .rpc = f->pool, .store = f->db->store, .keys = key,
                            .key_count = 1, .gas = gas, .finality_depth = 5, .poll_interval = 50 * LK_USEC_PER_MSEC,
                            .log = f->log};
        if (lk_txm_new(&o, &m, &err) < 0 || lk_service_start(lk_txm_service(m), NULL, &err) < 0)
                fail_msg("%s", err.msg);
        f->txm = m;
        return m;
}

static void stop_txm(fixture *f) {
        f->txm = lk_txm_free(f->txm);
}

static int64_t enqueue(lk_txm *m, const lk_eth_key *from, uint8_t to_byte, int64_t wei, const char *key, bool *existing) {
        lk_txm_request rq = {.idempotency_key = key};
        memcpy(rq.from, from->address, 20);
        memset(rq.to, 0, 20);
        rq.to[0] = 0xee;
        rq.to[19] = to_byte;
        rq.value[31] = (uint8_t)wei;
        rq.value[30] = (uint8_t)(wei >> 8);
        int64_t id = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_txm_enqueue(m, &rq, &id, existing, &err) < 0)
                fail_msg("%s", err.msg);
        return id;
}

static lk_txm_status wait_state(fixture *f, int64_t id, const char *state) {
        lk_txm_status s = {0};
        lk_err err = LK_ERR_INIT;
        for (int i = 0; i < 1200; i++) {
                if (lk_txm_status_get(f->db->store, id, &s, &err) < 0)
                        fail_msg("%s", err.msg);
                if (strcmp(s.state, state) == 0)
                        return s;
                usleep(25 * 1000);
        }
        const char *why = NULL;
        lk_health_report *report = lk_health_report_new();
        if (f->txm) {
                lk_service_health_report(lk_txm_service(f->txm), report);
                lk_health_report_get(report, "EVM.1337.Txm", &why);
        }
        fail_msg("transaction %" PRId64 " is %s (%s), not %s; the manager: %s", id, s.state, s.error, state,
                 why ? why : "healthy");
        lk_health_report_free(report);
        return s;
}

static json_t *chain_tx(fixture *f, const uint8_t hash[static 32]) {
        json_t *tx = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_call(f->rpc, "eth_getTransactionByHash", json_pack("[o]", lk_rpc_hex(hash, 32)), &tx, &err) < 0 ||
            !json_is_object(tx))
                fail_msg("eth_getTransactionByHash: %s", err.msg);
        return tx;
}

static uint64_t field(json_t *obj, const char *name) {
        uint64_t v = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_quantity(json_object_get(obj, name), &v, &err) < 0)
                fail_msg("%s: %s", name, err.msg);
        return v;
}

static uint64_t sent_count(fixture *f, const lk_eth_key *key) {
        return lktest_rpc_quantity(f->rpc, "eth_getTransactionCount",
                                   json_pack("[os]", lk_rpc_hex(key->address, 20), "latest"));
}

#define COUNT 20

static void sends_each_once_in_nonce_order(void **state) {
        fixture *f = *state;
        lk_txm *m = start_txm(f, &f->key, test_gas());
        int64_t ids[COUNT];
        bool existing = true;
        for (int i = 0; i < COUNT; i++) {
                char key[32];
                snprintf(key, sizeof key, "transfer-%d", i);
                ids[i] = enqueue(m, &f->key, (uint8_t)(i + 1), i + 1, key, &existing);
                assert_false(existing);
        }
        /* asking again under a key gives the same transaction, not another */
        assert_int_equal(enqueue(m, &f->key, 99, 99, "transfer-3", &existing), ids[3]);
        assert_true(existing);
        int64_t found = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_txm_find(f->db->store, "transfer-3", &found, &err), 0);
        assert_int_equal(found, ids[3]);
        assert_int_equal(lk_txm_find(f->db->store, "nobody", &found, &err), -ENOENT);

        for (int i = 0; i < COUNT; i++) {
                lk_txm_status s = wait_state(f, ids[i], "confirmed");
                assert_true(s.has_nonce);
                assert_int_equal(s.nonce, i);
                assert_true(s.has_receipt);
                assert_false(s.reverted);
                json_t *tx = chain_tx(f, s.hash);
                assert_int_equal(field(tx, "nonce"), i);
                assert_int_equal(field(tx, "value"), i + 1);
                assert_int_equal(field(tx, "blockNumber"), s.block_number);
                json_decref(tx);
        }
        assert_int_equal(sent_count(f, &f->key), COUNT);
        lk_health_report *report = lk_health_report_new();
        lk_service_health_report(lk_txm_service(m), report);
        const char *why = "absent";
        assert_true(lk_health_report_get(report, "EVM.1337.Txm", &why));
        assert_null(why);
        lk_health_report_free(report);
        stop_txm(f);
}

/* Ganache in strict instamine keeps a transaction below the base fee in
 * its pool: after BumpThreshold blocks the manager sends it again, higher. */
static void bumps_a_transaction_left_unmined(void **state) {
        fixture *f = *state;
        lk_txm_gas gas = test_gas();
        gas.price_default = 1;
        gas.bump_min = GWEI;
        gas.bump_threshold = 2;
        lk_txm *m = start_txm(f, &f->key, gas);
        int64_t id = enqueue(m, &f->key, 1, 5, "low", NULL);
        lk_txm_status s = wait_state(f, id, "unconfirmed");
        assert_int_equal(s.attempts, 1);
        for (int i = 0; i < 400; i++) {
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_txm_status_get(f->db->store, id, &s, &err), 0);
                if (strcmp(s.state, "confirmed") == 0)
                        break;
                lktest_ganache_mine(f->rpc, 1, 0);
                usleep(50 * 1000);
        }
        assert_string_equal(s.state, "confirmed");
        assert_int_equal(s.attempts, 2);
        json_t *tx = chain_tx(f, s.hash);
        assert_int_equal(field(tx, "gasPrice"), 1 + GWEI);
        json_decref(tx);
        assert_int_equal(sent_count(f, &f->key), 1);
        stop_txm(f);
}

/* In eager instamine ganache refuses a price below the base fee at once:
 * the manager bumps it before it was ever broadcast. */
static void bumps_a_price_the_node_refuses(void **state) {
        fixture *f = *state;
        lk_txm_gas gas = test_gas();
        gas.price_default = 1;
        lk_txm *m = start_txm(f, &f->key, gas);
        int64_t id = enqueue(m, &f->key, 1, 5, "refused", NULL);
        lk_txm_status s = wait_state(f, id, "confirmed");
        assert_int_equal(s.attempts, 1);
        json_t *tx = chain_tx(f, s.hash);
        assert_true(field(tx, "gasPrice") > GWEI / 2);
        assert_true(field(tx, "gasPrice") < 2 * GWEI);
        json_decref(tx);
        stop_txm(f);
}

static int read_raw(lk_db *db, void *arg, lk_err *err) {
        lk_buf *raw = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT signed_raw_tx FROM evm_tx_attempts ORDER BY id DESC LIMIT 1", &st, err);
        if (r < 0)
                return r;
        if ((r = lk_stmt_step(st, err)) == 1) {
                size_t len = 0;
                const void *b = lk_stmt_blob(st, 0, &len);
                lk_buf_append(raw, b, len);
        }
        lk_stmt_done(st);
        return r == 1 ? 0 : lk_err_set(err, -ENOENT, "no attempt");
}

/* A key without funds: the first transaction takes nonce 0 and its attempt
 * is saved, but the node refuses it.  The node stops ("crashes"); its
 * saved attempt reaches the chain anyway (as if sent just before the
 * crash); a new manager finds it mined, confirms it with the hash saved,
 * and the next transaction takes nonce 1. */
static void finishes_what_a_crash_left(void **state) {
        fixture *f = *state;
        lk_eth_key poor;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_eth_key_generate(&poor, NULL, &err), 0);
        lk_txm *m = start_txm(f, &poor, test_gas());
        int64_t first = enqueue(m, &poor, 1, 7, "before-crash", NULL);
        lk_txm_status s = wait_state(f, first, "in_progress");
        assert_true(s.has_hash);
        uint8_t saved_hash[32];
        memcpy(saved_hash, s.hash, 32);
        bool out_of_funds = false;
        for (int i = 0; i < 400 && !out_of_funds; i++) {
                lk_health_report *report = lk_health_report_new();
                lk_service_health_report(lk_txm_service(m), report);
                const char *text = NULL;
                lk_health_report_get(report, "EVM.1337.Txm", &text);
                out_of_funds = text && strstr(text, "insufficient funds");
                lk_health_report_free(report);
                if (!out_of_funds)
                        usleep(25 * 1000);
        }
        assert_true(out_of_funds);
        stop_txm(f);

        json_t *funded = NULL;
        char to[43];
        lk_eth_address_text(poor.address, to);
        char from[43];
        lk_eth_address_text(f->key.address, from);
        assert_int_equal(lk_rpc_call(f->rpc, "eth_sendTransaction",
                                     json_pack("[{ssssss}]", "from", from, "to", to, "value", "0xde0b6b3a7640000"),
                                     &funded, &err),
                         0);
        json_decref(funded);
        lk_buf raw = LK_BUF_INIT;
        assert_int_equal(lk_store_read(f->db->store, read_raw, &raw, &err), 0);
        json_t *sent = NULL;
        assert_int_equal(lk_rpc_call(f->rpc, "eth_sendRawTransaction",
                                     json_pack("[o]", lk_rpc_hex((const uint8_t *)raw.data, raw.len)), &sent, &err),
                         0);
        json_decref(sent);
        lk_buf_done(&raw);

        m = start_txm(f, &poor, test_gas());
        int64_t second = enqueue(m, &poor, 2, 8, "after-crash", NULL);
        s = wait_state(f, first, "confirmed");
        assert_memory_equal(s.hash, saved_hash, 32);
        assert_int_equal(s.nonce, 0);
        s = wait_state(f, second, "confirmed");
        assert_int_equal(s.nonce, 1);
        assert_int_equal(sent_count(f, &poor), 2);
        stop_txm(f);
        lk_eth_key_wipe(&poor);
}

/* A gas limit below the intrinsic gas can never be mined: that
 * transaction fails and the next one takes its nonce. */
static void a_refused_transaction_gives_its_nonce_back(void **state) {
        fixture *f = *state;
        lk_txm *m = start_txm(f, &f->key, test_gas());
        lk_txm_request rq = {.gas_limit = 1000, .idempotency_key = "too-little-gas"};
        memcpy(rq.from, f->key.address, 20);
        rq.to[19] = 1;
        int64_t bad = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_txm_enqueue(m, &rq, &bad, NULL, &err), 0);
        int64_t good = enqueue(m, &f->key, 2, 3, "enough-gas", NULL);
        lk_txm_status s = wait_state(f, bad, "fatal_error");
        assert_false(s.has_nonce);
        assert_int_equal(s.attempts, 0);
        assert_non_null(strstr(s.error, "intrinsic gas"));
        s = wait_state(f, good, "confirmed");
        assert_int_equal(s.nonce, 0);
        assert_int_equal(sent_count(f, &f->key), 1);
        stop_txm(f);
}

static void sends_type_2_with_dynamic_fees(void **state) {
        fixture *f = *state;
        lk_txm_gas gas = test_gas();
        gas.dynamic_fees = true;
        lk_txm *m = start_txm(f, &f->key, gas);
        int64_t id = enqueue(m, &f->key, 1, 9, "type-2", NULL);
        lk_txm_status s = wait_state(f, id, "confirmed");
        json_t *tx = chain_tx(f, s.hash);
        assert_int_equal(field(tx, "type"), 2);
        assert_int_equal(field(tx, "maxFeePerGas"), 20 * GWEI);
        assert_int_equal(field(tx, "maxPriorityFeePerGas"), GWEI);
        assert_int_equal(field(tx, "value"), 9);
        json_decref(tx);
        stop_txm(f);
}

/* A receipt less than FinalityDepth deep is checked again: when a reorg
 * takes its block away, the transaction is sent again and confirmed in
 * the new branch, with the same nonce. */
static void a_receipt_lost_in_a_reorg_is_sent_again(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        json_t *snapshot = NULL, *result = NULL;
        assert_int_equal(lk_rpc_call(f->rpc, "evm_snapshot", NULL, &snapshot, &err), 0);
        lk_txm *m = start_txm(f, &f->key, test_gas());
        int64_t id = enqueue(m, &f->key, 3, 11, "reorged", NULL);
        lk_txm_status before = wait_state(f, id, "confirmed");
        stop_txm(f);
        assert_int_equal(lk_rpc_call(f->rpc, "evm_revert", json_pack("[O]", snapshot), &result, &err), 0);
        json_decref(snapshot);
        json_decref(result);
        json_t *block = NULL;
        assert_int_equal(lk_rpc_call(f->rpc, "eth_getBlockByNumber", json_pack("[sb]", "latest", 0), &block, &err), 0);
        lktest_ganache_mine(f->rpc, 2, (int64_t)field(block, "timestamp") + 1000);
        json_decref(block);
        assert_int_equal(sent_count(f, &f->key), 0);

        start_txm(f, &f->key, test_gas());
        lk_txm_status after = before;
        /* confirmed as before until the manager's first round finds the receipt gone */
        for (int i = 0; i < 400 && after.block_number == before.block_number; i++) {
                usleep(25 * 1000);
                after = wait_state(f, id, "confirmed");
        }
        assert_int_equal(after.nonce, before.nonce);
        assert_memory_equal(after.hash, before.hash, 32); /* the same signed bytes */
        assert_int_equal(after.block_number, before.block_number + 2);
        json_t *tx = chain_tx(f, after.hash);
        assert_int_equal(field(tx, "blockNumber"), after.block_number);
        json_decref(tx);
        assert_int_equal(sent_count(f, &f->key), 1);
        stop_txm(f);
}

static void refuses_a_sender_without_key(void **state) {
        fixture *f = *state;
        lk_txm *m = start_txm(f, &f->key, test_gas());
        lk_txm_request rq = {.idempotency_key = "stranger"};
        rq.from[0] = 0x42;
        int64_t id = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_txm_enqueue(m, &rq, &id, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "no key for sender 0x42"));
        stop_txm(f);
}

/* ---- handing receipts to waiting task runs ---- */

/* What the manager handed over, in order; the callback refuses the first
 * refuse_first calls, as a runner whose task is still executing does. */
typedef struct handed {
        pthread_mutex_t lock;
        int refuse_first;
        int calls;
        size_t count;
        char task_run_id[8][40];
        char *receipt[8];
        char *error[8];
} handed;

static int record_resume(void *arg, const char *task_run_id, const char *receipt_json, const char *error) {
        handed *h = arg;
        pthread_mutex_lock(&h->lock);
        int r = 0;
        if (h->calls++ < h->refuse_first) {
                r = -EAGAIN;
        } else if (h->count < 8) {
                snprintf(h->task_run_id[h->count], sizeof h->task_run_id[0], "%s", task_run_id);
                h->receipt[h->count] = receipt_json ? lk_strdup(receipt_json) : NULL;
                h->error[h->count] = error ? lk_strdup(error) : NULL;
                h->count++;
        }
        pthread_mutex_unlock(&h->lock);
        return r;
}

static size_t handed_count(handed *h) {
        pthread_mutex_lock(&h->lock);
        size_t n = h->count;
        pthread_mutex_unlock(&h->lock);
        return n;
}

static void wait_handed(handed *h, size_t want) {
        for (int i = 0; i < 400 && handed_count(h) < want; i++)
                usleep(25 * 1000);
        assert_int_equal(handed_count(h), want);
}

static void handed_done(handed *h) {
        for (size_t i = 0; i < h->count; i++) {
                lk_free(h->receipt[i]);
                lk_free(h->error[i]);
        }
}

static lk_txm *start_resuming_txm(fixture *f, handed *h) {
        lk_err err = LK_ERR_INIT;
        lk_txm *m;
        lk_txm_options o = {.chain_id = LKTEST_GANACHE_CHAIN_ID, .rpc = f->pool, .store = f->db->store,
                            .keys = &f->key, .key_count = 1, .gas = test_gas(), .finality_depth = 5,
                            .poll_interval = 50 * LK_USEC_PER_MSEC, .log = f->log, .resume = record_resume,
                            .resume_arg = h};
        if (lk_txm_new(&o, &m, &err) < 0 || lk_service_start(lk_txm_service(m), NULL, &err) < 0)
                fail_msg("%s", err.msg);
        f->txm = m;
        return m;
}

static int64_t enqueue_waiting(lk_txm *m, const lk_eth_key *from, const char *key, const char *task_run_id,
                               uint64_t gas_limit) {
        lk_txm_request rq = {.idempotency_key = key, .pipeline_task_run_id = task_run_id, .min_confirmations = 2,
                             .gas_limit = gas_limit};
        memcpy(rq.from, from->address, 20);
        rq.to[0] = 0xee;
        rq.value[31] = 7;
        int64_t id = 0;
        lk_err err = LK_ERR_INIT;
        if (lk_txm_enqueue(m, &rq, &id, NULL, &err) < 0)
                fail_msg("%s", err.msg);
        return id;
}

#define TASK_A "0195f1f0-0000-7000-8000-00000000000a"
#define TASK_B "0195f1f0-0000-7000-8000-00000000000b"

/* Chainlink's rule: the receipt goes to the task once its block is at
 * most the head minus minConfirmations; a task not ready for it is asked
 * again; it goes once; a run started again (a new task run under the same
 * key) gets it too. */
static void hands_the_receipt_to_the_waiting_task_run(void **state) {
        fixture *f = *state;
        handed h = {.lock = PTHREAD_MUTEX_INITIALIZER, .refuse_first = 1};
        lk_txm *m = start_resuming_txm(f, &h);
        int64_t id = enqueue_waiting(m, &f->key, "waiting", TASK_A, 0);
        lk_txm_status s = wait_state(f, id, "confirmed");
        usleep(300 * 1000);
        assert_int_equal(handed_count(&h), 0); /* 0 blocks on top */
        lktest_ganache_mine(f->rpc, 1, 0);
        usleep(300 * 1000);
        assert_int_equal(handed_count(&h), 0); /* 1 */
        lktest_ganache_mine(f->rpc, 1, 0);
        wait_handed(&h, 1); /* 2, after one refusal */
        assert_true(h.calls >= 2);
        assert_string_equal(h.task_run_id[0], TASK_A);
        assert_null(h.error[0]);
        char hash[67] = "0x";
        lk_hex_encode(hash + 2, s.hash, 32);
        assert_non_null(strstr(h.receipt[0], hash));
        assert_non_null(strstr(h.receipt[0], "\"status\":\"0x1\""));
        lktest_ganache_mine(f->rpc, 2, 0);
        usleep(300 * 1000);
        assert_int_equal(handed_count(&h), 1); /* once */
        bool existing = false;
        lk_txm_request again = {.idempotency_key = "waiting", .pipeline_task_run_id = TASK_B, .min_confirmations = 2};
        memcpy(again.from, f->key.address, 20);
        int64_t same = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_txm_enqueue(m, &again, &same, &existing, &err), 0);
        assert_true(existing);
        assert_int_equal(same, id);
        wait_handed(&h, 2);
        assert_string_equal(h.task_run_id[1], TASK_B);
        assert_int_equal(sent_count(f, &f->key), 1);
        stop_txm(f);
        handed_done(&h);
}

/* A transaction that can never be sent fails its task with the reason. */
static void a_failed_transaction_fails_the_waiting_task_run(void **state) {
        fixture *f = *state;
        handed h = {.lock = PTHREAD_MUTEX_INITIALIZER};
        lk_txm *m = start_resuming_txm(f, &h);
        int64_t id = enqueue_waiting(m, &f->key, "doomed", TASK_A, 1000);
        wait_state(f, id, "fatal_error");
        wait_handed(&h, 1);
        assert_null(h.receipt[0]);
        assert_non_null(strstr(h.error[0], "fatal error while sending transaction: "));
        assert_non_null(strstr(h.error[0], "intrinsic gas"));
        stop_txm(f);
        handed_done(&h);
}

/* A transaction that reverts: failOnRevert makes it the task's error,
 * else the task gets the receipt with its status 0. */
static void a_revert_fails_the_task_run_that_asked(void **state) {
        fixture *f = *state;
        /* deployed from the manager's key before the manager owns its nonces */
        static const uint8_t reverts[] = {0x60, 0x00, 0x60, 0x00, 0xfd}; /* PUSH1 0 PUSH1 0 REVERT */
        uint8_t reverter[20];
        lktest_ganache_deploy(f->rpc, reverts, sizeof reverts, reverter);
        handed h = {.lock = PTHREAD_MUTEX_INITIALIZER};
        lk_txm *m = start_resuming_txm(f, &h);
        for (int fail = 1; fail >= 0; fail--) {
                lk_txm_request rq = {.idempotency_key = fail ? "fails" : "passes", .gas_limit = 100000,
                                     .pipeline_task_run_id = fail ? TASK_A : TASK_B, .min_confirmations = 1,
                                     .fail_on_revert = fail};
                memcpy(rq.from, f->key.address, 20);
                memcpy(rq.to, reverter, 20);
                int64_t id = 0;
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_txm_enqueue(m, &rq, &id, NULL, &err), 0);
                lk_txm_status s = wait_state(f, id, "confirmed");
                assert_true(s.reverted);
                lktest_ganache_mine(f->rpc, 1, 0);
        }
        wait_handed(&h, 2);
        assert_string_equal(h.task_run_id[0], TASK_A);
        assert_null(h.receipt[0]);
        assert_non_null(strstr(h.error[0], "reverted on-chain"));
        assert_string_equal(h.task_run_id[1], TASK_B);
        assert_null(h.error[1]);
        assert_non_null(strstr(h.receipt[1], "\"status\":\"0x0\""));
        stop_txm(f);
        handed_done(&h);
}

#define BOTH(test, set_up)                                                                                         \
        cmocka_unit_test_prestate_setup_teardown(test, set_up, teardown, &lktest_sqlite_backend),                 \
                cmocka_unit_test_prestate_setup_teardown(test, set_up, teardown, &lktest_postgres_backend)

int main(void) {
        const struct CMUnitTest tests[] = {
                BOTH(sends_each_once_in_nonce_order, setup),
                BOTH(finishes_what_a_crash_left, setup),
                cmocka_unit_test_prestate_setup_teardown(bumps_a_transaction_left_unmined, setup_strict, teardown,
                                                         &lktest_sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(bumps_a_price_the_node_refuses, setup, teardown,
                                                         &lktest_sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(a_refused_transaction_gives_its_nonce_back, setup, teardown,
                                                         &lktest_sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(sends_type_2_with_dynamic_fees, setup, teardown,
                                                         &lktest_sqlite_backend),
                BOTH(a_receipt_lost_in_a_reorg_is_sent_again, setup),
                cmocka_unit_test_prestate_setup_teardown(refuses_a_sender_without_key, setup, teardown,
                                                         &lktest_sqlite_backend),
                BOTH(hands_the_receipt_to_the_waiting_task_run, setup),
                cmocka_unit_test_prestate_setup_teardown(a_failed_transaction_fails_the_waiting_task_run, setup,
                                                         teardown, &lktest_sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(a_revert_fails_the_task_run_that_asked, setup, teardown,
                                                         &lktest_sqlite_backend),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
