#include "lktest.h"

#include <errno.h>
#include <string.h>

#include "linkd/err.h"

static void set_and_prefix(void **state) {
        (void)state;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_err_set(&err, -EINVAL, "bad %s", "thing"), -EINVAL);
        assert_string_equal(err.msg, "bad thing");
        lk_err_prefix(&err, "config %d", 7);
        assert_string_equal(err.msg, "config 7: bad thing");
        assert_int_equal(err.code, -EINVAL);
}

static void join_like_multierr(void **state) {
        (void)state;
        lk_err all = LK_ERR_INIT, one = LK_ERR_INIT, none = LK_ERR_INIT;
        lk_err_join(&all, &none);
        assert_false(lk_err_is_set(&all));
        lk_err_set(&one, -EIO, "failed to start: c");
        lk_err_join(&all, &one);
        lk_err_set(&one, -EPIPE, "failed to close: b");
        lk_err_join(&all, &one);
        assert_string_equal(all.msg, "failed to start: c; failed to close: b");
        assert_int_equal(all.code, -EIO);
}

static void truncates_with_ellipsis(void **state) {
        (void)state;
        lk_err err = LK_ERR_INIT;
        char big[3000];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        lk_err_set(&err, -E2BIG, "%s", big);
        assert_int_equal(strlen(err.msg), LK_ERR_MSG_MAX - 1);
        assert_string_equal(err.msg + LK_ERR_MSG_MAX - 4, "...");
}

static void null_err_is_allowed(void **state) {
        (void)state;
        assert_int_equal(lk_err_set(NULL, -ENOENT, "nobody listens"), -ENOENT);
        assert_string_equal(lk_err_msg(NULL), "");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(set_and_prefix),
                cmocka_unit_test(join_like_multierr),
                cmocka_unit_test(truncates_with_ellipsis),
                cmocka_unit_test(null_err_is_allowed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
