/* Time zones from /usr/share/zoneinfo, against Go's time package.
 *
 * The expected offsets and instants were printed by Go 1.19 (time.In,
 * Zone, time.Date) reading the same system zoneinfo. */
#include "lktest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/file.h"
#include "linkd/tz.h"

static lk_tz *load(const char *name) {
        lk_tz *tz = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_tz_load(name, &tz, &err) < 0)
                fail_msg("%s: %s", name, err.msg);
        return tz;
}

typedef struct offset_case {
        const char *zone;
        int64_t t;
        int64_t offset;
} offset_case;

static void test_offsets(void **state) {
        (void)state;
        static const offset_case cases[] = {
                {"UTC", 1700000000, 0},
                {"", 1700000000, 0},
                {"Etc/UTC", 1700000000, 0},
                /* New York, 2023: spring forward 03-12 07:00Z, fall back 11-05 06:00Z */
                {"America/New_York", 1678604399, -18000},
                {"America/New_York", 1678604400, -14400},
                {"America/New_York", 1699163999, -14400},
                {"America/New_York", 1699164000, -18000},
                {"America/New_York", 4102444800, -18000}, /* 2100, from the footer rule */
                {"America/New_York", 4118083200, -14400}, /* 2100-07-01 */
                /* London, 2023: 03-26 01:00Z and 10-29 01:00Z; BST all year in 1970 */
                {"Europe/London", 1679792399, 0},
                {"Europe/London", 1679792400, 3600},
                {"Europe/London", 1698541199, 3600},
                {"Europe/London", 1698541200, 0},
                {"Europe/London", 0, 3600},
                /* Lord Howe moves by 30 minutes */
                {"Australia/Lord_Howe", 1696087799, 37800},
                {"Australia/Lord_Howe", 1696087800, 39600},
                {"Australia/Lord_Howe", 4102444800, 39600},
                /* Kathmandu: +5:30 until 1986, then +5:45; local mean time before 1920 */
                {"Asia/Kathmandu", 504901799, 19800},
                {"Asia/Kathmandu", 504901800, 20700},
                {"Asia/Kathmandu", 1700000000, 20700},
                {"Asia/Kathmandu", -2208988800, 20476},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                lk_tz *tz = load(cases[i].zone);
                int64_t got = lk_tz_offset(tz, cases[i].t);
                if (got != cases[i].offset)
                        fail_msg("%s at %lld: offset %lld, want %lld", cases[i].zone, (long long)cases[i].t,
                                 (long long)got, (long long)cases[i].offset);
                lk_tz_free(tz);
        }
}

typedef struct date_case {
        const char *zone;
        int y, mo, d, h, mi, s;
        int64_t want;
} date_case;

/* Go's time.Date in gaps and overlaps: the answer depends on the side of
 * UTC the zone is on, and lk_tz_date must give the same one. */
static void test_date(void **state) {
        (void)state;
        static const date_case cases[] = {
                {"America/New_York", 2023, 3, 12, 2, 30, 0, 1678602600}, /* gap: 01:30 EST */
                {"America/New_York", 2023, 11, 5, 1, 30, 0, 1699162200}, /* overlap: the EDT one */
                {"Europe/Berlin", 2023, 3, 26, 2, 30, 0, 1679794200},    /* gap: 03:30 CEST */
                {"Europe/Berlin", 2023, 10, 29, 2, 30, 0, 1698543000},   /* overlap: the CET one */
                {"Australia/Lord_Howe", 2023, 10, 1, 2, 15, 0, 1696088700},
                {"Australia/Lord_Howe", 2023, 4, 2, 1, 45, 0, 1680362100},
                {"America/New_York", 2023, 13, 32, 25, 61, 61, 1706857321}, /* normalised */
                {"America/New_York", 2060, 7, 1, 12, 0, 0, 2855923200},
                {"UTC", 2024, 2, 29, 0, 0, 0, 1709164800},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const date_case *c = &cases[i];
                lk_tz *tz = load(c->zone);
                int64_t got = lk_tz_date(tz, c->y, c->mo, c->d, c->h, c->mi, c->s);
                if (got != c->want)
                        fail_msg("%s %d-%d-%d %d:%d:%d: %lld, want %lld", c->zone, c->y, c->mo, c->d, c->h, c->mi,
                                 c->s, (long long)got, (long long)c->want);
                lk_tz_free(tz);
        }
}

static void test_civil(void **state) {
        (void)state;
        lk_tz *tz = load("Asia/Kathmandu");
        lk_civil c;
        lk_tz_civil(tz, 1700000000, &c); /* 2023-11-14T22:13:20Z */
        assert_int_equal(c.year, 2023);
        assert_int_equal(c.month, 11);
        assert_int_equal(c.day, 15);
        assert_int_equal(c.hour, 3);
        assert_int_equal(c.minute, 58);
        assert_int_equal(c.second, 20);
        assert_int_equal(c.weekday, 3);
        lk_tz_free(tz);
        lk_tz_civil(NULL, -1, &c);
        assert_int_equal(c.year, 1969);
        assert_int_equal(c.month, 12);
        assert_int_equal(c.day, 31);
        assert_int_equal(c.hour, 23);
        assert_int_equal(c.weekday, 3);
        assert_int_equal(lk_days_from_civil(2000, 3, 1), 11017);
}

