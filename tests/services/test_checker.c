/* The health Checker: registration rules, polling, caching, purging,
 * and that probes never wait for a service. */
#include "lktest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake_service.h"
#include "linkd/alloc.h"
#include "linkd/checker.h"

#define WAIT_LIMIT (10 * LK_USEC_PER_SEC)

typedef struct fixture {
        lk_checker *checker;
        fake_service a, b;
        lk_ctx ctx;
} fixture;

static fixture *make(lk_usec interval) {
        fixture *f = lk_calloc(1, sizeof *f);
        f->checker = lk_checker_new(&(lk_checker_options){.poll_interval = interval});
        fake_service_init(&f->a, "a", NULL);
        fake_service_init(&f->b, "b", NULL);
        lk_ctx_init(&f->ctx, LK_USEC_INFINITY);
        return f;
}

static int setup_slow(void **state) {
        *state = make(3600 * LK_USEC_PER_SEC); /* only explicit polls */
        return 0;
}

static int setup_fast(void **state) {
        *state = make(20 * LK_USEC_PER_MSEC);
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        lk_service_close(lk_checker_service(f->checker), NULL);
        lk_checker_free(f->checker);
        fake_service_done(&f->a);
        fake_service_done(&f->b);
        lk_ctx_done(&f->ctx);
        lk_free(f);
        return 0;
}

static void start(fixture *f) {
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_service_start(lk_checker_service(f->checker), &f->ctx, &err), 0);
}

/* The error the latest snapshot holds for name in the health (or
 * readiness) map; "<absent>" when there is no entry. */
static const char *entry(fixture *f, bool readiness, const char *name, char *buf, size_t size) {
        lk_health_snapshot *s = lk_checker_snapshot(f->checker);
        const char *error;
        if (!lk_health_report_get(readiness ? s->readiness : s->health, name, &error))
                snprintf(buf, size, "<absent>");
        else
                snprintf(buf, size, "%s", error ? error : "<passing>");
        lk_health_snapshot_unref(s);
        return buf;
}

/* Waits for a poll that reflects a change: the generation must advance. */
static void wait_for_poll(fixture *f) {
        lk_health_snapshot *s = lk_checker_snapshot(f->checker);
        uint64_t gen = s->generation;
        lk_health_snapshot_unref(s);
        lk_checker_poll_soon(f->checker);
        lk_usec until = lk_now_monotonic() + WAIT_LIMIT;
        for (;;) {
                s = lk_checker_snapshot(f->checker);
                bool advanced = s->generation > gen;
                lk_health_snapshot_unref(s);
                if (advanced)
                        return;
                assert_true(lk_now_monotonic() < until);
                usleep(1000);
        }
}

static void register_rejects_bad_names(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_checker_register(f->checker, "", &f->a.service, &err), -EINVAL);
        assert_string_equal(err.msg, "misconfigured check \"\" for a");
        assert_int_equal(lk_checker_register(f->checker, "x", NULL, &err), -EINVAL);
        assert_string_equal(err.msg, "misconfigured check \"x\" for <nil>");
        assert_int_equal(lk_checker_register(f->checker, "a", &f->a.service, &err), 0);
        assert_int_equal(lk_checker_register(f->checker, "a", &f->b.service, &err), -EINVAL);
        assert_string_equal(err.msg, "duplicate name \"a\": service names must be unique");
        assert_int_equal(lk_checker_register(f->checker, LK_CHECKER_NAME, &f->b.service, &err), -EINVAL);
}

static void unregister_errors(void **state) {
        fixture *f = *state;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_checker_unregister(f->checker, "", &err), -EINVAL);
        assert_string_equal(err.msg, "name cannot be empty");
        assert_int_equal(lk_checker_unregister(f->checker, "nope", &err), -ENOENT);
        assert_string_equal(err.msg, "no check named \"nope\"");
}

