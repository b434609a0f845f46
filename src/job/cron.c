/* Cron schedules: Chainlink's ValidateCronSchedule in front of a port of
 * robfig/cron v3.0.1 (parser.go, spec.go, constantdelay.go) and of the
 * parts of Go's time.ParseDuration and strconv.Atoi whose error texts
 * show through robfig's.
 *
 * Where Go would panic we return an error instead: robfig slices
 * spec[eq+1:i] with i = -1 when "CRON_TZ=Zone" has no space after it. */
#include "linkd/cron.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/tz.h"

#define STAR_BIT (UINT64_C(1) << 63)
#define NSEC_PER_SEC INT64_C(1000000000)
/* Each pass of robfig's loop is bounded, and five years bound the
 * passes; this is only a guard against a zone whose rules could make
 * the DST corrections step back and forth forever. */
#define MAX_STEPS 5000000

typedef enum cron_kind { CRON_SPEC, CRON_EVERY, CRON_AT } cron_kind;

struct lk_cron {
        cron_kind kind;
        uint64_t second, minute, hour, dom, month, dow;
        lk_tz *tz;
        int64_t every; /* seconds */
        int64_t at;
};

typedef struct bounds {
        unsigned min, max;
        const char *const *names; /* names[i] is the value min + i */
} bounds;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const bounds b_seconds = {0, 59, NULL}, b_minutes = {0, 59, NULL}, b_hours = {0, 23, NULL},
                    b_dom = {1, 31, NULL}, b_months = {1, 12, month_names}, b_dow = {0, 6, dow_names};

/* ---- Go text helpers ---- */

static bool go_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* strconv.Quote, for the ASCII range; other bytes are copied. */
static void go_quote(lk_buf *b, const char *s, size_t n) {
        lk_buf_putc(b, '"');
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                const char *esc = strchr("\a\b\f\n\r\t\v", c);
                if (c == '"' || c == '\\')
                        lk_buf_printf(b, "\\%c", c);
                else if (c != 0 && esc)
                        lk_buf_printf(b, "\\%c", "abfnrtv"[esc - "\a\b\f\n\r\t\v"]);
                else if (c < 0x20 || c == 0x7f)
                        lk_buf_printf(b, "\\x%02x", c);
                else
                        lk_buf_putc(b, (char)c);
        }
        lk_buf_putc(b, '"');
}

/* Sets err to before, a quoted, after. */
static int fail(lk_err *err, const char *before, const char *a, size_t a_len, const char *after) {
        lk_buf q = LK_BUF_INIT;
        go_quote(&q, a, a_len);
        int k = lk_err_set(err, -EINVAL, "%s%s%s", before, lk_buf_str(&q), after);
        lk_buf_done(&q);
        return k;
}

/* ---- strconv.Atoi ---- */

static int go_atoi(const char *s, size_t n, int64_t *ret, lk_err *err) {
        size_t i = 0;
        bool neg = false;
        if (n > 0 && (s[0] == '+' || s[0] == '-')) {
                neg = s[0] == '-';
                i = 1;
        }
        if (i == n)
                return fail(err, "strconv.Atoi: parsing ", s, n, ": invalid syntax");
        uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return fail(err, "strconv.Atoi: parsing ", s, n, ": invalid syntax");
                /* ParseUint stops at the first digit that overflows. */
                if (v > (limit - (uint64_t)(s[i] - '0')) / 10)
                        return fail(err, "strconv.Atoi: parsing ", s, n, ": value out of range");
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
}

/* ---- time.ParseDuration ---- */

typedef struct duration_unit {
        const char *name;
        uint64_t nsec;
} duration_unit;

