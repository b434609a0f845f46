/* One EVM chain of the node (service "EVM.<chainID>"), as a [[EVM]] table
 * configures it: its RPC pool, head tracker, log broadcaster and
 * transaction manager, started and closed together.
 *
 * The start opens the node's Ethereum keys (keys/keystore) with the
 * keystore password for the transaction manager; it fails when the store
 * holds keys and no password, or the wrong one, was given.
 *
 * Health: "EVM.<chainID>" itself, and its parts' entries:
 * ".Node.<name>" per RPC node, ".HeadTracker" (and ".Subscription"),
 * ".LogBroadcaster", ".Txm". */
#ifndef LINKD_CHAIN_H
#define LINKD_CHAIN_H

#include "linkd/config.h"
#include "linkd/head_tracker.h"
#include "linkd/log.h"
#include "linkd/log_broadcaster.h"
#include "linkd/rpc_pool.h"
#include "linkd/service.h"
#include "linkd/store.h"
#include "linkd/txm.h"

typedef struct lk_chain lk_chain;

typedef struct lk_chain_options {
        const lk_evm_chain_config *config; /* borrowed; must outlive the chain */
        lk_store *store;                   /* borrowed */
        const char *keystore_password;     /* borrowed; NULL: none given */
        lk_log *log;                       /* borrowed; may be NULL */
        lk_txm_resume_fn resume;           /* the transaction manager's; may be NULL */
        void *resume_arg;
        /* The log broadcaster takes no head before its jobs have subscribed
         * (lk_log_broadcaster_dependents_ready on lk_chain_logs). */
        bool await_jobs;
} lk_chain_options;

int lk_chain_new(const lk_chain_options *options, lk_chain **ret, lk_err *err);
lk_chain *lk_chain_free(lk_chain *chain);
lk_service *lk_chain_service(lk_chain *chain);

int64_t lk_chain_id(const lk_chain *chain);
/* The [[EVM]] table the chain was made from (its GasEstimator settings). */
const lk_evm_chain_config *lk_chain_config(const lk_chain *chain);
/* The chain's parts, owned by it.  The transaction manager exists once
 * the chain has started (NULL before). */
lk_rpc_pool *lk_chain_rpc(lk_chain *chain);
lk_head_tracker *lk_chain_heads(lk_chain *chain);
lk_log_broadcaster *lk_chain_logs(lk_chain *chain);
lk_txm *lk_chain_txm(lk_chain *chain);

#endif
