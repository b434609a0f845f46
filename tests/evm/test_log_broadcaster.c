/* The log broadcaster against a real chain (ganache) and a real store
 * (SQLite and PostgreSQL): logs of a contract reach the subscriber once
 * confirmed, exactly once, recorded in log_broadcasts in the
 * subscriber's own transaction; in a reorg deeper than the
 * confirmations, a log whose block is reverted away never does, and one
 * in the new branch does, under its new block's hash; after a restart,
 * the logs consumed before are not handed out again and new ones are. */
#include "lktest.h"
#include "ganache.h"
#include "test_db.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/log_broadcaster.h"

#define JOB 7
#define CONFIRMATIONS 3

typedef struct node {
        lk_head_tracker *heads;
        lk_log_broadcaster *logs;
} node;

typedef struct fixture {
        node running; /* stopped by the teardown if a test fails */
        lktest_ganache ganache;
        lktest_db *db;
        lk_rpc *rpc;
        lk_rpc_pool *pool; /* the tracker's and the broadcaster's */
        uint8_t logger[20];
        pthread_mutex_t lock;
        int delivered;
        uint64_t last_block;
        uint8_t last_topic, last_hash[32];
} fixture;

static int setup(void **state) {
        lktest_db_setup(state);
        fixture *f = lk_calloc(1, sizeof *f);
        f->db = *state;
        lktest_ganache_start(&f->ganache);
        lk_err err = LK_ERR_INIT;
        f->pool = lktest_pool_of("ganache", f->ganache.url, LKTEST_GANACHE_CHAIN_ID, 0);
        if (lk_rpc_new(&(lk_rpc_options){.name = "ganache", .url = f->ganache.url}, &f->rpc, &err) < 0)
                fail_msg("%s", err.msg);
        pthread_mutex_init(&f->lock, NULL);
        const char *sql[] = {"INSERT INTO pipeline_specs (id, dot_dag_source) VALUES (1, '')",
                             "INSERT INTO jobs (id, external_job_id, type, schema_version, pipeline_spec_id)"
                             " VALUES (7, '00000000-0000-4000-8000-000000000007', 'directrequest', 1, 1)"};
        for (int i = 0; i < 2; i++)
                if (lk_store_tx(f->db->store, lktest_exec_body, (void *)sql[i], &err) < 0)
                        fail_msg("%s", err.msg);
        lktest_ganache_deploy_logger(f->rpc, f->logger);
        *state = f;
        return 0;
}

static void stop(node *n);

static int teardown(void **state) {
        fixture *f = *state;
        void *db = f->db;
        stop(&f->running);
        lk_rpc_free(f->rpc);
        lk_rpc_pool_free(f->pool);
        lktest_ganache_stop(&f->ganache);
        pthread_mutex_destroy(&f->lock);
        lk_free(f);
        return lktest_db_teardown(&db);
}

typedef struct consume_args {
        const lk_evm_log *log;
} consume_args;

static int consume_body(lk_db *db, void *arg, lk_err *err) {
        consume_args *a = arg;
        /* a job's run would be stored here, in the same transaction */
        return lk_log_broadcast_consume(db, LKTEST_GANACHE_CHAIN_ID, a->log, JOB, err);
}

static int on_log(void *arg, const lk_evm_log *log) {
        fixture *f = arg;
        consume_args a = {log};
        lk_err err = LK_ERR_INIT;
        int r = lk_store_tx(f->db->store, consume_body, &a, &err);
        if (r < 0)
                return r == -EALREADY ? 0 : r;
        pthread_mutex_lock(&f->lock);
        f->delivered++;
        f->last_block = log->block_number;
        f->last_topic = log->topic_count ? log->topics[0][31] : 0;
        memcpy(f->last_hash, log->block_hash, 32);
        pthread_mutex_unlock(&f->lock);
        return 0;
}

/* A tracker and a broadcaster, as a chain's services, keeping depth
 * heads and looking back as far on the first. */
static node start_awaiting(fixture *f, int64_t depth, bool await_dependents);

static node start(fixture *f, int64_t depth) {
        return start_awaiting(f, depth, false);
}

static node start_awaiting(fixture *f, int64_t depth, bool await_dependents) {
        node n = {NULL, NULL};
        lk_err err = LK_ERR_INIT;
        lk_head_tracker_options to = {.chain_id = LKTEST_GANACHE_CHAIN_ID, .rpc = f->pool, .store = f->db->store,
                                      .history_depth = (size_t)depth, .poll_interval = 30 * LK_USEC_PER_MSEC};
        if (lk_head_tracker_new(&to, &n.heads, &err) < 0)
                fail_msg("%s", err.msg);
        lk_log_broadcaster_options bo = {.chain_id = LKTEST_GANACHE_CHAIN_ID, .rpc = f->pool, .store = f->db->store,
                                         .heads = n.heads, .finality_depth = depth,
                                         .await_dependents = await_dependents};
        if (lk_log_broadcaster_new(&bo, &n.logs, &err) < 0)
                fail_msg("%s", err.msg);
        lk_head_tracker_subscribe(n.heads, lk_log_broadcaster_on_head, n.logs);
        f->running = n;
        return n;
}

