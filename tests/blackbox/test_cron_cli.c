/* Black-box: `linkd cron next` as an operator types it. */
#include "lktest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linkd/alloc.h"

static void run(const char *const *argv, int want_status, const char *want_stdout, const char *stderr_has) {
        char *out = lktest_run_expect(argv, want_status, stderr_has);
        if (want_stdout)
                assert_string_equal(out, want_stdout);
        lk_free(out);
}

static void test_sequence(void **state) {
        (void)state;
        const char *argv[] = {"cron", "next", "CRON_TZ=UTC 0 0 0 1 * *", "--from", "2026-11-15T12:00:00Z",
                              "--count", "3", NULL};
        run(argv, 0, "2026-12-01T00:00:00Z\n2027-01-01T00:00:00Z\n2027-02-01T00:00:00Z\n", NULL);
}

static void test_default_count_and_unix_from(void **state) {
        (void)state;
        const char *argv[] = {"cron", "next", "--from", "0", "CRON_TZ=UTC */20 * * * * *", NULL};
        run(argv, 0,
            "1970-01-01T00:00:20Z\n1970-01-01T00:00:40Z\n1970-01-01T00:01:00Z\n1970-01-01T00:01:20Z\n"
            "1970-01-01T00:01:40Z\n",
            NULL);
}

static void test_zone_and_dst(void **state) {
        (void)state;
        /* 01:30 happens twice in New York on 2023-11-05: robfig fires twice */
        const char *argv[] = {"cron", "next", "CRON_TZ=America/New_York 0 30 1 * * *", "--from", "1699150000",
                              "--count", "3", NULL};
        run(argv, 0, "2023-11-05T05:30:00Z\n2023-11-05T06:30:00Z\n2023-11-06T06:30:00Z\n", NULL);
}

static void test_every_and_at(void **state) {
        (void)state;
        const char *every[] = {"cron", "next", "@every 1h30m", "--from", "2026-01-01T00:00:00+01:00", "--count", "2",
                               NULL};
        run(every, 0, "2026-01-01T00:30:00Z\n2026-01-01T02:00:00Z\n", NULL);
        const char *at[] = {"cron", "next", "@at 2026-12-01T00:00:00Z", "--from", "2026-01-01T00:00:00Z", NULL};
        run(at, 0, "2026-12-01T00:00:00Z\n", "does not fire again");
}

static void test_now_is_the_default(void **state) {
        (void)state;
        char *out = NULL, *err = NULL;
        const char *argv[] = {"cron", "next", "@every 1h", "--count", "1", NULL};
        assert_int_equal(lktest_run(argv, &out, &err), 0);
        int y = 0;
        assert_int_equal(sscanf(out, "%d-", &y), 1);
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        assert_true(y == tm.tm_year + 1900 || y == tm.tm_year + 1901);
        lk_free(out);
        lk_free(err);
}

static void test_errors(void **state) {
        (void)state;
        const char *no_zone[] = {"cron", "next", "0 0 1 1 * *", NULL};
        run(no_zone, 2, "", "cron schedule must specify a time zone using CRON_TZ");
        const char *bad_field[] = {"cron", "next", "CRON_TZ=UTC 60 * * * * *", NULL};
        run(bad_field, 2, "",
            "invalid cron schedule 'CRON_TZ=UTC 60 * * * * *': end of range (60) above maximum (59): 60");
        const char *bad_zone[] = {"cron", "next", "CRON_TZ=Mars/Olympus 0 * * * * *", NULL};
        run(bad_zone, 2, "", "unknown time zone Mars/Olympus");
        const char *bad_count[] = {"cron", "next", "@every 1s", "--count", "1001", NULL};
        run(bad_count, 2, "", "--count");
        const char *zero_count[] = {"cron", "next", "@every 1s", "--count", "0", NULL};
        run(zero_count, 2, "", "--count");
        const char *bad_from[] = {"cron", "next", "@every 1s", "--from", "yesterday", NULL};
        run(bad_from, 2, "", "--from");
        const char *missing[] = {"cron", "next", NULL};
        run(missing, 2, "", "usage: linkd cron next");
        const char *two[] = {"cron", "next", "@every 1s", "@every 2s", NULL};
        run(two, 2, "", "usage: linkd cron next");
        const char *unknown[] = {"cron", "prev", "@every 1s", NULL};
        run(unknown, 2, "", "usage: linkd cron next");
}

static void test_help_lists_cron(void **state) {
        (void)state;
        const char *argv[] = {"help", NULL};
        char *out = NULL, *err = NULL;
        assert_int_equal(lktest_run(argv, &out, &err), 0);
        assert_non_null(strstr(out, "cron next SCHEDULE"));
        lk_free(out);
        lk_free(err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sequence),
                cmocka_unit_test(test_default_count_and_unix_from),
                cmocka_unit_test(test_zone_and_dst),
                cmocka_unit_test(test_every_and_at),
                cmocka_unit_test(test_now_is_the_default),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_help_lists_cron),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
