/* Cron schedules against robfig/cron v3.0.1 and Chainlink's validation.
 *
 * The expected fire times and error texts below were produced by running
 * robfig/cron v3.0.1's parser.go/spec.go/constantdelay.go (Go 1.19, the
 * system zoneinfo) with the parser options Chainlink's validator uses;
 * linkd must agree with them to the second and to the byte. */
#include "lktest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/cron.h"
#include "linkd/tz.h"

static lk_cron *parse_ok(const char *text) {
        lk_cron *c = NULL;
        lk_err err = LK_ERR_INIT;
        if (lk_cron_parse(text, &c, &err) < 0)
                fail_msg("%s: %s", text, err.msg);
        return c;
}

static void format_time(lk_buf *out, int64_t t) {
        char buf[28];
        lk_time_format_rfc3339(buf, t * LK_USEC_PER_SEC);
        *strchr(buf, '.') = '\0';
        lk_buf_printf(out, "%sZ", buf);
}

/* The next n fire times after from, space-separated, "NONE" ending the
 * list when the schedule stops. */
static char *sequence(const char *text, int64_t from, int n) {
        lk_cron *c = parse_ok(text);
        lk_buf out = LK_BUF_INIT;
        int64_t t = from;
        for (int i = 0; i < n; i++) {
                if (i)
                        lk_buf_putc(&out, ' ');
                int64_t next = lk_cron_next(c, t);
                if (next == LK_CRON_NONE) {
                        lk_buf_puts(&out, "NONE");
                        break;
                }
                assert_true(next > t);
                format_time(&out, next);
                t = next;
        }
        lk_cron_free(c);
        return lk_buf_steal(&out, NULL);
}

typedef struct seq_case {
        const char *schedule;
        int64_t from;
        int count;
        const char *want;
} seq_case;

static void check_sequences(const seq_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char *got = sequence(cases[i].schedule, cases[i].from, cases[i].count);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("%s from %lld:\n got  %s\n want %s", cases[i].schedule, (long long)cases[i].from,
                                 got, cases[i].want);
                lk_free(got);
        }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_fields(void **state) {
        (void)state;
        static const seq_case cases[] = {
                {"CRON_TZ=UTC */20 * * * * *", 0, 3, "1970-01-01T00:00:20Z 1970-01-01T00:00:40Z 1970-01-01T00:01:00Z"},
                {"CRON_TZ=UTC * * * * * *", 1700000000, 3,
                 "2023-11-14T22:13:21Z 2023-11-14T22:13:22Z 2023-11-14T22:13:23Z"},
                {"CRON_TZ=UTC 30 * * * *", 1700000000, 2, "2023-11-14T22:30:00Z 2023-11-14T23:30:00Z"},
                {"CRON_TZ=UTC 5/20 1,2 3-4 * * *", 1700000000, 4,
                 "2023-11-15T03:01:05Z 2023-11-15T03:01:25Z 2023-11-15T03:01:45Z 2023-11-15T03:02:05Z"},
                {"CRON_TZ=UTC 0 0 1 2 * *", 1700000000, 3,
                 "2023-12-02T01:00:00Z 2024-01-02T01:00:00Z 2024-02-02T01:00:00Z"},
                {"CRON_TZ=UTC 0 0 0 * * */2", 1700000000, 3,
                 "2023-11-16T00:00:00Z 2023-11-18T00:00:00Z 2023-11-19T00:00:00Z"},
                {"CRON_TZ=UTC 0 0 0 * feb-mar/1 ?", 1700000000, 3,
                 "2024-02-01T00:00:00Z 2024-02-02T00:00:00Z 2024-02-03T00:00:00Z"},
                {"CRON_TZ=America/New_York 0 0 12 * * *", 1700000000, 3,
                 "2023-11-15T17:00:00Z 2023-11-16T17:00:00Z 2023-11-17T17:00:00Z"},
                {"CRON_TZ=Asia/Kathmandu 0 0 0 1 1 *", 1700000000, 3,
                 "2023-12-31T18:15:00Z 2024-12-31T18:15:00Z 2025-12-31T18:15:00Z"},
                {"CRON_TZ=Australia/Lord_Howe 0 15 2 * * *", 1700000000, 3,
                 "2023-11-15T15:15:00Z 2023-11-16T15:15:00Z 2023-11-17T15:15:00Z"},
        };
        check_sequences(cases, N(cases));
}

