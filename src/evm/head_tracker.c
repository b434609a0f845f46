/* See include/linkd/head_tracker.h.  One thread per chain: poll, add,
 * fill gaps, store, report; a condition variable makes its sleep end at
 * once on close, or on a head from the newHeads subscription. */
#include "linkd/head_tracker.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/ctx.h"

#define DEFAULT_DEPTH 100
#define DEFAULT_POLL LK_USEC_PER_SEC
#define BACKFILL_BATCH 100
#define BACKFILL_ROUNDS 4 /* batches per poll, so that a new tip is not kept waiting long */

struct lk_head_tracker {
        lk_service service;
        lk_once once;
        char name[64];
        char subscription_name[80];
        lk_head_tracker_options o;
        bool subscribed_ws;       /* the tracker is its WebSocket client's subscriber */

        pthread_mutex_t lock;     /* chain, error, stop, kicked */
        pthread_cond_t wake;
        lk_head_chain *chain;
        char *error;              /* why the last poll failed; NULL when it did not */
        bool stop, thread_running;
        bool kicked;              /* a head was announced: poll now */
        bool report_again;        /* report the tip after the next poll even if it did not move */
        lk_head *to_store;        /* the poll's new heads (the thread's), room for a poll's most */
        pthread_t thread;
};

static lk_head_tracker *of_service(lk_service *service) {
        return (lk_head_tracker *)((char *)service - offsetof(lk_head_tracker, service));
}

/* ---- the store ---- */

typedef struct heads_args {
        int64_t chain_id;
        const lk_head *heads;
        size_t count;
        int64_t keep_from; /* delete below this number */
        lk_head_chain *chain;
} heads_args;

