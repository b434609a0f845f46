/* See include/linkd/log_pool.h.  A few hundred logs wait at a time: a
 * sorted array is plenty. */
#include "linkd/log_pool.h"

#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"

struct lk_log_pool {
        lk_pooled_log *logs;
        size_t count, cap;
};

lk_log_pool *lk_log_pool_new(void) {
        return lk_calloc(1, sizeof(lk_log_pool));
}

void lk_log_pool_release(lk_pooled_log *logs, size_t count) {
        for (size_t i = 0; i < count; i++)
                lk_free(logs[i].data);
        lk_free(logs);
}

lk_log_pool *lk_log_pool_free(lk_log_pool *p) {
        if (!p)
                return NULL;
        lk_log_pool_release(p->logs, p->count);
        lk_free(p);
        return NULL;
}

size_t lk_log_pool_count(const lk_log_pool *p) {
        return p->count;
}

static bool same_log(const lk_evm_log *a, const lk_evm_log *b) {
        return a->log_index == b->log_index && memcmp(a->block_hash, b->block_hash, 32) == 0;
}

static void drop(lk_log_pool *p, size_t i) {
        lk_free(p->logs[i].data);
        memmove(&p->logs[i], &p->logs[i + 1], (p->count - i - 1) * sizeof *p->logs);
        p->count--;
}

/* Block number, then log index: the order logs happened in. */
static bool before(const lk_evm_log *a, const lk_evm_log *b) {
        return a->block_number < b->block_number ||
               (a->block_number == b->block_number && a->log_index < b->log_index);
}

void lk_log_pool_add(lk_log_pool *p, const lk_evm_log *log) {
        for (size_t i = 0; i < p->count; i++) {
                if (!same_log(&p->logs[i].log, log))
                        continue;
                if (log->removed)
                        drop(p, i);
                return;
        }
        if (log->removed)
                return;
        if (p->count == p->cap) {
                p->cap = p->cap ? 2 * p->cap : 16;
                p->logs = lk_realloc(p->logs, p->cap * sizeof *p->logs);
        }
        size_t at = p->count;
        while (at > 0 && before(log, &p->logs[at - 1].log))
                at--;
        memmove(&p->logs[at + 1], &p->logs[at], (p->count - at) * sizeof *p->logs);
        lk_pooled_log *slot = &p->logs[at];
        slot->log = *log;
        slot->data = lk_strdup(log->data_hex ? log->data_hex : "0x");
        slot->log.data_hex = slot->data;
        p->count++;
}

bool lk_log_pool_chain_canonical(void *chain, int64_t number, uint8_t ret_hash[static 32]) {
        const lk_head *h = lk_head_chain_canonical(chain, number);
        if (h)
                memcpy(ret_hash, h->hash, 32);
        return h != NULL;
}

size_t lk_log_pool_take_ready(lk_log_pool *p, int64_t tip_number, lk_canonical_fn canonical, void *arg,
                              uint32_t min_confirmations, lk_pooled_log **ret, size_t *ret_dropped) {
        lk_pooled_log *ready = NULL;
        size_t ready_count = 0, dropped = 0;
        for (size_t i = 0; tip_number >= 0 && i < p->count;) {
                const lk_evm_log *log = &p->logs[i].log;
                if ((int64_t)log->block_number > tip_number) {
                        i++; /* ahead of what the tracker has seen */
                        continue;
                }
                uint8_t hash[32];
                bool known = canonical(arg, (int64_t)log->block_number, hash);
                if (known && memcmp(hash, log->block_hash, 32) != 0) {
                        drop(p, i); /* its block was reorganised away */
                        dropped++;
                        continue;
                }
                uint64_t confirmations = (uint64_t)(tip_number - (int64_t)log->block_number) + 1;
                if (!known || confirmations < (min_confirmations ? min_confirmations : 1)) {
                        i++; /* not known canonical yet, or too young */
                        continue;
                }
                ready = lk_realloc(ready, (ready_count + 1) * sizeof *ready);
                ready[ready_count++] = p->logs[i];
                memmove(&p->logs[i], &p->logs[i + 1], (p->count - i - 1) * sizeof *p->logs);
                p->count--;
        }
        *ret = ready;
        if (ret_dropped)
                *ret_dropped = dropped;
        return ready_count;
}
