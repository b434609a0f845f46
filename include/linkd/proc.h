/* The process's own vitals from /proc/self, for /metrics and the Nurse. */
#ifndef LINKD_PROC_H
#define LINKD_PROC_H

#include <stdint.h>

#include "linkd/err.h"
#include "linkd/time.h"

typedef struct lk_proc_stats {
        uint64_t resident_bytes;
        uint64_t virtual_bytes;
        uint64_t threads;
        uint64_t open_fds;    /* only with LK_PROC_FDS */
        uint64_t max_fds;
        double cpu_seconds;   /* user + system */
        lk_usec start_time;   /* realtime */
} lk_proc_stats;

/* Counting open descriptors lists /proc/self/fd, which costs more than
 * everything else together: ask for it only where it is shown. */
enum { LK_PROC_FDS = 1 };

int lk_proc_stats_read(lk_proc_stats *ret_stats, unsigned flags, lk_err *err);

#endif