/* If dom or dow was written with * or ?, both must match, else either. */
static void test_dom_dow(void **state) {
        (void)state;
        static const seq_case cases[] = {
                {"CRON_TZ=UTC 0 0 0 13 * 5", 1700000000, 4,
                 "2023-11-17T00:00:00Z 2023-11-24T00:00:00Z 2023-12-01T00:00:00Z 2023-12-08T00:00:00Z"},
                {"CRON_TZ=UTC 0 0 0 13 * ?", 1700000000, 4,
                 "2023-12-13T00:00:00Z 2024-01-13T00:00:00Z 2024-02-13T00:00:00Z 2024-03-13T00:00:00Z"},
                {"CRON_TZ=UTC 0 0 0 ? * fri", 1700000000, 4,
                 "2023-11-17T00:00:00Z 2023-11-24T00:00:00Z 2023-12-01T00:00:00Z 2023-12-08T00:00:00Z"},
                {"CRON_TZ=UTC 0 0 0 1,15 * mon", 1700000000, 3,
                 "2023-11-15T00:00:00Z 2023-11-20T00:00:00Z 2023-11-27T00:00:00Z"},
                {"CRON_TZ=UTC 0 0 0 1-31/10 JAN,jun MON", 1700000000, 4,
                 "2024-01-01T00:00:00Z 2024-01-08T00:00:00Z 2024-01-11T00:00:00Z 2024-01-15T00:00:00Z"},
                {"CRON_TZ=UTC 0 0 0 29 2 1", 1700000000, 2, "2024-02-05T00:00:00Z 2024-02-12T00:00:00Z"},
        };
        check_sequences(cases, N(cases));
}

static void test_descriptors(void **state) {
        (void)state;
        static const seq_case cases[] = {
                {"CRON_TZ=UTC @weekly", 1700000000, 3, "2023-11-19T00:00:00Z 2023-11-26T00:00:00Z 2023-12-03T00:00:00Z"},
                {"CRON_TZ=UTC @monthly", 1700000000, 3,
                 "2023-12-01T00:00:00Z 2024-01-01T00:00:00Z 2024-02-01T00:00:00Z"},
                {"CRON_TZ=UTC @yearly", 1700000000, 3, "2024-01-01T00:00:00Z 2025-01-01T00:00:00Z 2026-01-01T00:00:00Z"},
                {"CRON_TZ=UTC @annually", 1700000000, 1, "2024-01-01T00:00:00Z"},
                {"CRON_TZ=UTC @hourly", 1700000000, 3, "2023-11-14T23:00:00Z 2023-11-15T00:00:00Z 2023-11-15T01:00:00Z"},
                {"CRON_TZ=Asia/Kathmandu @daily", 1700000000, 2, "2023-11-15T18:15:00Z 2023-11-16T18:15:00Z"},
                {"CRON_TZ=Asia/Kathmandu @midnight", 1700000000, 1, "2023-11-15T18:15:00Z"},
                {"CRON_TZ=Europe/Berlin @monthly", 1700000000, 3,
                 "2023-11-30T23:00:00Z 2023-12-31T23:00:00Z 2024-01-31T23:00:00Z"},
        };
        check_sequences(cases, N(cases));
}

