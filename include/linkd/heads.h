/* The chain of block heads a node has seen, as the head tracker keeps it:
 * the tip (the highest head), the canonical chain below it by parent
 * links, reorgs (a new tip whose ancestry leaves the old tip's), and gaps
 * (ancestors not yet seen, which the tracker then fetches).  Heads more
 * than history_depth below the tip are forgotten.  Not thread-safe: the
 * head tracker owns one. */
#ifndef LINKD_HEADS_H
#define LINKD_HEADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lk_head {
        int64_t number;
        uint8_t hash[32];
        uint8_t parent_hash[32];
        int64_t timestamp;
} lk_head;

typedef enum lk_head_outcome {
        LK_HEAD_IGNORED,  /* seen before, or too far below the tip to matter */
        LK_HEAD_KEPT,     /* below or beside the tip: kept, the tip unchanged */
        LK_HEAD_EXTENDED, /* the new tip, on top of the old tip's chain */
        LK_HEAD_REORG,    /* the tip's chain left a former tip's: reported once the
                           * blocks down to their common ancestor are known, by
                           * the head that completed them */
} lk_head_outcome;

typedef struct lk_head_update {
        lk_head_outcome outcome;
        /* LK_HEAD_REORG: the lowest number whose canonical block changed */
        int64_t fork_point;
        /* the canonical chain's gap nearest the tip, when one of its
         * ancestors within history_depth is unknown: numbers missing_from
         * to missing_to (inclusive) should be fetched; 0, 0 when whole.
         * Told for every head added, also one ignored */
        int64_t missing_from, missing_to;
} lk_head_update;

typedef struct lk_head_chain lk_head_chain;

/* history_depth ≥ 1. */
lk_head_chain *lk_head_chain_new(size_t history_depth);
lk_head_chain *lk_head_chain_free(lk_head_chain *chain);

void lk_head_chain_add(lk_head_chain *chain, const lk_head *head, lk_head_update *ret);
/* The tip, or NULL before the first head. */
const lk_head *lk_head_chain_tip(const lk_head_chain *chain);
/* The canonical head at number (by parent links from the tip), or NULL
 * when it is unknown, pruned or above the tip. */
const lk_head *lk_head_chain_canonical(const lk_head_chain *chain, int64_t number);
/* The head with hash, canonical or not, or NULL. */
const lk_head *lk_head_chain_find(const lk_head_chain *chain, const uint8_t hash[static 32]);
size_t lk_head_chain_count(const lk_head_chain *chain);

#endif
