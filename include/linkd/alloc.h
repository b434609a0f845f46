/* Allocation with accounting.
 *
 * Every allocation linkd makes itself goes through these functions, so the
 * process knows how much heap it holds (the Nurse compares it against
 * [AutoPprof] MemThreshold, and /metrics exports it).  They never return
 * NULL: on exhaustion they print one line to stderr and abort.  Handling
 * ENOMEM in every caller buys nothing on Linux with overcommit and would be
 * the least tested code in the tree; the crash-safety guarantees (nothing
 * acknowledged is lost) cover an abort like any other crash.
 *
 * Memory from these functions must be released with lk_free, never free(3),
 * and vice versa. */
#ifndef LINKD_ALLOC_H
#define LINKD_ALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "linkd/err.h"

void *lk_malloc(size_t size);
void *lk_calloc(size_t count, size_t size);
void *lk_realloc(void *ptr, size_t size);
void lk_free(void *ptr);

char *lk_strdup(const char *s);
char *lk_strndup(const char *s, size_t n);
char *lk_asprintf(const char *fmt, ...) LK_PRINTF(1, 2);
char *lk_vasprintf(const char *fmt, va_list ap) LK_PRINTF(1, 0);

/* Frees *ptr and sets it to NULL. */
#define lk_freep(ptr) do { lk_free(*(ptr)); *(ptr) = NULL; } while (0)

typedef struct lk_alloc_stats {
        uint64_t bytes_in_use;   /* requested bytes currently allocated */
        uint64_t allocs_in_use;  /* live allocations */
        uint64_t total_allocs;   /* allocations since start */
} lk_alloc_stats;

void lk_alloc_stats_get(lk_alloc_stats *ret_stats);

/* Allocation sampling, for the heap profiler.  When a sampler is set, on
 * average one allocation per `rate` bytes is reported to on_alloc (a rate
 * of 1 reports every allocation), which returns a non-zero tag kept with
 * the block; freeing a tagged block reports the tag to on_free.  The
 * sampler must be callable from any thread and must not allocate through
 * lk_malloc.  Setting a new sampler (or NULL) stops the old one's calls
 * from starting; it must stay valid for the life of the process, since
 * blocks it tagged may be freed at any time. */
typedef struct lk_alloc_sampler {
        /* caller: the return address into the code that called lk_malloc
         * (or lk_strdup, ...), so the profiler can drop the allocator's
         * own frames from the stack it records. */
        uint32_t (*on_alloc)(void *arg, size_t size, const void *caller);
        void (*on_free)(void *arg, uint32_t tag, size_t size);
        void *arg;
        uint64_t rate;
} lk_alloc_sampler;

void lk_alloc_set_sampler(const lk_alloc_sampler *sampler);

#endif