static void stop(node *n) {
        if (!n->heads)
                return;
        lk_service_close(lk_head_tracker_service(n->heads), NULL);
        n->heads = lk_head_tracker_free(n->heads);
        n->logs = lk_log_broadcaster_free(n->logs);
}

static int delivered(fixture *f) {
        pthread_mutex_lock(&f->lock);
        int d = f->delivered;
        pthread_mutex_unlock(&f->lock);
        return d;
}

static void wait_delivered(fixture *f, int want) {
        for (int i = 0; i < 400 && delivered(f) < want; i++)
                usleep(25 * 1000);
        usleep(300 * 1000); /* and no more than that */
        assert_int_equal(delivered(f), want);
}

/* start, with the logger's logs subscribed (the subscription in *ret_sub)
 * before the tracker starts: its callback is the broadcaster. */
static node start_subscribed(fixture *f, int64_t depth, lk_log_subscription *ret_sub) {
        node n = start(f, depth);
        lk_err err = LK_ERR_INIT;
        *ret_sub = (lk_log_subscription){.min_confirmations = CONFIRMATIONS, .job_id = JOB, .fn = on_log, .arg = f};
        memcpy(ret_sub->address, f->logger, 20);
        assert_true(lk_log_broadcaster_subscribe(n.logs, ret_sub, &err) > 0);
        assert_int_equal(lk_service_start(lk_head_tracker_service(n.heads), NULL, &err), 0);
        return n;
}

static void exactly_once_across_reorgs_and_restarts(void **state) {
        fixture *f = *state;
        lk_log_subscription sub;
        node n = start_subscribed(f, 50, &sub);
        lk_err err = LK_ERR_INIT;
        uint8_t topic[32] = {0};
        topic[31] = 1;
        uint64_t first = lktest_ganache_emit(f->rpc, f->logger, topic);
        lktest_ganache_emit(f->rpc, f->logger, topic);
        wait_delivered(f, 0); /* the second has one confirmation, the first two */
        lktest_ganache_mine(f->rpc, 1, 0);
        wait_delivered(f, 1);
        lktest_ganache_mine(f->rpc, 3, 0);
        wait_delivered(f, 2);
        assert_true(f->last_block == first + 1);

        /* a reorg deeper than the confirmations: a log in a block that is
         * reverted away is never handed out, one in the new branch is */
        json_t *snapshot = NULL, *result = NULL;
        assert_int_equal(lk_rpc_call(f->rpc, "evm_snapshot", NULL, &snapshot, &err), 0);
        lk_head before;
        assert_true(lk_head_tracker_latest(n.heads, &before));
        lktest_ganache_mine(f->rpc, CONFIRMATIONS, 0);
        uint64_t orphan = lktest_ganache_emit(f->rpc, f->logger, topic);
        lk_head seen = before; /* the tracker sees it, so that the revert is a reorg to it */
        for (int i = 0; i < 400 && seen.number < (int64_t)orphan; i++) {
                usleep(25 * 1000);
                lk_head_tracker_latest(n.heads, &seen);
        }
        assert_int_equal(seen.number, orphan);
        assert_int_equal(orphan, before.number + CONFIRMATIONS + 1);
        uint8_t orphan_hash[32];
        memcpy(orphan_hash, seen.hash, 32);
        assert_int_equal(lk_rpc_call(f->rpc, "evm_revert", json_pack("[O]", snapshot), &result, &err), 0);
        json_decref(snapshot);
        json_decref(result);
        uint8_t other[32] = {0};
        other[31] = 2;
        uint64_t replacement = lktest_ganache_emit(f->rpc, f->logger, other);
        assert_int_equal(replacement, before.number + 1);
        lktest_ganache_mine(f->rpc, 6, before.timestamp + 1000);
        wait_delivered(f, 3);
        assert_int_equal(f->last_block, replacement);
        assert_int_equal(f->last_topic, 2);
        assert_memory_not_equal(f->last_hash, orphan_hash, 32);
        uint8_t canonical[32];
        assert_true(lk_head_tracker_canonical(n.heads, (int64_t)replacement, canonical));
        assert_memory_equal(f->last_hash, canonical, 32);
        stop(&f->running);
        (void)n;

        /* a restart looks back and hands out nothing twice; a new log comes through */
        node again = start(f, 50);
        assert_true(lk_log_broadcaster_subscribe(again.logs, &sub, &err) > 0);
        assert_int_equal(lk_service_start(lk_head_tracker_service(again.heads), NULL, &err), 0);
        wait_delivered(f, 3);
        lktest_ganache_emit(f->rpc, f->logger, topic);
        lktest_ganache_mine(f->rpc, CONFIRMATIONS, 0);
        wait_delivered(f, 4);
        stop(&f->running);
        (void)again;
}