static void test_year_wrap_and_leap_day(void **state) {
        (void)state;
        static const seq_case cases[] = {
                {"CRON_TZ=UTC 0 59 23 31 12 *", 1703980000, 3,
                 "2023-12-31T23:59:00Z 2024-12-31T23:59:00Z 2025-12-31T23:59:00Z"},
                {"CRON_TZ=UTC 0 0 0 29 2 *", 1700000000, 3,
                 "2024-02-29T00:00:00Z 2028-02-29T00:00:00Z 2032-02-29T00:00:00Z"},
                {"CRON_TZ=UTC 0 0 0 29 2 ?", 1709164800, 2, "2028-02-29T00:00:00Z 2032-02-29T00:00:00Z"},
                /* never: robfig gives up after five years */
                {"CRON_TZ=UTC 0 0 0 30 2 *", 1700000000, 2, "NONE"},
                {"CRON_TZ=UTC 0 0 0 31 2 ?", 1700000000, 3, "NONE"},
        };
        check_sequences(cases, N(cases));
}

/* robfig v3.0.1 skips a wall-clock time that does not exist on the day
 * clocks spring forward, and fires twice for one that happens twice on
 * the day they fall back. */
static void test_dst(void **state) {
        (void)state;
        static const seq_case cases[] = {
                {"CRON_TZ=America/New_York 0 30 2 * * *", 1678590000, 4,
                 "2023-03-13T06:30:00Z 2023-03-14T06:30:00Z 2023-03-15T06:30:00Z 2023-03-16T06:30:00Z"},
                {"CRON_TZ=America/New_York 0 */30 1-3 * * *", 1678590000, 4,
                 "2023-03-12T06:00:00Z 2023-03-12T06:30:00Z 2023-03-12T07:00:00Z 2023-03-12T07:30:00Z"},
                {"CRON_TZ=America/New_York 0 30 1 * * *", 1699150000, 3,
                 "2023-11-05T05:30:00Z 2023-11-05T06:30:00Z 2023-11-06T06:30:00Z"},
                {"CRON_TZ=America/New_York 0 */30 0-2 * * *", 1699150000, 5,
                 "2023-11-05T04:00:00Z 2023-11-05T04:30:00Z 2023-11-05T05:00:00Z 2023-11-05T05:30:00Z "
                 "2023-11-05T06:00:00Z"},
                {"CRON_TZ=Europe/Berlin 0 30 2 * * *", 1679788800, 3,
                 "2023-03-27T00:30:00Z 2023-03-28T00:30:00Z 2023-03-29T00:30:00Z"},
                {"CRON_TZ=Europe/Berlin 0 30 2 * * *", 1698530000, 3,
                 "2023-10-29T00:30:00Z 2023-10-29T01:30:00Z 2023-10-30T01:30:00Z"},
                {"CRON_TZ=Europe/Berlin 0 */30 1-3 * * *", 1698530000, 4,
                 "2023-10-28T23:00:00Z 2023-10-28T23:30:00Z 2023-10-29T00:00:00Z 2023-10-29T00:30:00Z"},
                /* Lord Howe moves its clocks by half an hour */
                {"CRON_TZ=Australia/Lord_Howe 0 15 1-2 * * *", 1696000000, 3,
                 "2023-09-29T15:45:00Z 2023-09-30T14:45:00Z 2023-10-01T14:15:00Z"},
        };
        check_sequences(cases, N(cases));
}

static void test_every(void **state) {
        (void)state;
        static const seq_case cases[] = {
                {"@every 1h30m", 1700000000, 3, "2023-11-14T23:43:20Z 2023-11-15T01:13:20Z 2023-11-15T02:43:20Z"},
                {"@every 10s", 0, 2, "1970-01-01T00:00:10Z 1970-01-01T00:00:20Z"},
                /* under a second is a second; fractions of a second are dropped */
                {"@every 0.5s", 0, 2, "1970-01-01T00:00:01Z 1970-01-01T00:00:02Z"},
                {"@every 2.9s", 0, 2, "1970-01-01T00:00:02Z 1970-01-01T00:00:04Z"},
                {"@every -1h", 0, 1, "1970-01-01T00:00:01Z"},
                {"@every 0", 0, 1, "1970-01-01T00:00:01Z"},
                {"@every .5h", 0, 1, "1970-01-01T00:30:00Z"},
                {"CRON_TZ=UTC @every 1h", 0, 1, "1970-01-01T01:00:00Z"},
        };
        check_sequences(cases, N(cases));
}

