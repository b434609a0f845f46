/* The transaction manager of one chain (service "EVM.<chainID>.Txm"), after
 * Chainlink's txmgr: jobs enqueue transactions; the manager gives each its
 * key's next nonce, signs it, broadcasts it, follows its receipt until the
 * receipt is FinalityDepth blocks deep, and bumps its gas when it is not
 * mined within BumpThreshold blocks.
 *
 * Never twice, never a gap:
 * - A request carries an idempotency key; asking again with the same key
 *   returns the transaction already enqueued (table evm_txes).
 * - The nonce (evm_key_states, owned by linkd once first read from the
 *   chain), the transaction's state and its signed attempt are saved in one
 *   database transaction before anything is broadcast.  After a crash, an
 *   attempt saved but perhaps not sent is sent again byte for byte: the same
 *   hash, which the chain takes at most once.
 * - A transaction that can never be sent (the node calls it fatal) gives its
 *   nonce back in the same database transaction that marks it failed, so
 *   the next one takes it.
 *
 * States (evm_txes.state): unstarted, in_progress (nonce and an attempt
 * saved, not yet known to be broadcast), unconfirmed (broadcast, no
 * receipt), confirmed_missing_receipt (the nonce was used when we sent:
 * probably by this very transaction before a crash; receipts are sought),
 * confirmed (a receipt on the canonical chain), fatal_error.
 *
 * The manager polls its RPC pool once per poll interval, and at once after
 * an enqueue.  Its health report is failing while the last round failed
 * (the RPC nodes unreachable, a key out of funds), saying why. */
#ifndef LINKD_TXM_H
#define LINKD_TXM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/eth.h"
#include "linkd/log.h"
#include "linkd/rpc_pool.h"
#include "linkd/service.h"
#include "linkd/store.h"
#include "linkd/time.h"

typedef struct lk_txm lk_txm;

typedef struct lk_txm_gas {
        bool dynamic_fees;       /* EIP-1559 (type 2) instead of legacy */
        int64_t limit_default;   /* gas, for requests that give none */
        int64_t price_default;   /* wei: a legacy transaction's first price */
        int64_t tip_cap_default; /* wei: a type-2 transaction's first tip */
        int64_t fee_cap_default; /* wei: its first fee cap */
        int64_t price_max;       /* wei: no bump goes above */
        int64_t bump_min;        /* wei */
        int64_t bump_percent;
        int64_t bump_threshold;  /* blocks without a receipt before a bump; 0: never */
} lk_txm_gas;

/* Hands the outcome of a transaction a pipeline task waits on (ethtx with
 * minConfirmations) to that task: receipt_json (a JSON object: the
 * receipt as eth_getTransactionReceipt gives it) or error, exactly one of
 * them.  Returns 0 once the outcome is delivered, or when no task waits
 * for it any more; -EAGAIN (or any error) to be called again next round:
 * the task may not be waiting yet, or the runner may not be running.
 * Called on the manager's thread. */
typedef int (*lk_txm_resume_fn)(void *arg, const char *task_run_id, const char *receipt_json, const char *error);

typedef struct lk_txm_options {
        int64_t chain_id;
        lk_rpc_pool *rpc;        /* borrowed */
        lk_store *store;         /* borrowed */
        const lk_eth_key *keys;  /* copied: the keys it may send from */
        size_t key_count;
        lk_txm_gas gas;
        int64_t finality_depth;  /* receipts are rechecked until this deep */
        lk_usec poll_interval;   /* 0 = 1 s */
        lk_log *log;             /* borrowed; may be NULL */
        lk_txm_resume_fn resume; /* may be NULL: nothing waits */
        void *resume_arg;
} lk_txm_options;

int lk_txm_new(const lk_txm_options *options, lk_txm **ret, lk_err *err);
/* Stops the manager if it runs.  Accepts NULL; returns NULL. */
lk_txm *lk_txm_free(lk_txm *txm);
lk_service *lk_txm_service(lk_txm *txm);

typedef struct lk_txm_request {
        uint8_t from[LK_ADDRESS_LEN]; /* one of the manager's keys */
        uint8_t to[LK_ADDRESS_LEN];
        uint8_t value[32];            /* wei, big-endian */
        const uint8_t *data;          /* borrowed */
        size_t data_len;
        uint64_t gas_limit;           /* 0: LimitDefault */
        const char *idempotency_key;  /* NULL: none (every call enqueues) */
        const char *meta;             /* JSON object text kept with it; may be NULL */
        /* The pipeline task run waiting for the receipt, min_confirmations
         * blocks deep (both or neither; NULL: none waits).  Enqueued again
         * under the same idempotency key with another task run (the run
         * was started again after a crash), the transaction is handed to
         * the new task run instead. */
        const char *pipeline_task_run_id;
        uint32_t min_confirmations;
        bool fail_on_revert;          /* a reverted receipt is the task's error */
} lk_txm_request;

/* Saves the request as an unstarted transaction, or finds the one saved
 * before under its idempotency key (*ret_existing true; the request's
 * other fields are then ignored).  Its id in *ret_id.  -EINVAL for a
 * sender the manager has no key for. */
int lk_txm_enqueue(lk_txm *txm, const lk_txm_request *request, int64_t *ret_id, bool *ret_existing, lk_err *err);

typedef struct lk_txm_status {
        int64_t id;
        char state[32];
        bool has_nonce;
        uint64_t nonce;
        bool has_hash;          /* the latest attempt's */
        uint8_t hash[32];
        size_t attempts;
        bool has_receipt;       /* when confirmed */
        int64_t block_number;
        uint8_t block_hash[32];
        bool reverted;          /* the receipt's status is 0 */
        char error[256];        /* for fatal_error */
} lk_txm_status;

/* The sender for a job's transaction: the next, in turn, of the manager's
 * keys that are among allowed (all keys when allowed_count is 0).
 * -ENOENT when none is. */
int lk_txm_pick_sender(lk_txm *txm, const uint8_t (*allowed)[LK_ADDRESS_LEN], size_t allowed_count,
                       uint8_t ret_from[static LK_ADDRESS_LEN], lk_err *err);

/* Transaction id as the manager knows it; -ENOENT for an unknown id. */
int lk_txm_status_get(lk_store *store, int64_t id, lk_txm_status *ret, lk_err *err);
/* The id of the transaction enqueued under key; -ENOENT when none. */
int lk_txm_find(lk_store *store, const char *idempotency_key, int64_t *ret_id, lk_err *err);

#endif
