/* See include/linkd/log_broadcaster.h.  Work happens on the head
 * tracker's thread; a mutex guards the subscriptions against subscribe
 * and unsubscribe from other threads, and is not held while logs are
 * fetched or handed out. */
#include "linkd/log_broadcaster.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/log_pool.h"

#define MAX_RANGE 1000 /* blocks per eth_getLogs */

typedef struct sub {
        int id;
        lk_log_subscription s;
        uint8_t *topics; /* owned copy */
        lk_log_pool *pool;
} sub;

struct lk_log_broadcaster {
        lk_log_broadcaster_options o;
        pthread_mutex_t lock;
        sub *subs;
        size_t count;
        int next_id;
        int64_t next_block; /* the first block whose logs are not fetched yet; -1 before the first head */
        char *error;        /* why the last fetch failed (under lock); NULL when it did not */
        char name[64];      /* EVM.<chainID>.LogBroadcaster */
        /* The subscription whose function is being called (0: none), and
         * on which thread: an unsubscribe waits for the call to end, so
         * that the subscriber may be freed once it returns. */
        int calling;
        pthread_t caller;
        pthread_cond_t called;
        int64_t pending_saved; /* log_broadcasts_pending as last written; -1: not read yet */
        atomic_bool ready;     /* the subscribers at start have subscribed */
};

int lk_log_broadcaster_new(const lk_log_broadcaster_options *o, lk_log_broadcaster **ret, lk_err *err) {
        if (!o->rpc || !o->heads || o->chain_id <= 0)
                return lk_err_set(err, -EINVAL, "a log broadcaster needs an RPC client, a head tracker and a chain ID");
        lk_log_broadcaster *b = lk_calloc(1, sizeof *b);
        b->o = *o;
        b->next_id = 1;
        b->next_block = -1;
        b->pending_saved = -1;
        atomic_init(&b->ready, !o->await_dependents);
        snprintf(b->name, sizeof b->name, "EVM.%" PRId64 ".LogBroadcaster", o->chain_id);
        pthread_mutex_init(&b->lock, NULL);
        pthread_cond_init(&b->called, NULL);
        *ret = b;
        return 0;
}

lk_log_broadcaster *lk_log_broadcaster_free(lk_log_broadcaster *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->count; i++) {
                lk_free(b->subs[i].topics);
                lk_log_pool_free(b->subs[i].pool);
        }
        lk_free(b->subs);
        lk_free(b->error);
        pthread_mutex_destroy(&b->lock);
        pthread_cond_destroy(&b->called);
        lk_free(b);
        return NULL;
}

int lk_log_broadcaster_subscribe(lk_log_broadcaster *b, const lk_log_subscription *s, lk_err *err) {
        if (!s->fn)
                return lk_err_set(err, -EINVAL, "a subscription needs a function");
        pthread_mutex_lock(&b->lock);
        b->subs = lk_realloc(b->subs, (b->count + 1) * sizeof *b->subs);
        sub *n = &b->subs[b->count++];
        *n = (sub){.id = b->next_id++, .s = *s, .pool = lk_log_pool_new()};
        if (s->topic_count) {
                n->topics = lk_malloc(32 * s->topic_count);
                memcpy(n->topics, s->topics, 32 * s->topic_count);
        }
        n->s.topics = n->topics;
        int id = n->id;
        pthread_mutex_unlock(&b->lock);
        return id;
}

void lk_log_broadcaster_unsubscribe(lk_log_broadcaster *b, int id) {
        pthread_mutex_lock(&b->lock);
        for (size_t i = 0; i < b->count; i++) {
                if (b->subs[i].id != id)
                        continue;
                lk_free(b->subs[i].topics);
                lk_log_pool_free(b->subs[i].pool);
                memmove(&b->subs[i], &b->subs[i + 1], (b->count - i - 1) * sizeof *b->subs);
                b->count--;
                break;
        }
        while (b->calling == id && !pthread_equal(b->caller, pthread_self()))
                pthread_cond_wait(&b->called, &b->lock);
        pthread_mutex_unlock(&b->lock);
}

/* ---- consumption ---- */