static void test_at(void **state) {
        (void)state;
        static const seq_case cases[] = {
                {"@at 2026-12-01T00:00:00Z", 1700000000, 3, "2026-12-01T00:00:00Z NONE"},
                {"@at 2026-12-01T01:00:00+01:00", 1700000000, 1, "2026-12-01T00:00:00Z"},
                {"@at 2026-12-01T00:00:00Z", 1796083200, 1, "NONE"}, /* exactly then: not after */
                {"@at 2026-12-01T00:00:00Z", 1796083199, 1, "2026-12-01T00:00:00Z"},
        };
        check_sequences(cases, N(cases));
}

/* From a given instant the answer never depends on earlier answers. */
static void test_next_is_stateless(void **state) {
        (void)state;
        lk_cron *c = parse_ok("CRON_TZ=Europe/Berlin 0 0 */5 * * *");
        int64_t a = lk_cron_next(c, 1700000000);
        for (int i = 0; i < 10; i++)
                lk_cron_next(c, 1700000000 + i * 99991);
        assert_int_equal(lk_cron_next(c, 1700000000), a);
        /* a fire time is never "after" itself */
        assert_true(lk_cron_next(c, a) > a);
        assert_int_equal(lk_cron_next(c, a - 1), a);
        lk_cron_free(c);
}

static void test_limits(void **state) {
        (void)state;
        lk_cron *c = parse_ok("CRON_TZ=UTC 0 0 0 1 1 *");
        assert_int_equal(lk_cron_next(c, LK_CRON_MAX_TIME + 1), LK_CRON_NONE);
        assert_int_equal(lk_cron_next(c, LK_CRON_MIN_TIME - 1), LK_CRON_NONE);
        assert_true(lk_cron_next(c, LK_CRON_MAX_TIME) > LK_CRON_MAX_TIME);
        lk_cron_free(c);
        /* empty lists match nothing (strings.FieldsFunc drops empty items) */
        c = parse_ok("CRON_TZ=UTC , * * * * *");
        assert_int_equal(lk_cron_next(c, 0), LK_CRON_NONE);
        lk_cron_free(c);
}

typedef struct err_case {
        const char *schedule;
        const char *want; /* after "invalid cron schedule '<s>': ", or the whole message */
} err_case;

static const char prefix_error[] = "cron schedule must specify a time zone using CRON_TZ, e.g. 'CRON_TZ=UTC 5 * * * *', "
                                   "or use the @every syntax, e.g. '@every 1h30m'";