static void not_ready_until_started(void **state) {
        fixture *f = *state;
        char buf[128];
        lk_checker_register(f->checker, "a", &f->a.service, NULL);
        lk_health_report *errors = NULL;
        assert_false(lk_checker_is_ready(f->checker, &errors));
        const char *error;
        assert_true(lk_health_report_get(errors, LK_CHECKER_NAME, &error));
        assert_string_equal(error, "service is \"Unstarted\", not started");
        lk_health_report_free(errors);
        assert_int_equal(fake_service_health_calls(&f->a), 0);
        start(f);
        assert_true(lk_checker_is_ready(f->checker, NULL));
        assert_string_equal(entry(f, false, LK_CHECKER_NAME, buf, sizeof buf), "<passing>");
}

static void polls_immediately_at_start(void **state) {
        fixture *f = *state;
        char buf[128];
        fake_service_set_health(&f->a, "still warming up", "disk full");
        lk_checker_register(f->checker, "a", &f->a.service, NULL);
        start(f);
        /* No tick has passed (the interval is an hour): the start polled. */
        assert_int_equal(fake_service_health_calls(&f->a), 1);
        assert_string_equal(entry(f, true, "a", buf, sizeof buf), "still warming up");
        assert_string_equal(entry(f, false, "a", buf, sizeof buf), "disk full");
        lk_health_report *errors = NULL;
        assert_false(lk_checker_is_healthy(f->checker, &errors));
        assert_int_equal(lk_health_report_failing_count(errors), 1);
        lk_health_report_free(errors);
}

static void polls_every_interval(void **state) {
        fixture *f = *state;
        lk_checker_register(f->checker, "a", &f->a.service, NULL);
        start(f);
        lk_usec until = lk_now_monotonic() + WAIT_LIMIT;
        while (fake_service_health_calls(&f->a) < 5) {
                assert_true(lk_now_monotonic() < until);
                usleep(1000);
        }
}

static void reflects_failure_and_recovery(void **state) {
        fixture *f = *state;
        char buf[128];
        lk_checker_register(f->checker, "a", &f->a.service, NULL);
        start(f);
        assert_true(lk_checker_is_healthy(f->checker, NULL));
        fake_service_set_health(&f->a, NULL, "connection refused");
        /* Cached: nothing changes until the next poll. */
        assert_true(lk_checker_is_healthy(f->checker, NULL));
        wait_for_poll(f);
        assert_false(lk_checker_is_healthy(f->checker, NULL));
        assert_true(lk_checker_is_ready(f->checker, NULL));
        assert_string_equal(entry(f, false, "a", buf, sizeof buf), "connection refused");
        fake_service_set_health(&f->a, NULL, NULL);
        wait_for_poll(f);
        assert_true(lk_checker_is_healthy(f->checker, NULL));
}

static void unregister_purges_cached_results(void **state) {
        fixture *f = *state;
        char buf[128];
        fake_service_set_health(&f->a, "not ready", "broken");
        lk_checker_register(f->checker, "a", &f->a.service, NULL);
        lk_checker_register(f->checker, "b", &f->b.service, NULL);
        start(f);
        assert_false(lk_checker_is_healthy(f->checker, NULL));
        assert_int_equal(lk_checker_unregister(f->checker, "a", NULL), 0);
        /* Chainlink would keep reporting a's last failure; we do not. */
        assert_true(lk_checker_is_healthy(f->checker, NULL));
        assert_true(lk_checker_is_ready(f->checker, NULL));
        assert_string_equal(entry(f, false, "a", buf, sizeof buf), "<absent>");
        assert_string_equal(entry(f, false, "b", buf, sizeof buf), "<passing>");
        int calls = fake_service_health_calls(&f->a);
        wait_for_poll(f);
        assert_int_equal(fake_service_health_calls(&f->a), calls);
}

static void sub_service_entries_come_and_go(void **state) {
        fixture *f = *state;
        char buf[128];
        f->a.sub_service = "HeadTracker";
        lk_checker_register(f->checker, "a", &f->a.service, NULL);
        start(f);
        assert_string_equal(entry(f, false, "a.HeadTracker", buf, sizeof buf), "<passing>");
        /* Readiness is keyed by the registered name only. */
        assert_string_equal(entry(f, true, "a.HeadTracker", buf, sizeof buf), "<absent>");
        f->a.sub_service = NULL;
        wait_for_poll(f);
        assert_string_equal(entry(f, false, "a.HeadTracker", buf, sizeof buf), "<absent>");
}

