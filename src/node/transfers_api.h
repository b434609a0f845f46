/* Sending ether from one of the node's keys (internal to src/node), as
 * Chainlink v1.13's TransfersController offers it:
 *
 *   POST /v2/transfers   admin   {"from", "address" (the destination),
 *                                 "amount" (ether, decimal), "evmChainID",
 *                                 "allowHigherAmounts", and linkd's
 *                                 "idempotencyKey"}
 *
 * The transaction is enqueued in the chain's transaction manager and the
 * answer is its evm_transactions resource (state "unstarted" at first).
 * Under an idempotencyKey a request sent again (after a timeout, a
 * restart) gets the transaction the first one enqueued, never a second.
 * Unless allowHigherAmounts, an amount above the sender's balance is
 * refused (422) as Chainlink refuses it. */
#ifndef LINKD_NODE_TRANSFERS_API_H
#define LINKD_NODE_TRANSFERS_API_H

#include "linkd/store.h"
#include "linkd/web.h"

struct lk_app;

/* Call before the server starts; app must outlive web. */
void lk__transfers_api_register(lk_web *web, struct lk_app *app);

#endif
