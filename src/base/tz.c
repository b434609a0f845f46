/* Time zones read from the system zoneinfo.
 *
 * Why a TZif parser of our own: the C library offers named zones only
 * through the process-wide TZ variable (setenv + tzset + localtime_r),
 * which is not thread-safe and changes every other thread's idea of
 * local time, and no library packaged by Debian reads a named zone from
 * /usr/share/zoneinfo into a value a thread can own.  Cron schedules also
 * need Go's exact rules for nonexistent and repeated local times, which
 * mktime does not give.  So this file ports what Go's time package does:
 * the TZif reader (LoadLocationFromTZData), Location.lookup, the POSIX TZ
 * footer (tzset) and time.Date's offset resolution.
 *
 * Every count in the file is checked against the bytes that are really
 * there before anything is read, so damaged or hostile data gives an
 * error, never a read out of bounds. */
#include "linkd/tz.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "linkd/alloc.h"
#include "linkd/file.h"

#define ALPHA INT64_MIN
#define OMEGA INT64_MAX
#define SECONDS_PER_DAY INT64_C(86400)
#define MAX_TZIF_BYTES (1024 * 1024)
#define MAX_OFFSET (7 * 24 * 3600)
#define ZONEINFO_DIR "/usr/share/zoneinfo/"

typedef struct tz_type {
        int32_t offset;
        bool is_dst;
} tz_type;

enum rule_kind { RULE_JULIAN, RULE_DOY, RULE_MONTH_WEEK_DAY };

typedef struct tz_rule {
        enum rule_kind kind;
        int day, week, mon;
        int time; /* seconds after local midnight */
} tz_rule;

/* The footer's POSIX TZ string, parsed once at load. */
typedef struct tz_extend {
        bool present;
        bool has_dst;
        int std_offset, dst_offset; /* seconds east of UTC */
        tz_rule start, end;
} tz_extend;

struct lk_tz {
        char *name;
        size_t n_tx;
        int64_t *tx_when;
        uint8_t *tx_type;
        size_t n_types; /* 0: UTC */
        tz_type *types;
        size_t first_type;
        tz_extend extend;
};

/* ---- calendar ---- */

static int64_t floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b) {
        return a - floor_div(a, b) * b;
}

