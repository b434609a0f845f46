/* See include/linkd/txm.h.  One thread per chain does everything, in
 * rounds: per key, broadcast the transaction in progress (or claim the
 * oldest unstarted one), then look for the receipts of all broadcast
 * transactions, bumping those left unmined.  Working on one thread keeps
 * a key's transactions strictly in nonce order without locks on the rows.
 *
 * Every state change is written to the store before the network hears of
 * it, so that a crash between any two steps is recovered by looking at the
 * tables alone. */
#include "linkd/txm.h"

#include <errno.h>
#include <gmp.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/gas.h"
#include "linkd/hex.h"
#include "linkd/tx.h"

#define DEFAULT_POLL LK_USEC_PER_SEC
#define RECEIPT_BATCH 100

struct lk_txm {
        lk_service service;
        lk_once once;
        char name[64];
        lk_txm_options o;
        lk_eth_key *keys;
        bool *nonce_known; /* per key: its evm_key_states row exists */
        bool first_round;  /* on the thread only: what it finds in progress, a stop left */

        pthread_mutex_t lock; /* error, stop, kick, next_sender */
        size_t next_sender;
        pthread_cond_t wake;
        char *error;
        bool stop, kick, thread_running;
        pthread_t thread;
};

static lk_txm *of_service(lk_service *service) {
        return (lk_txm *)((char *)service - offsetof(lk_txm, service));
}

/* ---- values ---- */

static void word_from_int64(int64_t v, uint8_t out[static 32]) {
        memset(out, 0, 32);
        for (int i = 0; i < 8; i++)
                out[31 - i] = (uint8_t)((uint64_t)v >> (8 * i));
}

/* A 256-bit word as decimal text (evm_txes.value is NUMERIC(78)). */
static char *word_decimal(const uint8_t word[static 32]) {
        mpz_t n;
        mpz_init(n);
        mpz_import(n, 32, 1, 1, 1, 0, word);
        char *text = lk_malloc(mpz_sizeinbase(n, 10) + 2);
        mpz_get_str(text, 10, n);
        mpz_clear(n);
        return text;
}

static int word_from_decimal(const char *text, uint8_t out[static 32], lk_err *err) {
        mpz_t n;
        mpz_init(n);
        int r = 0;
        if (!text || mpz_set_str(n, text, 10) < 0 || mpz_sgn(n) < 0 || mpz_sizeinbase(n, 2) > 256) {
                r = lk_err_set(err, -EINVAL, "stored value %s is not a uint256", text ? text : "(null)");
        } else {
                size_t count = 0;
                uint8_t buf[32];
                mpz_export(buf, &count, 1, 1, 1, 0, n);
                memset(out, 0, 32);
                memcpy(out + 32 - count, buf, count);
        }
        mpz_clear(n);
        return r;
}

static const lk_eth_key *key_of(lk_txm *m, const uint8_t address[static LK_ADDRESS_LEN]) {
        for (size_t i = 0; i < m->o.key_count; i++)
                if (memcmp(m->keys[i].address, address, LK_ADDRESS_LEN) == 0)
                        return &m->keys[i];
        return NULL;
}

/* ---- enqueue ---- */

typedef struct enqueue_args {
        lk_txm *m;
        const lk_txm_request *rq;
        int64_t id;
        bool existing;
} enqueue_args;

static int find_by_key(lk_db *db, const char *key, int64_t *ret_id, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT id FROM evm_txes WHERE idempotency_key = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_text(st, 1, key, strlen(key));
        r = lk_stmt_step(st, err);
        if (r == 1)
                *ret_id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : r == 1 ? 0 : -ENOENT;
}

/* A run started again after a crash asks again with a new task run: the
 * receipt goes to that one (the old one was never stored as waiting). */
static int hand_to_task_run(lk_db *db, int64_t id, const char *task_run_id, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "UPDATE evm_txes SET pipeline_task_run_id = $2, callback_completed = false"
                              " WHERE id = $1 AND pipeline_task_run_id IS NOT NULL AND pipeline_task_run_id <> $2",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, id);
        lk_stmt_bind_text(st, 2, task_run_id, strlen(task_run_id));
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

static int enqueue_tx(lk_db *db, void *arg, lk_err *err) {
        enqueue_args *a = arg;
        const lk_txm_request *rq = a->rq;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "INSERT INTO evm_txes (evm_chain_id, from_address, to_address, encoded_payload, value,"
                              " gas_limit, idempotency_key, meta, pipeline_task_run_id, min_confirmations,"
                              " fail_on_revert) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                              " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                              &st, err);
        if (r < 0)
                return r;
        char *value = word_decimal(rq->value);
        lk_stmt_bind_int64(st, 1, a->m->o.chain_id);
        lk_stmt_bind_blob(st, 2, rq->from, LK_ADDRESS_LEN);
        lk_stmt_bind_blob(st, 3, rq->to, LK_ADDRESS_LEN);
        lk_stmt_bind_blob(st, 4, rq->data ? (const void *)rq->data : "", rq->data_len);
        lk_stmt_bind_text(st, 5, value, strlen(value));
        lk_stmt_bind_int64(st, 6, (int64_t)(rq->gas_limit ? rq->gas_limit : (uint64_t)a->m->o.gas.limit_default));
        if (rq->idempotency_key)
                lk_stmt_bind_text(st, 7, rq->idempotency_key, strlen(rq->idempotency_key));
        else
                lk_stmt_bind_null(st, 7);
        if (rq->meta)
                lk_stmt_bind_text(st, 8, rq->meta, strlen(rq->meta));
        else
                lk_stmt_bind_null(st, 8);
        if (rq->pipeline_task_run_id) {
                lk_stmt_bind_text(st, 9, rq->pipeline_task_run_id, strlen(rq->pipeline_task_run_id));
                lk_stmt_bind_int64(st, 10, rq->min_confirmations);
        } else {
                lk_stmt_bind_null(st, 9);
                lk_stmt_bind_null(st, 10);
        }
        lk_stmt_bind_bool(st, 11, rq->fail_on_revert);
        r = lk_stmt_step(st, err);
        if (r == 1)
                a->id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        lk_free(value);
        if (r < 0)
                return r;
        if (r == 1)
                return 0;
        a->existing = true;
        if ((r = find_by_key(db, rq->idempotency_key, &a->id, err)) < 0 || !rq->pipeline_task_run_id)
                return r;
        return hand_to_task_run(db, a->id, rq->pipeline_task_run_id, err);
}

int lk_txm_enqueue(lk_txm *m, const lk_txm_request *rq, int64_t *ret_id, bool *ret_existing, lk_err *err) {
        if (!key_of(m, rq->from)) {
                char text[43];
                lk_eth_address_text(rq->from, text);
                return lk_err_set(err, -EINVAL, "%s: no key for sender %s on chain %" PRId64, m->name, text,
                                  m->o.chain_id);
        }
        if (rq->idempotency_key && !*rq->idempotency_key)
                return lk_err_set(err, -EINVAL, "%s: an idempotency key may not be empty", m->name);
        if (rq->pipeline_task_run_id && rq->min_confirmations == 0)
                return lk_err_set(err, -EINVAL, "%s: a waiting task run needs minConfirmations", m->name);
        enqueue_args a = {.m = m, .rq = rq};
        int r = lk_store_tx(m->o.store, enqueue_tx, &a, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&m->lock);
        m->kick = true;
        pthread_cond_signal(&m->wake);
        pthread_mutex_unlock(&m->lock);
        *ret_id = a.id;
        if (ret_existing)
                *ret_existing = a.existing;
        return 0;
}

