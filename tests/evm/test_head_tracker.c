/* The head tracker against a real chain (ganache): it follows mined
 * blocks, sees a reorg made with evm_snapshot/evm_revert and ends on the
 * chain's own canonical hashes, continues from its stored heads after a
 * restart (SQLite and PostgreSQL), and reports a dead node unhealthy. */
#include "lktest.h"
#include "ganache.h"
#include "test_db.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/head_tracker.h"

typedef struct fixture {
        lktest_ganache ganache;
        lktest_db *db; /* NULL: no store */
        lk_rpc *rpc;
        lk_rpc_pool *pool; /* the tracker's */
        pthread_mutex_t lock;
        int reorgs, heads;
        int64_t last_fork;
        uint8_t last_told[32]; /* the hash of the last head on_head was told of */
        lk_head_tracker *running; /* stopped by the teardown too, should an assertion leave it running */
} fixture;

static int setup_chain(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        lktest_ganache_start(&f->ganache);
        lk_err err = LK_ERR_INIT;
        f->pool = lktest_pool_of("ganache", f->ganache.url, LKTEST_GANACHE_CHAIN_ID, 0);
        if (lk_rpc_new(&(lk_rpc_options){.name = "ganache", .url = f->ganache.url}, &f->rpc, &err) < 0)
                fail_msg("%s", err.msg);
        pthread_mutex_init(&f->lock, NULL);
        *state = f;
        return 0;
}

static void stop_tracker(fixture *f) {
        if (!f->running)
                return;
        lk_service_close(lk_head_tracker_service(f->running), NULL);
        f->running = lk_head_tracker_free(f->running);
}

static int teardown_chain(void **state) {
        fixture *f = *state;
        stop_tracker(f);
        lk_rpc_free(f->rpc);
        lk_rpc_pool_free(f->pool);
        lktest_ganache_stop(&f->ganache);
        pthread_mutex_destroy(&f->lock);
        lk_free(f);
        return 0;
}

/* Both: a store (prestate: the backend) and a chain. */
static int setup_both(void **state) {
        lktest_db_setup(state);
        lktest_db *db = *state;
        setup_chain(state);
        ((fixture *)*state)->db = db;
        return 0;
}

static int teardown_both(void **state) {
        fixture *f = *state;
        void *db_state = f->db;
        teardown_chain(state);
        return lktest_db_teardown(&db_state);
}

static void on_head(void *arg, const lk_head *head, const lk_head_update *update) {
        fixture *f = arg;
        pthread_mutex_lock(&f->lock);
        f->heads++;
        memcpy(f->last_told, head->hash, 32);
        if (update->outcome == LK_HEAD_REORG) {
                f->reorgs++;
                f->last_fork = update->fork_point;
        }
        pthread_mutex_unlock(&f->lock);
}

static lk_head_tracker *tracker(fixture *f) {
        lk_head_tracker *t = NULL;
        lk_err err = LK_ERR_INIT;
        lk_head_tracker_options o = {.chain_id = LKTEST_GANACHE_CHAIN_ID, .rpc = f->pool,
                                     .store = f->db ? f->db->store : NULL, .history_depth = 50,
                                     .poll_interval = 30 * LK_USEC_PER_MSEC, .on_head = on_head, .arg = f};
        if (lk_head_tracker_new(&o, &t, &err) < 0 || lk_service_start(lk_head_tracker_service(t), NULL, &err) < 0)
                fail_msg("%s", err.msg);
        f->running = t;
        return t;
}

static json_t *call(fixture *f, const char *method, json_t *params) {
        json_t *result = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_call(f->rpc, method, params, &result, &err) < 0)
                fail_msg("%s: %s", method, err.msg);
        return result;
}

static void mine(fixture *f, int blocks, int64_t timestamp) {
        for (int i = 0; i < blocks; i++)
                json_decref(call(f, "evm_mine", timestamp ? json_pack("[I]", (json_int_t)(timestamp + i)) : NULL));
}

static lk_head chain_head(fixture *f, const char *which) {
        json_t *block = call(f, "eth_getBlockByNumber", json_pack("[sb]", which, 0));
        lk_head h;
        lk_err err = LK_ERR_INIT;
        if (lk_rpc_block_head(block, &h, &err) < 0)
                fail_msg("%s", err.msg);
        json_decref(block);
        return h;
}

/* Whether the tracker knows every block from 1 to number: a round moves
 * the tip first and fills the gap below it after. */
static bool knows_all_up_to(lk_head_tracker *t, int64_t number) {
        uint8_t hash[32];
        for (int64_t n = 1; n <= number; n++)
                if (!lk_head_tracker_canonical(t, n, hash))
                        return false;
        return true;
}

/* Waits until the tracker's tip is the chain's latest block, with no gap
 * below it. */
static void wait_caught_up(fixture *f, lk_head_tracker *t) {
        lk_head want = chain_head(f, "latest"), got;
        for (int i = 0; i < 400; i++) {
                if (lk_head_tracker_latest(t, &got) && memcmp(got.hash, want.hash, 32) == 0 &&
                    knows_all_up_to(t, want.number))
                        return;
                usleep(25 * 1000);
        }
        fail_msg("the tracker did not reach block %lld", (long long)want.number);
}

