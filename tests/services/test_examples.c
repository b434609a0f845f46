/* The two example programs print the seed's Output: blocks byte for byte. */
#include "lktest.h"

#include <stdio.h>
#include <sys/wait.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"

static void assert_program_prints(const char *env_name, const char *want) {
        const char *program = lktest_env(env_name);
        FILE *p = popen(program, "r");
        assert_non_null(p);
        lk_buf out = LK_BUF_INIT;
        char chunk[256];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
                lk_buf_append(&out, chunk, n);
        int status = pclose(p);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_string_equal(lk_buf_str(&out), want);
        lk_buf_done(&out);
}

static void multistart_prints_seed_output(void **state) {
        assert_program_prints("LINKD_EXAMPLE_MULTISTART",
                              "a started\n"
                              "b started\n"
                              "c start failure\n"
                              "b close failure\n"
                              "a closed\n"
                              "failed to start: c; failed to close: b\n");
}

static void multiclose_prints_seed_output(void **state) {
        assert_program_prints("LINKD_EXAMPLE_MULTICLOSE",
                              "f started\n"
                              "f started\n"
                              "f close failure\n"
                              "f close failure\n"
                              "failed to close: f; failed to close: f\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(multistart_prints_seed_output),
                cmocka_unit_test(multiclose_prints_seed_output),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
