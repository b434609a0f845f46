/* See include/linkd/heads.h.  Heads live in an array, found by hash
 * through an open-addressing index (linear probing) that is rebuilt
 * whenever old heads are dropped; dropping waits until there are 64 more
 * than the depth keeps, so its cost spreads over many heads. */
#include "linkd/heads.h"

#include <string.h>

#include "linkd/alloc.h"

#define PRUNE_SLACK 64

struct lk_head_chain {
        size_t depth;
        lk_head *heads;
        size_t count, cap;
        size_t *index; /* slot → position + 1; 0 = empty */
        size_t index_cap;  /* a power of two, more than twice count */
        size_t tip;        /* position; valid when count > 0 */
        /* a former tip whose place in the tip's ancestry a gap hides: once
         * the gap fills, either it is there or a reorg happened */
        bool pending;
        int64_t pending_number;
        uint8_t pending_hash[32];
};

lk_head_chain *lk_head_chain_new(size_t history_depth) {
        lk_head_chain *c = lk_calloc(1, sizeof *c);
        c->depth = history_depth ? history_depth : 1;
        return c;
}

lk_head_chain *lk_head_chain_free(lk_head_chain *c) {
        if (!c)
                return NULL;
        lk_free(c->heads);
        lk_free(c->index);
        lk_free(c);
        return NULL;
}

/* ---- the index ---- */

static size_t slot_of(const uint8_t hash[static 32], size_t cap) {
        uint64_t h;
        memcpy(&h, hash, sizeof h); /* block hashes are uniformly random */
        return (size_t)h & (cap - 1);
}

static void index_put(lk_head_chain *c, size_t position) {
        size_t i = slot_of(c->heads[position].hash, c->index_cap);
        while (c->index[i])
                i = (i + 1) & (c->index_cap - 1);
        c->index[i] = position + 1;
}

static void reindex(lk_head_chain *c) {
        size_t cap = 16;
        while (cap < 2 * c->count + 2)
                cap *= 2;
        lk_free(c->index);
        c->index = lk_calloc(cap, sizeof *c->index);
        c->index_cap = cap;
        for (size_t k = 0; k < c->count; k++)
                index_put(c, k);
}

static const lk_head *find(const lk_head_chain *c, const uint8_t hash[static 32], size_t *ret_position) {
        if (!c->index_cap)
                return NULL;
        for (size_t i = slot_of(hash, c->index_cap); c->index[i]; i = (i + 1) & (c->index_cap - 1)) {
                const lk_head *h = &c->heads[c->index[i] - 1];
                if (memcmp(h->hash, hash, 32) == 0) {
                        if (ret_position)
                                *ret_position = c->index[i] - 1;
                        return h;
                }
        }
        return NULL;
}

const lk_head *lk_head_chain_find(const lk_head_chain *c, const uint8_t hash[static 32]) {
        return find(c, hash, NULL);
}

/* ---- the chain ---- */

static const lk_head *parent_of(const lk_head_chain *c, const lk_head *h) {
        return h->number > 0 ? find(c, h->parent_hash, NULL) : NULL;
}

const lk_head *lk_head_chain_tip(const lk_head_chain *c) {
        return c->count ? &c->heads[c->tip] : NULL;
}

size_t lk_head_chain_count(const lk_head_chain *c) {
        return c->count;
}

const lk_head *lk_head_chain_canonical(const lk_head_chain *c, int64_t number) {
        const lk_head *h = lk_head_chain_tip(c);
        while (h && h->number > number)
                h = parent_of(c, h);
        return h && h->number == number ? h : NULL;
}

/* Drops what is more than depth below the tip, once there is enough of it. */
static void prune(lk_head_chain *c) {
        if (c->count <= c->depth + PRUNE_SLACK)
                return;
        int64_t lowest = c->heads[c->tip].number - (int64_t)c->depth + 1;
        uint8_t tip_hash[32];
        memcpy(tip_hash, c->heads[c->tip].hash, 32);
        size_t kept = 0;
        for (size_t k = 0; k < c->count; k++)
                if (c->heads[k].number >= lowest)
                        c->heads[kept++] = c->heads[k];
        c->count = kept;
        reindex(c);
        find(c, tip_hash, &c->tip);
}

