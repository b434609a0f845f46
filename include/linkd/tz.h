/* Time zones from the system's zoneinfo (TZif, RFC 8536), with the
 * semantics of Go's time package: LoadLocation, Time.In and Date.
 *
 * Cron schedules (CRON_TZ=America/New_York ...) must compute wall-clock
 * fields in a named zone exactly as robfig/cron does on Go's time.Time,
 * including Go's particular way of resolving local times that fall into
 * a DST gap or overlap (see lk_tz_date).  An lk_tz is immutable after
 * loading and may be shared between threads. */
#ifndef LINKD_TZ_H
#define LINKD_TZ_H

#include <stdint.h>
#include <stddef.h>

#include "linkd/err.h"

typedef struct lk_tz lk_tz;

/* Loads a zone the way Go's time.LoadLocation does: "" and "UTC" are UTC,
 * "Local" is /etc/localtime, anything else /usr/share/zoneinfo/<name>.
 * Names containing "..", starting with '/', or with characters outside
 * [A-Za-z0-9_+-/] are refused ("time: invalid location name"); a missing
 * zone gives "unknown time zone <name>"; a damaged file an error naming
 * the file. */
int lk_tz_load(const char *name, lk_tz **ret_tz, lk_err *err);

/* Parses TZif data (version 1 to 4; the 64-bit block and the footer's
 * POSIX TZ string are used when present).  name is kept for lk_tz_name
 * and error messages.  Exposed for the fuzzer and the tests. */
int lk__tz_parse(const void *data, size_t len, const char *name, lk_tz **ret_tz, lk_err *err);

lk_tz *lk_tz_free(lk_tz *tz);

const char *lk_tz_name(const lk_tz *tz);

/* The UTC offset, in seconds east of UTC, in effect at unix_seconds. */
int64_t lk_tz_offset(const lk_tz *tz, int64_t unix_seconds);

/* Go's Location.lookup: the offset at t and the interval [start, end)
 * (as Go computes it) over which that offset holds.  Either of ret_start
 * and ret_end may be NULL. */
int64_t lk_tz_lookup(const lk_tz *tz, int64_t t, int64_t *ret_start, int64_t *ret_end);

/* Broken-down wall-clock time. */
typedef struct lk_civil {
        int64_t year;
        int month;   /* 1-12 */
        int day;     /* 1-31 */
        int hour, minute, second;
        int weekday; /* 0 = Sunday */
} lk_civil;

/* The wall-clock fields of unix_seconds in tz (Go's t.In(tz).Date/Clock). */
void lk_tz_civil(const lk_tz *tz, int64_t unix_seconds, lk_civil *ret);

/* Go's time.Date(year, month, day, hour, min, sec, 0, tz) as Unix
 * seconds: out-of-range fields are normalised (month 13 is January of
 * the next year, day 0 the last day of the previous month, ...).  A
 * local time that does not exist or exists twice is resolved exactly as
 * Go does it, which depends on the direction of the zone's offset from
 * UTC: in America/New_York 02:30 on the spring-forward day gives 01:30
 * EST and 01:30 on the fall-back day the first (EDT) instant, while in
 * Europe/Berlin 02:30 in the gap gives 03:30 CEST and 02:30 in the
 * overlap the second (CET) instant.  Fields must keep the result within
 * years -100000..100000. */
int64_t lk_tz_date(const lk_tz *tz, int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute,
                   int64_t second);

/* Days from 1970-01-01 to the given proleptic Gregorian date (month 1-12). */
int64_t lk_days_from_civil(int64_t year, int month, int day);

/* Parses an RFC 3339 timestamp ("2026-12-01T00:00:00Z",
 * "2026-12-01T01:00:00.5+01:00") into Unix seconds (the fraction is
 * returned in *ret_nsec when it is not NULL, else dropped).  Years
 * 0000-9999 as in Go's time.RFC3339. */
int lk_rfc3339_parse(const char *text, int64_t *ret_unix, int32_t *ret_nsec, lk_err *err);

#endif