static void expect_load_error(const char *name, int code, const char *msg) {
        lk_tz *tz = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_tz_load(name, &tz, &err), code);
        assert_null(tz);
        assert_string_equal(err.msg, msg);
}

static void test_bad_names(void **state) {
        (void)state;
        expect_load_error("../etc/passwd", -EINVAL, "time: invalid location name");
        expect_load_error("America/../../etc/passwd", -EINVAL, "time: invalid location name");
        expect_load_error("/etc/localtime", -EINVAL, "time: invalid location name");
        expect_load_error("Europe/Berlin ", -EINVAL, "time: invalid location name");
        expect_load_error("Bad/Zone", -ENOENT, "unknown time zone Bad/Zone");
        expect_load_error("America", -ENOENT, "unknown time zone America");
        lk_tz *tz = load("Local");
        assert_string_equal(lk_tz_name(tz), "Local");
        lk_tz_free(tz);
        assert_null(lk_tz_free(NULL));
}

/* Every prefix of a real file, and every single-byte corruption of its
 * header, is rejected with the file's name or parsed: never a crash. */
static void test_truncated_and_corrupt(void **state) {
        (void)state;
        char *data = NULL;
        size_t len = 0;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_file_read("/usr/share/zoneinfo/Europe/Berlin", 1 << 20, &data, &len, &err), 0);
        size_t parsed = 0;
        for (size_t n = 0; n < len; n++) {
                lk_tz *tz = NULL;
                lk_err e = LK_ERR_INIT;
                if (lk__tz_parse(data, n, "zone/Berlin", &tz, &e) == 0) {
                        parsed++;
                        lk_tz_offset(tz, 1700000000);
                        lk_tz_free(tz);
                } else {
                        assert_non_null(strstr(e.msg, "zone/Berlin"));
                }
        }
        /* only a prefix that cuts the footer can still parse */
        assert_true(parsed < 64);
        lk_tz *tz = NULL;
        assert_int_equal(lk__tz_parse(data, len, "zone/Berlin", &tz, &err), 0);
        assert_int_equal(lk_tz_offset(tz, 1679792400), 7200);
        lk_tz_free(tz);
        for (size_t i = 0; i < 64 && i < len; i++) {
                char *copy = lk_malloc(len);
                memcpy(copy, data, len);
                copy[i] = (char)0xff;
                tz = NULL;
                if (lk__tz_parse(copy, len, "zone/Berlin", &tz, &err) == 0)
                        tz = lk_tz_free(tz);
                lk_free(copy);
        }
        lk_free(data);
}

/* Files written to disk, loaded by path-independent data: a header that
 * promises more than the file holds is refused. */
static void test_hostile_counts(void **state) {
        (void)state;
        unsigned char h[44 + 6 + 4] = "TZif2";
        /* typecnt = 1, charcnt = 4, timecnt = 0x7fffffff */
        h[39] = 1;
        h[43] = 4;
        h[32] = 0x7f;
        h[33] = h[34] = h[35] = 0xff;
        lk_tz *tz = NULL;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk__tz_parse(h, sizeof h, "hostile", &tz, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "hostile"));
        assert_int_equal(lk__tz_parse("TZif", 4, "short", &tz, &err), -EINVAL);
        assert_string_equal(err.msg, "malformed time zone information in short: truncated header");
        assert_int_equal(lk__tz_parse("", 0, "empty", &tz, &err), -EINVAL);
        /* a v1 file with one type and a bad abbreviation index */
        unsigned char v1[44 + 6] = "TZif";
        v1[39] = 1;
        v1[49] = 9;
        assert_int_equal(lk__tz_parse(v1, sizeof v1, "v1", &tz, &err), -EINVAL);
        assert_string_equal(err.msg, "malformed time zone information in v1: abbreviation index out of range");
        v1[43] = 10; /* charcnt 10, but the bytes are missing */
        assert_int_equal(lk__tz_parse(v1, sizeof v1, "v1", &tz, &err), -EINVAL);
        assert_string_equal(err.msg, "malformed time zone information in v1: truncated data");
        assert_null(tz);
}

static void test_rfc3339(void **state) {
        (void)state;
        int64_t t;
        int32_t ns;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_rfc3339_parse("2026-12-01T00:00:00Z", &t, &ns, &err), 0);
        assert_int_equal(t, 1796083200);
        assert_int_equal(lk_rfc3339_parse("2026-12-01T01:30:00.25+01:30", &t, &ns, &err), 0);
        assert_int_equal(t, 1796083200);
        assert_int_equal(ns, 250000000);
        assert_int_equal(lk_rfc3339_parse("2023-02-29T00:00:00Z", &t, &ns, &err), -EINVAL);
        assert_int_equal(lk_rfc3339_parse("2023-01-01 00:00:00Z", &t, &ns, &err), -EINVAL);
        assert_int_equal(lk_rfc3339_parse("2023-01-01T00:00:00", &t, &ns, &err), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_offsets),
                cmocka_unit_test(test_date),
                cmocka_unit_test(test_civil),
                cmocka_unit_test(test_bad_names),
                cmocka_unit_test(test_truncated_and_corrupt),
                cmocka_unit_test(test_hostile_counts),
                cmocka_unit_test(test_rfc3339),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
