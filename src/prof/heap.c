/* The heap profiler (see heap.h).
 *
 * Buckets (one per distinct call stack) live for the whole process: a
 * sampled block may be freed long after profiling stopped, and its tag
 * (bucket index + 1) must still lead somewhere.  They are allocated with
 * malloc(3), not lk_malloc, so that recording a sample never samples.
 * This table and the sampler are the allocator-accounting global state the
 * brief allows. */
#include "heap.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "linkd/alloc.h"
#include "stack.h"

#define HEAP_DEPTH 32
#define PAGE_BUCKETS 256
#define MAX_PAGES 256 /* 65536 distinct stacks */
#define INDEX_SLOTS (2 * PAGE_BUCKETS * MAX_PAGES)

typedef struct bucket {
        uint64_t hash;
        uint32_t depth;
        uintptr_t pcs[HEAP_DEPTH];
        atomic_uint_least64_t alloc_count, alloc_bytes, free_count, free_bytes;
} bucket;

static struct {
        pthread_mutex_t lock;
        bucket *pages[MAX_PAGES];
        _Atomic uint32_t count;
        uint32_t *index;          /* open addressing: bucket index + 1; 0 = free */
        atomic_uint_least64_t rate;
        atomic_uint_least64_t overflow; /* samples lost to a full table */
} heap = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bucket *bucket_at(uint32_t i) {
        return &heap.pages[i / PAGE_BUCKETS][i % PAGE_BUCKETS];
}

static uint64_t hash_stack(const uintptr_t *pcs, size_t depth) {
        uint64_t h = 1469598103934665603u;
        for (size_t i = 0; i < depth; i++) {
                h ^= (uint64_t)pcs[i];
                h *= 1099511628211u;
        }
        return h ? h : 1;
}

/* Caller holds heap.lock.  Returns the bucket index + 1, or 0 if full. */
static uint32_t find_or_add(const uintptr_t *pcs, size_t depth, uint64_t h) {
        if (!heap.index && !(heap.index = calloc(INDEX_SLOTS, sizeof *heap.index)))
                return 0;
        for (size_t probe = 0; probe < INDEX_SLOTS; probe++) {
                size_t slot = (h + probe) % INDEX_SLOTS;
                uint32_t tag = heap.index[slot];
                if (!tag) {
                        uint32_t i = atomic_load(&heap.count);
                        if (i == PAGE_BUCKETS * MAX_PAGES)
                                return 0;
                        if (!heap.pages[i / PAGE_BUCKETS] &&
                            !(heap.pages[i / PAGE_BUCKETS] = calloc(PAGE_BUCKETS, sizeof(bucket))))
                                return 0;
                        bucket *b = bucket_at(i);
                        b->hash = h;
                        b->depth = (uint32_t)depth;
                        memcpy(b->pcs, pcs, depth * sizeof *pcs);
                        atomic_store(&heap.count, i + 1); /* publishes the bucket to snapshots */
                        heap.index[slot] = i + 1;
                        return i + 1;
                }
                bucket *b = bucket_at(tag - 1);
                if (b->hash == h && b->depth == depth && memcmp(b->pcs, pcs, depth * sizeof *pcs) == 0)
                        return tag;
        }
        return 0;
}

/* Drops the allocator's own frames: everything up to the return address
 * into the code that called it. */
static size_t trim_to_caller(uintptr_t *pcs, size_t depth, const void *caller) {
        for (size_t i = 0; i < depth; i++) {
                if (pcs[i] == (uintptr_t)caller) {
                        memmove(pcs, pcs + i, (depth - i) * sizeof *pcs);
                        return depth - i;
                }
        }
        return depth;
}

static uint32_t on_alloc(void *arg, size_t size, const void *caller) {
        uintptr_t pcs[LK_STACK_MAX];
        size_t depth = lk__stack_here(pcs, LK_STACK_MAX);
        depth = trim_to_caller(pcs, depth, caller);
        if (depth == 0) {
                pcs[0] = (uintptr_t)caller;
                depth = 1;
        }
        if (depth > HEAP_DEPTH)
                depth = HEAP_DEPTH;
        uint64_t h = hash_stack(pcs, depth);
        pthread_mutex_lock(&heap.lock);
        uint32_t tag = find_or_add(pcs, depth, h);
        pthread_mutex_unlock(&heap.lock);
        if (!tag) {
                atomic_fetch_add(&heap.overflow, 1);
                return 0;
        }
        bucket *b = bucket_at(tag - 1);
        atomic_fetch_add_explicit(&b->alloc_count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->alloc_bytes, size, memory_order_relaxed);
        return tag;
}

