/* The head tracker of one chain (service "EVM.<chainID>.HeadTracker"):
 * polls its RPC node for the latest block, keeps the head chain
 * (linkd/heads.h) of HistoryDepth heads, fetches the blocks a gap leaves
 * out (by number, in batches, a few a poll until the history is whole,
 * also while no new block comes), reports the tip to its subscriber after
 * every poll that moved it or filled part of its ancestry, with what
 * changed (extended, or a reorg and its fork point), and, with a store, keeps the heads in evm_heads so that a
 * restart continues from them.
 *
 * With a WebSocket client it also subscribes to newHeads, and a head the
 * node announces ends the wait for the next poll at once: the poll, not
 * the notification, is what the chain is taken from, so a notification
 * lost or invalid costs only time, and while the subscription is down
 * the polling goes on at its interval alone.
 *
 * Its health report: failing while the last poll failed, with why
 * (the node named, never its URL); with a WebSocket client,
 * "<name>.Subscription" fails while the subscription is down, saying
 * that it polls instead. */
#ifndef LINKD_HEAD_TRACKER_H
#define LINKD_HEAD_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "linkd/err.h"
#include "linkd/heads.h"
#include "linkd/log.h"
#include "linkd/rpc_pool.h"
#include "linkd/rpc_ws.h"
#include "linkd/service.h"
#include "linkd/store.h"
#include "linkd/time.h"

typedef struct lk_head_tracker lk_head_tracker;

/* Called on the tracker's thread once per poll that moved the tip or
 * filled part of its ancestry (so that what waits for those blocks to be
 * known canonical, such as logs, may go on), after the poll filled the
 * gaps it found: with the tip, and LK_HEAD_REORG (and the lowest fork
 * point) if the poll found a reorg, else LK_HEAD_EXTENDED (the tip may be
 * the one told before). */
typedef void (*lk_head_fn)(void *arg, const lk_head *head, const lk_head_update *update);

typedef struct lk_head_tracker_options {
        int64_t chain_id;
        lk_rpc_pool *rpc;      /* borrowed: the chain's nodes */
        lk_store *store;       /* borrowed; NULL: heads in memory only */
        lk_log *log;           /* borrowed; may be NULL */
        size_t history_depth;  /* 0 = 100 */
        lk_usec poll_interval; /* 0 = 1 s */
        lk_head_fn on_head;    /* may be NULL */
        void *arg;
        lk_rpc_ws *ws;         /* borrowed; NULL: polling only.  Its newHeads
                                * subscriber while the tracker runs */
} lk_head_tracker_options;

int lk_head_tracker_new(const lk_head_tracker_options *options, lk_head_tracker **ret, lk_err *err);
lk_head_tracker *lk_head_tracker_free(lk_head_tracker *t);
lk_service *lk_head_tracker_service(lk_head_tracker *t);
/* Sets the subscriber (as options->on_head and arg) before the start:
 * for one that needs the tracker itself, such as the log broadcaster. */
void lk_head_tracker_subscribe(lk_head_tracker *t, lk_head_fn fn, void *arg);

/* The latest head (copied); false before the first. */
bool lk_head_tracker_latest(lk_head_tracker *t, lk_head *ret);
/* Polls at once and reports the tip after it even if the chain did not
 * move: for a subscriber that was not ready for the heads before. */
void lk_head_tracker_report_again(lk_head_tracker *t);
/* The canonical block hash at number, as far as the tracker knows it. */
bool lk_head_tracker_canonical(lk_head_tracker *t, int64_t number, uint8_t ret_hash[static 32]);

#endif
