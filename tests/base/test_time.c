/* Durations and sizes in Chainlink's spellings, RFC 3339, contexts. */
#include "lktest.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "linkd/ctx.h"
#include "linkd/size.h"
#include "linkd/time.h"

static void assert_duration(const char *text, lk_usec want) {
        lk_usec got = -1;
        lk_err err = LK_ERR_INIT;
        if (lk_duration_parse(text, &got, &err) < 0)
                fail_msg("%s: %s", text, err.msg);
        assert_int_equal(got, want);
}

static void assert_bad_duration(const char *text, const char *want_msg) {
        lk_usec got = 77;
        lk_err err = LK_ERR_INIT;
        assert_true(lk_duration_parse(text, &got, &err) < 0);
        assert_int_equal(got, 77);
        assert_string_equal(err.msg, want_msg);
}

static void parses_go_durations(void **state) {
        assert_duration("0", 0);
        assert_duration("10s", 10 * LK_USEC_PER_SEC);
        assert_duration("1m30s", 90 * LK_USEC_PER_SEC);
        assert_duration("100ms", 100 * LK_USEC_PER_MSEC);
        assert_duration("1.5h", 5400 * LK_USEC_PER_SEC);
        assert_duration("2h45m", (2 * 3600 + 45 * 60) * LK_USEC_PER_SEC);
        assert_duration("250us", 250);
        assert_duration("250\xc2\xb5s", 250);
        assert_duration("1500ns", 1);
        assert_duration("+5s", 5 * LK_USEC_PER_SEC);
        assert_duration(".5s", 500 * LK_USEC_PER_MSEC);
}

static void rejects_bad_durations(void **state) {
        assert_bad_duration("", "invalid duration \"\"");
        assert_bad_duration("10", "missing unit in duration \"10\"");
        assert_bad_duration("10x", "unknown unit \"x\" in duration \"10x\"");
        assert_bad_duration("-1s", "invalid duration \"-1s\": must not be negative");
        assert_bad_duration("s", "invalid duration \"s\"");
        assert_bad_duration("1s ", "invalid duration \"1s \"");
        assert_bad_duration("9999999999h", "invalid duration \"9999999999h\": too large");
}

static void assert_format(lk_usec usec, const char *want) {
        lk_buf b = LK_BUF_INIT;
        lk_duration_format(&b, usec);
        assert_string_equal(lk_buf_str(&b), want);
        lk_buf_done(&b);
}

static void formats_like_go(void **state) {
        assert_format(0, "0s");
        assert_format(5 * LK_USEC_PER_SEC, "5s");
        assert_format(90 * LK_USEC_PER_SEC, "1m30s");
        assert_format(3600 * LK_USEC_PER_SEC, "1h0m0s");
        assert_format(100 * LK_USEC_PER_MSEC, "100ms");
        assert_format(1500, "1.5ms");
        assert_format(250, "250\xc2\xb5s");
        assert_format(1500 * LK_USEC_PER_MSEC, "1.5s");
        assert_format(15 * 60 * LK_USEC_PER_SEC, "15m0s");
}

static void sizes(void **state) {
        struct {
                const char *text;
                uint64_t bytes;
                const char *formatted;
        } cases[] = {
                {"100mb", 100000000, "100.00mb"}, {"4gb", 4000000000, "4.00gb"},
                {"32768b", 32768, "32.77kb"},     {"512", 512, "512b"},
                {"1.5KB", 1500, "1.50kb"},        {"2tb", 2000000000000, "2.00tb"},
                {" 10mb ", 10000000, "10.00mb"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t got = 0;
                lk_err err = LK_ERR_INIT;
                if (lk_size_parse(cases[i].text, &got, &err) < 0)
                        fail_msg("%s: %s", cases[i].text, err.msg);
                assert_int_equal(got, cases[i].bytes);
                lk_buf b = LK_BUF_INIT;
                lk_size_format(&b, got);
                assert_string_equal(lk_buf_str(&b), cases[i].formatted);
                lk_buf_done(&b);
        }
        lk_err err = LK_ERR_INIT;
        uint64_t got;
        assert_int_equal(lk_size_parse("10pb", &got, &err), -EINVAL);
        assert_string_equal(err.msg, "invalid size \"10pb\": unknown unit \"pb\" (use b, kb, mb, gb or tb)");
        assert_int_equal(lk_size_parse("mb", &got, &err), -EINVAL);
        assert_int_equal(lk_size_parse("10 mb", &got, &err), -EINVAL);
        assert_int_equal(lk_size_parse("99999999999999999999tb", &got, &err), -ERANGE);
}

static void rfc3339(void **state) {
        char buf[28];
        lk_time_format_rfc3339(buf, INT64_C(1700000000123456));
        assert_string_equal(buf, "2023-11-14T22:13:20.123456Z");
}

static void ctx_deadline_and_cancel(void **state) {
        lk_ctx ctx;
        lk_ctx_init(&ctx, 20 * LK_USEC_PER_MSEC);
        assert_int_equal(lk_ctx_err(&ctx), 0);
        assert_int_equal(lk_ctx_sleep(&ctx, 3600 * LK_USEC_PER_SEC), -ETIMEDOUT);
        assert_string_equal(lk_ctx_strerror(lk_ctx_err(&ctx)), "context deadline exceeded");
        lk_ctx_cancel(&ctx); /* an ended context keeps its first cause */
        assert_int_equal(lk_ctx_err(&ctx), -ETIMEDOUT);
        lk_ctx_done(&ctx);

        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        assert_int_equal(lk_ctx_sleep(&ctx, 1000), 0);
        lk_ctx_cancel(&ctx);
        assert_int_equal(lk_ctx_sleep(&ctx, 3600 * LK_USEC_PER_SEC), -ECANCELED);
        assert_string_equal(lk_ctx_strerror(lk_ctx_err(&ctx)), "context canceled");
        lk_ctx_done(&ctx);
        assert_int_equal(lk_ctx_err(NULL), 0);
}

static void *cancel_later(void *arg) {
        lk_ctx_sleep(NULL, 10 * LK_USEC_PER_MSEC);
        lk_ctx_cancel(arg);
        return NULL;
}

/* A sleeper wakes when another thread cancels (else: an hour, and the
 * runner's timeout fails the test). */
static void ctx_cancel_wakes_sleepers(void **state) {
        lk_ctx ctx;
        lk_ctx_init(&ctx, LK_USEC_INFINITY);
        pthread_t t;
        pthread_create(&t, NULL, cancel_later, &ctx);
        assert_int_equal(lk_ctx_sleep(&ctx, 3600 * LK_USEC_PER_SEC), -ECANCELED);
        pthread_join(t, NULL);
        lk_ctx_done(&ctx);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_go_durations),
                cmocka_unit_test(rejects_bad_durations),
                cmocka_unit_test(formats_like_go),
                cmocka_unit_test(sizes),
                cmocka_unit_test(rfc3339),
                cmocka_unit_test(ctx_deadline_and_cancel),
                cmocka_unit_test(ctx_cancel_wakes_sleepers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
