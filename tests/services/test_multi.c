/* MultiStart and MultiClose: order, error joining, concurrency. */
#include "lktest.h"

#include <errno.h>
#include <string.h>

#include "fake_service.h"
#include "linkd/alloc.h"
#include "linkd/multi.h"

typedef struct fixture {
        fake_journal journal;
        fake_service s[4];
        lk_service *list[4];
        lk_ctx ctx;
} fixture;

static int setup(void **state) {
        fixture *f = lk_calloc(1, sizeof *f);
        fake_journal_init(&f->journal);
        const char *names[] = {"a", "b", "c", "d"};
        for (int i = 0; i < 4; i++) {
                fake_service_init(&f->s[i], names[i], &f->journal);
                f->list[i] = &f->s[i].service;
        }
        lk_ctx_init(&f->ctx, LK_USEC_INFINITY);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        for (int i = 0; i < 4; i++)
                fake_service_done(&f->s[i]);
        fake_journal_done(&f->journal);
        lk_ctx_done(&f->ctx);
        lk_free(f);
        return 0;
}

static void starts_in_order_closes_in_reverse(void **state) {
        fixture *f = *state;
        lk_multistart ms = LK_MULTISTART_INIT;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_multistart_start(&ms, &f->ctx, f->list, 2, &err), 0);
        assert_int_equal(lk_multistart_start(&ms, &f->ctx, f->list + 2, 2, &err), 0);
        assert_int_equal(lk_multistart_close(&ms, &err), 0);
        fake_journal_expect(&f->journal, "a started\nb started\nc started\nd started\nd closed\nc closed\nb closed\na closed\n");
        /* Close forgets what it closed: a second close does nothing. */
        assert_int_equal(lk_multistart_close(&ms, &err), 0);
        assert_false(lk_err_is_set(&err));
        lk_multistart_done(&ms);
}

static void failure_closes_started_in_reverse(void **state) {
        fixture *f = *state;
        f->s[1].close_error = "failed to close: b";
        f->s[2].start_error = "failed to start: c";
        lk_multistart ms = LK_MULTISTART_INIT;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_multistart_start(&ms, &f->ctx, f->list, 4, &err), -EIO);
        assert_string_equal(err.msg, "failed to start: c; failed to close: b");
        /* d was never started; c, which failed, is not closed. */
        fake_journal_expect(&f->journal, "a started\nb started\nc start failure\nb close failure\na closed\n");
        lk_multistart_done(&ms);
}

static void failure_closes_services_from_earlier_calls(void **state) {
        fixture *f = *state;
        f->s[3].start_error = "failed to start: d";
        lk_multistart ms = LK_MULTISTART_INIT;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_multistart_start(&ms, &f->ctx, f->list, 2, &err), 0);
        assert_int_equal(lk_multistart_start(&ms, &f->ctx, f->list + 2, 2, &err), -EIO);
        fake_journal_expect(&f->journal, "a started\nb started\nc started\nd start failure\nc closed\nb closed\na closed\n");
        lk_multistart_done(&ms);
}

static void close_collects_every_error(void **state) {
        fixture *f = *state;
        f->s[0].close_error = "failed to close: a";
        f->s[2].close_error = "failed to close: c";
        lk_multistart ms = LK_MULTISTART_INIT;
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_multistart_start(&ms, &f->ctx, f->list, 3, &err), 0);
        assert_int_equal(lk_multistart_close(&ms, &err), -EIO);
        assert_string_equal(err.msg, "failed to close: c; failed to close: a");
        lk_multistart_done(&ms);
}

static void close_because_keeps_reason_first(void **state) {
        fixture *f = *state;
        f->s[1].close_error = "failed to close: b";
        lk_multistart ms = LK_MULTISTART_INIT;
        lk_err err = LK_ERR_INIT, reason = LK_ERR_INIT;
        assert_int_equal(lk_multistart_start(&ms, &f->ctx, f->list, 2, &err), 0);
        lk_err_set(&reason, -ECANCELED, "aborting start: context canceled");
        assert_int_equal(lk_multistart_close_because(&ms, &reason, &err), -ECANCELED);
        assert_string_equal(err.msg, "aborting start: context canceled; failed to close: b");
        lk_multistart_done(&ms);
}

static void hook_closing(void *arg, lk_service *service) {
        lk_buf_printf(arg, "closing %s\n", service->name);
}

static void hook_closed(void *arg, lk_service *service, const lk_err *err) {
        lk_buf_printf(arg, "closed %s: %s\n", service->name, lk_err_is_set(err) ? err->msg : "ok");
}

static void hooks_see_each_close(void **state) {
        fixture *f = *state;
        f->s[0].close_error = "failed to close: a";
        lk_buf seen = LK_BUF_INIT;
        lk_multistart ms = LK_MULTISTART_INIT;
        ms.hooks = (lk_multistart_hooks){hook_closing, hook_closed, &seen};
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_multistart_start(&ms, &f->ctx, f->list, 2, &err), 0);
        assert_int_equal(lk_multistart_close(&ms, &err), -EIO);
        assert_string_equal(lk_buf_str(&seen), "closing b\nclosed b: ok\nclosing a\nclosed a: failed to close: a\n");
        lk_buf_done(&seen);
        lk_multistart_done(&ms);
}

static void multiclose_closes_all_and_joins_errors(void **state) {
        fixture *f = *state;
        for (int i = 0; i < 4; i++)
                lk_service_start(f->list[i], &f->ctx, NULL);
        f->s[1].close_error = "failed to close: b";
        f->s[3].close_error = "failed to close: d";
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_multiclose(f->list, 4, &err), -EIO);
        /* The errors come in the services' order whatever order the
         * concurrent closes finished in. */
        assert_string_equal(err.msg, "failed to close: b; failed to close: d");
        for (int i = 0; i < 4; i++)
                assert_int_equal(lk_once_state(&f->s[i].once), i % 2 ? LK_STATE_STOP_FAILED : LK_STATE_STOPPED);
        assert_int_equal(lk_multiclose(NULL, 0, &err), 0);
}

/* Every close blocks until released; if MultiClose closed one at a time,
 * the second close would never begin and this test would hang (and fail
 * on the runner's timeout) instead of seeing all four in close at once. */
static void *release_when_all_closing(void *arg) {
        fixture *f = arg;
        for (int i = 0; i < 4; i++)
                fake_service_wait_closing(&f->s[i]);
        for (int i = 0; i < 4; i++)
                fake_service_release(&f->s[i]);
        return NULL;
}

static void multiclose_is_concurrent(void **state) {
        fixture *f = *state;
        for (int i = 0; i < 4; i++) {
                lk_service_start(f->list[i], &f->ctx, NULL);
                f->s[i].block_close = true;
        }
        pthread_t t;
        pthread_create(&t, NULL, release_when_all_closing, f);
        lk_err err = LK_ERR_INIT;
        assert_int_equal(lk_multiclose(f->list, 4, &err), 0);
        pthread_join(t, NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(starts_in_order_closes_in_reverse, setup, teardown),
                cmocka_unit_test_setup_teardown(failure_closes_started_in_reverse, setup, teardown),
                cmocka_unit_test_setup_teardown(failure_closes_services_from_earlier_calls, setup, teardown),
                cmocka_unit_test_setup_teardown(close_collects_every_error, setup, teardown),
                cmocka_unit_test_setup_teardown(close_because_keeps_reason_first, setup, teardown),
                cmocka_unit_test_setup_teardown(hooks_see_each_close, setup, teardown),
                cmocka_unit_test_setup_teardown(multiclose_closes_all_and_joins_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(multiclose_is_concurrent, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