static void test_errors(void **state) {
        (void)state;
        static const err_case cases[] = {
                {"CRON_TZ=UTC x x", "expected 5 to 6 fields, found 2: [x x]"},
                {"CRON_TZ=UTC 0 0 0 1 1 * 1", "expected 5 to 6 fields, found 7: [0 0 0 1 1 * 1]"},
                {"CRON_TZ=UTC 1-2-3 * * * *", "too many hyphens: 1-2-3"},
                {"CRON_TZ=UTC 1/2/3 * * * * *", "too many slashes: 1/2/3"},
                {"CRON_TZ=UTC */0 * * * * *", "step of range should be a positive number: */0"},
                {"CRON_TZ=UTC 5-1 * * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
                {"CRON_TZ=UTC 60 * * * * *", "end of range (60) above maximum (59): 60"},
                {"CRON_TZ=UTC 0 0 12 * * 7", "end of range (7) above maximum (6): 7"},
                {"CRON_TZ=UTC 0 0 0 0 * *", "beginning of range (0) below minimum (1): 0"},
                {"CRON_TZ=UTC 0 0 0 * * x", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"},
                {"CRON_TZ=UTC 0 0 0 * * */-2", "negative number (-2) not allowed: -2"},
                {"CRON_TZ=UTC 0 0 0 * 99999999999999999999 *",
                 "failed to parse int from 99999999999999999999: strconv.Atoi: parsing \"99999999999999999999\": value "
                 "out of range"},
                {"CRON_TZ=UTC 0 0 0 * * mon-",
                 "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax"},
                {"CRON_TZ=Bad/Zone 0 * * * * *", "provided bad location Bad/Zone: unknown time zone Bad/Zone"},
                {"CRON_TZ=../etc/passwd 0 * * * * *",
                 "provided bad location ../etc/passwd: time: invalid location name"},
                {"CRON_TZ=UTC @foo", "unrecognized descriptor: @foo"},
                {"@every 1x", "failed to parse duration @every 1x: time: unknown unit \"x\" in duration \"1x\""},
                {"@every 1", "failed to parse duration @every 1: time: missing unit in duration \"1\""},
                {"@every ", "failed to parse duration @every : time: invalid duration \"\""},
                {"@every  1h", "failed to parse duration @every  1h: time: invalid duration \" 1h\""},
                {"CRON_TZ=UTC", "missing schedule after the time zone"},
                {"@at 2026-13-01T00:00:00Z", "RFC 3339 time out of range: \"2026-13-01T00:00:00Z\""},
                {"@at tomorrow", "invalid RFC 3339 time \"tomorrow\""},
        };
        for (size_t i = 0; i < N(cases); i++) {
                lk_cron *c = NULL;
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_cron_parse(cases[i].schedule, &c, &err), -EINVAL);
                assert_null(c);
                char *want = lk_asprintf("invalid cron schedule '%s': %s", cases[i].schedule, cases[i].want);
                assert_string_equal(err.msg, want);
                lk_free(want);
        }
        /* without an lk_err, failures still fail */
        static const char *const quiet[] = {"CRON_TZ=UTC 0 0 0 * * x", "@every 1x", "CRON_TZ=Bad/Zone @daily",
                                            "CRON_TZ=UTC 0 0 0 * * */-2"};
        for (size_t i = 0; i < N(quiet); i++) {
                lk_cron *c = NULL;
                assert_int_equal(lk_cron_parse(quiet[i], &c, NULL), -EINVAL);
                assert_null(c);
        }
        static const char *const unzoned[] = {"0 0 1 1 * *", "@hourly", "TZ=UTC 0 * * * * *", "@every1h", ""};
        for (size_t i = 0; i < N(unzoned); i++) {
                lk_cron *c = NULL;
                lk_err err = LK_ERR_INIT;
                assert_int_equal(lk_cron_parse(unzoned[i], &c, &err), -EINVAL);
                assert_string_equal(err.msg, prefix_error);
        }
}

/* Chainlink's own examples, and forms robfig accepts quietly. */
static void test_accepted(void **state) {
        (void)state;
        static const char *const ok[] = {
                "CRON_TZ=UTC 0 0 1 1 * *", "CRON_TZ=UTC */10 * * * * *", "CRON_TZ=UTC 0 0 1 1 *",
                "CRON_TZ=UTC @hourly",     "@every 1h30m",                "CRON_TZ= 0 * * * * *",
                "CRON_TZ=UTC *-5 * * * *", "CRON_TZ=UTC 1,,2 * * * *",    "CRON_TZ=Local 0 * * * * *",
                "CRON_TZ=UTC   0 0 * * *   ", "CRON_TZ=UTC 0 0 0 * JAN-dec Sun-SAT",
        };
        for (size_t i = 0; i < N(ok); i++)
                lk_cron_free(parse_ok(ok[i]));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_dom_dow),
                cmocka_unit_test(test_descriptors),
                cmocka_unit_test(test_year_wrap_and_leap_day),
                cmocka_unit_test(test_dst),
                cmocka_unit_test(test_every),
                cmocka_unit_test(test_at),
                cmocka_unit_test(test_next_is_stateless),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_accepted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
