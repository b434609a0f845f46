/* Made-up block heads for tests of the head chain and what uses it. */
#ifndef LKTEST_CHAIN_H
#define LKTEST_CHAIN_H

#include "linkd/heads.h"

/* Block `number` of branch `branch`: its hash names both; its parent is
 * the same branch's block, or branch 0's at and below `fork`. */
static inline lk_head lktest_block(int64_t number, int branch, int64_t fork) {
        lk_head h = {.number = number, .timestamp = number * 12};
        h.hash[0] = (uint8_t)branch;
        h.hash[1] = (uint8_t)(number >> 8);
        h.hash[2] = (uint8_t)number;
        h.hash[31] = 0xaa;
        int parent_branch = number - 1 > fork ? branch : 0;
        h.parent_hash[0] = (uint8_t)parent_branch;
        h.parent_hash[1] = (uint8_t)((number - 1) >> 8);
        h.parent_hash[2] = (uint8_t)(number - 1);
        h.parent_hash[31] = 0xaa;
        return h;
}

#endif
