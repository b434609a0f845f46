/* The log broadcaster of one chain (Chainlink's JobSubscriber): jobs
 * subscribe with a filter (a contract address, optionally first topics)
 * and a number of confirmations; for every head the head tracker reports,
 * it fetches the new logs (from the fork point again after a reorg), and
 * hands each subscriber its logs once they are on the canonical chain
 * with enough confirmations.  A log whose block leaves the canonical
 * chain first is never handed out; one that reappears in another block is
 * handed out under that block's hash.
 *
 * Exactly once: a subscriber records that it consumed a log with
 * lk_log_broadcast_consume in the same transaction as the work the log
 * caused (table log_broadcasts, keyed by chain, block hash, log index and
 * job); logs recorded so are not handed to that job again, also after a
 * restart, when the broadcaster looks back FinalityDepth blocks below the
 * first head. */
#ifndef LINKD_LOG_BROADCASTER_H
#define LINKD_LOG_BROADCASTER_H

#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/head_tracker.h"
#include "linkd/log.h"
#include "linkd/rpc_pool.h"
#include "linkd/store.h"

typedef struct lk_log_broadcaster lk_log_broadcaster;

/* A log for the subscriber; runs on the head tracker's thread.  Returns
 * 0 when the log is dealt with (consumed, or of no interest), < 0 to
 * have it handed out again with the next head. */
typedef int (*lk_log_fn)(void *arg, const lk_evm_log *log);

typedef struct lk_log_broadcaster_options {
        int64_t chain_id;
        lk_rpc_pool *rpc;        /* borrowed: the chain's nodes */
        lk_store *store;         /* borrowed; where consumption is recorded */
        lk_head_tracker *heads;  /* borrowed: canonical hashes */
        int64_t finality_depth;  /* how far back a restart looks */
        lk_log *log;             /* may be NULL */
        /* Heads are ignored until lk_log_broadcaster_dependents_ready:
         * logs fetched before the jobs subscribed would be passed over
         * (Chainlink's DependentAwaiter). */
        bool await_dependents;
} lk_log_broadcaster_options;

typedef struct lk_log_subscription {
        uint8_t address[20];
        const uint8_t *topics;   /* topic_count first topics, 32 bytes each; none: any */
        size_t topic_count;
        uint32_t min_confirmations;
        int64_t job_id;          /* whose consumption is recorded */
        lk_log_fn fn;
        void *arg;
} lk_log_subscription;

int lk_log_broadcaster_new(const lk_log_broadcaster_options *options, lk_log_broadcaster **ret, lk_err *err);
lk_log_broadcaster *lk_log_broadcaster_free(lk_log_broadcaster *b);
/* Every subscriber that exists at start has subscribed (the job spawner
 * has started its jobs): heads are taken from now on, the current one at
 * once. */
void lk_log_broadcaster_dependents_ready(lk_log_broadcaster *b);
/* Returns a subscription id (> 0). */
int lk_log_broadcaster_subscribe(lk_log_broadcaster *b, const lk_log_subscription *s, lk_err *err);
void lk_log_broadcaster_unsubscribe(lk_log_broadcaster *b, int id);

/* Adds "EVM.<chainID>.LogBroadcaster" to report: failing while the last
 * fetch of logs failed, saying why. */
void lk_log_broadcaster_health(lk_log_broadcaster *b, lk_health_report *report);

/* The head tracker's callback (lk_head_fn): arg is the broadcaster. */
void lk_log_broadcaster_on_head(void *arg, const lk_head *tip, const lk_head_update *update);

/* Records, in the caller's transaction, that job consumed log: -EALREADY
 * when it had been recorded before (the caller then rolls back). */
int lk_log_broadcast_consume(lk_db *db, int64_t chain_id, const lk_evm_log *log, int64_t job_id, lk_err *err);
/* The same in a transaction of its own, for a log dealt with without
 * other work (a request rejected): 0 also when it was recorded before. */
int lk_log_broadcast_consume_now(lk_store *store, int64_t chain_id, const lk_evm_log *log, int64_t job_id,
                                 lk_err *err);
/* Whether job has consumed log. */
int lk_log_broadcast_was_consumed(lk_store *store, int64_t chain_id, const lk_evm_log *log, int64_t job_id,
                                  bool *ret, lk_err *err);

#endif
