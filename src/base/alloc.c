/* Accounting allocator (see include/linkd/alloc.h).
 *
 * Each block carries a 16-byte header holding the requested size (so
 * lk_free can keep bytes_in_use exact without asking malloc) and the
 * heap profiler's tag for sampled blocks.  The counters and the sampler
 * pointer are the process-wide state the brief allows: relaxed atomics for
 * the statistics, which impose no ordering on the memory they count. */
#include "linkd/alloc.h"

#include <math.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct header {
        alignas(max_align_t) size_t size;
        uint32_t tag; /* the sampler's tag; 0 = not sampled */
        uint32_t unused;
} header;

_Static_assert(sizeof(header) % alignof(max_align_t) == 0, "user blocks must stay aligned");

static atomic_uint_least64_t bytes_in_use;
static atomic_uint_least64_t allocs_in_use;
static atomic_uint_least64_t total_allocs;
static _Atomic(const lk_alloc_sampler *) sampler;

/* Bytes this thread may still allocate before the next sample. */
static _Thread_local int64_t bytes_until_sample;

static _Noreturn void out_of_memory(size_t size) {
        fprintf(stderr, "linkd: out of memory allocating %zu bytes\n", size);
        abort();
}

/* The distance to the next sample is exponentially distributed with mean
 * rate, as in tcmalloc and Go, so that every byte is equally likely to be
 * sampled whatever the allocation sizes are. */
static int64_t next_sample_distance(uint64_t rate) {
        static _Thread_local unsigned int seed;
        if (rate <= 1)
                return 0;
        if (!seed)
                seed = (unsigned int)(uintptr_t)&seed ^ 0x9e3779b9u;
        double u = (rand_r(&seed) + 1.0) / ((double)RAND_MAX + 2.0);
        return (int64_t)(-log(u) * (double)rate);
}

static uint32_t maybe_sample(size_t size, const void *caller) {
        const lk_alloc_sampler *s = atomic_load_explicit(&sampler, memory_order_acquire);
        if (!s || !s->rate)
                return 0;
        bytes_until_sample -= (int64_t)size;
        if (bytes_until_sample >= 0)
                return 0;
        bytes_until_sample = next_sample_distance(s->rate);
        return s->on_alloc(s->arg, size, caller);
}

static void account_alloc(size_t size) {
        atomic_fetch_add_explicit(&bytes_in_use, size, memory_order_relaxed);
        atomic_fetch_add_explicit(&allocs_in_use, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&total_allocs, 1, memory_order_relaxed);
}

static void account_free(const header *h) {
        atomic_fetch_sub_explicit(&bytes_in_use, h->size, memory_order_relaxed);
        atomic_fetch_sub_explicit(&allocs_in_use, 1, memory_order_relaxed);
        if (h->tag) {
                const lk_alloc_sampler *s = atomic_load_explicit(&sampler, memory_order_acquire);
                if (s)
                        s->on_free(s->arg, h->tag, h->size);
        }
}

/* Every public entry point passes its own return address down, so that a
 * sample names the code that asked for memory, not the allocator. */
#define CALLER __builtin_return_address(0)

static void *alloc_block(size_t size, const void *caller) {
        if (size > SIZE_MAX - sizeof(header))
                out_of_memory(size);
        header *h = malloc(sizeof(header) + size);
        if (!h)
                out_of_memory(size);
        h->size = size;
        h->tag = maybe_sample(size, caller);
        account_alloc(size);
        return h + 1;
}

void *lk_malloc(size_t size) {
        return alloc_block(size, CALLER);
}

void *lk_calloc(size_t count, size_t size) {
        if (size && count > (SIZE_MAX - sizeof(header)) / size)
                out_of_memory(SIZE_MAX);
        void *p = alloc_block(count * size, CALLER);
        memset(p, 0, count * size);
        return p;
}

/* A resized block is accounted as a free of the old and an allocation of
 * the new, which keeps the heap profiler's books right. */
void *lk_realloc(void *ptr, size_t size) {
        if (!ptr)
                return alloc_block(size, CALLER);
        if (size > SIZE_MAX - sizeof(header))
                out_of_memory(size);
        header *old = (header *)ptr - 1;
        account_free(old);
        header *h = realloc(old, sizeof(header) + size);
        if (!h)
                out_of_memory(size);
        h->size = size;
        h->tag = maybe_sample(size, CALLER);
        account_alloc(size);
        atomic_fetch_sub_explicit(&total_allocs, 1, memory_order_relaxed);
        return h + 1;
}

void lk_free(void *ptr) {
        if (!ptr)
                return;
        header *h = (header *)ptr - 1;
        account_free(h);
        free(h);
}

static char *strndup_at(const char *s, size_t n, const void *caller) {
        size_t len = strnlen(s, n);
        char *copy = alloc_block(len + 1, caller);
        memcpy(copy, s, len);
        copy[len] = '\0';
        return copy;
}

char *lk_strndup(const char *s, size_t n) {
        return strndup_at(s, n, CALLER);
}

char *lk_strdup(const char *s) {
        return strndup_at(s, SIZE_MAX, CALLER);
}

LK_PRINTF(1, 0)
static char *vasprintf_at(const char *fmt, va_list ap, const void *caller) {
        va_list copy;
        va_copy(copy, ap);
        int n = vsnprintf(NULL, 0, fmt, copy);
        va_end(copy);
        if (n < 0)
                n = 0;
        char *s = alloc_block((size_t)n + 1, caller);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        return s;
}

char *lk_vasprintf(const char *fmt, va_list ap) {
        return vasprintf_at(fmt, ap, CALLER);
}

char *lk_asprintf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = vasprintf_at(fmt, ap, CALLER);
        va_end(ap);
        return s;
}

void lk_alloc_stats_get(lk_alloc_stats *ret_stats) {
        ret_stats->bytes_in_use = atomic_load_explicit(&bytes_in_use, memory_order_relaxed);
        ret_stats->allocs_in_use = atomic_load_explicit(&allocs_in_use, memory_order_relaxed);
        ret_stats->total_allocs = atomic_load_explicit(&total_allocs, memory_order_relaxed);
}

void lk_alloc_set_sampler(const lk_alloc_sampler *new_sampler) {
        atomic_store_explicit(&sampler, new_sampler, memory_order_release);
}
