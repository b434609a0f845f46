/* Probe bodies: Chainlink's JSON:API and text forms, Prometheus text. */
#include "lktest.h"

#include <jansson.h>
#include <string.h>

#include "linkd/alloc.h"
#include "web/render.h"

static lk_health_report *sample(void) {
        lk_health_report *r = lk_health_report_new();
        lk_health_report_set(r, "EVM.1399100.HeadTracker.HeadListener", "Listener connected = true, receiving heads = false");
        lk_health_report_set(r, "Database", NULL);
        lk_health_report_set(r, "Weird\"Name", "line one\nline two");
        return r;
}

static void json_matches_chainlink_shape(void **state) {
        lk_health_report *r = sample();
        lk_buf out = LK_BUF_INIT;
        lk__render_checks_json(&out, r, false, false);
        assert_string_equal(lk_buf_str(&out),
                "{\"data\":["
                "{\"type\":\"checks\",\"id\":\"Database\",\"attributes\":{\"name\":\"Database\",\"status\":\"passing\",\"output\":\"\"}},"
                "{\"type\":\"checks\",\"id\":\"EVM.1399100.HeadTracker.HeadListener\",\"attributes\":{\"name\":"
                "\"EVM.1399100.HeadTracker.HeadListener\",\"status\":\"failing\",\"output\":"
                "\"Listener connected = true, receiving heads = false\"}},"
                "{\"type\":\"checks\",\"id\":\"Weird\\\"Name\",\"attributes\":{\"name\":\"Weird\\\"Name\",\"status\":"
                "\"failing\",\"output\":\"line one\\nline two\"}}"
                "]}");
        json_error_t jerr;
        json_t *j = json_loads(lk_buf_str(&out), 0, &jerr);
        assert_non_null(j);
        assert_int_equal(json_array_size(json_object_get(j, "data")), 3);
        json_decref(j);
        lk_buf_reset(&out);
        lk__render_checks_json(&out, r, true, false);
        assert_null(strstr(lk_buf_str(&out), "Database"));
        assert_non_null(strstr(lk_buf_str(&out), "HeadListener"));
        lk_buf_reset(&out);
        lk__render_checks_json(&out, r, false, true);
        assert_null(strstr(lk_buf_str(&out), "receiving heads"));
        assert_null(strstr(lk_buf_str(&out), "line one"));
        assert_non_null(strstr(lk_buf_str(&out), "\"status\":\"failing\",\"output\":\"\""));
        lk_buf_done(&out);
        lk_health_report_free(r);

        lk_health_report *empty = lk_health_report_new();
        lk__render_checks_json(&out, empty, false, false);
        assert_string_equal(lk_buf_str(&out), "{\"data\":[]}");
        lk_buf_done(&out);
        lk_health_report_free(empty);
}

static void text_form(void **state) {
        lk_health_report *r = sample();
        lk_buf out = LK_BUF_INIT;
        lk__render_checks_text(&out, r, false, false);
        assert_string_equal(lk_buf_str(&out),
                            "ok Database\n"
                            "!  EVM.1399100.HeadTracker.HeadListener\n"
                            "\tListener connected = true, receiving heads = false\n"
                            "!  Weird\"Name\n"
                            "\tline one\n"
                            "\tline two\n");
        lk_buf_reset(&out);
        lk__render_checks_text(&out, r, true, false);
        assert_null(strstr(lk_buf_str(&out), "ok Database"));
        lk_buf_reset(&out);
        /* for anonymous callers: the names and states, not the outputs */
        lk__render_checks_text(&out, r, false, true);
        assert_string_equal(lk_buf_str(&out),
                            "ok Database\n"
                            "!  EVM.1399100.HeadTracker.HeadListener\n"
                            "!  Weird\"Name\n");
        lk_buf_done(&out);
        lk_health_report_free(r);
}

static void metrics_exposition(void **state) {
        lk_health_snapshot s = {.health = sample(), .readiness = lk_health_report_new()};
        lk_proc_stats proc = {.resident_bytes = 4096, .threads = 5, .open_fds = 7, .max_fds = 1024,
                              .cpu_seconds = 1.25, .start_time = 1700000000 * LK_USEC_PER_SEC};
        lk__metrics_input in = {.snapshot = &s, .proc = &proc, .version = "0.1.0", .commit = "abc\"def",
                                .uptime_seconds = 12.5, .heap_bytes = 1000};
        lk_buf out = LK_BUF_INIT;
        lk__render_metrics(&out, &in);
        const char *text = lk_buf_str(&out);
        const char *want[] = {
                "# HELP health Health status by service\n# TYPE health gauge\n",
                "health{service_id=\"Database\"} 1\n",
                "health{service_id=\"EVM.1399100.HeadTracker.HeadListener\"} 0\n",
                "health{service_id=\"Weird\\\"Name\"} 0\n",
                "# TYPE uptime_seconds counter\nuptime_seconds 12.500\n",
                "version{commit=\"abc\\\"def\",version=\"0.1.0\"} 1\n",
                "linkd_heap_bytes 1000\n",
                "process_resident_memory_bytes 4096\n",
                "process_threads 5\n",
                "process_open_fds 7\n",
                "process_cpu_seconds_total 1.25\n",
                "process_start_time_seconds 1700000000.00\n",
        };
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
                if (!strstr(text, want[i]))
                        fail_msg("missing %s in:\n%s", want[i], text);
        /* Every line is a comment or "name{labels} value". */
        for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
                if (*line == '#')
                        continue;
                const char *space = strchr(line, ' ');
                assert_non_null(space);
                assert_true(space < strchr(line, '\n'));
        }
        lk_buf_done(&out);
        lk_health_report_free(s.health);
        lk_health_report_free(s.readiness);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(json_matches_chainlink_shape),
                cmocka_unit_test(text_form),
                cmocka_unit_test(metrics_exposition),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