static void shared_names_join_errors(void **state) {
        fixture *f = *state;
        char buf[128];
        /* Both services report an entry named "b": a as its sub-service
         * "b" would be "a.b", so give a the same name as b instead. */
        fake_service_set_health(&f->a, NULL, "one");
        fake_service_set_health(&f->b, NULL, "two");
        snprintf(f->a.name, sizeof f->a.name, "b");
        lk_checker_register(f->checker, "first", &f->a.service, NULL);
        lk_checker_register(f->checker, "second", &f->b.service, NULL);
        start(f);
        assert_string_equal(entry(f, false, "b", buf, sizeof buf), "one; two");
}

static void register_while_running_polls_soon(void **state) {
        fixture *f = *state;
        char buf[128];
        start(f);
        fake_service_set_health(&f->b, NULL, "late failure");
        lk_checker_register(f->checker, "b", &f->b.service, NULL);
        lk_usec until = lk_now_monotonic() + WAIT_LIMIT;
        while (strcmp(entry(f, false, "b", buf, sizeof buf), "late failure") != 0) {
                assert_true(lk_now_monotonic() < until); /* the interval is an hour */
                usleep(1000);
        }
}

/* A service stuck in its health report: the probes keep answering from
 * the last snapshot, and liveness names the stuck service. */
static void stuck_service_blocks_nothing_but_liveness(void **state) {
        fixture *f = *state;
        lk_checker_register(f->checker, "a", &f->a.service, NULL);
        start(f);
        fake_service_block_health(&f->a);
        fake_service_wait_in_health(&f->a);
        assert_true(lk_checker_is_healthy(f->checker, NULL));
        assert_true(lk_checker_is_ready(f->checker, NULL));
        char why[256] = "";
        lk_usec until = lk_now_monotonic() + WAIT_LIMIT;
        while (lk_checker_alive(f->checker, why, sizeof why)) {
                assert_true(lk_now_monotonic() < until);
                usleep(5000);
        }
        assert_non_null(strstr(why, "health poll stuck in a"));
        fake_service_release(&f->a);
        until = lk_now_monotonic() + WAIT_LIMIT;
        while (!lk_checker_alive(f->checker, NULL, 0)) {
                assert_true(lk_now_monotonic() < until);
                usleep(1000);
        }
}

static void close_turns_unready(void **state) {
        fixture *f = *state;
        char buf[128];
        start(f);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_service_close(lk_checker_service(f->checker), &err), 0);
        assert_false(lk_checker_is_ready(f->checker, NULL));
        assert_string_equal(entry(f, true, LK_CHECKER_NAME, buf, sizeof buf), "service is \"Stopped\", not started");
        assert_int_equal(lk_service_close(lk_checker_service(f->checker), &err), -EALREADY);
        assert_string_equal(err.msg, "HealthChecker has already been stopped: already stopped");
}

static void snapshot_outlives_newer_ones(void **state) {
        fixture *f = *state;
        lk_checker_register(f->checker, "a", &f->a.service, NULL);
        start(f);
        lk_health_snapshot *old = lk_checker_snapshot(f->checker);
        fake_service_set_health(&f->a, NULL, "changed");
        wait_for_poll(f);
        const char *error;
        assert_true(lk_health_report_get(old->health, "a", &error));
        assert_null(error);
        assert_true(old->healthy);
        lk_health_snapshot_unref(old);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(register_rejects_bad_names, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(unregister_errors, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(not_ready_until_started, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(polls_immediately_at_start, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(polls_every_interval, setup_fast, teardown),
                cmocka_unit_test_setup_teardown(reflects_failure_and_recovery, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(unregister_purges_cached_results, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(sub_service_entries_come_and_go, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(shared_names_join_errors, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(register_while_running_polls_soon, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(stuck_service_blocks_nothing_but_liveness, setup_fast, teardown),
                cmocka_unit_test_setup_teardown(close_turns_unready, setup_slow, teardown),
                cmocka_unit_test_setup_teardown(snapshot_outlives_newer_ones, setup_slow, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