int lk_txm_pick_sender(lk_txm *m, const uint8_t (*allowed)[LK_ADDRESS_LEN], size_t allowed_count,
                       uint8_t ret_from[static LK_ADDRESS_LEN], lk_err *err) {
        pthread_mutex_lock(&m->lock);
        size_t start = m->next_sender;
        for (size_t i = 0; i < m->o.key_count; i++) {
                size_t k = (start + i) % m->o.key_count;
                bool ok = allowed_count == 0;
                for (size_t j = 0; j < allowed_count && !ok; j++)
                        ok = memcmp(allowed[j], m->keys[k].address, LK_ADDRESS_LEN) == 0;
                if (ok) {
                        m->next_sender = k + 1;
                        memcpy(ret_from, m->keys[k].address, LK_ADDRESS_LEN);
                        pthread_mutex_unlock(&m->lock);
                        return 0;
                }
        }
        pthread_mutex_unlock(&m->lock);
        return lk_err_set(err, -ENOENT, "no sending keys available for chain %" PRId64, m->o.chain_id);
}

/* ---- one transaction being worked on ---- */

typedef struct attempt {
        int64_t id;
        int64_t gas_price, tip_cap, fee_cap;
        uint8_t hash[32];
        lk_buf raw;
        int64_t broadcast_before; /* block; -1: not recorded */
} attempt;

typedef struct work {
        int64_t id;
        const lk_eth_key *key;
        uint64_t nonce;
        char state[32];
        lk_tx tx;          /* its fields, for signing bumps */
        lk_buf data;       /* tx.data points here */
        attempt last;      /* the newest attempt */
} work;

static void work_done(work *w) {
        lk_buf_done(&w->data);
        lk_buf_done(&w->last.raw);
}

static void base_tx(lk_txm *m, work *w) {
        w->tx.type = m->o.gas.dynamic_fees ? LK_TX_DYNAMIC_FEE : LK_TX_LEGACY;
        w->tx.chain_id = (uint64_t)m->o.chain_id;
        w->tx.nonce = w->nonce;
        w->tx.has_to = true;
        w->tx.data = (const uint8_t *)w->data.data;
        w->tx.data_len = w->data.len;
}

/* Signs w->tx at the prices of a into a's raw form and hash. */
static int sign_attempt(lk_txm *m, work *w, attempt *a, lk_err *err) {
        (void)m;
        word_from_int64(a->gas_price, w->tx.gas_price);
        word_from_int64(a->tip_cap, w->tx.max_priority_fee_per_gas);
        word_from_int64(a->fee_cap, w->tx.max_fee_per_gas);
        lk_buf_reset(&a->raw);
        return lk_tx_sign(&w->tx, w->key, &a->raw, a->hash, err);
}

/* Saves a as the transaction's newest attempt and sets its id. */
static int insert_attempt(lk_db *db, const work *w, attempt *a, const char *state, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "INSERT INTO evm_tx_attempts (eth_tx_id, gas_price, gas_tip_cap, gas_fee_cap,"
                              " signed_raw_tx, hash, state, tx_type, chain_specific_gas_limit,"
                              " broadcast_before_block_num) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                              " RETURNING id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, w->id);
        lk_stmt_bind_int64(st, 2, a->gas_price);
        lk_stmt_bind_int64(st, 3, a->tip_cap);
        lk_stmt_bind_int64(st, 4, a->fee_cap);
        lk_stmt_bind_blob(st, 5, a->raw.data, a->raw.len);
        lk_stmt_bind_blob(st, 6, a->hash, 32);
        lk_stmt_bind_text(st, 7, state, strlen(state));
        lk_stmt_bind_int64(st, 8, w->tx.type);
        lk_stmt_bind_int64(st, 9, (int64_t)w->tx.gas_limit);
        if (a->broadcast_before >= 0)
                lk_stmt_bind_int64(st, 10, a->broadcast_before);
        else
                lk_stmt_bind_null(st, 10);
        r = lk_stmt_step(st, err);
        if (r == 1)
                a->id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : r == 1 ? 0 : lk_err_set(err, -EIO, "INSERT ... RETURNING id returned no row");
}

static int exec_id(lk_db *db, const char *sql, int64_t id, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db, sql, &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, id);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* Reads the transaction's fields and its newest attempt into w (w->id,
 * w->key set by the caller). */
static int load_work(lk_db *db, work *w, lk_err *err) {
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "SELECT t.nonce, t.to_address, t.encoded_payload, t.value, t.gas_limit, t.state,"
                              " a.id, a.gas_price, a.gas_tip_cap, a.gas_fee_cap, a.signed_raw_tx, a.hash,"
                              " a.broadcast_before_block_num FROM evm_txes t LEFT JOIN evm_tx_attempts a"
                              " ON a.eth_tx_id = t.id WHERE t.id = $1 ORDER BY a.id DESC LIMIT 1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, w->id);
        r = lk_stmt_step(st, err);
        if (r == 0)
                r = lk_err_set(err, -ENOENT, "transaction %" PRId64 " is gone", w->id);
        if (r < 0)
                goto out;
        size_t to_len = 0, data_len = 0, raw_len = 0, hash_len = 0;
        const void *to = lk_stmt_blob(st, 1, &to_len), *data = lk_stmt_blob(st, 2, &data_len);
        if (to_len != LK_ADDRESS_LEN) {
                r = lk_err_set(err, -EIO, "transaction %" PRId64 ": stored to_address is %zu bytes", w->id, to_len);
                goto out;
        }
        w->nonce = (uint64_t)lk_stmt_int64(st, 0);
        memset(&w->tx, 0, sizeof w->tx);
        memcpy(w->tx.to, to, LK_ADDRESS_LEN);
        lk_buf_reset(&w->data);
        lk_buf_append(&w->data, data, data_len);
        if ((r = word_from_decimal(lk_stmt_text(st, 3, NULL), w->tx.value, err)) < 0)
                goto out;
        w->tx.gas_limit = (uint64_t)lk_stmt_int64(st, 4);
        snprintf(w->state, sizeof w->state, "%s", lk_stmt_text(st, 5, NULL));
        w->last.id = lk_stmt_is_null(st, 6) ? 0 : lk_stmt_int64(st, 6);
        if (w->last.id) {
                w->last.gas_price = lk_stmt_int64(st, 7);
                w->last.tip_cap = lk_stmt_int64(st, 8);
                w->last.fee_cap = lk_stmt_int64(st, 9);
                const void *raw = lk_stmt_blob(st, 10, &raw_len), *hash = lk_stmt_blob(st, 11, &hash_len);
                if (hash_len != 32) {
                        r = lk_err_set(err, -EIO, "transaction %" PRId64 ": stored attempt hash is %zu bytes", w->id,
                                       hash_len);
                        goto out;
                }
                lk_buf_reset(&w->last.raw);
                lk_buf_append(&w->last.raw, raw, raw_len);
                memcpy(w->last.hash, hash, 32);
                w->last.broadcast_before = lk_stmt_is_null(st, 12) ? -1 : lk_stmt_int64(st, 12);
        }
        r = 0;
out:
        lk_stmt_done(st);
        return r;
}

