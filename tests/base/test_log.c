/* Structured logging: logfmt and JSON lines, levels, quoting. */
#include "lktest.h"

#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "linkd/alloc.h"
#include "linkd/buf.h"
#include "linkd/log.h"

/* Emits through a pipe and returns what was written (lk_free it). */
typedef struct capture {
        int fds[2];
} capture;

static lk_log *open_capture(capture *c, lk_log_level level, bool json) {
        assert_int_equal(pipe2(c->fds, O_NONBLOCK), 0);
        return lk_log_new(&(lk_log_options){.fd = c->fds[1], .level = level, .json = json});
}

static char *close_capture(capture *c) {
        close(c->fds[1]);
        lk_buf out = LK_BUF_INIT;
        char chunk[4096];
        ssize_t n;
        while ((n = read(c->fds[0], chunk, sizeof chunk)) > 0)
                lk_buf_append(&out, chunk, (size_t)n);
        close(c->fds[0]);
        return lk_buf_steal(&out, NULL);
}

static void logfmt_line(void **state) {
        capture c;
        lk_log *root = open_capture(&c, LK_LOG_INFO, false);
        lk_log *named = lk_log_named(root, "HealthChecker");
        lk_log *sub = lk_log_named(named, "Poller");
        lk_log_info(sub, "Health check failing", LK_STR("check", "EVM.1"), LK_STR("err", "said \"no\""),
                    LK_INT("n", -3), LK_BOOL("ok", false), LK_DURATION("took", 1500));
        lk_log_free(sub);
        lk_log_free(named);
        lk_log_free(root);
        char *out = close_capture(&c);
        const char *rest = strstr(out, " level=info ");
        assert_non_null(rest);
        assert_true(strncmp(out, "ts=", 3) == 0);
        assert_string_equal(rest, " level=info logger=HealthChecker.Poller msg=\"Health check failing\" check=EVM.1 "
                                  "err=\"said \\\"no\\\"\" n=-3 ok=false took=1.5ms\n");
        lk_free(out);
}

static void json_line_parses(void **state) {
        capture c;
        lk_log *root = open_capture(&c, LK_LOG_DEBUG, true);
        lk_log_warn(root, "multi\nline", LK_STR("k", "tab\there"), LK_UINT("u", 42));
        lk_log_free(root);
        char *out = close_capture(&c);
        json_error_t jerr;
        json_t *j = json_loads(out, 0, &jerr);
        if (!j)
                fail_msg("not JSON: %s (%s)", out, jerr.text);
        assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
        assert_string_equal(json_string_value(json_object_get(j, "msg")), "multi\nline");
        assert_string_equal(json_string_value(json_object_get(j, "k")), "tab\there");
        assert_int_equal(json_integer_value(json_object_get(j, "u")), 42);
        assert_non_null(json_string_value(json_object_get(j, "ts")));
        json_decref(j);
        assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1); /* exactly one line */
        lk_free(out);
}

static void levels_filter(void **state) {
        capture c;
        lk_log *root = open_capture(&c, LK_LOG_WARN, false);
        lk_log_debug(root, "hidden");
        lk_log_info(root, "hidden");
        lk_log_error(root, "shown");
        assert_false(lk_log_enabled(root, LK_LOG_INFO));
        lk_log_set_level(root, LK_LOG_DEBUG);
        lk_log_debug(root, "now shown");
        lk_log_free(root);
        char *out = close_capture(&c);
        assert_null(strstr(out, "hidden"));
        assert_non_null(strstr(out, "msg=shown"));
        assert_non_null(strstr(out, "msg=\"now shown\""));
        lk_free(out);
        lk_log_emit(NULL, LK_LOG_ERROR, "goes nowhere", LK_FIELD_END_);
}

static void level_names(void **state) {
        const char *names[] = {"debug", "info", "warn", "error", "crit", "panic", "fatal"};
        for (int i = 0; i < 7; i++) {
                lk_log_level level;
                assert_int_equal(lk_log_level_parse(names[i], &level), 0);
                assert_int_equal(level, i);
                assert_string_equal(lk_log_level_name(level), names[i]);
        }
        lk_log_level level;
        assert_true(lk_log_level_parse("verbose", &level) < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(logfmt_line),
                cmocka_unit_test(json_line_parses),
                cmocka_unit_test(levels_filter),
                cmocka_unit_test(level_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