static int save_heads(lk_db *db, void *arg, lk_err *err) {
        heads_args *a = arg;
        lk_stmt *st;
        for (size_t i = 0; i < a->count; i++) {
                const lk_head *h = &a->heads[i];
                int r = lk_db_prepare(db, "INSERT INTO evm_heads (evm_chain_id, hash, number, parent_hash, timestamp,"
                                          " created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                                      &st, err);
                if (r < 0)
                        return r;
                lk_stmt_bind_int64(st, 1, a->chain_id);
                lk_stmt_bind_blob(st, 2, h->hash, 32);
                lk_stmt_bind_int64(st, 3, h->number);
                lk_stmt_bind_blob(st, 4, h->parent_hash, 32);
                lk_stmt_bind_time(st, 5, h->timestamp * LK_USEC_PER_SEC);
                lk_stmt_bind_time(st, 6, lk_now_realtime());
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
        }
        int r = lk_db_prepare(db, "DELETE FROM evm_heads WHERE evm_chain_id = $1 AND number < $2", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->chain_id);
        lk_stmt_bind_int64(st, 2, a->keep_from);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static int load_heads(lk_db *db, void *arg, lk_err *err) {
        heads_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT hash, number, parent_hash, timestamp FROM evm_heads WHERE evm_chain_id = $1"
                                  " ORDER BY number",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->chain_id);
        while ((r = lk_stmt_step(st, err)) == 1) {
                lk_head h = {.number = lk_stmt_int64(st, 1), .timestamp = lk_stmt_time(st, 3) / LK_USEC_PER_SEC};
                size_t hash_len = 0, parent_len = 0;
                const void *hash = lk_stmt_blob(st, 0, &hash_len), *parent = lk_stmt_blob(st, 2, &parent_len);
                if (hash_len != 32 || parent_len != 32)
                        continue;
                memcpy(h.hash, hash, 32);
                memcpy(h.parent_hash, parent, 32);
                lk_head_update u;
                lk_head_chain_add(a->chain, &h, &u);
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

/* ---- polling ---- */

static int fetch_latest(lk_head_tracker *t, lk_head *ret, lk_err *err) {
        json_t *block = NULL;
        int r = lk_rpc_pool_call(t->o.rpc, "eth_getBlockByNumber", json_pack("[sb]", "latest", 0), &block, err);
        if (r == 0 && (r = lk_rpc_block_head(block, ret, err)) < 0)
                lk_err_prefix(err, "eth_getBlockByNumber(latest)");
        json_decref(block);
        return r;
}

/* Blocks from..to by number, in one batch, into out (count set). */
static int fetch_range(lk_head_tracker *t, int64_t from, int64_t to, lk_head *out, size_t *ret_count, lk_err *err) {
        size_t n = (size_t)(to - from + 1);
        lk_rpc_request *requests = lk_calloc(n, sizeof *requests);
        for (size_t i = 0; i < n; i++) {
                requests[i].method = "eth_getBlockByNumber";
                requests[i].params = json_pack("[ob]", lk_rpc_quantity_json((uint64_t)(from + (int64_t)i)), 0);
        }
        int r = lk_rpc_pool_batch(t->o.rpc, requests, n, err);
        size_t count = 0;
        for (size_t i = 0; i < n; i++) {
                if (r == 0 && requests[i].status == 0 && json_is_object(requests[i].result) &&
                    lk_rpc_block_head(requests[i].result, &out[count], NULL) == 0)
                        count++;
                json_decref(requests[i].result);
        }
        lk_free(requests);
        *ret_count = count;
        return r;
}

/* What a round of polling did to the tip, reported once at its end so
 * that the subscriber sees the chain with its gaps filled. */
typedef struct round {
        bool moved, reorg;
        bool filled; /* heads below the tip were added: more of its ancestry is known */
        int64_t fork_point;
} round;

static void add_head(lk_head_tracker *t, const lk_head *head, round *rd, lk_head_update *ret) {
        pthread_mutex_lock(&t->lock);
        lk_head_chain_add(t->chain, head, ret);
        pthread_mutex_unlock(&t->lock);
        if (ret->outcome == LK_HEAD_EXTENDED || ret->outcome == LK_HEAD_REORG)
                rd->moved = true;
        if (ret->outcome == LK_HEAD_REORG && (!rd->reorg || ret->fork_point < rd->fork_point)) {
                rd->reorg = true;
                rd->fork_point = ret->fork_point;
        }
}

static void report(lk_head_tracker *t, const round *rd) {
        pthread_mutex_lock(&t->lock);
        bool again = t->report_again;
        t->report_again = false;
        pthread_mutex_unlock(&t->lock);
        if (!rd->moved && !rd->filled && !again)
                return;
        lk_head tip;
        pthread_mutex_lock(&t->lock);
        tip = *lk_head_chain_tip(t->chain);
        pthread_mutex_unlock(&t->lock);
        lk_head_update u = {.outcome = rd->reorg ? LK_HEAD_REORG : LK_HEAD_EXTENDED, .fork_point = rd->fork_point};
        if (rd->reorg)
                lk_log_warn(t->o.log, "chain reorganisation", LK_INT("chain_id", t->o.chain_id),
                            LK_INT("head", tip.number), LK_INT("fork_point", rd->fork_point));
        if (t->o.on_head)
                t->o.on_head(t->o.arg, &tip, &u);
}

/* One round: the latest block, then what the chain is missing below it
 * (a batch at a time, lowest first, while gaps remain), then the report. */
/* *ret_more: a gap is left that the next poll should go on filling at
 * once. */
static int poll_once(lk_head_tracker *t, bool *ret_more, lk_err *err) {
        lk_head latest, fetched[BACKFILL_BATCH];
        *ret_more = false;
        int r = fetch_latest(t, &latest, err);
        if (r < 0)
                return r;
        round rd = {false, false, false, 0};
        lk_head_update u;
        add_head(t, &latest, &rd, &u);
        size_t stored = 0;
        lk_head *to_store = t->to_store;
        if (u.outcome != LK_HEAD_IGNORED)
                to_store[stored++] = latest;
        int rounds = 0;
        for (; rounds < BACKFILL_ROUNDS && u.missing_to > 0; rounds++) {
                int64_t from = u.missing_to - BACKFILL_BATCH + 1 > u.missing_from ? u.missing_to - BACKFILL_BATCH + 1
                                                                                  : u.missing_from;
                size_t count = 0;
                if ((r = fetch_range(t, from, u.missing_to, fetched, &count, err)) < 0)
                        break;
                lk_head_update last = {.outcome = LK_HEAD_IGNORED};
                /* lowest first: a reorg behind the gap is told once its ancestry is whole */
                for (size_t i = 0; i < count; i++) {
                        add_head(t, &fetched[i], &rd, &last);
                        if (last.outcome != LK_HEAD_IGNORED) {
                                to_store[stored++] = fetched[i];
                                rd.filled = true;
                        }
                }
                if (count == 0 || (last.missing_to == u.missing_to && last.missing_from == u.missing_from))
                        break;
                u = last;
        }
        *ret_more = r == 0 && rounds == BACKFILL_ROUNDS && u.missing_to > 0;
        if (r == 0 && t->o.store && stored) {
                heads_args a = {.chain_id = t->o.chain_id, .heads = to_store, .count = stored,
                                .keep_from = latest.number - (int64_t)t->o.history_depth + 1};
                r = lk_store_tx(t->o.store, save_heads, &a, err);
        }
        report(t, &rd);
        return r;
}

void lk_head_tracker_report_again(lk_head_tracker *t) {
        pthread_mutex_lock(&t->lock);
        t->report_again = true;
        t->kicked = true;
        pthread_cond_broadcast(&t->wake);
        pthread_mutex_unlock(&t->lock);
}

/* On the WebSocket client's thread: only wakes the poll loop. */
static void on_announced(void *arg, const lk_head *head) {
        (void)head;
        lk_head_tracker *t = arg;
        pthread_mutex_lock(&t->lock);
        t->kicked = true;
        pthread_cond_broadcast(&t->wake);
        pthread_mutex_unlock(&t->lock);
}

static void *run(void *arg) {
        lk_head_tracker *t = arg;
        pthread_setname_np(pthread_self(), "lk-heads");
        pthread_mutex_lock(&t->lock);
        while (!t->stop) {
                pthread_mutex_unlock(&t->lock);
                lk_err err = LK_ERR_INIT;
                bool more = false;
                int r = poll_once(t, &more, &err);
                pthread_mutex_lock(&t->lock);
                bool was_failing = t->error != NULL;
                lk_freep(&t->error);
                if (r < 0) {
                        t->error = lk_strdup(err.msg);
                        if (!was_failing)
                                lk_log_error(t->o.log, "cannot poll the chain's head", LK_INT("chain_id", t->o.chain_id),
                                             LK_ERROR(&err));
                }
                struct timespec until = lk_deadline_after(t->o.poll_interval);
                while (!t->stop && !t->kicked && !more)
                        if (pthread_cond_timedwait(&t->wake, &t->lock, &until) == ETIMEDOUT)
                                break;
                t->kicked = false;
        }
        pthread_mutex_unlock(&t->lock);
        return NULL;
}

/* ---- the service ---- */

static void unsubscribe(lk_head_tracker *t) {
        if (t->subscribed_ws)
                lk_rpc_ws_unsubscribe_heads(t->o.ws);
        t->subscribed_ws = false;
}

static int start_locked(void *arg, lk_err *err) {
        lk_head_tracker *t = arg;
        if (t->o.store) {
                heads_args a = {.chain_id = t->o.chain_id, .chain = t->chain};
                int r = lk_store_read(t->o.store, load_heads, &a, err);
                if (r < 0) {
                        lk_err_prefix(err, "%s: cannot load the stored heads", t->name);
                        return r;
                }
        }
        t->stop = false;
        if (t->o.ws) {
                int r = lk_rpc_ws_subscribe_heads(t->o.ws, on_announced, t, err);
                if (r < 0) {
                        lk_err_prefix(err, "%s", t->name);
                        return r;
                }
                t->subscribed_ws = true;
        }
        int r = pthread_create(&t->thread, NULL, run, t);
        if (r != 0) {
                unsubscribe(t);
                return lk_err_set(err, -r, "%s: cannot start its thread: %s", t->name, strerror(r));
        }
        t->thread_running = true;
        return 0;
}

static int stop_locked(void *arg, lk_err *err) {
        (void)err;
        lk_head_tracker *t = arg;
        unsubscribe(t);
        pthread_mutex_lock(&t->lock);
        t->stop = true;
        pthread_cond_broadcast(&t->wake);
        pthread_mutex_unlock(&t->lock);
        if (t->thread_running)
                pthread_join(t->thread, NULL);
        t->thread_running = false;
        return 0;
}

static int tracker_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        (void)ctx;
        lk_head_tracker *t = of_service(service);
        return lk_once_start(&t->once, t->name, start_locked, t, err);
}

static int tracker_close(lk_service *service, lk_err *err) {
        lk_head_tracker *t = of_service(service);
        return lk_once_stop(&t->once, t->name, stop_locked, t, err);
}

static void tracker_health(lk_service *service, lk_health_report *report) {
        lk_head_tracker *t = of_service(service);
        lk_err err = LK_ERR_INIT;
        if (lk_once_healthy(&t->once, &err) < 0) {
                lk_health_report_set(report, t->name, err.msg);
                return;
        }
        char text[LK_ERR_MSG_MAX] = "";
        pthread_mutex_lock(&t->lock);
        if (t->error)
                snprintf(text, sizeof text, "%s", t->error);
        pthread_mutex_unlock(&t->lock);
        lk_health_report_set(report, t->name, *text ? text : NULL);
        if (!t->o.ws)
                return;
        lk_rpc_ws_status st;
        lk_rpc_ws_status_get(t->o.ws, &st);
        if (st.subscribed) {
                lk_health_report_set(report, t->subscription_name, NULL);
                return;
        }
        lk_buf every = LK_BUF_INIT;
        lk_duration_format(&every, t->o.poll_interval);
        lk_err why = LK_ERR_INIT;
        lk_err_set(&why, -ENOTCONN, "no newHeads subscription (%s): polling every %s instead", st.error,
                   lk_buf_str(&every));
        lk_buf_done(&every);
        lk_health_report_set(report, t->subscription_name, why.msg);
}

static const lk_service_vtable tracker_vtable = {
        .start = tracker_start,
        .close = tracker_close,
        .health_report = tracker_health,
};

int lk_head_tracker_new(const lk_head_tracker_options *o, lk_head_tracker **ret, lk_err *err) {
        if (!o->rpc || o->chain_id <= 0)
                return lk_err_set(err, -EINVAL, "a head tracker needs an RPC client and a chain ID");
        lk_head_tracker *t = lk_calloc(1, sizeof *t);
        t->o = *o;
        if (!t->o.history_depth)
                t->o.history_depth = DEFAULT_DEPTH;
        if (t->o.poll_interval <= 0)
                t->o.poll_interval = DEFAULT_POLL;
        snprintf(t->name, sizeof t->name, "EVM.%" PRId64 ".HeadTracker", o->chain_id);
        snprintf(t->subscription_name, sizeof t->subscription_name, "%s.Subscription", t->name);
        lk_once_init(&t->once);
        t->service = (lk_service){.vtable = &tracker_vtable, .name = t->name, .once = &t->once};
        pthread_mutex_init(&t->lock, NULL);
        lk_cond_init_monotonic(&t->wake);
        t->chain = lk_head_chain_new(t->o.history_depth);
        t->to_store = lk_malloc((1 + BACKFILL_ROUNDS * BACKFILL_BATCH) * sizeof *t->to_store);
        *ret = t;
        return 0;
}

lk_head_tracker *lk_head_tracker_free(lk_head_tracker *t) {
        if (!t)
                return NULL;
        stop_locked(t, NULL);
        lk_head_chain_free(t->chain);
        lk_free(t->to_store);
        lk_free(t->error);
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        lk_once_done(&t->once);
        lk_free(t);
        return NULL;
}

lk_service *lk_head_tracker_service(lk_head_tracker *t) {
        return &t->service;
}

void lk_head_tracker_subscribe(lk_head_tracker *t, lk_head_fn fn, void *arg) {
        t->o.on_head = fn;
        t->o.arg = arg;
}

bool lk_head_tracker_latest(lk_head_tracker *t, lk_head *ret) {
        pthread_mutex_lock(&t->lock);
        const lk_head *tip = lk_head_chain_tip(t->chain);
        if (tip)
                *ret = *tip;
        pthread_mutex_unlock(&t->lock);
        return tip != NULL;
}

bool lk_head_tracker_canonical(lk_head_tracker *t, int64_t number, uint8_t ret_hash[static 32]) {
        pthread_mutex_lock(&t->lock);
        const lk_head *h = lk_head_chain_canonical(t->chain, number);
        if (h)
                memcpy(ret_hash, h->hash, 32);
        pthread_mutex_unlock(&t->lock);
        return h != NULL;
}
