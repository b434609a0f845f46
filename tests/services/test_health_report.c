/* Health reports: sorted, replace on set, join on copy. */
#include "lktest.h"

#include "linkd/health.h"

static void sorted_by_name(void **state) {
        lk_health_report *r = lk_health_report_new();
        lk_health_report_set(r, "EVM.1.Txm", NULL);
        lk_health_report_set(r, "Database", "down");
        lk_health_report_set(r, "EVM.1.HeadTracker", NULL);
        assert_int_equal(lk_health_report_len(r), 3);
        assert_string_equal(lk_health_report_name(r, 0), "Database");
        assert_string_equal(lk_health_report_name(r, 1), "EVM.1.HeadTracker");
        assert_string_equal(lk_health_report_name(r, 2), "EVM.1.Txm");
        assert_string_equal(lk_health_report_error(r, 0), "down");
        assert_null(lk_health_report_error(r, 1));
        assert_false(lk_health_report_passing(r));
        assert_int_equal(lk_health_report_failing_count(r), 1);
        lk_health_report_free(r);
}

static void set_replaces(void **state) {
        lk_health_report *r = lk_health_report_new();
        lk_health_report_set(r, "a", "bad");
        lk_health_report_set(r, "a", NULL);
        const char *error = "unset";
        assert_true(lk_health_report_get(r, "a", &error));
        assert_null(error);
        assert_false(lk_health_report_get(r, "b", NULL));
        assert_true(lk_health_report_passing(r));
        lk_health_report_free(r);
}

static void copy_joins_duplicate_failures(void **state) {
        lk_health_report *dst = lk_health_report_new(), *src = lk_health_report_new();
        lk_health_report_set(dst, "x", "first");
        lk_health_report_set(dst, "y", NULL);
        lk_health_report_set(src, "x", "second");
        lk_health_report_set(src, "y", "now bad");
        lk_health_report_set(src, "z", NULL);
        lk_health_report_copy(dst, src);
        const char *error;
        assert_true(lk_health_report_get(dst, "x", &error));
        assert_string_equal(error, "first; second");
        assert_true(lk_health_report_get(dst, "y", &error));
        assert_string_equal(error, "now bad");
        assert_true(lk_health_report_get(dst, "z", &error));
        assert_null(error);
        lk_health_report_free(dst);
        lk_health_report_free(src);
}

static void empty_passes_and_free_null(void **state) {
        lk_health_report *r = lk_health_report_new();
        assert_true(lk_health_report_passing(r));
        assert_int_equal(lk_health_report_len(r), 0);
        assert_null(lk_health_report_free(r));
        assert_null(lk_health_report_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(sorted_by_name),
                cmocka_unit_test(set_replaces),
                cmocka_unit_test(copy_joins_duplicate_failures),
                cmocka_unit_test(empty_passes_and_free_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