int lk_log_broadcast_consume(lk_db *db, int64_t chain_id, const lk_evm_log *log, int64_t job_id, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "INSERT INTO log_broadcasts (evm_chain_id, block_hash, block_number, log_index, job_id,"
                                  " consumed) VALUES ($1, $2, $3, $4, $5, true) ON CONFLICT DO NOTHING",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, chain_id);
        lk_stmt_bind_blob(st, 2, log->block_hash, 32);
        lk_stmt_bind_int64(st, 3, (int64_t)log->block_number);
        lk_stmt_bind_int64(st, 4, (int64_t)log->log_index);
        lk_stmt_bind_int64(st, 5, job_id);
        r = lk_stmt_run(st, err);
        int64_t inserted = lk_stmt_changes(st);
        lk_stmt_done(st);
        if (r == 0 && inserted == 0)
                r = lk_err_set(err, -EALREADY, "log %" PRIu64 " of its block was consumed by job %" PRId64 " before",
                               log->log_index, job_id);
        return r;
}

typedef struct consumed_args {
        int64_t chain_id, job_id;
        const lk_evm_log *log;
        bool found;
} consumed_args;

static int read_consumed(lk_db *db, void *arg, lk_err *err) {
        consumed_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT 1 FROM log_broadcasts WHERE evm_chain_id = $1 AND block_hash = $2 AND"
                                  " log_index = $3 AND job_id = $4 AND consumed",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->chain_id);
        lk_stmt_bind_blob(st, 2, a->log->block_hash, 32);
        lk_stmt_bind_int64(st, 3, (int64_t)a->log->log_index);
        lk_stmt_bind_int64(st, 4, a->job_id);
        r = lk_stmt_step(st, err);
        lk_stmt_done(st);
        a->found = r == 1;
        return r < 0 ? r : 0;
}

typedef struct consumed_batch {
        int64_t chain_id, job_id;
        const lk_pooled_log *logs; /* sorted by block, then log index */
        size_t count;
        bool *consumed;            /* per log */
} consumed_batch;

/* One query for a batch of ready logs instead of one each: what the job
 * consumed over their blocks, matched to them by binary search. */
static int read_consumed_batch(lk_db *db, void *arg, lk_err *err) {
        consumed_batch *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT block_number, log_index, block_hash FROM log_broadcasts"
                                  " WHERE evm_chain_id = $1 AND job_id = $2 AND block_number BETWEEN $3 AND $4"
                                  " AND consumed",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->chain_id);
        lk_stmt_bind_int64(st, 2, a->job_id);
        lk_stmt_bind_int64(st, 3, (int64_t)a->logs[0].log.block_number);
        lk_stmt_bind_int64(st, 4, (int64_t)a->logs[a->count - 1].log.block_number);
        while ((r = lk_stmt_step(st, err)) == 1) {
                lk_evm_log row = {.block_number = (uint64_t)lk_stmt_int64(st, 0),
                                  .log_index = (uint64_t)lk_stmt_int64(st, 1)};
                size_t len = 0;
                const void *hash = lk_stmt_blob(st, 2, &len);
                if (len != 32)
                        continue;
                size_t lo = 0, hi = a->count;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        const lk_evm_log *l = &a->logs[mid].log;
                        if (l->block_number < row.block_number ||
                            (l->block_number == row.block_number && l->log_index < row.log_index))
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                for (size_t i = lo; i < a->count && a->logs[i].log.block_number == row.block_number &&
                                    a->logs[i].log.log_index == row.log_index;
                     i++)
                        if (memcmp(a->logs[i].log.block_hash, hash, 32) == 0)
                                a->consumed[i] = true;
        }
        lk_stmt_done(st);
        return r;
}

int lk_log_broadcast_was_consumed(lk_store *store, int64_t chain_id, const lk_evm_log *log, int64_t job_id,
                                  bool *ret, lk_err *err) {
        consumed_args a = {chain_id, job_id, log, false};
        int r = lk_store_read(store, read_consumed, &a, err);
        if (r == 0)
                *ret = a.found;
        return r;
}

/* ---- on each head ---- */

static bool matches(const sub *s, const lk_evm_log *log) {
        if (memcmp(s->s.address, log->address, 20) != 0)
                return false;
        if (!s->s.topic_count)
                return true;
        for (size_t i = 0; i < s->s.topic_count; i++)
                if (log->topic_count > 0 && memcmp(s->s.topics + 32 * i, log->topics[0], 32) == 0)
                        return true;
        return false;
}

