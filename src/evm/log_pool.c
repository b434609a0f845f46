/* See include/linkd/log_pool.h.  A sorted array: logs arrive mostly in
 * order (appended), are found by binary search, and leave in one pass
 * that compacts the array, so that a look-back over thousands of logs
 * costs n log n, not n².  */
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

bool lk_log_pool_lowest_block(const lk_log_pool *p, int64_t *ret) {
        if (p->count == 0)
                return false;
        *ret = (int64_t)p->logs[0].log.block_number;
        return true;
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

/* The first position whose log is not before log. */
static size_t lower_bound(const lk_log_pool *p, const lk_evm_log *log) {
        size_t lo = 0, hi = p->count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (before(&p->logs[mid].log, log))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

void lk_log_pool_add(lk_log_pool *p, const lk_evm_log *log) {
        size_t at = lower_bound(p, log);
        /* logs of other branches may share the number and index: same_log tells them apart */
        for (size_t i = at; i < p->count && !before(log, &p->logs[i].log); i++) {
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

/* The canonical hash at a number, asked once per block: the logs come
 * sorted, so a block's logs follow each other. */
typedef struct canonical_cache {
        lk_canonical_fn fn;
        void *arg;
        int64_t number; /* -1: nothing asked yet */
        bool known;
        uint8_t hash[32];
} canonical_cache;

static bool cached_canonical(canonical_cache *c, int64_t number) {
        if (c->number != number) {
                c->number = number;
                c->known = c->fn(c->arg, number, c->hash);
        }
        return c->known;
}

size_t lk_log_pool_take_ready(lk_log_pool *p, int64_t tip_number, int64_t final_through, lk_canonical_fn canonical,
                              void *arg, uint32_t min_confirmations, lk_pooled_log **ret, size_t *ret_dropped) {
        lk_pooled_log *ready = NULL;
        size_t ready_count = 0, ready_cap = 0, dropped = 0, kept = 0;
        canonical_cache cache = {.fn = canonical, .arg = arg, .number = -1};
        for (size_t i = 0; i < p->count; i++) {
                lk_pooled_log *entry = &p->logs[i];
                const lk_evm_log *log = &entry->log;
                /* ahead of what the tracker has seen: it waits */
                bool wait = tip_number < 0 || (int64_t)log->block_number > tip_number;
                bool known = !wait && cached_canonical(&cache, (int64_t)log->block_number);
                bool final = !wait && !known && (int64_t)log->block_number <= final_through;
                if (known && memcmp(cache.hash, log->block_hash, 32) != 0) {
                        lk_free(entry->data); /* its block was reorganised away */
                        dropped++;
                        continue;
                }
                uint64_t confirmations = wait ? 0 : (uint64_t)(tip_number - (int64_t)log->block_number) + 1;
                if (!(known || final) || confirmations < (min_confirmations ? min_confirmations : 1)) {
                        p->logs[kept++] = *entry; /* not known canonical yet, or too young */
                        continue;
                }
                if (ready_count == ready_cap) {
                        ready_cap = ready_cap ? 2 * ready_cap : 16;
                        ready = lk_realloc(ready, ready_cap * sizeof *ready);
                }
                ready[ready_count++] = *entry;
        }
        p->count = kept;
        *ret = ready;
        if (ret_dropped)
                *ret_dropped = dropped;
        return ready_count;
}
