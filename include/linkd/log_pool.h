/* The logs a subscriber waits for (the log broadcaster keeps one pool per
 * subscription): a log is ready once its block is on the canonical chain
 * with at least min_confirmations blocks counting its own; a log whose
 * block left the canonical chain is dropped and never delivered; a log
 * that reappears in another block is a new log (its new block hash) and
 * is delivered under that; a "removed" notice drops the log it names.
 * Not thread-safe: the broadcaster owns its pools. */
#ifndef LINKD_LOG_POOL_H
#define LINKD_LOG_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/heads.h"
#include "linkd/rpc.h"

typedef struct lk_pooled_log {
        lk_evm_log log;   /* data_hex points at data below */
        char *data;       /* owned */
} lk_pooled_log;

typedef struct lk_log_pool lk_log_pool;

lk_log_pool *lk_log_pool_new(void);
lk_log_pool *lk_log_pool_free(lk_log_pool *pool);

/* Keeps a copy of log; a second copy of the same (block hash, log index)
 * is ignored; a removed log drops the one it names. */
void lk_log_pool_add(lk_log_pool *pool, const lk_evm_log *log);
size_t lk_log_pool_count(const lk_log_pool *pool);
/* The lowest block number a log of the pool is in; false when empty. */
bool lk_log_pool_lowest_block(const lk_log_pool *pool, int64_t *ret);

/* The canonical block hash at number as its owner knows it (the head
 * tracker); false when it does not. */
typedef bool (*lk_canonical_fn)(void *arg, int64_t number, uint8_t ret_hash[static 32]);

/* Takes out the logs ready when the tip is at tip_number (in block, then
 * log index order) into *ret (free with lk_log_pool_release) and drops
 * the orphaned ones (their count in *ret_dropped).  A log in a block at
 * or below final_through (-1: none) whose canonical hash canonical does
 * not know is final: the node gave it for a block no reorg can reach
 * (deeper than the head tracker's history, after a long stop). */
size_t lk_log_pool_take_ready(lk_log_pool *pool, int64_t tip_number, int64_t final_through, lk_canonical_fn canonical,
                              void *arg, uint32_t min_confirmations, lk_pooled_log **ret, size_t *ret_dropped);
/* lk_canonical_fn over a head chain (arg: the lk_head_chain). */
bool lk_log_pool_chain_canonical(void *chain, int64_t number, uint8_t ret_hash[static 32]);
void lk_log_pool_release(lk_pooled_log *logs, size_t count);

#endif