static void on_free(void *arg, uint32_t tag, size_t size) {
        if (tag == 0 || tag > atomic_load(&heap.count))
                return;
        bucket *b = bucket_at(tag - 1);
        atomic_fetch_add_explicit(&b->free_count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->free_bytes, size, memory_order_relaxed);
}

void lk__heap_profile_set_rate(uint64_t rate) {
        static lk_alloc_sampler sampler = {.on_alloc = on_alloc, .on_free = on_free};
        atomic_store(&heap.rate, rate);
        sampler.rate = rate;
        lk_alloc_set_sampler(rate ? &sampler : NULL);
}

typedef struct counters {
        uint64_t alloc_count, alloc_bytes, free_count, free_bytes;
} counters;

struct lk_heap_snapshot {
        uint32_t count;
        counters *buckets;
        uint64_t rate;
};

lk_heap_snapshot *lk__heap_snapshot(void) {
        lk_heap_snapshot *s = lk_calloc(1, sizeof *s);
        s->count = atomic_load(&heap.count);
        s->rate = atomic_load(&heap.rate);
        s->buckets = lk_calloc(s->count ? s->count : 1, sizeof *s->buckets);
        for (uint32_t i = 0; i < s->count; i++) {
                bucket *b = bucket_at(i);
                s->buckets[i] = (counters){
                        atomic_load_explicit(&b->alloc_count, memory_order_relaxed),
                        atomic_load_explicit(&b->alloc_bytes, memory_order_relaxed),
                        atomic_load_explicit(&b->free_count, memory_order_relaxed),
                        atomic_load_explicit(&b->free_bytes, memory_order_relaxed),
                };
        }
        return s;
}

lk_heap_snapshot *lk__heap_snapshot_free(lk_heap_snapshot *snapshot) {
        if (snapshot) {
                lk_free(snapshot->buckets);
                lk_free(snapshot);
        }
        return NULL;
}

/* Sampled counts to estimates: an allocation of average size s is
 * sampled with probability 1 - exp(-s/rate), as in Go's heap profiles. */
static double scale(uint64_t count, uint64_t bytes, uint64_t rate) {
        if (rate <= 1 || count == 0)
                return 1.0;
        double average = (double)bytes / (double)count;
        return 1.0 / (1.0 - exp(-average / (double)rate));
}

lk_pprof *lk__heap_profile_delta(const lk_heap_snapshot *earlier, const lk_heap_snapshot *later) {
        static const lk_pprof_value_type types[] = {
                {"alloc_objects", "count"}, {"alloc_space", "bytes"},
                {"inuse_objects", "count"}, {"inuse_space", "bytes"},
        };
        lk_pprof *profile = lk__pprof_new(types, 4, (lk_pprof_value_type){"space", "bytes"},
                                          (int64_t)later->rate);
        for (uint32_t i = 0; i < later->count; i++) {
                counters now = later->buckets[i];
                counters before = i < earlier->count ? earlier->buckets[i] : (counters){0};
                int64_t alloc_count = (int64_t)(now.alloc_count - before.alloc_count);
                int64_t alloc_bytes = (int64_t)(now.alloc_bytes - before.alloc_bytes);
                int64_t free_count = (int64_t)(now.free_count - before.free_count);
                int64_t free_bytes = (int64_t)(now.free_bytes - before.free_bytes);
                if (!alloc_count && !free_count)
                        continue;
                double f = scale(now.alloc_count, now.alloc_bytes, later->rate);
                int64_t values[4] = {
                        llround(alloc_count * f), llround(alloc_bytes * f),
                        llround((alloc_count - free_count) * f), llround((alloc_bytes - free_bytes) * f),
                };
                const bucket *b = bucket_at(i);
                lk__pprof_add(profile, b->pcs, b->depth, values, NULL, NULL, NULL, 0);
        }
        return profile;
}