/* A log far below the first head (more blocks down than one poll fetches)
 * reaches the subscriber although no new block comes: the tracker goes on
 * filling its history poll after poll, and tells the broadcaster. */
static void logs_deep_below_the_first_head_need_no_new_block(void **state) {
        fixture *f = *state;
        uint8_t topic[32] = {0};
        topic[31] = 2;
        uint64_t block = lktest_ganache_emit(f->rpc, f->logger, topic);
        lktest_ganache_mine(f->rpc, 400, 0);
        lk_log_subscription sub;
        node n = start_subscribed(f, 500, &sub);
        wait_delivered(f, 1);
        assert_true(f->last_block == block);
        uint8_t hash[32];
        assert_true(lk_head_tracker_canonical(n.heads, (int64_t)block - 1, hash));
        stop(&f->running);
        (void)n;
}

static int refuse_log(void *arg, const lk_evm_log *log) {
        (void)log;
        fixture *f = arg;
        pthread_mutex_lock(&f->lock);
        f->last_topic = 0xff; /* seen, not consumed */
        pthread_mutex_unlock(&f->lock);
        return -EAGAIN;
}

/* A log handed out but not consumed when the node stopped is handed out
 * after the start even when the chain moved on by more than the
 * FinalityDepth the broadcaster looks back. */
static void a_restart_looks_back_to_logs_not_consumed(void **state) {
        fixture *f = *state;
        node n = start(f, 5);
        lk_err err = LK_ERR_INIT;
        lk_log_subscription refusing = {.min_confirmations = 1, .job_id = JOB, .fn = refuse_log, .arg = f};
        memcpy(refusing.address, f->logger, 20);
        assert_true(lk_log_broadcaster_subscribe(n.logs, &refusing, &err) > 0);
        assert_int_equal(lk_service_start(lk_head_tracker_service(n.heads), NULL, &err), 0);
        uint8_t topic[32] = {0};
        topic[31] = 3;
        uint64_t block = lktest_ganache_emit(f->rpc, f->logger, topic);
        for (int i = 0; i < 400; i++) {
                pthread_mutex_lock(&f->lock);
                bool seen = f->last_topic == 0xff;
                pthread_mutex_unlock(&f->lock);
                if (seen)
                        break;
                usleep(25 * 1000);
        }
        lktest_ganache_mine(f->rpc, 3, 0);
        usleep(300 * 1000); /* the broadcaster sees the new heads and records the log as still waiting */
        stop(&f->running);
        lktest_ganache_mine(f->rpc, 20, 0); /* 4 times FinalityDepth */
        lk_log_subscription sub;
        start_subscribed(f, 5, &sub);
        wait_delivered(f, 1);
        assert_int_equal(f->last_block, block);
        stop(&f->running);
}

/* A job that subscribes after the chain started still gets the logs its
 * node missed while down: the broadcaster takes no head before its
 * dependents are ready (on an idle chain no later head would come). */
static void heads_wait_for_the_dependents(void **state) {
        fixture *f = *state;
        uint8_t topic[32] = {0};
        topic[31] = 4;
        uint64_t block = lktest_ganache_emit(f->rpc, f->logger, topic);
        node n = start_awaiting(f, 50, true);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_service_start(lk_head_tracker_service(n.heads), NULL, &err), 0);
        usleep(500 * 1000); /* heads come and are not taken */
        lk_log_subscription sub = {.min_confirmations = 1, .job_id = JOB, .fn = on_log, .arg = f};
        memcpy(sub.address, f->logger, 20);
        assert_true(lk_log_broadcaster_subscribe(n.logs, &sub, &err) > 0);
        lk_log_broadcaster_dependents_ready(n.logs);
        wait_delivered(f, 1);
        assert_int_equal(f->last_block, block);
        stop(&f->running);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_prestate_setup_teardown(exactly_once_across_reorgs_and_restarts, setup, teardown,
                                                         &lktest_sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(exactly_once_across_reorgs_and_restarts, setup, teardown,
                                                         &lktest_postgres_backend),
                cmocka_unit_test_prestate_setup_teardown(logs_deep_below_the_first_head_need_no_new_block, setup,
                                                         teardown, &lktest_sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(a_restart_looks_back_to_logs_not_consumed, setup, teardown,
                                                         &lktest_sqlite_backend),
                cmocka_unit_test_prestate_setup_teardown(a_restart_looks_back_to_logs_not_consumed, setup, teardown,
                                                         &lktest_postgres_backend),
                cmocka_unit_test_prestate_setup_teardown(heads_wait_for_the_dependents, setup, teardown,
                                                         &lktest_sqlite_backend),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