static bool is_leap(int64_t year) {
        return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

static int days_in_month(int64_t year, int month) {
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Howard Hinnant's days_from_civil. */
int64_t lk_days_from_civil(int64_t year, int month, int day) {
        year -= month <= 2;
        int64_t era = floor_div(year, 400);
        int64_t yoe = year - era * 400;
        int64_t mp = (month + 9) % 12;
        int64_t doy = (153 * mp + 2) / 5 + day - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t days, lk_civil *c) {
        int64_t z = days + 719468;
        int64_t era = floor_div(z, 146097);
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
        c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
        c->year = yoe + era * 400 + (c->month <= 2);
        c->weekday = (int)floor_mod(days + 4, 7);
}

static void civil_from_unix(int64_t local, lk_civil *c) {
        int64_t days = floor_div(local, SECONDS_PER_DAY);
        int64_t secs = local - days * SECONDS_PER_DAY;
        civil_from_days(days, c);
        c->hour = (int)(secs / 3600);
        c->minute = (int)(secs / 60 % 60);
        c->second = (int)(secs % 60);
}

/* ---- POSIX TZ strings (Go's tzset*) ---- */

static bool expect(const char **s, char c) {
        if (**s != c)
                return false;
        (*s)++;
        return true;
}

static bool tzset_name(const char **s) {
        const char *p = *s;
        if (*p == '<') {
                const char *close = strchr(p, '>');
                if (!close)
                        return false;
                *s = close + 1;
                return true;
        }
        size_t n = strcspn(p, "0123456789,-+");
        if (n < 3)
                return false;
        *s = p + n;
        return true;
}

static bool tzset_num(const char **s, int min, int max, int *ret) {
        const char *p = *s;
        int num = 0;
        if (*p < '0' || *p > '9')
                return false;
        for (; *p >= '0' && *p <= '9'; p++) {
                num = num * 10 + (*p - '0');
                if (num > max)
                        return false;
        }
        if (num < min)
                return false;
        *s = p;
        *ret = num;
        return true;
}

static bool tzset_offset(const char **s, int *ret) {
        const char *p = *s;
        bool neg = false;
        if (*p == '+' || *p == '-')
                neg = *p++ == '-';
        int hours, mins = 0, secs = 0;
        if (!tzset_num(&p, 0, 24 * 7, &hours))
                return false;
        if (*p == ':') {
                p++;
                if (!tzset_num(&p, 0, 59, &mins))
                        return false;
                if (*p == ':') {
                        p++;
                        if (!tzset_num(&p, 0, 59, &secs))
                                return false;
                }
        }
        int off = hours * 3600 + mins * 60 + secs;
        *ret = neg ? -off : off;
        *s = p;
        return true;
}

static bool tzset_rule(const char **s, tz_rule *r) {
        const char *p = *s;
        if (*p == 'J') {
                p++;
                r->kind = RULE_JULIAN;
                if (!tzset_num(&p, 1, 365, &r->day))
                        return false;
        } else if (*p == 'M') {
                p++;
                r->kind = RULE_MONTH_WEEK_DAY;
                if (!tzset_num(&p, 1, 12, &r->mon) || !expect(&p, '.'))
                        return false;
                if (!tzset_num(&p, 1, 5, &r->week) || !expect(&p, '.'))
                        return false;
                if (!tzset_num(&p, 0, 6, &r->day))
                        return false;
        } else {
                r->kind = RULE_DOY;
                if (!tzset_num(&p, 0, 365, &r->day))
                        return false;
        }
        r->time = 2 * 3600;
        if (*p == '/') {
                p++;
                if (!tzset_offset(&p, &r->time))
                        return false;
        }
        *s = p;
        return true;
}

static bool tzset_rules(const char *p, tz_extend *e) {
        if (*p == '\0')
                p = ",M3.2.0,M11.1.0"; /* tzcode's default rules */
        if (*p != ',' && *p != ';')
                return false;
        p++;
        if (!tzset_rule(&p, &e->start) || !expect(&p, ','))
                return false;
        return tzset_rule(&p, &e->end) && *p == '\0';
}

/* Go negates the numbers: POSIX offsets are added to local time to get UTC. */
static bool tzset_parse(const char *p, tz_extend *e) {
        memset(e, 0, sizeof *e);
        if (!tzset_name(&p) || !tzset_offset(&p, &e->std_offset))
                return false;
        e->std_offset = -e->std_offset;
        e->present = true;
        if (*p == '\0' || *p == ',')
                return true;
        if (!tzset_name(&p))
                return false;
        if (*p == '\0' || *p == ',') {
                e->dst_offset = e->std_offset + 3600;
        } else {
                if (!tzset_offset(&p, &e->dst_offset))
                        return false;
                e->dst_offset = -e->dst_offset;
        }
        e->has_dst = true;
        return tzset_rules(p, e);
}

/* Seconds after the start of year (UTC) at which rule r takes effect. */
static int64_t tzrule_time(int64_t year, const tz_rule *r, int off) {
        int64_t s = 0;
        if (r->kind == RULE_JULIAN) {
                s = (int64_t)(r->day - 1) * SECONDS_PER_DAY;
                if (is_leap(year) && r->day >= 60)
                        s += SECONDS_PER_DAY;
        } else if (r->kind == RULE_DOY) {
                s = (int64_t)r->day * SECONDS_PER_DAY;
        } else {
                int64_t first = lk_days_from_civil(year, r->mon, 1);
                int dow = (int)floor_mod(first + 4, 7);
                int d = r->day - dow;
                if (d < 0)
                        d += 7;
                for (int i = 1; i < r->week; i++) {
                        if (d + 7 >= days_in_month(year, r->mon))
                                break;
                        d += 7;
                }
                s = (first - lk_days_from_civil(year, 1, 1) + d) * SECONDS_PER_DAY;
        }
        return s + r->time - off;
}

/* Go's tzset: the offset at sec from the rule, with the interval Go
 * reports for it (exact near transitions, else the year's bounds). */
static int64_t tzset_lookup(const tz_extend *e, int64_t last_tx, int64_t sec, int64_t *start, int64_t *end) {
        if (!e->has_dst) {
                *start = last_tx;
                *end = OMEGA;
                return e->std_offset;
        }
        lk_civil c;
        civil_from_unix(sec, &c);
        int64_t abs = lk_days_from_civil(c.year, 1, 1) * SECONDS_PER_DAY;
        int64_t ysec = sec - abs;
        int64_t start_sec = tzrule_time(c.year, &e->start, e->std_offset);
        int64_t end_sec = tzrule_time(c.year, &e->end, e->dst_offset);
        int std_offset = e->std_offset, dst_offset = e->dst_offset;
        if (end_sec < start_sec) { /* southern hemisphere: the labels swap */
                int64_t t = start_sec;
                start_sec = end_sec;
                end_sec = t;
                std_offset = e->dst_offset;
                dst_offset = e->std_offset;
        }
        if (ysec < start_sec) {
                *start = abs;
                *end = start_sec + abs;
                return std_offset;
        }
        if (ysec >= end_sec) {
                *start = end_sec + abs;
                *end = abs + 365 * SECONDS_PER_DAY;
                return std_offset;
        }
        *start = start_sec + abs;
        *end = end_sec + abs;
        return dst_offset;
}

/* ---- lookup ---- */

int64_t lk_tz_lookup(const lk_tz *tz, int64_t t, int64_t *ret_start, int64_t *ret_end) {
        int64_t start = ALPHA, end = OMEGA, offset;
        if (!tz || tz->n_types == 0) {
                offset = 0;
        } else if (tz->n_tx == 0 || t < tz->tx_when[0]) {
                offset = tz->types[tz->first_type].offset;
                if (tz->n_tx > 0)
                        end = tz->tx_when[0];
        } else {
                size_t lo = 0, hi = tz->n_tx;
                while (hi - lo > 1) {
                        size_t m = lo + (hi - lo) / 2;
                        if (t < tz->tx_when[m]) {
                                end = tz->tx_when[m];
                                hi = m;
                        } else {
                                lo = m;
                        }
                }
                offset = tz->types[tz->tx_type[lo]].offset;
                start = tz->tx_when[lo];
                if (lo == tz->n_tx - 1 && tz->extend.present)
                        offset = tzset_lookup(&tz->extend, start, t, &start, &end);
        }
        if (ret_start)
                *ret_start = start;
        if (ret_end)
                *ret_end = end;
        return offset;
}

int64_t lk_tz_offset(const lk_tz *tz, int64_t unix_seconds) {
        return lk_tz_lookup(tz, unix_seconds, NULL, NULL);
}

void lk_tz_civil(const lk_tz *tz, int64_t unix_seconds, lk_civil *ret) {
        civil_from_unix(unix_seconds + lk_tz_offset(tz, unix_seconds), ret);
}

/* Go's norm: moves whole multiples of base from lo into hi. */
static void norm(int64_t *hi, int64_t *lo, int64_t base) {
        int64_t q = floor_div(*lo, base);
        *hi += q;
        *lo -= q * base;
}

int64_t lk_tz_date(const lk_tz *tz, int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute,
                   int64_t second) {
        int64_t m = month - 1;
        norm(&year, &m, 12);
        norm(&minute, &second, 60);
        norm(&hour, &minute, 60);
        norm(&day, &hour, 24);
        int64_t unix = (lk_days_from_civil(year, (int)m + 1, 1) + day - 1) * SECONDS_PER_DAY + hour * 3600 +
                       minute * 60 + second;
        /* Go guesses with the offset at unix-as-UTC, then looks again if
         * the result falls outside that offset's interval.  This one
         * rule is what decides gaps and overlaps. */
        int64_t start, end;
        int64_t offset = lk_tz_lookup(tz, unix, &start, &end);
        if (offset != 0) {
                int64_t utc = unix - offset;
                if (utc < start || utc >= end)
                        offset = lk_tz_lookup(tz, utc, NULL, NULL);
                unix -= offset;
        }
        return unix;
}

/* ---- TZif ---- */

typedef struct reader {
        const uint8_t *p;
        size_t left;
} reader;

static const uint8_t *take(reader *r, size_t n) {
        if (n > r->left)
                return NULL;
        const uint8_t *p = r->p;
        r->p += n;
        r->left -= n;
        return p;
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p) {
        return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_header {
        int version;
        uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_header;

static int read_header(reader *r, tzif_header *h, const char *name, lk_err *err) {
        const uint8_t *p = take(r, 44);
        if (!p)
                return lk_err_set(err, -EINVAL, "malformed time zone information in %s: truncated header", name);
        if (memcmp(p, "TZif", 4) != 0)
                return lk_err_set(err, -EINVAL, "malformed time zone information in %s: not a TZif file", name);
        if (p[4] == 0)
                h->version = 1;
        else if (p[4] >= '2' && p[4] <= '4')
                h->version = p[4] - '0';
        else
                return lk_err_set(err, -EINVAL, "malformed time zone information in %s: unknown version", name);
        h->isutcnt = be32(p + 20);
        h->isstdcnt = be32(p + 24);
        h->leapcnt = be32(p + 28);
        h->timecnt = be32(p + 32);
        h->typecnt = be32(p + 36);
        h->charcnt = be32(p + 40);
        return 0;
}

/* The size of a data block, or SIZE_MAX when the counts cannot describe any
 * real file (checked before multiplying, so nothing overflows). */
static size_t block_size(const tzif_header *h, size_t time_size) {
        if (h->timecnt > MAX_TZIF_BYTES || h->typecnt > 256 || h->charcnt > MAX_TZIF_BYTES ||
            h->leapcnt > MAX_TZIF_BYTES || h->isstdcnt > 256 || h->isutcnt > 256)
                return SIZE_MAX;
        return (size_t)h->timecnt * (time_size + 1) + (size_t)h->typecnt * 6 + h->charcnt +
               (size_t)h->leapcnt * (time_size + 4) + h->isstdcnt + h->isutcnt;
}

static int bad(lk_err *err, const char *name, const char *what) {
        return lk_err_set(err, -EINVAL, "malformed time zone information in %s: %s", name, what);
}

static int read_types(lk_tz *tz, const tzif_header *h, const uint8_t *p, const char *name, lk_err *err) {
        tz->n_types = h->typecnt;
        tz->types = lk_calloc(h->typecnt, sizeof *tz->types);
        for (size_t i = 0; i < h->typecnt; i++, p += 6) {
                int32_t off = (int32_t)be32(p);
                if (off < -MAX_OFFSET || off > MAX_OFFSET)
                        return bad(err, name, "UTC offset out of range");
                if (p[5] >= h->charcnt)
                        return bad(err, name, "abbreviation index out of range");
                tz->types[i].offset = off;
                tz->types[i].is_dst = p[4] != 0;
        }
        return 0;
}

static int read_transitions(lk_tz *tz, const tzif_header *h, const uint8_t *p, size_t time_size, const char *name,
                            lk_err *err) {
        tz->n_tx = h->timecnt;
        tz->tx_when = lk_calloc(h->timecnt ? h->timecnt : 1, sizeof *tz->tx_when);
        tz->tx_type = lk_calloc(h->timecnt ? h->timecnt : 1, 1);
        const uint8_t *idx = p + (size_t)h->timecnt * time_size;
        for (size_t i = 0; i < h->timecnt; i++) {
                tz->tx_when[i] = time_size == 8 ? be64(p + i * 8) : (int64_t)(int32_t)be32(p + i * 4);
                if (i > 0 && tz->tx_when[i] <= tz->tx_when[i - 1])
                        return bad(err, name, "transition times out of order");
                if (idx[i] >= tz->n_types)
                        return bad(err, name, "transition type index out of range");
                tz->tx_type[i] = idx[i];
        }
        return 0;
}

/* Go's lookupFirstZone: the type in effect before the first transition. */
static size_t first_type(const lk_tz *tz) {
        bool used = false;
        for (size_t i = 0; i < tz->n_tx; i++)
                used |= tz->tx_type[i] == 0;
        if (!used)
                return 0;
        if (tz->n_tx > 0 && tz->types[tz->tx_type[0]].is_dst)
                for (size_t zi = tz->tx_type[0]; zi-- > 0;)
                        if (!tz->types[zi].is_dst)
                                return zi;
        for (size_t zi = 0; zi < tz->n_types; zi++)
                if (!tz->types[zi].is_dst)
                        return zi;
        return 0;
}

static void read_footer(lk_tz *tz, reader *r) {
        /* A footer Go cannot use is ignored by Go as well. */
        if (r->left < 2 || r->p[0] != '\n' || r->left > 256)
                return;
        const uint8_t *nl = memchr(r->p + 1, '\n', r->left - 1);
        if (!nl || nl == r->p + 1)
                return;
        char text[256];
        size_t n = (size_t)(nl - (r->p + 1));
        memcpy(text, r->p + 1, n);
        text[n] = '\0';
        if (strlen(text) != n || !tzset_parse(text, &tz->extend))
                memset(&tz->extend, 0, sizeof tz->extend);
}

static int parse_body(lk_tz *tz, reader *r, const char *name, lk_err *err) {
        tzif_header h;
        int k = read_header(r, &h, name, err);
        if (k < 0)
                return k;
        if (h.version >= 2) {
                size_t skip = block_size(&h, 4);
                if (skip == SIZE_MAX || !take(r, skip))
                        return bad(err, name, "truncated version 1 data");
                if ((k = read_header(r, &h, name, err)) < 0)
                        return k;
        }
        size_t time_size = h.version >= 2 ? 8 : 4;
        size_t size = block_size(&h, time_size);
        if (size == SIZE_MAX)
                return bad(err, name, "impossible counts");
        if (h.typecnt == 0)
                return bad(err, name, "no local time types");
        const uint8_t *data = take(r, size);
        if (!data)
                return bad(err, name, "truncated data");
        const uint8_t *types = data + (size_t)h.timecnt * (time_size + 1);
        if ((k = read_types(tz, &h, types, name, err)) < 0)
                return k;
        if ((k = read_transitions(tz, &h, data, time_size, name, err)) < 0)
                return k;
        tz->first_type = first_type(tz);
        if (h.version >= 2)
                read_footer(tz, r);
        return 0;
}

int lk__tz_parse(const void *data, size_t len, const char *name, lk_tz **ret_tz, lk_err *err) {
        lk_tz *tz = lk_calloc(1, sizeof *tz);
        tz->name = lk_strdup(name ? name : "");
        reader r = {data, len};
        int k = parse_body(tz, &r, tz->name, err);
        if (k < 0) {
                lk_tz_free(tz);
                return k;
        }
        /* Go adds a transition at the beginning of time to a zone with
         * none, which makes lookup use the footer for all instants. */
        if (tz->n_tx == 0) {
                tz->n_tx = 1;
                tz->tx_when[0] = ALPHA;
                tz->tx_type[0] = 0;
        }
        *ret_tz = tz;
        return 0;
}

lk_tz *lk_tz_free(lk_tz *tz) {
        if (!tz)
                return NULL;
        lk_free(tz->name);
        lk_free(tz->tx_when);
        lk_free(tz->tx_type);
        lk_free(tz->types);
        lk_free(tz);
        return NULL;
}

const char *lk_tz_name(const lk_tz *tz) {
        return tz ? tz->name : "UTC";
}

static bool valid_name(const char *name) {
        if (name[0] == '/' || strstr(name, ".."))
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                      strchr("_+-/", *p)))
                        return false;
        return true;
}

static int load_file(const char *path, const char *name, lk_tz **ret_tz, lk_err *err) {
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return lk_err_set(err, -ENOENT, "unknown time zone %s", name);
        char *data = NULL;
        size_t len = 0;
        int k = lk_file_read(path, MAX_TZIF_BYTES, &data, &len, err);
        if (k < 0)
                return k;
        lk_tz *tz = NULL;
        k = lk__tz_parse(data, len, path, &tz, err);
        lk_free(data);
        if (k < 0)
                return k;
        lk_free(tz->name);
        tz->name = lk_strdup(name);
        *ret_tz = tz;
        return 0;
}

int lk_tz_load(const char *name, lk_tz **ret_tz, lk_err *err) {
        if (name[0] == '\0' || strcmp(name, "UTC") == 0) {
                lk_tz *tz = lk_calloc(1, sizeof *tz);
                tz->name = lk_strdup("UTC");
                *ret_tz = tz;
                return 0;
        }
        if (strcmp(name, "Local") == 0)
                return load_file("/etc/localtime", "Local", ret_tz, err);
        if (!valid_name(name))
                return lk_err_set(err, -EINVAL, "time: invalid location name");
        char *path = lk_asprintf(ZONEINFO_DIR "%s", name);
        int k = load_file(path, name, ret_tz, err);
        lk_free(path);
        return k;
}

/* ---- RFC 3339 ---- */

static bool digits(const char **s, int n, int *ret) {
        int v = 0;
        for (int i = 0; i < n; i++) {
                char c = (*s)[i];
                if (c < '0' || c > '9')
                        return false;
                v = v * 10 + (c - '0');
        }
        *s += n;
        *ret = v;
        return true;
}

static bool parse_fraction(const char **s, int32_t *nsec) {
        *nsec = 0;
        if (**s != '.' && **s != ',')
                return true;
        (*s)++;
        int n = 0;
        int32_t scale = 100000000;
        for (; **s >= '0' && **s <= '9'; (*s)++, n++) {
                *nsec += (int32_t)(**s - '0') * scale;
                scale /= 10;
        }
        return n > 0 && n <= 9;
}

static bool parse_zone(const char **s, int *offset) {
        if (**s == 'Z') {
                (*s)++;
                *offset = 0;
                return true;
        }
        char sign = **s;
        int hh, mm;
        if (sign != '+' && sign != '-')
                return false;
        (*s)++;
        if (!digits(s, 2, &hh) || !expect(s, ':') || !digits(s, 2, &mm) || hh > 23 || mm > 59)
                return false;
        *offset = (hh * 3600 + mm * 60) * (sign == '-' ? -1 : 1);
        return true;
}

int lk_rfc3339_parse(const char *text, int64_t *ret_unix, int32_t *ret_nsec, lk_err *err) {
        const char *s = text;
        int y, mo, d, h, mi, se, offset;
        int32_t nsec;
        bool ok = digits(&s, 4, &y) && expect(&s, '-') && digits(&s, 2, &mo) && expect(&s, '-') &&
                  digits(&s, 2, &d) && expect(&s, 'T') && digits(&s, 2, &h) &&
                  expect(&s, ':') && digits(&s, 2, &mi) && expect(&s, ':') && digits(&s, 2, &se) &&
                  parse_fraction(&s, &nsec) && parse_zone(&s, &offset) && *s == '\0';
        if (!ok)
                return lk_err_set(err, -EINVAL, "invalid RFC 3339 time \"%s\"", text);
        if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
                return lk_err_set(err, -EINVAL, "RFC 3339 time out of range: \"%s\"", text);
        *ret_unix = lk_days_from_civil(y, mo, d) * SECONDS_PER_DAY + h * 3600 + mi * 60 + se - offset;
        if (ret_nsec)
                *ret_nsec = nsec;
        return 0;
}