/* Below the new tip: the nearest canonical ancestor not known, as a range
 * of numbers down to the next known head (or the depth's end). */
static void find_gap(const lk_head_chain *c, lk_head_update *u) {
        const lk_head *h = lk_head_chain_tip(c);
        int64_t lowest = h->number - (int64_t)c->depth + 1;
        if (lowest < 0)
                lowest = 0;
        while (h->number > lowest) {
                const lk_head *parent = parent_of(c, h);
                if (!parent) {
                        u->missing_to = h->number - 1;
                        u->missing_from = lowest;
                        /* down to the highest known head below the gap */
                        for (size_t k = 0; k < c->count; k++) {
                                int64_t n = c->heads[k].number;
                                if (n < u->missing_to && n + 1 > u->missing_from)
                                        u->missing_from = n + 1;
                        }
                        return;
                }
                h = parent;
        }
}

/* The lowest number at which the chains of a and b differ (the number
 * above their common ancestor); -1 while a gap hides that ancestor. */
static int64_t fork_point(const lk_head_chain *c, const lk_head *a, const lk_head *b) {
        while (a && b && memcmp(a->hash, b->hash, 32) != 0) {
                if (a->number >= b->number)
                        a = parent_of(c, a);
                else
                        b = parent_of(c, b);
        }
        return a && b ? a->number + 1 : -1;
}

/* Whether the former tip still lies on the tip's chain: 1 yes, 0 no (a
 * reorg: *ret_fork set), -1 not known yet (a gap hides the answer or the
 * fork's depth). */
static int former_tip_kept(const lk_head_chain *c, int64_t number, const uint8_t hash[static 32], int64_t *ret_fork) {
        const lk_head *at = lk_head_chain_canonical(c, number);
        if (!at)
                return -1;
        if (memcmp(at->hash, hash, 32) == 0)
                return 1;
        const lk_head *former = find(c, hash, NULL);
        int64_t fork = former ? fork_point(c, &c->heads[c->tip], former) : -1;
        if (fork < 0)
                return -1; /* a reorg, but how deep only the missing blocks can tell */
        *ret_fork = fork;
        return 0;
}

void lk_head_chain_add(lk_head_chain *c, const lk_head *head, lk_head_update *ret) {
        lk_head_update u = {.outcome = LK_HEAD_IGNORED};
        const lk_head *old_tip = lk_head_chain_tip(c);
        if (find(c, head->hash, NULL) ||
            (old_tip && head->number <= old_tip->number - (int64_t)c->depth)) {
                if (old_tip) /* the gap is still told: a head seen again goes on filling it */
                        find_gap(c, &u);
                *ret = u;
                return;
        }
        bool had_tip = old_tip != NULL;
        int64_t old_number = had_tip ? old_tip->number : 0;
        uint8_t old_hash[32];
        if (had_tip)
                memcpy(old_hash, old_tip->hash, 32);
        if (c->count == c->cap) { /* old_tip dangles from here on */
                c->cap = c->cap ? 2 * c->cap : 64;
                c->heads = lk_realloc(c->heads, c->cap * sizeof *c->heads);
        }
        size_t position = c->count++;
        c->heads[position] = *head;
        if (2 * c->count + 2 > c->index_cap)
                reindex(c);
        else
                index_put(c, position);
        if (had_tip && head->number <= old_number) {
                u.outcome = LK_HEAD_KEPT;
        } else {
                c->tip = position;
                u.outcome = LK_HEAD_EXTENDED;
                if (had_tip && !c->pending) {
                        c->pending = true;
                        c->pending_number = old_number;
                        memcpy(c->pending_hash, old_hash, 32);
                }
        }
        if (c->pending) {
                int64_t fork = 0;
                int kept = former_tip_kept(c, c->pending_number, c->pending_hash, &fork);
                if (kept >= 0)
                        c->pending = false;
                if (kept == 0) {
                        u.outcome = LK_HEAD_REORG;
                        u.fork_point = fork;
                }
        }
        find_gap(c, &u);
        prune(c);
        if (c->pending && c->pending_number <= c->heads[c->tip].number - (int64_t)c->depth)
                c->pending = false; /* below what is kept: it can no longer be told */
        *ret = u;
}
