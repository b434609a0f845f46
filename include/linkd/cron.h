/* Cron schedules of cron jobs, with Chainlink v1.13's validation and
 * robfig/cron v3.0.1's parser and Next algorithm.
 *
 * Accepted (anything else is refused with Chainlink's message):
 *   CRON_TZ=<Zone> <5 or 6 fields>   5 fields: the seconds are 0
 *   CRON_TZ=<Zone> @yearly|@annually|@monthly|@weekly|@daily|@midnight|@hourly
 *   @every <Go duration>              from the time it is asked; no zone
 *   @at <RFC 3339 time>               linkd's extension: once, at that second
 * Fields: sec min hour dom month dow; a, a-b, a-b/n, a/n (= a-max/n), *,
 * ?, lists with ','; month and weekday names (jan, MON) in any case; Sunday
 * is 0 (7 is refused).  If dom or dow was written with * or ?, both must
 * match; otherwise either does.
 *
 * Error messages are Chainlink's: "invalid cron schedule '<s>': <robfig's
 * error>".  An lk_cron is immutable and may be shared between threads. */
#ifndef LINKD_CRON_H
#define LINKD_CRON_H

#include <stdint.h>

#include "linkd/err.h"

typedef struct lk_cron lk_cron;

/* What lk_cron_next returns when the schedule never fires again. */
#define LK_CRON_NONE INT64_MIN

/* lk_cron_next answers for instants in years 1 to 9990; outside, none. */
#define LK_CRON_MIN_TIME INT64_C(-62135596800)
#define LK_CRON_MAX_TIME INT64_C(253086768000)

int lk_cron_parse(const char *text, lk_cron **ret_cron, lk_err *err);

lk_cron *lk_cron_free(lk_cron *cron);

/* The first fire time strictly after `after` (Unix seconds), or
 * LK_CRON_NONE.  Field schedules follow robfig's SpecSchedule.Next in
 * the schedule's zone and give up after five years; @every is
 * after + the interval (robfig's ConstantDelaySchedule); @at is its
 * instant if that is later than after. */
int64_t lk_cron_next(const lk_cron *cron, int64_t after);

#endif
