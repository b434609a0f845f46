/* Time: one unit everywhere, microseconds in int64 (lk_usec), as systemd
 * does with usec_t. */
#ifndef LINKD_TIME_H
#define LINKD_TIME_H

#include <stdint.h>
#include <time.h>

#include "linkd/buf.h"
#include "linkd/err.h"

typedef int64_t lk_usec;

#define LK_USEC_PER_MSEC INT64_C(1000)
#define LK_USEC_PER_SEC INT64_C(1000000)
#define LK_USEC_INFINITY INT64_MAX

lk_usec lk_now_monotonic(void);
lk_usec lk_now_realtime(void);

/* The absolute CLOCK_MONOTONIC timespec `after` from now, for
 * pthread_cond_timedwait on a condition variable created with
 * CLOCK_MONOTONIC (see lk_cond_init_monotonic). */
struct timespec lk_deadline_after(lk_usec after);

/* Parses a Go time.Duration string as Chainlink's config uses them:
 * "10s", "1m30s", "100ms", "1.5h", "0", with units ns us µs ms s m h.
 * Negative durations are rejected.  Sub-microsecond parts are truncated. */
int lk_duration_parse(const char *text, lk_usec *ret_usec, lk_err *err);

/* Formats like Go's Duration.String(): "5s", "1m30s", "100ms", "1h0m0s". */
void lk_duration_format(lk_buf *out, lk_usec usec);

/* Formats a realtime instant as RFC 3339 UTC with microseconds:
 * 2026-11-24T20:03:35.123456Z.  buf must hold 28 bytes. */
void lk_time_format_rfc3339(char buf[static 28], lk_usec realtime);

#endif
