/* Accounting allocator (see include/linkd/alloc.h).
 *
 * Each block carries a 16-byte header holding the requested size, so that
 * lk_free can keep bytes_in_use exact without asking malloc.  The counters
 * are the process-wide state the brief allows: relaxed atomics, because
 * they are statistics and impose no ordering on the memory they count. */
#include "linkd/alloc.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef union header {
        size_t size;
        max_align_t align; /* keeps the user block maximally aligned */
} header;

static atomic_uint_least64_t bytes_in_use;
static atomic_uint_least64_t allocs_in_use;
static atomic_uint_least64_t total_allocs;

static _Noreturn void out_of_memory(size_t size) {
        fprintf(stderr, "linkd: out of memory allocating %zu bytes\n", size);
        abort();
}

static void account_alloc(size_t size) {
        atomic_fetch_add_explicit(&bytes_in_use, size, memory_order_relaxed);
        atomic_fetch_add_explicit(&allocs_in_use, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&total_allocs, 1, memory_order_relaxed);
}

static void account_free(size_t size) {
        atomic_fetch_sub_explicit(&bytes_in_use, size, memory_order_relaxed);
        atomic_fetch_sub_explicit(&allocs_in_use, 1, memory_order_relaxed);
}

void *lk_malloc(size_t size) {
        if (size > SIZE_MAX - sizeof(header))
                out_of_memory(size);
        header *h = malloc(sizeof(header) + size);
        if (!h)
                out_of_memory(size);
        h->size = size;
        account_alloc(size);
        return h + 1;
}

void *lk_calloc(size_t count, size_t size) {
        if (size && count > (SIZE_MAX - sizeof(header)) / size)
                out_of_memory(SIZE_MAX);
        void *p = lk_malloc(count * size);
        memset(p, 0, count * size);
        return p;
}

void *lk_realloc(void *ptr, size_t size) {
        if (!ptr)
                return lk_malloc(size);
        if (size > SIZE_MAX - sizeof(header))
                out_of_memory(size);
        header *old = (header *)ptr - 1;
        size_t old_size = old->size;
        header *h = realloc(old, sizeof(header) + size);
        if (!h)
                out_of_memory(size);
        h->size = size;
        if (size >= old_size)
                atomic_fetch_add_explicit(&bytes_in_use, size - old_size, memory_order_relaxed);
        else
                atomic_fetch_sub_explicit(&bytes_in_use, old_size - size, memory_order_relaxed);
        return h + 1;
}

void lk_free(void *ptr) {
        if (!ptr)
                return;
        header *h = (header *)ptr - 1;
        account_free(h->size);
        free(h);
}

char *lk_strndup(const char *s, size_t n) {
        size_t len = strnlen(s, n);
        char *copy = lk_malloc(len + 1);
        memcpy(copy, s, len);
        copy[len] = '\0';
        return copy;
}

char *lk_strdup(const char *s) {
        return lk_strndup(s, SIZE_MAX);
}

char *lk_vasprintf(const char *fmt, va_list ap) {
        va_list copy;
        va_copy(copy, ap);
        int n = vsnprintf(NULL, 0, fmt, copy);
        va_end(copy);
        if (n < 0)
                n = 0;
        char *s = lk_malloc((size_t)n + 1);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        return s;
}

char *lk_asprintf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = lk_vasprintf(fmt, ap);
        va_end(ap);
        return s;
}

void lk_alloc_stats_get(lk_alloc_stats *ret_stats) {
        ret_stats->bytes_in_use = atomic_load_explicit(&bytes_in_use, memory_order_relaxed);
        ret_stats->allocs_in_use = atomic_load_explicit(&allocs_in_use, memory_order_relaxed);
        ret_stats->total_allocs = atomic_load_explicit(&total_allocs, memory_order_relaxed);
}