/* ---- nonces ---- */

typedef struct nonce_args {
        int64_t chain_id;
        const uint8_t *address;
        uint64_t nonce;
        bool found;
} nonce_args;

static int read_key_state(lk_db *db, void *arg, lk_err *err) {
        nonce_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT next_nonce FROM evm_key_states WHERE evm_chain_id = $1 AND address = $2",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->chain_id);
        lk_stmt_bind_blob(st, 2, a->address, LK_ADDRESS_LEN);
        r = lk_stmt_step(st, err);
        a->found = r == 1;
        if (r == 1)
                a->nonce = (uint64_t)lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int insert_key_state(lk_db *db, void *arg, lk_err *err) {
        nonce_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "INSERT INTO evm_key_states (evm_chain_id, address, next_nonce) VALUES ($1, $2, $3)"
                              " ON CONFLICT DO NOTHING",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->chain_id);
        lk_stmt_bind_blob(st, 2, a->address, LK_ADDRESS_LEN);
        lk_stmt_bind_int64(st, 3, (int64_t)a->nonce);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* The key's nonces are linkd's from the first time it sends: they start
 * from the chain's count of the key's transactions, pending ones included,
 * and are never read from the chain again. */
static int ensure_key_state(lk_txm *m, size_t k, lk_err *err) {
        if (m->nonce_known[k])
                return 0;
        nonce_args a = {.chain_id = m->o.chain_id, .address = m->keys[k].address};
        int r = lk_store_read(m->o.store, read_key_state, &a, err);
        if (r < 0)
                return r;
        if (!a.found) {
                json_t *count = NULL;
                r = lk_rpc_pool_call(m->o.rpc, "eth_getTransactionCount",
                                     json_pack("[os]", lk_rpc_hex(a.address, LK_ADDRESS_LEN), "pending"), &count, err);
                if (r == 0)
                        r = lk_rpc_quantity(count, &a.nonce, err);
                json_decref(count);
                if (r < 0)
                        return lk_err_prefix(err, "eth_getTransactionCount"), r;
                if ((r = lk_store_tx(m->o.store, insert_key_state, &a, err)) < 0)
                        return r;
        }
        m->nonce_known[k] = true;
        return 0;
}

/* ---- claiming and broadcasting ---- */

typedef struct claim_args {
        lk_txm *m;
        work *w;
        bool claimed;
} claim_args;

static int find_in_progress(lk_db *db, void *arg, lk_err *err) {
        claim_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "SELECT id FROM evm_txes WHERE evm_chain_id = $1 AND from_address = $2"
                              " AND state = 'in_progress' ORDER BY nonce LIMIT 1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->m->o.chain_id);
        lk_stmt_bind_blob(st, 2, a->w->key->address, LK_ADDRESS_LEN);
        r = lk_stmt_step(st, err);
        if (r == 1)
                a->w->id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        if (r <= 0)
                return r;
        a->claimed = true;
        return load_work(db, a->w, err);
}

/* The oldest unstarted transaction of the key takes the key's next nonce,
 * and its first attempt is signed and saved: all in one transaction. */
static int claim_next(lk_db *db, void *arg, lk_err *err) {
        claim_args *a = arg;
        lk_txm *m = a->m;
        work *w = a->w;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "SELECT id FROM evm_txes WHERE evm_chain_id = $1 AND from_address = $2"
                              " AND state = 'unstarted' ORDER BY id LIMIT 1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, m->o.chain_id);
        lk_stmt_bind_blob(st, 2, w->key->address, LK_ADDRESS_LEN);
        r = lk_stmt_step(st, err);
        if (r == 1)
                w->id = lk_stmt_int64(st, 0);
        lk_stmt_done(st);
        if (r <= 0)
                return r;
        nonce_args n = {.chain_id = m->o.chain_id, .address = w->key->address};
        if ((r = read_key_state(db, &n, err)) < 0)
                return r;
        if (!n.found)
                return lk_err_set(err, -EIO, "no nonce state for the key");
        if ((r = load_work(db, w, err)) < 0)
                return r;
        w->nonce = n.nonce;
        base_tx(m, w);
        w->last = (attempt){.gas_price = m->o.gas.price_default, .tip_cap = m->o.gas.tip_cap_default,
                            .fee_cap = m->o.gas.fee_cap_default, .broadcast_before = -1, .raw = w->last.raw};
        if ((r = sign_attempt(m, w, &w->last, err)) < 0)
                return r;
        if ((r = lk_db_prepare(db, "UPDATE evm_txes SET nonce = $2, state = 'in_progress' WHERE id = $1", &st, err)) <
            0)
                return r;
        lk_stmt_bind_int64(st, 1, w->id);
        lk_stmt_bind_int64(st, 2, (int64_t)w->nonce);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        if (r < 0 || (r = insert_attempt(db, w, &w->last, "in_progress", err)) < 0)
                return r;
        if ((r = lk_db_prepare(db,
                               "UPDATE evm_key_states SET next_nonce = next_nonce + 1"
                               " WHERE evm_chain_id = $1 AND address = $2",
                               &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, m->o.chain_id);
        lk_stmt_bind_blob(st, 2, w->key->address, LK_ADDRESS_LEN);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        a->claimed = r == 0;
        return r;
}

typedef struct mark_args {
        work *w;
        const char *tx_state;     /* NULL: leave it */
        const char *attempt_state;
        int64_t block;            /* broadcast_before_block_num; -1: leave it */
        const char *error;
} mark_args;

static int mark_sent(lk_db *db, void *arg, lk_err *err) {
        mark_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "UPDATE evm_tx_attempts SET state = $2,"
                              " broadcast_before_block_num = COALESCE($3, broadcast_before_block_num) WHERE id = $1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->w->last.id);
        lk_stmt_bind_text(st, 2, a->attempt_state, strlen(a->attempt_state));
        if (a->block >= 0)
                lk_stmt_bind_int64(st, 3, a->block);
        else
                lk_stmt_bind_null(st, 3);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        if (r < 0 || !a->tx_state)
                return r;
        if ((r = lk_db_prepare(db,
                               "UPDATE evm_txes SET state = $2, broadcast_at = $3,"
                               " initial_broadcast_at = COALESCE(initial_broadcast_at, $3) WHERE id = $1",
                               &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->w->id);
        lk_stmt_bind_text(st, 2, a->tx_state, strlen(a->tx_state));
        lk_stmt_bind_time(st, 3, lk_now_realtime());
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* A transaction the node will never take gives its nonce back: it is the
 * key's newest (only one is in progress per key), so the next one sent
 * takes the nonce and no gap is left. */
static int mark_fatal(lk_db *db, void *arg, lk_err *err) {
        mark_args *a = arg;
        work *w = a->w;
        int r = exec_id(db, "DELETE FROM evm_tx_attempts WHERE eth_tx_id = $1", w->id, err);
        if (r < 0)
                return r;
        lk_stmt *st;
        if ((r = lk_db_prepare(db, "UPDATE evm_txes SET state = 'fatal_error', nonce = NULL, error = $2 WHERE id = $1",
                               &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, w->id);
        lk_stmt_bind_text(st, 2, a->error, strlen(a->error));
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        if (r < 0)
                return r;
        if ((r = lk_db_prepare(db,
                               "UPDATE evm_key_states SET next_nonce = $3"
                               " WHERE evm_chain_id = $1 AND address = $2 AND next_nonce = $4",
                               &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, (int64_t)w->tx.chain_id);
        lk_stmt_bind_blob(st, 2, w->key->address, LK_ADDRESS_LEN);
        lk_stmt_bind_int64(st, 3, (int64_t)w->nonce);
        lk_stmt_bind_int64(st, 4, (int64_t)w->nonce + 1);
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* Replaces the in-progress attempt by one at higher prices. */
static int replace_attempt(lk_db *db, void *arg, lk_err *err) {
        mark_args *a = arg;
        int r = exec_id(db, "DELETE FROM evm_tx_attempts WHERE eth_tx_id = $1 AND state <> 'broadcast'", a->w->id, err);
        if (r < 0 || (r = insert_attempt(db, a->w, &a->w->last, a->attempt_state, err)) < 0)
                return r;
        return load_work(db, a->w, err);
}

static int add_attempt(lk_db *db, void *arg, lk_err *err) {
        mark_args *a = arg;
        int r = insert_attempt(db, a->w, &a->w->last, a->attempt_state, err);
        return r < 0 ? r : load_work(db, a->w, err);
}

/* eth_sendRawTransaction of the newest attempt, sorted as Chainlink sorts
 * the answers; transport failures count as retryable. */
static lk_send_error send_attempt(lk_txm *m, const work *w, lk_err *err) {
        json_t *hash = NULL;
        int r = lk_rpc_pool_send(m->o.rpc, "eth_sendRawTransaction",
                                 json_pack("[o]", lk_rpc_hex((const uint8_t *)w->last.raw.data, w->last.raw.len)),
                                 &hash, err);
        json_decref(hash);
        if (r == 0)
                return LK_SEND_OK;
        return r == LK_RPC_ENODE ? lk_send_error_classify(err->msg) : LK_SEND_RETRYABLE;
}

/* Whether the node knows the attempt already (in its pool or mined).
 * Asked before an attempt saved in an earlier round is sent again: geth
 * would answer "already known" or "nonce too low", but ganache executes
 * a mined transaction sent again a second time. */
static int node_knows(lk_txm *m, const uint8_t hash[static 32], bool *ret, lk_err *err) {
        json_t *tx = NULL;
        int r = lk_rpc_pool_call(m->o.rpc, "eth_getTransactionByHash", json_pack("[o]", lk_rpc_hex(hash, 32)), &tx, err);
        if (r < 0)
                return lk_err_prefix(err, "eth_getTransactionByHash"), r;
        *ret = json_is_object(tx);
        json_decref(tx);
        return 0;
}

/* The next prices after the node refused the current ones; -ERANGE at
 * PriceMax. */
static int bump_prices(lk_txm *m, attempt *a, lk_err *err) {
        lk_gas_bump_config c = {m->o.gas.bump_percent, m->o.gas.bump_min, m->o.gas.price_max};
        if (m->o.gas.dynamic_fees)
                return lk_gas_bump_dynamic(&c, a->tip_cap, a->fee_cap, &a->tip_cap, &a->fee_cap, err);
        return lk_gas_bump_price(&c, a->gas_price, &a->gas_price, err);
}

/* Sends the key's transaction in progress, then claims and sends the next
 * ones, until none is left or one cannot be sent now (err says why). */
static int broadcast_key(lk_txm *m, size_t k, int64_t latest, lk_err *err) {
        int r = ensure_key_state(m, k, err);
        if (r < 0)
                return r;
        work w = {.key = &m->keys[k]};
        for (;;) {
                claim_args c = {.m = m, .w = &w};
                if ((r = lk_store_read(m->o.store, find_in_progress, &c, err)) < 0)
                        break;
                bool known = false;
                if (c.claimed) {
                        base_tx(m, &w);
                        if ((r = node_knows(m, w.last.hash, &known, err)) < 0)
                                break;
                        if (m->first_round)
                                lk_log_info(m->o.log, "resuming a transaction left in progress",
                                            LK_INT("chain_id", m->o.chain_id), LK_INT("tx_id", w.id),
                                            LK_INT("nonce", (int64_t)w.nonce),
                                            LK_STR("node_has_it", known ? "true" : "false"));
                } else if ((r = lk_store_tx(m->o.store, claim_next, &c, err)) < 0 || !c.claimed) {
                        break;
                }
                lk_err send_err = LK_ERR_INIT;
                lk_send_error e = known ? LK_SEND_ALREADY_KNOWN : send_attempt(m, &w, &send_err);
                lk_log_debug(m->o.log, "transaction sent", LK_INT("chain_id", m->o.chain_id), LK_INT("tx_id", w.id),
                             LK_INT("nonce", (int64_t)w.nonce), LK_STR("outcome", lk_send_error_name(e)),
                             LK_STR("answer", send_err.msg));
                mark_args a = {.w = &w, .attempt_state = "broadcast", .block = latest};
                switch (e) {
                case LK_SEND_OK:
                case LK_SEND_ALREADY_KNOWN:
                        a.tx_state = "unconfirmed";
                        r = lk_store_tx(m->o.store, mark_sent, &a, err);
                        break;
                case LK_SEND_NONCE_TOO_LOW:
                        a.tx_state = "confirmed_missing_receipt";
                        r = lk_store_tx(m->o.store, mark_sent, &a, err);
                        break;
                case LK_SEND_UNDERPRICED:
                case LK_SEND_REPLACEMENT_UNDERPRICED:
                        if ((r = bump_prices(m, &w.last, err)) < 0 || (r = sign_attempt(m, &w, &w.last, err)) < 0) {
                                lk_err_prefix(err, "transaction %" PRId64 " (nonce %" PRIu64 "): %s", w.id, w.nonce,
                                              send_err.msg);
                                break;
                        }
                        a.attempt_state = "in_progress";
                        w.last.broadcast_before = -1;
                        r = lk_store_tx(m->o.store, replace_attempt, &a, err);
                        break;
                case LK_SEND_INSUFFICIENT_FUNDS:
                        a = (mark_args){.w = &w, .attempt_state = "insufficient_eth", .block = -1};
                        r = lk_store_tx(m->o.store, mark_sent, &a, err);
                        if (r == 0)
                                r = lk_err_set(err, -EAGAIN, "transaction %" PRId64 " (nonce %" PRIu64 "): %s", w.id,
                                               w.nonce, send_err.msg);
                        break;
                case LK_SEND_RETRYABLE:
                        r = lk_err_set(err, -EAGAIN, "transaction %" PRId64 " (nonce %" PRIu64 "): %s", w.id, w.nonce,
                                       send_err.msg);
                        break;
                case LK_SEND_FEE_CAP_EXCEEDED:
                case LK_SEND_FATAL:
                        a.error = send_err.msg;
                        r = lk_store_tx(m->o.store, mark_fatal, &a, err);
                        if (r == 0)
                                lk_log_error(m->o.log, "transaction refused for good", LK_INT("chain_id", m->o.chain_id),
                                             LK_INT("tx_id", w.id), LK_STR("error", send_err.msg));
                        break;
                }
                if (r < 0)
                        break;
        }
        work_done(&w);
        return r;
}

/* ---- receipts ---- */

typedef struct pending {
        int64_t tx_id;
        int64_t attempt_id;
        char state[32];
        uint8_t hash[32];
        int64_t broadcast_before;
        size_t key;
} pending;

typedef struct pending_list {
        lk_txm *m;
        int64_t keep_checking_from; /* confirmed ones with receipts at or above */
        pending *items;
        size_t count, cap;
} pending_list;

static int list_pending(lk_db *db, void *arg, lk_err *err) {
        pending_list *l = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "SELECT t.id, a.id, t.state, a.hash, a.broadcast_before_block_num, t.from_address"
                              " FROM evm_txes t JOIN evm_tx_attempts a ON a.eth_tx_id = t.id"
                              " LEFT JOIN evm_receipts r ON r.tx_hash = a.hash"
                              " WHERE t.evm_chain_id = $1 AND a.state = 'broadcast' AND"
                              " (t.state IN ('unconfirmed', 'confirmed_missing_receipt') OR"
                              "  (t.state = 'confirmed' AND r.block_number >= $2))"
                              " ORDER BY t.nonce, a.id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, l->m->o.chain_id);
        lk_stmt_bind_int64(st, 2, l->keep_checking_from);
        while ((r = lk_stmt_step(st, err)) == 1) {
                size_t hash_len = 0, from_len = 0;
                const void *hash = lk_stmt_blob(st, 3, &hash_len), *from = lk_stmt_blob(st, 5, &from_len);
                const lk_eth_key *key = from_len == LK_ADDRESS_LEN ? key_of(l->m, from) : NULL;
                if (hash_len != 32 || !key)
                        continue;
                if (l->count == l->cap) {
                        l->cap = l->cap ? 2 * l->cap : 64;
                        l->items = lk_realloc(l->items, l->cap * sizeof *l->items);
                }
                pending *p = &l->items[l->count++];
                p->tx_id = lk_stmt_int64(st, 0);
                p->attempt_id = lk_stmt_int64(st, 1);
                snprintf(p->state, sizeof p->state, "%s", lk_stmt_text(st, 2, NULL));
                memcpy(p->hash, hash, 32);
                p->broadcast_before = lk_stmt_is_null(st, 4) ? -1 : lk_stmt_int64(st, 4);
                p->key = (size_t)(key - l->m->keys);
        }
        lk_stmt_done(st);
        return r;
}

typedef struct confirm_args {
        const pending *p;
        const lk_rpc_receipt *rc;
        const char *state;
} confirm_args;

/* Records the receipt of one attempt (replacing any earlier one of the
 * transaction's attempts) and the transaction's new state. */
static int save_receipt(lk_db *db, void *arg, lk_err *err) {
        confirm_args *a = arg;
        int r = exec_id(db,
                        "DELETE FROM evm_receipts WHERE tx_hash IN"
                        " (SELECT hash FROM evm_tx_attempts WHERE eth_tx_id = $1)",
                        a->p->tx_id, err);
        if (r < 0)
                return r;
        lk_stmt *st;
        if (a->rc) {
                if ((r = lk_db_prepare(db,
                                       "INSERT INTO evm_receipts (tx_hash, block_hash, block_number, transaction_index,"
                                       " status, gas_used) VALUES ($1, $2, $3, $4, $5, $6)",
                                       &st, err)) < 0)
                        return r;
                lk_stmt_bind_blob(st, 1, a->p->hash, 32);
                lk_stmt_bind_blob(st, 2, a->rc->block_hash, 32);
                lk_stmt_bind_int64(st, 3, (int64_t)a->rc->block_number);
                lk_stmt_bind_int64(st, 4, (int64_t)a->rc->index);
                lk_stmt_bind_int64(st, 5, (int64_t)a->rc->status);
                lk_stmt_bind_int64(st, 6, (int64_t)a->rc->gas_used);
                r = lk_stmt_run(st, err);
                lk_stmt_done(st);
                if (r < 0)
                        return r;
        }
        if ((r = lk_db_prepare(db, "UPDATE evm_txes SET state = $2 WHERE id = $1", &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->p->tx_id);
        lk_stmt_bind_text(st, 2, a->state, strlen(a->state));
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

typedef struct known_receipt_args {
        const pending *p;
        uint8_t block_hash[32];
        bool found;
} known_receipt_args;

static int read_receipt(lk_db *db, void *arg, lk_err *err) {
        known_receipt_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db, "SELECT block_hash FROM evm_receipts WHERE tx_hash = $1", &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_blob(st, 1, a->p->hash, 32);
        r = lk_stmt_step(st, err);
        size_t len = 0;
        const void *h = r == 1 ? lk_stmt_blob(st, 0, &len) : NULL;
        a->found = h && len == 32;
        if (a->found)
                memcpy(a->block_hash, h, 32);
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

static int load_work_tx(lk_db *db, void *arg, lk_err *err) {
        return load_work(db, arg, err);
}

static int drop_attempt(lk_db *db, void *arg, lk_err *err) {
        return exec_id(db, "DELETE FROM evm_tx_attempts WHERE id = $1", *(const int64_t *)arg, err);
}

/* A new attempt at bumped prices (w->last becomes it); -ERANGE at
 * PriceMax. */
static int save_bump(lk_txm *m, work *w, lk_err *err) {
        attempt next = w->last;
        next.raw = (lk_buf)LK_BUF_INIT;
        next.broadcast_before = -1;
        int r = bump_prices(m, &next, err);
        if (r == 0)
                r = sign_attempt(m, w, &next, err);
        if (r < 0) {
                lk_buf_done(&next.raw);
                return r;
        }
        lk_buf_done(&w->last.raw);
        w->last = next;
        mark_args a = {.w = w, .attempt_state = "in_progress"};
        if ((r = lk_store_tx(m->o.store, add_attempt, &a, err)) < 0)
                return r;
        lk_log_info(m->o.log, "gas bumped", LK_INT("chain_id", m->o.chain_id), LK_INT("tx_id", w->id),
                    LK_INT("nonce", (int64_t)w->nonce), LK_INT("gas_price", w->last.gas_price),
                    LK_INT("tip_cap", w->last.tip_cap), LK_INT("fee_cap", w->last.fee_cap));
        return 0;
}

/* Sends a broadcast transaction again, at bumped prices while PriceMax
 * allows (and again higher while the node calls the bump underpriced);
 * at PriceMax, the newest attempt's bytes again, in case the node forgot
 * them.  A refused bump is dropped: the attempts before it stand. */
static int rebroadcast(lk_txm *m, const pending *p, int64_t latest, bool bump, lk_err *err) {
        work w = {.id = p->tx_id, .key = &m->keys[p->key]};
        int r = lk_store_read(m->o.store, load_work_tx, &w, err);
        if (r < 0)
                goto out;
        base_tx(m, &w);
        lk_err why = LK_ERR_INIT;
        bool bumped = bump && save_bump(m, &w, &why) == 0;
        for (;;) {
                lk_err send_err = LK_ERR_INIT;
                lk_send_error e = send_attempt(m, &w, &send_err);
                if (e == LK_SEND_OK || e == LK_SEND_ALREADY_KNOWN || e == LK_SEND_NONCE_TOO_LOW) {
                        /* nonce too low: mined meanwhile, maybe this very attempt; the receipts will tell */
                        mark_args a = {.w = &w, .attempt_state = "broadcast", .block = latest};
                        r = lk_store_tx(m->o.store, mark_sent, &a, err);
                        break;
                }
                int64_t refused = w.last.id;
                bool again = bumped && (e == LK_SEND_UNDERPRICED || e == LK_SEND_REPLACEMENT_UNDERPRICED) &&
                             save_bump(m, &w, &why) == 0;
                if (bumped && (r = lk_store_tx(m->o.store, drop_attempt, &refused, err)) < 0)
                        break;
                if (!again) {
                        r = lk_err_set(err, -EAGAIN, "transaction %" PRId64 " (nonce %" PRIu64 "): %s", w.id, w.nonce,
                                       send_err.msg);
                        break;
                }
        }
out:
        work_done(&w);
        return r;
}

/* What the chain says of one transaction's attempts: at most one of them
 * can have a receipt. */
static int settle(lk_txm *m, const pending *attempts, size_t count, const lk_rpc_receipt *receipts, int64_t latest,
                  lk_err *err) {
        const pending *newest = &attempts[count - 1];
        for (size_t i = 0; i < count; i++) {
                if (!receipts[i].found)
                        continue;
                known_receipt_args k = {.p = &attempts[i]};
                int r = lk_store_read(m->o.store, read_receipt, &k, err);
                if (r < 0)
                        return r;
                if (k.found && memcmp(k.block_hash, receipts[i].block_hash, 32) == 0 &&
                    strcmp(attempts[i].state, "confirmed") == 0)
                        return 0;
                confirm_args a = {.p = &attempts[i], .rc = &receipts[i], .state = "confirmed"};
                return lk_store_tx(m->o.store, save_receipt, &a, err);
        }
        if (strcmp(newest->state, "confirmed") == 0) {
                /* its block left the canonical chain: it is unconfirmed again, and sent again */
                lk_log_warn(m->o.log, "transaction's receipt gone in a reorganisation", LK_INT("chain_id", m->o.chain_id),
                            LK_INT("tx_id", newest->tx_id));
                confirm_args a = {.p = newest, .state = "unconfirmed"};
                int r = lk_store_tx(m->o.store, save_receipt, &a, err);
                return r < 0 ? r : rebroadcast(m, newest, latest, false, err);
        }
        if (strcmp(newest->state, "confirmed_missing_receipt") == 0) {
                if (newest->broadcast_before < 0 || latest - newest->broadcast_before <= m->o.finality_depth)
                        return 0;
                /* the nonce went to a transaction not ours: it stays used, and this one failed */
                confirm_args a = {.p = newest, .state = "fatal_error"};
                return lk_store_tx(m->o.store, save_receipt, &a, err);
        }
        if (strcmp(newest->state, "unconfirmed") != 0)
                return 0;
        int64_t threshold = m->o.gas.bump_threshold;
        if (threshold > 0 && newest->broadcast_before >= 0 && latest - newest->broadcast_before >= threshold)
                return rebroadcast(m, newest, latest, true, err);
        return 0;
}

/* Receipts for every broadcast attempt not yet final, in batches; then
 * each transaction settled with what was found. */
static int confirm(lk_txm *m, int64_t latest, lk_err *err) {
        pending_list l = {.m = m, .keep_checking_from = latest - m->o.finality_depth};
        int r = lk_store_read(m->o.store, list_pending, &l, err);
        lk_rpc_receipt *receipts = l.count ? lk_calloc(l.count, sizeof *receipts) : NULL;
        for (size_t from = 0; r == 0 && from < l.count; from += RECEIPT_BATCH) {
                size_t n = l.count - from < RECEIPT_BATCH ? l.count - from : RECEIPT_BATCH;
                lk_rpc_request requests[RECEIPT_BATCH] = {0};
                for (size_t i = 0; i < n; i++) {
                        requests[i].method = "eth_getTransactionReceipt";
                        requests[i].params = json_pack("[o]", lk_rpc_hex(l.items[from + i].hash, 32));
                }
                r = lk_rpc_pool_batch(m->o.rpc, requests, n, err);
                for (size_t i = 0; i < n; i++) {
                        if (r == 0 && requests[i].status < 0) {
                                r = requests[i].status;
                                *err = requests[i].err;
                        }
                        if (r == 0)
                                r = lk_rpc_receipt_decode(requests[i].result, l.items[from + i].hash, &receipts[from + i], err);
                        json_decref(requests[i].result);
                }
                if (r < 0)
                        lk_err_prefix(err, "eth_getTransactionReceipt");
        }
        /* items come ordered by transaction, then attempt */
        for (size_t i = 0; r == 0 && i < l.count;) {
                size_t j = i;
                while (j < l.count && l.items[j].tx_id == l.items[i].tx_id)
                        j++;
                r = settle(m, &l.items[i], j - i, &receipts[i], latest, err);
                i = j;
        }
        lk_free(receipts);
        lk_free(l.items);
        return r;
}

/* ---- handing receipts to the pipeline tasks waiting on them ---- */

typedef struct waiting {
        int64_t tx_id;
        char task_run_id[40];
        char *receipt_json; /* owned; NULL for a failed transaction */
        char *error;        /* owned */
} waiting;

typedef struct waiting_list {
        lk_txm *m;
        int64_t latest;
        waiting *items;
        size_t count, cap;
} waiting_list;

static waiting *waiting_add(waiting_list *l, lk_stmt *st) {
        if (l->count == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 16;
                l->items = lk_realloc(l->items, l->cap * sizeof *l->items);
        }
        waiting *w = &l->items[l->count++];
        *w = (waiting){.tx_id = lk_stmt_int64(st, 0)};
        snprintf(w->task_run_id, sizeof w->task_run_id, "%s", lk_stmt_text(st, 1, NULL));
        return w;
}

static char *hex_of(const void *bytes, size_t len) {
        char *text = lk_malloc(2 * len + 3);
        text[0] = '0';
        text[1] = 'x';
        lk_hex_encode(text + 2, bytes, len);
        return text;
}

/* The receipt as eth_getTransactionReceipt gives those of its fields the
 * manager keeps; a revert is the task's error when it asked for that. */
static void waiting_receipt(waiting *w, lk_stmt *st) {
        size_t hash_len = 0, block_len = 0;
        const void *hash = lk_stmt_blob(st, 2, &hash_len), *block = lk_stmt_blob(st, 3, &block_len);
        char *tx_hash = hex_of(hash, hash_len), *block_hash = hex_of(block, block_len);
        int64_t status = lk_stmt_int64(st, 6);
        if (status == 0 && lk_stmt_bool(st, 8)) {
                w->error = lk_asprintf("transaction %s reverted on-chain", tx_hash);
        } else {
                w->receipt_json = lk_asprintf(
                        "{\"transactionHash\":\"%s\",\"blockHash\":\"%s\",\"blockNumber\":\"0x%" PRIx64
                        "\",\"transactionIndex\":\"0x%" PRIx64 "\",\"status\":\"0x%" PRIx64 "\",\"gasUsed\":\"0x%" PRIx64 "\"}",
                        tx_hash, block_hash, (uint64_t)lk_stmt_int64(st, 4), (uint64_t)lk_stmt_int64(st, 5),
                        (uint64_t)status, (uint64_t)lk_stmt_int64(st, 7));
        }
        lk_free(tx_hash);
        lk_free(block_hash);
}

/* Chainlink's rule: a receipt is deep enough once its block is at most
 * the head minus minConfirmations. */
static int list_waiting(lk_db *db, void *arg, lk_err *err) {
        waiting_list *l = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "SELECT t.id, t.pipeline_task_run_id, a.hash, rc.block_hash, rc.block_number,"
                              " rc.transaction_index, rc.status, rc.gas_used, t.fail_on_revert"
                              " FROM evm_txes t JOIN evm_tx_attempts a ON a.eth_tx_id = t.id"
                              " JOIN evm_receipts rc ON rc.tx_hash = a.hash"
                              " WHERE t.evm_chain_id = $1 AND t.pipeline_task_run_id IS NOT NULL"
                              " AND NOT t.callback_completed AND t.state = 'confirmed'"
                              " AND rc.block_number <= $2 - t.min_confirmations ORDER BY t.id",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, l->m->o.chain_id);
        lk_stmt_bind_int64(st, 2, l->latest);
        while ((r = lk_stmt_step(st, err)) == 1)
                waiting_receipt(waiting_add(l, st), st);
        lk_stmt_done(st);
        if (r < 0)
                return r;
        if ((r = lk_db_prepare(db,
                               "SELECT id, pipeline_task_run_id, error FROM evm_txes WHERE evm_chain_id = $1"
                               " AND pipeline_task_run_id IS NOT NULL AND NOT callback_completed"
                               " AND state = 'fatal_error' ORDER BY id",
                               &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, l->m->o.chain_id);
        while ((r = lk_stmt_step(st, err)) == 1) {
                const char *why = lk_stmt_is_null(st, 2) ? "unknown" : lk_stmt_text(st, 2, NULL);
                waiting_add(l, st)->error = lk_asprintf("fatal error while sending transaction: %s", why);
        }
        lk_stmt_done(st);
        return r;
}

typedef struct delivered_args {
        int64_t tx_id;
        const char *task_run_id;
} delivered_args;

/* Only for the task run it was handed to: a run started again may have
 * taken the transaction over meanwhile. */
static int mark_delivered(lk_db *db, void *arg, lk_err *err) {
        delivered_args *a = arg;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "UPDATE evm_txes SET callback_completed = true WHERE id = $1 AND pipeline_task_run_id = $2",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->tx_id);
        lk_stmt_bind_text(st, 2, a->task_run_id, strlen(a->task_run_id));
        r = lk_stmt_run(st, err);
        lk_stmt_done(st);
        return r;
}

/* A task that cannot take its outcome yet is asked again next round; that
 * is no failure of the manager's. */
static int resume_waiting(lk_txm *m, int64_t latest, lk_err *err) {
        if (!m->o.resume)
                return 0;
        waiting_list l = {.m = m, .latest = latest};
        int r = lk_store_read(m->o.store, list_waiting, &l, err);
        for (size_t i = 0; i < l.count; i++) {
                waiting *w = &l.items[i];
                if (r == 0 && m->o.resume(m->o.resume_arg, w->task_run_id, w->receipt_json, w->error) == 0) {
                        delivered_args a = {w->tx_id, w->task_run_id};
                        r = lk_store_tx(m->o.store, mark_delivered, &a, err);
                }
                lk_free(w->receipt_json);
                lk_free(w->error);
        }
        lk_free(l.items);
        return r;
}

/* ---- the thread ---- */

static int latest_block(lk_txm *m, int64_t *ret, lk_err *err) {
        json_t *v = NULL;
        uint64_t n = 0;
        int r = lk_rpc_pool_call(m->o.rpc, "eth_blockNumber", NULL, &v, err);
        if (r == 0)
                r = lk_rpc_quantity(v, &n, err);
        json_decref(v);
        if (r == 0 && n > INT64_MAX)
                r = lk_err_set(err, -EPROTO, "eth_blockNumber out of range");
        if (r < 0)
                return lk_err_prefix(err, "eth_blockNumber"), r;
        *ret = (int64_t)n;
        return 0;
}

static int round_once(lk_txm *m, lk_err *err) {
        int64_t latest;
        int r = latest_block(m, &latest, err);
        if (r < 0)
                return r;
        int first = 0;
        for (size_t k = 0; k < m->o.key_count; k++) {
                lk_err key_err = LK_ERR_INIT;
                r = broadcast_key(m, k, latest, &key_err);
                if (r < 0 && first == 0) {
                        first = r;
                        *err = key_err;
                }
        }
        lk_err confirm_err = LK_ERR_INIT;
        r = confirm(m, latest, &confirm_err);
        if (r == 0)
                r = resume_waiting(m, latest, &confirm_err);
        if (r < 0 && first == 0) {
                first = r;
                *err = confirm_err;
        }
        return first;
}

static void *run(void *arg) {
        lk_txm *m = arg;
        pthread_setname_np(pthread_self(), "lk-txm");
        m->first_round = true;
        pthread_mutex_lock(&m->lock);
        while (!m->stop) {
                m->kick = false;
                pthread_mutex_unlock(&m->lock);
                lk_err err = LK_ERR_INIT;
                int r = round_once(m, &err);
                if (r == 0)
                        m->first_round = false;
                pthread_mutex_lock(&m->lock);
                bool was_failing = m->error != NULL;
                lk_freep(&m->error);
                if (r < 0) {
                        m->error = lk_strdup(err.msg);
                        if (!was_failing)
                                lk_log_error(m->o.log, "transaction manager round failed",
                                             LK_INT("chain_id", m->o.chain_id), LK_ERROR(&err));
                }
                if (!m->stop && !m->kick) {
                        struct timespec until = lk_deadline_after(m->o.poll_interval);
                        pthread_cond_timedwait(&m->wake, &m->lock, &until);
                }
        }
        pthread_mutex_unlock(&m->lock);
        return NULL;
}

/* ---- the service ---- */

static int start_locked(void *arg, lk_err *err) {
        lk_txm *m = arg;
        m->stop = false;
        int r = pthread_create(&m->thread, NULL, run, m);
        if (r != 0)
                return lk_err_set(err, -r, "%s: cannot start its thread: %s", m->name, strerror(r));
        m->thread_running = true;
        return 0;
}

static int stop_locked(void *arg, lk_err *err) {
        (void)err;
        lk_txm *m = arg;
        pthread_mutex_lock(&m->lock);
        m->stop = true;
        pthread_cond_broadcast(&m->wake);
        pthread_mutex_unlock(&m->lock);
        if (m->thread_running)
                pthread_join(m->thread, NULL);
        m->thread_running = false;
        return 0;
}

static int txm_start(lk_service *service, lk_ctx *ctx, lk_err *err) {
        (void)ctx;
        lk_txm *m = of_service(service);
        return lk_once_start(&m->once, m->name, start_locked, m, err);
}

static int txm_close(lk_service *service, lk_err *err) {
        lk_txm *m = of_service(service);
        return lk_once_stop(&m->once, m->name, stop_locked, m, err);
}

static void txm_health(lk_service *service, lk_health_report *report) {
        lk_txm *m = of_service(service);
        lk_err err = LK_ERR_INIT;
        if (lk_once_healthy(&m->once, &err) < 0) {
                lk_health_report_set(report, m->name, err.msg);
                return;
        }
        char text[LK_ERR_MSG_MAX] = "";
        pthread_mutex_lock(&m->lock);
        if (m->error)
                snprintf(text, sizeof text, "%s", m->error);
        pthread_mutex_unlock(&m->lock);
        lk_health_report_set(report, m->name, *text ? text : NULL);
}

static const lk_service_vtable txm_vtable = {
        .start = txm_start,
        .close = txm_close,
        .health_report = txm_health,
};

int lk_txm_new(const lk_txm_options *o, lk_txm **ret, lk_err *err) {
        if (!o->rpc || !o->store || o->chain_id <= 0)
                return lk_err_set(err, -EINVAL, "a transaction manager needs an RPC pool, a store and a chain ID");
        if (o->gas.limit_default <= 0 || o->gas.price_max <= 0)
                return lk_err_set(err, -EINVAL, "a transaction manager needs a gas limit and a maximum price");
        lk_txm *m = lk_calloc(1, sizeof *m);
        m->o = *o;
        if (m->o.poll_interval <= 0)
                m->o.poll_interval = DEFAULT_POLL;
        /* as Chainlink: no first price above the maximum */
        if (m->o.gas.price_default > m->o.gas.price_max)
                m->o.gas.price_default = m->o.gas.price_max;
        if (m->o.gas.fee_cap_default > m->o.gas.price_max)
                m->o.gas.fee_cap_default = m->o.gas.price_max;
        if (m->o.gas.tip_cap_default > m->o.gas.fee_cap_default)
                m->o.gas.tip_cap_default = m->o.gas.fee_cap_default;
        m->keys = lk_calloc(o->key_count ? o->key_count : 1, sizeof *m->keys);
        if (o->key_count)
                memcpy(m->keys, o->keys, o->key_count * sizeof *m->keys);
        m->o.keys = NULL;
        m->nonce_known = lk_calloc(o->key_count ? o->key_count : 1, sizeof *m->nonce_known);
        snprintf(m->name, sizeof m->name, "EVM.%" PRId64 ".Txm", o->chain_id);
        lk_once_init(&m->once);
        m->service = (lk_service){.vtable = &txm_vtable, .name = m->name, .once = &m->once};
        pthread_mutex_init(&m->lock, NULL);
        lk_cond_init_monotonic(&m->wake);
        *ret = m;
        return 0;
}

lk_txm *lk_txm_free(lk_txm *m) {
        if (!m)
                return NULL;
        stop_locked(m, NULL);
        for (size_t i = 0; i < m->o.key_count; i++)
                lk_eth_key_wipe(&m->keys[i]);
        lk_free(m->keys);
        lk_free(m->nonce_known);
        lk_free(m->error);
        pthread_cond_destroy(&m->wake);
        pthread_mutex_destroy(&m->lock);
        lk_once_done(&m->once);
        lk_free(m);
        return NULL;
}

lk_service *lk_txm_service(lk_txm *m) {
        return &m->service;
}

/* ---- reading ---- */

typedef struct status_args {
        int64_t id;
        lk_txm_status *s;
} status_args;

static int read_status(lk_db *db, void *arg, lk_err *err) {
        status_args *a = arg;
        lk_txm_status *s = a->s;
        lk_stmt *st;
        int r = lk_db_prepare(db,
                              "SELECT t.state, t.nonce, t.error, (SELECT COUNT(*) FROM evm_tx_attempts"
                              " WHERE eth_tx_id = t.id) FROM evm_txes t WHERE t.id = $1",
                              &st, err);
        if (r < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->id);
        r = lk_stmt_step(st, err);
        if (r == 1) {
                *s = (lk_txm_status){.id = a->id};
                snprintf(s->state, sizeof s->state, "%s", lk_stmt_text(st, 0, NULL));
                s->has_nonce = !lk_stmt_is_null(st, 1);
                s->nonce = (uint64_t)lk_stmt_int64(st, 1);
                if (!lk_stmt_is_null(st, 2))
                        snprintf(s->error, sizeof s->error, "%s", lk_stmt_text(st, 2, NULL));
                s->attempts = (size_t)lk_stmt_int64(st, 3);
        }
        lk_stmt_done(st);
        if (r <= 0)
                return r < 0 ? r : lk_err_set(err, -ENOENT, "no transaction %" PRId64, a->id);
        if ((r = lk_db_prepare(db,
                               "SELECT a.hash, r.block_number, r.block_hash, r.status FROM evm_tx_attempts a"
                               " LEFT JOIN evm_receipts r ON r.tx_hash = a.hash WHERE a.eth_tx_id = $1"
                               " ORDER BY r.block_number IS NULL, a.id DESC LIMIT 1",
                               &st, err)) < 0)
                return r;
        lk_stmt_bind_int64(st, 1, a->id);
        r = lk_stmt_step(st, err);
        size_t len = 0;
        const void *hash = r == 1 ? lk_stmt_blob(st, 0, &len) : NULL;
        if (hash && len == 32) {
                s->has_hash = true;
                memcpy(s->hash, hash, 32);
        }
        if (r == 1 && !lk_stmt_is_null(st, 1)) {
                const void *block = lk_stmt_blob(st, 2, &len);
                s->has_receipt = block && len == 32;
                if (s->has_receipt)
                        memcpy(s->block_hash, block, 32);
                s->block_number = lk_stmt_int64(st, 1);
                s->reverted = lk_stmt_int64(st, 3) == 0;
        }
        lk_stmt_done(st);
        return r < 0 ? r : 0;
}

int lk_txm_status_get(lk_store *store, int64_t id, lk_txm_status *ret, lk_err *err) {
        status_args a = {id, ret};
        return lk_store_read(store, read_status, &a, err);
}

typedef struct find_args {
        const char *key;
        int64_t id;
} find_args;

static int find_tx(lk_db *db, void *arg, lk_err *err) {
        find_args *a = arg;
        int r = find_by_key(db, a->key, &a->id, err);
        return r == -ENOENT ? lk_err_set(err, r, "no transaction under idempotency key %s", a->key) : r;
}

int lk_txm_find(lk_store *store, const char *idempotency_key, int64_t *ret_id, lk_err *err) {
        find_args a = {idempotency_key, 0};
        int r = lk_store_read(store, find_tx, &a, err);
        if (r == 0)
                *ret_id = a.id;
        return r;
}