/* Fetches from..to for every subscribed address into the matching pools. */
static int fetch(lk_log_broadcaster *b, int64_t from, int64_t to, lk_err *err) {
        pthread_mutex_lock(&b->lock);
        size_t n = b->count;
        uint8_t *addresses = lk_malloc(20 * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
                memcpy(addresses + 20 * i, b->subs[i].s.address, 20);
        pthread_mutex_unlock(&b->lock);
        int r = 0;
        for (int64_t lo = from; n && r == 0 && lo <= to; lo += MAX_RANGE) {
                int64_t hi = lo + MAX_RANGE - 1 < to ? lo + MAX_RANGE - 1 : to;
                lk_rpc_logs logs;
                json_t *result = NULL;
                json_t *filter = lk_rpc_logs_filter((uint64_t)lo, (uint64_t)hi, addresses, n, NULL, 0);
                if ((r = lk_rpc_pool_call(b->o.rpc, "eth_getLogs", json_pack("[o]", filter), &result, err)) < 0 ||
                    (r = lk_rpc_logs_decode(result, &logs, err)) < 0)
                        break;
                pthread_mutex_lock(&b->lock);
                for (size_t k = 0; k < logs.count; k++)
                        for (size_t i = 0; i < b->count; i++)
                                if (matches(&b->subs[i], &logs.items[k]))
                                        lk_log_pool_add(b->subs[i].pool, &logs.items[k]);
                pthread_mutex_unlock(&b->lock);
                lk_rpc_logs_free(&logs);
        }
        lk_free(addresses);
        return r;
}

static bool canonical(void *arg, int64_t number, uint8_t ret_hash[static 32]) {
        return lk_head_tracker_canonical(arg, number, ret_hash);
}

/* Hands each subscriber the logs ready at tip, unless it consumed them
 * before; what it declines goes back to wait for the next head. */
static void deliver(lk_log_broadcaster *b, int64_t tip) {
        pthread_mutex_lock(&b->lock);
        size_t n = b->count;
        int *ids = lk_malloc(sizeof *ids * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
                ids[i] = b->subs[i].id;
        pthread_mutex_unlock(&b->lock);
        for (size_t k = 0; k < n; k++) {
                pthread_mutex_lock(&b->lock);
                sub *s = NULL;
                for (size_t i = 0; i < b->count && !s; i++)
                        if (b->subs[i].id == ids[k])
                                s = &b->subs[i];
                lk_pooled_log *ready = NULL;
                size_t count = 0;
                lk_log_subscription copy;
                if (s) {
                        count = lk_log_pool_take_ready(s->pool, tip, tip - b->o.finality_depth, canonical, b->o.heads,
                                                       s->s.min_confirmations,
                                                       &ready, NULL);
                        copy = s->s;
                        b->calling = ids[k];
                        b->caller = pthread_self();
                }
                pthread_mutex_unlock(&b->lock);
                bool *consumed = lk_calloc(count ? count : 1, sizeof *consumed);
                consumed_batch batch = {b->o.chain_id, copy.job_id, ready, count, consumed};
                lk_err err = LK_ERR_INIT;
                if (count && b->o.store && lk_store_read(b->o.store, read_consumed_batch, &batch, &err) < 0)
                        memset(consumed, 0, count * sizeof *consumed); /* the subscriber's own record keeps it once */
                bool subscribed = s != NULL;
                for (size_t i = 0; i < count && subscribed; i++) {
                        if (consumed[i] || copy.fn(copy.arg, &ready[i].log) == 0)
                                continue;
                        pthread_mutex_lock(&b->lock);
                        subscribed = false;
                        for (size_t j = 0; j < b->count; j++)
                                if (b->subs[j].id == ids[k]) {
                                        lk_log_pool_add(b->subs[j].pool, &ready[i].log);
                                        subscribed = true;
                                }
                        pthread_mutex_unlock(&b->lock);
                }
                pthread_mutex_lock(&b->lock);
                b->calling = 0;
                pthread_cond_broadcast(&b->called);
                pthread_mutex_unlock(&b->lock);
                lk_log_pool_release(ready, count);
                lk_free(consumed);
        }
        lk_free(ids);
}

typedef struct consume_args {
        int64_t chain_id, job_id;
        const lk_evm_log *log;
} consume_args;

static int consume_body(lk_db *db, void *arg, lk_err *err) {
        consume_args *a = arg;
        return lk_log_broadcast_consume(db, a->chain_id, a->log, a->job_id, err);
}

int lk_log_broadcast_consume_now(lk_store *store, int64_t chain_id, const lk_evm_log *log, int64_t job_id,
                                 lk_err *err) {
        consume_args a = {chain_id, job_id, log};
        int r = lk_store_tx(store, consume_body, &a, err);
        if (r == -EALREADY) {
                lk_err_clear(err);
                return 0;
        }
        return r;
}

/* ---- where a restart must look back to ---- */

typedef struct pending_args {
        int64_t chain_id;
        int64_t block;
        bool found;
} pending_args;

static int read_pending(lk_db *db, void *arg, lk_err *err) {
        pending_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT block_number FROM log_broadcasts_pending WHERE evm_chain_id = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->chain_id);
        r = lk_stmt_step(st, err);
        a->found = r == 1;
        if (a->found)
                a->block = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int write_pending(lk_db *db, void *arg, lk_err *err) {
        pending_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "INSERT INTO log_broadcasts_pending (evm_chain_id, block_number) VALUES ($1, $2)"
                              " ON CONFLICT (evm_chain_id) DO UPDATE SET block_number = excluded.block_number",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->chain_id);
        lk_stmt_bind_int64(st, 2, a->block);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* The first block to fetch after a start: FinalityDepth back, or further
 * back to the lowest block whose logs were handed out but not all
 * consumed when the node stopped (Chainlink's log_broadcasts_pending). */
static int64_t first_block(lk_log_broadcaster *b, int64_t tip) {
        int64_t from = tip - b->o.finality_depth > 0 ? tip - b->o.finality_depth : 0;
        pending_args a = {.chain_id = b->o.chain_id};
        lk_err err = LK_ERR_INIT;
        if (b->o.store && lk_store_read(b->o.store, read_pending, &a, &err) < 0)
                lk_log_warn(b->o.log, "cannot read where the logs were left", LK_INT("chain_id", b->o.chain_id),
                            LK_ERROR(&err));
        if (a.found) {
                b->pending_saved = a.block;
                if (a.block < from)
                        from = a.block;
        }
        return from;
}

/* Records the lowest block with logs still to be consumed (the next block
 * to fetch when none waits), when it moved. */
static void save_pending(lk_log_broadcaster *b) {
        pending_args a = {.chain_id = b->o.chain_id, .block = b->next_block};
        pthread_mutex_lock(&b->lock);
        for (size_t i = 0; i < b->count; i++) {
                int64_t lowest;
                if (lk_log_pool_lowest_block(b->subs[i].pool, &lowest) && lowest < a.block)
                        a.block = lowest;
        }
        pthread_mutex_unlock(&b->lock);
        if (!b->o.store || a.block < 0 || a.block == b->pending_saved)
                return;
        lk_err err = LK_ERR_INIT;
        if (lk_store_tx(b->o.store, write_pending, &a, &err) < 0)
                lk_log_warn(b->o.log, "cannot record where the logs are", LK_INT("chain_id", b->o.chain_id),
                            LK_ERROR(&err));
        else
                b->pending_saved = a.block;
}

void lk_log_broadcaster_dependents_ready(lk_log_broadcaster *b) {
        atomic_store(&b->ready, true);
        lk_head_tracker_report_again(b->o.heads);
}

void lk_log_broadcaster_on_head(void *arg, const lk_head *tip, const lk_head_update *update) {
        lk_log_broadcaster *b = arg;
        if (!atomic_load(&b->ready))
                return;
        int64_t from = b->next_block;
        if (from < 0) /* the first head: look back over what a restart may have missed */
                from = first_block(b, tip->number);
        if (update->outcome == LK_HEAD_REORG && update->fork_point < from)
                from = update->fork_point;
        lk_err err = LK_ERR_INIT;
        if (from <= tip->number) {
                int r = fetch(b, from, tip->number, &err);
                pthread_mutex_lock(&b->lock);
                bool was_failing = b->error != NULL;
                lk_freep(&b->error);
                if (r < 0)
                        b->error = lk_strdup(err.msg);
                pthread_mutex_unlock(&b->lock);
                if (r < 0) {
                        if (!was_failing)
                                lk_log_warn(b->o.log, "cannot fetch logs; trying again with the next head",
                                            LK_INT("chain_id", b->o.chain_id), LK_ERROR(&err));
                        return;
                }
                b->next_block = tip->number + 1;
        }
        deliver(b, tip->number);
        save_pending(b);
}

void lk_log_broadcaster_health(lk_log_broadcaster *b, lk_health_report *report) {
        char text[LK_ERR_MSG_MAX] = "";
        pthread_mutex_lock(&b->lock);
        if (b->error)
                snprintf(text, sizeof text, "%s", b->error);
        pthread_mutex_unlock(&b->lock);
        lk_health_report_set(report, b->name, *text ? text : NULL);
}
