/* UUIDs: the text form, the version and variant bits, the time prefix
 * of version 7, and no repeats. */
#include "lktest.h"

#include <stdlib.h>
#include <string.h>

#include "linkd/uuid.h"

static void assert_shape(const char *u, char version) {
        assert_int_equal(strlen(u), 36);
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        assert_int_equal(u[i], '-');
                else if (!strchr("0123456789abcdef", u[i]))
                        fail_msg("%s: not lowercase hex at %d", u, i);
        }
        assert_int_equal(u[14], version);
        if (!strchr("89ab", u[19]))
                fail_msg("%s: not the RFC 9562 variant", u);
}

static int compare_text(const void *a, const void *b) {
        return strcmp(a, b);
}

/* n of them sorted: no two alike. */
static void assert_distinct(char (*ids)[37], size_t n) {
        qsort(ids, n, sizeof *ids, compare_text);
        for (size_t i = 1; i < n; i++)
                if (strcmp(ids[i - 1], ids[i]) == 0)
                        fail_msg("%s twice", ids[i]);
}

#define MANY 20000

static void version_4_is_random(void **state) {
        (void)state;
        char(*ids)[37] = malloc(MANY * sizeof *ids);
        for (size_t i = 0; i < MANY; i++) {
                assert_int_equal(lk_uuid_v4(ids[i]), 0);
                assert_shape(ids[i], '4');
        }
        assert_distinct(ids, MANY);
        free(ids);
}

static void version_7_starts_with_the_time(void **state) {
        (void)state;
        char u[37];
        /* RFC 9562's example instant, 2022-02-22T19:22:22Z */
        assert_int_equal(lk_uuid_v7(u, INT64_C(0x017F22E279B0)), 0);
        assert_shape(u, '7');
        assert_memory_equal(u, "017f22e2-79b0-7", 15);
        /* the same millisecond: still distinct; a later one sorts after */
        char(*ids)[37] = malloc(MANY * sizeof *ids);
        for (size_t i = 0; i < MANY; i++)
                assert_int_equal(lk_uuid_v7(ids[i], INT64_C(1772323200000)), 0);
        char later[37];
        assert_int_equal(lk_uuid_v7(later, INT64_C(1772323200001)), 0);
        for (size_t i = 0; i < MANY; i++)
                assert_true(strcmp(ids[i], later) < 0);
        assert_distinct(ids, MANY);
        free(ids);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(version_4_is_random),
                cmocka_unit_test(version_7_starts_with_the_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