/* Waits until on_head has been told of the chain's latest block: the
 * tracker reports a round at its end, after its tip has moved. */
static void wait_told(fixture *f) {
        lk_head want = chain_head(f, "latest");
        for (int i = 0; i < 400; i++) {
                pthread_mutex_lock(&f->lock);
                bool told = memcmp(f->last_told, want.hash, 32) == 0;
                pthread_mutex_unlock(&f->lock);
                if (told)
                        return;
                usleep(25 * 1000);
        }
        fail_msg("on_head was not told of block %lld", (long long)want.number);
}

/* Every number the tracker knows has the chain's own hash. */
static void assert_canonical_matches(fixture *f, lk_head_tracker *t, int64_t from, int64_t to) {
        for (int64_t n = from; n <= to; n++) {
                char number[24];
                snprintf(number, sizeof number, "0x%llx", (unsigned long long)n);
                lk_head want = chain_head(f, number);
                uint8_t got[32];
                if (!lk_head_tracker_canonical(t, n, got))
                        fail_msg("the tracker has no block %lld", (long long)n);
                assert_memory_equal(got, want.hash, 32);
        }
}

static void follows_blocks_and_reorgs(void **state) {
        fixture *f = *state;
        lk_head_tracker *t = tracker(f);
        mine(f, 5, 0);
        wait_caught_up(f, t);
        lk_head top = chain_head(f, "latest");
        assert_canonical_matches(f, t, 1, top.number);

        /* three blocks, then taken back and replaced by four others */
        json_t *snapshot = call(f, "evm_snapshot", NULL);
        mine(f, 3, 0);
        wait_caught_up(f, t);
        json_decref(call(f, "evm_revert", json_pack("[O]", snapshot)));
        json_decref(snapshot);
        mine(f, 4, top.timestamp + 1000);
        wait_caught_up(f, t);
        lk_head after = chain_head(f, "latest");
        assert_int_equal(after.number, top.number + 4);
        assert_canonical_matches(f, t, 1, after.number);
        wait_told(f);
        pthread_mutex_lock(&f->lock);
        assert_true(f->reorgs >= 1);
        assert_int_equal(f->last_fork, top.number + 1);
        pthread_mutex_unlock(&f->lock);
        stop_tracker(f);
}

static void continues_from_stored_heads(void **state) {
        fixture *f = *state;
        lk_head_tracker *t = tracker(f);
        mine(f, 6, 0);
        wait_caught_up(f, t);
        stop_tracker(f);
        /* a new tracker knows the old heads before it polls */
        lk_head_tracker *again = NULL;
        lk_err err = LK_ERR_INIT;
        lk_head_tracker_options o = {.chain_id = LKTEST_GANACHE_CHAIN_ID, .rpc = f->pool, .store = f->db->store,
                                     .history_depth = 50, .poll_interval = 30 * LK_USEC_PER_MSEC};
        assert_int_equal(lk_head_tracker_new(&o, &again, &err), 0);
        f->running = again;
        lk_head latest;
        assert_false(lk_head_tracker_latest(again, &latest));
        assert_int_equal(lk_service_start(lk_head_tracker_service(again), NULL, &err), 0);
        assert_true(lk_head_tracker_latest(again, &latest));
        assert_int_equal(latest.number, chain_head(f, "latest").number);
        mine(f, 2, 0);
        wait_caught_up(f, again);
        assert_canonical_matches(f, again, 1, latest.number + 2);
        stop_tracker(f);
}

static void a_dead_node_is_unhealthy(void **state) {
        (void)state;
        lk_err err = LK_ERR_INIT;
        lk_rpc_pool *rpc = lktest_pool_of("gone", "http://127.0.0.1:1/KEY", 5, 200 * LK_USEC_PER_MSEC);
        lk_head_tracker *t = NULL;
        lk_head_tracker_options o = {.chain_id = 5, .rpc = rpc, .poll_interval = 20 * LK_USEC_PER_MSEC};
        assert_int_equal(lk_head_tracker_new(&o, &t, &err), 0);
        assert_int_equal(lk_service_start(lk_head_tracker_service(t), NULL, &err), 0);
        const char *why = NULL;
        lk_health_report *report = lk_health_report_new();
        for (int i = 0; i < 200 && !why; i++) {
                usleep(20 * 1000);
                lk_health_report_free(report);
                report = lk_health_report_new();
                lk_service_health_report(lk_head_tracker_service(t), report);
                lk_health_report_get(report, "EVM.5.HeadTracker", &why);
        }
        assert_non_null(why);
        assert_non_null(strstr(why, "RPC node gone"));
        assert_null(strstr(why, "KEY"));
        lk_health_report_free(report);
        lk_service_close(lk_head_tracker_service(t), NULL);
        lk_head_tracker_free(t);
        lk_rpc_pool_free(rpc);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(follows_blocks_and_reorgs, setup_chain, teardown_chain),
                cmocka_unit_test_prestate_setup_teardown(continues_from_stored_heads, setup_both, teardown_both,
                                                         &lktest_sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(continues_from_stored_heads, setup_both, teardown_both,
                                                         &lktest_postgres_backend),
                cmocka_unit_test(a_dead_node_is_unhealthy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