static const duration_unit units[] = {
        {"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000}, {"m", UINT64_C(60000000000)}, {"h", UINT64_C(3600000000000)},
};

static bool lookup_unit(const char *s, size_t n, uint64_t *ret) {
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
                if (strlen(units[i].name) == n && memcmp(units[i].name, s, n) == 0) {
                        *ret = units[i].nsec;
                        return true;
                }
        return false;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool leading_int(const char **s, uint64_t *x) {
        *x = 0;
        for (; is_digit(**s); (*s)++) {
                if (*x > (UINT64_C(1) << 63) / 10)
                        return false;
                *x = *x * 10 + (uint64_t)(**s - '0');
                if (*x > UINT64_C(1) << 63)
                        return false;
        }
        return true;
}

static void leading_fraction(const char **s, uint64_t *x, double *scale) {
        bool overflow = false;
        *x = 0;
        *scale = 1;
        for (; is_digit(**s); (*s)++) {
                if (overflow)
                        continue;
                if (*x > (UINT64_C(1) << 63) / 10) {
                        overflow = true;
                        continue;
                }
                uint64_t y = *x * 10 + (uint64_t)(**s - '0');
                if (y > UINT64_C(1) << 63) {
                        overflow = true;
                        continue;
                }
                *x = y;
                *scale *= 10;
        }
}

static int invalid_duration(const char *orig, lk_err *err) {
        return fail(err, "time: invalid duration ", orig, strlen(orig), "");
}

/* One [0-9]*(\.[0-9]*)?unit term, added to *d. */
static int duration_term(const char **sp, const char *orig, uint64_t *d, lk_err *err) {
        const char *s = *sp;
        if (!(*s == '.' || is_digit(*s)))
                return invalid_duration(orig, err);
        const char *before = s;
        uint64_t v, f = 0;
        double scale = 1;
        if (!leading_int(&s, &v))
                return invalid_duration(orig, err);
        bool pre = s != before, post = false;
        if (*s == '.') {
                s++;
                const char *frac = s;
                leading_fraction(&s, &f, &scale);
                post = s != frac;
        }
        if (!pre && !post)
                return invalid_duration(orig, err);
        size_t i = 0;
        while (s[i] && s[i] != '.' && !is_digit(s[i]))
                i++;
        if (i == 0)
                return fail(err, "time: missing unit in duration ", orig, strlen(orig), "");
        uint64_t u;
        if (!lookup_unit(s, i, &u)) {
                lk_buf q = LK_BUF_INIT;
                go_quote(&q, s, i);
                lk_buf_puts(&q, " in duration ");
                go_quote(&q, orig, strlen(orig));
                int k = lk_err_set(err, -EINVAL, "time: unknown unit %s", lk_buf_str(&q));
                lk_buf_done(&q);
                return k;
        }
        if (v > (UINT64_C(1) << 63) / u)
                return invalid_duration(orig, err);
        v *= u;
        if (f > 0) {
                v += (uint64_t)((double)f * ((double)u / scale));
                if (v > UINT64_C(1) << 63)
                        return invalid_duration(orig, err);
        }
        *d += v;
        if (*d > UINT64_C(1) << 63)
                return invalid_duration(orig, err);
        *sp = s + i;
        return 0;
}

/* Go's time.ParseDuration, in nanoseconds. */
static int go_parse_duration(const char *orig, int64_t *ret_nsec, lk_err *err) {
        const char *s = orig;
        bool neg = false;
        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (strcmp(s, "0") == 0) {
                *ret_nsec = 0;
                return 0;
        }
        if (*s == '\0')
                return invalid_duration(orig, err);
        uint64_t d = 0;
        while (*s) {
                int k = duration_term(&s, orig, &d, err);
                if (k < 0)
                        return k;
        }
        if (neg) {
                *ret_nsec = (int64_t)(0 - d);
                return 0;
        }
        if (d > (uint64_t)INT64_MAX)
                return invalid_duration(orig, err);
        *ret_nsec = (int64_t)d;
        return 0;
}

/* ---- robfig's parser ---- */

static int parse_int(const char *s, size_t n, uint64_t *ret, lk_err *err) {
        int64_t num = 0;
        if (go_atoi(s, n, &num, err) < 0) {
                lk_err_prefix(err, "failed to parse int from %.*s", (int)n, s);
                return -EINVAL;
        }
        if (num < 0)
                return lk_err_set(err, -EINVAL, "negative number (%" PRId64 ") not allowed: %.*s", num, (int)n,
                                  s);
        *ret = (uint64_t)num;
        return 0;
}

static int parse_int_or_name(const char *s, size_t n, const bounds *r, uint64_t *ret, lk_err *err) {
        for (size_t i = 0; r->names && r->names[i]; i++)
                if (strlen(r->names[i]) == n && strncasecmp(r->names[i], s, n) == 0) {
                        *ret = r->min + i;
                        return 0;
                }
        return parse_int(s, n, ret, err);
}

static size_t count_char(const char *s, size_t n, char c) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                k += s[i] == c;
        return k;
}

static uint64_t get_bits(uint64_t min, uint64_t max, uint64_t step) {
        uint64_t bits = 0;
        for (uint64_t i = min; i <= max; i += step)
                bits |= UINT64_C(1) << i;
        return bits;
}

/* The low[-high] part of a range, before any '/'. */
static int parse_low_high(const char *expr, size_t n, size_t full_len, const bounds *r, uint64_t *start,
                          uint64_t *end, uint64_t *extra, lk_err *err) {
        const char *dash = memchr(expr, '-', n);
        size_t low_len = dash ? (size_t)(dash - expr) : n;
        if ((low_len == 1 && (expr[0] == '*' || expr[0] == '?'))) {
                *start = r->min;
                *end = r->max;
                *extra = STAR_BIT;
                return 0;
        }
        int k = parse_int_or_name(expr, low_len, r, start, err);
        if (k < 0)
                return k;
        if (!dash) {
                *end = *start;
                return 0;
        }
        if (count_char(expr, n, '-') > 1)
                return lk_err_set(err, -EINVAL, "too many hyphens: %.*s", (int)full_len, expr);
        return parse_int_or_name(dash + 1, n - low_len - 1, r, end, err);
}

static int get_range(const char *expr, size_t n, const bounds *r, uint64_t *ret, lk_err *err) {
        const char *slash = memchr(expr, '/', n);
        size_t range_len = slash ? (size_t)(slash - expr) : n;
        uint64_t start, end, step_u = 1;
        uint64_t extra = 0;
        int k = parse_low_high(expr, range_len, n, r, &start, &end, &extra, err);
        if (k < 0)
                return k;
        if (slash) {
                if (count_char(expr, n, '/') > 1)
                        return lk_err_set(err, -EINVAL, "too many slashes: %.*s", (int)n, expr);
                if ((k = parse_int(slash + 1, n - range_len - 1, &step_u, err)) < 0)
                        return k;
                if (!memchr(expr, '-', range_len))
                        end = r->max;
                if (step_u > 1)
                        extra = 0;
        }
        if (start < r->min)
                return lk_err_set(err, -EINVAL, "beginning of range (%" PRIu64 ") below minimum (%u): %.*s", start, r->min,
                                  (int)n, expr);
        if (end > r->max)
                return lk_err_set(err, -EINVAL, "end of range (%" PRIu64 ") above maximum (%u): %.*s", end, r->max, (int)n,
                                  expr);
        if (start > end)
                return lk_err_set(err, -EINVAL, "beginning of range (%" PRIu64 ") beyond end of range (%" PRIu64 "): %.*s", start,
                                  end, (int)n, expr);
        if (step_u == 0)
                return lk_err_set(err, -EINVAL, "step of range should be a positive number: %.*s", (int)n, expr);
        *ret = get_bits(start, end, step_u) | extra;
        return 0;
}

static int get_field(const char *field, size_t n, const bounds *r, uint64_t *ret, lk_err *err) {
        uint64_t bits = 0;
        size_t i = 0;
        while (i < n) {
                const char *comma = memchr(field + i, ',', n - i);
                size_t len = comma ? (size_t)(comma - (field + i)) : n - i;
                if (len > 0) { /* strings.FieldsFunc drops empty pieces */
                        uint64_t b = 0;
                        int k = get_range(field + i, len, r, &b, err);
                        if (k < 0)
                                return k;
                        bits |= b;
                }
                i += len + 1;
        }
        *ret = bits;
        return 0;
}

typedef struct span {
        const char *s;
        size_t n;
} span;

static size_t split_fields(const char *s, span *out, size_t max) {
        size_t count = 0;
        while (*s) {
                while (go_space(*s))
                        s++;
                if (!*s)
                        break;
                const char *start = s;
                while (*s && !go_space(*s))
                        s++;
                if (count < max)
                        out[count] = (span){start, (size_t)(s - start)};
                count++;
        }
        return count;
}

static int wrong_field_count(const char *spec, size_t count, lk_err *err) {
        lk_buf list = LK_BUF_INIT;
        span f[1];
        const char *s = spec;
        for (size_t i = 0; i < count; i++) {
                while (go_space(*s))
                        s++;
                split_fields(s, f, 1);
                lk_buf_printf(&list, "%s%.*s", i ? " " : "", (int)f[0].n, f[0].s);
                s = f[0].s + f[0].n;
        }
        int k = lk_err_set(err, -EINVAL, "expected 5 to 6 fields, found %zu: [%s]", count, lk_buf_str(&list));
        lk_buf_done(&list);
        return k;
}

static int parse_fields(const char *spec, lk_cron *c, lk_err *err) {
        span f[6];
        size_t count = split_fields(spec, f, 6);
        if (count < 5 || count > 6)
                return wrong_field_count(spec, count, err);
        static const span zero = {"0", 1};
        const span *fs[6];
        for (size_t i = 0; i < 6; i++)
                fs[i] = count == 6 ? &f[i] : i == 0 ? &zero : &f[i - 1];
        uint64_t *dst[6] = {&c->second, &c->minute, &c->hour, &c->dom, &c->month, &c->dow};
        const bounds *b[6] = {&b_seconds, &b_minutes, &b_hours, &b_dom, &b_months, &b_dow};
        for (size_t i = 0; i < 6; i++) {
                int k = get_field(fs[i]->s, fs[i]->n, b[i], dst[i], err);
                if (k < 0)
                        return k;
        }
        return 0;
}

static uint64_t all_bits(const bounds *r) {
        return get_bits(r->min, r->max, 1) | STAR_BIT;
}

static int parse_every(const char *text, lk_cron *c, lk_err *err) {
        int64_t nsec = 0;
        if (go_parse_duration(text, &nsec, err) < 0) {
                lk_err_prefix(err, "failed to parse duration @every %s", text);
                return -EINVAL;
        }
        /* robfig's Every: under a second becomes a second, and the
         * fraction of a second is dropped. */
        if (nsec < NSEC_PER_SEC)
                nsec = NSEC_PER_SEC;
        c->kind = CRON_EVERY;
        c->every = nsec / NSEC_PER_SEC;
        return 0;
}

static int parse_descriptor(const char *d, lk_cron *c, lk_err *err) {
        static const struct {
                const char *name;
                bool any_hour, any_dom, any_month, any_dow;
        } descriptors[] = {
                {"@yearly", false, false, false, true},  {"@annually", false, false, false, true},
                {"@monthly", false, false, true, true},  {"@weekly", false, true, true, false},
                {"@daily", false, true, true, true},     {"@midnight", false, true, true, true},
                {"@hourly", true, true, true, true},
        };
        for (size_t i = 0; i < sizeof descriptors / sizeof descriptors[0]; i++) {
                if (strcmp(d, descriptors[i].name) != 0)
                        continue;
                c->second = 1;
                c->minute = 1;
                c->hour = descriptors[i].any_hour ? all_bits(&b_hours) : 1;
                c->dom = descriptors[i].any_dom ? all_bits(&b_dom) : 2;
                c->month = descriptors[i].any_month ? all_bits(&b_months) : 2;
                c->dow = descriptors[i].any_dow ? all_bits(&b_dow) : 1;
                return 0;
        }
        if (strncmp(d, "@every ", 7) == 0)
                return parse_every(d + 7, c, err);
        return lk_err_set(err, -EINVAL, "unrecognized descriptor: %s", d);
}

static int parse_zone_prefix(const char **spec, lk_cron *c, lk_err *err) {
        const char *s = *spec;
        if (strncmp(s, "TZ=", 3) != 0 && strncmp(s, "CRON_TZ=", 8) != 0)
                return 0;
        const char *space = strchr(s, ' ');
        if (!space)
                return lk_err_set(err, -EINVAL, "missing schedule after the time zone");
        const char *eq = strchr(s, '=');
        char *name = lk_strndup(eq + 1, (size_t)(space - eq - 1));
        int k = lk_tz_load(name, &c->tz, err);
        if (k < 0)
                lk_err_prefix(err, "provided bad location %s", name);
        lk_free(name);
        *spec = space;
        return k;
}

/* robfig's Parser.Parse for SecondOptional|Minute|Hour|Dom|Month|Dow|Descriptor. */
static int robfig_parse(const char *spec, lk_cron *c, lk_err *err) {
        if (*spec == '\0')
                return lk_err_set(err, -EINVAL, "empty spec string");
        const char *before = spec;
        int k = parse_zone_prefix(&spec, c, err);
        if (k < 0)
                return k;
        size_t n = strlen(spec);
        /* robfig trims only what follows a time zone. */
        if (spec != before) {
                while (go_space(*spec))
                        spec++;
                n = strlen(spec);
                while (n > 0 && go_space(spec[n - 1]))
                        n--;
        }
        char *trimmed = lk_strndup(spec, n);
        if (trimmed[0] == '@')
                k = parse_descriptor(trimmed, c, err);
        else
                k = parse_fields(trimmed, c, err);
        lk_free(trimmed);
        return k;
}

static int parse_at(const char *text, lk_cron *c, lk_err *err) {
        int32_t nsec;
        int k = lk_rfc3339_parse(text, &c->at, &nsec, err);
        if (k < 0)
                return k;
        if (nsec != 0)
                return lk_err_set(err, -EINVAL, "@at time must be a whole second: %s", text);
        c->kind = CRON_AT;
        return 0;
}

int lk_cron_parse(const char *text, lk_cron **ret_cron, lk_err *err) {
        bool at = strncmp(text, "@at ", 4) == 0;
        if (!at && strncmp(text, "CRON_TZ=", 8) != 0 && strncmp(text, "@every ", 7) != 0)
                return lk_err_set(err, -EINVAL,
                                  "cron schedule must specify a time zone using CRON_TZ, e.g. 'CRON_TZ=UTC 5 * * "
                                  "* *', or use the @every syntax, e.g. '@every 1h30m'");
        lk_cron *c = lk_calloc(1, sizeof *c);
        int k = at ? parse_at(text + 4, c, err) : robfig_parse(text, c, err);
        if (k < 0) {
                /* A zone that cannot be loaded makes the schedule invalid,
                 * whatever the reason. */
                if (err)
                        err->code = -EINVAL;
                lk_err_prefix(err, "invalid cron schedule '%s'", text);
                lk_cron_free(c);
                return -EINVAL;
        }
        *ret_cron = c;
        return 0;
}

lk_cron *lk_cron_free(lk_cron *cron) {
        if (!cron)
                return NULL;
        lk_tz_free(cron->tz);
        lk_free(cron);
        return NULL;
}

/* ---- robfig's SpecSchedule.Next ---- */

static bool has(uint64_t bits, int v) {
        return (bits >> v) & 1;
}

static bool day_matches(const lk_cron *c, const lk_civil *t) {
        bool dom_match = has(c->dom, t->day), dow_match = has(c->dow, t->weekday);
        if ((c->dom & STAR_BIT) || (c->dow & STAR_BIT))
                return dom_match && dow_match;
        return dom_match || dow_match;
}

/* Whether any day can ever match; robfig would search five years to
 * find out, a second at a time when the seconds field is empty. */
static bool can_fire(const lk_cron *c) {
        uint64_t m = ~STAR_BIT;
        if (!(c->second & m) || !(c->minute & m) || !(c->hour & m) || !(c->month & m))
                return false;
        if ((c->dom & STAR_BIT) || (c->dow & STAR_BIT))
                return (c->dom & m) && (c->dow & m);
        return (c->dom & m) || (c->dow & m);
}

typedef struct cursor {
        const lk_cron *c;
        int64_t t;
        lk_civil v; /* t's wall clock in the schedule's zone */
        bool added;
        long steps;
} cursor;

static void set(cursor *k, int64_t t) {
        k->t = t;
        k->steps++;
        lk_tz_civil(k->c->tz, t, &k->v);
}

static void reset(cursor *k, int64_t day, int64_t hour) {
        if (!k->added) {
                k->added = true;
                set(k, lk_tz_date(k->c->tz, k->v.year, k->v.month, day < 0 ? k->v.day : day,
                                  hour < 0 ? k->v.hour : hour, 0, 0));
        }
}

/* t.AddDate(0, months, days) */
static void add_date(cursor *k, int months, int days) {
        set(k, lk_tz_date(k->c->tz, k->v.year, k->v.month + months, k->v.day + days, k->v.hour, k->v.minute,
                          k->v.second));
}

/* Each stage returns false when robfig would `goto WRAP`. */
static bool find_month(cursor *k) {
        while (!has(k->c->month, k->v.month)) {
                reset(k, 1, 0);
                add_date(k, 1, 0);
                if (k->v.month == 1)
                        return false;
        }
        return true;
}

static bool find_day(cursor *k) {
        while (!day_matches(k->c, &k->v)) {
                reset(k, -1, 0);
                add_date(k, 0, 1);
                /* robfig's correction for zones where midnight does not exist */
                if (k->v.hour != 0)
                        set(k, k->t + (k->v.hour > 12 ? 24 - k->v.hour : -k->v.hour) * INT64_C(3600));
                if (k->v.day == 1)
                        return false;
        }
        return true;
}

static bool find_hour(cursor *k) {
        while (!has(k->c->hour, k->v.hour)) {
                reset(k, -1, -1);
                set(k, k->t + 3600);
                if (k->v.hour == 0)
                        return false;
        }
        return true;
}

/* unit: 60 for minutes (Truncate(time.Minute) works on absolute time),
 * 1 for seconds. */
static bool find_unit(cursor *k, uint64_t bits, int64_t unit) {
        for (;;) {
                int v = unit == 60 ? k->v.minute : k->v.second;
                if (has(bits, v))
                        return true;
                if (!k->added) {
                        k->added = true;
                        set(k, k->t - (k->t % unit + unit) % unit);
                }
                set(k, k->t + unit);
                if ((unit == 60 ? k->v.minute : k->v.second) == 0)
                        return false;
        }
}

static int64_t spec_next(const lk_cron *c, int64_t after) {
        if (!can_fire(c))
                return LK_CRON_NONE;
        cursor k = {c, 0, {0}, false, 0};
        set(&k, after + 1);
        int64_t year_limit = k.v.year + 5;
        while (k.steps < MAX_STEPS) {
                if (k.v.year > year_limit)
                        return LK_CRON_NONE;
                if (find_month(&k) && find_day(&k) && find_hour(&k) && find_unit(&k, c->minute, 60) &&
                    find_unit(&k, c->second, 1))
                        return k.t;
        }
        return LK_CRON_NONE;
}

int64_t lk_cron_next(const lk_cron *c, int64_t after) {
        if (after < LK_CRON_MIN_TIME || after > LK_CRON_MAX_TIME)
                return LK_CRON_NONE;
        switch (c->kind) {
        case CRON_EVERY: return after + c->every;
        case CRON_AT: return c->at > after ? c->at : LK_CRON_NONE;
        default: return spec_next(c, after);
        }
}
