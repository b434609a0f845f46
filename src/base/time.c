/* Clocks, Go-compatible durations and RFC 3339 timestamps. */
#include "linkd/time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static lk_usec clock_usec(clockid_t id) {
        struct timespec ts;
        clock_gettime(id, &ts);
        return (lk_usec)ts.tv_sec * LK_USEC_PER_SEC + ts.tv_nsec / 1000;
}

lk_usec lk_now_monotonic(void) {
        return clock_usec(CLOCK_MONOTONIC);
}

lk_usec lk_now_realtime(void) {
        return clock_usec(CLOCK_REALTIME);
}

struct timespec lk_deadline_after(lk_usec after) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if (after < 0)
                after = 0;
        /* Saturate instead of overflowing time_t for "forever". */
        if (after > INT64_C(100) * 365 * 86400 * LK_USEC_PER_SEC)
                after = INT64_C(100) * 365 * 86400 * LK_USEC_PER_SEC;
        ts.tv_sec += (time_t)(after / LK_USEC_PER_SEC);
        ts.tv_nsec += (long)(after % LK_USEC_PER_SEC) * 1000;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        return ts;
}

/* Unit multipliers in nanoseconds, longest spelling first where prefixes
 * overlap ("ms" before "m"). */
static const struct {
        const char *name;
        uint64_t nanos;
} duration_units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", UINT64_C(60) * 1000000000},
        {"h", UINT64_C(3600) * 1000000000},
};

static int match_unit(const char *s, uint64_t *ret_nanos, size_t *ret_len) {
        size_t best = 0;
        for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
                size_t n = strlen(duration_units[i].name);
                if (n > best && strncmp(s, duration_units[i].name, n) == 0) {
                        best = n;
                        *ret_nanos = duration_units[i].nanos;
                }
        }
        *ret_len = best;
        return best ? 0 : -EINVAL;
}

/* Parses digits [. digits] at *p; returns false when there are none. */
static bool parse_number(const char **p, uint64_t *whole, uint64_t *frac, uint64_t *scale, bool *overflow) {
        const char *s = *p;
        bool any = false;
        *whole = 0;
        *frac = 0;
        *scale = 1;
        for (; *s >= '0' && *s <= '9'; s++, any = true) {
                if (*whole > (UINT64_MAX - 9) / 10)
                        *overflow = true;
                else
                        *whole = *whole * 10 + (uint64_t)(*s - '0');
        }
        if (*s == '.') {
                s++;
                for (; *s >= '0' && *s <= '9'; s++, any = true) {
                        if (*scale <= UINT64_MAX / 100) { /* extra digits cannot matter */
                                *frac = *frac * 10 + (uint64_t)(*s - '0');
                                *scale *= 10;
                        }
                }
        }
        *p = s;
        return any;
}

int lk_duration_parse(const char *text, lk_usec *ret_usec, lk_err *err) {
        const char *s = text;
        if (*s == '+')
                s++;
        else if (*s == '-')
                return lk_err_set(err, -EINVAL, "invalid duration \"%s\": must not be negative", text);
        if (strcmp(s, "0") == 0) {
                *ret_usec = 0;
                return 0;
        }
        if (*s == '\0')
                return lk_err_set(err, -EINVAL, "invalid duration \"%s\"", text);
        uint64_t total_nanos = 0;
        const uint64_t limit = (uint64_t)INT64_MAX;
        while (*s) {
                uint64_t whole, frac, scale, unit;
                bool overflow = false;
                size_t unit_len;
                if (!parse_number(&s, &whole, &frac, &scale, &overflow))
                        return lk_err_set(err, -EINVAL, "invalid duration \"%s\"", text);
                if (match_unit(s, &unit, &unit_len) < 0)
                        return lk_err_set(err, -EINVAL, *s ? "unknown unit \"%.*s\" in duration \"%s\""
                                                           : "missing unit in duration \"%.*s%s\"",
                                          (int)strcspn(s, "0123456789."), s, text);
                s += unit_len;
                if (overflow || whole > limit / unit)
                        return lk_err_set(err, -ERANGE, "invalid duration \"%s\": too large", text);
                uint64_t part = whole * unit + (uint64_t)((long double)frac * unit / scale);
                if (part > limit - total_nanos)
                        return lk_err_set(err, -ERANGE, "invalid duration \"%s\": too large", text);
                total_nanos += part;
        }
        *ret_usec = (lk_usec)(total_nanos / 1000);
        return 0;
}

/* Appends value/10^digits with trailing zeros of the fraction dropped. */
static void put_fixed(lk_buf *out, uint64_t value, int digits) {
        uint64_t div = 1;
        for (int i = 0; i < digits; i++)
                div *= 10;
        lk_buf_printf(out, "%" PRIu64, value / div);
        uint64_t frac = value % div;
        if (!frac)
                return;
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%0*" PRIu64, digits, frac);
        size_t n = strlen(tmp);
        while (n > 0 && tmp[n - 1] == '0')
                n--;
        lk_buf_putc(out, '.');
        lk_buf_append(out, tmp, n);
}

void lk_duration_format(lk_buf *out, lk_usec usec) {
        if (usec < 0) {
                lk_buf_putc(out, '-');
                usec = -usec;
        }
        uint64_t u = (uint64_t)usec;
        if (u == 0) {
                lk_buf_puts(out, "0s");
        } else if (u < 1000) {
                lk_buf_printf(out, "%" PRIu64 "\xc2\xb5s", u);
        } else if (u < 1000000) {
                put_fixed(out, u, 3);
                lk_buf_puts(out, "ms");
        } else {
                uint64_t hours = u / (UINT64_C(3600) * 1000000);
                uint64_t minutes = u / (UINT64_C(60) * 1000000) % 60;
                uint64_t secs_usec = u % (UINT64_C(60) * 1000000);
                if (hours)
                        lk_buf_printf(out, "%" PRIu64 "h", hours);
                if (hours || minutes)
                        lk_buf_printf(out, "%" PRIu64 "m", minutes);
                put_fixed(out, secs_usec, 6);
                lk_buf_putc(out, 's');
        }
}

void lk_time_format_rfc3339(char buf[static 28], lk_usec realtime) {
        time_t secs = (time_t)(realtime / LK_USEC_PER_SEC);
        struct tm tm;
        gmtime_r(&secs, &tm);
        size_t n = strftime(buf, 28, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, 28 - n, ".%06dZ", (int)(realtime % LK_USEC_PER_SEC));
}
