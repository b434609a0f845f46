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

#endif
